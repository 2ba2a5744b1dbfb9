"""Human-readable views of a run archive: a text summary and the fitness curves.

Both take an open :class:`~spatial_snn.store.archive.Run` (see
:func:`~spatial_snn.store.archive.open_run`) and only read it, so they also work
on a run that is still being written. ``spatial-snn inspect PATH [--plot
out.png]`` prints :func:`summary` and draws :func:`plot`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..store.archive import Run


def task_name(config: dict) -> str:
    """The environment id recorded in a run's config (``"unknown"`` if none).

    Looks at ``config["task"]["env_id"]`` (what the runner stores), then
    ``config["task"]`` as a string, ``config["env_id"]`` and
    ``config["scenario"]["task"]["env_id"]``.
    """
    task = config.get("task")
    if isinstance(task, dict) and isinstance(task.get("env_id"), str):
        return task["env_id"]
    if isinstance(task, str):
        return task
    if isinstance(config.get("env_id"), str):
        return config["env_id"]
    scenario = config.get("scenario")
    if isinstance(scenario, dict) and isinstance(scenario.get("task"), dict):
        env_id = scenario["task"].get("env_id")
        if isinstance(env_id, str):
            return env_id
    return "unknown"


def _duration(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "n/a"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h} h {m:02d} min {s:02d} s" if h else f"{m} min {s:02d} s" if m else f"{seconds:.1f} s"


def _last(values: np.ndarray) -> float:
    return float(values[-1]) if len(values) else math.nan


def summary(run: Run) -> str:
    """A few lines describing a run: task, dimension, progress, scores, cost.

    Lines: archive path; task (env id and scenario name); embedding
    dimension; complete generations (of the configured count); best
    training return (the ``best`` history, mean over a genome's training
    episodes) and its generation; best test return (the champion's mean +-
    std over its test episodes); the champion's synapse count and connection
    sparsity (fraction of possible synapses absent); environment steps and
    wall time (cumulative, the last ``env_steps`` / ``wall_time`` entries).
    """
    cfg = run.config
    h = run.history
    n = run.n_generations
    scenario = cfg.get("scenario")
    scenario_name = scenario.get("name") if isinstance(scenario, dict) else None
    task = task_name(cfg) + (f" (scenario {scenario_name})" if scenario_name else "")
    planned = cfg.get("generations")
    gens = f"{n} complete" + (f" of {planned}" if isinstance(planned, int) and planned >= n else "")
    lines = [
        ("run archive", str(run.path)),
        ("task", task),
        ("dimension", f"{run.dim}D"),
        ("seed", str(run.seed)),
        ("generations", gens if n else "0 (no complete generation yet)"),
    ]
    best = h.get("best", np.empty(0))
    if n and np.any(np.isfinite(best)):
        g = int(np.nanargmax(best))
        lines.append(("best train", f"{best[g]:.1f} (generation {int(h['generation'][g])})"))
    else:
        lines.append(("best train", "n/a"))
    champion = run.champion()
    if champion is not None:
        genome, info = champion
        r = np.asarray(info["test_returns"], np.float64)
        test = f"{r.mean():.1f} +- {r.std():.1f} over {r.size} episodes" if r.size else "n/a"
        lines.append(("best test", f"{test} (champion, generation {info['generation']})"))
        lines.append(
            (
                "champion",
                f"{genome.n_synapses} synapses, sparsity {100 * genome.sparsity():.1f} % "
                f"({genome.n} neurons, {genome.n_inputs} inputs, {genome.n_outputs} outputs)",
            )
        )
    else:
        tests = h.get("test", np.empty(0))
        tested = tests[np.isfinite(tests)]
        lines.append(("best test", f"{tested.max():.1f}" if tested.size else "not tested yet"))
        lines.append(("champion", "none yet"))
    steps = _last(h.get("env_steps", np.empty(0)))
    lines.append(("env steps", f"{int(steps):,}" if math.isfinite(steps) else "n/a"))
    lines.append(("wall time", _duration(_last(h.get("wall_time", np.empty(0))))))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)


def plot(run: Run, out_png: str | os.PathLike) -> Path:
    """Draw best, mean and test return against generation into ``out_png``.

    Uses matplotlib's Agg canvas directly (no pyplot state, no display).
    Test returns are drawn as markers at the generations that were tested.

    Returns
    -------
    Path
        The written file.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    h = run.history
    gen = h["generation"]
    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    ax.plot(gen, h["best"], label="best (train)", color="tab:blue")
    ax.plot(gen, h["mean"], label="mean (train)", color="tab:gray")
    tested = np.isfinite(h["test"])
    ax.plot(gen[tested], h["test"][tested], "o-", label="test", color="tab:red", markersize=4)
    if not len(gen):
        ax.text(0.5, 0.5, "no complete generation yet", transform=ax.transAxes, ha="center")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation")
    ax.set_ylabel("episode return")
    ax.set_title(f"{task_name(run.config)}, {run.dim}D, seed {run.seed}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    out = Path(out_png)
    fig.savefig(out, format="png")
    return out
