"""Efficiency metrics of a controller, as NeuroBench defines them, and energy estimates.

Definitions follow the NeuroBench metrics documentation, v2.3
(github.com/NeuroBench/neurobench, ``docs/metrics``), with one "sample" = one
environment step and one "forward pass" = one LIF sub-step:

* synaptic operations per env step, split into
  **ACs** (accumulates: a binary input, a spike, times a non-zero weight) =
  spikes x outgoing non-zero synapses (recurrent and output), and
  **MACs** (multiply-accumulates: a non-binary input times a non-zero weight) =
  the current-coded input channels that are non-zero x their non-zero input
  weights. Our kernel computes the input current once per env step (it is
  constant over the sub-steps), so the MACs are counted once per env step
  (the *kernel count*). A NeuroBench hook count over the ``S`` sub-steps
  sees the held input in every forward pass and counts its MACs ``S`` times
  (the *hook count*, :func:`hook_counts`); both are reported, labelled;
* activation sparsity = silent neuron-sub-steps / all neuron-sub-steps;
* connection sparsity = zero weights / all possible weights, recurrent
  self-connections excluded from both counts;
* footprint = bytes of the parameters and buffers the kernel keeps for one
  network at inference (sparse storage, so zeros are not stored);
* neuron updates per env step (neurons x sub-steps);
* execution rate = env control rate (Hz) x sub-steps: the LIF sub-steps per
  second of real time the controller needs to keep up with its body.

Energy (:class:`EnergyConstants`) is estimated three ways: operations at 45 nm
(ACs x ``e_add`` + MACs x ``e_mac``), synaptic operations on a neuromorphic chip
((ACs + MACs) x ``e_sop``), and the 45 nm figure plus one 64-bit SRAM read per
synaptic operation (``e_read``: every operation fetches its weight and target).
Counting operations alone flatters sparse spiking networks; the memory term
says by how much.

Everything here is a pure function of a genome and counts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..evo.pruning import prune
from ..space.genome import Genome

#: The NeuroBench documentation version these definitions follow.
NEUROBENCH_VERSION = "2.3"


@dataclass(frozen=True)
class EnergyConstants:
    """Energy per operation in picojoules, with their sources.

    Parameters
    ----------
    e_add : float
        32-bit float add at 45 nm: 0.9 pJ (Horowitz, ISSCC 2014).
    e_mac : float
        32-bit float multiply (3.7 pJ) + add (0.9 pJ) at 45 nm: 4.6 pJ (Horowitz 2014).
    e_sop : float
        Energy per synaptic operation on a neuromorphic chip: 23.6 pJ, Intel
        Loihi (Davies et al., IEEE Micro 2018), taken from a secondary source
        and not verified against the paper here.
    e_read : float
        One 64-bit read from an 8 KB on-chip SRAM at 45 nm: 10 pJ (Horowitz
        2014). A synapse entry is 64 bits (target and weight, 4 bytes each);
        larger memories cost more (32 KB: 20 pJ, 1 MB: 100 pJ, DRAM 1.3-2.6 nJ).
    """

    e_add: float = 0.9
    e_mac: float = 4.6
    e_sop: float = 23.6
    e_read: float = 10.0

    def __post_init__(self):
        for name, value in asdict(self).items():
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise ValueError(f"energy.{name}: expected a finite number of picojoules >= 0, got {value!r}")


def on_path_genome(genome: Genome) -> Genome:
    """The genome with only the synapses on some input -> ... -> output path (``prune``)."""
    return prune(genome)


def weight_counts(genome: Genome) -> dict[str, int]:
    """Non-zero weights counted two ways: all of them, and those on an input -> output path."""
    on_path = on_path_genome(genome)
    return {"nonzero_weights": genome.n_synapses, "on_path_weights": on_path.n_synapses}


def connection_sparsity(genome: Genome) -> float:
    """Zero weights / all possible weights, recurrent self-connections excluded.

    ``possible = n_in n + n (n - 1) + n n_out``; ``non-zero = synapses - self-loops``.
    """
    n, n_in, n_out = genome.n, genome.n_inputs, genome.n_outputs
    possible = n_in * n + n * (n - 1) + n * n_out
    if possible == 0:
        return 1.0
    rec = genome.recurrent
    nonzero = genome.n_synapses - int(np.count_nonzero(rec.pre == rec.post))
    return 1.0 - nonzero / possible


def footprint_bytes(genome: Genome) -> dict[str, int]:
    """Bytes the kernel keeps for one network of ``genome`` (as :class:`~spatial_snn.sim.network.Network` lays it out).

    Parameters: input CSR (``(n_in + 1)`` int64 pointers, int32 targets,
    float32 weights), outgoing rows (``(n + 1)`` int64 pointers, ``n`` int64
    midpoints, one 64-bit (target, weight) pair per recurrent or output
    synapse) and five float32 neuron parameters. Buffers: ``v, i``, input
    current and spike scratch (4 bytes each per neuron), the delay ring
    ``D n + n_out`` float32 and a 64-bit clock.
    """
    n, n_in, n_out = genome.n, genome.n_inputs, genome.n_outputs
    s_in = len(genome.input_synapses)
    s_row = len(genome.recurrent) + len(genome.output_synapses)
    params = 8 * (n_in + 1) + 8 * s_in + 8 * (n + 1) + 8 * n + 8 * s_row + 5 * 4 * n
    buffers = 4 * 4 * n + 4 * (genome.rule.delay_slots * n + n_out) + 8
    return {"parameters": params, "buffers": buffers, "total": params + buffers}


def input_fan_out(genome: Genome) -> np.ndarray:
    """Non-zero input weights of each input channel, ``(n_in,)`` int64."""
    return np.bincount(genome.input_synapses.pre, minlength=genome.n_inputs).astype(np.int64)


def macs_per_step(genome: Genome, nonzero_fraction) -> float:
    """MACs per env step: ``sum_c nonzero_fraction[c] * fan_out[c]``.

    ``nonzero_fraction`` (n_in,): the share of env steps on which channel
    ``c``'s encoded input was non-zero.
    """
    frac = np.asarray(nonzero_fraction, np.float64)
    if frac.shape != (genome.n_inputs,):
        raise ValueError(
            f"nonzero_fraction: expected shape ({genome.n_inputs},) (one per input channel), got {frac.shape}"
        )
    return float(frac @ input_fan_out(genome))


def neurobench(
    genome: Genome,
    *,
    spikes: int,
    syn_events: int,
    neuron_updates: int,
    env_steps: int,
    substeps: int,
    control_rate: float,
    nonzero_fraction,
) -> dict:
    """The NeuroBench metrics of a controller from its kernel counters.

    Parameters
    ----------
    spikes, syn_events, neuron_updates : int
        Kernel counters summed over the episodes (``Network.counters``).
    env_steps : int
        Environment steps in those episodes.
    substeps : int
        LIF sub-steps per env step.
    control_rate : float
        Environment steps per second of simulated real time (Hz).
    nonzero_fraction : (n_in,) float
        Share of env steps on which each encoded input channel was non-zero.
    """
    if env_steps < 1:
        raise ValueError(f"env_steps: expected >= 1 to average over, got {env_steps}")
    if neuron_updates < spikes or spikes < 0:
        raise ValueError(f"counters: expected 0 <= spikes <= neuron_updates, got {spikes} and {neuron_updates}")
    acs = syn_events / env_steps
    macs = macs_per_step(genome, nonzero_fraction)
    return {
        "synaptic_ops_per_step": acs + macs,
        "acs_per_step": acs,
        "macs_per_step": macs,
        # a NeuroBench hook count over the sub-steps: the held input is multiplied again in every forward pass
        "synaptic_ops_per_step_hooks": acs + macs * substeps,
        "macs_per_step_hooks": macs * substeps,
        "spikes_per_step": spikes / env_steps,
        "activation_sparsity": 1.0 - spikes / neuron_updates if neuron_updates else 1.0,
        "connection_sparsity": connection_sparsity(genome),
        "footprint_bytes": footprint_bytes(genome)["total"],
        "neuron_updates_per_step": neuron_updates / env_steps,
        "execution_rate_hz": control_rate * substeps,
        **weight_counts(genome),
    }


def energy(acs: float, macs: float, control_rate: float, constants: EnergyConstants | None = None) -> dict:
    """Energy per env step (pJ) and power in real time (microwatts), three ways.

    ``ops_45nm = ACs e_add + MACs e_mac``; ``neuromorphic = (ACs + MACs) e_sop``;
    ``memory_inclusive = ops_45nm + (ACs + MACs) e_read``. Power = energy per
    step x control rate.
    """
    c = constants or EnergyConstants()
    per_step = {
        "ops_45nm": acs * c.e_add + macs * c.e_mac,
        "neuromorphic": (acs + macs) * c.e_sop,
    }
    per_step["memory_inclusive"] = per_step["ops_45nm"] + (acs + macs) * c.e_read
    out = {f"energy_{k}_pj_per_step": v for k, v in per_step.items()}
    out.update({f"power_{k}_uw": v * control_rate * 1e-6 for k, v in per_step.items()})
    out["energy_constants_pj"] = asdict(c)
    return out


def hook_counts(genome: Genome, inputs, spikes, substeps: int) -> dict[str, float]:
    """ACs and MACs per env step counted as NeuroBench's hooks count them: every forward pass (sub-step).

    ``inputs`` ``(T * S, n_in)``: the encoded current fed at each sub-step;
    ``spikes`` ``(T * S, n)``: the spike raster. In each sub-step a non-zero
    input channel costs one MAC per non-zero input weight, and a spike one AC
    per outgoing (recurrent or output) synapse::

        MACs = sum_t sum_c [x_tc != 0] fan_out_c      ACs = sum_t sum_i z_ti out_degree_i

    divided by the ``T`` env steps.
    """
    x, z = np.asarray(inputs), np.asarray(spikes, bool)
    if x.ndim != 2 or x.shape[1] != genome.n_inputs or z.shape != (x.shape[0], genome.n):
        raise ValueError(
            f"inputs, spikes: expected shapes (T*S, {genome.n_inputs}) and (T*S, {genome.n}), "
            f"got {x.shape} and {z.shape}"
        )
    if x.shape[0] < substeps or x.shape[0] % substeps:
        raise ValueError(
            f"inputs: expected a whole number (>= 1) of env steps of {substeps} sub-steps, got {x.shape[0]} sub-steps"
        )
    steps = x.shape[0] // substeps
    out_degree = np.bincount(genome.recurrent.pre, minlength=genome.n) + np.bincount(
        genome.output_synapses.pre, minlength=genome.n
    )
    macs = float((x != 0).sum(axis=0) @ input_fan_out(genome))
    acs = float(z.sum(axis=0) @ out_degree)
    return {"acs_per_step": acs / steps, "macs_per_step": macs / steps, "synaptic_ops_per_step": (acs + macs) / steps}


def synaptic_events_from_raster(genome: Genome, spike_neurons) -> int:
    """Synaptic events recomputed from a raster: sum over spikes of the spiker's
    recurrent + output synapse count (what the kernel's ``SYN_EVENTS`` counts)."""
    idx = np.asarray(spike_neurons, np.int64)
    out_degree = np.bincount(genome.recurrent.pre, minlength=genome.n) + np.bincount(
        genome.output_synapses.pre, minlength=genome.n
    )
    return int(out_degree[idx].sum())
