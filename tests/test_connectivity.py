"""Distance rules, spatial-index sampling and genome -> CSR."""

import math
import tracemalloc

import numpy as np
import pytest
from scipy.spatial import cKDTree

from spatial_snn import Genome, GenomeSpec
from spatial_snn.space import sampling
from spatial_snn.space.connectivity import build, synapse_distances
from spatial_snn.space.genome import Synapses
from spatial_snn.space.layout import random_genome
from spatial_snn.space.rules import ConnectivityRule
from spatial_snn.space.sampling import sample_edges, sample_pairs


def brute_pairs(pos, r):
    d = np.linalg.norm(pos[:, None, :] - pos[None, :, :], axis=-1)
    i, j = np.nonzero(np.triu(d <= r, k=1))
    return set(zip(i.tolist(), j.tolist(), strict=True)), d


@pytest.mark.parametrize(
    "points",
    ["uniform 3D", "uniform 1D", "grid 2D (ties in x)", "all x equal", "duplicate points"],
)
def test_pairs_within_enumerates_every_pair_in_radius_exactly_once(points, monkeypatch):
    rng = np.random.default_rng(3)
    pos = {
        "uniform 3D": rng.uniform(0, 6, (300, 3)),
        "uniform 1D": rng.uniform(0, 40, (200, 1)),
        "grid 2D (ties in x)": GenomeSpec(n_hidden=180, dim=2).grid(),
        "all x equal": np.column_stack([np.zeros(150), rng.uniform(0, 10, 150)]),
        "duplicate points": np.repeat(rng.uniform(0, 4, (60, 2)), 3, axis=0),
    }[points]
    monkeypatch.setattr(sampling, "_CHUNK_PAIRS", 200)  # many small chunks
    r = 1.7
    order, chunks = sampling.pairs_within(pos, r)
    found = []
    for i, j, d in chunks:
        a, b = order[i], order[j]
        found += list(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))
        np.testing.assert_allclose(d, np.linalg.norm(pos[a] - pos[b], axis=1), atol=1e-5)
    expected, _ = brute_pairs(pos, r)
    assert len(found) == len(set(found)), "a pair was enumerated twice"
    assert set(found) == expected


def test_sample_edges_is_deterministic_sorted_unique_and_chunk_independent_in_distribution(monkeypatch):
    rng_pos = np.random.default_rng(0)
    pos = rng_pos.uniform(0, 10, (500, 2))
    rule = ConnectivityRule(length=1.0, self_distance=1.0)
    a = sample_edges(pos, pos, rule, np.random.default_rng(7), same=True)
    b = sample_edges(pos, pos, rule, np.random.default_rng(7), same=True)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    pre, post = a
    assert pre.dtype == post.dtype == np.int32
    key = pre.astype(np.int64) * 500 + post
    assert np.all(np.diff(key) > 0), "edges must be sorted by (pre, post) and unique"
    assert np.any(pre == post), "self-loops at self_distance = 1 expected"
    monkeypatch.setattr(sampling, "_CHUNK_PAIRS", 300)
    pre2, _ = sample_edges(pos, pos, rule, np.random.default_rng(7), same=True)
    assert abs(pre2.size - pre.size) < 6 * math.sqrt(pre.size)


def test_sample_pairs_returns_int64_indices_and_true_distances():
    pos = np.random.default_rng(1).uniform(0, 5, (200, 3))
    rule = ConnectivityRule(length=0.8, self_distance=1.0)
    pre, post, d = sample_pairs(pos, pos, rule, np.random.default_rng(2), same=True)
    assert pre.dtype == post.dtype == np.int64 and d.dtype == np.float64
    true = np.linalg.norm(pos[pre] - pos[post], axis=1)
    np.testing.assert_allclose(d[pre != post], true[pre != post])
    np.testing.assert_array_equal(d[pre == post], 1.0)


def expected_fraction(rule, lo, hi, dim):
    """Mean of p(d) over a thin shell, pairs weighted by d**(dim - 1) (uniform points)."""
    d = np.linspace(lo, hi, 41)
    w = d ** (dim - 1)
    return float(np.sum(rule.probability(d) * w) / np.sum(w))


@pytest.mark.parametrize(
    "dim, rule",
    [
        (3, ConnectivityRule(length=2.1, shape=2.0, io_distance=None, self_distance=None)),
        (2, ConnectivityRule(p0=0.5, length=1.5, shape=1.0, io_distance=None, self_distance=None)),
    ],
    ids=["3D gaussian", "2D exponential p0=0.5"],
)
@pytest.mark.parametrize("n", [5_000, pytest.param(20_000, marks=pytest.mark.slow)])
def test_edge_fraction_follows_rule_probability_by_distance(dim, rule, n):
    spec = GenomeSpec(n_hidden=n, dim=dim, placement="uniform", rule=rule)
    g = random_genome(spec, 2, 2, np.random.default_rng(11))
    r = rule.radius()
    d_edges = synapse_distances(g, "recurrent")
    assert d_edges.max() <= r, "an edge beyond the cutoff radius"
    assert d_edges.min() > 0, "no self-loops with self_distance=None"

    edges = np.linspace(0.0, r, 61)
    tree = cKDTree(g.positions)
    within = tree.count_neighbors(tree, edges).astype(np.float64) - n  # ordered pairs, no self
    candidates = np.diff(within)
    hits = np.histogram(d_edges, bins=edges)[0]
    p = np.array([expected_fraction(rule, lo, hi, dim) for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
    ok = candidates * p * (1 - p) > 25  # bins with enough trials for the normal approximation
    z = (hits - candidates * p)[ok] / np.sqrt(candidates * p * (1 - p))[ok]
    assert ok.sum() > 30  # enough well-populated bins (the radius reaches where p is tiny)
    assert np.max(np.abs(z)) < 4.5, f"max |z| = {np.max(np.abs(z)):.1f}"
    total_z = (hits.sum() - np.sum(candidates * p)) / math.sqrt(np.sum(candidates * p * (1 - p)))
    assert abs(total_z) < 4.5


def _peak_bytes_of_random_genome_and_build(n: int):
    """(peak traced bytes, connectivity) of drawing and building a 3D genome of ``n`` neurons, ~45 synapses each."""
    rule = ConnectivityRule(length=2.1, shape=2.0, io_distance=None, self_distance=None)
    spec = GenomeSpec(n_hidden=n, dim=3, placement="uniform", rule=rule)
    tracemalloc.start()
    try:
        g = random_genome(spec, 17, 6, np.random.default_rng(0))
        c = build(g)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 40 * n < c.recurrent.nnz < 55 * n
    return peak, c


@pytest.mark.slow
def test_building_50k_neurons_uses_far_less_than_a_dense_matrix():
    n = 50_000
    peak, _ = _peak_bytes_of_random_genome_and_build(n)
    dense_bytes = 8 * n * n  # 20 GB
    assert peak < 0.02 * dense_bytes, f"peak {peak / 1e6:.0f} MB"


def test_build_memory_grows_linearly_not_quadratically_with_the_neuron_count():
    """The quick twin of the 50k test: doubling n must not quadruple the peak (a dense step would)."""
    small, _ = _peak_bytes_of_random_genome_and_build(4_000)
    large, _ = _peak_bytes_of_random_genome_and_build(8_000)
    assert large / small < 3.0, f"peak {small / 1e6:.0f} MB -> {large / 1e6:.0f} MB when n doubles"


def test_dale_law_every_row_shares_its_presynaptic_sign():
    spec = GenomeSpec.spatial(dim=2, n_hidden=300, mean_degree=8.0)
    g = random_genome(spec, 20, 4, np.random.default_rng(4))
    assert (g.sign < 0).any() and (g.input_sign < 0).any()
    c = build(g)
    for m, sign, name in (
        (c.recurrent, g.sign, "recurrent"),
        (c.output, g.sign, "output"),
        (c.input, g.input_sign, "input"),
    ):
        assert m.nnz > 0, name
        row_sign = np.repeat(sign, np.diff(m.indptr))
        assert np.all(np.sign(m.data) == row_sign), name


def hand_genome(synapse_order=None):
    """5 hidden neurons in 2D with hand-computable distances."""
    positions = np.array([[0.0, 0.0], [3.0, 4.0], [1.0, 0.0], [10.0, 0.0], [1.2, 0.0]])
    rec = [(0, 1, 2.0), (1, 2, 3.0), (0, 2, 4.0), (2, 2, 5.0), (0, 3, 6.0), (2, 4, 7.0)]
    if synapse_order is not None:
        rec = [rec[k] for k in synapse_order]
    pre, post, w = zip(*rec, strict=True)
    rule = ConnectivityRule(
        strength_decay=2.0, strength_offset=1.0, conduction_speed=2.0, max_delay=3, self_distance=1.0, io_distance=None
    )
    return Genome(
        positions=positions,
        input_positions=np.array([[-1.0, 0.0]]),
        output_positions=np.array([[4.0, 4.0]]),
        v_th=np.ones(5),
        v_reset=np.zeros(5),
        v_leak=np.zeros(5),
        tau_mem_inv=np.ones(5),
        tau_syn_inv=np.ones(5),
        sign=np.array([1, -1, 1, 1, 1]),
        input_sign=np.array([-1]),
        input_synapses=Synapses([0], [0], [1.5]),
        recurrent=Synapses(pre, post, w),
        output_synapses=Synapses([1], [0], [2.5]),
        rule=rule,
    )


# (pre, post): (effective weight, delay), by hand: w * exp(-2 (d - 1)) * sign[pre],
# delay = clip(ceil(d / 2), 1, 3)
HAND = {
    (0, 1): (2.0 * math.exp(-8.0), 3),  # d = 5, ceil(2.5) = 3
    (1, 2): (-3.0 * math.exp(-2.0 * (math.sqrt(20.0) - 1.0)), 3),  # d = 4.472, ceil(2.24) = 3
    (0, 2): (4.0, 1),  # d = 1: strength 1, ceil(0.5) = 1
    (2, 2): (5.0, 1),  # self-loop at self_distance = 1
    (0, 3): (6.0 * math.exp(-18.0), 3),  # d = 10, ceil(5) = 5 clipped to max_delay 3
    (2, 4): (7.0 * math.exp(1.6), 1),  # d = 0.2: strength e^1.6 > 1, ceil(0.1) = 1
}


@pytest.mark.parametrize("synapse_order", [None, [5, 3, 0, 4, 2, 1]], ids=["sorted", "shuffled"])
def test_effective_weights_and_delays_match_hand_computation(synapse_order):
    c = build(hand_genome(synapse_order))
    m = c.recurrent
    rows = np.repeat(np.arange(m.shape[0]), np.diff(m.indptr))
    got = {
        (int(r), int(col)): (float(w), int(dl)) for r, col, w, dl in zip(rows, m.indices, m.data, c.delays, strict=True)
    }
    assert got.keys() == HAND.keys()
    for key, (w, delay) in HAND.items():
        assert got[key][0] == pytest.approx(w, rel=1e-6), key
        assert got[key][1] == delay, key
    # io with real positions: input (-1, 0) -> neuron 0 at d = 1; neuron 1 (3, 4) -> output (4, 4) at d = 1
    assert c.input.toarray()[0, 0] == pytest.approx(-1.5)  # input channel sign -1
    assert c.output.toarray()[1, 0] == pytest.approx(-2.5)  # hidden neuron 1 is inhibitory


def test_built_matrices_share_no_memory_with_the_genome():
    g = hand_genome()
    c = build(g)
    for m in (c.input, c.recurrent, c.output):
        for arr in (m.data, m.indices, m.indptr):
            for p in ("input_synapses", "recurrent", "output_synapses"):
                for part in ("pre", "post", "weight"):
                    assert not np.shares_memory(arr, getattr(getattr(g, p), part))


def test_delays_are_one_substep_without_conduction_speed():
    g = hand_genome()
    c = build(g.replace(rule=ConnectivityRule(io_distance=None)))
    assert c.delays.dtype == np.uint8 and np.all(c.delays == 1)


def test_build_rejects_duplicate_synapses_naming_the_pair():
    g = hand_genome()
    dup = Synapses([0, 2, 0], [1, 4, 1], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError) as info:
        build(g.replace(recurrent=dup))
    message = str(info.value)
    assert "recurrent" in message and "duplicate" in message and "(0, 1)" in message
    assert "synapses 0 and 2" in message


def test_synapse_distances_use_io_distance_and_self_distance():
    g = hand_genome()
    np.testing.assert_allclose(synapse_distances(g, "input_synapses"), [1.0])
    ref = g.replace(rule=ConnectivityRule(io_distance=1.0, self_distance=1.0))
    np.testing.assert_allclose(synapse_distances(ref, "output_synapses"), [1.0])
    d = synapse_distances(g, "recurrent")
    np.testing.assert_allclose(d, [5.0, math.sqrt(20.0), 1.0, 1.0, 10.0, 0.2])
    with pytest.raises(ValueError, match="projection"):
        synapse_distances(g, "hidden")


def test_rule_laws_and_radius():
    rule = ConnectivityRule(p0=0.5, length=2.0, shape=2.0, cutoff=1e-3)
    d = np.array([0.0, 1.0, 3.0])
    np.testing.assert_allclose(rule.probability(d), 0.5 * np.exp(-((d / 2.0) ** 2)))
    # p0 = 1 and dim == shape: p(r) = cutoff and the tail mass beyond r = cutoff coincide
    unit = ConnectivityRule(length=2.0, shape=2.0, cutoff=1e-3)
    assert unit.probability(unit.radius(dim=2)) == pytest.approx(1e-3)
    assert rule.probability(rule.radius(dim=2)) <= 1e-3  # p0 < 1: the tail mass sets the radius
    assert unit.probability(unit.radius(dim=3)) < 1e-3  # and in 3D at shape 2
    assert rule.probability(np.float32(1.0)).dtype == np.float32
    np.testing.assert_allclose(rule.strength(d), np.exp(-2.0 * (d - 1.0)))
    assert ConnectivityRule(p0=1e-3, cutoff=1e-3).radius() == 0.0


@pytest.mark.parametrize("periodic", [False, True])
def test_candidate_pairs_are_every_pair_within_the_radius_with_its_law_probability(periodic):
    spec = GenomeSpec.spatial(dim=2, n_hidden=40) if periodic else GenomeSpec.reference(dim=2, n_hidden=40)
    g = random_genome(spec, 3, 2, np.random.default_rng(0))
    rule = g.rule
    pre, post, p = sampling.candidate_pairs(g.positions, g.positions, rule, same=True)
    r = rule.radius(False, 2)
    diff = g.positions[:, None, :] - g.positions[None, :, :]
    if rule.period is not None:
        diff -= np.asarray(rule.period) * np.round(diff / np.asarray(rule.period))
    d = np.sqrt((diff**2).sum(-1))
    want = (d <= r) & ~np.eye(40, dtype=bool)  # brute force over all ordered pairs
    if rule.self_distance is not None:
        want |= np.eye(40, dtype=bool)
    assert sorted(zip(pre.tolist(), post.tolist(), strict=True)) == list(zip(*np.nonzero(want), strict=True))
    assert np.all(np.diff(pre * 40 + post) > 0)
    d_pair = np.where(pre == post, rule.self_distance or 0.0, d[pre, post])
    np.testing.assert_allclose(p, rule.probability(d_pair), rtol=1e-6)
    drawn = sample_edges(g.positions, g.positions, rule, np.random.default_rng(1), same=True)
    assert np.isin(drawn[0].astype(np.int64) * 40 + drawn[1], pre * 40 + post).all()  # drawn edges are candidates
