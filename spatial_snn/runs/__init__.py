"""Runs: configuration and running. Scenario files, ``resolve`` (a scenario
made ready for one run, once), ``evolve`` / ``resume``, batches across
dimensions.

The only layer that knows the GA, the evaluation and the archive at once; the
command line (:mod:`spatial_snn.cli`) is a thin layer over it. What a run
says afterwards (replays, reports, curves, ``inspect``) is
:mod:`spatial_snn.analysis`, the layer below. May import every other
subpackage.
"""
