"""The controller report: what a stored controller scores, costs and how it is wired.

``report(path)`` loads a run archive's champion or a genome file, runs
``episodes`` fresh episodes through the same rollout the evolution uses
(reset seeds from the replay stream, so ``spatial-snn replay`` with the same
seed gets the same returns), records one more pass of the first episode
sub-step by sub-step, and gathers:

* the NeuroBench metrics and energy estimates (:mod:`.metrics`) from the
  kernel counters of the ``episodes`` episodes (MACs use the share of env
  steps on which each input channel was non-zero in the recorded episode),
  with the synaptic operations counted twice: as the kernel computes them
  (input MACs once per env step) and as a NeuroBench hook count (every
  sub-step);
* energy per env step on each device of :mod:`.devices`, priced on the
  count that device uses;
* wiring and graph structure (:mod:`.structure`);
* optionally both pictures (:mod:`.figures`).

``spatial-snn report PATH [--episodes 10] [--json] [--figures DIR]``.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np

from ..evo import seeding
from ..evo.pruning import compact
from ..sim.kernels import NEURON_UPDATES, SPIKES, SYN_EVENTS
from ..sim.network import set_threads
from ..store.controller import load_controller
from ..tasks.envs import make_env
from ..tasks.evaluation import rollout
from ..tasks.spread import mean_sd_se
from . import devices, metrics
from .recording import control_rate, record_episode


def report(
    path,
    *,
    episodes: int = 10,
    seed: int = 0,
    figures=None,
    nulls: int = 20,
    energy: metrics.EnergyConstants | None = None,
    window: int = 100,
) -> dict:
    """Report on the controller stored at ``path`` (run archive or genome file).

    Parameters
    ----------
    episodes : int
        Fresh episodes to measure returns and operation counts on.
    seed : int
        Seed of the episode reset seeds (as ``replay``).
    figures : path or None
        Directory for ``<name>-network.png`` and ``<name>-episode.png``.
    nulls : int
        Degree-preserving null graphs for modularity and small-worldness.
    energy : EnergyConstants or None
        Energy per operation (pJ); defaults stated in :class:`~.metrics.EnergyConstants`.
    window : int
        Env steps shown in the episode picture.

    Returns
    -------
    dict (JSON-able) with sections ``controller``, ``returns``, ``neurobench``,
    ``energy``, ``structure`` and, with ``figures``, ``figures``.
    """
    from . import structure  # networkx: imported on use, not with the package

    if isinstance(episodes, bool) or int(episodes) != episodes or episodes < 1:
        raise ValueError(f"episodes: expected an integer >= 1, got {episodes!r}")
    path = Path(path)
    genome, task, info = load_controller(path)
    set_threads(1)  # one small network: numba's thread team only adds launch overhead
    seeds = seeding.replay_seeds(seed, episodes)
    ev = rollout(task, [genome], seeds)
    counts = ev.counters[0]
    steps = int(ev.lengths.sum())
    rec = record_episode(genome, task, int(seeds[0]))
    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps, task.body_xml)
    try:
        rate = control_rate(env)
    finally:
        env.close()
    nonzero = (rec.inputs != 0).mean(axis=0) if rec.env_steps else np.zeros(genome.n_inputs)
    simulated = compact(genome)  # what the rollout simulates and stores
    nb = metrics.neurobench(
        genome,
        spikes=int(counts[SPIKES]),
        syn_events=int(counts[SYN_EVENTS]),
        neuron_updates=int(counts[NEURON_UPDATES]),
        env_steps=steps,
        substeps=task.substeps,
        control_rate=rate,
        nonzero_fraction=nonzero,
    )
    nb["footprint_bytes"] = metrics.footprint_bytes(simulated)["total"]
    nb["simulated_neurons"] = simulated.n
    nb["neurobench_version"] = metrics.NEUROBENCH_VERSION
    out = {
        "controller": {
            "path": str(path),
            "env_id": task.env_id,
            "dim": genome.dim,
            "neurons": genome.n,
            "inputs": genome.n_inputs,
            "outputs": genome.n_outputs,
            "substeps": task.substeps,
            "control_rate_hz": rate,
        }
        | (
            {}
            if genome.rhythm is None
            # a rhythm generator beneath the network: not in the counts below
            else {"rhythm_oscillators": (len(genome.rhythm) - 2) // 3, "residual_scale": task.decoder.residual_scale}
        ),
        "returns": {
            "episodes": int(episodes),
            "seed": int(seed),
            "mean": float(ev.returns.mean()),
            "std": float(ev.returns.std()),
            "env_steps": steps,
        },
        "neurobench": nb,
        "energy": metrics.energy(nb["acs_per_step"], nb["macs_per_step"], rate, energy),
        "devices": {
            key: devices.device_energy(
                dev,
                acs=nb["acs_per_step"],
                macs_kernel=nb["macs_per_step"],
                substeps=task.substeps,
                neuron_updates=nb["neuron_updates_per_step"],
                control_rate=rate,
            )
            for key, dev in devices.DEVICES.items()
        },
        "structure": structure.structure(genome, nulls=nulls),
    }
    if figures is not None:
        from .figures import episode_figure, network_figure

        fig_dir = Path(figures)
        name = path.stem
        title = f"{name} ({task.env_id}, {genome.dim}D)"
        net_png, ep_png = fig_dir / f"{name}-network.png", fig_dir / f"{name}-episode.png"
        drawn = network_figure(genome, net_png, title=title)
        shown = episode_figure(rec, genome, ep_png, title=title, window=window)
        out["figures"] = {
            "network": str(net_png),
            "episode": str(ep_png),
            "network_drawn": drawn,
            "episode_drawn": shown,
        }
    return out


def _fmt(v) -> str:
    """One format for every number of the table: counts whole, other values to four significant digits
    in fixed point (whole from 1,000 up), thousands separated; scientific notation only below 0.001."""
    if isinstance(v, bool) or not isinstance(v, int | float | np.integer | np.floating):
        return str(v)
    if isinstance(v, int | np.integer):
        return f"{int(v):,}"
    v = float(v)
    if math.isnan(v):
        return "n/a"
    if v == 0 or not math.isfinite(v):
        return f"{v:g}"
    if abs(v) < 1e-3:
        return f"{v:.3e}"
    decimals = max(0, 3 - math.floor(math.log10(abs(v))))
    return f"{v:,.{decimals}f}"


_ROWS = [
    ("returns", "episodes", "episodes"),
    ("returns", "env_steps", "environment steps"),
    ("neurobench", "synaptic_ops_per_step", "synaptic ops / env step, kernel count (ACs + MACs)"),
    ("neurobench", "acs_per_step", "  ACs / env step (spikes x outgoing synapses)"),
    ("neurobench", "macs_per_step", "  MACs / env step, input current once per env step"),
    ("neurobench", "synaptic_ops_per_step_hooks", "synaptic ops / env step, NeuroBench hook count"),
    ("neurobench", "macs_per_step_hooks", "  MACs / env step, input current every sub-step"),
    ("neurobench", "spikes_per_step", "spikes / env step"),
    ("neurobench", "activation_sparsity", "activation sparsity (silent neuron-sub-steps)"),
    ("neurobench", "connection_sparsity", "connection sparsity (self-connections excluded)"),
    ("neurobench", "nonzero_weights", "non-zero weights (all)"),
    ("neurobench", "on_path_weights", "non-zero weights on an input->output path"),
    ("neurobench", "footprint_bytes", "footprint, bytes (parameters + buffers)"),
    ("neurobench", "neuron_updates_per_step", "neuron updates / env step"),
    ("neurobench", "execution_rate_hz", "execution rate, sub-steps/s for real time"),
    ("energy", "energy_ops_45nm_pj_per_step", "energy / env step, 45 nm ops, kernel count (pJ)"),
    ("energy", "energy_neuromorphic_pj_per_step", "energy / env step, neuromorphic SOPs, kernel count (pJ)"),
    ("energy", "energy_memory_inclusive_pj_per_step", "energy / env step, 45 nm + weight fetches, kernel count (pJ)"),
    ("energy", "power_memory_inclusive_uw", "power in real time, 45 nm + fetches (uW)"),
    ("structure", "wiring_length", "wiring length, sum of d (all synapses)"),
    ("structure", "wiring_cost", "wiring cost, sum of |w| d (all synapses)"),
    ("structure", "mean_synapse_length", "mean recurrent synapse length"),
    ("structure", "mean_neuron_distance", "mean distance between wired neurons"),
    ("structure", "corr_distance_weight_gene", "corr(distance, weight gene)"),
    ("structure", "corr_distance_abs_weight", "corr(distance, |w_eff|)"),
]


def format_report(rep: dict) -> str:
    """The report as an aligned two-column text table."""
    c, s, e = rep["controller"], rep["structure"], rep["energy"]["energy_constants_pj"]
    lines = [
        f"{c['path']}: {c['env_id']}, {c['dim']}D, {c['neurons']} neurons, {c['inputs']} inputs, "
        f"{c['outputs']} outputs, {c['substeps']} sub-steps at {c['control_rate_hz']:g} Hz control"
        + (
            f"; a rhythm generator of {c['rhythm_oscillators']} oscillators beneath the network (residual "
            f"scale {c['residual_scale']:g}; not in the operation counts)"
            if "rhythm_oscillators" in c
            else ""
        ),
        f"NeuroBench v{rep['neurobench']['neurobench_version']} definitions, per environment step; "
        f"energy constants (pJ): add {e['e_add']}, MAC {e['e_mac']} (45 nm, Horowitz 2014), "
        f"SOP {e['e_sop']} (Loihi, Davies 2018, unverified), 64-bit SRAM read {e['e_read']} (8 KB, Horowitz 2014)",
        "",
    ]
    r = rep["returns"]
    rows = [("return over episodes", mean_sd_se(r["mean"], r["std"], r["episodes"]))]
    rows += [(label, _fmt(rep[sec][key])) for sec, key, label in _ROWS]

    def pm(key, label):
        rows.append((label, f"{_fmt(s[key])} (null {_fmt(s[key + '_null_mean'])} +- {_fmt(s[key + '_null_std'])} sd)"))

    pm("modularity", f"modularity Q (louvain, resolution {s['louvain_resolution']}, seed {s['louvain_seed']})")
    pm("clustering", "clustering C")
    pm("path_length", "path length L")
    rows.append(
        (
            "small-world sigma / propensity",
            f"{_fmt(s['small_world_sigma'])} / "
            f"{_fmt(s['small_world_propensity'])} ({s['null_graphs']} degree-preserving nulls)",
        )
    )
    if s.get("graph_note"):
        rows.append(("graph note", s["graph_note"]))
    width = max(len(r[0]) for r in rows)
    lines += [f"{label:<{width}}  {value}" for label, value in rows]
    lines += [
        "",
        "device estimates per env step (one action; analysis/devices.py, constants and sources in "
        "docs/efficiency.md; static power not included):",
    ]
    for key, d in rep.get("devices", {}).items():
        if d["pj_per_env_step"] is None:
            lines.append(
                f"  {d['device']}: n/a (no energy per operation in a primary source read; "
                "docs/efficiency.md says what was read)"
            )
            continue
        dev = devices.DEVICES[key]
        used = [c for c in (dev.e_ac, dev.e_mac, dev.e_mem, dev.e_neuron) if c.value is not None]
        checked = "verified" if all(c.verified for c in used) else "unverified"
        lines.append(
            f"  {d['device']}: {_fmt(d['pj_per_env_step'])} pJ ({_fmt(d['pj_per_substep'])} pJ per "
            f"sub-step, {_fmt(d['power_uw'])} uW), {d['count']} count ({_fmt(d['acs'])} ACs + "
            f"{_fmt(d['macs'])} MACs), priced: {', '.join(d['priced'])}; constants {checked}"
        )
    if "figures" in rep:
        lines += ["", f"figures: {rep['figures']['network']}, {rep['figures']['episode']}"]
    return "\n".join(lines)


def to_json(rep: dict) -> str:
    """The report as JSON (NaN written as null)."""

    def clean(v):
        if isinstance(v, dict):
            return {k: clean(x) for k, x in v.items()}
        if isinstance(v, float) and not math.isfinite(v):
            return None
        if isinstance(v, np.generic):
            return clean(v.item())
        return v

    return json.dumps(clean(rep), indent=2)
