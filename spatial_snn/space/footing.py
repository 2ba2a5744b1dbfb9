"""Footing: what random genomes of one spec look like, to compare embedding dimensions.

Two specs are on equal footing when their random genomes have the same
distributions of

* ``recurrent_degree``: recurrent out-degree of each hidden neuron;
* ``input_fan_out``: input synapses of each input channel;
* ``output_fan_in``: output synapses of each output unit;
* ``recurrent_strength``, ``io_strength``: the strength factor
  ``rule.strength(d)`` of each recurrent and each input/output synapse;
* ``delay``: the delay of each recurrent synapse, sub-steps.

:func:`footing_samples` draws these from random genomes;
:func:`compare_footing` measures, per quantity, the relative spread of the
means over dimensions ``(max - min) / mean`` and the largest pairwise
two-sample Kolmogorov-Smirnov distance with its p-value; :func:`unequal`
names the quantities whose difference is both material (means or KS
distance beyond a tolerance) and not sampling noise (KS p-value below
``alpha``).
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.stats import ks_2samp

from .connectivity import synapse_distances
from .layout import GenomeSpec, random_genome

QUANTITIES = ("recurrent_degree", "input_fan_out", "output_fan_in", "recurrent_strength", "io_strength", "delay")
#: Largest accepted relative spread of the means over dimensions.
MEAN_TOLERANCE = 0.10
#: Largest accepted two-sample KS distance between two dimensions.
KS_TOLERANCE = 0.10
#: A KS distance above tolerance counts only if its p-value is below this (not sampling noise).
ALPHA = 1e-3


def footing_samples(
    spec: GenomeSpec, n_inputs: int, n_outputs: int, genomes: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """The :data:`QUANTITIES` of ``genomes`` random genomes of ``spec``, pooled, float64 arrays."""
    if int(genomes) != genomes or genomes < 1:
        raise ValueError(f"genomes: expected an integer >= 1, got {genomes}")
    parts = {q: [] for q in QUANTITIES}
    for _ in range(int(genomes)):
        g = random_genome(spec, n_inputs, n_outputs, rng)
        rule = g.rule
        d_rec = synapse_distances(g, "recurrent")
        d_io = np.concatenate([synapse_distances(g, "input_synapses"), synapse_distances(g, "output_synapses")])
        parts["recurrent_degree"].append(np.bincount(g.recurrent.pre, minlength=g.n))
        parts["input_fan_out"].append(np.bincount(g.input_synapses.pre, minlength=g.n_inputs))
        parts["output_fan_in"].append(np.bincount(g.output_synapses.post, minlength=g.n_outputs))
        parts["recurrent_strength"].append(rule.strength(d_rec))
        parts["io_strength"].append(rule.strength(d_io, io=True))
        parts["delay"].append(rule.delay(d_rec))
    return {q: np.concatenate(v).astype(np.float64) for q, v in parts.items()}


def compare_footing(samples: dict[int, dict[str, np.ndarray]]) -> dict[str, dict]:
    """Per quantity: ``means`` by dim, ``spread`` of the means, and the worst pair's ``ks`` and ``p``.

    ``samples`` maps each dimension to :func:`footing_samples`' output. The
    spread is ``(max - min) / mean`` of the means (0 for one dimension); the
    KS distance and p-value are those of the pair of dimensions with the
    largest distance (0 and 1 when every pair is identical or empty).
    """
    dims = sorted(samples)
    out = {}
    for q in QUANTITIES:
        means = {d: float(np.mean(samples[d][q])) if samples[d][q].size else float("nan") for d in dims}
        vals = [m for m in means.values() if np.isfinite(m)]
        centre = float(np.mean(vals)) if vals else float("nan")
        spread = (max(vals) - min(vals)) / abs(centre) if len(vals) > 1 and centre else 0.0
        ks, p, pair = 0.0, 1.0, None
        for a, b in itertools.combinations(dims, 2):
            x, y = samples[a][q], samples[b][q]
            if x.size and y.size:
                res = ks_2samp(x, y)
                if res.statistic > ks:
                    ks, p, pair = float(res.statistic), float(res.pvalue), (a, b)
        out[q] = {"means": means, "spread": spread, "ks": ks, "p": p, "pair": pair}
    return out


def unequal(comparison: dict[str, dict], mean_tolerance: float = MEAN_TOLERANCE,
            ks_tolerance: float = KS_TOLERANCE, alpha: float = ALPHA) -> list[str]:  # fmt: skip
    """Descriptions of the quantities not on equal footing (empty list: equal footing).

    A quantity differs if the distributions of two dimensions differ beyond
    sampling noise (the largest pairwise KS distance has a p-value below
    ``alpha``) and materially: the means spread by more than
    ``mean_tolerance`` or the KS distance exceeds ``ks_tolerance``.
    """
    bad = []
    for q, c in comparison.items():
        means = ", ".join(f"{d}D {m:.3g}" for d, m in c["means"].items())
        if c["p"] >= alpha:
            continue
        if c["spread"] > mean_tolerance:
            bad.append(f"{q}: means {means} spread {c['spread']:.0%} (expected <= {mean_tolerance:.0%}), "
                       f"KS p = {c['p']:.1e}")  # fmt: skip
        elif c["ks"] > ks_tolerance:
            a, b = c["pair"]
            bad.append(f"{q}: {a}D vs {b}D distributions differ, KS distance {c['ks']:.2f} "
                       f"(expected <= {ks_tolerance:.2f}), p = {c['p']:.1e}; means {means}")  # fmt: skip
    return bad


def format_footing(samples: dict[int, dict[str, np.ndarray]]) -> str:
    """A text table: per quantity and dimension, mean and the 10/50/90 % quantiles."""
    head = f"{'quantity':<19} {'dim':>3} {'n':>7} {'mean':>9} {'p10':>9} {'p50':>9} {'p90':>9}"
    lines = [head, "-" * len(head)]
    for q in QUANTITIES:
        for d in sorted(samples):
            x = samples[d][q]
            if x.size:
                p10, p50, p90 = np.quantile(x, (0.1, 0.5, 0.9))
                lines.append(f"{q:<19} {d:>2}D {x.size:>7} {x.mean():>9.3g} {p10:>9.3g} {p50:>9.3g} {p90:>9.3g}")
            else:
                lines.append(f"{q:<19} {d:>2}D {0:>7} {'-':>9} {'-':>9} {'-':>9} {'-':>9}")
    return "\n".join(lines)
