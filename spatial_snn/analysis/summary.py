"""The batch summary: per-run records of run archives, and per-dimension means over seeds.

Per dimension: mean +- std over seeds (sample std, ``ddof = 1``; 0 for one
seed) of the champion's test score, its non-zero weights
(``Genome.n_synapses``), its connection sparsity (``Genome.sparsity()``) and
the environment steps spent, as a CSV, a printed table and a PNG plot; with
the realised network statistics of random genomes of each dimension when the
batch measured them.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from ..store.run_reader import open_run
from .png import save_png

SUMMARY_COLUMNS = (
    "dim", "runs", "complete", "test_mean", "test_std", "synapses_mean", "synapses_std",
    "sparsity_mean", "sparsity_std", "env_steps_mean", "env_steps_std", "wall_time_mean",
    "champion_degree_mean", "init_degree", "init_distance", "init_strength", "init_input_synapses",
    "init_output_synapses", "init_input_fan_out", "init_output_fan_in",
)  # fmt: skip


def reached_target(champion, target) -> bool:
    """Whether a champion ``(genome, info)``'s held-out mean reaches ``target`` (never when either is None)."""
    return target is not None and champion is not None and float(np.mean(champion[1]["test_returns"])) >= target


def read_record(path, n_gen: int | None = None, target=None) -> dict:
    """The per-run figures of a run archive (NaN where no champion was tested)."""
    with open_run(path) as run:
        hist, champion = run.history, run.champion()
        n = run.n_generations
        rec = {"dim": run.dim, "seed": run.seed, "archive": str(path), "generations": n,
               "complete": (n_gen is not None and n >= n_gen) or reached_target(champion, target),
               "env_steps": int(hist["env_steps"][-1]) if n else 0,
               "wall_time": float(hist["wall_time"][-1]) if n else 0.0}  # fmt: skip
    if champion is None:
        nan = math.nan
        return dict(rec, test=nan, test_std=nan, test_episodes=0, n_synapses=nan, sparsity=nan, champion_degree=nan)
    genome, info = champion
    returns = np.asarray(info["test_returns"], np.float64)
    return dict(
        rec,
        test=float(returns.mean()),
        test_std=float(returns.std()),
        test_episodes=int(returns.size),
        n_synapses=genome.n_synapses,
        sparsity=genome.sparsity(),
        champion_degree=len(genome.recurrent) / max(genome.n, 1),
    )


# --------------------------------------------------------------- summary
def _mean_std(values) -> tuple[float, float]:
    v = np.asarray([x for x in values if not math.isnan(x)], np.float64)
    if v.size == 0:
        return math.nan, math.nan
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else 0.0


def summarise(records: list[dict], footing: dict[int, dict] | None = None) -> list[dict]:
    """One row per dimension (:data:`SUMMARY_COLUMNS`) from :func:`run_batch` records."""
    rows = []
    for dim in sorted({r["dim"] for r in records}):
        rs = [r for r in records if r["dim"] == dim]
        row = {"dim": dim, "runs": len(rs), "complete": sum(bool(r["complete"]) for r in rs)}
        for key, name in (("test", "test"), ("n_synapses", "synapses"), ("sparsity", "sparsity"),
                          ("env_steps", "env_steps")):  # fmt: skip
            row[f"{name}_mean"], row[f"{name}_std"] = _mean_std([r[key] for r in rs])
        row["wall_time_mean"] = _mean_std([r["wall_time"] for r in rs])[0]
        row["champion_degree_mean"] = _mean_std([r["champion_degree"] for r in rs])[0]
        for key in (c for c in SUMMARY_COLUMNS if c.startswith("init_")):
            row[key] = (footing or {}).get(dim, {}).get(key, math.nan)
        rows.append(row)
    return rows


def write_csv(rows: list[dict], path) -> Path:
    """Write summary rows to ``path`` (columns :data:`SUMMARY_COLUMNS`)."""
    path = Path(path)
    with path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=SUMMARY_COLUMNS)
        w.writeheader()
        for row in rows:
            w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in row.items()})
    return path


def format_table(rows: list[dict]) -> str:
    """The summary rows as a fixed-width text table (mean +- std over seeds)."""
    cells = (("test score", "test", ".1f"), ("non-zero weights", "synapses", ".0f"),
             ("sparsity", "sparsity", ".3f"), ("env steps", "env_steps", ".3g"))  # fmt: skip
    head = f"{'dim':>3} {'runs':>4} {'done':>4} " + " ".join(f"{t:^21}" for t, _, _ in cells)
    head += f" {'degree k':>8} {'distance':>8} {'strength':>8}"
    lines = [head, "-" * len(head)]
    for r in rows:
        line = f"{r['dim']:>2}D {r['runs']:>4} {r['complete']:>4} "
        line += " ".join(f"{r[k + '_mean']:>9{f}} +- {r[k + '_std']:<9{f}}" for _, k, f in cells)
        lines.append(line + f" {r['init_degree']:>8.2f} {r['init_distance']:>8.2f} {r['init_strength']:>8.2f}")
    return "\n".join(lines)


def plot_summary(records: list[dict], rows: list[dict], path, title: str = "", note: str = "") -> Path:
    """Four panels (test score, non-zero weights, sparsity, environment steps) per dimension.

    Bars are means over seeds with +- std error bars; dots are single runs.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = (
        ("test", "test", "test score (held-out mean return)"),
        ("n_synapses", "synapses", "non-zero weights"),
        ("sparsity", "sparsity", "connection sparsity"),
        ("env_steps", "env_steps", "environment steps"),
    )
    fig, axes = plt.subplots(1, 4, figsize=(14, 3.8))
    dims = [r["dim"] for r in rows]
    for ax, (key, name, label) in zip(axes, panels, strict=True):
        ax.bar(dims, [r[f"{name}_mean"] for r in rows], yerr=[r[f"{name}_std"] for r in rows],
               color="0.8", edgecolor="0.3", capsize=4)  # fmt: skip
        xs = [r["dim"] for r in records]
        ax.plot(xs, [r[key] for r in records], "o", color="C0", ms=4)
        ax.set_xticks(dims, [f"{d}D" for d in dims])
        ax.set_title(label, fontsize=10)
    fig.suptitle(title)
    if note:
        import textwrap

        fig.text(0.01, 0.01, textwrap.fill(note, 180), fontsize=7, va="bottom")
    # fixed margins: tight_layout measured every text box and took half the time of a batch test
    fig.subplots_adjust(left=0.05, right=0.99, top=0.84, bottom=0.24 if note else 0.09, wspace=0.32)
    path = save_png(fig, path, dpi=100)
    plt.close(fig)
    return path
