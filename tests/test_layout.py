"""GenomeSpec: the published reference preset, grids, faces, calibration, random genomes."""

import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from spatial_snn import GenomeSpec
from spatial_snn.space.calibration import io_length_for_degree, length_for_degree, mean_degree, mean_fan_out
from spatial_snn.space.connectivity import build
from spatial_snn.space.genome import NEURON_PARAMS, PROJECTIONS
from spatial_snn.space.layout import ParameterRanges, random_genome
from spatial_snn.space.rules import ConnectivityRule

Z = 4.5  # |z| bound of the statistical tests (fixed seeds: deterministic)


def z_binomial(hits, trials, p):
    return (hits - trials * p) / math.sqrt(trials * p * (1 - p))


# ----------------------------------------------------------------- reference
@pytest.mark.parametrize("dim, shape", [(1, (64,)), (2, (8, 8)), (3, (4, 4, 4))])
def test_reference_grid_is_the_published_integer_grid(dim, shape):
    spec = GenomeSpec.reference(dim)
    assert spec.grid_shape == shape and spec.placement == "grid"
    g = random_genome(spec, 3, 2, np.random.default_rng(0))
    pos = g.positions
    assert pos.shape == (64, dim)
    np.testing.assert_array_equal(pos, np.round(pos))  # integer coordinates
    np.testing.assert_array_equal(pos.min(0), 0)
    np.testing.assert_array_equal(pos.max(0), np.array(shape) - 1)
    d = cdist(pos, pos) + np.diag(np.full(64, np.inf))
    np.testing.assert_array_equal(d.min(1), 1.0)  # spacing 1, no two neurons at one site


def test_reference_rule_is_exp_minus_2d_with_io_and_self_at_distance_1():
    rule = GenomeSpec.reference(2).rule
    d = np.linspace(0, 12, 49)
    np.testing.assert_allclose(rule.probability(d), np.exp(-2 * d))
    np.testing.assert_allclose(rule.strength(d), np.exp(-2 * (d - 1)))
    assert rule.io_distance == 1.0 and rule.self_distance == 1.0
    assert float(rule.probability(rule.io_distance, io=True)) == pytest.approx(math.exp(-2))
    assert rule.conduction_speed is None  # one sub-step delays
    # the published code has no cutoff: every 2D/3D grid pair is a candidate, and the 1D
    # pairs beyond the radius carry < 1e-9 expected edges per genome
    r = rule.radius()
    assert r > math.sqrt(7**2 + 7**2) and r > math.sqrt(3 * 3**2)
    k = np.arange(1, 64)
    far = k > r
    assert np.sum(2 * (64 - k[far]) * np.exp(-2.0 * k[far])) < 1e-9


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_reference_genomes_match_the_published_statistics(dim):
    spec = GenomeSpec.reference(dim)
    n_gen, n_in, n_out = 500, 4, 3
    rng = np.random.default_rng(100 + dim)
    adjacency = np.zeros((64, 64))
    io_hits = [0, 0]
    weights, signs, input_signs = [], [], []
    for k in range(n_gen):
        g = random_genome(spec, n_in, n_out, rng)
        np.add.at(adjacency, (g.recurrent.pre, g.recurrent.post), 1)
        io_hits[0] += len(g.input_synapses)
        io_hits[1] += len(g.output_synapses)
        weights += [getattr(g, p).weight for p in PROJECTIONS]
        signs.append(g.sign)
        input_signs.append(g.input_sign)
        if k < 20:  # self-loops and io edges have strength factor 1: |w_eff| = weight
            c = build(g)
            loops = g.recurrent.pre == g.recurrent.post
            diag = np.abs(c.recurrent.diagonal()[g.recurrent.pre[loops]])
            np.testing.assert_allclose(diag, g.recurrent.weight[loops], rtol=1e-6)
            np.testing.assert_allclose(np.abs(c.input.data), g.input_synapses.weight, rtol=1e-6)
            np.testing.assert_allclose(np.abs(c.output.data), g.output_synapses.weight, rtol=1e-6)

    # recurrent: probability exp(-2 d) for every distance class of the grid
    d = np.round(cdist(spec.grid(), spec.grid()), 9)
    off = ~np.eye(64, dtype=bool)
    for dist in np.unique(d[off]):
        cls = off & (d == dist)
        p = math.exp(-2 * dist)
        trials = n_gen * cls.sum()
        if trials * p > 20:
            assert abs(z_binomial(adjacency[cls].sum(), trials, p)) < Z, f"d = {dist}"
        else:  # far classes: too few expected edges for a z-test, just no excess
            assert adjacency[cls].sum() <= trials * p + 6 * math.sqrt(trials * p) + 6
    # self-loops at d = 1: 64 exp(-2) = 8.66 per genome
    loops = np.trace(adjacency)
    assert abs(z_binomial(loops, 64 * n_gen, math.exp(-2))) < Z
    assert loops / n_gen == pytest.approx(64 * math.exp(-2), rel=0.05)
    # input and output edges: probability exp(-2)
    assert abs(z_binomial(io_hits[0], n_gen * n_in * 64, math.exp(-2))) < Z
    assert abs(z_binomial(io_hits[1], n_gen * n_out * 64, math.exp(-2))) < Z
    # weights U(0.1, 127); 80% excitatory neurons and input channels
    w = np.concatenate(weights)
    assert w.min() >= np.float32(0.1) and w.max() <= 127.0
    assert w.min() < 0.2 and w.max() > 126.8
    assert abs(w.mean() - 63.55) < Z * 36.6 / math.sqrt(w.size)
    s = np.concatenate(signs)
    assert abs(z_binomial(np.sum(s > 0), s.size, 0.8)) < Z
    si = np.concatenate(input_signs)
    assert abs(z_binomial(np.sum(si > 0), si.size, 0.8)) < Z


def test_reference_parameter_ranges_are_the_published_ones():
    r = ParameterRanges()
    assert r.v_th == (0.1, 1000.0)
    assert r.v_reset == (0.0, 0.0)
    assert r.v_leak == (0.0, 127.0)
    assert r.tau_syn_inv == (10.0, 1000.0)
    assert r.tau_mem_inv == (10.0, 1000.0)
    assert r.weight == (0.1, 127.0)
    spec = GenomeSpec.reference(2)
    assert spec.ranges == r and spec.excitatory_fraction == 0.8
    g = random_genome(spec, 2, 2, np.random.default_rng(1))
    for name in NEURON_PARAMS:
        lo, hi = getattr(r, name)
        a = getattr(g, name)
        assert a.min() >= lo and a.max() <= hi, name
    np.testing.assert_array_equal(g.v_reset, 0.0)


# ---------------------------------------------------------------- geometry
@pytest.mark.parametrize(
    "n, dim, shape",
    [
        (65, 3, (4, 4, 5)),
        (10, 2, (3, 4)),
        (2, 3, (1, 1, 2)),
        (1, 3, (1, 1, 1)),
        (17, 2, (4, 5)),
        (1000, 3, (10, 10, 10)),
        (4913, 3, (17, 17, 17)),
        (10**6, 3, (100, 100, 100)),
        (100_000, 2, (316, 317)),
    ],
)
def test_grid_shape_is_exact_and_balanced_for_any_n(n, dim, shape):
    assert GenomeSpec(n_hidden=n, dim=dim).grid_shape == shape


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_grid_fills_its_box_except_the_last_x0_slab(dim):
    for n in range(1, 130):
        spec = GenomeSpec(n_hidden=n, dim=dim)
        s = np.array(spec.grid_shape)
        grid = spec.grid()
        assert len(np.unique(grid, axis=0)) == n
        assert np.prod(s) >= n and np.prod(s) - n < np.prod(s[1:])
        np.testing.assert_array_equal(grid.max(0), s - 1)  # every axis used to its end
        assert s.max() - s.min() <= 1


@pytest.mark.parametrize("n", [64, 65, 10, 100, 130])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_inputs_and_outputs_sit_on_faces_one_unit_beyond_the_grid(n, dim):
    spec = GenomeSpec(n_hidden=n, dim=dim)
    grid = spec.grid()
    for k in (1, 2, 5, 9, 17):
        inp = spec.face_positions(k, outputs=False)
        out = spec.face_positions(k, outputs=True)
        assert inp.shape == out.shape == (k, dim)
        np.testing.assert_array_equal(inp[:, 0], grid[:, 0].min() - 1)
        np.testing.assert_array_equal(out[:, 0], grid[:, 0].max() + 1)
        for face in (inp, out):
            assert np.all(face[:, 1:] >= grid[:, 1:].min(0)) and np.all(face[:, 1:] <= grid[:, 1:].max(0))
            if dim > 1 and k > 1:
                assert len(np.unique(face, axis=0)) == k  # spread, not stacked
        if n == np.prod(spec.grid_shape):  # a full last slab: every face point is close to it
            assert np.all(cdist(out, grid).min(1) <= math.sqrt(1 + (dim - 1) / 4) + 1e-12)


@pytest.mark.parametrize("dim", [1, 2, 3])
def test_uniform_placement_has_the_grid_density_in_cell_order(dim):
    spec = GenomeSpec(n_hidden=500, dim=dim, placement="uniform")
    pos = spec.place(np.random.default_rng(0))
    s = np.array(spec.grid_shape, float)
    ext = s.copy()
    ext[0] = 500 / np.prod(s[1:])
    assert np.all(pos >= -0.5) and np.all(pos <= ext - 0.5)
    assert 500 / np.prod(ext) == pytest.approx(1.0)
    # numbered in the grid order of their cells, so neighbours have nearby indices
    cell = np.ravel_multi_index(tuple(np.floor(pos + 0.5).astype(int).T), spec.grid_shape)
    assert np.all(np.diff(cell) >= 0)


def test_random_genome_is_determined_by_the_generator_state(assert_same_genome):
    spec = GenomeSpec.spatial(dim=3, n_hidden=200, mean_degree=6.0)
    a = random_genome(spec, 5, 3, np.random.default_rng(9))
    b = random_genome(spec, 5, 3, np.random.default_rng(9))
    c = random_genome(spec, 5, 3, np.random.default_rng(10))
    assert_same_genome(a, b)
    assert not np.array_equal(a.positions, c.positions)


# ------------------------------------------------------------- calibration
@pytest.mark.parametrize(
    "dim, placement",
    [(1, "jittered"), (2, "jittered"), (3, "jittered"), (1, "uniform"), (3, "uniform"), (2, "grid")],
)
def test_spatial_preset_gives_every_dimension_the_same_mean_degree(dim, placement):
    degree, n_gen = 4.0, 300
    base = GenomeSpec.spatial(dim=dim, n_hidden=64, mean_degree=degree)
    spec = GenomeSpec(n_hidden=64, dim=dim, placement=placement, rule=base.rule, mean_degree=degree)
    rng = np.random.default_rng(dim)
    degrees = np.array([len(random_genome(spec, 1, 1, rng).recurrent) / 64 for _ in range(n_gen)])
    sem = degrees.std() / math.sqrt(n_gen)
    assert abs(degrees.mean() - degree) < Z * sem + 0.01 * degree, (degrees.mean(), sem)


def test_spatial_preset_puts_inputs_and_outputs_at_real_positions():
    spec = GenomeSpec.spatial(dim=2)
    assert spec.rule.io_distance is None and spec.rule.self_distance is None
    g = random_genome(spec, 4, 3, np.random.default_rng(0))
    h = random_genome(spec, 4, 3, np.random.default_rng(1))
    box = np.asarray(spec.rule.period)
    for a, b in ((g.input_positions, h.input_positions), (g.output_positions, h.output_positions)):
        assert np.all(a >= -0.5) and np.all(a < box - 0.5)  # uniform in the periodic box, drawn per genome
        assert not np.array_equal(a, b)
    assert g.input_positions.shape == (4, 2) and g.output_positions.shape == (3, 2)
    assert np.all(g.recurrent.pre != g.recurrent.post)


def test_mean_degree_is_the_expected_degree_of_sampled_edges():
    spec = GenomeSpec(n_hidden=300, dim=2, placement="jittered", rule=ConnectivityRule(length=1.2))
    pos = spec.place(np.random.default_rng(0))
    from spatial_snn.space.sampling import sample_edges

    rng = np.random.default_rng(1)
    counts = np.array([sample_edges(pos, pos, spec.rule, rng, same=True)[0].size for _ in range(200)])
    expected = mean_degree(pos, spec.rule) * 300
    assert abs(counts.mean() - expected) < Z * counts.std() / math.sqrt(200)


def test_calibration_rejects_an_unreachable_degree():
    grid = GenomeSpec(n_hidden=8, dim=1).grid()
    with pytest.raises(ValueError, match="degree"):
        length_for_degree(grid, ConnectivityRule(self_distance=None), 7.5)  # at most 7 without self-loops


@pytest.mark.slow  # small networks: test_spatial_preset_gives_every_dimension_the_same_mean_degree
def test_calibration_of_a_large_network_is_accurate():
    # the old bracket started at length ~ box side, so every pair of a large net was a
    # candidate; now the bracket starts at the continuum estimate and a subset is averaged
    spec = GenomeSpec(
        n_hidden=30_000,
        dim=3,
        placement="uniform",
        mean_degree=6.0,
        rule=ConnectivityRule(io_distance=None, self_distance=None),
    )
    rule = spec.resolved_rule()
    pos = spec.place(np.random.default_rng(5))
    assert mean_degree(pos, rule) == pytest.approx(6.0, rel=0.02)


# ------------------------------------------------------- io calibration
@pytest.mark.parametrize("dim, n_in", [(1, 4), (2, 4), (3, 4), (2, 7), (3, 11)])
def test_spatial_preset_gives_every_dimension_the_same_input_fan_out(dim, n_in):
    spec = GenomeSpec.spatial(dim=dim)  # io_degree 64 exp(-2): the reference fan-out
    assert spec.io_degree == pytest.approx(64 * math.exp(-2))
    n_gen = 200
    rng = np.random.default_rng(30 + dim)
    fan = np.array([len(random_genome(spec, n_in, 2, rng).input_synapses) / n_in for _ in range(n_gen)])
    sem = fan.std() / math.sqrt(n_gen)
    assert abs(fan.mean() - spec.io_degree) < Z * sem, (fan.mean(), sem)
    # the exact expectation per fresh placement (no edge-sampling noise), mean within Z standard errors
    rule, face = spec.resolved_rule(n_in), spec.face_positions(n_in, outputs=False)
    per_place = np.array([mean_fan_out(face, spec.place(np.random.default_rng([7, i])), rule) for i in range(256)])
    assert abs(per_place.mean() - spec.io_degree) < Z * per_place.std() / math.sqrt(per_place.size)
    assert abs(per_place.mean() - spec.io_degree) < 0.02 * spec.io_degree


def test_io_calibration_gives_each_dimension_its_own_io_length_and_keeps_the_recurrent_one():
    rules = {dim: GenomeSpec.spatial(dim=dim).resolved_rule(4) for dim in (1, 2, 3)}
    lengths = [rules[d].io_length for d in (1, 2, 3)]
    assert lengths[0] > lengths[1] > lengths[2]  # a face reaches more neurons per length in more dims
    for dim in (1, 2, 3):
        spec = GenomeSpec.spatial(dim=dim)
        uncalibrated = replace(spec, io_degree=None).resolved_rule()
        assert uncalibrated.io_length == spec.rule.io_length == 1.0
        assert rules[dim] == replace(uncalibrated, io_length=rules[dim].io_length)  # only io_length moves
        assert spec.resolved_rule(4) is rules[dim]  # cached, deterministic


def test_io_length_depends_on_the_channel_count_except_in_1d_or_a_periodic_box():
    # on a bounded face, channels spread to its edges reach fewer neurons than one at its centre
    def bounded(dim):
        spec = GenomeSpec.spatial(dim=dim)
        return replace(spec, placement="jittered", rule=replace(spec.rule, period=None))

    assert bounded(1).resolved_rule(1).io_length == bounded(1).resolved_rule(9).io_length
    assert bounded(2).resolved_rule(1).io_length < bounded(2).resolved_rule(4).io_length
    # in the periodic box every channel has the same neighbourhood: one length for any count
    for dim in (1, 2, 3):
        spec = GenomeSpec.spatial(dim=dim)
        assert spec.resolved_rule(1).io_length == spec.resolved_rule(9).io_length


def test_io_degree_needs_real_io_distances_a_valid_value_and_the_channel_count():
    with pytest.raises(ValueError, match=r"GenomeSpec.io_degree: .*rule.io_distance = 1.0"):
        replace(GenomeSpec.reference(2), io_degree=8.0)
    for bad in (0.0, -1.0, 64.0, 100.0):
        with pytest.raises(ValueError, match=r"GenomeSpec.io_degree: expected None or a value in \(0, 64\)"):
            GenomeSpec.spatial(dim=2, io_degree=bad)
    with pytest.raises(ValueError, match=r"n_inputs: .*resolved_rule\(n_inputs=...\)"):
        GenomeSpec.spatial(dim=2).resolved_rule()
    assert GenomeSpec.spatial(dim=2, n_hidden=27).io_degree == pytest.approx(27 * math.exp(-2))


def test_io_calibration_rejects_an_unreachable_fan_out():
    spec = GenomeSpec(n_hidden=8, dim=1)
    rule = ConnectivityRule(io_distance=None, io_p0=0.5)
    with pytest.raises(ValueError, match=r"degree: expected a value in \(0, 4\)"):
        io_length_for_degree(spec.face_positions(1, outputs=False), spec.grid(), rule, 4.5)
