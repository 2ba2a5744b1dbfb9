"""Spatial-index sampling: candidate pairs within a radius, random edges, expected degree and fan-out.

For a :class:`~spatial_snn.space.connectivity.ConnectivityRule` with probability
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

:mod:`~spatial_snn.space.connectivity` re-exports the public functions.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
from scipy.spatial import cKDTree

if TYPE_CHECKING:
    from .connectivity import ConnectivityRule

#: Candidate pairs processed per chunk when sampling (bounds peak memory).
_CHUNK_PAIRS = 4_000_000
#: Edges processed per block when splitting keys and computing distances.
_BLOCK = 1 << 20


def _distance(src: np.ndarray, dst: np.ndarray, pre: np.ndarray, post: np.ndarray, period=None) -> np.ndarray:
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
            f"rule.period: expected one box side per axis ({dim}), got {period}; "
            "use the GenomeSpec of this dimension"
        )


# ---------------------------------------------------------------- candidates
def _pairs_within(pos: np.ndarray, r: float, period=None):
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
            yield i, j, _distance(columns, columns, i, j)
            count = len(i)
            if hi > end:
                cross = tree.sparse_distance_matrix(
                    cKDTree(sorted_pos[end:hi]), r, output_type="ndarray"
                )
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
    yield i, j, _distance(columns, columns, i, j, period)


def _pairs_between(pre_pos: np.ndarray, post_pos: np.ndarray, r: float, period=None):
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


def _as_positions(a, name: str) -> np.ndarray:
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
    pre_pos = _as_positions(pre_pos, "pre_pos")
    post_pos = pre_pos if same else _as_positions(post_pos, "post_pos")
    if post_pos.shape[1] != pre_pos.shape[1]:
        raise ValueError(f"post_pos: expected dim {pre_pos.shape[1]} like pre_pos, got {post_pos.shape[1]}")
    n_pre, n_post = len(pre_pos), len(post_pos)
    _check_period(rule.period, pre_pos.shape[1])
    r = rule.radius(io, pre_pos.shape[1])
    keys = []  # pre * n_post + post, int64
    if same:
        order, pairs = _pairs_within(pre_pos, r, rule.period)
    else:
        order, pairs = None, _pairs_between(pre_pos, post_pos, r, rule.period)
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
    src = _as_positions(pre_pos, "pre_pos").T.copy()
    dst = src if same else _as_positions(post_pos, "post_pos").T.copy()
    d = np.empty(pre.size)
    for start in range(0, pre.size, _BLOCK):
        b = slice(start, start + _BLOCK)
        d[b] = _distance(src, dst, pre[b], post[b], rule.period)
    if same and rule.self_distance is not None:
        d[pre == post] = rule.self_distance
    return pre.astype(np.int64), post.astype(np.int64), d


def sample_constant(
    n_pre: int, n_post: int, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
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


# ------------------------------------------------------------ calibration
def _degree_terms(positions, r: float, sources=None, period=None):
    """Chunks of candidate distances ``d`` (float32) within ``r``, and a factor ``c``.

    The mean out-degree is ``c * sum(p(d)) + p(self)`` for any rule whose
    radius is at most ``r``; see :func:`mean_degree` for the arguments.
    """
    samples = [_as_positions(p, "positions") for p in ([positions] if _is_array(positions) else positions)]
    if sources is not None:
        if len(samples) != 1:
            raise ValueError(f"sources: expected one placement, got {len(samples)}")
        src = np.asarray(sources, np.int64)
        chunks = (d[j != src[i]] for i, j, d in _pairs_between(samples[0][src], samples[0], r, period))
        return chunks, 1.0 / max(src.size, 1)  # ordered pairs from each source
    if period is not None:  # placements one by one: a periodic box cannot hold them side by side
        chunks = (d for s in samples for _, _, d in _pairs_within(s, r, period)[1])
        return chunks, 2.0 / max(sum(len(s) for s in samples), 1)
    if len(samples) > 1:
        gap = max(float(np.ptp(s[:, 0])) for s in samples) + r + 1.0
        samples = [s + np.eye(s.shape[1])[0] * (k * gap) for k, s in enumerate(samples)]
    pos = np.concatenate(samples)
    chunks = (d for _, _, d in _pairs_within(pos, r)[1])
    return chunks, 2.0 / max(len(pos), 1)  # each unordered pair counts for both directions


def _self_term(rule: ConnectivityRule) -> float:
    return 0.0 if rule.self_distance is None else float(rule.probability(rule.self_distance))


def mean_degree(positions, rule: ConnectivityRule, *, sources=None) -> float:
    """Expected recurrent out-degree per neuron under ``rule``, exact.

    ``(sum over ordered pairs i != j within the radius of p(d_ij) + n p(self)) / n``.

    Parameters
    ----------
    positions : (n, dim) array, or a list of such arrays
        One placement, or several of one size whose mean degree is returned
        (set side by side, farther apart than the radius, counted together).
    rule : ConnectivityRule
    sources : (k,) int, optional
        Average over these neurons of one placement only: an unbiased
        estimate at O(k * candidates) cost, for calibrating large networks.
    """
    chunks, scale = _degree_terms(positions, rule.radius(dim=_dim_of(positions)), sources, rule.period)
    total = sum(float(np.sum(rule.probability(d), dtype=np.float64)) for d in chunks)
    return scale * total + _self_term(rule)


def length_for_degree(positions, rule: ConnectivityRule, degree: float, *, sources=None) -> float:
    """The ``length`` that gives ``positions`` an expected mean out-degree ``degree``.

    Brackets the root of ``mean_degree(length) = degree`` from the continuum
    estimate ``degree = rho p0 V_dim L**dim Gamma(dim / shape + 1)`` (``rho``
    the density, ``V_dim`` the unit-ball volume), doubling or halving, so no
    evaluation uses a radius much larger than needed; then bisects to a
    relative 1e-6 on distances enumerated once at the bracket's radius.
    ``positions`` and ``sources`` as in :func:`mean_degree`. Used to compare
    1D, 2D and 3D embeddings at equal mean degree.
    """
    samples = [positions] if _is_array(positions) else list(positions)
    n, dim = np.shape(samples[0])
    sup = (n if rule.self_distance is not None else n - 1) * rule.p0
    if not 0 < degree < sup:
        raise ValueError(
            f"degree: expected a value in (0, {sup:g}) for {n} neurons with p0 = {rule.p0} "
            f"({'with' if rule.self_distance is not None else 'without'} self-loops), got {degree}; "
            "lower the degree or add neurons"
        )
    box = float(np.prod(np.ptp(samples[0], axis=0) + 1.0))
    guess = (degree * box / (n * rule.p0 * _unit_volume(dim, rule.shape))) ** (1.0 / dim)
    terms = lambda r: _degree_terms(positions, r, sources, rule.period)  # noqa: E731
    return _solve_length(rule, degree, guess, terms, io=False, dim=dim)


def mean_fan_out(face, positions, rule: ConnectivityRule) -> float:
    """Expected input/output synapses per face point under the io law at real distances, exact.

    ``mean over face points c (and placements) of sum_j p_io(|x_c - x_j|)``
    over the neurons ``j`` within ``rule.radius(io=True)`` (the pairs
    :func:`sample_edges` can form); ``rule.io_distance`` is ignored.
    ``face`` (k, dim): input channel or output unit positions; ``positions``:
    one (n, dim) placement of the neurons, or a list of them (mean over all).
    """
    chunks, scale = _fan_out_terms(face, positions, rule.radius(True, _dim_of(positions)), rule.period)
    return scale * sum(float(np.sum(rule.probability(d, io=True), dtype=np.float64)) for d in chunks)


def io_length_for_degree(face, positions, rule: ConnectivityRule, degree: float) -> float:
    """The ``io_length`` that gives ``face`` an expected fan-out ``degree`` per point.

    Solves ``mean_fan_out(io_length) = degree`` like :func:`length_for_degree`:
    brackets from the continuum estimate for a point at a half-space's edge,
    ``degree = rho io_p0 V_dim / 2 L**dim Gamma(dim / shape + 1)``, then
    bisects to a relative 1e-6. Arguments as in :func:`mean_fan_out`.
    """
    face = _as_positions(face, "face")
    samples = [positions] if _is_array(positions) else list(positions)
    n, dim = np.shape(samples[0])
    if len(face) == 0 or face.shape[1] != dim:
        raise ValueError(f"face: expected shape (k >= 1, {dim}) like the positions, got {face.shape}")
    sup = n * rule.io_p0
    if not 0 < degree < sup:
        raise ValueError(
            f"degree: expected a value in (0, {sup:g}) for {n} neurons with io_p0 = {rule.io_p0}, "
            f"got {degree}; lower the io degree or add neurons"
        )
    box = float(np.prod(np.ptp(samples[0], axis=0) + 1.0))
    guess = (2.0 * degree * box / (n * rule.io_p0 * _unit_volume(dim, rule.shape))) ** (1.0 / dim)
    terms = lambda r: _fan_out_terms(face, samples, r, rule.period)  # noqa: E731
    return _solve_length(rule, degree, guess, terms, io=True, dim=dim)


def _fan_out_terms(face, positions, r: float, period=None):
    """Chunks of face-to-neuron distances within ``r`` (float32) and the factor ``1 / (k * placements)``."""
    face = _as_positions(face, "face")
    samples = [_as_positions(p, "positions") for p in ([positions] if _is_array(positions) else positions)]
    chunks = (d for pos in samples for _, _, d in _pairs_between(face, pos, r, period))
    return chunks, 1.0 / max(len(face) * len(samples), 1)


#: Quadrature points of :func:`box_integral` (midpoint rule).
_BOX_POINTS = 1 << 16


def box_integral(rule: ConnectivityRule, io: bool = False) -> float:
    """``integral over the periodic box of p(|delta|)``, minimum-image, within the radius.

    The expected number of synapses a point makes with ``m`` neurons i.i.d.
    uniform in the box ``rule.period`` (volume ``V``) is ``m / V`` times this.
    Midpoint rule on ``2**16`` points over the box ``[-P/2, P/2]^dim``
    (relative error under 1e-4 for the spatial preset's laws).
    """
    if rule.period is None:
        raise ValueError("rule.period: expected a periodic box (box_integral integrates over it), got None")
    d = _box_distances(tuple(rule.period))
    near = d[: np.searchsorted(d, rule.radius(io, len(rule.period)), side="right")]
    return float(np.sum(rule.probability(near, io)) * np.prod(rule.period) / d.size)


@functools.lru_cache(maxsize=8)
def _box_distances(period: tuple[float, ...]) -> np.ndarray:
    """Sorted distances of the midpoint-rule points of the box ``[-P/2, P/2]^dim`` to its centre."""
    dim = len(period)
    per_axis = max(2, int(round(_BOX_POINTS ** (1.0 / dim))))
    axes = [(np.arange(per_axis) + 0.5) / per_axis * side - side / 2 for side in period]
    d2 = axes[0] ** 2
    for ax in axes[1:]:
        d2 = d2[..., None] + ax**2
    d = np.sort(np.sqrt(d2).ravel())
    d.flags.writeable = False
    return d


def _unit_volume(dim: int, shape: float) -> float:
    """``V_dim Gamma(dim / shape + 1)``: the continuum degree is ``rho p0 L**dim`` times this."""
    return math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * math.gamma(dim / shape + 1)


def _dim_of(positions) -> int:
    return int(np.shape(positions if _is_array(positions) else positions[0])[1])


def _solve_length(rule: ConnectivityRule, degree: float, guess: float, terms, *, io: bool, dim: int) -> float:
    """Root of ``E(length) = degree`` for ``rule.length`` (``rule.io_length`` if ``io``).

    ``terms(r)`` gives the distances within ``r`` in chunks and a factor ``c``:
    ``E = c * sum p(d)`` (+ ``p(self_distance)``, recurrent law). ``E`` grows
    with the length, so doubling or halving from ``guess`` brackets the root.
    """
    name = "io_length" if io else "length"

    def at(length):
        return replace(rule, **{name: length})

    def expected(trial, chunks, scale):
        total = sum(float(np.sum(trial.probability(d, io), dtype=np.float64)) for d in chunks)
        return scale * total + (0.0 if io else _self_term(trial))

    def degree_at(length):
        trial = at(length)
        return expected(trial, *terms(trial.radius(io, dim)))

    lo = hi = guess
    while degree_at(hi) < degree:
        lo, hi = hi, 2.0 * hi
        if hi > 1e9:
            raise ValueError(f"degree: {degree} cannot be reached with {'io_p0' if io else 'p0'} = "
                             f"{rule.io_p0 if io else rule.p0} ({name} > 1e9)")
    while lo > 1e-9 and degree_at(lo) > degree:
        lo, hi = 0.5 * lo, lo
    chunks, scale = terms(at(hi).radius(io, dim))
    d = np.sort(np.concatenate([np.empty(0, np.float32), *chunks]))
    while hi - lo > 1e-6 * hi:
        mid = 0.5 * (lo + hi)
        trial = at(mid)
        near = d[: np.searchsorted(d, np.float32(trial.radius(io, dim)), side="right")]
        if expected(trial, [near], scale) < degree:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _is_array(a) -> bool:
    return isinstance(a, np.ndarray) and a.ndim == 2
