"""Store: everything on disk. Checked HDF5 primitives, genome files, run
archives (writer, reader, lock) and the archive schema.

No pickle anywhere. May import every layer below it (space, sim, evo, tasks),
never the user-facing :mod:`spatial_snn.runs`.
"""
