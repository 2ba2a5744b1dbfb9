"""Pieces every strategy shares: centred ranks, input checks, state <-> arrays.

A strategy's state is a ``NamedTuple`` whose fields are numpy arrays (scalars
as 0-d arrays), so the runner can store it as one HDF5 dataset per field and
read it back bit for bit: :func:`state_arrays` and :func:`state_from_arrays`.

Every strategy **maximises** the fitness it is told (a return).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def centred_ranks(fitness: np.ndarray) -> np.ndarray:
    """Centred ranks ``rank / (N - 1) - 0.5`` in ``[-0.5, 0.5]``, best = +0.5.

    Ties share their mean rank (so equal returns get equal weight); for
    distinct values this is the ordinal rank of Salimans et al. (2017), as in
    evosax and Evolving Connectivity. ``fitness`` (N,) float, N >= 2.
    """
    f = np.asarray(fitness, np.float64)
    n = f.shape[0]
    order = np.argsort(f, kind="stable")
    ranks = np.empty(n, np.float64)
    ranks[order] = np.arange(n, dtype=np.float64)
    sorted_f = f[order]
    starts = np.flatnonzero(np.r_[True, sorted_f[1:] != sorted_f[:-1]])
    if starts.size < n:  # average the ranks within each run of equal values
        ends = np.r_[starts[1:], n]
        mean_rank = (starts + ends - 1) / 2.0
        ranks[order] = np.repeat(mean_rank, ends - starts)
    return ranks / (n - 1) - 0.5


def check_fitness(fitness, population: int) -> np.ndarray:
    """``fitness`` as (population,) finite float64, or one ValueError naming the problem."""
    f = np.asarray(fitness, np.float64)
    if f.shape != (population,):
        raise ValueError(f"fitness: expected shape ({population},) (one value per candidate), got {f.shape}")
    if not np.all(np.isfinite(f)):
        at = int(np.flatnonzero(~np.isfinite(f))[0])
        raise ValueError(
            f"fitness: expected finite values, got {f[at]} at candidate {at}; "
            "score a failed evaluation with a finite low return"
        )
    return f


def check_candidates(candidates, population: int, n_dims: int) -> np.ndarray:
    """``candidates`` as a (population, n_dims) array, or one ValueError naming the shapes."""
    c = np.asarray(candidates)
    if c.shape != (population, n_dims):
        raise ValueError(f"candidates: expected shape ({population}, {n_dims}) (what ask returned), got {c.shape}")
    return c


def check_x0(x0) -> np.ndarray:
    """The initial mean as a fresh (n,) finite float64 array, n >= 1."""
    x = np.array(x0, dtype=np.float64)
    if x.ndim != 1 or x.size < 1:
        raise ValueError(f"x0: expected a 1-D array of at least one gene, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"x0: expected finite values, got {x[~np.isfinite(x)][0]}")
    return x


def positive(owner: str, name: str, value: float) -> None:
    """Raise unless ``value`` is a finite number > 0."""
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{owner}.{name}: expected a finite number > 0, got {value!r}")


def unit_interval(owner: str, name: str, value: float, closed_left: bool = True) -> None:
    """Raise unless ``value`` lies in [0, 1) (or (0, 1) when not ``closed_left``)."""
    ok = isinstance(value, int | float) and (0.0 <= value < 1.0 if closed_left else 0.0 < value < 1.0)
    if not ok:
        interval = "[0, 1)" if closed_left else "(0, 1)"
        raise ValueError(f"{owner}.{name}: expected a number in {interval}, got {value!r}")


def population_size(owner: str, value: int, even: bool) -> None:
    """Raise unless ``value`` is an integer >= 2 (and even when ``even``)."""
    if not isinstance(value, int) or isinstance(value, bool) or value < 2 or (even and value % 2):
        kind = "an even integer >= 2 (antithetic pairs)" if even else "an integer >= 2"
        raise ValueError(f"{owner}.population: expected {kind}, got {value!r}")


def state_arrays(state: Any) -> dict[str, np.ndarray]:
    """A state as ``{field: ndarray}`` (what the archive stores, one dataset per field)."""
    return {name: np.asarray(value) for name, value in state._asdict().items()}


def state_from_arrays(cls: type, arrays: dict) -> Any:
    """Inverse of :func:`state_arrays`: the ``cls`` state from stored arrays.

    Missing or unknown fields are one ValueError naming them (an archive of
    another strategy or version).
    """
    names = set(cls._fields)
    got = set(arrays)
    if got != names:
        raise ValueError(
            f"{cls.__module__}.{cls.__name__}: expected fields {sorted(names)}, got {sorted(got)}; "
            "the stored state belongs to another strategy or version"
        )
    return cls(**{name: np.array(arrays[name]) for name in cls._fields})
