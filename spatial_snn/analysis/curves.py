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
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .png import save_png

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
    group: str = ""  # the scenario name: runs compared at a budget are grouped by it
    total_steps: float = math.nan  # environment steps the run has spent so far (tested or not)
    reached_target: bool = False  # stopped at its scenario's target: its score is final at any budget


def read_curve(path) -> Curve:
    """The tested generations of a run archive as a :class:`Curve`.

    A run that started from a stored genome (``[start] genome``) is drawn from
    the environment steps that made that genome on, when they are known.
    """
    from ..store.controller import start_env_steps
    from ..store.run_reader import open_run
    from .inspect import task_name

    with open_run(path) as run:
        h = run.history
        steps = np.asarray(h.get("env_steps", []), np.float64)
        test = np.asarray(h.get("test", []), np.float64)
        scenario = run.config.get("scenario")
        name = scenario.get("name") if isinstance(scenario, dict) else None
        protocol = scenario.get("protocol") if isinstance(scenario, dict) else None
        target = protocol.get("target") if isinstance(protocol, dict) else None
        env_id, dim, seed = task_name(run.config), int(run.dim), int(run.seed)
        steps = steps + start_env_steps(run)  # a refinement ([start] genome) goes on from its start's steps
    keep = np.isfinite(test)
    group = f"{name or Path(path).stem} {dim}D"
    total = float(steps[-1]) if steps.size else 0.0
    reached = isinstance(target, int | float) and bool(keep.any()) and float(test[keep].max()) >= target
    return Curve(f"{group} seed {seed}", env_id, dim, seed, steps[keep], test[keep], group, total, reached)


def score_at(curve: Curve, budget: float) -> float:
    """The champion's test score once the run had spent at most ``budget`` environment steps.

    NaN when the run has not spent ``budget`` yet (it may still improve
    within it) or had no test by then. A run that stopped at its target
    before the budget counts with its final score: it would not have run on.
    """
    if not (curve.total_steps >= budget or curve.reached_target):  # NaN (unknown) counts as not spent
        return math.nan
    keep = curve.env_steps <= budget
    return float(curve.test[keep].max()) if keep.any() else math.nan


def at_budget(curves: list[Curve], budget: float) -> list[dict]:
    """Runs compared at one environment-step budget, grouped by scenario and dimension.

    One row per group: ``group``, ``scores`` (per run that spent the budget,
    in the given order, with its seed), ``n``, ``median``, ``q1``, ``q3``,
    ``min``, ``max``, and ``short``: seeds of runs that have not spent it yet.
    """
    rows: dict[str, dict] = {}
    for c in curves:
        row = rows.setdefault(c.group, {"group": c.group, "scores": [], "short": []})
        score = score_at(c, budget)
        if math.isnan(score):
            row["short"].append(c.seed)
        else:
            row["scores"].append((c.seed, score))
    for row in rows.values():
        x = np.array([v for _, v in row["scores"]])
        row["n"] = x.size
        q = np.percentile(x, [0, 25, 50, 75, 100]) if x.size else [math.nan] * 5
        row.update(zip(("min", "q1", "median", "q3", "max"), (float(v) for v in q), strict=True))
    return list(rows.values())


def format_budget(rows: list[dict], budget: float) -> str:
    """``at_budget`` rows as a plain-text table."""
    lines = [f"champion's test score after {budget:,.0f} environment steps (median [q1, q3], min-max):"]
    for r in rows:
        parts = [", ".join(f"s{k} {v:.0f}" for k, v in r["scores"])]
        if r["short"]:
            parts.append("not there yet: " + ", ".join(f"s{k}" for k in r["short"]))
        stats = (
            f"median {r['median']:.0f} [{r['q1']:.0f}, {r['q3']:.0f}], {r['min']:.0f}-{r['max']:.0f}"
            if r["n"]
            else "no run there yet"
        )
        lines.append(f"  {r['group']}: n={r['n']}  {stats}  ({'; '.join(p for p in parts if p)})")
    return "\n".join(lines)


def best_so_far(curve: Curve) -> np.ndarray:
    """The champion's score after each test (a run keeps its best tested genome)."""
    return np.maximum.accumulate(curve.test) if curve.test.size else curve.test


LEGENDS = ("inside", "below")


def plot_curves(
    curves: list[Curve],
    out,
    *,
    published: float | None = None,
    title: str | None = None,
    champion: bool = True,
    legend: str = "inside",
) -> Path:
    """Write the figure: one line per run, the published score as a dashed line.

    ``champion`` plots the best test so far (what the run would ship at that
    point), else every test as measured. Runs of one group (scenario and
    dimension) share a colour and one legend entry when several groups have
    several seeds each (an ablation); otherwise each run has its own.
    ``legend``: ``"inside"`` the axes, in their least covered corner, or
    ``"below"`` them, where it covers no curve (for figures whose curves fill
    every corner).
    """
    if legend not in LEGENDS:
        raise ValueError(f"legend: expected one of {LEGENDS}, got {legend!r}")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    if not curves:
        raise ValueError("curves: expected at least one run archive")
    styles = {1: ":", 2: "-", 3: "--"}  # the line style tells the dimension
    seeds = Counter(c.group for c in curves)  # runs per group, in order of first appearance
    groups = list(seeds)
    by_group = 1 < len(groups) < len(curves)
    # a legend below the axes takes its rows from the figure's height, not from the axes'
    entries = (len(groups) if by_group else len(curves)) + (published is not None)
    fig, ax = plt.subplots(figsize=(7, 4.2 + (0.2 * math.ceil(entries / 2) if legend == "below" else 0)), dpi=110)
    labelled = set()
    for k, c in enumerate(curves):
        x, y = c.env_steps, best_so_far(c) if champion else c.test
        if by_group:
            n = seeds[c.group]
            label = None if c.group in labelled else f"{c.group} ({n} seed{'s' if n > 1 else ''})"
            labelled.add(c.group)
            colour = f"C{groups.index(c.group) % 10}"
        else:
            label, colour = c.label, f"C{k % 10}"
        style = {
            "marker": "o",
            "markersize": 3,
            "linewidth": 1.4,
            "label": label,
            "color": colour,
            "linestyle": styles.get(c.dim, "-"),
            "alpha": 0.9,
        }
        if champion:
            # the champion's score holds until the next test beats it, and up to the steps spent so far
            style.update(drawstyle="steps-post", markevery=list(range(len(x))))
            if y.size and c.total_steps > x[-1]:
                x, y = np.append(x, c.total_steps), np.append(y, y[-1])
        ax.plot(x, y, **style)
    if published is not None and math.isfinite(published):
        low, high = ax.get_ylim()
        pad = 0.05 * (max(high, published) - min(low, published))
        ax.set_ylim(min(low, published - pad), max(high, published + pad))  # the line never sits on the frame
        ax.axhline(published, color="black", linestyle="--", linewidth=1.2, label=f"published {published:g}")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e6:g}M" if x else "0"))
    ax.set_xlabel("environment steps (training and tests)")
    ax.set_ylabel("held-out test return" + (" (best so far)" if champion else ""))
    envs = sorted({c.env_id for c in curves})
    ax.set_title(textwrap.fill(title or ", ".join(envs), 80), fontsize=10)
    ax.grid(alpha=0.3)
    if legend == "below":
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=2, frameon=False)
    else:
        ax.legend(fontsize=8, loc="best")  # the least covered corner: curves may sit low (a plateau) or high
    fig.tight_layout()
    out = save_png(fig, out)
    plt.close(fig)
    return out
