"""Tables and figures of the ARS-linear peer runs (``ars_linear.py``).

Reads ``results/*.json`` (finished runs), ``checkpoints/*.json`` (runs under
way, if this machine has them) and ``ledger.jsonl`` (every process started,
smoke runs included), prints one markdown table per task and writes one figure
per task, ``ars-<task>.png``: median and interquartile band of the held-out
test score (10 episodes) against training env steps over the finished seeds,
each seed as a thin line, runs under way dotted, and the published ARS figure
as a dashed line. Runs in the project's own environment (numpy, matplotlib);
where ``spatial_snn`` imports, it also checks that every run's fresh-episode
seeds are those of ``spatial-snn replay --seed 2026 --episodes 100``.

    python benchmarks/peers/summarise.py [--no-figures]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
# rl-baselines3-zoo's ARS LinearPolicy on MuJoCo v3 (its benchmark table): (score, env steps).
PUBLISHED = {
    "Swimmer-v5": (355.0, 2_000_000),
    "Hopper-v5": (3344.0, 7_000_000),
    "HalfCheetah-v5": (4815.0, 12_000_000),
    "Walker2d-v5": (2994.0, 75_000_000),
    "Ant-v5": (2334.0, 75_000_000),
}


def load_results(folder: Path) -> dict[str, list[dict]]:
    """Finished runs by task, sorted by seed."""
    runs = defaultdict(list)
    for path in sorted(folder.glob("*.json")):
        rec = json.loads(path.read_text())
        runs[rec["task"]].append(rec)
    return {t: sorted(v, key=lambda r: r["seed"]) for t, v in runs.items()}


def load_checkpoints(folder: Path, finished: dict) -> dict[str, list[dict]]:
    """Runs under way by task (a checkpoint whose result does not exist yet)."""
    done = {(r["task"], r["seed"]) for v in finished.values() for r in v}
    runs = defaultdict(list)
    for path in sorted(folder.glob("*-s*-b*.json")) if folder.is_dir() else []:
        task, rest = path.stem.rsplit("-s", 1)
        seed, budget = (int(x) for x in rest.split("-b"))
        if (task, seed) in done:
            continue
        state = json.loads(path.read_text())
        runs[task].append({"task": task, "seed": seed, "budget": budget, **state})
    return runs


def ledger_spent(path: Path) -> dict[str, dict]:
    """Env steps spent per task by every process in the ledger, up to its last record."""
    procs: dict[str, dict] = {}
    for line in path.read_text().splitlines() if path.exists() else []:
        rec = json.loads(line)
        p = procs.setdefault(
            rec["proc"], {"task": rec["task"], "kind": rec["kind"], "start": rec["train_steps"] + rec["eval_steps"]}
        )
        p["last"] = rec["train_steps"] + rec["eval_steps"]
        p["train_last"], p["event"] = rec["train_steps"], rec["event"]
    out = defaultdict(lambda: {"steps": 0, "processes": 0, "smoke": 0, "discarded": 0, "unfinished": 0})
    for p in procs.values():
        t = out[p["task"]]
        t["steps"] += p["last"] - p["start"]
        t["processes"] += 1
        t["smoke"] += p["kind"] == "smoke"
        t["discarded"] += p["event"] == "discarded"
        t["unfinished"] += p["event"] not in ("done", "discarded")
    return dict(out)


def check_fresh_seeds(runs: dict) -> str:
    try:
        from spatial_snn.evo import seeding
    except ImportError:
        return "fresh seeds not checked (spatial_snn does not import here)"
    bad = []
    for recs in runs.values():
        for r in recs:
            if seeding.replay_seeds(r["fresh_seed"], len(r["fresh_seeds"])).tolist() != r["fresh_seeds"]:
                bad.append(f"{r['task']} seed {r['seed']}")
    if bad:
        return (
            "fresh seeds differ from today's `spatial-snn replay --seed 2026 --episodes 100` for: "
            + ", ".join(bad)
            + " (scored on replay's by benchmarks/compare/compare.py)"
        )
    return "fresh seeds: identical to `spatial-snn replay --seed 2026 --episodes 100` for every run"


def table(task: str, recs: list[dict], running: list[dict], spent: dict | None) -> str:
    lines = [f"### {task}: ARS-linear (sb3-contrib), {len(recs)} finished seed(s)", ""]
    if recs:
        scores = np.array([r["fresh_mean"] for r in recs])
        q1, med, q3 = np.percentile(scores, [25, 50, 75])
        cpu_h = sum(r["cpu_seconds"] for r in recs) / 3600
        lines += [
            f"final policy: median {med:.1f}, IQR {q1:.1f}-{q3:.1f} (fresh-episode means over seeds); "
            f"{cpu_h:.2f} CPU hours over the finished seeds"
        ]
        best = np.array([r["best_test"]["fresh_mean"] for r in recs if "best_test" in r])
        if len(best):
            b1, bm, b3 = np.percentile(best, [25, 50, 75])
            lines.append(
                f"best-by-test policy ({len(best)} of {len(recs)} seeds): median {bm:.1f}, IQR {b1:.1f}-{b3:.1f}"
            )
        lines.append("")
    lines += [
        "| seed | final policy, fresh episodes: mean +- sd (se) | n | best-by-test policy (its step): "
        "mean +- sd (se) | train env steps | eval env steps | CPU h | train steps per CPU s (eval incl.) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in recs:
        rate = r["train_env_steps"] / max(r["cpu_seconds"], 1e-9)
        b = r.get("best_test")
        best = (
            f"{b['fresh_mean']:.1f} +- {b['fresh_sd']:.1f} ({b['fresh_se']:.1f}) at {b['train_steps']:,}"
            if b
            else "not recorded (backfill pending)"
        )
        lines.append(
            f"| {r['seed']} | {r['fresh_mean']:.1f} +- {r['fresh_sd']:.1f} ({r['fresh_se']:.1f}) | "
            f"{len(r['fresh_returns'])} | {best} | {r['train_env_steps']:,} | {r['eval_env_steps']:,} | "
            f"{r['cpu_seconds'] / 3600:.2f} | {rate:,.0f} |"
        )
    for r in running:
        lines.append(
            f"| {r['seed']} (under way) | test {r['curve'][-1][1]:.1f} (10 episodes) | - | - | "
            f"{r['train_steps']:,} of {r['budget']:,} | {r['eval_steps']:,} | "
            f"{r['cpu_seconds'] / 3600:.2f} | - |"
        )
    if spent:
        lines += [
            "",
            f"All env steps spent on {task} by this peer on this machine (training and evaluation, "
            f"{spent['processes']} processes: {spent['smoke']} smoke, {spent['discarded']} discarded, "
            f"{spent['unfinished']} unfinished or under way, counted to their last checkpoint): "
            f"{spent['steps']:,}",
        ]
    return "\n".join(lines)


def figure(task: str, recs: list[dict], running: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    for r in recs:
        c = np.array(r["curve"])
        ax.plot(c[:, 0] / 1e6, c[:, 1], color="tab:blue", lw=0.6, alpha=0.5)
    for r in running:
        c = np.array(r["curve"])
        ax.plot(c[:, 0] / 1e6, c[:, 1], color="tab:gray", lw=0.8, ls=":")
    if recs:
        end = min(r["curve"][-1][0] for r in recs)
        grid = np.linspace(0, end, 201)
        ys = np.array([np.interp(grid, *np.array(r["curve"]).T) for r in recs])
        q1, med, q3 = np.percentile(ys, [25, 50, 75], axis=0)
        ax.fill_between(grid / 1e6, q1, q3, color="tab:blue", alpha=0.25, label="ARS-linear IQR")
        ax.plot(grid / 1e6, med, color="tab:blue", lw=2, label=f"ARS-linear median (n = {len(recs)} seeds)")
    if task in PUBLISHED:
        score, steps = PUBLISHED[task]
        ax.axhline(score, color="k", ls="--", lw=1, label=f"zoo ARS, v3: {score:g} at {steps / 1e6:g}M")
    if running:
        ax.plot([], [], color="tab:gray", ls=":", label="run under way")
    ax.set_xlabel("training env steps (millions)")
    ax.set_ylabel("held-out test return (mean of 10 episodes)")
    ax.set_title(f"{task}: ARS-linear (sb3-contrib, zoo hyperparameters)")
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="Tables and figures of the ARS-linear peer runs.")
    p.add_argument("--results", type=Path, default=HERE / "results")
    p.add_argument("--checkpoints", type=Path, default=HERE / "checkpoints")
    p.add_argument("--ledger", type=Path, default=HERE / "ledger.jsonl")
    p.add_argument("--figures", type=Path, default=HERE, help="folder for ars-<task>.png")
    p.add_argument("--no-figures", action="store_true")
    a = p.parse_args(argv)
    if not a.results.is_dir():
        print(f"error: {a.results} is not a folder; expected the results folder of ars_linear.py", file=sys.stderr)
        return 2
    runs = load_results(a.results)
    running = load_checkpoints(a.checkpoints, runs)
    spent = ledger_spent(a.ledger)
    for task in sorted(set(runs) | set(running) | set(spent)):
        print(table(task, runs.get(task, []), running.get(task, []), spent.get(task)), end="\n\n")
        if not a.no_figures and (runs.get(task) or running.get(task)):
            figure(task, runs.get(task, []), running.get(task, []), a.figures / f"ars-{task}.png")
    print(check_fresh_seeds(runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
