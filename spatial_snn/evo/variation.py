"""Variation operators, all pure: mutation here, crossover and pruning beside it.

Every operator takes genomes and, where it draws, an explicit
``np.random.Generator``; it never writes into its inputs and returns new
:class:`~spatial_snn.space.genome.Genome` objects.

Within one run genomes keep a fixed number of hidden neuron slots, index
aligned between individuals: slot ``i`` of one parent meets slot ``i`` of the
other in crossover (:mod:`~spatial_snn.evo.crossover`). Pruning
(:mod:`~spatial_snn.evo.pruning`) therefore removes *synapses*, never slots,
and mutation can wire a pruned slot in again.

Mutation, each event independent (defaults are the published rates):

* delete an existing synapse, probability ``edge_delete``;
* resample a surviving synapse's weight ``w ~ U(ranges.weight)``, ``weight_resample``;
* add an absent ``(pre, post)`` pair, ``edge_add`` (uniform, published) or, with
  ``spatial_add``, ``edge_add * p(d) / p0`` under the genome's rule;
* flip a hidden neuron's sign, ``sign_flip``;
* resample each of a neuron's five LIF parameters, ``param_resample``;
* nudge each weight and each LIF parameter that was not resampled,
  ``perturb_rate``, by ``N(0, (perturb_sigma (high - low))**2)``, clipped to
  its range: a small step near the parent, where resampling jumps anywhere in
  the range (off by default; the published GA only resamples);
* move a neuron, ``position_rate``, by ``N(0, position_sigma**2)`` per axis;
* rhythm genes (only a genome that has them, :mod:`~spatial_snn.space.rhythm`):
  each gene with probability ``rhythm_rate`` is nudged by
  ``N(0, (rhythm_sigma (high - low))**2)``, phases wrapped, the rest clipped;
* swap moves: ``Binomial(n // 2, position_swap)`` disjoint pairs of neurons
  exchange their positions (a neuron keeps its parameters and synapse genes
  and takes the other's place: the occupied sites stay the same, so the
  spatial density and the distribution of distances are unchanged, which a
  Gaussian move does not guarantee).

A position move changes nothing but positions: synapse genes stay, and the
effective weights and delays of the synapses touching a moved neuron follow
the new distances through the rule (strength, delay); all other synapses keep
theirs exactly.

Self-adapting mutation strength (``[evolution] adapt_tau > 0``, off by default): the GA
gives each individual a strength ``s`` that multiplies every probability above
(capped at 1) and both sigmas (:meth:`MutationParams.scaled`); a new genome
inherits its parent's ``s`` (a crossover child the geometric mean of its two
parents') times ``exp(adapt_tau * N(0, 1))``, kept within ``[adapt_min, 10]``,
so strengths that make good offspring spread with them (Schwefel's log-normal
self-adaptation, applied to the whole operator instead of one sigma per gene).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ..space.genome import NEURON_PARAMS, STP_PARAMS, Genome, Synapses
from ..space.layout import ParameterRanges
from ..space.rhythm import clip_rhythm, rhythm_bounds
from ..space.rules import ConnectivityRule
from ..space.sampling import sample_pairs
from ..space.settings import check, document, setting

_PROBABILITIES = (
    "edge_delete", "weight_resample", "edge_add", "sign_flip", "param_resample", "perturb_rate", "position_rate",
    "position_swap", "rhythm_rate",
)  # fmt: skip


@document
@dataclass(frozen=True)
class MutationParams:
    """Per-element mutation probabilities (published defaults) and position moves.

    The scenario's ``[mutation]`` table. How strongly each individual mutates
    when strengths self-adapt is a GA setting (``[evolution] adapt_tau``,
    ``adapt_min``: the GA adapts it and scales these with :meth:`scaled`).
    """

    edge_delete: float = setting(
        0.05, "Probability to delete each existing synapse (all three projections).", "probability", low=0, high=1
    )
    weight_resample: float = setting(
        0.10, "Probability to redraw each surviving synapse's weight from its range.", "probability", low=0, high=1
    )
    edge_add: float = setting(0.01, "Probability to add each absent (pre, post) pair.", "probability", low=0, high=1)
    spatial_add: bool = setting(
        False,
        "If true, an absent pair at distance d is added with probability "
        "edge_add * p(d) / p0 under the genome's rule (never beyond the rule's cutoff "
        "radius); if false, uniformly (published).",
    )
    sign_flip: float = setting(0.05, "Probability to flip each hidden neuron's sign.", "probability", low=0, high=1)
    param_resample: float = setting(
        0.10,
        "Probability to redraw each of v_th, v_reset, v_leak, tau_mem_inv, "
        "tau_syn_inv (and, in a plastic network, stp_use, stp_tau_f, stp_tau_d) of "
        "each neuron from its range.",
        "probability",
        low=0,
        high=1,
    )
    perturb_rate: float = setting(
        0.0,
        "Probability to nudge each weight and each neuron parameter that was not "
        "resampled (0 = off, the published GA).",
        "probability",
        low=0,
        high=1,
    )
    perturb_sigma: float = setting(
        0.05,
        "Standard deviation of a nudge as a fraction of the gene's range "
        "high - low (the result is clipped to the range).",
        "fraction of range",
        low=0,
    )
    position_sigma: float = setting(
        0.0,
        "Standard deviation of a position move per axis (0 = off); calibrated "
        "lengths for a genome with a scaled rule (spatial preset).",
        "position units",
        low=0,
    )
    position_rate: float = setting(0.0, "Probability that a neuron moves.", "probability", low=0, high=1)
    position_swap: float = setting(
        0.0,
        "Probability of each of n // 2 swap events: a random pair of neurons "
        "exchanges positions (pairs disjoint within one mutation; 0 = off).",
        "probability",
        low=0,
        high=1,
    )
    rhythm_rate: float = setting(
        0.1, "Probability to nudge each rhythm gene (only with decoder.rhythm = true).", "probability", low=0, high=1
    )
    rhythm_sigma: float = setting(
        0.1, "Standard deviation of a rhythm gene's nudge as a fraction of its range.", "fraction of range", low=0
    )

    def __post_init__(self):
        check(self, "MutationParams")
        if not isinstance(self.spatial_add, bool | np.bool_):
            raise TypeError(f"MutationParams.spatial_add: expected a bool, got {self.spatial_add!r}")

    def scaled(self, strength: float) -> MutationParams:
        """These parameters at mutation strength ``strength``: every probability times it (capped at 1),
        both sigmas times it."""
        if not (math.isfinite(strength) and strength > 0):
            raise ValueError(f"strength: expected a finite value > 0, got {strength!r}")
        return replace(
            self,
            **{name: min(1.0, getattr(self, name) * strength) for name in _PROBABILITIES},
            perturb_sigma=self.perturb_sigma * strength,
            position_sigma=self.position_sigma * strength,
            rhythm_sigma=self.rhythm_sigma * strength,
        )


# ------------------------------------------------------------------ checks
def check_genome(g, name: str) -> None:
    if not isinstance(g, Genome):
        raise TypeError(f"{name}: expected a Genome, got {type(g).__name__}")


def check_rng(rng) -> None:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng: expected np.random.Generator (default_rng(seed)), got {type(rng).__name__}")


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

    Candidates are drawn by :func:`~spatial_snn.space.sampling.sample_pairs` with
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


def _nudge(values: np.ndarray, fixed: np.ndarray, rng, params: MutationParams, lo_hi) -> None:
    """Nudge, in place, each of ``values`` not ``fixed`` with probability ``perturb_rate`` (no draw if 0)."""
    if params.perturb_rate == 0:
        return
    lo, hi = lo_hi
    nudge = _events(rng, params.perturb_rate, values.size) & ~fixed
    step = rng.normal(0.0, params.perturb_sigma * (hi - lo), int(nudge.sum()))
    values[nudge] = np.clip(values[nudge] + step, lo, hi)


def _mutate_projection(genome, name, rng, params: MutationParams, ranges: ParameterRanges):
    syn: Synapses = getattr(genome, name)
    s = len(syn)
    keep = ~_events(rng, params.edge_delete, s)
    redraw = _events(rng, params.weight_resample, s) & keep
    weight = syn.weight.copy()
    weight[redraw] = ranges.draw("weight", int(redraw.sum()), rng)
    _nudge(weight, redraw | ~keep, rng, params, ranges.weight)
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

    Draw order (fixed, so a seed fixes the result): signs, the five parameters
    (resample, nudge), the input, recurrent and output projections (delete,
    resample, nudge, add), positions, and last, for a plastic genome only,
    the three short-term plasticity genes (resample with ``param_resample``,
    nudge, like the five parameters), then the rhythm genes (only for a
    genome that has them). With ``perturb_rate = 0`` nothing is drawn for
    nudges, so the draws are those of the published operators; a static
    genome without a rhythm draws nothing for either.
    Structural events use the parent's positions; moved neurons keep their
    synapse genes, and their effective weights follow the new distances
    through :func:`~spatial_snn.space.connectivity.build`.

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
    check_genome(genome, "genome")
    check_rng(rng)
    if not isinstance(params, MutationParams):
        raise TypeError(f"params: expected MutationParams, got {type(params).__name__}")
    if not isinstance(ranges, ParameterRanges):
        raise TypeError(f"ranges: expected ParameterRanges, got {type(ranges).__name__}")
    changes = {"sign": np.where(_events(rng, params.sign_flip, genome.n), -genome.sign, genome.sign)}
    changes.update(_mutate_params(genome, NEURON_PARAMS, rng, params, ranges))
    for name in ("input_synapses", "recurrent", "output_synapses"):
        changes[name] = _mutate_projection(genome, name, rng, params, ranges)
    unit = genome.rule.length if genome.rule.scaled else 1.0
    changes["positions"] = move_positions(genome.positions, rng, params, unit)
    if genome.plastic:
        changes.update(_mutate_params(genome, STP_PARAMS, rng, params, ranges))
    if genome.rhythm is not None:
        changes["rhythm"] = mutate_rhythm(genome.rhythm, rng, params)
    return genome.replace(**changes)


def _mutate_params(genome: Genome, names, rng, params: MutationParams, ranges: ParameterRanges) -> dict:
    """New arrays of the per-neuron parameters ``names``: each value redrawn from its range with
    probability ``param_resample``, then the others nudged (in this order, parameter by parameter)."""
    out = {}
    for name in names:
        values = getattr(genome, name).copy()
        redraw = _events(rng, params.param_resample, genome.n)
        values[redraw] = ranges.draw(name, int(redraw.sum()), rng)
        _nudge(values, redraw, rng, params, getattr(ranges, name))
        out[name] = values
    return out


def mutate_rhythm(genes: np.ndarray, rng: np.random.Generator, params: MutationParams) -> np.ndarray:
    """New rhythm genes: each nudged with probability ``rhythm_rate`` by
    ``N(0, (rhythm_sigma (high - low))**2)``, then wrapped / clipped to its range; ``genes`` is not written."""
    low, high = rhythm_bounds((len(genes) - 2) // 3)
    hit = _events(rng, params.rhythm_rate, len(genes))
    out = np.array(genes, np.float64)
    out[hit] += rng.normal(0.0, 1.0, int(hit.sum())) * params.rhythm_sigma * (high - low)[hit]
    return clip_rhythm(out)


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
    check_rng(rng)
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
