"""Store: everything on disk. Checked HDF5 primitives, genome files, run
archives (writer, reader, lock), the archive schema, and controllers read
from any of them (:mod:`spatial_snn.store.controller`).

No pickle anywhere. May import every layer below it (space, sim, evo, tasks),
never :mod:`spatial_snn.analysis` or :mod:`spatial_snn.runs` above it.
"""
