"""Where neurons sit and how random genomes are drawn: :class:`GenomeSpec`.

A spec fixes the hidden-neuron count, the embedding dimension, the placement
of neurons (``grid``, ``jittered`` grid or ``uniform`` in the grid's cells),
the :class:`~spatial_snn.space.rules.ConnectivityRule`, the ranges of the
initial parameters and the excitatory fraction.

The grid has spacing 1 and sides ``grid_shape = (s_0, ..., s_{dim-1})``, as
even as possible with ``prod(s) >= n``; points fill it in C order, so only the
last slab along ``x0`` may be partly filled and every placement has density
1 neuron per unit volume. Input channels sit on the face ``x0 = -1`` and
output units on the opposite face ``x0 = s_0``, one unit beyond the last
slab (a sensor/motor map; in 1D all of them sit at the line's ends). The
reference rule ignores these positions (``io_distance = 1``).

Two presets:

* :meth:`GenomeSpec.reference` -- the published method: integer grid
  1x64x1 / 1x8x8 / 4x4x4, ``p = exp(-2 d)`` with self-loops at d = 1,
  input/output edges with probability ``exp(-2)``, weights U(0.1, 127),
  80% excitatory, the published parameter ranges. Its cutoff (1e-12, radius
  13.8) drops under 1e-10 expected edges per 64-neuron genome;
* :meth:`GenomeSpec.spatial` -- ours: uniform placement in a periodic box
  (:meth:`GenomeSpec.uniform_box`, density 1), real input/output positions, scaled laws of shape ``dim``
  (``p = exp(-x)``, strength ``exp(-(x - 1))`` of the reach
  ``x = (d / length) ** dim``, delays ``ceil(x / conduction_speed)``), a
  connection length calibrated so that every dimension has the same expected
  mean degree, and an io length calibrated so that every dimension has the
  same expected input fan-out (by default the reference one,
  ``n_hidden exp(-2)`` synapses per input channel); input channels and
  output units uniform in the box, drawn per genome. In the periodic box every
  neuron, channel and output unit has the same neighbourhood statistics, so
  recurrent degree, input fan-out, output fan-in, strength and delay are
  distributed alike in 1D, 2D and 3D (``Exp(1)`` reach among edges), not only
  equal in the mean; ``tests/test_footing.py`` checks it.

Calibration (``mean_degree``, ``io_degree``) solves for ``rule.length`` and
``rule.io_length`` over the spec's own placement; how, and how exactly, is
said in :mod:`~spatial_snn.space.calibration`, which computes it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from .calibration import calibrated_io_rule, calibrated_rule
from .genome import NEURON_PARAMS, STP_PARAMS, Genome, Synapses
from .rhythm import random_rhythm
from .rules import ConnectivityRule
from .sampling import sample_constant, sample_edges

PLACEMENTS = ("grid", "jittered", "uniform")
#: Cutoff of the reference preset: the published code has none (all pairs).
REFERENCE_CUTOFF = 1e-12
#: Input/output edge probability of the reference layout (``exp(-2)`` at distance 1).
REFERENCE_IO_PROBABILITY = math.exp(-2.0)


@dataclass(frozen=True)
class ParameterRanges:
    """Uniform ranges ``(low, high)`` of initial (and resampled) genes.

    Defaults are the published ones: ``v_th`` U(0.1, 1000), ``v_reset`` = 0,
    ``v_leak`` U(0, 127), ``tau_mem_inv`` and ``tau_syn_inv`` U(10, 1000) 1/s,
    synapse weights U(0.1, 127). Short-term plasticity genes (ours, drawn
    only for a plastic spec): ``stp_use`` U(0.05, 0.95), ``stp_tau_f`` and
    ``stp_tau_d`` U(0.01, 1) s, which span depressing (large ``U``, long
    ``tau_d``) and facilitating (small ``U``, long ``tau_f``) synapses around
    the cortical values of Markram et al. 1998 (``tau_d`` 0.1-0.8 s,
    ``tau_f`` up to ~1 s).
    """

    v_th: tuple[float, float] = (0.1, 1000.0)
    v_reset: tuple[float, float] = (0.0, 0.0)
    v_leak: tuple[float, float] = (0.0, 127.0)
    tau_mem_inv: tuple[float, float] = (10.0, 1000.0)
    tau_syn_inv: tuple[float, float] = (10.0, 1000.0)
    weight: tuple[float, float] = (0.1, 127.0)
    stp_use: tuple[float, float] = (0.05, 0.95)
    stp_tau_f: tuple[float, float] = (0.01, 1.0)
    stp_tau_d: tuple[float, float] = (0.01, 1.0)

    def __post_init__(self):
        for name in (*NEURON_PARAMS, "weight", *STP_PARAMS):
            lo_hi = tuple(float(x) for x in getattr(self, name))
            if len(lo_hi) != 2 or not all(map(math.isfinite, lo_hi)) or lo_hi[0] > lo_hi[1]:
                raise ValueError(f"ParameterRanges.{name}: expected (low, high) with low <= high, got {lo_hi}")
            object.__setattr__(self, name, lo_hi)
        if self.weight[0] <= 0:
            raise ValueError(f"ParameterRanges.weight: expected low > 0, got {self.weight}")
        for name in ("tau_mem_inv", "tau_syn_inv"):
            if getattr(self, name)[0] < 0:
                raise ValueError(f"ParameterRanges.{name}: expected low >= 0 (1/s), got {getattr(self, name)}")
        if not (0 < self.stp_use[0] and self.stp_use[1] <= 1):
            raise ValueError(f"ParameterRanges.stp_use: expected 0 < low <= high <= 1, got {self.stp_use}")
        for name in ("stp_tau_f", "stp_tau_d"):
            if getattr(self, name)[0] <= 0:
                raise ValueError(f"ParameterRanges.{name}: expected low > 0 (s), got {getattr(self, name)}")

    def draw(self, name: str, size, rng: np.random.Generator, dtype=np.float64) -> np.ndarray:
        """``size`` values ``U(low, high)`` of field ``name``.

        float64 draws ``rng.uniform(low, high, size)``; float32 draws
        ``low + (high - low) * rng.random(size, float32)`` (half the memory,
        used for the synapse weights of large genomes).
        """
        lo, hi = getattr(self, name)
        if np.dtype(dtype) == np.float32:
            return np.float32(lo) + np.float32(hi - lo) * rng.random(size, dtype=np.float32)
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
    io_degree : float or None
        If set, ``rule.io_length`` is replaced by the length that gives every
        input channel this expected number of input synapses (averaged over
        the channels; outputs share the law). Needs real io distances
        (``rule.io_distance = None``).
    ranges : ParameterRanges
    excitatory_fraction : float
        Probability that a neuron (or input channel) is excitatory.
    plasticity : bool
        Draw short-term plasticity genes (``ranges.stp_*``): plastic genomes.
    rhythm : int
        Oscillators of the rhythm generator beneath the actions (one per
        action dimension, :mod:`~spatial_snn.space.rhythm`); 0: none (the default).
    """

    n_hidden: int = 64
    dim: int = 2
    placement: str = "grid"
    jitter: float = 0.5
    rule: ConnectivityRule = field(default_factory=ConnectivityRule)
    mean_degree: float | None = None
    io_degree: float | None = None
    ranges: ParameterRanges = field(default_factory=ParameterRanges)
    excitatory_fraction: float = 0.8
    plasticity: bool = False
    rhythm: int = 0

    def __post_init__(self):
        if isinstance(self.rhythm, bool) or int(self.rhythm) != self.rhythm or self.rhythm < 0:
            raise ValueError(f"GenomeSpec.rhythm: expected an integer >= 0 (oscillators), got {self.rhythm!r}")
        if int(self.n_hidden) != self.n_hidden or self.n_hidden < 1:
            raise ValueError(f"GenomeSpec.n_hidden: expected an integer >= 1, got {self.n_hidden}")
        if self.dim not in (1, 2, 3):
            raise ValueError(f"GenomeSpec.dim: expected 1, 2 or 3, got {self.dim}")
        object.__setattr__(self, "n_hidden", int(self.n_hidden))
        object.__setattr__(self, "dim", int(self.dim))
        if self.placement not in PLACEMENTS:
            raise ValueError(f"GenomeSpec.placement: expected one of {PLACEMENTS}, got {self.placement!r}")
        if not (math.isfinite(self.jitter) and self.jitter >= 0):
            raise ValueError(f"GenomeSpec.jitter: expected a finite value >= 0 (grid spacings), got {self.jitter}")
        if not 0.0 <= self.excitatory_fraction <= 1.0:
            raise ValueError(
                f"GenomeSpec.excitatory_fraction: expected a value in [0, 1], got {self.excitatory_fraction}"
            )
        if self.rule.period is not None and len(self.rule.period) != self.dim:
            raise ValueError(
                f"GenomeSpec.rule.period: expected {self.dim} box sides (one per axis), got "
                f"{self.rule.period}; build the spec with GenomeSpec.spatial(dim=...)"
            )
        if self.mean_degree is not None and not 0 < self.mean_degree < self.n_hidden:
            raise ValueError(
                f"GenomeSpec.mean_degree: expected None or a value in (0, {self.n_hidden}), got {self.mean_degree}"
            )
        if self.io_degree is not None:
            if self.rule.io_distance is not None:
                raise ValueError(
                    f"GenomeSpec.io_degree: calibrates io_length at real input/output distances, but "
                    f"rule.io_distance = {self.rule.io_distance} puts every io pair at one distance (the "
                    "reference layout); set rule.io_distance = None or io_degree = None"
                )
            sup = self.n_hidden * self.rule.io_p0
            if not 0 < self.io_degree < sup:
                raise ValueError(
                    f"GenomeSpec.io_degree: expected None or a value in (0, {sup:g}) (n_hidden * rule.io_p0), "
                    f"got {self.io_degree}"
                )

    # ------------------------------------------------------------- presets
    @classmethod
    def reference(cls, dim: int = 2, n_hidden: int = 64) -> GenomeSpec:
        """The published network: integer grid, ``exp(-2 d)``, io at distance 1."""
        rule = ConnectivityRule(cutoff=REFERENCE_CUTOFF)
        return cls(n_hidden=n_hidden, dim=dim, placement="grid", rule=rule)

    @classmethod
    def spatial(
        cls, dim: int = 2, n_hidden: int = 64, mean_degree: float = 4.0, io_degree: float | None = None
    ) -> GenomeSpec:
        """Ours: uniform placement in a periodic box, real io positions, scaled laws of shape ``dim``,
        equal mean degree and input fan-out in every dim.

        ``io_degree`` None gives the reference fan-out ``n_hidden exp(-2)``
        (8.66 for 64 neurons); ``replace(spec, io_degree=None)`` keeps the
        fixed ``rule.io_length`` instead. Strength is ``exp(-(x - 1))`` of the
        reach ``x``: 1 at one calibrated length, as the reference's is 1 at
        one grid spacing; among edges it is ``e U(0, 1)`` (mean 1.36).
        """
        if dim not in (1, 2, 3):
            raise ValueError(f"GenomeSpec.dim: expected 1, 2 or 3, got {dim}")
        box = cls(n_hidden=n_hidden, dim=dim).uniform_box()
        rule = ConnectivityRule(io_distance=None, io_length=1.0, self_distance=None, shape=float(dim),
                                scaled=True, strength_decay=1.0, strength_offset=1.0, period=box)  # fmt: skip
        if io_degree is None:
            io_degree = n_hidden * REFERENCE_IO_PROBABILITY
        return cls(n_hidden=n_hidden, dim=dim, placement="uniform", rule=rule, mean_degree=mean_degree,
                   io_degree=io_degree)  # fmt: skip

    # ------------------------------------------------------------ geometry
    @property
    def grid_shape(self) -> tuple[int, ...]:
        """Grid sides: the published shapes for 64 neurons ((64,), (8, 8), (4, 4, 4)).

        From the last axis down, ``s_k = ceil(m ** (1 / (k + 1)))`` where ``m``
        is the number of points per slab still to place; ``s_0`` takes the
        rest, so ``prod(s) >= n`` and only the last ``x0`` slab is partly
        filled (65 neurons in 3D: (4, 4, 5), not a 5x5x5 box a third empty).
        """
        sides, m = [], self.n_hidden
        for k in range(self.dim - 1, 0, -1):
            side = _root_ceil(m, k + 1)
            sides.append(side)
            m = -(-m // side)
        return (m, *reversed(sides))

    def uniform_box(self) -> tuple[float, ...]:
        """Sides of the box of volume ``n_hidden`` around the grid: ``grid_shape`` with
        ``s_0`` replaced by ``n / prod(s_1..)`` (the ``uniform`` placement's box)."""
        ext = [float(s) for s in self.grid_shape]
        ext[0] = self.n_hidden / float(np.prod(ext[1:]))
        return tuple(ext)

    def grid(self) -> np.ndarray:
        """The first ``n_hidden`` points of the integer grid (C order), (n, dim) float64."""
        axes = [np.arange(s, dtype=np.float64) for s in self.grid_shape]
        pts = np.stack(np.meshgrid(*axes, indexing="ij"), axis=-1).reshape(-1, self.dim)
        return pts[: self.n_hidden]

    def place(self, rng: np.random.Generator) -> np.ndarray:
        """Hidden positions, (n_hidden, dim) float64.

        ``grid``: the grid; ``jittered``: each grid coordinate plus
        ``jitter * U(-1/2, 1/2)``; ``uniform``: i.i.d. uniform in the union of
        the unit cells around the grid points, the box
        ``[-1/2, e_k - 1/2]`` with ``e = grid_shape`` except
        ``e_0 = n / prod(s_1..)`` (density exactly 1, as on the grid),
        numbered in the grid order of the cell each point falls in.
        """
        pts = self.grid()
        if self.placement == "jittered":
            pts = pts + rng.uniform(-0.5, 0.5, pts.shape) * self.jitter
        elif self.placement == "uniform":
            ext = np.asarray(self.uniform_box())
            pts = rng.uniform(0.0, 1.0, pts.shape) * ext - 0.5
            # number neurons in the grid order of their cells: neighbours get nearby
            # indices (cache-friendly gathers in build and the kernels); labels are
            # exchangeable, so the distribution of genomes is unchanged
            cell = np.floor(pts + 0.5).astype(np.int64)
            pts = pts[np.argsort(np.ravel_multi_index(tuple(cell.T), self.grid_shape), kind="stable")]
        return pts

    def face_positions(self, k: int, outputs: bool) -> np.ndarray:
        """``k`` points spread over the face ``x0 = -1`` (inputs) or ``x0 = side`` (outputs).

        In a periodic box (``rule.period``) there is no face: inputs sit on
        the plane ``x0 = s_0 / 4 - 1/2`` and outputs on ``x0 = 3 s_0 / 4 - 1/2``
        (half a box apart), ``k`` points evenly spaced on the periodic plane
        (:func:`random_genome` draws them with :meth:`random_io_positions`
        instead; these serve calibration checks, where in the box any
        position gives the same expected fan-out).
        """
        if self.rule.period is not None:
            return self._periodic_face(k, outputs)
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

    def random_io_positions(self, k: int, rng: np.random.Generator) -> np.ndarray:
        """``k`` input channels or output units uniform in the periodic box, (k, dim) float64.

        In a periodic box of density 1 the reach ``(d / length) ** dim``
        between two uniform points is uniform on ``[0, n / (p0 mean_degree))``
        whatever the dimension, so inputs lie as many hops from outputs in
        1D, 2D and 3D. Planes half a box apart would not: in 1D every input
        would sit 32 grid units (about 64 calibrated lengths at mean degree 1)
        from every output, in 3D 2 units.
        """
        if self.rule.period is None:
            raise ValueError("random_io_positions: expected a spec with a periodic box (rule.period), got None")
        return rng.uniform(0.0, 1.0, (k, self.dim)) * np.asarray(self.rule.period) - 0.5

    def _periodic_face(self, k: int, outputs: bool) -> np.ndarray:
        box = self.rule.period
        pts = np.zeros((k, self.dim))
        pts[:, 0] = box[0] * (0.75 if outputs else 0.25) - 0.5
        if self.dim == 2:
            pts[:, 1] = (np.arange(k) + 0.5) * box[1] / k - 0.5
        elif self.dim == 3:
            rows = math.ceil(math.sqrt(k))
            cols = math.ceil(k / rows)
            r, c = np.divmod(np.arange(k), cols)
            pts[:, 1] = (r + 0.5) * box[1] / rows - 0.5
            pts[:, 2] = (c + 0.5) * box[2] / cols - 0.5
        return pts

    def resolved_rule(self, n_inputs: int | None = None) -> ConnectivityRule:
        """The rule, calibrated (cached): ``length`` if ``mean_degree`` is set, and
        ``io_length`` for ``n_inputs`` input channels if ``io_degree`` is set."""
        if self.io_degree is None:
            return self.rule if self.mean_degree is None else calibrated_rule(self)
        if n_inputs is None or int(n_inputs) != n_inputs or n_inputs < 1:
            raise ValueError(
                f"n_inputs: expected the input channel count (an integer >= 1) to calibrate "
                f"io_length to GenomeSpec.io_degree = {self.io_degree:g}, got {n_inputs}; "
                "call resolved_rule(n_inputs=...)"
            )
        return calibrated_io_rule(self, int(n_inputs))


def _root_ceil(m: int, k: int) -> int:
    """Smallest integer ``s >= 1`` with ``s ** k >= m`` (exact, no float rounding)."""
    s = max(1, round(m ** (1.0 / k)))
    while s**k < m:
        s += 1
    while s > 1 and (s - 1) ** k >= m:
        s -= 1
    return s


def random_genome(spec: GenomeSpec, n_inputs: int, n_outputs: int, rng: np.random.Generator) -> Genome:
    """Draw one genome from ``spec`` (all randomness from ``rng``).

    Edges follow the spec's rule: recurrent pairs from a spatial index
    within the cutoff radius; input/output pairs the same way, or at the
    rule's constant ``io_distance`` (reference: probability ``exp(-2)``).
    Weights are drawn from ``spec.ranges.weight`` (float32). Synapses come
    out sorted by (pre, post). Draw order (fixed, so a seed fixes the
    genome): positions (in a periodic box, then input and output positions,
    uniform in the box), the five parameters, signs, input signs, recurrent
    edges and weights, input edges and weights, output edges and weights,
    then, for a plastic spec only, ``stp_use``, ``stp_tau_f``,
    ``stp_tau_d`` (so a plastic genome is the static genome of the same
    seed plus its plasticity genes), and last the rhythm genes when
    ``spec.rhythm > 0`` (so a spec without either draws exactly what it
    always drew). O(n + synapses) time and memory.
    """
    if n_inputs < 1 or n_outputs < 1:
        raise ValueError(f"n_inputs, n_outputs: expected >= 1, got {n_inputs}, {n_outputs}")
    rule = spec.resolved_rule(n_inputs)
    n = spec.n_hidden
    pos = spec.place(rng)
    if spec.rule.period is not None:  # anywhere in the box: io distances alike in every dimension
        in_pos, out_pos = spec.random_io_positions(n_inputs, rng), spec.random_io_positions(n_outputs, rng)
    else:
        in_pos = spec.face_positions(n_inputs, outputs=False)
        out_pos = spec.face_positions(n_outputs, outputs=True)
    params = {name: spec.ranges.draw(name, n, rng) for name in NEURON_PARAMS}
    sign = np.where(rng.random(n) < spec.excitatory_fraction, 1, -1)
    input_sign = np.where(rng.random(n_inputs) < spec.excitatory_fraction, 1, -1)

    def draw_synapses(pre, post):
        return Synapses(pre, post, spec.ranges.draw("weight", len(pre), rng, np.float32))

    recurrent = draw_synapses(*sample_edges(pos, pos, rule, rng, same=True))
    if rule.io_distance is not None:
        p_io = float(rule.probability(rule.io_distance, io=True))
        inputs = draw_synapses(*sample_constant(n_inputs, n, p_io, rng))
        outputs = draw_synapses(*sample_constant(n, n_outputs, p_io, rng))
    else:
        inputs = draw_synapses(*sample_edges(in_pos, pos, rule, rng, io=True))
        outputs = draw_synapses(*sample_edges(pos, out_pos, rule, rng, io=True))
    if spec.plasticity:
        params.update({name: spec.ranges.draw(name, n, rng) for name in STP_PARAMS})
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
        rhythm=random_rhythm(spec.rhythm, rng) if spec.rhythm else None,
    )
