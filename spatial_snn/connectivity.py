"""Distance rules, spatial-index pair sampling, and genome -> sparse matrices.

Orientation (the one used across the whole code base): every connection
matrix is a ``scipy.sparse.csr_matrix`` of shape ``(n_pre, n_post)``: **rows
are presynaptic**. A spiking neuron's outgoing synapses are then one
contiguous row, which is what the event-driven kernels scatter.

Rules, for a pair at Euclidean distance ``d``:

* connection probability      ``p(d) = p0 * exp(-(d / length) ** shape)``
  (the reference method: ``p0 = 1, length = 0.5, shape = 1``, i.e. ``exp(-2 d)``);
* strength                    ``strength(d) = exp(-strength_decay * (d - strength_offset))``
  (reference: ``exp(-2 (d - 1))``);
* effective weight            ``w_eff = weight * strength(d) * sign[pre]``;
* delay (sub-steps)           ``clip(ceil(d / conduction_speed), 1, max_delay)``; without a
  conduction speed every delay is one sub-step, the reference semantics.

Candidate pairs come from a ``cKDTree`` within ``radius()``, the distance
beyond which ``p(d)`` falls under ``cutoff``; pairs farther away are never
formed. Work and memory are O(n + candidates) = O(n + synapses), processed in
chunks; no all-pairs distance matrix is ever built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.spatial import cKDTree

from .genome import Genome, Synapses

#: Default probability under which candidate pairs are ignored.
DEFAULT_CUTOFF = 1e-3
#: Candidate pairs processed per chunk when sampling (bounds peak memory).
_CHUNK_PAIRS = 4_000_000


@dataclass(frozen=True)
class ConnectivityRule:
    """How distance sets connection probability, strength and delay.

    Parameters
    ----------
    p0, length, shape : float
        Recurrent probability ``p0 * exp(-(d / length) ** shape)``; ``length``
        in position units.
    io_p0, io_length : float
        The same law for input -> hidden and hidden -> output pairs.
    io_distance : float or None
        If set, every input/output pair is taken to lie at this distance (the
        reference layout: 1.0); if None, real Euclidean distances are used.
    self_distance : float or None
        Distance used for a neuron's connection to itself (reference: 1.0, as
        the published code overwrote the diagonal); None forbids self-loops.
    strength_decay, strength_offset : float
        ``strength(d) = exp(-strength_decay * (d - strength_offset))``.
    cutoff : float
        Probability below which pairs are not considered (sets ``radius``).
    conduction_speed : float or None
        Distance per sub-step; None means every recurrent delay is 1 sub-step.
    max_delay : int
        Cap on delays, in sub-steps.
    """

    p0: float = 1.0
    length: float = 0.5
    shape: float = 1.0
    io_p0: float = 1.0
    io_length: float = 0.5
    io_distance: float | None = 1.0
    self_distance: float | None = 1.0
    strength_decay: float = 2.0
    strength_offset: float = 1.0
    cutoff: float = DEFAULT_CUTOFF
    conduction_speed: float | None = None
    max_delay: int = 8

    def __post_init__(self):
        for name in ("p0", "io_p0"):
            v = getattr(self, name)
            if not 0.0 < v <= 1.0:
                raise ValueError(f"ConnectivityRule.{name}: expected a probability in (0, 1], got {v}")
        for name in ("length", "io_length", "shape"):
            v = getattr(self, name)
            if not (math.isfinite(v) and v > 0):
                raise ValueError(f"ConnectivityRule.{name}: expected a finite value > 0, got {v}")
        if not 0.0 < self.cutoff < 1.0:
            raise ValueError(f"ConnectivityRule.cutoff: expected a value in (0, 1), got {self.cutoff}")
        for name in ("io_distance", "self_distance", "conduction_speed"):
            v = getattr(self, name)
            if v is not None and not (math.isfinite(v) and v >= 0):
                raise ValueError(f"ConnectivityRule.{name}: expected None or a value >= 0, got {v}")
        if self.conduction_speed is not None and self.conduction_speed <= 0:
            raise ValueError(
                f"ConnectivityRule.conduction_speed: expected > 0 or None, got {self.conduction_speed}"
            )
        if not 1 <= int(self.max_delay) <= 255 or int(self.max_delay) != self.max_delay:
            raise ValueError(f"ConnectivityRule.max_delay: expected an integer in 1..255, got {self.max_delay}")
        if not math.isfinite(self.strength_decay) or not math.isfinite(self.strength_offset):
            raise ValueError("ConnectivityRule.strength_decay/strength_offset: expected finite values")

    # ----------------------------------------------------------------- laws
    def probability(self, d, io: bool = False) -> np.ndarray:
        """``p(d) = p0 * exp(-(d / length) ** shape)`` (io law if ``io``)."""
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        return p0 * np.exp(-((np.asarray(d, np.float64) / length) ** self.shape))

    def radius(self, io: bool = False) -> float:
        """Distance beyond which ``p(d) < cutoff``; pairs beyond it never connect."""
        p0, length = (self.io_p0, self.io_length) if io else (self.p0, self.length)
        if p0 <= self.cutoff:
            return 0.0
        return length * math.log(p0 / self.cutoff) ** (1.0 / self.shape)

    def strength(self, d) -> np.ndarray:
        """``exp(-strength_decay * (d - strength_offset))``."""
        return np.exp(-self.strength_decay * (np.asarray(d, np.float64) - self.strength_offset))

    def delay(self, d) -> np.ndarray:
        """Delay in sub-steps: ``clip(ceil(d / conduction_speed), 1, max_delay)`` (uint8)."""
        d = np.asarray(d, np.float64)
        if self.conduction_speed is None:
            return np.ones(d.shape, np.uint8)
        return np.clip(np.ceil(d / self.conduction_speed), 1, self.max_delay).astype(np.uint8)

    @property
    def delay_slots(self) -> int:
        """Ring-buffer depth the kernels need for this rule (max delay + 1)."""
        return (1 if self.conduction_speed is None else int(self.max_delay)) + 1


# ---------------------------------------------------------------- distances
def synapse_distances(genome: Genome, projection: str) -> np.ndarray:
    """Distance of every synapse of one projection, O(synapses).

    The rule's ``io_distance`` replaces input/output distances and
    ``self_distance`` replaces the zero distance of self-loops.
    """
    rule = genome.rule
    syn: Synapses = getattr(genome, projection)
    if projection == "recurrent":
        a, b = genome.positions[syn.pre], genome.positions[syn.post]
    elif projection == "input_synapses":
        if rule.io_distance is not None:
            return np.full(len(syn), rule.io_distance)
        a, b = genome.input_positions[syn.pre], genome.positions[syn.post]
    elif projection == "output_synapses":
        if rule.io_distance is not None:
            return np.full(len(syn), rule.io_distance)
        a, b = genome.positions[syn.pre], genome.output_positions[syn.post]
    else:
        raise ValueError(f"projection: expected one of input_synapses, recurrent, output_synapses; got {projection!r}")
    d = np.sqrt(np.sum((a - b) ** 2, axis=1))
    if projection == "recurrent" and rule.self_distance is not None:
        d[syn.pre == syn.post] = rule.self_distance
    return d


# ----------------------------------------------------------------- sampling
def sample_pairs(
    pre_pos: np.ndarray,
    post_pos: np.ndarray,
    rule: ConnectivityRule,
    rng: np.random.Generator,
    *,
    io: bool = False,
    same: bool = False,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Draw edges ``pre -> post`` with probability ``rule.probability(d)``.

    Candidates come from a cKDTree within ``rule.radius(io)``, a chunk of
    presynaptic points at a time, so memory stays O(chunk candidates).

    Parameters
    ----------
    pre_pos : (n_pre, dim), post_pos : (n_post, dim)
    same : bool
        Pre and post are one population: self pairs use ``rule.self_distance``
        (or are dropped when it is None).

    Returns
    -------
    pre, post : (s,) int64, sorted by (pre, post); d : (s,) float64 distances.
    """
    r = rule.radius(io)
    n_pre, n_post = len(pre_pos), len(post_pos)
    out_pre, out_post, out_d = [], [], []
    if same and rule.self_distance is not None and rule.self_distance > r and n_pre:
        # the self-distance lies beyond the search radius: sample self-loops directly
        p_self = float(rule.probability(rule.self_distance, io))
        idx = np.flatnonzero(rng.random(n_pre) < p_self)
        out_pre.append(idx), out_post.append(idx), out_d.append(np.full(idx.size, rule.self_distance))
    if n_pre and n_post and r > 0:
        tree = cKDTree(post_pos)
        # expected candidates per pre neuron, to size chunks
        density = n_post / max(_box_volume(post_pos, r), 1e-12)
        per_pre = max(1.0, density * _ball_volume(post_pos.shape[1], r))
        step = int(max(1, min(n_pre, _CHUNK_PAIRS // per_pre)))
        for start in range(0, n_pre, step):
            chunk = pre_pos[start : start + step]
            pairs = cKDTree(chunk).sparse_distance_matrix(tree, r, output_type="ndarray")
            i = pairs["i"].astype(np.int64) + start
            j = pairs["j"].astype(np.int64)
            d = pairs["v"].astype(np.float64)
            if same:
                # self pairs are drawn separately, at the rule's self_distance
                off = i != j
                i, j, d = i[off], j[off], d[off]
            keep = rng.random(d.size) < rule.probability(d, io)
            out_pre.append(i[keep]), out_post.append(j[keep]), out_d.append(d[keep])
        if same and rule.self_distance is not None and rule.self_distance <= r:
            p_self = float(rule.probability(rule.self_distance, io))
            idx = np.flatnonzero(rng.random(n_pre) < p_self)
            out_pre.append(idx), out_post.append(idx), out_d.append(np.full(idx.size, rule.self_distance))
    if not out_pre:
        return np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0)
    pre, post, d = (np.concatenate(x) for x in (out_pre, out_post, out_d))
    order = np.argsort(pre * max(n_post, 1) + post, kind="stable")
    return pre[order], post[order], d[order]


def sample_constant(
    n_pre: int, n_post: int, p: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """All ``n_pre * n_post`` pairs, each kept with probability ``p`` (reference io layout)."""
    flat = np.flatnonzero(rng.random(n_pre * n_post) < p)
    return flat // n_post, flat % n_post


def _ball_volume(dim: int, r: float) -> float:
    return math.pi ** (dim / 2) / math.gamma(dim / 2 + 1) * r**dim


def _box_volume(pos: np.ndarray, pad: float) -> float:
    ext = np.ptp(pos, axis=0) + 2 * pad if len(pos) else np.zeros(pos.shape[1])
    return float(np.prod(np.maximum(ext, 1e-9)))


# ------------------------------------------------------------ calibration
def mean_degree(positions: np.ndarray, rule: ConnectivityRule) -> float:
    """Expected recurrent out-degree per neuron under ``rule`` (exact sum over candidates)."""
    tree = cKDTree(positions)
    pairs = tree.sparse_distance_matrix(tree, rule.radius(), output_type="ndarray")
    d = pairs["v"][pairs["i"] != pairs["j"]]
    total = float(np.sum(rule.probability(d)))
    if rule.self_distance is not None:
        total += len(positions) * float(rule.probability(rule.self_distance))
    return total / max(len(positions), 1)


def length_for_degree(positions: np.ndarray, rule: ConnectivityRule, degree: float) -> float:
    """The ``length`` that gives ``positions`` an expected mean out-degree ``degree``.

    Bisection on :func:`mean_degree`; used to compare 1D, 2D and 3D embeddings
    at equal mean degree.
    """
    from dataclasses import replace

    n = len(positions)
    if not 0 < degree < n * rule.p0:
        raise ValueError(f"degree: expected a value in (0, {n * rule.p0:g}) for {n} neurons, got {degree}")
    lo, hi = 1e-3, float(np.max(np.ptp(positions, axis=0))) + 1.0
    while mean_degree(positions, replace(rule, length=hi)) < degree:
        hi *= 2
        if hi > 1e6:
            raise ValueError(f"degree: {degree} cannot be reached with p0 = {rule.p0}")
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if mean_degree(positions, replace(rule, length=mid)) < degree:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-6 * hi:
            break
    return 0.5 * (lo + hi)


# ---------------------------------------------------------------- matrices
@dataclass(frozen=True, eq=False)
class Connectivity:
    """A genome's effective weights as CSR matrices, rows = presynaptic.

    Attributes
    ----------
    input : csr_matrix (n_in, n)
    recurrent : csr_matrix (n, n)
    output : csr_matrix (n, n_out)
    delays : (recurrent.nnz,) uint8
        Delay of each recurrent synapse in sub-steps, aligned with ``recurrent.data``.
    """

    input: sp.csr_matrix
    recurrent: sp.csr_matrix
    output: sp.csr_matrix
    delays: np.ndarray


def _csr(pre, post, data, shape, name, extra=None):
    """CSR with sorted columns; duplicate (pre, post) pairs are an error."""
    n_pre, n_post = shape
    key = pre.astype(np.int64) * max(n_post, 1) + post
    order = np.argsort(key, kind="stable")
    key = key[order]
    if key.size > 1 and np.any(key[1:] == key[:-1]):
        k = key[1:][key[1:] == key[:-1]][0]
        raise ValueError(
            f"{name}: expected at most one synapse per (pre, post) pair, "
            f"got a duplicate at ({k // max(n_post, 1)}, {k % max(n_post, 1)})"
        )
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(pre, minlength=n_pre), out=indptr[1:])
    m = sp.csr_matrix(
        (data[order].astype(np.float32), post[order].astype(np.int32), indptr), shape=shape
    )
    return m, (None if extra is None else extra[order])


def build(genome: Genome) -> Connectivity:
    """Effective-weight CSR matrices of one genome (O(n + synapses)).

    ``w_eff = weight * strength(d) * sign[pre]`` where ``sign`` is the input
    channel's for the input projection and the hidden neuron's otherwise.
    """
    rule = genome.rule
    n, n_in, n_out = genome.n, genome.n_inputs, genome.n_outputs
    mats = {}
    for name, sign, shape in (
        ("input_synapses", genome.input_sign, (n_in, n)),
        ("recurrent", genome.sign, (n, n)),
        ("output_synapses", genome.sign, (n, n_out)),
    ):
        syn = getattr(genome, name)
        d = synapse_distances(genome, name)
        w = syn.weight.astype(np.float64) * rule.strength(d) * sign[syn.pre]
        extra = rule.delay(d) if name == "recurrent" else None
        mats[name] = _csr(syn.pre, syn.post, w, shape, name, extra)
    (w_in, _), (w_rec, delays), (w_out, _) = mats.values()
    return Connectivity(w_in, w_rec, w_out, delays)
