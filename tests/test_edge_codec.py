"""Evolving Connectivity's search space (spatial_snn.evo.edge_codec): candidates, priors, masks, Dale."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_snn.evo.edge_codec import EdgeCodec
from spatial_snn.evo.strategies import ec
from spatial_snn.space.connectivity import build
from spatial_snn.space.layout import GenomeSpec, random_genome


@pytest.fixture(scope="module", params=["spatial", "reference"])
def genome(request):
    spec = GenomeSpec.spatial(dim=2, n_hidden=30) if request.param == "spatial" else GenomeSpec.reference(2, 30)
    return random_genome(spec, 4, 2, np.random.default_rng(0))


def test_template_synapses_are_candidates_and_encode_finds_them(genome):
    codec = EdgeCodec(genome)
    mask = codec.encode()
    assert mask.sum() == genome.n_synapses
    back = codec.decode(mask)
    for name in ("input_synapses", "recurrent", "output_synapses"):
        assert np.array_equal(getattr(back, name).pre, getattr(genome, name).pre)
        assert np.array_equal(getattr(back, name).post, getattr(genome, name).post)


def test_spatial_prior_is_the_distance_law_and_uniform_has_the_same_expected_degree(genome):
    spatial, uniform = EdgeCodec(genome, "spatial"), EdgeCodec(genome, "uniform")
    p_s, p_u = spatial.initial_probabilities(), uniform.initial_probabilities()
    c = spatial.candidates["recurrent"]
    d = np.array([genome.rule.self_distance if a == b else 0.0 for a, b in zip(c.pre, c.post, strict=True)])
    off = c.pre != c.post
    diff = genome.positions[c.pre[off]] - genome.positions[c.post[off]]
    if genome.rule.period is not None:
        diff -= np.asarray(genome.rule.period) * np.round(diff / np.asarray(genome.rule.period))
    d[off] = np.sqrt((diff**2).sum(1))
    np.testing.assert_allclose(p_s[spatial.slices["recurrent"]], genome.rule.probability(d), rtol=1e-6)
    for sl in spatial.slices.values():
        assert np.ptp(p_u[sl]) == 0  # one probability per projection
        assert p_u[sl].sum() == pytest.approx(p_s[sl].sum(), rel=1e-12)
    assert np.ptp(p_s[spatial.slices["recurrent"]]) > 0.1  # the spatial prior does vary with distance


def test_a_mask_decodes_to_exactly_its_edges_with_fixed_weights_and_dale_signs(genome):
    codec = EdgeCodec(genome, weights={"recurrent": 5.0})
    mask = np.random.default_rng(3).random(codec.size) < 0.4
    g = codec.decode(mask)
    assert g.n_synapses == mask.sum()
    assert np.all(g.recurrent.weight == np.float32(5.0))
    assert np.all(g.input_synapses.weight == np.float32(genome.input_synapses.weight.mean()))
    assert np.array_equal(codec.encode(g), mask)
    w = build(g).recurrent.tocoo()
    assert np.all(np.sign(w.data) == g.sign[w.row])  # Dale: the presynaptic neuron's sign
    for name in ("positions", "v_th", "sign", "input_sign"):
        assert np.array_equal(getattr(g, name), getattr(genome, name))


def test_bad_arguments_are_one_clear_error(genome):
    with pytest.raises(ValueError, match="ec.prior"):
        EdgeCodec(genome, "gaussian")
    with pytest.raises(ValueError, match="ec.weights: expected keys"):
        EdgeCodec(genome, weights={"hidden": 1.0})
    with pytest.raises(ValueError, match=r"mask: expected shape"):
        EdgeCodec(genome).decode(np.zeros(3, bool))


def test_ec_over_the_codec_recovers_a_target_network(genome):
    codec = EdgeCodec(genome, "spatial")
    target = codec.encode()  # the template's own edges
    params = ec.Params(population=32)
    state = ec.init(params, codec.initial_probabilities())
    for g in range(80):
        masks, state = ec.ask(state, params, np.random.default_rng([1, g]))
        state = ec.tell(state, params, masks, -np.sum(masks != target, axis=1).astype(float))
    found = codec.decode(ec.most_probable(state))
    assert np.mean(ec.most_probable(state) == target) > 0.98
    assert abs(found.n_synapses - genome.n_synapses) <= 0.05 * genome.n_synapses + 2
