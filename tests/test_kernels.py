"""The numba LIF kernel against a plain-numpy twin and a hand-computed trace.

The twin (``tests/naive.py``) uses dense float32 matrices and the kernel's
equations with the same float32 operation order (spikers' weight rows added in
ascending order), so spikes, outputs, ``v`` and ``i`` must agree bit for bit.
"""

import numpy as np
import pytest
from naive import twin_run

from spatial_snn.sim import kernels, network
from spatial_snn.sim.network import Network, set_threads
from spatial_snn.space.connectivity import build
from spatial_snn.space.genome import Genome
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.space.rules import ConnectivityRule


@pytest.fixture(autouse=True)
def one_thread():
    """One numba thread: the comparisons are per network (thread-count
    independence is tested in test_network); parallel regions are slow on a
    loaded 2-core machine."""
    set_threads(1)


def _genomes(dim: int, delays: bool, count: int, seed: int) -> list[Genome]:
    if delays:
        rule = ConnectivityRule(io_distance=None, io_length=1.5, self_distance=None, conduction_speed=0.6, max_delay=4)
        spec = GenomeSpec(n_hidden=48, dim=dim, placement="jittered", rule=rule, mean_degree=4.0)
    else:
        spec = GenomeSpec.reference(dim, n_hidden=48)
    rng = np.random.default_rng(seed)
    return [random_genome(spec, 5, 3, rng) for _ in range(count)]


@pytest.mark.parametrize("delays", [False, True], ids=["delay1", "delays"])
@pytest.mark.parametrize("dim", [1, 2, 3])
@pytest.mark.parametrize("networks", [1, 4, pytest.param(50, marks=pytest.mark.slow)])
def test_kernel_matches_numpy_twin_spike_for_spike(dim, delays, networks):
    episodes = {1: 1, 4: 2, 50: 5}[networks]  # 4: the quick twin of the 50-network batch
    genomes = _genomes(dim, delays, networks // episodes, seed=10 * dim + delays)
    if delays:
        assert max(build(g).delays.max() for g in genomes) > 1  # the test exercises delays
    steps, substeps = 50, 20  # 1000 sub-steps
    rng = np.random.default_rng(dim)
    xs = rng.uniform(-2.5, 2.5, (steps, networks, 5))
    net = Network(genomes, episodes=episodes)
    outs = np.array([net.step(x, substeps) for x in xs])  # (steps, B, n_out)
    twin = twin_run([genomes[b // episodes] for b in range(networks)], xs, substeps)
    np.testing.assert_array_equal(outs, twin["out"])
    for b in range(networks):
        v, i = net.state(b)
        np.testing.assert_array_equal(v, twin["v"][b])
        np.testing.assert_array_equal(i, twin["i"][b])
    np.testing.assert_array_equal(net.counters[:, 0], twin["spikes"].sum(axis=(0, 2)))
    assert twin["spikes"].mean() > 0.01  # the networks do spike


def test_prefetching_scatter_matches_twin(monkeypatch):
    """Genomes with many synapses take the prefetching scatter; force it here."""
    monkeypatch.setattr(network, "_PREFETCH_MIN", 0)
    rng = np.random.default_rng(7)
    genomes = [random_genome(GenomeSpec.reference(3, n_hidden=125), 5, 3, rng) for _ in range(2)]
    xs = rng.uniform(-2.5, 2.5, (30, 4, 5))
    net = Network(genomes, episodes=2)
    assert net._prefetch_of.all()
    outs = np.array([net.step(x, 10) for x in xs])
    twin = twin_run([genomes[b // 2] for b in range(4)], xs, 10)
    np.testing.assert_array_equal(outs, twin["out"])
    np.testing.assert_array_equal(net.state(3)[0], twin["v"][3])
    assert twin["spikes"].sum(axis=2).max() > kernels._AHEAD  # rows were prefetched


def test_kernel_spike_raster_matches_twin_substep_by_substep():
    """Stepping one sub-step at a time exposes the raster itself."""
    (genome,) = _genomes(2, True, 1, seed=3)
    xs = np.random.default_rng(0).uniform(-2.5, 2.5, (200, 1, 5))
    twin = twin_run([genome], xs, 1)
    net = Network([genome])
    raster = []
    for x in xs:
        before = net.counters[0, 0]
        net.step(x, 1)
        raster.append(net.counters[0, 0] - before)
    np.testing.assert_array_equal(raster, twin["spikes"].sum(axis=(1, 2)))


# ---------------------------------------------------------- golden trace
# golden_genome (tests/conftest.py): three neurons on a line at x = 0, 1, 2, dt = 1/8 s.
# Worked by hand, x = 1 so I_in = [2, 0, 0]; state starts at v = v_reset = [0, 0, -.5], i = 0.
# Per sub-step t (ring slot s = t % 3):
#   v_dec = v + 0.5 ((0 - v) + i);  i = (i - a_syn i) + I_in + buf[s]
# n2 relaxes towards v_leak = 0 while i2 = 0: v2 = -.25, -.125, -.0625, -.03125, -.015625 (t0..t4)
# t0: n0 v_dec = 0.                          v = [0, 0, -.25]      i = [2, 0, 0]
# t1: n0 v_dec = 0 + .5(0+2) = 1, not > 1.   v = [1, 0, -.125]     i = [2, 0, 0]
# t2: n0 v_dec = 1 + .5(-1+2) = 1.5 spike.   v = [0, 0, -.0625]    i = [2, 0, 0]
#     n0 -> buf[0, n1] += 1, buf[1, n2] += 2
# t3: n0 v_dec = 1 no; n1 i = 0 + buf[0] = 1.   v = [1, 0, -.03125]   i = [2, 1, 0]
# t4: n0 1.5 spike; n1 v_dec = .5(0+1) = .5 > .25 spike, i = .5; n2 i = 0 + buf[1] = 2
#     v = [0, 0, -.015625]  i = [2, .5, 2];  n0 -> buf[2, n1] += 1, buf[0, n2] += 2; out += 1
# t5: n0 1 no; n1 v_dec = .5(.5) = .25, not > .25, i = .25 + buf[2] 1 = 1.25;
#     n2 v_dec = -.015625 + .5(.015625 + 2) = .9921875 > .5 spike -> v = -.5, i = 1 + 0 = 1;
#     n2 -| buf[0, n1] -= 1; out -= .5
#     v = [1, .25, -.5]  i = [2, 1.25, 1]
# t6: n0 spike; n1 v_dec = .25 + .5(-.25 + 1.25) = .75 spike, i = .625 - 1 = -.375;
#     n2 v_dec = -.5 + .5(.5 + 1) = .25 no, i = .5 + buf[0] 2 = 2.5
#     v = [0, 0, .25]  i = [2, -.375, 2.5];  buf[1, n1] += 1, buf[2, n2] += 2; out += 1
# t7: n0 no; n1 v_dec = .5(-.375) = -.1875, i = -.1875 + 1 = .8125;
#     n2 v_dec = .25 + .5(-.25 + 2.5) = 1.375 spike, v = -.5, i = 1.25 + 0 = 1.25; buf[2, n1] -= 1
#     v = [1, -.1875, -.5]  i = [2, .8125, 1.25]; out -= .5
# t8: n0 spike; n1 v_dec = -.1875 + .5(.1875 + .8125) = .3125 spike, i = .40625 - 1 = -.59375;
#     n2 v_dec = -.5 + .5(.5 + 1.25) = .375 no, i = .625 + 2 = 2.625
#     v = [0, 0, .375]  i = [2, -.59375, 2.625];  buf[0, n1] += 1, buf[1, n2] += 2; out += 1
# t9: n0 no; n1 v_dec = .5(-.59375) = -.296875, i = -.296875 + 1 = .703125;
#     n2 v_dec = .375 + .5(-.375 + 2.625) = 1.5 spike, v = -.5, i = 1.3125 + 0 = 1.3125; out -= .5
GOLDEN_RASTER = np.array(
    [  # t: 0  1  2  3  4  5  6  7  8  9
        [0, 0, 1, 0, 1, 0, 1, 0, 1, 0],  # n0
        [0, 0, 0, 0, 1, 0, 1, 0, 1, 0],  # n1
        [0, 0, 0, 0, 0, 1, 0, 1, 0, 1],  # n2
    ]
).T
GOLDEN_V = [
    [0, 0, -0.25], [1, 0, -0.125], [0, 0, -0.0625], [1, 0, -0.03125], [0, 0, -0.015625],
    [1, 0.25, -0.5], [0, 0, 0.25], [1, -0.1875, -0.5], [0, 0, 0.375], [1, -0.296875, -0.5],
]  # fmt: skip
GOLDEN_I = [
    [2, 0, 0], [2, 0, 0], [2, 0, 0], [2, 1, 0], [2, 0.5, 2],
    [2, 1.25, 1], [2, -0.375, 2.5], [2, 0.8125, 1.25], [2, -0.59375, 2.625], [2, 0.703125, 1.3125],
]  # fmt: skip
GOLDEN_OUT = [0, 0, 0, 0, 1, -0.5, 1, -0.5, 1, -0.5]  # weighted spikes per sub-step


def test_golden_trace_three_neurons_ten_substeps(golden_genome):
    net = Network([golden_genome()], dt=0.125)
    x = np.ones((1, 1))
    for t in range(10):
        before = net.counters[0, 0]
        out = net.step(x, 1)
        v, i = net.state(0)
        assert out[0, 0] == GOLDEN_OUT[t], t
        np.testing.assert_array_equal(v, GOLDEN_V[t], err_msg=f"v at t{t}")
        np.testing.assert_array_equal(i, GOLDEN_I[t], err_msg=f"i at t{t}")
        assert net.counters[0, 0] - before == GOLDEN_RASTER[t].sum(), t
    # spikes 4 + 3 + 3; events: n0 2 synapses x 4, n1 1 x 3, n2 2 x 3; updates 3 x 10
    np.testing.assert_array_equal(net.counters[0], [10, 17, 30])


def test_golden_trace_in_two_env_steps_averages_outputs(golden_genome):
    net = Network([golden_genome()], dt=0.125)
    x = np.ones((1, 1))
    # sums over t0..t4 = 1 and t5..t9 = -.5 + 1 - .5 + 1 - .5 = .5, divided by 5
    assert net.step(x, 5)[0, 0] == np.float32(1) / np.float32(5)
    assert net.step(x, 5)[0, 0] == np.float32(0.5) / np.float32(5)
    np.testing.assert_array_equal(net.state(0)[0], GOLDEN_V[9])


def test_twin_reproduces_golden_trace(golden_genome):
    """The twin itself is checked against the hand-computed numbers."""
    twin = twin_run([golden_genome()], np.ones((10, 1, 1)), 1, dt=0.125)
    np.testing.assert_array_equal(twin["spikes"][:, 0], GOLDEN_RASTER.astype(bool))
    np.testing.assert_array_equal(twin["out"][:, 0, 0], GOLDEN_OUT)
    np.testing.assert_array_equal(twin["v"][0], GOLDEN_V[9])
    np.testing.assert_array_equal(twin["i"][0], GOLDEN_I[9])
