"""Learning curves across runs: environment steps against held-out test score.

``spatial-snn curves A.h5 B.h5 ... --out task.png [--published 2706.1]``
draws one line per run archive (one per seed, grouped by dimension), the
x axis in environment steps (training and tests, cumulative, as the runner
counts them), the y axis the test score of the generations that ran a test,
and the published score as a horizontal line: by default the row of
:data:`PUBLISHED` for the runs' task. Archives are only read, so a run still
being written can be plotted.
"""

from __future__ import annotations

import math
import textwrap
from dataclasses import dataclass
from pathlib import Path

import numpy as np

#: The published method's best score per task (mean return over 100 test
#: episodes, 64 hidden neurons, gymnasium v5; ICANN 2025, its results table).
PUBLISHED = {
    "Swimmer-v5": 361.8,
    "Hopper-v5": 2706.1,
    "HalfCheetah-v5": 3670.4,
    "Walker2d-v5": 2492.0,
    "Ant-v5": 1346.8,
}


def published_score(curves: list[Curve]) -> float | None:
    """The published score of the runs' task, None when they mix tasks or it has none."""
    envs = {c.env_id for c in curves}
    return PUBLISHED.get(envs.pop()) if len(envs) == 1 else None


@dataclass(frozen=True)
class Curve:
    """Test points of one run: ``env_steps`` and ``test`` (same length), and who made them."""

    label: str
    env_id: str
    dim: int
    seed: int
    env_steps: np.ndarray
    test: np.ndarray


def read_curve(path) -> Curve:
    """The tested generations of a run archive as a :class:`Curve`."""
    from ..store.archive import open_run
    from .inspect import task_name

    with open_run(path) as run:
        h = run.history
        steps = np.asarray(h.get("env_steps", []), np.float64)
        test = np.asarray(h.get("test", []), np.float64)
        scenario = run.config.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else None
        env_id, dim, seed = task_name(run.config), int(run.dim), int(run.seed)
    keep = np.isfinite(test)
    label = f"{name or Path(path).stem} {dim}D seed {seed}"
    return Curve(label, env_id, dim, seed, steps[keep], test[keep])


def best_so_far(curve: Curve) -> np.ndarray:
    """The champion's score after each test (a run keeps its best tested genome)."""
    return np.maximum.accumulate(curve.test) if curve.test.size else curve.test


def plot_curves(curves: list[Curve], out, *, published: float | None = None, title: str | None = None,
                champion: bool = True) -> Path:
    """Write the figure: one line per run, the published score as a dashed line.

    ``champion`` plots the best test so far (what the run would ship at that
    point), else every test as measured.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    if not curves:
        raise ValueError("curves: expected at least one run archive")
    fig, ax = plt.subplots(figsize=(7, 4.2), dpi=110)
    styles = {1: ":", 2: "-", 3: "--"}  # one colour per run, the line style tells the dimension
    for k, c in enumerate(curves):
        y = best_so_far(c) if champion else c.test
        ax.plot(c.env_steps, y, marker="o", markersize=3, linewidth=1.4, label=c.label,
                color=f"C{k % 10}", linestyle=styles.get(c.dim, "-"), alpha=0.9)
    if published is not None and math.isfinite(published):
        ax.axhline(published, color="black", linestyle="--", linewidth=1.2, label=f"published {published:g}")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e6:g}M" if x else "0"))
    ax.set_xlabel("environment steps (training and tests)")
    ax.set_ylabel("held-out test return" + (" (best so far)" if champion else ""))
    envs = sorted({c.env_id for c in curves})
    ax.set_title(textwrap.fill(title or ", ".join(envs), 80), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out
