"""Golden traces for NIR exports, and NIR files with a trace inside.

A golden trace is one recorded episode of a controller, sub-step by
sub-step, as ``nir.NIRGraphData`` keyed by the graph's node names:

* ``input``: ``current`` ``(1, T * S, n_in)`` float32, the encoded
  observation fed at every sub-step (constant over the ``S`` sub-steps of
  an environment step);
* ``lif``: ``spikes`` ``(1, T * S, n)`` bool, ``v`` and ``i`` ``(1, T * S,
  n)`` float32, the state after each sub-step (after reset, after the
  step's input is added to ``i``);
* ``output``: ``current`` ``(1, T * S, n_out)``, the weighted spikes of each
  sub-step; ``mean`` ``(1, T, n_out)``, their mean over an environment step;
  ``action`` ``(1, T, act_dim)``, what the decoder made of it (time step
  ``S * dt``).

The sub-step recording comes from a plain-numpy twin of the kernel
(:class:`_Twin`); the episode's actions come from the kernel itself, and the
two must agree bit for bit at every step, or :func:`golden_trace` raises.
"""

from __future__ import annotations

import os

import numpy as np

from ..sim.network import Network
from ..space.connectivity import build
from ..space.genome import Genome
from ..tasks.encoding import make_decoder, make_encoder
from ..tasks.envs import make_env
from ..tasks.evaluation import Task
from ..tasks.rhythm import make_rhythm

__all__ = ["golden_trace", "write_nir"]


class _Twin:
    """The kernel's update (``spatial_snn.sim.kernels``) in numpy, one network, dense weights.

    Same float32 operations in the same order as the kernel: input current
    summed over channels in ascending order, spikers delivered in ascending
    order, so states and outputs are bit-identical to ``Network``.
    """

    def __init__(self, genome: Genome, dt: float):
        f32 = np.float32
        conn = build(genome)
        n = genome.n
        self.slots = genome.rule.delay_slots
        self.a_mem = (dt * genome.tau_mem_inv).astype(f32)
        self.a_syn = (dt * genome.tau_syn_inv).astype(f32)
        self.leak, self.th, self.vr = (getattr(genome, k).astype(f32) for k in ("v_leak", "v_th", "v_reset"))
        self.w_in = conn.input.toarray()  # (n_in, n)
        rec = conn.recurrent.tocoo()
        self.w_rec = np.zeros((self.slots, n, n), f32)  # [delay, pre, post]
        self.w_rec[conn.delays.astype(np.int64), rec.row, rec.col] = rec.data
        self.delays = np.unique(conn.delays).astype(np.int64)
        self.w_out = conn.output.toarray()  # (n, n_out)
        self.v, self.i = self.vr.copy(), np.zeros(n, f32)
        self.buf = np.zeros((self.slots, n), f32)
        self.clock = 0

    def step(self, x: np.ndarray, substeps: int):
        """Advance ``substeps`` with input ``x`` (n_in,) float32; return (mean output, per-sub-step records)."""
        f32 = np.float32
        n = self.v.size
        cur = np.zeros(n, f32)
        for c in range(x.size):
            cur += x[c] * self.w_in[c]
        total = np.zeros(self.w_out.shape[1], f32)
        rec = {k: np.zeros((substeps, n), bool if k == "spikes" else f32) for k in ("spikes", "v", "i")}
        rec["out"] = np.zeros((substeps, total.size), f32)
        for s in range(substeps):
            slot = self.clock % self.slots
            v, i = self.v, self.i
            v_dec = v + self.a_mem * ((self.leak - v) + i)
            i_dec = i - self.a_syn * i
            z = v_dec > self.th
            self.v = np.where(z, self.vr, v_dec)
            self.i = (i_dec + cur) + self.buf[slot]
            self.buf[slot] = 0
            for j in np.flatnonzero(z):
                for d in self.delays:
                    self.buf[(slot + d) % self.slots] += self.w_rec[d, j]
                total += self.w_out[j]
                rec["out"][s] += self.w_out[j]
            rec["spikes"][s], rec["v"][s], rec["i"][s] = z, self.v, self.i
            self.clock += 1
        return total / f32(substeps), rec


def golden_trace(genome: Genome, task: Task, *, seed: int = 0, steps: int = 200):
    """One episode (reset seed ``seed``, at most ``steps`` environment steps) as ``nir.NIRGraphData``.

    Raises
    ------
    RuntimeError
        The numpy twin and the kernel disagree (a bug, never expected).
    """
    import nir

    if isinstance(steps, bool) or int(steps) != steps or steps < 1:
        raise ValueError(f"steps: expected an integer >= 1, got {steps!r}")
    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps, task.body_xml)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    prior = make_rhythm(task.decoder, [genome], 1, env.action_space)  # the env sees the whole controller
    net, twin = Network([genome], dt=task.dt), _Twin(genome, task.dt)
    obs, _ = env.reset(seed=int(seed))
    log = {k: [] for k in ("x", "spikes", "v", "i", "out", "mean", "action")}
    for t in range(int(steps)):
        x = enc(np.asarray(obs, np.float64)[None])
        y = net.step(x, task.substeps)
        y_twin, rec = twin.step(x[0], task.substeps)
        if not np.array_equal(y[0], y_twin):
            raise RuntimeError(f"golden trace: numpy twin and kernel disagree at step {t} ({y[0]} vs {y_twin})")
        action = (dec(y) if prior is None else prior(dec(y)))[0]
        log["x"].append(np.repeat(x, task.substeps, axis=0))
        for k in ("spikes", "v", "i", "out"):
            log[k].append(rec[k])
        log["mean"].append(y[0])
        log["action"].append(np.atleast_1d(action))
        obs, _, terminated, truncated, _ = env.step(action)
        if terminated or truncated or not np.all(np.isfinite(obs)):
            break
    env.close()

    def grid(key, dt):
        return nir.TimeGriddedData(
            np.stack(log[key])[None] if key in ("mean", "action") else np.concatenate(log[key])[None], dt
        )

    sub, env_dt = task.dt, task.dt * task.substeps
    return nir.NIRGraphData(
        nodes={
            "input": nir.NIRNodeData({"current": grid("x", sub)}),
            "lif": nir.NIRNodeData({"spikes": grid("spikes", sub), "v": grid("v", sub), "i": grid("i", sub)}),
            "output": nir.NIRNodeData(
                {"current": grid("out", sub), "mean": grid("mean", env_dt), "action": grid("action", env_dt)}
            ),
        }
    )


def write_nir(path, graph, trace=None, *, overwrite: bool = False, inputs=()) -> None:
    """Write ``graph`` (and optionally a golden ``trace``) to one HDF5 file.

    The file is what ``nir.write`` writes; a ``nir.NIRGraphData`` trace is
    added in ``nir.write_data``'s layout (root attribute ``__type__`` and group
    ``nodes``, beside the graph's ``version`` and ``node``), so
    ``nir.read(path)`` and ``nir.read_data(path)`` both read the one file.
    Written to a temporary file and renamed: a reader never sees half a file.
    ``inputs``: files the caller read, never replaced.
    """
    import io

    import h5py
    import nir

    from .durable import write_bytes
    from .targets import NIR_KIND, check_replace  # only a NIR file is replaced, never a device, a run or a folder

    path = os.fspath(path)
    check_replace(path, NIR_KIND, overwrite=overwrite, inputs=inputs)

    # built in memory, written by Python: a full disk or a file-size limit is an OSError, not a crash
    graph_buf = io.BytesIO()
    nir.write(graph_buf, graph)
    if trace is not None:
        data_buf = io.BytesIO()
        nir.write_data(data_buf, trace)
        data_buf.seek(0)
        graph_buf.seek(0)
        with h5py.File(data_buf, "r") as src, h5py.File(graph_buf, "a") as dst:
            for key, value in src.attrs.items():
                dst.attrs[key] = value
            for key in src:
                src.copy(src[key], dst, name=key)
    tmp = f"{path}.tmp{os.getpid()}"
    write_bytes(tmp, graph_buf.getvalue())  # a new file, or FileExistsError: nothing of anyone else's is removed
    try:
        os.replace(tmp, path)
    finally:
        if os.path.lexists(tmp):  # ours: written above, not yet renamed
            os.unlink(tmp)
