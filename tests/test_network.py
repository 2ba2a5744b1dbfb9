"""Network: reset, masking, counters, episodes, thread count, validation."""

import numpy as np
import pytest
from naive import twin_run

from spatial_snn.sim.kernels import NEURON_UPDATES, SPIKES, SYN_EVENTS
from spatial_snn.sim.network import Network, set_threads, warmup
from spatial_snn.space.connectivity import build
from spatial_snn.space.layout import GenomeSpec, random_genome


@pytest.fixture(autouse=True)
def one_thread():
    """One numba thread (parallel regions are slow on a loaded 2-core machine)."""
    set_threads(1)
    yield
    set_threads(1)


def _genomes(count=4, n_in=5, n_out=3, seed=0, n_hidden=40):
    rng = np.random.default_rng(seed)
    spec = GenomeSpec.reference(2, n_hidden=n_hidden)
    return [random_genome(spec, n_in, n_out, rng) for _ in range(count)]


def _inputs(steps, networks, n_in=5, seed=1):
    return np.random.default_rng(seed).uniform(-2.5, 2.5, (steps, networks, n_in))


def _state(net):
    return [net.state(b) for b in range(net.n_networks)]


def _same_state(a, b):
    return all(np.array_equal(x[0], y[0]) and np.array_equal(x[1], y[1]) for x, y in zip(a, b, strict=True))


# ------------------------------------------------------------------- shape
def test_attributes_and_output_shape():
    net = Network(_genomes(3), episodes=2)
    assert (net.n_networks, net.n_genomes, net.episodes) == (6, 3, 2)
    assert (net.n_inputs, net.n_outputs) == (5, 3)
    y = net.step(np.zeros((6, 5)), 4)
    assert y.shape == (6, 3) and y.dtype == np.float32
    assert net.counters.shape == (6, 3) and net.counters.dtype == np.int64


def test_genome_without_neurons_outputs_zeros():
    empty, full = _genomes(1)[0].select_neurons([]), _genomes(1)[0]
    net = Network([empty, full])
    y = net.step(np.ones((2, 5)), 20)
    np.testing.assert_array_equal(y[0], 0)
    np.testing.assert_array_equal(net.counters[0], 0)
    np.testing.assert_array_equal(y[1], Network([full]).step(np.ones((1, 5)), 20)[0])


def test_warmup_compiles_the_kernels():
    from spatial_snn.sim import kernels

    warmup()
    assert kernels.advance_networks.signatures, "warmup() left the step kernel uncompiled"
    assert kernels.reset_networks.signatures, "warmup() left the reset kernel uncompiled"


# ------------------------------------------------------------------- reset
def test_initial_state_is_v_reset_and_zero_current(golden_genome):
    gen = golden_genome()
    net = Network([gen], episodes=2)
    for b in range(2):
        v, i = net.state(b)
        np.testing.assert_array_equal(v, gen.v_reset.astype(np.float32))
        np.testing.assert_array_equal(i, 0)


def test_reset_all_restarts_the_same_trajectory():
    net = Network(_genomes(2), episodes=2)
    xs = _inputs(6, 4)
    first = [net.step(x, 8) for x in xs]
    net.reset()
    again = [net.step(x, 8) for x in xs]
    np.testing.assert_array_equal(first, again)
    assert np.abs(first).sum() > 0


def test_reset_mask_resets_only_masked_networks():
    genomes = _genomes(2)
    xs = _inputs(10, 4)
    net, ref = Network(genomes, episodes=2), Network(genomes, episodes=2)
    for x in xs[:5]:
        net.step(x, 8), ref.step(x, 8)
    mask = np.array([True, False, False, True])
    net.reset(mask)
    fresh = Network(genomes, episodes=2)
    for b in np.flatnonzero(mask):  # back to the initial state
        assert _same_state([net.state(b)], [fresh.state(b)])
    np.testing.assert_array_equal(net._clock, np.where(mask, 0, ref._clock))  # sub-step clock
    for b in np.flatnonzero(~mask):  # untouched
        assert _same_state([net.state(b)], [ref.state(b)])
    # masked networks continue like fresh ones (ring buffer and clock cleared too)
    for x in xs[5:]:
        y, y_ref, y_fresh = net.step(x, 8), ref.step(x, 8), fresh.step(x, 8)
        np.testing.assert_array_equal(y[mask], y_fresh[mask])
        np.testing.assert_array_equal(y[~mask], y_ref[~mask])


def test_reset_clears_delayed_spikes_in_flight(golden_genome):
    gen = golden_genome()  # n0 fires at t2; its delay-2 synapse reaches n2 at t4
    net = Network([gen], dt=0.125)
    net.step(np.ones((1, 1)), 3)
    net.reset()
    net.step(np.zeros((1, 1)), 3)  # no input: nothing may arrive
    v, i = net.state(0)
    np.testing.assert_array_equal(i, 0)
    assert net.counters[0, SPIKES] == 1  # the spike at t2 before the reset only


# ------------------------------------------------------------------ masking
def test_inactive_networks_are_untouched_and_cost_nothing():
    net = Network(_genomes(3), episodes=2)
    xs = _inputs(4, 6)
    for x in xs[:2]:
        net.step(x, 8)
    active = np.array([True, False, True, False, False, True])
    before, counters = _state(net), net.counters
    clock = net._clock.copy()
    x = xs[2].copy()
    x[~active] = np.nan  # ignored rows
    y = net.step(x, 8, active)
    after = _state(net)
    np.testing.assert_array_equal(y[~active], 0)
    np.testing.assert_array_equal(net.counters[~active], counters[~active])
    np.testing.assert_array_equal(net._clock[~active], clock[~active])
    for b in np.flatnonzero(~active):
        assert _same_state([after[b]], [before[b]])
    assert (net.counters[active, NEURON_UPDATES] > counters[active, NEURON_UPDATES]).all()


def test_active_networks_ignore_the_others():
    genomes = _genomes(3)
    xs = _inputs(5, 3)
    full, alone = Network(genomes), Network(genomes[1:2])
    active = np.array([False, True, False])
    for x in xs:
        y = full.step(x, 8, active)
        np.testing.assert_array_equal(y[1], alone.step(x[1:2], 8)[0])


# ----------------------------------------------------------------- counters
def test_counters_match_twin_and_degrees():
    genomes = _genomes(3)
    xs = _inputs(20, 3)
    net = Network(genomes)
    for x in xs:
        net.step(x, 10)
    twin = twin_run(genomes, xs, 10)
    c = net.counters
    np.testing.assert_array_equal(c[:, SPIKES], twin["spikes"].sum(axis=(0, 2)))
    np.testing.assert_array_equal(c[:, NEURON_UPDATES], [g.n * 200 for g in genomes])
    for b, g in enumerate(genomes):  # events = spikes x (recurrent + output out-degree)
        conn = build(g)
        degree = np.diff(conn.recurrent.indptr) + np.diff(conn.output.indptr)
        assert c[b, SYN_EVENTS] == (twin["spikes"][:, b] * degree).sum()
    assert c[:, SPIKES].sum() > 0
    net.reset_counters()
    np.testing.assert_array_equal(net.counters, 0)


def test_counters_accumulate_and_are_a_copy():
    net = Network(_genomes(1))
    net.step(np.zeros((1, 5)), 7)
    net.step(np.zeros((1, 5)), 3, np.array([True]))
    c = net.counters
    assert c[0, NEURON_UPDATES] == 40 * 10
    c[:] = -1
    assert net.counters[0, NEURON_UPDATES] == 400
    net.reset()  # reset() does not touch counters
    assert net.counters[0, NEURON_UPDATES] == 400


# ---------------------------------------------------------------- episodes
def test_episodes_share_connectivity_but_not_state():
    genomes = _genomes(2)
    one, three = Network(genomes, episodes=1), Network(genomes, episodes=3)
    assert three.nbytes["connectivity"] == one.nbytes["connectivity"]
    assert three.nbytes["state"] > 2.5 * one.nbytes["state"]
    xs = _inputs(5, 6)
    xs[:, 1] = xs[:, 0]  # episodes 0 and 1 of genome 0 see the same inputs
    ys = np.array([three.step(x, 8) for x in xs])
    np.testing.assert_array_equal(ys[:, 0], ys[:, 1])
    assert not np.array_equal(ys[:, 0], ys[:, 2])  # different inputs, separate state
    three.reset(np.array([True, False, False, False, False, False]))
    assert not _same_state([three.state(0)], [three.state(1)])
    # network b = g * E + e runs genome g
    for g in range(2):
        y = Network([genomes[g]]).step(xs[0, 3 * g : 3 * g + 1], 8)
        np.testing.assert_array_equal(ys[0, 3 * g], y[0])


# ------------------------------------------------------------------ threads
def test_results_do_not_depend_on_thread_count():
    genomes = _genomes(10, seed=5)
    xs = _inputs(10, 50, seed=6)
    runs = []
    for threads in (1, 2):
        set_threads(threads)
        net = Network(genomes, episodes=5)
        ys = [net.step(x, 10, active=(np.arange(50) % 7 != k)) for k, x in enumerate(xs)]
        runs.append((np.array(ys), net.counters, _state(net)))
    np.testing.assert_array_equal(runs[0][0], runs[1][0])
    np.testing.assert_array_equal(runs[0][1], runs[1][1])
    assert _same_state(runs[0][2], runs[1][2])


# --------------------------------------------------------------- validation
def test_genomes_must_share_inputs_and_outputs():
    a = _genomes(1, n_in=5, n_out=3)[0]
    b = _genomes(1, n_in=4, n_out=3)[0]
    with pytest.raises(ValueError, match="n_inputs = 5 and n_outputs = 3.*n_inputs = 4"):
        Network([a, b])


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"genomes": []}, "at least one Genome"),
        ({"episodes": 0}, "episodes: expected an integer >= 1"),
        ({"episodes": 1.5}, "episodes"),
        ({"dt": 0.0}, "dt: expected a finite time step > 0"),
        ({"dt": float("nan")}, "dt"),
    ],
)
def test_constructor_validation(kwargs, match):
    args = {"genomes": _genomes(1), **kwargs}
    with pytest.raises(ValueError, match=match):
        Network(args.pop("genomes"), **args)


def test_constructor_rejects_non_genomes():
    with pytest.raises(TypeError, match=r"genomes\[0\]: expected a Genome"):
        Network(["not a genome"])


def test_step_validation():
    net = Network(_genomes(2))
    ok = np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"expected shape \(2, 5\).*got \(2, 4\)"):
        net.step(np.zeros((2, 4)), 4)
    with pytest.raises(ValueError, match=r"expected shape \(2, 5\).*got \(5,\)"):
        net.step(np.zeros(5), 4)
    bad = ok.copy()
    bad[1, 3] = np.inf
    with pytest.raises(ValueError, match=r"expected finite.*inf at \[1, 3\]"):
        net.step(bad, 4)
    with pytest.raises(ValueError, match="finite"):
        net.step(np.full((2, 5), 1e39), 4)  # beyond float32
    with pytest.raises(ValueError, match="dtype"):
        net.step(np.full((2, 5), "a"), 4)
    for substeps in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="substeps: expected an integer >= 1"):
            net.step(ok, substeps)
    with pytest.raises(ValueError, match=r"active: expected a boolean array of shape \(2,\)"):
        net.step(ok, 4, np.array([1, 0]))
    with pytest.raises(ValueError, match=r"active: expected a boolean array of shape \(2,\)"):
        net.step(ok, 4, np.array([True]))
    with pytest.raises(ValueError, match=r"mask: expected a boolean array"):
        net.reset(np.array([True, False, True]))
    with pytest.raises(ValueError, match="b: expected a network index in 0..1"):
        net.state(2)
    with pytest.raises(ValueError, match="thread count"):
        set_threads(0)
    assert net.counters.sum() == 0  # failed calls ran nothing
