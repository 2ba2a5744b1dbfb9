"""Record one episode of a controller sub-step by sub-step: spikes, potentials, inputs, actions.

The network is stepped one LIF sub-step at a time with the env step's input
held constant, which is what ``Network.step(x, substeps)`` does in one call;
the decoder gets the mean of the per-sub-step outputs. Only the order of the
float32 additions of the output sums differs, so a recorded episode can part
from an unrecorded one with the same seed by rounding (its return is recorded
with it). As in evaluation, only the neurons that touch a synapse are simulated
(an unwired neuron cannot affect the actions); neuron ids stay the genome's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..evo.pruning import connected_neurons
from ..sim.kernels import SPIKES
from ..sim.network import Network
from ..space.genome import Genome
from ..tasks.encoding import invalid_rows, make_decoder, make_encoder
from ..tasks.envs import make_env
from ..tasks.evaluation import Task
from ..tasks.rhythm import make_rhythm


@dataclass(frozen=True, eq=False)
class EpisodeRecord:
    """One recorded episode (``T`` env steps of ``S`` sub-steps each).

    Attributes
    ----------
    observations : (T, obs_dim) float64, the observation each action answered
    inputs : (T, n_in) float32, the encoded input currents' channel values
    actions : (T, ...) the decoder's actions
    spike_times : (k,) int64 sub-step index (``t * S + s``) of every spike
    spike_neurons : (k,) int64 hidden neuron of every spike
    traced : (m,) int64 neurons whose membrane potential is in ``v``
    v : (T * S, m) float32 membrane potential after each sub-step
    counters : (3,) int64 kernel counters ``[spikes, synaptic events, neuron updates]``
    episode_return : float
    substeps : int, dt : float (seconds per sub-step)
    """

    observations: np.ndarray
    inputs: np.ndarray
    actions: np.ndarray
    spike_times: np.ndarray
    spike_neurons: np.ndarray
    traced: np.ndarray
    v: np.ndarray
    counters: np.ndarray
    episode_return: float
    substeps: int
    dt: float

    @property
    def env_steps(self) -> int:
        return int(self.observations.shape[0])


def control_rate(env) -> float:
    """Environment steps per second of simulated time (``env.unwrapped.dt``, or CartPole's ``tau``)."""
    inner = env.unwrapped
    for name in ("dt", "tau"):
        value = getattr(inner, name, None)
        if isinstance(value, int | float) and value > 0:
            return 1.0 / float(value)
    fps = env.metadata.get("render_fps")
    if fps:
        return float(fps)
    raise ValueError(f"{env.spec.id if env.spec else env}: no control time step found (env.unwrapped.dt)")


def _spread_by_activity(counts: np.ndarray, k: int) -> np.ndarray:
    """``k`` neurons at evenly spaced ranks of spike count among those that spiked (ascending ids)."""
    active = np.flatnonzero(counts > 0)
    pool = active if active.size >= k else np.arange(counts.size)
    ranked = pool[np.argsort(-counts[pool], kind="stable")]
    picks = np.unique(np.linspace(0, ranked.size - 1, min(k, ranked.size)).round().astype(int))
    return np.sort(ranked[picks]).astype(np.int64)


def record_episode(
    genome: Genome, task: Task, seed: int, *, trace: int = 4, max_steps: int | None = None
) -> EpisodeRecord:
    """Run one episode of ``genome`` on ``task`` (reset seed ``seed``) and record it.

    Parameters
    ----------
    trace : int
        Membrane potentials are kept for this many neurons, spread over the
        activity ranks of the neurons that spiked (the most active, then
        quieter ones), so the picture shows more than tonic firing.
    max_steps : int or None
        Stop after this many env steps (the environment's limit applies too).
    """
    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps, task.body_xml)
    try:
        enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
        dec = make_decoder(task.decoder, env.action_space)
        prior = make_rhythm(task.decoder, [genome], 1, env.action_space)
        keep = np.flatnonzero(connected_neurons(genome))
        if keep.size == 0:
            keep = np.arange(genome.n)
        net = Network([genome.select_neurons(keep)], dt=task.dt)
        obs, _ = env.reset(seed=int(seed))
        S = int(task.substeps)
        observations, inputs, actions, v_rows, times, neurons = [], [], [], [], [], []
        total, t = 0.0, 0
        while max_steps is None or t < max_steps:
            o = np.asarray(obs, np.float64)[None]
            if invalid_rows(o).any():
                break
            x = enc(o)
            acc = np.zeros((1, genome.n_outputs), np.float32)
            for s in range(S):
                acc += net.step(x, 1)
                spk = net.last_spikes(0)
                times.append(np.full(spk.size, t * S + s, np.int64))
                neurons.append(keep[spk])
                v_rows.append(net.state(0)[0])
            action = dec(acc / np.float32(S))
            action = (action if prior is None else prior(action))[0]
            observations.append(o[0]), inputs.append(np.asarray(x[0], np.float32)), actions.append(action)
            obs, r, terminated, truncated, _ = env.step(action)
            total += float(r)
            t += 1
            if terminated or truncated:
                break
    finally:
        env.close()
    spike_times = np.concatenate(times) if times else np.empty(0, np.int64)
    spike_neurons = np.concatenate(neurons) if neurons else np.empty(0, np.int64)
    v = np.stack(v_rows) if v_rows else np.empty((0, keep.size), np.float32)
    counts = np.bincount(spike_neurons, minlength=genome.n)
    traced = keep[_spread_by_activity(counts[keep], trace)]
    counters = net.counters[0]
    if counters[SPIKES] != spike_neurons.size:  # the raster and the kernel must agree
        raise RuntimeError(f"recorded {spike_neurons.size} spikes, kernel counted {counters[SPIKES]}")
    return EpisodeRecord(
        np.asarray(observations),
        np.asarray(inputs),
        np.asarray(actions),
        spike_times,
        spike_neurons,
        traced,
        v[:, np.searchsorted(keep, traced)],
        counters,
        total,
        S,
        task.dt,
    )
