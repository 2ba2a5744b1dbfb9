"""Simulation: numba LIF kernels and the batched :class:`Network` around them.

``kernels.py`` is the only numba module; ``network.py`` validates genomes,
batches many of them into one set of CSR arrays and calls the kernels.
May import :mod:`spatial_snn.space` only.
"""
