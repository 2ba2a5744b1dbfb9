"""Does an independent simulator run our NIR export as we do? Norse's NIR importer against our golden trace.

Not part of the test suite (torch is heavy). Run it in a separate environment::

    python3 -m venv ../venv-torch
    ../venv-torch/bin/pip install torch nirtorch nir==1.0.8 h5py
    ../venv-torch/bin/pip install --no-deps norse==1.1.0    # keeps the torch you have
    spatial-snn export genomes/cartpole-2d.h5 --to out/cartpole-2d.nir --trace 200
    ../venv-torch/bin/python benchmarks/nir_crosscheck.py out/cartpole-2d.nir [more.nir ...]

It reads only the ``.nir`` file (graph, metadata and golden trace: no
spatial_snn import), builds the network with ``norse.torch.from_nir``, feeds it
the recorded input currents sub-step by sub-step (open loop: the episode's
observations are ours) and compares its spikes, mean outputs and decoded
actions with the recorded ones. Two runs:

* ``as imported``: Norse's importer as it is;
* ``importer fixed``: the two places where Norse 1.1's importer departs from
  the NIR CubaLIF equations corrected by hand (its synaptic current leaks
  towards ``v_leak`` instead of 0, and its state starts at ``v = v_leak``
  instead of our ``v_reset``), leaving only the difference in discretisation
  (Norse >= 1.1 adds the step's input before the voltage update);
* ``exponential decay``: a plain-numpy simulator with our update order but
  exact exponential decays, ``exp(-dt / tau)`` instead of forward Euler's
  ``1 - dt / tau``: what an exactly integrating simulator sees.
"""

from __future__ import annotations

import json
import sys

import nir
import numpy as np
import torch


def decode(mean: np.ndarray, decoder: dict, space: dict) -> np.ndarray:
    """Actions (T, act_dim) from mean outputs (T, n_out), as spatial_snn.tasks.encoding does."""
    kind = decoder["kind"]
    if space["kind"] == "discrete":
        return (space["start"] + np.argmax(mean, axis=1))[:, None].astype(float)
    low, high = np.asarray(space["low"]), np.asarray(space["high"])
    if kind in ("auto", "linear"):
        return np.clip(mean / decoder["divisor"], low, high)
    if kind == "sigmoid":
        z = mean * (0.5 * decoder["gain"] / decoder["divisor"])
        return low + (high - low) * 0.5 * (1.0 + np.tanh(z))
    bins = decoder["bins"]
    k = np.argmax(mean.reshape(mean.shape[0], -1, bins), axis=2)
    return low + (k + 0.5) * (high - low) / bins


def run_norse(graph, currents: np.ndarray, dt: float, fixed: bool):
    """Spikes (T*S, n) and per-sub-step outputs (T*S, n_out) of Norse's import of ``graph``."""
    import norse.torch as nt

    model = nt.from_nir(graph, dt=dt, ignore_warnings=True)
    lif = model.lif
    if fixed:
        lif.synapse.p = lif.synapse.p._replace(v_leak=torch.zeros_like(lif.synapse.p.v_leak))
    spikes, outputs = [], []
    lif.register_forward_hook(lambda mod, inp, out: spikes.append(out[0].detach().clone()))
    # the executor returns its last node's value, not necessarily the Output's: read w_out directly
    model.w_out.register_forward_hook(lambda mod, inp, out: outputs.append(out[0].detach().numpy().copy()))
    state = None
    if fixed:  # start from i = 0, v = v_reset (as ours) instead of Norse's v_leak
        state = _initial_state(np.asarray(graph.nodes["lif"].v_reset))
    with torch.no_grad():
        for t in range(currents.shape[0]):
            _, state = model(torch.as_tensor(currents[t][None], dtype=torch.float32), state)
    return torch.cat(spikes).numpy().astype(bool), np.array(outputs)


def _initial_state(v_reset: np.ndarray):
    """nirtorch executor state with the CubaLIF at (i = 0, v = v_reset) and no recurrent input yet."""
    from nirtorch.graph_executor import GraphExecutorState
    from norse.torch.functional.leaky_integrator_box import LIBoxState
    from norse.torch.functional.lif_box import LIFBoxFeedForwardState

    v = torch.as_tensor(v_reset[None], dtype=torch.float32)
    return GraphExecutorState(state={"lif": ((LIBoxState(v=torch.zeros_like(v)), LIFBoxFeedForwardState(v=v)),)})


def run_exponential(graph, currents: np.ndarray, dt: float):
    """Our update order, but with exact exponential decays (``exp(-dt/tau)`` instead of ``1 - dt/tau``).

    What a simulator that integrates the CubaLIF equations exactly over a step
    (input held constant) does; plain numpy, float64.
    """
    lif, nodes = graph.nodes["lif"], graph.nodes
    k_mem, k_syn = np.exp(-dt / np.asarray(lif.tau_mem)), np.exp(-dt / np.asarray(lif.tau_syn))
    w_in, w_rec, w_out = (np.asarray(nodes[k].weight, float) for k in ("w_in", "w_rec", "w_out"))
    v, i = np.asarray(lif.v_reset, float).copy(), np.zeros(w_rec.shape[0])
    z = np.zeros(w_rec.shape[0], bool)
    spikes, outputs = [], []
    for x in currents:
        v = lif.v_leak + (v - lif.v_leak) * k_mem + (1 - k_mem) * i
        rec = w_rec @ z
        z = v > lif.v_threshold
        v = np.where(z, lif.v_reset, v)
        i = k_syn * i + w_in @ x + rec
        spikes.append(z)
        outputs.append(w_out @ z)
    return np.array(spikes), np.array(outputs)


def _coincident(a: np.ndarray, b: np.ndarray, window: int) -> float:
    """Fraction of the spikes of raster ``a`` (T, n) that ``b`` has in the same neuron within +-window sub-steps."""
    near = b.copy()
    for k in range(1, window + 1):
        near[k:] |= b[:-k]
        near[:-k] |= b[k:]
    return float((a & near).sum() / max(a.sum(), 1))


def compare(path: str) -> dict:
    graph, data = nir.read(path), nir.read_data(path)
    meta = graph.metadata
    task = json.loads(meta["task"])
    space = json.loads(meta["action_space"])
    dt, substeps = float(meta["dt"]), int(meta["substeps"])
    if any(type(n).__name__ == "Delay" for n in graph.nodes.values()):
        print(f"{path}: has Delay nodes, which Norse's importer does not read; skipped")
        return {}
    obs = {k: v.observables for k, v in data.nodes.items()}
    currents = obs["input"]["current"].data[0]
    ours_spikes = obs["lif"]["spikes"].data[0]
    ours_actions = obs["output"]["action"].data[0].astype(float)
    steps = ours_actions.shape[0]
    rows = {}
    runs = {
        "Norse as imported": lambda: run_norse(graph, currents, dt, False),
        "Norse, importer fixed": lambda: run_norse(graph, currents, dt, True),
        "exponential decay": lambda: run_exponential(graph, currents, dt),
    }
    for label, run in runs.items():
        spikes, out = run()
        mean = out.reshape(steps, substeps, -1).mean(axis=1)
        actions = decode(mean, task["decoder"], space)
        counts_ours, counts_norse = ours_spikes.sum(axis=0), spikes.sum(axis=0)
        active = (counts_ours > 0) | (counts_norse > 0)
        corr = np.corrcoef(counts_ours[active], counts_norse[active])[0, 1] if active.sum() > 1 else float("nan")
        mismatch = np.flatnonzero((spikes != ours_spikes).any(axis=1))
        shifted = np.flatnonzero((spikes[:-1] != ours_spikes[1:]).any(axis=1))
        if space["kind"] == "discrete":
            agree = float(np.mean(actions[:, 0] == ours_actions[:, 0]))
            action_text = f"same action in {100 * agree:.1f}% of {steps} steps"
        else:
            span = np.asarray(space["high"]) - np.asarray(space["low"])
            err = float(np.mean(np.abs(actions - ours_actions) / span))
            action_text = f"mean |action difference| {100 * err:.1f}% of the action range over {steps} steps"
        rows[label] = {
            "spikes_ours": int(counts_ours.sum()),
            "spikes_norse": int(counts_norse.sum()),
            "count_corr": float(corr),
            "same_substep": _coincident(ours_spikes, spikes, 0),
            "within_one": _coincident(ours_spikes, spikes, 1),
            "theirs_within_one": _coincident(spikes, ours_spikes, 1),
            "first_divergence": int(mismatch[0]) if mismatch.size else None,
            # Norse >= 1.1 adds the input before the voltage update: its raster may lead ours by one sub-step
            "first_divergence_shifted": int(shifted[0]) if shifted.size else None,
            "actions": action_text,
        }
    print(f"{path} ({task['env_id']}, {ours_spikes.shape[1]} neurons, {steps} env steps x {substeps} sub-steps)")
    for label, r in rows.items():
        print(
            f"  {label:22s}: spikes {r['spikes_norse']} vs ours {r['spikes_ours']}; per-neuron count "
            f"correlation {r['count_corr']:.3f}; our spikes matched at the same sub-step "
            f"{100 * r['same_substep']:.1f}%, within +-1 sub-step {100 * r['within_one']:.1f}% (theirs by ours: "
            f"{100 * r['theirs_within_one']:.1f}%); first differing sub-step {r['first_divergence']} "
            f"(shifted by one: {r['first_divergence_shifted']}); {r['actions']}"
        )
    return rows


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for p in sys.argv[1:]:
        compare(p)
