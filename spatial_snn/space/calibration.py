"""Calibration: expected degree and fan-out of a placement, and the lengths that give a target.

:func:`mean_degree` and :func:`mean_fan_out` are exact expectations over
given positions (pairs from :mod:`~spatial_snn.space.sampling`'s spatial
index, within the rule's radius); :func:`length_for_degree` and
:func:`io_length_for_degree` solve for the length; :func:`box_integral`
integrates a law over a periodic box, which makes the expectation exact for
neurons i.i.d. uniform in it.

A :class:`~spatial_snn.space.layout.GenomeSpec` is calibrated by
:func:`calibrated_rule` and :func:`calibrated_io_rule` (cached; what
:meth:`~spatial_snn.space.layout.GenomeSpec.resolved_rule` returns). They
read the spec's placement and rule without importing its class: calibration
sits below the layout.

Calibration (``mean_degree``) solves ``E[degree](length) = mean_degree`` by
bisection, the expectation taken over the spec's own placement: exact for
``grid``; for ``jittered`` and ``uniform`` a mean over ``ceil(4096 / n)``
(at most 64) placements drawn from a fixed seed, so it is deterministic
``uniform`` placement in a periodic box (the ``spatial`` preset) is exact
instead: every other neuron is uniform in the box whatever the first one's
position, so ``E[degree] = (n - 1) / V * integral of p over the box``
(minimum-image distances, within the radius) and ``E[fan-out] = n / V *
integral of p_io`` for any channel or output unit, computed by quadrature
(:func:`box_integral`) and solved by bisection.
Above 4096 neurons it averages the degree of a fixed random subset of 4096
neurons (relative error about ``1 / sqrt(4096 * degree)`` plus the spread of
degrees between neurons).

Calibration (``io_degree``) solves ``E[input synapses per channel](io_length)
= io_degree`` the same way, over the same placements, for ``n_inputs``
channels at :meth:`~spatial_snn.space.layout.GenomeSpec.face_positions` (in
2D and 3D a channel at the face's edge reaches fewer neurons than one at its
centre, so the length depends on the channel count). Output units share the io law: their fan-in
matches only where the output face and unit count mirror the input ones.
"""

from __future__ import annotations

import functools
import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np

from .sampling import as_positions, is_array, pairs_between, pairs_within

if TYPE_CHECKING:
    from .rules import ConnectivityRule


def _degree_terms(positions, r: float, sources=None, period=None):
    """Chunks of candidate distances ``d`` (float32) within ``r``, and a factor ``c``.

    The mean out-degree is ``c * sum(p(d)) + p(self)`` for any rule whose
    radius is at most ``r``; see :func:`mean_degree` for the arguments.
    """
    samples = [as_positions(p, "positions") for p in ([positions] if is_array(positions) else positions)]
    if sources is not None:
        if len(samples) != 1:
            raise ValueError(f"sources: expected one placement, got {len(samples)}")
        src = np.asarray(sources, np.int64)
        chunks = (d[j != src[i]] for i, j, d in pairs_between(samples[0][src], samples[0], r, period))
        return chunks, 1.0 / max(src.size, 1)  # ordered pairs from each source
    if period is not None:  # placements one by one: a periodic box cannot hold them side by side
        chunks = (d for s in samples for _, _, d in pairs_within(s, r, period)[1])
        return chunks, 2.0 / max(sum(len(s) for s in samples), 1)
    if len(samples) > 1:
        gap = max(float(np.ptp(s[:, 0])) for s in samples) + r + 1.0
        samples = [s + np.eye(s.shape[1])[0] * (k * gap) for k, s in enumerate(samples)]
    pos = np.concatenate(samples)
    chunks = (d for _, _, d in pairs_within(pos, r)[1])
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
    samples = [positions] if is_array(positions) else list(positions)
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
    face = as_positions(face, "face")
    samples = [positions] if is_array(positions) else list(positions)
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
    face = as_positions(face, "face")
    samples = [as_positions(p, "positions") for p in ([positions] if is_array(positions) else positions)]
    chunks = (d for pos in samples for _, _, d in pairs_between(face, pos, r, period))
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
    return int(np.shape(positions if is_array(positions) else positions[0])[1])


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
            raise ValueError(
                f"degree: {degree} cannot be reached with {'io_p0' if io else 'p0'} = "
                f"{rule.io_p0 if io else rule.p0} ({name} > 1e9)"
            )
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


# ------------------------------------------------------- a spec's own placement
#: Neurons (summed over placements) that calibration averages over.
_CALIBRATION_POINTS = 4096
_CALIBRATION_SEED = 20250901


def _calibration_placements(spec) -> list[np.ndarray]:
    """The grid, or ``ceil(4096 / n)`` (at most 64) placements from a fixed seed."""
    if spec.placement == "grid":
        return [spec.grid()]
    k = max(1, min(64, -(-_CALIBRATION_POINTS // spec.n_hidden)))
    return [spec.place(np.random.default_rng([_CALIBRATION_SEED, i])) for i in range(k)]


def _periodic_uniform(spec) -> bool:
    return spec.rule.period is not None and spec.placement == "uniform"


def _solve_box(spec, target: float, io: bool) -> float:
    """Length (``io_length`` if ``io``) with ``E[degree]`` (``E[fan-out]``) = ``target`` for
    ``spec.n_hidden`` neurons i.i.d. uniform in the periodic box ``spec.rule.period``."""
    n, volume = spec.n_hidden, float(np.prod(spec.rule.period))
    others = n if io else n - 1
    name = "io_length" if io else "length"

    def expected(length):
        rule = replace(spec.rule, **{name: length})
        self_term = 0.0 if io or rule.self_distance is None else float(rule.probability(rule.self_distance))
        return others / volume * box_integral(rule, io) + self_term

    lo = hi = 1.0
    while expected(hi) < target:
        lo, hi = hi, 2.0 * hi
        if hi > 1e9:
            raise ValueError(f"{name}: {target} expected synapses cannot be reached in a box of {n} neurons")
    while lo > 1e-9 and expected(lo) > target:
        lo, hi = 0.5 * lo, lo
    while hi - lo > 1e-6 * hi:
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if expected(mid) < target else (lo, mid)
    return 0.5 * (lo + hi)


@functools.lru_cache(maxsize=64)
def calibrated_rule(spec) -> ConnectivityRule:
    """``spec.rule`` with the length giving ``spec.mean_degree`` over the spec's placement."""
    if _periodic_uniform(spec):
        return replace(spec.rule, length=_solve_box(spec, spec.mean_degree, io=False))
    n, sources = spec.n_hidden, None
    samples = _calibration_placements(spec)
    if n > _CALIBRATION_POINTS:  # average over a fixed subset of neurons
        rng = np.random.default_rng([_CALIBRATION_SEED, n])
        sources = np.sort(rng.choice(n, _CALIBRATION_POINTS, replace=False))
    length = length_for_degree(samples, spec.rule, spec.mean_degree, sources=sources)
    return replace(spec.rule, length=length)


@functools.lru_cache(maxsize=64)
def calibrated_io_rule(spec, n_inputs: int) -> ConnectivityRule:
    """The resolved rule with the ``io_length`` giving ``n_inputs`` face channels
    ``spec.io_degree`` synapses each, on average over the channels and placements."""
    rule = spec.rule if spec.mean_degree is None else calibrated_rule(spec)
    if _periodic_uniform(spec):
        return replace(rule, io_length=_solve_box(spec, spec.io_degree, io=True))
    face = spec.face_positions(n_inputs, outputs=False)
    io_length = io_length_for_degree(face, _calibration_placements(spec), spec.rule, spec.io_degree)
    return replace(rule, io_length=io_length)
