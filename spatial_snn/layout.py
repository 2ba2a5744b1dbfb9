"""Where neurons sit and how random genomes are drawn: :class:`GenomeSpec`.

A spec fixes the hidden-neuron count, the embedding dimension, the placement
of neurons (``grid``, ``jittered`` grid or ``uniform`` in the grid's box), the
:class:`~spatial_snn.connectivity.ConnectivityRule`, the ranges of the
initial parameters and the excitatory fraction. Input channels sit on the
face ``x0 = -1`` of the box and output units on the opposite face
``x0 = side`` (a sensor/motor map); the reference rule ignores these
positions (``io_distance = 1``).

Two presets:

* :meth:`GenomeSpec.reference` -- the published method: integer grid
  1x64x1 / 1x8x8 / 4x4x4, ``p = exp(-2 d)`` with self-loops at d = 1,
  input/output edges with probability ``exp(-2)``, weights U(0.1, 127),
  80% excitatory, the published parameter ranges;
* :meth:`GenomeSpec.spatial` -- ours: jittered grid, real input/output
  positions, and a connection length calibrated so that every dimension has
  the same expected mean degree.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, replace

import numpy as np

from .connectivity import ConnectivityRule
from .genome import NEURON_PARAMS, Genome, Synapses
from .sampling import length_for_degree, sample_constant, sample_edges

PLACEMENTS = ("grid", "jittered", "uniform")


@dataclass(frozen=True)
class ParameterRanges:
    """Uniform ranges ``(low, high)`` of initial (and resampled) genes.

    Defaults are the published ones: ``v_th`` U(0.1, 1000), ``v_reset`` = 0,
    ``v_leak`` U(0, 127), ``tau_mem_inv`` and ``tau_syn_inv`` U(10, 1000) 1/s,
    synapse weights U(0.1, 127).
    """

    v_th: tuple[float, float] = (0.1, 1000.0)
    v_reset: tuple[float, float] = (0.0, 0.0)
    v_leak: tuple[float, float] = (0.0, 127.0)
    tau_mem_inv: tuple[float, float] = (10.0, 1000.0)
    tau_syn_inv: tuple[float, float] = (10.0, 1000.0)
    weight: tuple[float, float] = (0.1, 127.0)

    def __post_init__(self):
        for name in (*NEURON_PARAMS, "weight"):
            lo_hi = tuple(float(x) for x in getattr(self, name))
            if len(lo_hi) != 2 or not all(map(math.isfinite, lo_hi)) or lo_hi[0] > lo_hi[1]:
                raise ValueError(f"ParameterRanges.{name}: expected (low, high) with low <= high, got {lo_hi}")
            object.__setattr__(self, name, lo_hi)
        if self.weight[0] <= 0:
            raise ValueError(f"ParameterRanges.weight: expected low > 0, got {self.weight}")
        for name in ("tau_mem_inv", "tau_syn_inv"):
            if getattr(self, name)[0] < 0:
                raise ValueError(f"ParameterRanges.{name}: expected low >= 0 (1/s), got {getattr(self, name)}")

    def draw(self, name: str, size, rng: np.random.Generator) -> np.ndarray:
        lo, hi = getattr(self, name)
        return rng.uniform(lo, hi, size)


@dataclass(frozen=True)
class GenomeSpec:
    """Everything needed to draw random genomes of one shape.

    Parameters
    ----------
    n_hidden : int
        Hidden neurons.
    dim : int
        Embedding dimension, 1..3.
    placement : {"grid", "jittered", "uniform"}
        Integer grid (the published 1x64x1, 1x8x8, 4x4x4 for 64 neurons),
        the grid with each coordinate moved by U(-jitter/2, jitter/2), or
        uniform in the grid's box.
    jitter : float
        Jitter amplitude, in grid spacings.
    rule : ConnectivityRule
    mean_degree : float or None
        If set, ``rule.length`` is replaced by the length that gives the
        grid this expected recurrent out-degree (equal footing across dims).
    ranges : ParameterRanges
    excitatory_fraction : float
        Probability that a neuron (or input channel) is excitatory.
    """

    n_hidden: int = 64
    dim: int = 2
    placement: str = "grid"
    jitter: float = 0.5
    rule: ConnectivityRule = field(default_factory=ConnectivityRule)
    mean_degree: float | None = None
    ranges: ParameterRanges = field(default_factory=ParameterRanges)
    excitatory_fraction: float = 0.8

    def __post_init__(self):
        if int(self.n_hidden) != self.n_hidden or self.n_hidden < 1:
            raise ValueError(f"GenomeSpec.n_hidden: expected an integer >= 1, got {self.n_hidden}")
        if self.dim not in (1, 2, 3):
            raise ValueError(f"GenomeSpec.dim: expected 1, 2 or 3, got {self.dim}")
        if self.placement not in PLACEMENTS:
            raise ValueError(f"GenomeSpec.placement: expected one of {PLACEMENTS}, got {self.placement!r}")
        if not 0.0 <= self.excitatory_fraction <= 1.0:
            raise ValueError(
                f"GenomeSpec.excitatory_fraction: expected a value in [0, 1], got {self.excitatory_fraction}"
            )
        if self.mean_degree is not None and not 0 < self.mean_degree < self.n_hidden:
            raise ValueError(
                f"GenomeSpec.mean_degree: expected None or a value in (0, {self.n_hidden}), got {self.mean_degree}"
            )

    # ------------------------------------------------------------- presets
    @classmethod
    def reference(cls, dim: int = 2, n_hidden: int = 64) -> GenomeSpec:
        """The published network: integer grid, ``exp(-2 d)``, io at distance 1."""
        return cls(n_hidden=n_hidden, dim=dim, placement="grid", rule=ConnectivityRule())

    @classmethod
    def spatial(cls, dim: int = 2, n_hidden: int = 64, mean_degree: float = 4.0) -> GenomeSpec:
        """Ours: jittered grid, real io positions, equal mean degree in every dim."""
        rule = ConnectivityRule(io_distance=None, io_length=1.0, self_distance=None)
        return cls(n_hidden=n_hidden, dim=dim, placement="jittered", rule=rule, mean_degree=mean_degree)

    # ------------------------------------------------------------ geometry
    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Grid sides; the published shapes for 64 neurons (64, 8x8, 4x4x4)."""
        side = math.ceil(round(self.n_hidden ** (1.0 / self.dim), 9))
        return (side,) * self.dim

    def grid(self) -> np.ndarray:
        """The first ``n_hidden`` points of the integer grid, (n, dim) float64."""
        axes = [np.arange(s, dtype=np.float64) for s in self.grid_shape]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        return pts[: self.n_hidden]

    def place(self, rng: np.random.Generator) -> np.ndarray:
        """Hidden positions, (n_hidden, dim)."""
        pts = self.grid()
        if self.placement == "jittered":
            pts = pts + rng.uniform(-0.5, 0.5, pts.shape) * self.jitter
        elif self.placement == "uniform":
            hi = np.asarray(self.grid_shape, np.float64) - 1.0
            pts = rng.uniform(0.0, 1.0, pts.shape) * hi
        return pts

    def face_positions(self, k: int, outputs: bool) -> np.ndarray:
        """``k`` points spread over the face ``x0 = -1`` (inputs) or ``x0 = side`` (outputs)."""
        side = self.grid_shape[0]
        pts = np.zeros((k, self.dim))
        pts[:, 0] = side if outputs else -1.0
        if self.dim >= 2 and k:
            other = np.asarray(self.grid_shape[1:], np.float64) - 1.0
            if self.dim == 2:
                pts[:, 1] = np.linspace(0.0, other[0], k) if k > 1 else other[0] / 2
            else:
                rows = math.ceil(math.sqrt(k))
                cols = math.ceil(k / rows)
                r, c = np.divmod(np.arange(k), cols)
                pts[:, 1] = r / max(rows - 1, 1) * other[0] if rows > 1 else other[0] / 2
                pts[:, 2] = c / max(cols - 1, 1) * other[1] if cols > 1 else other[1] / 2
        return pts

    def resolved_rule(self) -> ConnectivityRule:
        """The rule, with ``length`` calibrated when ``mean_degree`` is set."""
        if self.mean_degree is None:
            return self.rule
        return _calibrated(self.rule, self.n_hidden, self.dim, self.mean_degree)


@functools.lru_cache(maxsize=64)
def _calibrated(rule: ConnectivityRule, n: int, dim: int, degree: float) -> ConnectivityRule:
    grid = GenomeSpec(n_hidden=n, dim=dim).grid()
    return replace(rule, length=length_for_degree(grid, rule, degree))


def random_genome(spec: GenomeSpec, n_inputs: int, n_outputs: int, rng: np.random.Generator) -> Genome:
    """Draw one genome from ``spec`` (all randomness from ``rng``).

    Edges follow the spec's rule: recurrent pairs from a spatial index
    within the cutoff radius; input/output pairs the same way, or at the
    rule's constant ``io_distance`` (reference: probability ``exp(-2)``).
    Weights are drawn from ``spec.ranges.weight``.
    """
    if n_inputs < 1 or n_outputs < 1:
        raise ValueError(f"n_inputs, n_outputs: expected >= 1, got {n_inputs}, {n_outputs}")
    rule = spec.resolved_rule()
    n = spec.n_hidden
    pos = spec.place(rng)
    in_pos = spec.face_positions(n_inputs, outputs=False)
    out_pos = spec.face_positions(n_outputs, outputs=True)
    params = {name: spec.ranges.draw(name, n, rng) for name in NEURON_PARAMS}
    sign = np.where(rng.random(n) < spec.excitatory_fraction, 1, -1)
    input_sign = np.where(rng.random(n_inputs) < spec.excitatory_fraction, 1, -1)

    def draw_synapses(pre, post):
        return Synapses(pre, post, spec.ranges.draw("weight", len(pre), rng))

    recurrent = draw_synapses(*sample_edges(pos, pos, rule, rng, same=True))
    if rule.io_distance is not None:
        p_io = float(rule.probability(rule.io_distance, io=True))
        inputs = draw_synapses(*sample_constant(n_inputs, n, p_io, rng))
        outputs = draw_synapses(*sample_constant(n, n_outputs, p_io, rng))
    else:
        inputs = draw_synapses(*sample_edges(in_pos, pos, rule, rng, io=True))
        outputs = draw_synapses(*sample_edges(pos, out_pos, rule, rng, io=True))
    return Genome(
        positions=pos,
        input_positions=in_pos,
        output_positions=out_pos,
        **params,
        sign=sign,
        input_sign=input_sign,
        input_synapses=inputs,
        recurrent=recurrent,
        output_synapses=outputs,
        rule=rule,
    )
