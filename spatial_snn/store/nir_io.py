"""Controllers <-> NIR graphs (the Neuromorphic Intermediate Representation).

Mapping of a genome (``docs/nir.md`` has the full account)::

    input --> w_in --> lif --> w_out --> output
                       ^  |
                       |  +--> w_rec ----------------------+
                       |  +--> w_rec_d3 --> delay_d3 ------+   one branch per
                       +-----------------------------------+   delay value > 1

* ``lif``: one ``CubaLIF`` over the ``n`` hidden neurons with per-neuron
  arrays ``tau_mem = 1 / tau_mem_inv``, ``tau_syn = 1 / tau_syn_inv`` (s),
  ``r = 1``, ``w_in = tau_syn / dt``, ``v_leak``, ``v_threshold``, ``v_reset``.
  With forward Euler at ``dt``, ``tau_syn dI/dt = -I + w_in x`` becomes
  ``I <- I - dt/tau_syn I + x``: the weighted input enters the current
  unscaled, as in our kernel.
* ``w_in`` ``(n, n_in)``, ``w_rec*`` ``(n, n)``, ``w_out`` ``(n_out, n)``:
  ``Linear`` nodes holding the effective weights ``weight * strength(d) *
  sign[pre]`` (float32, as the kernel uses them).
* Delays: a cycle ``lif -> w_rec -> lif`` costs one step of ``dt`` in a
  discrete-time simulator (a spike at step t enters the current at t + 1),
  which is our one-sub-step delay. A synapse of ``d > 1`` sub-steps sits in
  branch ``w_rec_d{d} -> delay_d{d}`` with ``Delay.delay = (d - 1) dt``.
* ``output``: the non-spiking output units receive ``w_out z`` every
  sub-step; the decoder acts on their mean over the ``substeps`` sub-steps of
  an environment step.

Graph metadata carries what NIR has no field for: the task (environment,
encoder, decoder, sub-steps, dt, observation bounds) as JSON, the
connectivity rule, neuron positions and signs, and a rhythm generator's
genes (``rhythm``, with its equations in ``rhythm_model``) when the decoder
has one: NIR has no oscillator primitive, and like the decoder the rhythm
acts after the Output node (``docs/bodies.md``).
:func:`~spatial_snn.store.nir_import.from_nir` rebuilds a genome whose
kernel arrays equal the exported ones bit for bit.
"""

from __future__ import annotations

import dataclasses
import json

import numpy as np

from ..space.connectivity import build
from ..space.genome import Genome
from ..tasks.envs import make_env
from ..tasks.evaluation import Task, task_from_meta, task_meta

__all__ = ["FORMAT", "NIRImportError", "RHYTHM_MODEL", "to_nir"]

#: How ``metadata["rhythm"]`` drives the actions (spatial_snn.space.rhythm, in words).
RHYTHM_MODEL = (
    "genes [f, k, A_0..A_m-1, phi_0..phi_m-1, c_0..c_m-1], one phase oscillator per action dimension; "
    "theta_j = 0 at an episode's start; per environment step the rhythm is r_j = c_j + A_j sin(theta_j), "
    "then theta_j <- theta_j + 2 pi f + (k / m) sum_i sin(theta_i - theta_j - (phi_i - phi_j)); f in cycles "
    "per environment step, k in rad per step, A and c in normalised action units"
)

#: ``metadata["format"]`` of graphs written by :func:`to_nir`.
FORMAT = "spatial-snn"
NIR_FORMAT_VERSION = 1


class NIRImportError(ValueError):
    """A NIR graph this package cannot represent; the message names the node."""


def nir_package():
    try:
        import nir
    except ImportError as exc:  # declared in pyproject; a broken install says so
        raise ImportError("the 'nir' package is needed for NIR export/import: pip install 'nir>=1.0'") from exc
    return nir


def _reciprocal(x: np.ndarray, dt: float) -> np.ndarray:
    """``t ~= 1 / x`` (float64) chosen so that the import's ``1 / t`` runs the same kernel.

    ``1 / (1 / x)`` misses ``x`` by one ulp for some values, and for some no
    float64 ``t`` inverts exactly. Among ``1 / x`` and its neighbours within
    4 ulps, ``t`` is the first with ``1 / t == x``, else the first with
    ``float32(dt / t) == float32(dt * x)`` (the kernel's ``a = dt * tau_inv``
    in float32), so the import is spike-exact. ``x = 0`` gives ``inf``.
    """
    x = np.asarray(x, np.float64)
    with np.errstate(divide="ignore"):
        t0 = 1.0 / x
        cands = [t0]
        for k in range(1, 5):
            for direction in (np.inf, -np.inf):
                c = t0
                for _ in range(k):
                    c = np.nextafter(c, direction)
                cands.append(c)
        t = t0.copy()
        for test in (lambda c: (1.0 / c) == x, lambda c: np.float32(dt * (1.0 / c)) == np.float32(dt * x)):
            done = test(t)
            for c in cands:
                hit = ~done & test(c)
                t[hit], done = c[hit], done | hit
    return t


def _action_space(task: Task) -> dict:
    """The task's action space as JSON-able data (what a decoder needs without gymnasium)."""
    from gymnasium import spaces

    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps, task.body_xml)
    space = env.action_space
    env.close()
    if isinstance(space, spaces.Discrete):
        return {"kind": "discrete", "n": int(space.n), "start": int(space.start)}
    return {"kind": "box", "low": np.asarray(space.low, float).tolist(), "high": np.asarray(space.high, float).tolist()}


# ------------------------------------------------------------------ export
def to_nir(genome: Genome, task: Task):
    """The controller ``(genome, task)`` as a ``nir.NIRGraph``.

    Parameters
    ----------
    genome : Genome
    task : Task or dict
        Its environment, codec, sub-steps and ``dt`` (stored as metadata); a
        dict is the task a genome file stores (``load_genome(path)[1]["task"]``).

    Returns
    -------
    nir.NIRGraph
        Nodes ``input``, ``w_in``, ``lif``, ``w_rec``, ``w_rec_d{d}`` and
        ``delay_d{d}`` per delay ``d > 1``, ``w_out``, ``output``.
    """
    nir = nir_package()
    if not isinstance(genome, Genome):
        raise TypeError(f"genome: expected a Genome, got {type(genome).__name__}")
    if isinstance(task, dict):  # the task as a genome file stores it
        task = task_from_meta(task)
    if not isinstance(task, Task):
        raise TypeError(f"task: expected a Task (or a genome file's meta['task'] dict), got {type(task).__name__}")
    if genome.plastic:
        raise ValueError(
            "genome: has short-term plasticity, and NIR has no plasticity primitive; a plastic "
            "network cannot be exported to NIR (export it as a genome file, --to genomes/NAME.h5)"
        )
    if genome.n == 0:
        raise ValueError("genome: expected at least one hidden neuron, got 0; there is nothing to export")
    if np.any(genome.tau_syn_inv == 0):
        k = int(np.flatnonzero(genome.tau_syn_inv == 0)[0])
        raise ValueError(
            f"genome.tau_syn_inv: expected values > 0 for NIR export, got 0 at neuron {k}; a synaptic "
            "current that never decays has no CubaLIF form (w_in = tau_syn / dt would be infinite)"
        )
    dt = float(task.dt)
    n, n_in, n_out = genome.n, genome.n_inputs, genome.n_outputs
    conn = build(genome)
    f32 = np.float32
    tau_syn = _reciprocal(genome.tau_syn_inv, dt)
    nodes = {
        "input": nir.Input(input_type={"input": np.array([n_in])}),
        "w_in": nir.Linear(weight=conn.input.T.toarray().astype(f32)),
        "lif": nir.CubaLIF(
            tau_syn=tau_syn,
            tau_mem=_reciprocal(genome.tau_mem_inv, dt),
            r=np.ones(n),
            v_leak=genome.v_leak.copy(),
            v_threshold=genome.v_th.copy(),
            v_reset=genome.v_reset.copy(),
            w_in=tau_syn / dt,
        ),
        "w_out": nir.Linear(weight=conn.output.T.toarray().astype(f32)),
        "output": nir.Output(output_type={"output": np.array([n_out])}),
    }
    edges = [("input", "w_in"), ("w_in", "lif"), ("lif", "w_out"), ("w_out", "output")]
    rec = conn.recurrent.tocoo()
    delays = conn.delays.astype(np.int64)
    for d in sorted({1, *np.unique(delays).tolist()}):
        w = np.zeros((n, n), f32)
        pick = delays == d
        w[rec.col[pick], rec.row[pick]] = rec.data[pick]
        if d == 1:
            nodes["w_rec"] = nir.Linear(weight=w)
            edges += [("lif", "w_rec"), ("w_rec", "lif")]
        else:
            nodes[f"w_rec_d{d}"] = nir.Linear(weight=w)
            nodes[f"delay_d{d}"] = nir.Delay(delay=np.full(n, (d - 1) * dt))
            edges += [("lif", f"w_rec_d{d}"), (f"w_rec_d{d}", f"delay_d{d}"), (f"delay_d{d}", "lif")]
    metadata = {
        "format": FORMAT,
        "format_version": NIR_FORMAT_VERSION,
        "dt": dt,
        "substeps": int(task.substeps),
        "readout": "action = decoder(mean over the substeps of an environment step of the Output node)",
        "delay_convention": "a cycle lif -> Linear -> lif costs one step of dt; Delay adds (d - 1) dt",
        "update_order": "Norse <= 1.0: v from the previous current, then current decays, spike if v > "
        "v_threshold (reset), then the step's weighted input is added to the current",
        "integration": "forward Euler at dt for both equations (decay factors 1 - dt/tau, not exp(-dt/tau))",
        "reset": "to v_reset (not by subtracting the threshold); at most one spike per neuron per step; a spike "
        "is a 1 in its step (a Dirac of area dt)",
        "initial_state": "v = v_reset, I = 0, no spikes in flight",
        "task": json.dumps(task_meta(task)),
        "action_space": json.dumps(_action_space(task)),
        "rule": json.dumps(dataclasses.asdict(genome.rule)),
        "positions": genome.positions.copy(),
        "input_positions": genome.input_positions.copy(),
        "output_positions": genome.output_positions.copy(),
        "sign": genome.sign.astype(np.int8),
        "input_sign": genome.input_sign.astype(np.int8),
    }
    if genome.rhythm is not None:  # not a NIR node: it acts after the readout, as the decoder does
        metadata["rhythm"] = genome.rhythm.copy()
        metadata["rhythm_model"] = RHYTHM_MODEL
        metadata["readout"] = (
            "action = low + (u + 1) (high - low) / 2, u = clip(c + A sin(theta) + "
            "residual_scale u_net, -1, 1), u_net = the decoder's action of the Output node's "
            "mean (normalised to [-1, 1]); see rhythm_model"
        )
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=metadata)
