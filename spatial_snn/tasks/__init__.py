"""Tasks: environments, observation encoders and action decoders, lockstep
rollouts, and the worker pools (local processes or Dask) that run them.

May import :mod:`spatial_snn.space`, :mod:`spatial_snn.sim` and
:mod:`spatial_snn.evo`; never the archive or the user-facing layer.
"""
