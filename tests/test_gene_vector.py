"""The gene vector of a fixed network (spatial_snn.evo.gene_vector): round trips, bounds, distance laws."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_snn.evo.gene_vector import GeneVector, GeneVectorSpec, reflect
from spatial_snn.space.connectivity import build
from spatial_snn.space.layout import GenomeSpec, ParameterRanges, random_genome

RANGES = ParameterRanges()


@pytest.fixture(scope="module")
def genome():
    return random_genome(GenomeSpec.spatial(dim=2, n_hidden=24), 4, 2, np.random.default_rng(0))


def test_vector_lists_weights_then_lif_then_positions_whatever_the_order_asked(genome):
    codec = GeneVector(genome, GeneVectorSpec(("positions", "weights", "lif")), RANGES)
    s = genome.n_synapses
    assert list(codec.slices) == [
        "input_synapses",
        "recurrent",
        "output_synapses",
        "v_th",
        "v_leak",
        "tau_mem_inv",
        "tau_syn_inv",
        "positions",
    ]  # v_reset: fixed 0
    assert codec.size == s + 4 * genome.n + genome.n * genome.dim


def test_encode_then_decode_gives_back_the_template(genome):
    codec = GeneVector(genome, GeneVectorSpec(("weights", "lif", "positions")), RANGES)
    x = codec.encode()
    assert np.all((x[: codec.slices["positions"].start] >= 0) & (x[: codec.slices["positions"].start] <= 1))
    back = codec.decode(x)
    for proj in ("input_synapses", "recurrent", "output_synapses"):
        assert np.array_equal(getattr(back, proj).weight, getattr(genome, proj).weight)
        assert np.array_equal(getattr(back, proj).pre, getattr(genome, proj).pre)
    for name in ("v_th", "v_leak", "tau_mem_inv", "tau_syn_inv", "positions"):
        np.testing.assert_allclose(getattr(back, name), getattr(genome, name), rtol=1e-13, atol=1e-13)
    assert np.array_equal(back.sign, genome.sign) and back.rule == genome.rule


@pytest.mark.parametrize("bounds", ["clip", "reflect"])
def test_decoded_genes_stay_in_their_ranges(genome, bounds):
    codec = GeneVector(genome, GeneVectorSpec(("weights", "lif"), bounds), RANGES)
    x = codec.encode() + np.random.default_rng(1).normal(0, 2.0, codec.size)
    g = codec.decode(x)
    w = g.recurrent.weight
    assert w.min() >= RANGES.weight[0] and w.max() <= RANGES.weight[1]
    assert g.v_th.min() >= RANGES.v_th[0] and g.v_th.max() <= RANGES.v_th[1]
    assert np.array_equal(g.v_reset, genome.v_reset)
    if bounds == "clip":
        assert np.sum(w == np.float32(RANGES.weight[1])) > 0  # pushed out, held at the bound
    assert not np.array_equal(w, genome.recurrent.weight)


def test_reflect_mirrors_at_both_bounds():
    np.testing.assert_allclose(
        reflect(np.array([0.3, 1.2, -0.3, 2.5, -1.25, 1.0, 0.0])), [0.3, 0.8, 0.3, 0.5, 0.75, 1.0, 0.0]
    )


def test_moving_positions_keeps_the_distance_laws_in_force(genome):
    codec = GeneVector(genome, GeneVectorSpec(("positions",)), RANGES)
    x = codec.encode() + np.random.default_rng(2).normal(0, 0.3, codec.size)
    moved = codec.decode(x)
    assert not np.allclose(moved.positions, genome.positions)
    np.testing.assert_allclose(moved.positions, x.reshape(genome.n, genome.dim) * genome.rule.length)
    conn = build(moved)
    rule, syn = moved.rule, moved.recurrent
    diff = moved.positions[syn.pre] - moved.positions[syn.post]
    diff -= np.asarray(rule.period) * np.round(diff / np.asarray(rule.period))
    d = np.sqrt((diff**2).sum(1))
    want = syn.weight * rule.strength(d) * moved.sign[syn.pre]  # strength of the NEW distance, sign of pre
    order = np.lexsort((syn.post, syn.pre))
    np.testing.assert_allclose(conn.recurrent.data, want[order], rtol=1e-5)
    assert np.array_equal(syn.pre, genome.recurrent.pre)  # the topology is fixed


def test_out_of_range_template_and_wrong_shapes_are_one_clear_error(genome):
    narrow = ParameterRanges(weight=(0.1, 1.0))
    with pytest.raises(ValueError, match=r"genome.input_synapses: expected values in the range .* widen ranges.weight"):
        GeneVector(genome, GeneVectorSpec(("weights",)), narrow).encode()
    codec = GeneVector(genome, GeneVectorSpec(("lif",)), RANGES)
    with pytest.raises(ValueError, match=r"x: expected shape \(96,\)"):
        codec.decode(np.zeros(5))
    with pytest.raises(ValueError, match="genes.groups"):
        GeneVectorSpec(("weights", "delays"))
    with pytest.raises(ValueError, match="genes.bounds"):
        GeneVectorSpec(("weights",), "wrap")
