"""Spatial-index sampling: candidate pairs within a radius and random edges (calibration is in
:mod:`~spatial_snn.space.calibration`).

For a :class:`~spatial_snn.space.rules.ConnectivityRule` with probability
``p(d) = p0 * exp(-(d / length) ** shape)`` and cutoff radius ``r =
rule.radius(io, dim)`` (``p(r) <= cutoff`` and at most a fraction ``cutoff``
of the expected degree beyond ``r``; see :mod:`~spatial_snn.space.connectivity`):

* every pair at distance ``d <= r`` is a candidate and becomes an edge with
  probability ``p(d)``, independently of all other pairs; pairs beyond ``r``
  are never formed (their probability is below ``cutoff``);
* candidates come from ``cKDTree`` queries, a chunk of about
  ``_CHUNK_PAIRS`` pairs at a time; within one population each unordered
  pair is enumerated once and drawn for both directions, so the work is
  O(n + candidates) and the memory O(n + edges + chunk); no all-pairs
  distance matrix is ever built;
* all randomness comes from the caller's ``np.random.Generator``, consumed in
  a fixed order: the same generator state and inputs give the same edges.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from .rules import ConnectivityRule

#: Candidate pairs processed per chunk when sampling (bounds peak memory).
_CHUNK_PAIRS = 4_000_000
#: Edges processed per block when splitting keys and computing distances.
_BLOCK = 1 << 20


def pair_distances(src: np.ndarray, dst: np.ndarray, pre: np.ndarray, post: np.ndarray, period=None) -> np.ndarray:
    """Euclidean ``|src[:, pre] - dst[:, post]|`` from (dim, n) columns, one axis at a time.

    With ``period`` (box sides) the minimum-image distance on the torus. The
    result has the columns' dtype; no (s, dim) temporaries.
    """
    d2 = np.zeros(pre.size, src.dtype)
    for k in range(src.shape[0]):
        diff = src[k][pre] - dst[k][post]
        if period is not None:
            side = src.dtype.type(period[k])
            diff -= side * np.round(diff / side)
        d2 += diff**2
    return np.sqrt(d2, out=d2)


def _wrapped(pos: np.ndarray, period) -> np.ndarray:
    """Positions folded into ``[0, period)`` per axis (cKDTree's periodic box)."""
    box = np.asarray(period, np.float64)
    w = np.mod(pos, box)
    w[w >= box] = 0.0  # mod of a tiny negative value can round up to the side itself
    return w


def _check_period(period, dim: int) -> None:
    if period is not None and len(period) != dim:
        raise ValueError(
            f"rule.period: expected one box side per axis ({dim}), got {period}; use the GenomeSpec of this dimension"
        )


# ---------------------------------------------------------------- candidates
def pairs_within(pos: np.ndarray, r: float, period=None):
    """Every unordered pair ``i != j`` of ``pos`` with ``d <= r``, once, in chunks.

    With ``period`` (a periodic box) one chunk from one periodic cKDTree,
    minimum-image distances (periodic boxes serve small networks: memory is
    O(n + candidates)).

    Points are sorted along their longest axis ``x``. A chunk of consecutive
    sorted points ``[s, e)`` yields its internal pairs (``query_pairs``) and
    its pairs with the slab ``[e, hi)``, ``x[hi - 1] <= x[e - 1] + r``
    (``sparse_distance_matrix``); no pair is enumerated twice and a chunk holds
    about ``_CHUNK_PAIRS`` pairs.

    Returns
    -------
    order : (n,) int64
        ``order[k]`` is the index into ``pos`` of sorted point ``k``.
    chunks : iterator of (i, j, d)
        Sorted-space indices (int64, ``i < j``) and float32 distances.
    """
    n = len(pos)
    if period is not None:
        return np.arange(n), _periodic_pairs_within(pos, r, period)
    axis = int(np.argmax(np.ptp(pos, axis=0))) if n else 0
    order = np.argsort(pos[:, axis], kind="stable")
    sorted_pos = pos[order]
    columns = np.ascontiguousarray(sorted_pos.T, dtype=np.float32)
    x = sorted_pos[:, axis]

    def chunks():
        if n < 2 or r <= 0:
            return
        step = _chunk_points(pos, r, 0.5, n)
        start = 0
        while start < n:
            end = min(n, start + step)
            hi = int(np.searchsorted(x, x[end - 1] + r, side="right"))
            tree = cKDTree(sorted_pos[start:end])
            inner = tree.query_pairs(r, output_type="ndarray")
            i, j = inner[:, 0] + start, inner[:, 1] + start
            yield i, j, pair_distances(columns, columns, i, j)
            count = len(i)
            if hi > end:
                cross = tree.sparse_distance_matrix(cKDTree(sorted_pos[end:hi]), r, output_type="ndarray")
                yield cross["i"] + start, cross["j"] + end, cross["v"].astype(np.float32)
                count += len(cross)
            # aim the next chunk at _CHUNK_PAIRS pairs (deterministic: depends on positions only)
            step = max(1, int(step * min(2.0, _CHUNK_PAIRS / max(count, 1))))
            start = end

    return order, chunks()


def _periodic_pairs_within(pos: np.ndarray, r: float, period):
    if len(pos) < 2 or r <= 0:
        return
    wrapped = _wrapped(pos, period)
    pairs = cKDTree(wrapped, boxsize=period).query_pairs(r, output_type="ndarray")
    i, j = pairs[:, 0].astype(np.int64), pairs[:, 1].astype(np.int64)
    columns = np.ascontiguousarray(wrapped.T, dtype=np.float32)
    yield i, j, pair_distances(columns, columns, i, j, period)


def pairs_between(pre_pos: np.ndarray, post_pos: np.ndarray, r: float, period=None):
    """Yield ``(i, j, d)``, every pair ``pre i, post j`` with ``d <= r`` once (d float32).

    With ``period``: minimum-image distances in that periodic box.
    """
    n_pre = len(pre_pos)
    if n_pre == 0 or len(post_pos) == 0 or r <= 0:
        return
    box = None
    if period is not None:
        pre_pos, post_pos, box = _wrapped(pre_pos, period), _wrapped(post_pos, period), period
    tree = cKDTree(post_pos, boxsize=box)
    step = _chunk_points(post_pos, r, 1.0, n_pre)
    for start in range(0, n_pre, step):
        pairs = cKDTree(pre_pos[start : start + step], boxsize=box).sparse_distance_matrix(
            tree, r, output_type="ndarray"
        )
        yield start + pairs["i"], pairs["j"], pairs["v"].astype(np.float32)


def _chunk_points(pos: np.ndarray, r: float, factor: float, n_max: int) -> int:
    """Query points per chunk so that a chunk holds about ``_CHUNK_PAIRS`` pairs with ``pos``."""
    dim = pos.shape[1]
    ext = np.ptp(pos, axis=0) + 2 * r
    density = len(pos) / float(np.prod(np.maximum(ext, 1e-9)))
    per_point = max(1.0, factor * density * math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * r**dim)
    return int(max(1, min(n_max, _CHUNK_PAIRS // per_point)))


def as_positions(a, name: str) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    if a.ndim != 2 or not 1 <= a.shape[1] <= 3:
        raise ValueError(f"{name}: expected shape (k, dim) with dim in 1..3, got {a.shape}")
    return a


# ----------------------------------------------------------------- sampling
def sample_edges(
    pre_pos: np.ndarray,
    post_pos: np.ndarray,
    rule: ConnectivityRule,
    rng: np.random.Generator,
    *,
    io: bool = False,
    same: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """Draw edges ``pre -> post``, each pair independently with probability ``rule.probability(d)``.

    Candidate pairs within ``rule.radius(io)`` come from cKDTrees a chunk at a
    time; pairs beyond the radius are never formed. With ``same`` every
    unordered pair is enumerated once and given two independent draws, one
    per direction. The comparison ``u < p(d)`` runs in float32 (``u`` on a
    2**-24 grid: a bias below 1e-7 in probability). O(n + candidates) work,
    memory O(n + edges + chunk).

    Parameters
    ----------
    pre_pos : (n_pre, dim) float
    post_pos : (n_post, dim) float
        Positions of the source and target populations (position units).
    rule : ConnectivityRule
    rng : np.random.Generator
        The only source of randomness: the same generator state and inputs
        give the same edges.
    io : bool
        Use the input/output law (``io_p0``, ``io_length``).
    same : bool
        Pre and post are one population (``post_pos`` must equal ``pre_pos``):
        self pairs are drawn at ``rule.self_distance`` with probability
        ``p(self_distance)`` (whatever the cutoff), or never when it is None.

    Returns
    -------
    pre, post : (s,) int32
        Edge endpoints, sorted by ``(pre, post)``, each pair at most once.
    """
    pre_pos = as_positions(pre_pos, "pre_pos")
    post_pos = pre_pos if same else as_positions(post_pos, "post_pos")
    if post_pos.shape[1] != pre_pos.shape[1]:
        raise ValueError(f"post_pos: expected dim {pre_pos.shape[1]} like pre_pos, got {post_pos.shape[1]}")
    n_pre, n_post = len(pre_pos), len(post_pos)
    _check_period(rule.period, pre_pos.shape[1])
    r = rule.radius(io, pre_pos.shape[1])
    keys = []  # pre * n_post + post, int64
    if same:
        order, pairs = pairs_within(pre_pos, r, rule.period)
    else:
        order, pairs = None, pairs_between(pre_pos, post_pos, r, rule.period)
    for i, j, d in pairs:
        p = rule.probability(d, io)
        u = rng.random((2 if same else 1, d.size), dtype=np.float32)
        hit = u[0] < p
        a, b = i[hit], j[hit]
        if same:  # sorted-space indices; the reverse direction j -> i gets its own draw
            hit = u[1] < p
            a, b = order[np.concatenate([a, j[hit]])], order[np.concatenate([b, i[hit]])]
        keys.append(a * n_post + b)
    if same and rule.self_distance is not None and n_pre:
        p_self = np.float32(rule.probability(rule.self_distance, io))
        idx = np.flatnonzero(rng.random(n_pre, dtype=np.float32) < p_self)
        keys.append(idx * (n_post + 1))
    key = np.concatenate(keys) if keys else np.empty(0, np.int64)
    del keys
    key.sort()
    pre, post = np.empty(key.size, np.int32), np.empty(key.size, np.int32)
    for start in range(0, key.size, _BLOCK):  # blockwise: no int64 (s,) temporaries
        b = slice(start, start + _BLOCK)
        pre[b], post[b] = np.divmod(key[b], max(n_post, 1))
    return pre, post


def sample_pairs(
    pre_pos: np.ndarray,
    post_pos: np.ndarray,
    rule: ConnectivityRule,
    rng: np.random.Generator,
    *,
    io: bool = False,
    same: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`sample_edges` with int64 indices and each edge's distance.

    Returns
    -------
    pre, post : (s,) int64, sorted by (pre, post)
    d : (s,) float64
        Distances; self pairs at ``rule.self_distance``.
    """
    pre, post = sample_edges(pre_pos, post_pos, rule, rng, io=io, same=same)
    src = as_positions(pre_pos, "pre_pos").T.copy()
    dst = src if same else as_positions(post_pos, "post_pos").T.copy()
    d = np.empty(pre.size)
    for start in range(0, pre.size, _BLOCK):
        b = slice(start, start + _BLOCK)
        d[b] = pair_distances(src, dst, pre[b], post[b], rule.period)
    if same and rule.self_distance is not None:
        d[pre == post] = rule.self_distance
    return pre.astype(np.int64), post.astype(np.int64), d


def candidate_pairs(
    pre_pos: np.ndarray,
    post_pos: np.ndarray,
    rule: ConnectivityRule,
    *,
    io: bool = False,
    same: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every pair :func:`sample_edges` could draw, with its probability, and no draw.

    The candidates are the pairs within ``rule.radius(io)`` (both directions
    of each unordered pair when ``same``; self pairs at ``rule.self_distance``
    unless it is None), from the same spatial index as :func:`sample_edges`:
    O(n + candidates) work. Evolving Connectivity searches over them.

    Returns
    -------
    pre, post : (c,) int64, sorted by (pre, post)
    p : (c,) float64
        ``rule.probability(d, io)`` of each candidate.
    """
    pre_pos = as_positions(pre_pos, "pre_pos")
    post_pos = pre_pos if same else as_positions(post_pos, "post_pos")
    if post_pos.shape[1] != pre_pos.shape[1]:
        raise ValueError(f"post_pos: expected dim {pre_pos.shape[1]} like pre_pos, got {post_pos.shape[1]}")
    n_pre, n_post = len(pre_pos), len(post_pos)
    _check_period(rule.period, pre_pos.shape[1])
    r = rule.radius(io, pre_pos.shape[1])
    keys = []
    if same:
        order, pairs = pairs_within(pre_pos, r, rule.period)
    else:
        order, pairs = None, pairs_between(pre_pos, post_pos, r, rule.period)
    for i, j, _ in pairs:
        if same:
            a, b = order[i], order[j]
            keys += [a * n_post + b, b * n_post + a]
        else:
            keys.append(i.astype(np.int64) * n_post + j)
    if same and rule.self_distance is not None and n_pre:
        keys.append(np.arange(n_pre, dtype=np.int64) * (n_post + 1))
    key = np.concatenate(keys) if keys else np.empty(0, np.int64)
    key.sort()
    pre, post = key // max(n_post, 1), key % max(n_post, 1)
    # float64 distances (the index's are float32): the law's probability to full precision
    d = pair_distances(np.ascontiguousarray(pre_pos.T), np.ascontiguousarray(post_pos.T), pre, post, rule.period)
    if same and rule.self_distance is not None:
        d[pre == post] = rule.self_distance
    return pre, post, rule.probability(d, io)


def sample_constant(n_pre: int, n_post: int, p: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """All ``n_pre * n_post`` pairs, each kept with probability ``p`` (reference io layout).

    Returns int64 ``(pre, post)`` sorted by (pre, post); float32 draws in blocks.
    """
    total = n_pre * n_post
    p32 = np.float32(p)
    flat = [
        start + np.flatnonzero(rng.random(min(_CHUNK_PAIRS, total - start), dtype=np.float32) < p32)
        for start in range(0, total, _CHUNK_PAIRS)
    ]
    flat = np.concatenate(flat) if flat else np.empty(0, np.int64)
    return flat // n_post, flat % n_post


def is_array(a) -> bool:
    return isinstance(a, np.ndarray) and a.ndim == 2
