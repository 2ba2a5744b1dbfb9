"""Do other simulators run our NIR exports as we do? Norse, snnTorch, Spyx and Rockpool against our golden traces.

Run in its own environment (README.md beside this file)::

    ../nir-venv/bin/python benchmarks/nir_consumers/crosscheck.py DIR --out benchmarks/nir_consumers

``DIR`` holds, per champion ``NAME``, ``NAME.nir`` (the default export) and
``NAME-norse.nir``, ``NAME-snntorch.nir``, ``NAME-spyx.nir``, ``NAME-rockpool.nir`` (``spatial-snn
export ... --target T``), all with ``--trace 200``; ``run.sh`` makes them.
It reads only those files (no spatial_snn import): each consumer builds the
network with its own NIR importer, the script feeds it the trace's input
currents sub-step by sub-step (the closed-loop currents our network received
over 200 environment steps) and compares its spikes with ours neuron by
neuron. Nothing is corrected by hand: a graph is either imported as it is or
the import fails, and the failure is recorded.

Writes ``results.json`` and ``results.md`` into ``--out``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import traceback
import warnings
from importlib import metadata
from pathlib import Path

import nir
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/: the decoder read from NIR metadata
from nir_crosscheck import decode  # noqa: E402

warnings.simplefilter("ignore")


# ---------------------------------------------------------------- consumers: (graph, currents, dt) -> spikes, outputs
def run_norse(graph, x: np.ndarray, dt: float):
    import norse.torch as nt
    import torch

    model = nt.from_nir(graph, dt=dt)
    spikes, outputs = [], []
    model.lif.register_forward_hook(lambda m, i, o: spikes.append(o[0].detach().clone()))
    model.w_out.register_forward_hook(lambda m, i, o: outputs.append(o[0].detach().numpy().copy()))
    state = None
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = model(torch.as_tensor(x[t][None], dtype=torch.float32), state)
    return torch.cat(spikes).numpy(), np.array(outputs)


def run_snntorch(graph, x: np.ndarray, dt: float):
    import torch
    from snntorch.import_nir import import_from_nir

    model = import_from_nir(graph)
    spikes, outputs = [], []
    # the importer wraps a lif <-> Linear 2-cycle into a sub-graph (model.lif.lif); other cycles stay in the graph
    lif = model.lif.lif if hasattr(model.lif, "lif") else model.lif
    lif.register_forward_hook(lambda m, i, o: spikes.append(o.detach().clone()))
    model.w_out.register_forward_hook(lambda m, i, o: outputs.append(o[0].detach().numpy().copy()))
    state = None
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = model(torch.as_tensor(x[t][None], dtype=torch.float32), state)
    return torch.cat(spikes).numpy(), np.array(outputs)


def run_spyx(graph, x: np.ndarray, dt: float):
    import jax
    import jax.numpy as jnp
    from flax import nnx
    from spyx.nir import _build_model  # the importer's own builder; from_nir runs it and keeps only outputs

    model = _build_model(graph, dt, nnx.Rngs(0))
    kinds = [type(layer).__name__ for layer in model.layers]
    if kinds != ["Linear", "RCuBaLIF", "Linear"]:
        raise RuntimeError(f"Spyx built layers {kinds}, expected Linear, RCuBaLIF, Linear")
    w_in, lif, w_out = model.layers

    def step(vi, xt):
        z, vi = lif(w_in(xt), vi)
        return vi, (z, w_out(z))

    _, (z, out) = jax.lax.scan(step, lif.initial_state(1), jnp.asarray(x[:, None, :], jnp.float32))
    return np.asarray(z)[:, 0], np.asarray(out)[:, 0]


def run_rockpool(graph, x: np.ndarray, dt: float):
    import torch
    from rockpool.nn.modules.torch.nir import from_nir

    model = from_nir(graph)
    spikes, outputs = [], []
    model.lif.register_forward_hook(lambda m, i, o: spikes.append(o[0, 0].detach().clone()))
    model.w_out.register_forward_hook(lambda m, i, o: outputs.append(o[0, 0].detach().numpy().copy()))
    state = None
    with torch.no_grad():
        for t in range(x.shape[0]):
            _, state = model(torch.as_tensor(x[t][None, None], dtype=torch.float32), state)
    return torch.stack(spikes).numpy(), np.array(outputs)


def rockpool_replica(graph, x: np.ndarray, dt: float) -> dict:
    """Spike totals of a numpy replica of Rockpool's LIF update on a rockpool-target graph, three ways.

    ``isyn <- b (isyn + input)``, ``v <- m v + isyn + bias`` as Rockpool; then
    its own spiking (as many spikes as thresholds crossed, reset by
    subtraction), one spike per step with subtraction, or one spike with a
    reset to 0 (ours): which of Rockpool's departures changes the count.
    """
    lif, nodes = graph.nodes["lif"], graph.nodes
    m, b = np.exp(-dt / np.asarray(lif.tau_mem)), np.exp(-dt / np.asarray(lif.tau_syn))
    w_in, w_rec = (np.asarray(nodes[k].weight, float) for k in ("w_in", "w_rec"))
    th, bias = np.asarray(lif.v_threshold, float), np.asarray(lif.v_leak, float)
    out = {}
    for mode in ("several, subtract", "one, subtract", "one, reset to 0"):
        v, isyn, z, total = np.zeros(th.size), np.zeros(th.size), np.zeros(th.size), 0.0
        for xt in x:
            isyn = b * (isyn + w_in @ xt + w_rec @ z)
            v = m * v + isyn + bias
            if mode == "several, subtract":
                z = np.floor(np.maximum(v, 0) / th) * (v >= th)
                v = v - z * th
            elif mode == "one, subtract":
                z = (v >= th).astype(float)
                v = v - z * th
            else:
                z = (v > th).astype(float)
                v = np.where(z > 0, 0.0, v)
            total += z.sum()
        out[mode] = int(total)
    return out


def current_first_replica(graph, x: np.ndarray, dt: float, i_start) -> np.ndarray:
    """Raster (T, n) of a numpy replica of Norse 1.1's update on a norse-target graph.

    ``I' <- (1 - a_syn) I' + input``, then ``v <- (1 - a_mem) v + I'`` from
    that current, spike above 1, reset to 0; started at ``I' = i_start``: with
    0 it is what Norse does, with ``g v_leak`` it starts where ours does, so
    what is left is the update order alone.
    """
    lif, nodes = graph.nodes["lif"], graph.nodes
    a_mem, a_syn = dt / np.asarray(lif.tau_mem), dt / np.asarray(lif.tau_syn)
    w_in, bias = np.asarray(nodes["w_in"].weight, float), np.asarray(nodes["w_in"].bias, float)
    w_rec = np.asarray(nodes["w_rec"].weight, float)
    v, i, z, out = np.zeros(a_mem.size), np.asarray(i_start, float).copy(), np.zeros(a_mem.size), []
    for xt in x:
        i = (1 - a_syn) * i + w_in @ xt + bias + w_rec @ z
        v = (1 - a_mem) * v + i
        z = (v > 1).astype(float)
        v = np.where(z > 0, 0.0, v)
        out.append(z)
    return np.array(out)


CONSUMERS = {
    "Norse": ("norse", run_norse),
    "snnTorch": ("snntorch", run_snntorch),
    "Spyx": ("spyx", run_spyx),
    "Rockpool": ("rockpool", run_rockpool),
}
#: The export each consumer reads besides the default one (``spatial-snn export --target``).
TARGET_FILE = {"Norse": "norse", "snnTorch": "snntorch", "Spyx": "spyx", "Rockpool": "rockpool"}


def _near(b: np.ndarray, window: int) -> np.ndarray:
    near = b.copy()
    for k in range(1, window + 1):
        near[k:] |= b[:-k]
        near[:-k] |= b[k:]
    return near


def compare(ours: np.ndarray, theirs: np.ndarray) -> dict:
    """Neuron-by-neuron comparison of two rasters (T, n) of spike counts."""
    a, b = ours > 0, theirs > 0
    n_a, n_b = int(ours.sum()), int(theirs.sum())
    both = int((a & b).sum())
    ca, cb = ours.sum(axis=0), theirs.sum(axis=0)
    active = (ca > 0) | (cb > 0)
    corr = float(np.corrcoef(ca[active], cb[active])[0, 1]) if active.sum() > 1 and cb[active].std() > 0 else None
    return {
        "spikes_ours": n_a,
        "spikes_theirs": n_b,
        "count_ratio": n_b / n_a if n_a else None,
        # matched (neuron, sub-step) spikes over the larger of the two counts: 100% only for identical rasters
        "agreement": both / max(n_a, n_b, 1),
        "agreement_within_1": min(float((a & _near(b, 1)).sum()), float((b & _near(a, 1)).sum())) / max(n_a, n_b, 1),
        "ours_one_step_late": int((a[1:] & b[:-1]).sum()) / max(n_a, n_b, 1),
        "neuron_count_corr": corr,
        "neurons_same_count": float(np.mean(ca[active] == cb[active])) if active.any() else 1.0,
        "multi_spikes": int((theirs > 1).sum()),
    }


def run_file(path: Path, consumer: str, trace: dict) -> dict:
    graph = nir.read(path)
    meta = graph.metadata
    dt = float(meta["dt"])
    package, fn = CONSUMERS[consumer]
    row = {
        "file": path.name,
        "consumer": consumer,
        "version": metadata.version(package),
        "target": meta.get("target", "spatial-snn"),
    }
    t0 = time.perf_counter()
    try:
        spikes, out = fn(graph, trace["x"], dt)
    except Exception as exc:  # an importer that refuses the graph: record why
        last = traceback.extract_tb(exc.__traceback__)[-1]
        row["error"] = (
            f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''} "
            f"({Path(last.filename).name}:{last.lineno})"
        )
        return row
    row["seconds"] = time.perf_counter() - t0
    row.update(compare(trace["spikes"], np.asarray(spikes, float)))
    if consumer == "Rockpool" and row["target"] == "rockpool":
        row["replica_spikes"] = rockpool_replica(graph, trace["x"], dt)
    if consumer == "Norse" and row["target"] == "norse":
        base = nir.read(path.with_name(path.name.replace("-norse.nir", ".nir"))).nodes["lif"]
        gain = (dt / np.asarray(base.tau_mem)) / np.asarray(base.v_threshold)
        as_norse = current_first_replica(graph, trace["x"], dt, np.zeros(gain.size))
        row["replica_equals_norse"] = bool(np.array_equal(as_norse > 0, np.asarray(spikes) > 0))
        row["replica_started_as_ours"] = compare(
            trace["spikes"], current_first_replica(graph, trace["x"], dt, gain * np.asarray(base.v_leak))
        )
    steps, sub = trace["actions"].shape[0], int(meta["substeps"])
    mean = np.asarray(out, float).reshape(steps, sub, -1).mean(axis=1)
    task, space = json.loads(meta["task"]), json.loads(meta["action_space"])
    act = decode(mean, task["decoder"], space)
    if space["kind"] == "discrete":
        row["actions_same"] = float(np.mean(act[:, 0] == trace["actions"][:, 0]))
    else:
        span = np.asarray(space["high"]) - np.asarray(space["low"])
        row["action_error"] = float(np.mean(np.abs(act - trace["actions"]) / span))
    return row


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dir", type=Path)
    ap.add_argument("--champions", nargs="+", default=["hopper-2d-1ep", "cartpole-2d"])
    ap.add_argument("--consumers", nargs="+", default=list(CONSUMERS))
    ap.add_argument("--out", type=Path, default=Path(__file__).parent)
    ap.add_argument("--markdown-only", action="store_true", help="rewrite results.md from results.json")
    args = ap.parse_args(argv)
    if args.markdown_only:
        done = json.loads((args.out / "results.json").read_text())
        (args.out / "results.md").write_text(markdown(done["rows"], done["versions"]))
        return 0
    rows = []
    for name in args.champions:
        base = args.dir / f"{name}.nir"
        data = nir.read_data(base).nodes
        trace = {
            "x": data["input"].observables["current"].data[0],
            "spikes": data["lif"].observables["spikes"].data[0].astype(float),
            "actions": data["output"].observables["action"].data[0].astype(float),
        }
        for consumer in args.consumers:
            files = [base] + ([args.dir / f"{name}-{TARGET_FILE[consumer]}.nir"] if consumer in TARGET_FILE else [])
            for f in files:
                row = {"champion": name, **run_file(f, consumer, trace)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    versions = {
        p: metadata.version(p)
        for p in ("nir", "nirtorch", "torch", "norse", "snntorch", "spyx", "jax", "rockpool", "numpy")
    }
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "results.json").write_text(json.dumps({"versions": versions, "rows": rows}, indent=1) + "\n")
    (args.out / "results.md").write_text(markdown(rows, versions))
    return 0


def _pct(v) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def markdown(rows: list[dict], versions: dict) -> str:
    lines = [
        "| champion | consumer | graph | spike agreement (same sub-step / within 1) | theirs one sub-step early "
        "| count ratio theirs/ours | per-neuron count corr. | actions |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        graph = "default" if r["target"] == "spatial-snn" else f"--target {r['target']}"
        if "error" in r:
            lines.append(
                f"| {r['champion']} | {r['consumer']} {r['version']} | {graph} | import fails: {r['error']} | | | | |"
            )
            continue
        act = (
            f"same in {_pct(r['actions_same'])} of steps"
            if "actions_same" in r
            else f"mean error {_pct(r['action_error'])} of range"
        )
        corr = "n/a" if r["neuron_count_corr"] is None else f"{r['neuron_count_corr']:.3f}"
        ratio = "n/a" if r["count_ratio"] is None else f"{r['count_ratio']:.2f}"
        lines.append(
            f"| {r['champion']} | {r['consumer']} {r['version']} | {graph} | {_pct(r['agreement'])} / "
            f"{_pct(r['agreement_within_1'])} | {_pct(r['ours_one_step_late'])} | {ratio} "
            f"({r['spikes_theirs']} / {r['spikes_ours']}) | {corr} | {act} |"
        )
    for r in rows:
        if "replica_started_as_ours" in r:
            q = r["replica_started_as_ours"]
            lines += [
                "",
                f"{r['champion']}, numpy replica of Norse's update on the norse-target graph (raster equal "
                f"to Norse's: {r['replica_equals_norse']}), started at ours (I' = g v_leak): agreement "
                f"{_pct(q['agreement'])} / {_pct(q['agreement_within_1'])} within 1, one sub-step early "
                f"{_pct(q['ours_one_step_late'])}, count ratio {q['count_ratio']:.3f}",
            ]
        if "replica_spikes" in r:
            lines += [
                "",
                f"{r['champion']}, numpy replica of Rockpool's update on the rockpool-target graph "
                f"(ours: {r['spikes_ours']} spikes): "
                + ", ".join(f"{k}: {v} ({v / r['spikes_ours']:.3f}x)" for k, v in r["replica_spikes"].items()),
            ]
    lines += ["", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()), ""]
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
