"""Ours against the ARS-linear peer and the published method, per task, judged by the median seed (issue 28).

Reads a manifest (TOML or JSON) that names, per task and method, the runs to
compare, and writes one markdown table and one figure per task:

* every run's final controller on the 100 fresh episodes of
  ``spatial-snn replay --episodes 100 --seed 2026`` (our archives: the
  champion, replayed with :func:`spatial_snn.analysis.replay.replay`; the
  peer: its final linear policy, scored on the same reset seeds with the
  peer's own evaluation loop, unless its result already holds exactly those
  seeds). Scores are cached in ``<manifest>.scores.json`` beside the manifest,
  keyed by the SHA-256 of the files that make the controller, so a rerun
  replays only what changed;
* the table: median and IQR over seeds of the fresh-episode means, every
  seed's ``mean +- sd sd (se x)`` over its episodes, its environment steps
  (training + held-out tests) and CPU hours, and all environment steps spent
  on the task on this machine by that method, discarded runs included (ours:
  every run archive the method's ``spent`` globs find for the task; the peer:
  its ledger);
* the figure ``compare-<task>.png``: per method the median and IQR band over
  seeds of the held-out test score against environment steps (each seed a
  thin line), and the published score as a dashed line.

Manifest (paths relative to the manifest's folder; globs allowed)::

    [Swimmer-v5]
    budget = 5_000_000                      # environment steps per run (shown; runs short of it are "under way")
    ours = { archives = ["../../archive/swimmer-2d-seed*.h5"], spent = ["../../archive/**/*.h5"] }
    ars = { results = ["../peers/results/Swimmer-v5-s*.json"], ledger = "../peers/ledger.jsonl",
            checkpoints = "../peers/checkpoints" }   # checkpoints: optional, runs under way
    reference = { archives = ["../../archive/swimmer-reference-2d-seed*.h5"] }
    open-es = { archives = ["../../archive/swimmer-open-es-2d-seed*.h5"], label = "OpenES" }  # any arm of ours

Besides ``ours``, ``ars`` and ``reference``, any other key with ``archives``
is one more arm of run archives (issue 27's strategies), labelled by its
``label``; methods appear in the manifest's order. A method's
``spent_exclude`` (globs on file names) leaves archives out of its ``spent``
sum (e.g. ``["*reference*"]`` for ours). Only runs that have finished (their
archive says why they stopped) count in the medians; runs under way are
drawn dotted and listed. Runs in the project's environment::

    PYTHONPATH=$PWD nice -n 10 python benchmarks/compare/compare.py benchmarks/compare/manifest.toml --out DIR
"""

from __future__ import annotations

import argparse
import fnmatch
import glob
import hashlib
import importlib.util
import json
import math
import os
import sys
import tomllib
from pathlib import Path

import numpy as np

from spatial_snn.analysis.curves import PUBLISHED, best_so_far, read_curve
from spatial_snn.analysis.inspect import stop_reason, task_name
from spatial_snn.analysis.replay import replay
from spatial_snn.evo.seeding import replay_seeds
from spatial_snn.store import schema
from spatial_snn.store.run_reader import open_run
from spatial_snn.tasks.spread import mean_sd_se

HERE = Path(__file__).resolve().parent
PEERS = HERE.parent / "peers"
EPISODES, SEED = 100, 2026
METHODS = {"ours": "ours", "ars": "ARS-linear (sb3-contrib)", "reference": "published method (reference.toml)"}
#: Rows and curves derived from a method's runs: the peer's best-by-test policy (chosen on its held-out
#: test, as our champion is), beside its final one.
DERIVED = {"ars_best": "ARS-linear, best-by-test policy"}
LABELS = {**METHODS, **DERIVED}
COLOURS = {"ours": "tab:red", "ars": "tab:blue", "ars_best": "tab:cyan", "reference": "tab:green"}


class ManifestError(ValueError):
    """A manifest that names something this tool cannot read."""


def _peer_module(name: str):
    """``benchmarks/peers/<name>.py`` (the peer's evaluation loop and ledger reader), by its fixed path."""
    spec = importlib.util.spec_from_file_location(f"peers_{name}", PEERS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _digest(*paths: Path) -> str:
    h = hashlib.sha256()
    for p in paths:
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
    return h.hexdigest()


def _paths(base: Path, patterns, what: str) -> list[Path]:
    if isinstance(patterns, str):
        patterns = [patterns]
    if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
        raise ManifestError(f"{what}: expected a list of paths or globs, got {patterns!r}")
    out = []
    for pat in patterns:
        full = pat if os.path.isabs(pat) else str(base / pat)
        out += sorted(Path(p) for p in glob.glob(full, recursive=True))
    return list(dict.fromkeys(out))


class Cache:
    """Fresh-episode returns by controller digest, in one JSON file (written atomically after each new entry)."""

    def __init__(self, path: Path):
        self.path = path
        self.data = json.loads(path.read_text()) if path.exists() else {}

    def get(self, key: str, compute, what: str) -> np.ndarray:
        entry = self.data.get(key)
        if entry is None or entry.get("seed") != SEED or entry.get("episodes") != EPISODES:
            print(f"  replaying {what} on {EPISODES} fresh episodes (seed {SEED})", file=sys.stderr, flush=True)
            entry = {"seed": SEED, "episodes": EPISODES, "what": what, "returns": [float(x) for x in compute()]}
            self.data[key] = entry
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text(json.dumps(self.data, indent=1) + "\n")
            os.replace(tmp, self.path)
        return np.asarray(entry["returns"], np.float64)


# ----------------------------------------------------------------- runs
def _finished(reason: str) -> bool:
    return reason in schema.STOP_REASONS.values() or reason.startswith("unknown")


def archive_run(path: Path, task: str, cache: Cache) -> dict:
    """One of our run archives (or the reference's): its curve, cost, and champion's fresh returns."""
    with open_run(path) as run:
        env_id, reason = task_name(run.config), stop_reason(run)
        h = run.history
        cpu = float(h["cpu_time"][-1]) if run.n_generations and "cpu_time" in h else math.nan
        own_steps = float(h["env_steps"][-1]) if run.n_generations else 0.0
        commit = run.champion_commit
        has_champion = run.champion() is not None
        seed = int(run.seed)
    if env_id != task:
        raise ManifestError(f"{path}: a run of {env_id}, listed under {task}; move it to its task's table")
    curve = read_curve(path)
    rec = {
        "label": f"{path.stem}",  # scenario, dimension and seed
        "seed": seed,
        "path": str(path),
        "finished": _finished(reason),
        "reason": reason,
        "x": curve.env_steps,
        "y": best_so_far(curve),  # the champion's test score: what the run would ship at that point
        "env_steps": curve.total_steps,  # training + tests, with the steps behind a start genome
        "own_env_steps": own_steps,
        "cpu_hours": cpu / 3600,
        "returns": None,
    }
    if rec["finished"] and has_champion:
        parts = [path] + ([Path(f"{path}.d") / commit[2]] if commit is not None else [])
        key = "archive:" + _digest(*parts)
        rec["returns"] = cache.get(key, lambda: replay(path, episodes=EPISODES, seed=SEED), str(path))
    return rec


def ars_run(path: Path, task: str, cache: Cache, peer) -> dict:
    """One finished ARS-linear result: curve (training steps), cost, and the final policy's fresh returns."""
    r = json.loads(path.read_text())
    if r.get("task") != task:
        raise ManifestError(f"{path}: a result of {r.get('task')}, listed under {task}")
    seeds = replay_seeds(SEED, EPISODES)
    if r.get("fresh_seeds") == seeds.tolist():
        returns = np.asarray(r["fresh_returns"], np.float64)
    else:  # scored on other fresh seeds: score its final policy on replay's
        policy = path.parent / Path(r["policy_file"]).name
        key = "ars:" + _digest(policy) + ":" + task
        returns = cache.get(key, lambda: peer.evaluate(task, peer.load_policy(policy), seeds)[0], str(policy))
    best = None
    if "best_test" in r:  # the policy of the best test point, on replay's seeds too
        policy = path.parent / Path(r["best_test"]["policy_file"]).name
        if r.get("fresh_seeds") == seeds.tolist():
            best = np.asarray(r["best_test"]["fresh_returns"], np.float64)
        else:
            key = "ars:" + _digest(policy) + ":" + task
            best = cache.get(key, lambda: peer.evaluate(task, peer.load_policy(policy), seeds)[0], str(policy))
    c = np.asarray(r["curve"], np.float64)
    return {
        "best_returns": best,
        "label": f"{task}-s{r['seed']}",
        "seed": int(r["seed"]),
        "path": str(path),
        "finished": True,
        "reason": "budget spent",
        "x": c[:, 0],
        "y": c[:, 1],  # the current policy's test score (the peer ships its final policy)
        "env_steps": float(r["train_env_steps"] + r["eval_env_steps"]),
        "train_env_steps": float(r["train_env_steps"]),
        "cpu_hours": r["cpu_seconds"] / 3600,
        "returns": returns,
        "rescored": r.get("fresh_seeds") != seeds.tolist(),
    }


def spent_archives(base: Path, spec: dict, task: str) -> dict:
    """Environment steps of every run archive the ``spent`` globs find for ``task`` (each run's own steps)."""
    exclude = spec.get("spent_exclude", [])
    total, runs, unreadable = 0.0, 0, []
    for p in _paths(base, spec.get("spent", []), "spent"):
        if p.suffix != ".h5" or p.parent.name.endswith(".h5.d") or any(fnmatch.fnmatch(p.name, e) for e in exclude):
            continue
        try:
            with open_run(p) as run:
                if task_name(run.config) != task:
                    continue
                total += float(run.history["env_steps"][-1]) if run.n_generations else 0.0
                runs += 1
        except Exception as err:  # a genome file or a foreign HDF5 file: not a run; say so
            unreadable.append(f"{p.name} ({type(err).__name__})")
    return {"steps": total, "runs": runs, "unreadable": unreadable}


# ----------------------------------------------------------------- table and figure
def _m(x: float) -> str:
    return f"{x / 1e6:.2f}M" if math.isfinite(x) else "n/a"


def best_by_test(runs: list[dict]) -> list[dict]:
    """The peer's runs as their best-by-test policy: fresh returns of that policy, best test so far."""
    return [
        {**r, "returns": r.get("best_returns"), "y": np.maximum.accumulate(r["y"]), "missing": "not recorded"}
        for r in runs
    ]


def method_row(method: str, runs: list[dict], spent: str) -> str:
    done = [r for r in runs if r["returns"] is not None]
    means = np.array([r["returns"].mean() for r in done])
    if means.size:
        q1, med, q3 = np.percentile(means, [25, 50, 75])
        median, iqr = f"**{med:.1f}**", f"{q1:.1f}-{q3:.1f}"
    else:
        median = iqr = "n/a"
    per_seed = "<br>".join(
        f"{r['label']}: {mean_sd_se(r['returns'].mean(), r['returns'].std(), r['returns'].size)}"
        + (" (rescored)" if r.get("rescored") else "")
        for r in done
    )
    under_way = [r for r in runs if r["returns"] is None]
    if under_way:
        per_seed += ("<br>" if per_seed else "") + "<br>".join(
            f"{r['label']}: {r.get('missing', 'no champion') if r['finished'] else 'under way'} at {_m(r['env_steps'])}"
            for r in under_way
        )
    steps = "<br>".join(f"{r['label']}: {_m(r['env_steps'])}" for r in runs)
    cpu = "<br>".join(f"{r['label']}: {r['cpu_hours']:.2f}" for r in runs)
    return f"| {LABELS[method]} | {len(done)} | {median} | {iqr} | {per_seed} | {steps} | {cpu} | {spent} |"


def task_table(task: str, budget, rows: list[str], notes: list[str]) -> str:
    pub = PUBLISHED.get(task)
    head = [
        f"### {task}" + (f" (budget {budget / 1e6:g}M environment steps per run)" if budget else ""),
        "",
        f"Fresh-episode score: the final controller on the {EPISODES} episodes of "
        f"`spatial-snn replay --episodes {EPISODES} --seed {SEED}`, mean +- sd over the episodes (se of the mean); "
        "median and IQR over the seeds' means." + (f" Published method's score: {pub}." if pub is not None else ""),
        "",
        "| method | seeds scored | median | IQR | every seed: mean +- sd sd (se) | env steps (training + test) "
        "| CPU hours | all env steps on this task on this machine |",
        "|---|---|---|---|---|---|---|---|",
    ]
    return "\n".join(head + rows + ([""] + notes if notes else []))


def _step_hold(x: np.ndarray, y: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """y of the last point at or before each grid value (NaN before the first and after the last)."""
    k = np.searchsorted(x, grid, side="right") - 1
    out = np.where(k >= 0, y[np.clip(k, 0, None)], np.nan)
    out[grid > x[-1]] = np.nan
    return out


def figure(task: str, methods: dict[str, list[dict]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7.2, 4.6), dpi=110)
    for method, runs in methods.items():
        colour = COLOURS.get(method) or f"C{list(methods).index(method) % 10}"
        curves = [r for r in runs if len(r["x"])]
        for r in curves if method not in DERIVED else ():
            ax.plot(
                r["x"] / 1e6, r["y"], color=colour, lw=0.7, alpha=0.45, ls="-" if r["finished"] else ":",
                drawstyle="steps-post",
            )  # fmt: skip
        done = [r for r in curves if r["finished"]]
        if not done:
            continue
        end = min(r["x"][-1] for r in done)
        grid = np.linspace(0, end, 400)
        ys = np.array([_step_hold(r["x"], r["y"], grid) for r in done])
        ok = np.isfinite(ys).all(axis=0)
        q1, med, q3 = np.percentile(ys[:, ok], [25, 50, 75], axis=0)
        ls = "--" if method in DERIVED else "-"
        ax.plot(grid[ok] / 1e6, med, color=colour, lw=2.2, ls=ls, label=f"{LABELS[method]}: median of {len(done)}")
        if len(done) > 1 and method not in DERIVED:
            ax.fill_between(grid[ok] / 1e6, q1, q3, color=colour, alpha=0.2, lw=0)
    pub = PUBLISHED.get(task)
    if pub is not None:
        ax.axhline(pub, color="k", ls="--", lw=1, label=f"published method: {pub:g}")
    ax.set_xlabel("environment steps (millions; ours: training + tests; ARS: training)")
    ax.set_ylabel("held-out test score\n(ours, ARS best-by-test: best so far; ARS: current policy)", fontsize=9)
    ax.set_title(f"{task}: median and IQR over seeds (thin: each seed; dotted: under way)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


# ----------------------------------------------------------------- main
def load_manifest(path: Path) -> dict:
    try:
        text = path.read_text()
    except OSError as err:
        raise ManifestError(f"{path}: cannot read the manifest ({err.strerror})") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
        raise ManifestError(f"{path}: not valid {'JSON' if path.suffix == '.json' else 'TOML'} ({err})") from None
    for task, spec in data.items():
        if not isinstance(spec, dict):
            raise ManifestError(f"{path}: [{task}] must be a table of methods")
        for method, m in spec.items():
            if method == "budget":
                continue
            if not isinstance(m, dict):
                raise ManifestError(f"{path}: [{task}] {method} must be a table (archives = [...] or results = [...])")
            if method not in METHODS and "archives" not in m:
                raise ManifestError(
                    f"{path}: [{task}] {method} is neither {sorted(METHODS)} nor a table with archives = [...] "
                    "(an arm of ours; label = '...' names it)"
                )
    return data


def compare(manifest: Path, out: Path, figures: bool = True) -> str:
    data = load_manifest(manifest)
    base = manifest.resolve().parent
    cache = Cache(manifest.with_name(manifest.stem + ".scores.json"))
    peer = summarise = None
    sections = []
    for task, spec in data.items():
        rows, notes, curves = [], [], {}
        for method, m in spec.items():
            if method == "budget":
                continue
            LABELS[method] = m.get("label", LABELS.get(method, method))
            if method == "ars":
                peer = peer or _peer_module("ars_linear")
                summarise = summarise or _peer_module("summarise")
                runs = [ars_run(p, task, cache, peer) for p in _paths(base, m.get("results", []), "results")]
                if "checkpoints" in m:  # runs under way: their curve so far
                    done = {task: [{"task": task, "seed": r["seed"]} for r in runs]}
                    for c in summarise.load_checkpoints(base / m["checkpoints"], done).get(task, []):
                        if c["budget"] != spec.get("budget", c["budget"]):
                            continue  # a checkpoint of another budget (a smoke run)
                        x = np.asarray(c["curve"], np.float64)
                        runs.append({
                            "label": f"{task}-s{c['seed']}", "seed": int(c["seed"]), "finished": False,
                            "x": x[:, 0], "y": x[:, 1], "env_steps": float(c["train_steps"] + c["eval_steps"]),
                            "cpu_hours": c["cpu_seconds"] / 3600, "returns": None, "rescored": False,
                        })  # fmt: skip
                ledger = base / m["ledger"] if "ledger" in m else None
                s = summarise.ledger_spent(ledger).get(task) if ledger is not None else None
                spent = (
                    f"{_m(s['steps'])} ({s['processes']} processes: {s['smoke']} smoke, {s['discarded']} "
                    f"discarded, {s['unfinished']} unfinished or under way)"
                    if s
                    else "no ledger given"
                )
                if any(r["rescored"] for r in runs):
                    notes.append(
                        "ARS-linear: (rescored) results were scored by the peer on other fresh seeds; their "
                        "final policy is scored here on replay's."
                    )
            else:
                runs = [archive_run(p, task, cache) for p in _paths(base, m.get("archives", []), "archives")]
                s = spent_archives(base, m, task)
                spent = f"{_m(s['steps'])} ({s['runs']} run archives)" if m.get("spent") else "not given"
                if s["unreadable"]:
                    notes.append(f"{LABELS[method]}: not run archives, left out: {', '.join(s['unreadable'])}")
            runs.sort(key=lambda r: r["seed"])
            rows.append(method_row(method, runs, spent))
            curves[method] = runs
            if method == "ars":
                best = best_by_test(runs)
                rows.append(method_row("ars_best", best, "as above"))
                curves["ars_best"] = best
        sections.append(task_table(task, spec.get("budget"), rows, notes))
        if figures and any(curves.values()):
            out.mkdir(parents=True, exist_ok=True)
            figure(task, curves, out / f"compare-{task}.png")
    return "\n\n".join(sections) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("manifest", type=Path, help="TOML or JSON: per task, per method, the runs (see the docstring)")
    p.add_argument("--out", type=Path, help="folder for comparison.md and compare-<task>.png (default: the manifest's)")
    p.add_argument("--no-figures", action="store_true")
    a = p.parse_args(argv)
    out = a.out if a.out is not None else a.manifest.resolve().parent
    try:
        text = compare(a.manifest, out, figures=not a.no_figures)
    except (ManifestError, OSError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyError as err:
        print(
            f"error: a manifest entry or a peer result lacks the field {err}; see this script's docstring",
            file=sys.stderr,
        )
        return 2
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.md").write_text(text)
    print(text, end="")
    print(f"written: {out / 'comparison.md'}" + ("" if a.no_figures else f" and {out}/compare-<task>.png"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
