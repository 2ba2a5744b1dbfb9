"""Pruning: keep only the synapses on some input -> ... -> output path; pure.

Pruning removes *synapses*, never neuron slots: a pruned slot is
disconnected, stays aligned with the population (see
:mod:`~spatial_snn.evo.variation`) and mutation can wire it in again (the
published code keeps its 64x64 matrices the same way). :func:`compact` drops
empty slots for simulation only; its result no longer aligns with the
population.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from scipy.sparse.csgraph import breadth_first_order

from ..space.genome import Genome
from .variation import check_genome


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
    check_genome(genome, "genome")
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
    check_genome(genome, "genome")
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
