"""A fixed network's continuous genes as one flat vector, for the evolution strategies.

The topology (which synapses exist), the signs and the input/output layout of
a template genome stay fixed; the chosen groups of continuous genes move:

* ``"weights"``: every synapse's weight gene, input, recurrent, output
  projection in that order, range ``ranges.weight``;
* ``"lif"``: each LIF parameter of :data:`NEURON_PARAMS` whose range is not a
  single value (``v_reset`` is 0 in the published ranges), ``n`` genes each,
  in that order;
* ``"positions"``: the hidden neurons' positions, ``n * dim`` genes (row
  major). Only positions move: synapse genes stay, and the effective weights
  and delays follow the new distances through the rule
  (:func:`~spatial_snn.space.connectivity.build`), the laws GA position moves
  keep in force. Connection probabilities do not enter a fixed topology.

The search space is normalised so that one step size fits every gene:
bounded genes map ``[low, high]`` to ``[0, 1]``, ``u = (value - low) / (high
- low)``; positions are divided by the rule's length when the rule is
``scaled`` (the unit of GA position moves), else taken as they are, and are
unbounded (distances in a periodic box are minimum-image anyway). Decoding
keeps a bounded gene in ``[0, 1]`` by clipping or by reflecting at the bounds
(``u -> 2 - u`` above 1, ``-u`` below 0, repeated): ``bounds = "clip" |
"reflect"``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..space.genome import NEURON_PARAMS, Genome, Synapses
from ..space.layout import ParameterRanges

GROUPS = ("weights", "lif", "positions")
BOUNDS = ("clip", "reflect")
_PROJECTIONS = ("input_synapses", "recurrent", "output_synapses")


@dataclass(frozen=True)
class GeneVectorSpec:
    """Which genes move and how bounds are kept.

    groups : tuple of {"weights", "lif", "positions"}
    bounds : {"clip", "reflect"}
    """

    groups: tuple[str, ...] = ("weights",)
    bounds: str = "clip"

    def __post_init__(self):
        groups = tuple(self.groups)
        if not groups or any(g not in GROUPS for g in groups) or len(set(groups)) != len(groups):
            raise ValueError(f"genes.groups: expected distinct names from {GROUPS}, got {self.groups!r}")
        object.__setattr__(self, "groups", tuple(g for g in GROUPS if g in groups))  # one canonical order
        if self.bounds not in BOUNDS:
            raise ValueError(f"genes.bounds: expected one of {BOUNDS}, got {self.bounds!r}")


def reflect(u: np.ndarray) -> np.ndarray:
    """Fold ``u`` into ``[0, 1]`` by mirroring at both bounds (period 2)."""
    t = np.mod(u, 2.0)
    return np.where(t > 1.0, 2.0 - t, t)


class GeneVector:
    """Encode a template genome's moving genes as a vector; decode vectors to genomes.

    Parameters
    ----------
    template : Genome
        The fixed network; every decoded genome is this one with new values.
    spec : GeneVectorSpec
    ranges : ParameterRanges
        Bounds of the weights and LIF parameters; every template value must
        lie inside (a ValueError names the first that does not).

    Attributes
    ----------
    size : int
        Genes in the vector.
    slices : dict
        Field name -> slice of the vector it occupies.
    """

    def __init__(self, template: Genome, spec: GeneVectorSpec, ranges: ParameterRanges):
        if not isinstance(template, Genome):
            raise TypeError(f"template: expected a Genome, got {type(template).__name__}")
        self.template, self.spec, self.ranges = template, spec, ranges
        self.unit = template.rule.length if template.rule.scaled else 1.0
        fields: list[tuple[str, int, tuple[float, float] | None]] = []
        if "weights" in spec.groups:
            fields += [(p, len(getattr(template, p)), ranges.weight) for p in _PROJECTIONS]
        if "lif" in spec.groups:
            fields += [
                (p, template.n, getattr(ranges, p))
                for p in NEURON_PARAMS
                if getattr(ranges, p)[1] > getattr(ranges, p)[0]
            ]
        if "positions" in spec.groups:
            fields.append(("positions", template.n * template.dim, None))
        self.slices: dict[str, slice] = {}
        self._bounds: dict[str, tuple[float, float] | None] = {}
        start = 0
        for name, size, lo_hi in fields:
            self.slices[name] = slice(start, start + size)
            self._bounds[name] = lo_hi
            start += size
        self.size = start
        if self.size == 0:
            raise ValueError(f"genes.groups {spec.groups}: the template has no such genes to move")

    def _values(self, genome: Genome, name: str) -> np.ndarray:
        if name in _PROJECTIONS:
            return getattr(genome, name).weight.astype(np.float64)
        return np.asarray(getattr(genome, name), np.float64).reshape(-1)

    def encode(self, genome: Genome | None = None) -> np.ndarray:
        """The (size,) vector of ``genome`` (default the template), normalised."""
        genome = self.template if genome is None else genome
        x = np.empty(self.size)
        for name, sl in self.slices.items():
            v = self._values(genome, name)
            if v.size != sl.stop - sl.start:
                raise ValueError(f"genome.{name}: expected {sl.stop - sl.start} genes (the template's), got {v.size}")
            lo_hi = self._bounds[name]
            if lo_hi is None:
                x[sl] = v / self.unit
                continue
            lo, hi = lo_hi
            outside = (v < lo) | (v > hi)
            if outside.any():
                at = int(np.flatnonzero(outside)[0])
                raise ValueError(
                    f"genome.{name}: expected values in the range [{lo}, {hi}], got {v[at]} "
                    f"at index {at}; widen ranges.{'weight' if name in _PROJECTIONS else name}"
                )
            x[sl] = (v - lo) / (hi - lo)
        return x

    def bounded(self, x: np.ndarray) -> np.ndarray:
        """``x`` with every bounded gene folded into ``[0, 1]`` (clip or reflect); a new array."""
        x = np.array(x, dtype=np.float64)
        for name, sl in self.slices.items():
            if self._bounds[name] is not None:
                x[sl] = np.clip(x[sl], 0.0, 1.0) if self.spec.bounds == "clip" else reflect(x[sl])
        return x

    def decode(self, x) -> Genome:
        """The template with the genes of vector ``x`` (bounds kept), validated as a Genome."""
        x = np.asarray(x, np.float64)
        if x.shape != (self.size,):
            raise ValueError(f"x: expected shape ({self.size},) (GeneVector.size), got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x: expected finite genes; the strategy diverged (lower its step size)")
        x = self.bounded(x)
        g, changes = self.template, {}
        for name, sl in self.slices.items():
            lo_hi = self._bounds[name]
            if lo_hi is None:
                changes[name] = (x[sl] * self.unit).reshape(g.n, g.dim)
                continue
            lo, hi = lo_hi
            v = lo + (hi - lo) * x[sl]
            if name in _PROJECTIONS:
                syn = getattr(g, name)
                # float32 rounding may not leave (0, high]: weight genes must stay > 0
                changes[name] = Synapses(syn.pre, syn.post, np.maximum(v.astype(np.float32), np.float32(lo)))
            else:
                changes[name] = v
        return g.replace(**changes)

    def decode_all(self, xs: Sequence) -> list[Genome]:
        """One genome per row of ``xs`` (population, size)."""
        return [self.decode(x) for x in np.asarray(xs, np.float64)]
