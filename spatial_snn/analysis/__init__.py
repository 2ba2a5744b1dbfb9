"""Analysis: what a finished or running run says. Replays of a stored
controller, efficiency reports and their metrics, wiring structure, figures,
episode recordings, learning curves, ``inspect`` and the batch summary.

Reads what :mod:`spatial_snn.store` reads from disk (controllers, run
archives) and runs episodes through :mod:`spatial_snn.tasks`; never evolves
and never writes a run. May import every layer below it (space, sim, evo,
tasks, store), never :mod:`spatial_snn.runs` or the command line.
"""
