"""MAP-Elites as a ``[search]`` strategy: its settings (``[search.map_elites]``) and the layout descriptors.

The archive and operators are :mod:`.qd_archive`; the runner's side (ask,
tell, the archive record, resume) is :mod:`spatial_snn.runs.quality`.
Layout descriptors are read from a genome (:func:`layout_descriptor`, with
:func:`spatial_modularity`); ``events_per_step``, ``spikes_per_step``,
``gait`` and ``final_xy`` come from the evaluation.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import numpy as np

from ..space.connectivity import wiring_length
from ..space.genome import Genome
from ..space.settings import check, document, setting
from .pruning import connected_neurons

#: The descriptors a scenario may name: four read from the genome (network layout), ``events_per_step`` and
#: ``spikes_per_step`` from the evaluation, ``gait`` (one dimension per foot: the fraction of steps it
#: touches the ground) and ``final_xy`` (two dimensions: the torso's x and y at the episodes' end).
DESCRIPTORS = (
    "wiring_length",
    "spread",
    "synapses",
    "modularity",
    "events_per_step",
    "spikes_per_step",
    "gait",
    "final_xy",
)
#: The descriptors read from the genome alone.
LAYOUT = ("wiring_length", "spread", "synapses", "modularity")
#: Default range of each descriptor when ``low`` / ``high`` are not given (position units, synapses, events).
DEFAULT_RANGE = {
    "wiring_length": (0.0, 2000.0),
    "spread": (0.0, 8.0),
    "synapses": (0.0, 1000.0),
    "events_per_step": (0.0, 2000.0),
    "spikes_per_step": (0.0, 1000.0),
    "gait": (0.0, 1.0),
    "modularity": (-0.5, 1.0),
    "final_xy": (-30.0, 30.0),
}
#: At most this many descriptor dimensions make a grid; more make a CVT archive.
GRID_DIMS = 2
#: The archive's ``origin`` code of a MAP-Elites candidate (beside the GA's ``evolution.ORIGIN`` and a
#: strategy's 5).
MAP_ELITES_ORIGIN = 6


@document
@dataclass(frozen=True)
class MapElitesConfig:
    """MAP-Elites settings: the ``[search.map_elites]`` table (docs/quality-diversity.md).

    Generation 0 is the GA's first generation (the same random genomes);
    every later generation is ``evolution.population`` candidates, each a
    mutant (``[mutation]``) of an elite drawn uniformly from the archive, or
    with probability ``crossover_rate`` a child (``evolution.crossover``) of
    two such elites, then mutated. One or two descriptor dimensions make a
    grid of ``bins`` per dimension; more make a CVT archive of ``cells``.
    """

    descriptors: tuple[str, ...] = setting(
        ("wiring_length", "synapses"),
        "What places a controller in the map: wiring_length (total synapse length), spread (RMS "
        "distance of the wired hidden neurons from their centre), synapses (count), events_per_step "
        "(synaptic events per environment step in its training episodes), spikes_per_step (hidden spikes per "
        "step, likewise), gait (one dimension per "
        "foot: the fraction of steps it touches the ground; gymnasium backend), modularity (Newman's Q of the "
        "undirected recurrent graph, neurons grouped by a modularity_grid grid over the bounding box of "
        "those linked by a recurrent synapse to another neuron), final_xy "
        "(two dimensions: the torso's x and y at the end of the training episodes, averaged; Ant, Humanoid, "
        "spatial_snn/Hexapod; gymnasium backend).",
        factory=lambda: ("wiring_length", "synapses"),
    )
    low: tuple[float, ...] = setting(
        (),
        "Lower end of each descriptor dimension (empty: the descriptors' defaults; final_xy's x and y: -30).",
        factory=tuple,
    )
    high: tuple[float, ...] = setting(
        (),
        "Upper end of each descriptor dimension (empty: the descriptors' defaults; final_xy's x and y: 30).",
        factory=tuple,
    )
    bins: int = setting(
        10, "Grid cells per descriptor dimension (one or two dimensions).", low=1, integer=True, limit=1000
    )
    cells: int = setting(
        256, "Cells of the CVT archive (three or more dimensions).", low=2, integer=True, limit=100_000
    )
    cvt_samples: int = setting(
        20_000,
        "Uniform samples of the descriptor box the CVT centroids are fitted to.",
        low=2,
        integer=True,
        limit=10_000_000,
    )
    cvt_iterations: int = setting(20, "Lloyd iterations fitting the CVT centroids.", low=0, integer=True, limit=10_000)
    modularity_grid: int = setting(
        2,
        "Cells per axis of the grid that groups the neurons for the modularity descriptor, laid over the "
        "bounding box of the neurons linked to another by a recurrent synapse (2 in 2D: four quadrants).",
        low=1,
        integer=True,
        limit=100,
    )
    crossover_rate: float = setting(
        0.5, "Probability that a candidate is a child of two elites before its mutation.", low=0, high=1
    )
    qd_offset: float = setting(
        0.0, "Subtracted from every elite's return in the QD-score (make it the lowest return expected).", "return"
    )
    reevaluate_episodes: int = setting(
        0,
        "Fresh held-out episodes per elite at the end of the run, for the corrected QD-score and coverage (0: none).",
        "episodes",
        low=0,
        integer=True,
        limit=10_000,
    )

    def __post_init__(self):
        object.__setattr__(self, "descriptors", tuple(self.descriptors))
        object.__setattr__(self, "low", tuple(self.low))
        object.__setattr__(self, "high", tuple(self.high))
        if not self.descriptors:
            raise ValueError('map_elites.descriptors: expected at least one, e.g. descriptors = ["gait"]')
        for d in self.descriptors:
            if d not in DESCRIPTORS:
                near = difflib.get_close_matches(str(d), DESCRIPTORS, n=1)
                hint = f"; did you mean {near[0]!r}?" if near else ""
                raise ValueError(f"map_elites.descriptors: expected names from {DESCRIPTORS}, got {d!r}{hint}")
        if len(set(self.descriptors)) != len(self.descriptors):
            raise ValueError(f"map_elites.descriptors: each descriptor once, got {list(self.descriptors)}")
        for name in ("low", "high"):
            bad = [v for v in getattr(self, name) if isinstance(v, bool) or not isinstance(v, int | float)]
            if bad or not all(np.isfinite(getattr(self, name))):
                raise ValueError(f"map_elites.{name}: expected finite numbers, got {list(getattr(self, name))}")
        check(self, "map_elites")

    def ranges(self, dims: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """``(low, high)`` of the descriptor dimensions ``dims`` (e.g. ``["gait", "gait"]`` for two feet)."""
        low = np.array(self.low or [DEFAULT_RANGE[d][0] for d in dims], np.float64)
        high = np.array(self.high or [DEFAULT_RANGE[d][1] for d in dims], np.float64)
        for name, v in (("low", low), ("high", high)):
            if v.size != len(dims):
                raise ValueError(
                    f"map_elites.{name}: expected {len(dims)} values (one per descriptor dimension: "
                    f"{', '.join(dims)}), got {v.size}; give one per dimension or none for the defaults"
                )
        if not np.all(high > low):
            raise ValueError(f"map_elites.high: expected each above low ({low.tolist()}), got {high.tolist()}")
        return low, high


def layout_descriptor(genome: Genome, name: str, grid: int = 2) -> float:
    """A layout descriptor of one genome: ``wiring_length``, ``spread``, ``synapses`` or ``modularity``
    (:func:`spatial_modularity` with ``grid`` cells per axis)."""
    if name == "modularity":
        return spatial_modularity(genome, grid)
    if name == "wiring_length":
        return wiring_length(genome)
    if name == "synapses":
        return float(genome.n_synapses)
    if name == "spread":
        pos = np.asarray(genome.positions, np.float64)[connected_neurons(genome)]
        if len(pos) == 0:
            return 0.0
        return float(np.sqrt(np.mean(np.sum((pos - pos.mean(axis=0)) ** 2, axis=1))))
    raise ValueError(f"descriptor: expected one of {LAYOUT}, got {name!r}")


def spatial_communities(positions: np.ndarray, grid: int) -> np.ndarray:
    """(n,) community of each position: its cell in a ``grid`` per axis grid over the positions' bounding box.

    Cell edges are ``min + k * (max - min) / grid`` per axis; the top edge belongs to the last cell, and an
    axis on which all positions agree is one cell. Cells are numbered row-major.
    """
    pos = np.asarray(positions, np.float64)
    if len(pos) == 0:
        return np.zeros(0, np.int64)
    lo, width = pos.min(axis=0), np.ptp(pos, axis=0)
    scaled = np.divide(pos - lo, width, out=np.zeros_like(pos), where=width > 0)
    cell = np.minimum((scaled * grid).astype(np.int64), grid - 1)
    return np.ravel_multi_index(tuple(cell.T), (grid,) * pos.shape[1])


def spatial_modularity(genome: Genome, grid: int = 2) -> float:
    """Newman's modularity Q of the genome's recurrent graph under the spatial partition.

    The graph: hidden neurons, one unweighted undirected edge ``{i, j}`` for every pair with a recurrent
    synapse ``i -> j`` or ``j -> i`` (both make one edge; autapses and the input and output projections are
    left out; weights and signs ignored). The partition: :func:`spatial_communities` of the neurons that
    have an edge, with ``grid`` cells per axis (no optimisation). With ``m`` edges, ``l_c`` the edges
    inside cell ``c`` and ``d_c`` the sum of the degrees of its neurons::

        Q = sum_c [ l_c / m - (d_c / (2 m))^2 ]

    in [-1/2, 1): high when the recurrent synapses stay inside cells more than a random graph of the same
    degrees would. 0 without an edge. One sort of the synapses (to merge reciprocal pairs), O(S log S).
    """
    rec = genome.recurrent
    pre, post = np.asarray(rec.pre, np.int64), np.asarray(rec.post, np.int64)
    keep = pre != post
    a, b = np.minimum(pre[keep], post[keep]), np.maximum(pre[keep], post[keep])
    edges = np.unique(a * genome.n + b)
    m = len(edges)
    if m == 0:
        return 0.0
    a, b = edges // genome.n, edges % genome.n
    nodes = np.unique(np.concatenate([a, b]))
    community = np.zeros(genome.n, np.int64)  # cells renumbered 0..k-1 over the occupied ones
    community[nodes] = np.unique(spatial_communities(np.asarray(genome.positions)[nodes], grid), return_inverse=True)[1]
    k = int(community.max()) + 1
    inside = np.bincount(community[a][community[a] == community[b]], minlength=k)
    degree = np.bincount(community[a], minlength=k) + np.bincount(community[b], minlength=k)
    return float(np.sum(inside / m - (degree / (2.0 * m)) ** 2))
