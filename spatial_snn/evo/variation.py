"""Variation operators: mutation, crossover and pruning, all pure.

Every operator takes genomes and, where it draws, an explicit
``np.random.Generator``; it never writes into its inputs and returns new
:class:`~spatial_snn.space.genome.Genome` objects.

Within one run genomes keep a fixed number of hidden neuron slots, index
aligned between individuals: slot ``i`` of one parent meets slot ``i`` of the
other in crossover. Pruning therefore removes *synapses*, never slots; a
pruned slot is disconnected and mutation can wire it in again (the published
code keeps its 64x64 matrices the same way). :func:`compact` drops empty
slots for simulation only; its result no longer aligns with the population.

Mutation, each event independent (defaults are the published rates):

* delete an existing synapse, probability ``edge_delete``;
* resample a surviving synapse's weight ``w ~ U(ranges.weight)``, ``weight_resample``;
* add an absent ``(pre, post)`` pair, ``edge_add`` (uniform, published) or, with
  ``spatial_add``, ``edge_add * p(d) / p0`` under the genome's rule;
* flip a hidden neuron's sign, ``sign_flip``;
* resample each of a neuron's five LIF parameters, ``param_resample``;
* move a neuron, ``position_rate``, by ``N(0, position_sigma**2)`` per axis;
* swap moves: ``Binomial(n // 2, position_swap)`` disjoint pairs of neurons
  exchange their positions (a neuron keeps its parameters and synapse genes
  and takes the other's place: the occupied sites stay the same, so the
  spatial density and the distribution of distances are unchanged, which a
  Gaussian move does not guarantee).

A position move changes nothing but positions: synapse genes stay, and the
effective weights and delays of the synapses touching a moved neuron follow
the new distances through the rule (strength, delay); all other synapses keep
theirs exactly.

Crossover moves whole neurons: a hidden neuron carries its parameters, sign,
position and outgoing synapses (recurrent and output); an input channel
carries its sign, position and outgoing input synapses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from numbers import Real

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from ..space.connectivity import ConnectivityRule, sample_pairs
from ..space.genome import NEURON_PARAMS, Genome, Synapses
from ..space.layout import ParameterRanges

_PROBABILITIES = (
    "edge_delete", "weight_resample", "edge_add", "sign_flip", "param_resample", "position_rate", "position_swap",
)  # fmt: skip
_SYN = ("pre", "post", "weight")
_PER_NEURON = (*NEURON_PARAMS, "sign")


@dataclass(frozen=True)
class MutationParams:
    """Per-element mutation probabilities (published defaults) and position moves.

    Parameters
    ----------
    edge_delete : float
        Probability to delete each existing synapse (all three projections).
    weight_resample : float
        Probability to redraw each surviving synapse's weight from ``ranges.weight``.
    edge_add : float
        Probability to add each absent ``(pre, post)`` pair.
    spatial_add : bool
        If True, an absent pair at distance ``d`` is added with probability
        ``edge_add * p(d) / p0`` under the genome's rule (pairs beyond the rule's
        cutoff radius never); if False, uniformly (published).
    sign_flip : float
        Probability to flip each hidden neuron's sign.
    param_resample : float
        Probability to redraw each of ``v_th, v_reset, v_leak, tau_mem_inv,
        tau_syn_inv`` of each neuron from its range.
    position_sigma : float
        Standard deviation of a move per axis (0 = off), position units, or
        calibrated lengths for a genome with a scaled rule (``spatial`` preset).
    position_rate : float
        Probability that a neuron moves.
    position_swap : float
        Probability of each of ``n // 2`` swap events: a random pair of neurons
        exchanges positions (pairs disjoint within one mutation; 0 = off).
    """

    edge_delete: float = 0.05
    weight_resample: float = 0.10
    edge_add: float = 0.01
    spatial_add: bool = False
    sign_flip: float = 0.05
    param_resample: float = 0.10
    position_sigma: float = 0.0
    position_rate: float = 0.0
    position_swap: float = 0.0

    def __post_init__(self):
        for name in _PROBABILITIES:
            v = getattr(self, name)
            if not isinstance(v, Real) or not 0.0 <= v <= 1.0:
                raise ValueError(f"MutationParams.{name}: expected a probability in [0, 1], got {v!r}")
        s = self.position_sigma
        if not isinstance(s, Real) or not (math.isfinite(s) and s >= 0):
            raise ValueError(f"MutationParams.position_sigma: expected a finite value >= 0, got {s!r}")
        if not isinstance(self.spatial_add, bool | np.bool_):
            raise TypeError(f"MutationParams.spatial_add: expected a bool, got {self.spatial_add!r}")


# ------------------------------------------------------------------ checks
def _check_genome(g, name: str) -> None:
    if not isinstance(g, Genome):
        raise TypeError(f"{name}: expected a Genome, got {type(g).__name__}")


def _check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected np.random.Generator (default_rng(seed)), got {type(rng).__name__}")


def _shape(g: Genome) -> tuple[int, int, int, int]:
    return (g.n, g.n_inputs, g.n_outputs, g.dim)


def _check_parents(a, b) -> None:
    _check_genome(a, "a")
    _check_genome(b, "b")
    if _shape(a) != _shape(b):
        raise ValueError(
            "crossover: expected parents of equal shape (n, n_inputs, n_outputs, dim), "
            f"got a = {_shape(a)} and b = {_shape(b)}; cross genomes drawn from one GenomeSpec"
        )


# ---------------------------------------------------------------- mutation
def _events(rng: np.random.Generator, p: float, size: int) -> np.ndarray:
    """Bernoulli(p) mask of ``size`` events (no draw when ``p == 0``)."""
    return rng.random(size) < p if p > 0 else np.zeros(size, bool)


def _distinct_absent(m: int, existing: np.ndarray, count: int, rng) -> np.ndarray:
    """``count`` distinct keys drawn uniformly from ``[0, m)`` minus sorted ``existing``.

    Rejection sampling keeps work and memory O(existing + count); when the
    absent keys are few (dense projection) or most of them are wanted, they
    are enumerated, which then costs O(m) = O(existing + count) as well.
    """
    if count == 0:
        return np.empty(0, np.int64)
    if 2 * count > m - existing.size or 2 * existing.size > m:
        pool = np.setdiff1d(np.arange(m, dtype=np.int64), existing, assume_unique=True)
        return rng.choice(pool, count, replace=False)
    chosen = np.empty(0, np.int64)
    while chosen.size < count:
        need = count - chosen.size
        draw = rng.integers(0, m, size=need + need // 4 + 16, dtype=np.int64)
        draw = np.concatenate([chosen, draw[~np.isin(draw, existing)]])
        _, first = np.unique(draw, return_index=True)
        chosen = draw[np.sort(first)]  # distinct, in draw order: a prefix is a uniform subset
    return chosen[:count]


def _add_uniform(syn: Synapses, n_pre: int, n_post: int, no_self: bool, p: float, rng):
    """Absent pairs, each added with probability ``p``: count ~ Binomial(absent, p)."""
    row = n_post - 1 if no_self else n_post  # with no self-loops, key skips the diagonal
    pre, post = syn.pre.astype(np.int64), syn.post.astype(np.int64)
    if no_self:
        off = pre != post
        pre, post = pre[off], post[off]
        post = post - (post > pre)
    m = n_pre * row
    existing = np.unique(pre * row + post)
    if m == 0 or p == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    keys = _distinct_absent(m, existing, int(rng.binomial(m - existing.size, p)), rng)
    pre, post = keys // row, keys % row
    return pre, (post + (post >= pre) if no_self else post)


def _pair_space(genome: Genome, name: str) -> tuple[int, int]:
    """``(n_pre, n_post)`` of a projection."""
    return {
        "input_synapses": (genome.n_inputs, genome.n),
        "recurrent": (genome.n, genome.n),
        "output_synapses": (genome.n, genome.n_outputs),
    }[name]


def _unit_rule(rule: ConnectivityRule, io: bool) -> ConnectivityRule:
    """``rule`` with ``p0`` (or ``io_p0``) = 1 and the same radius: ``p'(d) = p(d) / p0``."""
    p0 = rule.io_p0 if io else rule.p0
    cutoff = min(rule.cutoff / p0, 1.0 - 1e-9)  # p0 <= cutoff (radius 0) is degenerate anyway
    return replace(rule, **{"io_p0" if io else "p0": 1.0}, cutoff=cutoff)


def _add_spatial(genome: Genome, name: str, syn: Synapses, p: float, rng):
    """Absent pairs, each added with probability ``p * p(d) / p0`` under the genome's rule.

    Candidates are drawn by :func:`~spatial_snn.space.connectivity.sample_pairs` with
    probability ``p(d) / p0`` (within the rule's radius), then kept with
    probability ``p``; existing pairs are dropped.
    """
    rule, pos = genome.rule, genome.positions
    n_pre, n_post = _pair_space(genome, name)
    if p == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    if name == "recurrent":
        pre, post, _ = sample_pairs(pos, pos, _unit_rule(rule, False), rng, same=True)
    elif rule.io_distance is not None:  # every io pair lies at one distance: uniform
        p_io = p * float(rule.probability(rule.io_distance, io=True)) / rule.io_p0
        return _add_uniform(syn, n_pre, n_post, False, p_io, rng)
    else:
        inputs = name == "input_synapses"
        src, dst = (genome.input_positions, pos) if inputs else (pos, genome.output_positions)
        pre, post, _ = sample_pairs(src, dst, _unit_rule(rule, True), rng, io=True)
    keep = rng.random(pre.size) < p
    pre, post = pre[keep], post[keep]
    absent = ~np.isin(pre * n_post + post, syn.pre.astype(np.int64) * n_post + syn.post)
    return pre[absent], post[absent]


def _mutate_projection(genome, name, rng, params: MutationParams, ranges: ParameterRanges):
    syn: Synapses = getattr(genome, name)
    s = len(syn)
    keep = ~_events(rng, params.edge_delete, s)
    redraw = _events(rng, params.weight_resample, s) & keep
    weight = syn.weight.copy()
    weight[redraw] = ranges.draw("weight", int(redraw.sum()), rng)
    if params.spatial_add:
        add_pre, add_post = _add_spatial(genome, name, syn, params.edge_add, rng)
    else:
        n_pre, n_post = _pair_space(genome, name)
        no_self = name == "recurrent" and genome.rule.self_distance is None
        add_pre, add_post = _add_uniform(syn, n_pre, n_post, no_self, params.edge_add, rng)
    pre = np.concatenate([syn.pre[keep], add_pre])
    post = np.concatenate([syn.post[keep], add_post])
    weight = np.concatenate([weight[keep], ranges.draw("weight", add_pre.size, rng)])
    order = np.lexsort((post, pre))
    return Synapses(pre[order], post[order], weight[order])


def mutate(genome: Genome, rng: np.random.Generator, params: MutationParams, ranges: ParameterRanges) -> Genome:
    """A mutated copy of ``genome``; see the module docstring for the events.

    Draw order (fixed, so a seed fixes the result): signs, the five parameters,
    the input, recurrent and output projections (delete, resample, add),
    positions. Structural events use the parent's positions; moved neurons
    keep their synapse genes, and their effective weights follow the new
    distances through :func:`~spatial_snn.space.connectivity.build`.

    Parameters
    ----------
    genome : Genome
    rng : np.random.Generator
    params : MutationParams
    ranges : ParameterRanges
        Ranges of resampled parameters and of new or resampled weights.

    Returns
    -------
    Genome with the same ``n``, ``n_inputs``, ``n_outputs`` and ``dim``.
    """
    _check_genome(genome, "genome")
    _check_rng(rng)
    if not isinstance(params, MutationParams):
        raise TypeError(f"params: expected MutationParams, got {type(params).__name__}")
    if not isinstance(ranges, ParameterRanges):
        raise TypeError(f"ranges: expected ParameterRanges, got {type(ranges).__name__}")
    n = genome.n
    changes = {"sign": np.where(_events(rng, params.sign_flip, n), -genome.sign, genome.sign)}
    for name in NEURON_PARAMS:
        values = getattr(genome, name).copy()
        redraw = _events(rng, params.param_resample, n)
        values[redraw] = ranges.draw(name, int(redraw.sum()), rng)
        changes[name] = values
    for name in ("input_synapses", "recurrent", "output_synapses"):
        changes[name] = _mutate_projection(genome, name, rng, params, ranges)
    unit = genome.rule.length if genome.rule.scaled else 1.0
    return genome.replace(positions=move_positions(genome.positions, rng, params, unit), **changes)


def move_positions(
    positions: np.ndarray, rng: np.random.Generator, params: MutationParams, unit: float = 1.0
) -> np.ndarray:
    """New hidden positions (n, dim) after Gaussian and swap moves; ``positions`` is not written.

    Gaussian: each neuron with probability ``position_rate`` moves by
    ``N(0, (unit position_sigma)**2)`` per axis (drawn only if
    ``position_sigma > 0``); :func:`mutate` passes the calibrated length of a
    scaled rule as ``unit``, so a move is the same fraction of the law's
    length in every dimension (position units otherwise).
    Swap: ``k ~ Binomial(n // 2, position_swap)`` disjoint random pairs
    exchange positions (drawn only if ``position_swap > 0``). Gaussian moves
    come first. Positions in a periodic box are not folded back: every
    distance is minimum-image, so folding would change nothing.
    """
    _check_rng(rng)
    if not isinstance(params, MutationParams):
        raise TypeError(f"params: expected MutationParams, got {type(params).__name__}")
    positions = np.array(positions, dtype=np.float64)
    if positions.ndim != 2:
        raise ValueError(f"positions: expected shape (n, dim), got {positions.shape}")
    n, dim = positions.shape
    if params.position_sigma > 0:
        move = _events(rng, params.position_rate, n)
        positions[move] += rng.normal(0.0, unit * params.position_sigma, (int(move.sum()), dim))
    if params.position_swap > 0 and n >= 2:
        k = int(rng.binomial(n // 2, params.position_swap))
        if k:
            pick = rng.permutation(n)[: 2 * k]
            a, b = pick[:k], pick[k:]
            positions[a], positions[b] = positions[b], positions[a].copy()
    return positions


# --------------------------------------------------------------- crossover
def _outgoing(base: Synapses, other: Synapses, from_other: np.ndarray) -> Synapses:
    """Synapses of ``base`` from units outside ``from_other``, of ``other`` from units in it."""
    mine, theirs = base.take(~from_other[base.pre]), other.take(from_other[other.pre])
    return Synapses(*(np.concatenate([getattr(mine, f), getattr(theirs, f)]) for f in _SYN))


def _mix(base: Genome, other: Genome, swap: np.ndarray, swap_in: np.ndarray) -> Genome:
    """``base`` with hidden neurons ``swap`` and input channels ``swap_in`` taken from ``other``."""
    fields = {f: np.where(swap, getattr(other, f), getattr(base, f)) for f in _PER_NEURON}
    return base.replace(
        **fields,
        positions=np.where(swap[:, None], other.positions, base.positions),
        input_positions=np.where(swap_in[:, None], other.input_positions, base.input_positions),
        input_sign=np.where(swap_in, other.input_sign, base.input_sign),
        input_synapses=_outgoing(base.input_synapses, other.input_synapses, swap_in),
        recurrent=_outgoing(base.recurrent, other.recurrent, swap),
        output_synapses=_outgoing(base.output_synapses, other.output_synapses, swap),
    )


def _random_half(k: int, rng: np.random.Generator) -> np.ndarray:
    """Mask of ``k // 2`` or ``ceil(k / 2)`` units (each with probability 1/2), chosen at random."""
    mask = np.zeros(k, bool)
    mask[rng.permutation(k)[: (k + int(rng.integers(2))) // 2]] = True
    return mask


def crossover(a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
    """Uniform neuron crossover (published): swap a random half of neurons and inputs.

    ``child1`` is ``a`` whose hidden neurons in a random half ``S`` (and input
    channels in a random half ``S_in``) come from ``b``; ``child2`` is ``b``
    whose ``S`` and ``S_in`` come from ``a``. Output positions and the rule come
    from the base parent. Together the children hold every outgoing synapse of
    both parents exactly once.

    Raises
    ------
    ValueError
        If the parents differ in ``(n, n_inputs, n_outputs, dim)``.
    """
    _check_parents(a, b)
    _check_rng(rng)
    swap, swap_in = _random_half(a.n, rng), _random_half(a.n_inputs, rng)
    return _mix(a, b, swap, swap_in), _mix(b, a, swap, swap_in)


def _random_hyperplane(a: Genome, b: Genome, rng: np.random.Generator):
    """Unit normal ``u`` and point ``c`` uniform in the box of both parents' hidden positions."""
    pts = np.concatenate([a.positions, b.positions])
    lo, hi = (pts.min(0), pts.max(0)) if len(pts) else (np.zeros(a.dim), np.zeros(a.dim))
    point = rng.uniform(lo, hi)
    normal = rng.normal(size=a.dim)
    while not np.any(normal):  # probability zero; keeps the normal well defined
        normal = rng.normal(size=a.dim)
    return normal / np.linalg.norm(normal), point


def geometric_crossover(a: Genome, b: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
    """Spatial crossover: a random hyperplane splits the neurons between the parents.

    With a random unit normal ``u`` and a point ``c`` uniform in the bounding
    box of ``a``'s and ``b``'s hidden positions, neuron ``i`` of ``child1``
    comes from ``a`` if ``(a.positions[i] - c) . u >= 0``, else from ``b``
    (parameters, sign, position, outgoing synapses); input channel ``k`` is
    split the same way by ``a.input_positions[k]``. ``child2`` is the
    complement. A plane may miss every neuron; the children are then copies.

    Raises
    ------
    ValueError
        If the parents differ in ``(n, n_inputs, n_outputs, dim)``.
    """
    _check_parents(a, b)
    _check_rng(rng)
    normal, point = _random_hyperplane(a, b, rng)
    swap = (a.positions - point) @ normal < 0
    swap_in = (a.input_positions - point) @ normal < 0
    return _mix(a, b, swap, swap_in), _mix(b, a, swap, swap_in)


# ----------------------------------------------------------------- pruning
def _reachable(n: int, seeds: np.ndarray, pre: np.ndarray, post: np.ndarray) -> np.ndarray:
    """Mask of hidden neurons reachable from ``seeds`` along ``pre -> post`` (seeds included).

    Breadth-first search from a virtual source (node ``n``) wired to the seeds,
    O(n + edges). A self-loop reaches only a neuron already reached.
    """
    seeds = np.unique(seeds)
    rows = np.concatenate([pre, np.full(seeds.size, n)])
    cols = np.concatenate([post, seeds])
    graph = sp.csr_matrix((np.ones(rows.size, np.float32), (rows, cols)), shape=(n + 1, n + 1))
    mask = np.zeros(n + 1, bool)
    mask[breadth_first_order(graph, n, directed=True, return_predecessors=False)] = True
    return mask[:n]


def prune(genome: Genome, keep_tonic: bool = False) -> Genome:
    """Keep only synapses that lie on some source -> ... -> output path.

    A hidden neuron is kept iff it is reachable from a source (forward search
    along input and recurrent synapses) and reaches an output unit (backward
    search). Sources are the input channels, and with ``keep_tonic`` also the
    tonic neurons: those whose resting potential lies above threshold
    (``v_leak > v_th``), which fire without any input and so act as a bias.
    Every synapse touching another neuron is removed (in-, out- and
    self-synapses); the neuron slots stay (see the module docstring). A loop
    inside a connected path, such as ``in -> A -> C <-> E -> B -> out``,
    survives whole.

    With ``keep_tonic = False`` (the published pruning) a tonic neuron without
    input is removed even when it drives an output, which changes the outputs
    of such genomes.
    """
    _check_genome(genome, "genome")
    n, rec = genome.n, genome.recurrent
    ins, outs = genome.input_synapses, genome.output_synapses
    sources = ins.post
    if keep_tonic:
        sources = np.concatenate([sources, np.flatnonzero(genome.v_leak > genome.v_th)])
    keep = _reachable(n, sources, rec.pre, rec.post) & _reachable(n, outs.pre, rec.post, rec.pre)
    return genome.replace(
        input_synapses=ins.take(keep[ins.post]),
        recurrent=rec.take(keep[rec.pre] & keep[rec.post]),
        output_synapses=outs.take(keep[outs.pre]),
    )


def connected_neurons(genome: Genome) -> np.ndarray:
    """Boolean mask ``(n,)`` of hidden neurons that touch at least one synapse."""
    _check_genome(genome, "genome")
    mask = np.zeros(genome.n, bool)
    rec = genome.recurrent
    for idx in (genome.input_synapses.post, rec.pre, rec.post, genome.output_synapses.pre):
        mask[idx] = True
    return mask


def compact(genome: Genome) -> Genome:
    """Drop neuron slots without synapses: same outputs, fewer neurons to simulate.

    The result no longer aligns with the population's slots; use it for
    simulation, not as a parent.
    """
    return genome.select_neurons(connected_neurons(genome))
