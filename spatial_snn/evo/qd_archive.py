"""MAP-Elites: an archive of the best genome per descriptor cell, and the emitters that fill it.

Pure numpy, no environments or files (settings and descriptors:
:mod:`.map_elites`; the runner's side: :mod:`spatial_snn.runs.quality`). The archive is a :class:`Cells` of arrays,
so a run stores it as one HDF5 dataset per field and reads it back bit for
bit (no pickle).

* **Grid** (one or two descriptor dimensions): ``bins`` cells per dimension
  over ``[low, high]``; a descriptor ``m`` falls in cell
  ``int((bins (m - low) + 1e-6) / (high - low))`` clipped to ``0..bins-1``
  per dimension, row-major over the dimensions (pyribs' ``GridArchive``
  index, its ``epsilon`` included).
* **CVT** (three or more): ``cells`` centroids by Lloyd's algorithm from
  uniform samples of the descriptor box drawn from a seeded generator
  (:func:`cvt_centroids`); a descriptor falls in the nearest centroid's cell
  (the lowest index on a tie).
* **Insertion** (:func:`insert`), as pyribs' ``add`` with its defaults: a
  candidate enters a cell when the cell is empty or its objective is
  strictly higher than the elite's; of several candidates of one batch in one
  cell only the highest (the first of equals) may enter.
* **Emitters.** :func:`choose_parents` picks elites uniformly from the
  occupied cells (in cell order); the runner varies them with the GA's own
  operators (:meth:`~.evolution.GeneticAlgorithm.vary`). :func:`iso_line`
  is the iso-line operator of Vassiliades & Mouret (2018) over fixed-length
  vectors, ``x_i + N(0, iso^2 I) + N(0, line^2) (x_j - x_i)``, drawn in
  pyribs' order; :func:`gaussian` is the plain Gaussian operator.

``benchmarks/qd_vs_pyribs.py`` checks insertion, both indexes and both
operators against pyribs 0.12 on the same inputs (docs/quality-diversity.md).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: pyribs' GridArchive epsilon (added before truncating a descriptor to its bin).
GRID_EPSILON = 1e-6


class Cells(NamedTuple):
    """The archive: one row per cell.

    occupied : (cells,) bool
    objective : (cells,) float64, the elite's training return (0 where empty)
    measures : (cells, d) float64, the elite's descriptor (0 where empty)
    elite : (cells, 2) int64, where the elite's genome is: (generation, index in
        that generation's population); -1 where empty
    """

    occupied: np.ndarray
    objective: np.ndarray
    measures: np.ndarray
    elite: np.ndarray


def empty(n_cells: int, dims: int) -> Cells:
    """An archive of ``n_cells`` empty cells for ``dims``-dimensional descriptors."""
    if n_cells < 1 or dims < 1:
        raise ValueError(f"archive: expected >= 1 cell and >= 1 descriptor dimension, got {n_cells}, {dims}")
    return Cells(
        np.zeros(n_cells, bool), np.zeros(n_cells), np.zeros((n_cells, dims)), np.full((n_cells, 2), -1, np.int64)
    )


def grid_index(measures, low, high, bins) -> np.ndarray:
    """Flat grid cell of each descriptor row, (batch,) int64 (see the module docstring)."""
    m = np.asarray(measures, np.float64)
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    dims = np.asarray(bins, np.int64)
    if m.ndim != 2 or m.shape[1] != dims.size:
        raise ValueError(f"measures: expected shape (batch, {dims.size}), got {m.shape}")
    if not np.all(np.isfinite(m)):
        raise ValueError("measures: expected finite descriptors")
    m = np.clip(m, low, high)  # the same cells as without (the edges clip anyway), but no int32 overflow
    at = ((dims * (m - low) + GRID_EPSILON) / (high - low)).astype(np.int32)
    at = np.clip(at, 0, dims - 1)
    return np.ravel_multi_index(tuple(at.T), tuple(dims)).astype(np.int64)


def grid_coordinates(cell: int, bins) -> tuple[int, ...]:
    """The per-dimension bin of a flat grid cell (the inverse of the row-major flattening)."""
    return tuple(int(i) for i in np.unravel_index(int(cell), tuple(int(b) for b in bins)))


def nearest_centroid(measures, centroids) -> np.ndarray:
    """Cell of the nearest centroid of each descriptor row (lowest index on a tie), (batch,) int64."""
    m = np.asarray(measures, np.float64)
    c = np.asarray(centroids, np.float64)
    if m.ndim != 2 or m.shape[1] != c.shape[1]:
        raise ValueError(f"measures: expected shape (batch, {c.shape[1]}), got {m.shape}")
    d2 = ((m[:, None, :] - c[None, :, :]) ** 2).sum(axis=2)
    return np.argmin(d2, axis=1).astype(np.int64)


def cvt_centroids(low, high, cells: int, samples: int, iterations: int, rng: np.random.Generator) -> np.ndarray:
    """``cells`` centroids of a centroidal Voronoi tessellation of the box ``[low, high]``, (cells, d).

    Lloyd's algorithm on ``samples`` uniform points drawn from ``rng``,
    started from the first ``cells`` points; a centroid that loses all its
    points keeps its place.
    """
    low, high = np.asarray(low, np.float64), np.asarray(high, np.float64)
    if samples < cells:
        raise ValueError(f"cvt_samples: expected >= cells ({cells}), got {samples}; raise cvt_samples")
    points = low + (high - low) * rng.random((samples, low.size))
    centroids = points[:cells].copy()
    for _ in range(iterations):
        owner = np.concatenate([nearest_centroid(points[i : i + 4096], centroids) for i in range(0, samples, 4096)])
        counts = np.bincount(owner, minlength=cells)
        sums = np.zeros_like(centroids)
        np.add.at(sums, owner, points)
        moved = counts > 0
        centroids[moved] = sums[moved] / counts[moved, None]
    return centroids


def insert(cells: Cells, index, objective, measures, refs) -> tuple[Cells, np.ndarray]:
    """The archive after offering a batch, and each candidate's status (0 kept out, 1 improved, 2 new cell).

    ``index`` (batch,) cells of the candidates, ``objective`` (batch,) finite
    returns, ``measures`` (batch, d), ``refs`` (batch, 2) where each genome is
    stored. Statuses are relative to the archive before the batch (pyribs' rule).
    """
    index = np.asarray(index, np.int64)
    objective = np.asarray(objective, np.float64)
    measures = np.asarray(measures, np.float64)
    refs = np.asarray(refs, np.int64)
    if not np.all(np.isfinite(objective)):
        raise ValueError("objective: expected finite returns; score a failed evaluation with a finite low return")
    threshold = np.where(cells.occupied[index], cells.objective[index], -np.inf)
    can = objective > threshold
    status = np.where(can, np.where(cells.occupied[index], 1, 2), 0).astype(np.int8)
    out = Cells(*(a.copy() for a in cells))
    for c in np.unique(index[can]):
        members = np.flatnonzero((index == c) & can)
        best = members[np.argmax(objective[members])]  # the first of equals
        out.occupied[c] = True
        out.objective[c] = objective[best]
        out.measures[c] = measures[best]
        out.elite[c] = refs[best]
    return out, status


def choose_parents(cells: Cells, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` cells drawn uniformly (with replacement) from the occupied ones, in cell order."""
    occupied = np.flatnonzero(cells.occupied)
    if occupied.size == 0:
        raise ValueError("archive: no elite to vary yet")
    return occupied[rng.choice(occupied.size, size=n, replace=True)]


def qd_score(cells: Cells, offset: float = 0.0) -> float:
    """Sum over occupied cells of ``objective - offset``."""
    return float(np.sum(cells.objective[cells.occupied] - offset))


def coverage(cells: Cells) -> float:
    """Fraction of cells occupied."""
    return float(np.mean(cells.occupied))


def iso_line(parents, others, iso_sigma: float, line_sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Iso-line variation of each parent row towards its partner row, (batch, n) (pyribs' draw order)."""
    x, y = np.asarray(parents, np.float64), np.asarray(others, np.float64)
    iso = rng.normal(scale=iso_sigma, size=x.shape)
    line = rng.normal(scale=line_sigma, size=(x.shape[0], 1))
    return x + iso + line * (y - x)


def gaussian(parents, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Gaussian variation ``x + N(0, sigma^2 I)`` of each parent row, (batch, n)."""
    x = np.asarray(parents, np.float64)
    return x + rng.normal(scale=sigma, size=x.shape)
