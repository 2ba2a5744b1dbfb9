"""Equal footing: are the dimensions of a batch compared on the same network statistics?

Comparing dimensions is only fair at the same neuron count and mean
degree: the published grids 1x64x1, 1x8x8 and 4x4x4 differ in mean
distance, so under one rule ``p = exp(-2 d)`` the 3D grid is about three
times as densely connected as the 1D one. The ``spatial`` preset (or any
scenario with ``network.mean_degree``) calibrates the connection length per
dimension so that the expected mean recurrent degree is the same; ``spatial``
also calibrates the io length so that an input channel reaches the same
expected number of neurons (``network.io_degree``). The batch summary reports the
realised mean recurrent degree ``k = E / n`` (``E`` recurrent synapses of
``n`` neurons, self-loops included) of random genomes of each dimension,
their mean neuron-neuron distance, and the expected synapses per input
channel and per output unit.

Before any run, the batch prints the distributions of recurrent degree,
input fan-out, output fan-in, recurrent and io strength and delay of random
genomes per dimension (:mod:`~spatial_snn.space.footing`), and refuses a
calibrated comparison whose distributions differ beyond a tolerance
(``equal_footing=False``, ``--allow-unequal-footing`` on the command line,
runs it anyway).
"""

from __future__ import annotations

import math

import numpy as np

from ..evo.seeding import setup_rng
from ..space.calibration import mean_fan_out
from ..space.connectivity import synapse_distances
from ..space.footing import compare_footing, footing_samples, unequal
from ..space.layout import random_genome
from .scenarios import Scenario

#: Largest relative spread ``(max k - min k) / mean k`` of the realised mean
#: recurrent degree accepted as equal footing.
DEGREE_TOLERANCE = 0.10
#: The same for the expected input synapses per channel (given the positions).
FAN_OUT_TOLERANCE = 0.10
FOOTING_SAMPLES = 64


def _by_dim(dims, values, fmt: str = ".2f") -> str:
    return ", ".join(f"{d}D {v:{fmt}}" for d, v in zip(dims, values, strict=True))


def calibrated(sc: Scenario) -> bool:
    """True when the network's connection length is calibrated to a mean degree."""
    return sc.network.preset == "spatial" or sc.network.mean_degree is not None


def check_footing(sc: Scenario, footing: dict[int, dict]) -> None:
    """Raise ValueError if a calibrated network's footing spreads (``(max - min) / mean``)
    by more than :data:`DEGREE_TOLERANCE` in recurrent degree or, if the io length is
    calibrated, by more than :data:`FAN_OUT_TOLERANCE` in input synapses per channel."""
    dims = sorted(footing)
    checks = []
    if calibrated(sc):
        checks.append(("init_degree", "realised mean recurrent degree", DEGREE_TOLERANCE,
                       "network.mean_degree and the placement"))  # fmt: skip
    if sc.network.spec(dims[0]).io_degree is not None:
        checks.append(("init_input_fan_out", "expected input synapses per channel", FAN_OUT_TOLERANCE,
                       "network.io_degree"))  # fmt: skip
    for key, what, tolerance, knobs in checks:
        values = [footing[d][key] for d in dims]
        spread = (max(values) - min(values)) / max(np.mean(values), 1e-12)
        if spread > tolerance:
            raise ValueError(
                f"equal footing: {what} differs by dimension ({_by_dim(dims, values)}; spread "
                f"{spread:.0%}, expected <= {tolerance:.0%}); check {knobs}, or pass equal_footing=False"
            )
    if calibrated(sc) and all("samples" in footing[d] for d in dims):
        bad = unequal(compare_footing({d: footing[d]["samples"] for d in dims}))
        if bad:
            raise ValueError(
                "equal footing: random genomes differ by dimension in " + "; ".join(bad) + ". Use preset "
                "'spatial' (scaled laws of shape dim in a periodic box), or pass equal_footing=False "
                "(--allow-unequal-footing) to compare anyway"
            )


def network_footing(sc: Scenario, dims, n_inputs: int, n_outputs: int) -> dict[int, dict]:
    """Realised statistics of random genomes per dimension.

    Over :data:`FOOTING_SAMPLES` random genomes of each dimension (fixed seed):
    ``init_degree`` the mean recurrent degree ``E / n``, ``init_distance`` the
    mean distance between two hidden neurons (grid units), ``init_strength``
    the mean strength factor ``exp(-strength_decay (d - strength_offset))`` of
    the recurrent synapses, the mean input and output synapse counts, and
    ``init_input_fan_out`` / ``init_output_fan_in``, the expected synapses per
    input channel / output unit given the drawn positions
    (:func:`~spatial_snn.space.calibration.mean_fan_out`; ``n exp(-2)`` in the
    reference layout), and ``samples``, the distributions of
    :func:`~spatial_snn.space.footing.footing_samples` (from other genomes of
    the same seed).
    """
    from scipy.spatial.distance import pdist

    out = {}
    for dim in dims:
        spec = sc.network.spec(dim)
        rng = setup_rng(dim)
        gs = [random_genome(spec, n_inputs, n_outputs, rng) for _ in range(FOOTING_SAMPLES)]
        samples = footing_samples(spec, n_inputs, n_outputs, FOOTING_SAMPLES, rng)
        strength = np.concatenate([g.rule.strength(synapse_distances(g, "recurrent")) for g in gs])
        out[dim] = {
            "init_degree": float(np.mean([len(g.recurrent) / g.n for g in gs])),
            "init_distance": float(np.mean([pdist(g.positions).mean() if g.n > 1 else 0.0 for g in gs])),
            "init_strength": float(np.mean(strength)) if strength.size else math.nan,
            "init_input_synapses": float(np.mean([len(g.input_synapses) for g in gs])),
            "init_output_synapses": float(np.mean([len(g.output_synapses) for g in gs])),
            "init_input_fan_out": float(np.mean([_expected_fan_out(g, outputs=False) for g in gs])),
            "init_output_fan_in": float(np.mean([_expected_fan_out(g, outputs=True) for g in gs])),
            "samples": samples,
        }
    return out


def _expected_fan_out(genome, outputs: bool) -> float:
    """Expected io synapses per input channel (``outputs``: per output unit) given the positions."""
    rule = genome.rule
    if rule.io_distance is not None:
        return genome.n * float(rule.probability(rule.io_distance, io=True))
    face = genome.output_positions if outputs else genome.input_positions
    return mean_fan_out(face, genome.positions, rule)


def footing_note(sc: Scenario, footing: dict[int, dict]) -> str:
    """One paragraph saying on what footing the dimensions are compared."""
    dims = sorted(footing)
    degrees = _by_dim(dims, [footing[d]["init_degree"] for d in dims])
    dists = _by_dim(dims, [footing[d]["init_distance"] for d in dims])
    n = sc.network.n_hidden
    if calibrated(sc):
        ins = _by_dim(dims, [footing[d]["init_input_fan_out"] for d in dims], ".1f")
        outs = _by_dim(dims, [footing[d]["init_output_fan_in"] for d in dims], ".1f")
        spec = sc.network.spec(dims[0])
        if spec.io_degree is not None:
            io = f"io length calibrated to {spec.io_degree:.3g} synapses per input channel: "
        elif spec.rule.io_distance is not None:
            io = f"every io pair at distance {spec.rule.io_distance:g}: "
        else:
            io = f"io length fixed at {spec.rule.io_length:g}, not calibrated: "
        return (f"Equal footing: {n} hidden neurons in every dimension, connection length calibrated to "
                f"mean degree {sc.network.mean_degree or 4.0:g}; realised mean recurrent degree {degrees} "
                f"(mean neuron distance {dists}); {io}expected synapses per input channel {ins}, "
                f"per output unit {outs} (outputs share the input law).")  # fmt: skip
    return (
        f"Published grids ({sc.network.preset} preset, {n} neurons): the grids differ in mean neuron "
        f"distance ({dists}) and so in mean recurrent degree ({degrees}); dimension is confounded with "
        "connection density. Use preset 'spatial' or set network.mean_degree for equal footing."
    )
