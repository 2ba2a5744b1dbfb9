"""Evolving Connectivity's search space: candidate edges with probabilities, fixed weights.

From a template genome (positions, LIF parameters, signs and rule kept) the
codec lists every candidate connection of the three projections, the pairs
the spatial builder would draw from
(:func:`~spatial_snn.space.connectivity.candidate_pairs`, within the cutoff
radius, O(n + candidates); with the rule's constant ``io_distance`` every
input/output pair). A boolean mask over the candidates is a network.

Initial probabilities (``prior``):

* ``"spatial"``: the distance law, ``p_e = p(d_e)`` (the rule's ``p0 exp(-(d /
  length)^shape)``, the io law for input and output pairs): the spatial prior;
* ``"uniform"``: every candidate of a projection at that projection's mean
  ``p(d)``, so each projection has the same expected number of synapses as
  under the spatial prior (equal footing).

Weights are fixed, as in EC: every synapse of a projection carries the same
weight gene (default: the template's mean weight gene of that projection);
its sign is the presynaptic neuron's (Dale, as everywhere in the genome) and
the rule's strength law still scales it with distance, identically under both
priors.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..space.genome import Genome, Synapses
from ..space.sampling import candidate_pairs

PRIORS = ("spatial", "uniform")
_PROJECTIONS = ("input_synapses", "recurrent", "output_synapses")


@dataclass(frozen=True, eq=False)
class Candidates:
    """The candidate edges of one projection: ``pre``, ``post`` (c,) int32 sorted; ``p`` (c,) the law's probability."""

    pre: np.ndarray
    post: np.ndarray
    p: np.ndarray


def projection_candidates(genome: Genome, projection: str) -> Candidates:
    """Candidate edges of one projection of ``genome`` under its rule (O(n + candidates))."""
    rule = genome.rule
    if projection == "recurrent":
        pre, post, p = candidate_pairs(genome.positions, genome.positions, rule, same=True)
    else:
        src = genome.input_positions if projection == "input_synapses" else genome.positions
        dst = genome.positions if projection == "input_synapses" else genome.output_positions
        if rule.io_distance is not None:  # the reference layout: every io pair at one distance
            grid = np.indices((len(src), len(dst))).reshape(2, -1)
            pre, post = grid[0], grid[1]
            p = np.full(pre.size, float(rule.probability(rule.io_distance, io=True)))
        else:
            pre, post, p = candidate_pairs(src, dst, rule, io=True)
    return Candidates(pre.astype(np.int32), post.astype(np.int32), np.asarray(p, np.float64))


class EdgeCodec:
    """Masks over a template's candidate edges <-> genomes.

    Parameters
    ----------
    template : Genome
        Positions, neurons, signs and rule of every decoded genome.
    prior : {"spatial", "uniform"}
    weights : dict or None
        Projection name -> fixed weight gene (> 0); missing projections take
        the template's mean weight gene (1.0 if the template has none).

    Attributes
    ----------
    size : int
        Candidate edges over the three projections (the EC vector length).
    slices : dict
        Projection name -> slice of the vector.
    """

    def __init__(self, template: Genome, prior: str = "spatial", weights: dict | None = None):
        if not isinstance(template, Genome):
            raise TypeError(f"template: expected a Genome, got {type(template).__name__}")
        if prior not in PRIORS:
            raise ValueError(f"ec.prior: expected one of {PRIORS}, got {prior!r}")
        weights = dict(weights or {})
        unknown = set(weights) - set(_PROJECTIONS)
        if unknown:
            raise ValueError(f"ec.weights: expected keys from {_PROJECTIONS}, got {sorted(unknown)}")
        self.template, self.prior = template, prior
        self.candidates: dict[str, Candidates] = {}
        self.weights: dict[str, float] = {}
        self.slices: dict[str, slice] = {}
        start = 0
        for name in _PROJECTIONS:
            c = projection_candidates(template, name)
            self.candidates[name] = c
            syn = getattr(template, name)
            w = float(weights.get(name, syn.weight.mean() if len(syn) else 1.0))
            if not (np.isfinite(w) and w > 0):
                raise ValueError(f"ec.weights.{name}: expected a weight gene > 0, got {w}")
            self.weights[name] = w
            self.slices[name] = slice(start, start + c.pre.size)
            start += c.pre.size
        self.size = start
        if self.size == 0:
            raise ValueError("template: no candidate edges within the rule's radius; EC has nothing to search")

    def initial_probabilities(self) -> np.ndarray:
        """(size,) probabilities under the prior (module docstring)."""
        out = np.empty(self.size)
        for name, sl in self.slices.items():
            p = self.candidates[name].p
            out[sl] = p if self.prior == "spatial" or p.size == 0 else np.full(p.size, p.mean())
        return out

    def expected_synapses(self, p: np.ndarray) -> dict[str, float]:
        """Expected synapse count per projection under probabilities ``p``."""
        return {name: float(np.sum(p[sl])) for name, sl in self.slices.items()}

    def decode(self, mask) -> Genome:
        """The template with exactly the candidate edges of ``mask`` (size,) bool, fixed weights."""
        k = np.asarray(mask)
        if k.shape != (self.size,):
            raise ValueError(f"mask: expected shape ({self.size},) (EdgeCodec.size), got {k.shape}")
        k = k.astype(bool)
        changes = {}
        for name, sl in self.slices.items():
            c, keep = self.candidates[name], k[sl]
            pre, post = c.pre[keep], c.post[keep]
            changes[name] = Synapses(pre, post, np.full(pre.size, self.weights[name], np.float32))
        return self.template.replace(**changes)

    def encode(self, genome: Genome | None = None) -> np.ndarray:
        """(size,) bool: which candidates ``genome`` (default the template) has.

        Synapses that are not candidates (beyond the radius) raise a ValueError.
        """
        genome = self.template if genome is None else genome
        out = np.zeros(self.size, bool)
        for name, sl in self.slices.items():
            c, syn = self.candidates[name], getattr(genome, name)
            n_post = int(max(c.post.max(initial=0), syn.post.max(initial=0))) + 1
            cand = c.pre.astype(np.int64) * n_post + c.post
            have = syn.pre.astype(np.int64) * n_post + syn.post
            at = np.searchsorted(cand, have)
            ok = (
                (at < cand.size) & (cand[np.minimum(at, max(cand.size - 1, 0))] == have)
                if cand.size
                else np.zeros(have.size, bool)
            )
            if not ok.all():
                bad = int(np.flatnonzero(~ok)[0])
                raise ValueError(
                    f"genome.{name}: synapse ({syn.pre[bad]}, {syn.post[bad]}) is not a candidate "
                    "edge of the template (beyond the rule's radius)"
                )
            out[sl][at] = True
        return out

    def decode_all(self, masks) -> list[Genome]:
        """One genome per row of ``masks`` (population, size)."""
        return [self.decode(k) for k in np.asarray(masks)]
