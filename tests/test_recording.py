"""Recorded episodes: the raster agrees with the kernel's counters and with an unrecorded rollout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from spatial_snn.analysis.metrics import synaptic_events_from_raster
from spatial_snn.analysis.recording import record_episode
from spatial_snn.evo import seeding
from spatial_snn.sim.kernels import SPIKES, SYN_EVENTS
from spatial_snn.sim.network import set_threads
from spatial_snn.store.controller import load_controller
from spatial_snn.tasks.evaluation import rollout

GENOMES = Path(__file__).resolve().parent.parent / "genomes"


def test_synaptic_ops_from_the_raster_equal_the_kernel_counters():
    set_threads(1)
    genome, task, _ = load_controller(GENOMES / "cartpole-3d.h5")  # 285 synapses, busy raster
    seed = int(seeding.rng(0, 5).integers(2**30))
    rec = record_episode(genome, task, seed, max_steps=80)
    assert rec.spike_neurons.size > 100
    assert synaptic_events_from_raster(genome, rec.spike_neurons) == rec.counters[SYN_EVENTS]
    assert rec.counters[SPIKES] == rec.spike_neurons.size
    # the same episode run the evaluation's way (whole env steps, compacted network)
    ev = rollout(task, [genome], [seed], cap=80)
    assert ev.lengths[0, 0] == rec.env_steps
    assert ev.counters[0, SYN_EVENTS] == rec.counters[SYN_EVENTS]
    assert ev.returns[0, 0] == rec.episode_return


def test_traced_neurons_spread_over_activity_and_potentials_are_recorded():
    set_threads(1)
    genome, task, _ = load_controller(GENOMES / "cartpole-2d.h5")
    rec = record_episode(genome, task, seed=3, max_steps=30, trace=3)
    assert rec.v.shape == (30 * task.substeps, 3)
    counts = np.bincount(rec.spike_neurons, minlength=genome.n)
    assert counts[rec.traced].max() == counts.max()  # the most active neuron is among them
    assert len(set(rec.traced.tolist())) == 3
