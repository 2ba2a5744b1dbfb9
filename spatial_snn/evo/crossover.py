"""Crossover: two parents exchange whole neurons; pure, like every variation operator.

Within one run genomes keep a fixed number of hidden neuron slots, index
aligned between individuals (see :mod:`~spatial_snn.evo.variation`): slot
``i`` of one parent meets slot ``i`` of the other. A hidden neuron carries its
parameters (with its short-term plasticity genes, if plastic), sign, position and outgoing
synapses (recurrent and output); an
input channel carries its sign, position and outgoing input synapses.
:func:`crossover` swaps a random half of them (published),
:func:`geometric_crossover` the ones on one side of a random hyperplane.
"""

from __future__ import annotations

import numpy as np

from ..space.genome import NEURON_PARAMS, STP_PARAMS, Genome, Synapses
from .variation import check_genome, check_rng

_SYN = ("pre", "post", "weight")
_PER_NEURON = (*NEURON_PARAMS, "sign")


def _shape(g: Genome) -> tuple[int, int, int, int]:
    return (g.n, g.n_inputs, g.n_outputs, g.dim)


def _check_parents(a, b) -> None:
    check_genome(a, "a")
    check_genome(b, "b")
    if _shape(a) != _shape(b):
        raise ValueError(
            "crossover: expected parents of equal shape (n, n_inputs, n_outputs, dim), "
            f"got a = {_shape(a)} and b = {_shape(b)}; cross genomes drawn from one GenomeSpec"
        )
    if a.plastic != b.plastic:
        raise ValueError(
            f"crossover: expected parents both plastic or both static, got a.plastic = {a.plastic} and "
            f"b.plastic = {b.plastic}; cross genomes drawn from one GenomeSpec"
        )


def _outgoing(base: Synapses, other: Synapses, from_other: np.ndarray) -> Synapses:
    """Synapses of ``base`` from units outside ``from_other``, of ``other`` from units in it."""
    mine, theirs = base.take(~from_other[base.pre]), other.take(from_other[other.pre])
    return Synapses(*(np.concatenate([getattr(mine, f), getattr(theirs, f)]) for f in _SYN))


def _mix(base: Genome, other: Genome, swap: np.ndarray, swap_in: np.ndarray) -> Genome:
    """``base`` with hidden neurons ``swap`` and input channels ``swap_in`` taken from ``other``."""
    names = (*_PER_NEURON, *STP_PARAMS) if base.plastic else _PER_NEURON
    fields = {f: np.where(swap, getattr(other, f), getattr(base, f)) for f in names}
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
    check_rng(rng)
    swap, swap_in = _random_half(a.n, rng), _random_half(a.n_inputs, rng)
    return _cross_rhythm(_mix(a, b, swap, swap_in), _mix(b, a, swap, swap_in), rng)


def _cross_rhythm(child1: Genome, child2: Genome, rng: np.random.Generator) -> tuple[Genome, Genome]:
    """Uniform crossover of the rhythm genes, drawn last and only when both children carry them.

    The frequency and the coupling are swapped each with probability 1/2, and
    each oscillator's amplitude, phase offset and centre as one unit; the two
    children stay complementary. Without rhythm genes nothing is drawn.
    """
    if child1.rhythm is None or child2.rhythm is None:
        return child1, child2
    m = (len(child1.rhythm) - 2) // 3
    pick = rng.random(2 + m) < 0.5  # f, k, then one per oscillator
    genes = np.concatenate([pick[:2], np.tile(pick[2:], 3)])
    r1 = np.where(genes, child2.rhythm, child1.rhythm)
    r2 = np.where(genes, child1.rhythm, child2.rhythm)
    return child1.replace(rhythm=r1), child2.replace(rhythm=r2)


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
    Raises as :func:`crossover`.
    """
    _check_parents(a, b)
    check_rng(rng)
    normal, point = _random_hyperplane(a, b, rng)
    swap = (a.positions - point) @ normal < 0
    swap_in = (a.input_positions - point) @ normal < 0
    return _cross_rhythm(_mix(a, b, swap, swap_in), _mix(b, a, swap, swap_in), rng)
