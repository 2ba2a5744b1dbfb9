"""NeuroBench metrics and energy against values computed by hand on tiny genomes."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_snn.analysis import metrics
from spatial_snn.sim.kernels import NEURON_UPDATES, SPIKES, SYN_EVENTS
from spatial_snn.sim.network import Network
from spatial_snn.space.genome import Genome, Synapses
from spatial_snn.space.rules import ConnectivityRule


def _tiny(rec=((0, 1), (1, 2), (2, 2)), inputs=((0, 0),), outputs=((1, 0),)) -> Genome:
    """Three neurons on a line at 0, 1, 3; two input channels, one output; strength 1 everywhere.

    Neuron 0 crosses threshold on its second sub-step of a constant input 1
    (a_mem = a_syn = 1: v_dec = i, and i = input from the first sub-step on).
    """
    rec, inputs, outputs = (np.array(x, np.int64).reshape(-1, 2) for x in (rec, inputs, outputs))
    return Genome(
        positions=np.array([[0.0], [1.0], [3.0]]),
        input_positions=np.array([[-1.0], [-1.0]]),
        output_positions=np.array([[4.0]]),
        v_th=np.array([0.5, 100.0, 100.0]), v_reset=np.zeros(3), v_leak=np.zeros(3),
        tau_mem_inv=np.full(3, 1000.0), tau_syn_inv=np.full(3, 1000.0),
        sign=np.array([1, -1, 1]), input_sign=np.array([1, 1]),
        input_synapses=Synapses(inputs[:, 0], inputs[:, 1], np.ones(len(inputs))),
        recurrent=Synapses(rec[:, 0], rec[:, 1], np.arange(1.0, len(rec) + 1)),
        output_synapses=Synapses(outputs[:, 0], outputs[:, 1], np.ones(len(outputs))),
        rule=ConnectivityRule(strength_decay=0.0, io_distance=None, self_distance=None),
    )  # fmt: skip


def test_one_spike_counted_by_hand():
    # neuron 0 -> 1 (recurrent) and nothing else: its one spike is 1 synaptic event
    g = _tiny(rec=((0, 1),), outputs=((1, 0),))
    net = Network([g])
    net.step(np.array([[1.0, 0.0]]), 2)
    spikes, events, updates = net.counters[0]
    assert (spikes, events, updates) == (1, 1, 6)  # one spike, one outgoing synapse, 3 neurons x 2
    nb = metrics.neurobench(
        g,
        spikes=spikes,
        syn_events=events,
        neuron_updates=updates,
        env_steps=1,
        substeps=2,
        control_rate=50.0,
        nonzero_fraction=[1.0, 0.0],
    )
    assert nb["acs_per_step"] == 1.0
    assert nb["macs_per_step"] == 1.0  # channel 0 non-zero, one input weight
    assert nb["synaptic_ops_per_step"] == 2.0
    assert nb["activation_sparsity"] == pytest.approx(5 / 6)
    assert nb["neuron_updates_per_step"] == 6.0
    assert nb["execution_rate_hz"] == 100.0


def test_raster_recorded_one_substep_at_a_time_matches_the_counters():
    g = _tiny(outputs=((0, 0), (1, 0)))
    net = Network([g])
    raster = []
    for _ in range(2):
        net.step(np.array([[1.0, 0.0]]), 1)
        raster.append(net.last_spikes(0))
    assert [r.tolist() for r in raster] == [[], [0]]
    # neuron 0 has one recurrent and one output synapse
    assert metrics.synaptic_events_from_raster(g, np.concatenate(raster)) == 2
    assert net.counters[0, SYN_EVENTS] == 2 and net.counters[0, SPIKES] == 1
    assert net.counters[0, NEURON_UPDATES] == 6


def test_last_spikes_needs_a_single_substep():
    net = Network([_tiny()])
    with pytest.raises(ValueError, match="substeps=1"):
        net.last_spikes(0)
    net.step(np.ones((1, 2)), 2)
    with pytest.raises(ValueError, match="substeps=1"):
        net.last_spikes(0)


def test_connection_sparsity_excludes_self_connections():
    g = _tiny()  # 1 input, 3 recurrent (one self-loop), 1 output synapse
    possible = 2 * 3 + 3 * 2 + 3 * 1  # inputs x n + n (n - 1) + n x outputs = 15
    assert metrics.connection_sparsity(g) == pytest.approx(1 - 4 / possible)


def test_weights_counted_all_and_on_path():
    # neuron 2 gets no input: 1 -> 2 and 2 -> 2 are off every input -> output path
    g = _tiny(outputs=((1, 0),))
    assert metrics.weight_counts(g) == {"nonzero_weights": 5, "on_path_weights": 3}


def test_footprint_by_hand_matches_the_network_layout():
    g = _tiny()
    # params: in_ptr 3 x 8, 1 input synapse x 8, syn_ptr 4 x 8, syn_mid 3 x 8, 4 row synapses x 8, 5 x 3 x 4
    params = 24 + 8 + 32 + 24 + 32 + 60
    buffers = 4 * 4 * 3 + 4 * (2 * 3 + 1) + 8  # v, i, cur, spk; ring (1 delay + 1) x n + out; clock
    assert metrics.footprint_bytes(g) == {"parameters": params, "buffers": buffers, "total": params + buffers}
    nb = Network([g]).nbytes
    assert nb["connectivity"] == params and nb["state"] == buffers


def test_macs_weight_channels_by_their_nonzero_share():
    g = _tiny(inputs=((0, 0), (0, 1), (1, 2)))
    assert metrics.input_fan_out(g).tolist() == [2, 1]
    assert metrics.macs_per_step(g, [0.5, 1.0]) == 2.0
    with pytest.raises(ValueError, match="one per input channel"):
        metrics.macs_per_step(g, [1.0])


def test_energy_by_hand_and_constants_overridable():
    e = metrics.energy(acs=10.0, macs=2.0, control_rate=100.0)
    assert e["energy_ops_45nm_pj_per_step"] == pytest.approx(10 * 0.9 + 2 * 4.6)
    assert e["energy_neuromorphic_pj_per_step"] == pytest.approx(12 * 23.6)
    assert e["energy_memory_inclusive_pj_per_step"] == pytest.approx(18.2 + 12 * 10.0)
    assert e["power_ops_45nm_uw"] == pytest.approx(18.2 * 100 * 1e-6)
    c = metrics.EnergyConstants(e_add=1.0, e_mac=0.0, e_sop=2.0, e_read=0.0)
    e = metrics.energy(acs=10.0, macs=2.0, control_rate=1.0, constants=c)
    assert e["energy_ops_45nm_pj_per_step"] == 10.0 and e["energy_neuromorphic_pj_per_step"] == 24.0
    with pytest.raises(ValueError, match="e_read"):
        metrics.EnergyConstants(e_read=-1.0)


def test_neurobench_rejects_impossible_counters():
    with pytest.raises(ValueError, match="env_steps"):
        metrics.neurobench(
            _tiny(),
            spikes=0,
            syn_events=0,
            neuron_updates=0,
            env_steps=0,
            substeps=1,
            control_rate=1.0,
            nonzero_fraction=[1.0, 1.0],
        )
    with pytest.raises(ValueError, match="spikes <= neuron_updates"):
        metrics.neurobench(
            _tiny(),
            spikes=5,
            syn_events=0,
            neuron_updates=2,
            env_steps=1,
            substeps=1,
            control_rate=1.0,
            nonzero_fraction=[1.0, 1.0],
        )


def test_hook_count_recounts_the_held_input_every_substep_by_hand():
    # neuron 0 -> 1 and -> output: out-degree 2; constant input [1, 0] over 2 env steps of 2 sub-steps
    g = _tiny(rec=((0, 1),), outputs=((0, 0), (1, 0)))
    net = Network([g])
    x = np.array([[1.0, 0.0]])
    raster = np.zeros((4, g.n), bool)
    for t in range(4):
        net.step(x, 1)
        raster[t, net.last_spikes(0)] = True
    # a_mem = a_syn = 1: v = previous i, so neuron 0 fires from its second sub-step on: 3 spikes
    assert raster[:, 0].tolist() == [False, True, True, True] and not raster[:, 1:].any()
    hooks = metrics.hook_counts(g, np.repeat(x, 4, axis=0), raster, substeps=2)
    assert hooks["macs_per_step"] == 2.0  # channel 0, one input weight, 2 sub-steps per env step
    assert hooks["acs_per_step"] == 3.0  # 3 spikes x 2 outgoing synapses / 2 env steps
    spikes, events, updates = net.counters[0]
    nb = metrics.neurobench(
        g,
        spikes=spikes,
        syn_events=events,
        neuron_updates=updates,
        env_steps=2,
        substeps=2,
        control_rate=50.0,
        nonzero_fraction=[1.0, 0.0],
    )
    assert nb["acs_per_step"] == hooks["acs_per_step"]  # the kernel counts every spike's synapses too
    assert nb["macs_per_step"] == 1.0  # the kernel multiplies the held input once per env step
    assert nb["macs_per_step_hooks"] == hooks["macs_per_step"]
    assert nb["synaptic_ops_per_step_hooks"] == hooks["synaptic_ops_per_step"] == 5.0
    assert nb["synaptic_ops_per_step"] == 4.0
    with pytest.raises(ValueError, match="whole number"):
        metrics.hook_counts(g, np.repeat(x, 3, axis=0), raster[:3], substeps=2)
