"""Runs: the user-facing layer. Scenario files, ``resolve`` (a scenario made
ready for one run, once), ``evolve`` / ``resume``, batches across dimensions,
replays, reports.

The only layer that knows the GA, the evaluation and the archive at once; the
command line (:mod:`spatial_snn.cli`) is a thin layer over it. May import every
other subpackage.
"""
