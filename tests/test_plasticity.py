"""Short-term plasticity (Tsodyks-Markram): kernel against the numpy twin and a
hand-computed trace, the static limit, and the genes through genome, codec,
files, variation and NIR export."""

import dataclasses
import math

import h5py
import numpy as np
import pytest
from naive import twin_run

from spatial_snn.evo.crossover import crossover
from spatial_snn.evo.variation import MutationParams, mutate
from spatial_snn.sim.network import Network, set_threads
from spatial_snn.space.codec import decode_batch, encode_batch
from spatial_snn.space.genome import STP_PARAMS, Genome, Synapses
from spatial_snn.space.layout import GenomeSpec, ParameterRanges, random_genome
from spatial_snn.space.rules import ConnectivityRule
from spatial_snn.store.genome_io import load_genome, read_genomes, save_genome, write_genomes


@pytest.fixture(autouse=True)
def one_thread():
    set_threads(1)


def _spec(dim: int, delays: bool, plastic: bool = True) -> GenomeSpec:
    if delays:
        rule = ConnectivityRule(io_distance=None, io_length=1.5, self_distance=None, conduction_speed=0.6, max_delay=4)
        spec = GenomeSpec(n_hidden=48, dim=dim, placement="jittered", rule=rule, mean_degree=4.0)
    else:
        spec = GenomeSpec.reference(dim, n_hidden=48)
    # short time constants (a few sub-steps to a few hundred) so that both depression and recovery show
    ranges = ParameterRanges(stp_tau_f=(0.002, 0.2), stp_tau_d=(0.002, 0.2))
    return dataclasses.replace(spec, plasticity=plastic, ranges=ranges)


def _genomes(dim, delays, count, seed, plastic=True):
    rng = np.random.default_rng(seed)
    return [random_genome(_spec(dim, delays, plastic), 5, 3, rng) for _ in range(count)]


# ------------------------------------------------------------ kernel vs twin
@pytest.mark.parametrize("delays", [False, True], ids=["delay1", "delays"])
@pytest.mark.parametrize("dim", [1, 2, 3])
def test_plastic_kernel_matches_numpy_twin_spike_for_spike(dim, delays):
    genomes = _genomes(dim, delays, 2, seed=20 * dim + delays)
    steps, substeps, episodes = 40, 20, 2
    xs = np.random.default_rng(dim).uniform(-2.5, 2.5, (steps, 4, 5))
    net = Network(genomes, episodes=episodes)
    outs = np.array([net.step(x, substeps) for x in xs])
    twin = twin_run([genomes[b // episodes] for b in range(4)], xs, substeps)
    np.testing.assert_array_equal(outs, twin["out"])
    for b in range(4):
        np.testing.assert_array_equal(net.state(b)[0], twin["v"][b])
        np.testing.assert_array_equal(net.state(b)[1], twin["i"][b])
        u, x = net.plasticity_state(b)
        np.testing.assert_array_equal(u, twin["u"][b])
        np.testing.assert_array_equal(x, twin["x"][b])
    np.testing.assert_array_equal(net.counters[:, 0], twin["spikes"].sum(axis=(0, 2)))
    assert twin["spikes"].mean() > 0.01
    assert twin["x"].min() < 0.5  # resources were depleted: the scaling is exercised


def test_a_batch_may_mix_plastic_and_static_genomes():
    plastic = _genomes(2, True, 1, seed=5)[0]
    static = _genomes(2, True, 1, seed=6, plastic=False)[0]
    xs = np.random.default_rng(1).uniform(-2.5, 2.5, (30, 2, 5))
    net = Network([static, plastic])
    outs = np.array([net.step(x, 10) for x in xs])
    twin = twin_run([static, plastic], xs, 10)
    np.testing.assert_array_equal(outs, twin["out"])
    alone = Network([static])
    np.testing.assert_array_equal(outs[:, :1], np.array([alone.step(x[:1], 10) for x in xs]))
    with pytest.raises(ValueError, match="static genome"):
        net.plasticity_state(0)


def test_fast_recovery_is_the_static_network_bit_for_bit():
    """tau_f, tau_d -> 0: every spike releases U (2 - U), the reference, so the scale is exactly 1."""
    (static,) = _genomes(3, True, 1, seed=8, plastic=False)
    n = static.n
    use = np.random.default_rng(0).uniform(0.05, 0.95, n)
    fast = static.replace(stp_use=use, stp_tau_f=np.full(n, 1e-9), stp_tau_d=np.full(n, 1e-9))
    xs = np.random.default_rng(2).uniform(-2.5, 2.5, (40, 1, 5))
    a, b = Network([static]), Network([fast])
    for x in xs:
        np.testing.assert_array_equal(a.step(x, 16), b.step(x, 16))
    np.testing.assert_array_equal(a.counters, b.counters)
    assert a.counters[0, 0] > 0


def test_reset_returns_a_plastic_network_to_rest():
    genomes = _genomes(2, False, 1, seed=3)
    xs = np.random.default_rng(4).uniform(-2.5, 2.5, (20, 2, 5))
    net = Network(genomes, episodes=2)
    first = np.array([net.step(x, 8) for x in xs])
    net.reset(np.array([True, False]))
    again = np.array([net.step(x, 8) for x in xs])
    np.testing.assert_array_equal(again[:, 0], first[:, 0])
    assert not np.array_equal(again[:, 1], first[:, 1])  # network 1 kept its depleted state


# ---------------------------------------------------------------- golden trace
def _golden_stp_genome() -> Genome:
    """n0 (input weight 2) spikes at t2, 4, 6, 8; n1 (input weight 4) at t1..t9; n2 never
    (threshold 100) and receives n0's spikes with delay 1. dt = 1/8 s, a_mem = 1/2, a_syn = 1.

    n0 depresses without recovery (U = 1/2, tau_f ~ 0: u is back at U at each spike,
    tau_d huge: x never recovers); n1 facilitates without decay (tau_f huge, tau_d ~ 0).
    """
    return Genome(
        positions=np.array([[0.0], [2.0], [1.0]]),
        input_positions=np.array([[-1.0]]),
        output_positions=np.array([[3.0], [4.0]]),
        v_th=[1.0, 1.0, 100.0], v_reset=[0.0, 0.0, 0.0], v_leak=[0.0, 0.0, 0.0],
        tau_mem_inv=[4.0, 4.0, 4.0], tau_syn_inv=[8.0, 8.0, 8.0],
        sign=[1, 1, 1], input_sign=[1],
        input_synapses=Synapses([0, 0], [0, 1], [2.0, 4.0]),
        recurrent=Synapses([0], [2], [1.0]),  # n0 -> n2, delay 1
        output_synapses=Synapses([0, 1], [0, 1], [1.0, 1.0]),  # n0 -> out0, n1 -> out1
        rule=ConnectivityRule(strength_decay=0.0, conduction_speed=1.0, max_delay=2),
        stp_use=[0.5, 0.5, 0.5], stp_tau_f=[1e-9, 1e20, 1.0], stp_tau_d=[1e20, 1e-9, 1.0],
    )  # fmt: skip


# Worked by hand (U = 1/2, so the reference release U (2 - U) = 3/4):
# n0, k-th spike: u = U + U (1 - U) = 3/4 every time; x before = 4^-(k-1); r = 3/4 4^-(k-1);
#     x after = 4^-k; scale = r / (3/4) = 1, 1/4, 1/16, 1/64 at t2, t4, t6, t8.
# n1, k-th spike: u = u + (1 - u)/2 from u = 1/2: u_k = 1 - 2^-(k+1) = 3/4, 7/8, 15/16, ...;
#     x before = 1 (full recovery); r = u_k; x after = 1 - u_k; scale = u_k / (3/4) = 1, 7/6, 5/4, ...
# n2: i = buf (a_syn = 1, no input): n0's scaled weight one sub-step after each n0 spike.
N0_SPIKES = {2: 1.0, 4: 0.25, 6: 0.0625, 8: 0.015625}
GOLDEN_OUT0 = [N0_SPIKES.get(t, 0.0) for t in range(10)]
GOLDEN_OUT1 = [0.0] + [(1 - 2.0 ** -(k + 1)) / 0.75 for k in range(1, 10)]
GOLDEN_I2 = [N0_SPIKES.get(t - 1, 0.0) for t in range(10)]


def test_golden_trace_of_depression_and_facilitation():
    net = Network([_golden_stp_genome()], dt=0.125)
    x = np.ones((1, 1))
    for t in range(10):
        out = net.step(x, 1)
        assert out[0, 0] == np.float32(GOLDEN_OUT0[t]), t
        assert out[0, 1] == np.float32(GOLDEN_OUT1[t]), t
        assert net.state(0)[1][2] == np.float32(GOLDEN_I2[t]), t
    u, xr = net.plasticity_state(0)
    # n0: 4 spikes, u = 3/4, x = 4^-4; n1: 9 spikes, u = 1 - 2^-10, x = 2^-10; n2: rest
    np.testing.assert_array_equal(u, [0.75, 1 - 2.0**-10, 0.5])
    np.testing.assert_array_equal(xr, [4.0**-4, 2.0**-10, 1.0])
    np.testing.assert_array_equal(net.counters[0], [13, 13 + 4, 30])  # n0 has 2 synapses, n1 one


def test_twin_reproduces_the_stp_golden_trace():
    twin = twin_run([_golden_stp_genome()], np.ones((10, 1, 1)), 1, dt=0.125)
    np.testing.assert_array_equal(twin["out"][:, 0, 0], np.float32(GOLDEN_OUT0))
    np.testing.assert_array_equal(twin["out"][:, 0, 1], np.float32(GOLDEN_OUT1))
    np.testing.assert_array_equal(twin["x"][0], [4.0**-4, 2.0**-10, 1.0])


def test_recovery_between_spikes_follows_the_closed_form():
    """A depressing neuron (U = 1) spikes, rests h seconds, spikes again: scale 1 - exp(-h / tau_d)."""
    g = _golden_stp_genome()
    tau_d = 0.3
    g = g.replace(stp_use=[1.0, 0.5, 0.5], stp_tau_f=[1.0, 1e20, 1.0], stp_tau_d=[tau_d, 1e-9, 1.0])
    net = Network([g], dt=0.125)
    outs = [net.step(np.ones((1, 1)), 1)[0, 0] for _ in range(5)]  # n0 spikes at t2, t4
    assert outs[2] == 1.0
    assert outs[4] == np.float32(1.0 - math.exp(-2 * 0.125 / tau_d))


# --------------------------------------------------------------------- genome
def test_genome_takes_all_three_genes_or_none(golden_genome):
    g = golden_genome()
    with pytest.raises(ValueError, match="all three"):
        g.replace(stp_use=[0.5, 0.5, 0.5])
    with pytest.raises(ValueError, match=r"stp_use: expected values in \(0, 1\]"):
        g.replace(stp_use=[0.5, 0.0, 0.5], stp_tau_f=[1.0] * 3, stp_tau_d=[1.0] * 3)
    with pytest.raises(ValueError, match=r"stp_tau_d: expected time constants > 0"):
        g.replace(stp_use=[0.5] * 3, stp_tau_f=[1.0] * 3, stp_tau_d=[1.0, -1.0, 1.0])
    with pytest.raises(ValueError, match=r"stp_tau_f: expected shape \(3,\)"):
        g.replace(stp_use=[0.5] * 3, stp_tau_f=[1.0] * 2, stp_tau_d=[1.0] * 3)
    assert not g.plastic


def test_select_neurons_carries_the_plasticity_genes():
    g = _golden_stp_genome()
    s = g.select_neurons([2, 0])
    assert s.plastic
    np.testing.assert_array_equal(s.stp_tau_f, [1.0, 1e-9])
    np.testing.assert_array_equal(s.stp_tau_d, [1.0, 1e20])


def test_a_plastic_random_genome_is_the_static_one_plus_its_genes(genome_arrays):
    static = random_genome(_spec(2, True, False), 5, 3, np.random.default_rng(9))
    plastic = random_genome(_spec(2, True, True), 5, 3, np.random.default_rng(9))
    for name, a in genome_arrays(static).items():
        np.testing.assert_array_equal(genome_arrays(plastic)[name], a, err_msg=name)
    assert plastic.plastic and not static.plastic
    ranges = _spec(2, True).ranges
    for name in STP_PARAMS:
        lo, hi = getattr(ranges, name)
        values = getattr(plastic, name)
        assert values.min() >= lo and values.max() <= hi and np.unique(values).size == plastic.n


# ------------------------------------------------------------------ variation
def test_mutation_of_a_plastic_genome_draws_its_genes_last(genome_arrays):
    """The static part mutates draw for draw as the static genome; then the genes, within range."""
    static = random_genome(_spec(2, True, False), 5, 3, np.random.default_rng(1))
    plastic = random_genome(_spec(2, True, True), 5, 3, np.random.default_rng(1))
    params, ranges = MutationParams(param_resample=0.3, perturb_rate=0.5), _spec(2, True).ranges
    a = mutate(static, np.random.default_rng(2), params, ranges)
    b = mutate(plastic, np.random.default_rng(2), params, ranges)
    for name, arr in genome_arrays(a).items():
        np.testing.assert_array_equal(genome_arrays(b)[name], arr, err_msg=name)
    assert not a.plastic and b.plastic
    for name in STP_PARAMS:
        old, new = getattr(plastic, name), getattr(b, name)
        lo, hi = getattr(ranges, name)
        assert 0 < np.sum(old != new) < plastic.n and new.min() >= lo and new.max() <= hi, name


def test_crossover_carries_each_neurons_genes_with_it():
    rng = np.random.default_rng(3)
    a, b = (random_genome(_spec(2, False), 5, 3, rng) for _ in range(2))
    c1, c2 = crossover(a, b, np.random.default_rng(4))
    from_b = c1.v_th == b.v_th
    assert 0 < from_b.sum() < a.n
    for name in STP_PARAMS:
        np.testing.assert_array_equal(getattr(c1, name), np.where(from_b, getattr(b, name), getattr(a, name)))
        np.testing.assert_array_equal(getattr(c2, name), np.where(from_b, getattr(a, name), getattr(b, name)))
    static = random_genome(_spec(2, False, False), 5, 3, rng)
    with pytest.raises(ValueError, match="both plastic or both static"):
        crossover(a, static, rng)


# ---------------------------------------------------------------- codec, files
def test_codec_and_genome_groups_round_trip_a_mixed_batch(tmp_path, assert_same_genome):
    static = _genomes(2, True, 2, seed=1, plastic=False)
    plastic = _genomes(2, True, 1, seed=2)
    batch = [static[0], plastic[0], static[1]]
    decoded = decode_batch(encode_batch(batch))
    assert [g.plastic for g in decoded] == [False, True, False]
    with h5py.File(tmp_path / "g.h5", "w") as f:
        write_genomes(f.create_group("mixed"), batch)
        write_genomes(f.create_group("static"), static)
        assert "stp_offsets" not in f["static"] and "stp_use" not in f["static"]  # old layout, unchanged
    with h5py.File(tmp_path / "g.h5", "r") as f:
        back = read_genomes(f["mixed"])
        assert [g.plastic for g in read_genomes(f["static"])] == [False, False]
    for x, y, z in zip(batch, decoded, back, strict=True):
        assert_same_genome(x, y), assert_same_genome(x, z)
        for name in STP_PARAMS if x.plastic else ():
            np.testing.assert_array_equal(getattr(y, name), getattr(x, name))
            np.testing.assert_array_equal(getattr(z, name), getattr(x, name))


def test_genome_file_round_trip_keeps_the_genes(tmp_path):
    g = _golden_stp_genome()
    save_genome(tmp_path / "p.h5", g, {"note": "plastic"})
    back, meta = load_genome(tmp_path / "p.h5")
    assert back.plastic and meta == {"note": "plastic"}
    for name in STP_PARAMS:
        np.testing.assert_array_equal(getattr(back, name), getattr(g, name))


def test_nir_export_of_a_plastic_champion_refuses_and_writes_nothing(tmp_path, capsys):
    pytest.importorskip("nir")
    from spatial_snn.cli import main

    genome, meta = load_genome("genomes/cartpole-2d.h5")
    n = genome.n
    plastic = genome.replace(stp_use=np.full(n, 0.5), stp_tau_f=np.full(n, 0.1), stp_tau_d=np.full(n, 0.2))
    save_genome(tmp_path / "plastic.h5", plastic, meta)
    out = tmp_path / "plastic.nir"
    assert main(["export", str(tmp_path / "plastic.h5"), "--to", str(out)]) == 2
    err = capsys.readouterr().err
    assert "NIR has no plasticity primitive" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["plastic.h5"]


# ------------------------------------------------------------------ end to end
def test_a_plastic_run_resumes_exactly_and_its_champion_replays(tmp_path, tiny_scenario):
    from spatial_snn.analysis.inspect import summary
    from spatial_snn.analysis.replay import replay
    from spatial_snn.runs.runner import evolve
    from spatial_snn.runs.scenarios import scenario_from_dict
    from spatial_snn.store.run_reader import open_run

    sc = scenario_from_dict(tiny_scenario(network={"substeps": 4, "plasticity": True}))
    whole = evolve(sc, seed=5, workers=1, archive=tmp_path / "whole.h5")
    evolve(sc, seed=5, workers=1, generations=1, archive=tmp_path / "cut.h5")
    resumed = evolve(sc, seed=5, workers=1, archive=tmp_path / "cut.h5", resume=True)
    for k in ("best", "mean", "test"):
        np.testing.assert_array_equal(whole.history[k], resumed.history[k], err_msg=k)
    with open_run(tmp_path / "whole.h5") as a, open_run(tmp_path / "cut.h5") as b:
        ga, gb = a.champion()[0], b.champion()[0]
        assert ga.plastic
        for name in STP_PARAMS:
            np.testing.assert_array_equal(getattr(ga, name), getattr(gb, name))
    assert np.array_equal(
        replay(tmp_path / "whole.h5", episodes=2, seed=3), replay(tmp_path / "cut.h5", episodes=2, seed=3)
    )
    with open_run(tmp_path / "whole.h5") as run:
        assert "Tsodyks-Markram" in summary(run)
