"""Distance rules and genome -> sparse matrices.

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

Scaled laws (``scaled = True``, the ``spatial`` preset): strength and delay
take the *reach* ``x = (d / length) ** shape`` (``io_length`` for input and
output synapses) in place of ``d``, so all three laws are in units of the
(calibrated) length: ``p = p0 exp(-x)``, ``strength = exp(-strength_decay
(x - strength_offset))``, delay ``ceil(x / conduction_speed)``. With
``shape = dim`` the reach is the expected number of neurons within ``d``
divided by ``p0`` times the mean degree (density 1), so among the edges it
is distributed as ``Exp(1)`` in every dimension, and so are strengths and
delays: equal footing by construction, not only in the mean.

Periodic box (``period``, the ``spatial`` preset): positions live on a torus
of these sides and every distance is the minimum-image one. Every neuron then
has the same neighbourhood statistics in 1D, 2D and 3D; in a bounded 4x4x4
cube most of 64 neurons sit on a face and reach half the neighbours of an
inner one, which no calibration of the mean can undo.

Cutoff: pairs farther apart than ``radius(io, dim)`` are never formed. The
radius is the larger of the distance where ``p(d)`` falls under ``cutoff`` and
the distance beyond which a neuron in unbounded ``dim``-dimensional space
(density 1) would have a fraction ``cutoff`` of its expected degree,
``Q(dim / shape, (r / length) ** shape) = cutoff`` (``Q`` the regularised upper
incomplete gamma function). The probability alone is not enough: at
``cutoff = 1e-3`` it drops 3.2 % of the expected degree in 3D at shape 1 and
23-31 % at shapes 0.6-0.5 (the tail holds many far neighbours). So the
truncated mass is at most ``cutoff`` (default 0.1 %) in every dimension and
shape; in a bounded or periodic box it is smaller still.
:mod:`~spatial_snn.space.sampling` draws the edges from a spatial
index (:func:`~spatial_snn.space.sampling.sample_edges`, ``sample_pairs``,
``sample_constant``); :mod:`~spatial_snn.space.calibration` solves for
lengths (``mean_degree``, ``length_for_degree``, ``mean_fan_out``,
``io_length_for_degree``).
:func:`build` is O(n + synapses), blockwise; no all-pairs matrix is ever
built.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from .genome import Genome, Synapses
from .sampling import pair_distances

__all__ = ["Connectivity", "build", "point_distances", "synapse_distances", "wire_lengths", "wiring_length"]

#: Synapses processed per block when computing distances and weights.
_SYN_BLOCK = 1 << 20


# ---------------------------------------------------------------- distances
def _check_projection(projection: str) -> None:
    if projection not in ("input_synapses", "recurrent", "output_synapses"):
        raise ValueError(
            f"projection: expected one of 'input_synapses', 'recurrent', 'output_synapses', got {projection!r}"
        )


def _block_distances(genome: Genome, projection: str, block: slice, columns=None) -> np.ndarray:
    """Distances of the synapses ``block`` of one projection, float64.

    ``columns``: the projection's ``(src.T, dst.T)`` position columns, if the
    caller already made them (blockwise callers do, once).
    """
    rule = genome.rule
    syn: Synapses = getattr(genome, projection)
    pre, post = syn.pre[block], syn.post[block]
    if projection != "recurrent" and rule.io_distance is not None:
        return np.full(pre.size, float(rule.io_distance))
    src, dst = columns if columns is not None else _columns(genome, projection)
    d = pair_distances(src, dst, pre, post, rule.period)
    if projection == "recurrent" and rule.self_distance is not None:
        d[pre == post] = rule.self_distance
    return d


def _columns(genome: Genome, projection: str) -> tuple[np.ndarray, np.ndarray]:
    """Contiguous (dim, n) position columns of a projection's source and target."""
    src = genome.input_positions if projection == "input_synapses" else genome.positions
    dst = genome.output_positions if projection == "output_synapses" else genome.positions
    return np.ascontiguousarray(src.T), np.ascontiguousarray(dst.T)


def synapse_distances(genome: Genome, projection: str) -> np.ndarray:
    """Distance of every synapse of one projection, (s,) float64, O(synapses).

    The rule's ``io_distance`` replaces input/output distances and
    ``self_distance`` replaces the zero distance of self-loops.
    """
    _check_projection(projection)
    s = len(getattr(genome, projection))
    d = np.empty(s)
    columns = _columns(genome, projection)
    for start in range(0, s, _SYN_BLOCK):
        block = slice(start, start + _SYN_BLOCK)
        d[block] = _block_distances(genome, projection, block, columns)
    return d


def point_distances(a: np.ndarray, b: np.ndarray, period=None) -> np.ndarray:
    """Row-wise distance ``|a[i] - b[i]|`` of two ``(k, dim)`` position arrays, (k,) float64.

    Minimum-image on a periodic box of sides ``period`` (None: unbounded
    space), as the connectivity rule measures it.
    """
    a = np.ascontiguousarray(np.asarray(a, np.float64).T)
    b = np.ascontiguousarray(np.asarray(b, np.float64).T)
    idx = np.arange(a.shape[1])
    return pair_distances(a, b, idx, idx, period)


def wire_lengths(genome: Genome, projection: str) -> np.ndarray:
    """Physical length of every synapse of one projection, (s,) float64.

    ``|x_pre - x_post|`` between the two ends' positions, minimum-image on the
    rule's periodic box when it has one (``period``, the ``spatial`` preset):
    the distance the rule measured when it made the synapse, so a synapse that
    wraps around the box is as long as the short way round. Unlike
    :func:`synapse_distances`, the rule's modelling conventions are not
    applied: a self-loop has length 0 and input/output synapses of the
    ``reference`` preset (``io_distance = 1``) have the length between their
    real positions. NSGA-II's wiring cost and the structure report both read
    this one definition.
    """
    _check_projection(projection)
    syn: Synapses = getattr(genome, projection)
    if not len(syn):
        return np.empty(0)
    src, dst = _columns(genome, projection)
    return pair_distances(
        src.astype(np.float64, copy=False), dst.astype(np.float64, copy=False), syn.pre, syn.post, genome.rule.period
    )


def wiring_length(genome: Genome) -> float:
    """Sum of :func:`wire_lengths` over all synapses (input, recurrent, output), position units."""
    return float(sum(wire_lengths(genome, name).sum() for name in ("input_synapses", "recurrent", "output_synapses")))


# ---------------------------------------------------------------- matrices
@dataclass(frozen=True, eq=False)
class Connectivity:
    """A genome's effective weights as CSR matrices, rows = presynaptic.

    Attributes
    ----------
    input : csr_matrix (n_in, n) float32
    recurrent : csr_matrix (n, n) float32
    output : csr_matrix (n, n_out) float32
    delays : (recurrent.nnz,) uint8
        Delay of each recurrent synapse in sub-steps, aligned with ``recurrent.data``.
    """

    input: sp.csr_matrix
    recurrent: sp.csr_matrix
    output: sp.csr_matrix
    delays: np.ndarray


def _pair_order(pre: np.ndarray, post: np.ndarray, n_post: int, name: str) -> np.ndarray | None:
    """Permutation sorting synapses by (pre, post), None if already sorted; duplicates raise."""
    if pre.size < 2:
        return None
    dpre, dpost = np.diff(pre), np.diff(post)
    if np.all((dpre > 0) | ((dpre == 0) & (dpost > 0))):
        return None  # strictly increasing: sorted, no duplicates (random_genome's output)
    key = pre.astype(np.int64) * max(n_post, 1) + post
    order = np.argsort(key, kind="stable")
    key = key[order]
    dup = np.flatnonzero(key[1:] == key[:-1])
    if dup.size:
        a, b = order[dup[0]], order[dup[0] + 1]
        raise ValueError(
            f"{name}: expected at most one synapse per (pre, post) pair, got {dup.size} "
            f"duplicate(s), first ({pre[a]}, {post[a]}) at synapses {a} and {b}; "
            "merge them into one synapse (e.g. sum the weights) before build()"
        )
    return order


def _projection(genome: Genome, name: str, sign: np.ndarray, n_pre: int, n_post: int):
    """CSR of one projection (``w_eff = weight * strength(d) * sign[pre]``) and its delays."""
    rule, syn = genome.rule, getattr(genome, name)
    order = _pair_order(syn.pre, syn.post, n_post, name)
    w = np.empty(len(syn), np.float32)
    delays = np.empty(len(syn), np.uint8) if name == "recurrent" else None
    columns = _columns(genome, name)
    for start in range(0, len(syn), _SYN_BLOCK):
        b = slice(start, start + _SYN_BLOCK)
        d = _block_distances(genome, name, b, columns)
        # float32 strength: the weights are stored as float32 anyway (rel. error ~1e-7)
        w[b] = syn.weight[b] * rule.strength(d.astype(np.float32), io=name != "recurrent") * sign[syn.pre[b]]
        if delays is not None:
            delays[b] = rule.delay(d)
    if order is None:
        post = syn.post.copy()  # the CSR must not share memory with the genome
    else:
        w, post = w[order], syn.post[order]
        delays = None if delays is None else delays[order]
    indptr = np.zeros(n_pre + 1, np.int64)
    np.cumsum(np.bincount(syn.pre, minlength=n_pre), out=indptr[1:])
    return sp.csr_matrix((w, post, indptr), shape=(n_pre, n_post)), delays


def build(genome: Genome) -> Connectivity:
    """Effective-weight CSR matrices of one genome (O(n + synapses), blockwise).

    ``w_eff = weight * strength(d) * sign[pre]`` where ``sign`` is the input
    channel's for the input projection and the hidden neuron's otherwise;
    columns sorted within each row. Raises ValueError on a duplicate
    ``(pre, post)`` synapse.
    """
    n, n_in, n_out = genome.n, genome.n_inputs, genome.n_outputs
    w_in, _ = _projection(genome, "input_synapses", genome.input_sign, n_in, n)
    w_rec, delays = _projection(genome, "recurrent", genome.sign, n, n)
    w_out, _ = _projection(genome, "output_synapses", genome.sign, n, n_out)
    return Connectivity(w_in, w_rec, w_out, delays)
