"""A run's embedding dimension and seed, checked in one place.

``evolve``, ``resume``, ``resolve``, ``run_batch`` and the command line all
check ``dim`` and ``seed`` here, with one bound and one message each. The
module imports only the standard library, so the command line checks its
arguments without loading numpy.
"""

from __future__ import annotations

from numbers import Integral

#: Embedding dimensions a network can live in.
DIMS = (1, 2, 3)
#: Run seeds are 0..SEED_MAX (numpy's classic 32-bit seed range).
SEED_MAX = 2**32 - 1


def _is_int(value) -> bool:
    return isinstance(value, Integral) and not isinstance(value, bool)  # numpy integers are Integral


def check_dim(dim) -> int:
    """``dim`` as an int; ValueError unless it is 1, 2 or 3."""
    if not _is_int(dim) or dim not in DIMS:
        raise ValueError(f"dim: expected 1, 2 or 3, got {dim!r}")
    return int(dim)


def check_seed(seed) -> int:
    """``seed`` as an int; ValueError unless it is an integer in ``0..SEED_MAX``."""
    if not _is_int(seed) or not 0 <= seed <= SEED_MAX:
        raise ValueError(f"seed: expected an integer in 0..{SEED_MAX} (2**32 - 1), got {seed!r}")
    return int(seed)


def check_dims(dims) -> list[int]:
    """Distinct dimensions, each checked by :func:`check_dim`, at least one."""
    dims = [check_dim(d) for d in dims]
    if not dims or len(set(dims)) != len(dims):
        raise ValueError(f"dims: expected distinct values among 1, 2, 3, got {dims}")
    return dims


def check_seeds(seeds) -> list[int]:
    """Distinct seeds, each checked by :func:`check_seed`, at least one."""
    seeds = [check_seed(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct integers in 0..{SEED_MAX}, got {seeds}")
    return seeds
