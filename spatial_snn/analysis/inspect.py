"""Human-readable views of a run archive: a text summary and the fitness curves.

:func:`summary`, :func:`figure` (a matplotlib ``Figure``) and :func:`plot` (that
figure as a PNG) take an open :class:`~spatial_snn.store.run_reader.Run` (see
:func:`~spatial_snn.store.run_reader.open_run`) and only read it, so they also work
on a run that is still being written. ``spatial-snn inspect PATH [--plot
out.png]`` prints :func:`summary` and draws :func:`plot`.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ..store import schema
from ..store.run_reader import Run
from ..tasks.spread import mean_sd_se
from .png import save_png
from .qd_map import map_lines


def task_name(config: dict) -> str:
    """The environment id in a run's config: ``config["task"]["env_id"]``, as
    the runner stores it (``"unknown"`` if absent)."""
    task = config.get("task")
    if isinstance(task, dict) and isinstance(task.get("env_id"), str):
        return task["env_id"]
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


def _cpu(seconds: float) -> str:
    """CPU time in seconds, minutes or hours, whichever reads best."""
    if not math.isfinite(seconds):
        return "not recorded"
    text = (
        f"{seconds:.1f} s"
        if seconds < 120
        else f"{seconds / 60:.1f} min"
        if seconds < 7200
        else f"{seconds / 3600:.2f} h"
    )
    return f"{text} (all processes)"


def _extensions(run: Run) -> list[tuple[int, int, int]]:
    """``(first generation, generations, max_env_steps or -1)`` of each resume that extended the run."""
    names = (x for x in run.run_data_names if schema.extension_index(x) is not None)
    return [tuple(int(v) for v in run.run_data(name)) for name in sorted(names, key=schema.extension_index)]


def planned_generations(run: Run) -> int | None:
    """The generation count the run last went on with: the latest extension's, else the config's."""
    ext = _extensions(run)
    planned = ext[-1][1] if ext else run.config.get("generations")
    return planned if isinstance(planned, int) else None


def stop_reason(run: Run) -> str:
    """Why the run ended, from the ``stopped`` statistic its last generation stores.

    ``"target reached"``, ``"step budget spent"`` or ``"generation count
    reached"``; ``"not finished: interrupted, or still running"`` when the last
    generation went on; for generations written before the statistic was
    kept, ``"target reached"`` only when the champion's test shows it (a
    resumed run keeps its target), else ``"unknown (written before stop
    reasons were kept)"``: the generation count and step budget a run went on
    with were not all recorded then.
    """
    n = run.n_generations
    if not n:
        return "not started: no complete generation yet"
    code = _last(run.history.get(schema.STOP_KEY, np.empty(0)))
    if math.isfinite(code):
        return schema.STOP_REASONS.get(int(code), "not finished: interrupted, or still running")
    target = _protocol(run.config).get("target")
    champion = run.champion()
    if (
        champion is not None
        and isinstance(target, int | float)
        and float(np.mean(champion[1]["test_returns"])) >= target
    ):
        return schema.STOP_REASONS[1]
    return "unknown (written before stop reasons were kept)"


def summary(run: Run) -> str:
    """A few lines describing a run: task, dimension, progress, scores, cost.

    Lines: archive path; task (env id and scenario name); embedding
    dimension; complete generations (of the count it last went on with);
    why it stopped (:func:`stop_reason`); best
    training return (the ``best`` history, mean over a genome's training
    episodes) and its generation; best test return (the champion's mean +-
    sd over its test episodes and the mean's se,
    :func:`~spatial_snn.tasks.spread.mean_sd_se`); the champion's synapse count and connection
    sparsity (fraction of possible synapses absent); environment steps,
    the steps behind a start genome; the last generation's self-adapting
    mutation strengths, if any; wall time and CPU time (cumulative, the last
    ``env_steps`` / ``wall_time`` / ``cpu_time`` entries).
    """
    cfg = run.config
    h = run.history
    n = run.n_generations
    scenario = cfg.get("scenario")
    scenario_name = scenario.get("name") if isinstance(scenario, dict) else None
    task = task_name(cfg) + (f" (scenario {scenario_name})" if scenario_name else "")
    planned = planned_generations(run)
    gens = f"{n} complete of {planned if planned is not None else 'unknown'}" + (
        " (a resume went on past it)" if planned is not None and n > planned else ""
    )
    lines = [
        ("run archive", str(run.path)),
        ("task", task),
        ("dimension", f"{run.dim}D"),
        ("seed", str(run.seed)),
        ("generations", gens),
        ("stopped", stop_reason(run)),
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
        test = f"{mean_sd_se(r.mean(), r.std(), r.size)} over {r.size} episodes" if r.size else "n/a"
        lines.append(("best test", f"{test} (champion, generation {info['generation']})"))
        lines.append(
            (
                "champion",
                f"{genome.n_synapses} synapses, sparsity {100 * genome.sparsity():.1f} % "
                f"({genome.n} neurons, {genome.n_inputs} inputs, {genome.n_outputs} outputs)",
            )
        )
        if genome.plastic:
            lines.append(("plasticity", _plasticity_line(genome)))
    else:
        tests = h.get("test", np.empty(0))
        tested = tests[np.isfinite(tests)]
        lines.append(("best test", f"{tested.max():.1f}" if tested.size else "not tested yet"))
        lines.append(("champion", "none yet"))
    steps = _last(h.get("env_steps", np.empty(0)))
    lines.append(("env steps", f"{int(steps):,}" if math.isfinite(steps) else "n/a"))
    from ..store.controller import start_env_steps

    before = start_env_steps(run)
    if before:
        lines.append(("", f"+ {before:,} that made the start genome ([start] genome)"))
    for first, gens, budget in _extensions(run):  # a resume that extended the run
        limit = f"{budget:,} env steps" if budget >= 0 else "no step budget"
        lines.append(("extended", f"from generation {first}: {gens} generations, {limit}"))
    if n:
        strengths = run.generation(n - 1)["extra"].get(schema.MUTATION_STRENGTHS)
        if strengths is not None:  # self-adapting mutation ([evolution] adapt_tau)
            q = np.quantile(strengths, [0.0, 0.5, 1.0])
            lines.append(
                ("mutation", f"strength median {q[1]:.3g} (range {q[0]:.3g}-{q[2]:.3g}) in generation {n - 1}")
            )
        search = _search(cfg, run.generation(n - 1)["extra"])
        if search:
            lines.append(("search", search))
        lines += map_lines(run)
    lines.append(("wall time", _duration(_last(h.get("wall_time", np.empty(0))))))
    lines.append(("CPU time", _cpu(_last(h.get(schema.CPU_TIME, np.empty(0))))))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k:<{width}}  {v}" for k, v in lines)


def _search(config: dict, extra: dict) -> str | None:
    """The ``[search]`` strategy of the last generation and a summary of its state (None for the GA)."""
    if schema.SEARCH_SWITCH not in extra:
        return None
    table = (config.get("scenario") or {}).get("search") or {}
    name = table.get("strategy") if table.get("strategy") != "ga" else table.get("then")
    state = {
        k.removeprefix(schema.SEARCH_STATE_PREFIX): np.asarray(v, np.float64)
        for k, v in extra.items()
        if k.startswith(schema.SEARCH_STATE_PREFIX)
    }
    switch = int(np.asarray(extra[schema.SEARCH_SWITCH]).ravel()[0])
    text = f"{name} from generation {switch}"
    if "p" in state:  # EC: connection probabilities
        p = state["p"]
        return text + f", {p.size} candidate edges, expected {p.sum():.0f} connections (mean p {p.mean():.3g})"
    genes = state["mean"].size if "mean" in state else 0
    text += f", {genes} genes"
    if "sigma" in state:
        sigma = state["sigma"] * (np.sqrt(state["cov"]) if "cov" in state else 1.0)  # per-gene step
        q = np.quantile(sigma, [0.0, 0.5, 1.0])
        return text + f", sigma median {q[1]:.3g} (range {q[0]:.3g}-{q[2]:.3g})"
    sigma = ((table.get(name) or {}) if isinstance(table.get(name), dict) else {}).get("sigma")
    return text + (f", sigma {sigma:.3g} (fixed)" if isinstance(sigma, int | float) else "")


def _protocol(config: dict) -> dict:
    """The stored scenario's ``protocol`` table (empty if the config has none)."""
    scenario = config.get("scenario")
    protocol = scenario.get("protocol") if isinstance(scenario, dict) else None
    return protocol if isinstance(protocol, dict) else {}


def _training_reward(config: dict) -> str:
    """How training episodes' reward differs from the task's (``[env] train_kwargs``), e.g.
    ``"healthy_reward=0.0"``; empty when they are the same."""
    scenario = config.get("scenario")
    env = scenario.get("env") if isinstance(scenario, dict) else None
    kwargs = env.get("train_kwargs") if isinstance(env, dict) else None
    return ", ".join(f"{k}={v!r}" for k, v in sorted(kwargs.items())) if isinstance(kwargs, dict) else ""


def figure(run: Run):
    """Best, mean and test return against generation, as a matplotlib ``Figure``.

    Best and mean training return (per generation, over the population) are
    lines; the test return (mean over the scenario's held-out test episodes)
    is drawn as hollow squares at the tested generations, on top, so a test
    score equal to the best training score stays visible. Lines carry markers
    while there are few generations, so a one-generation run shows its points.
    Ticks are whole generations. The scenario's ``protocol.target`` (the score
    that stops a run) is a dashed horizontal line. When training episodes use
    other keyword arguments than tests (``[env] train_kwargs``, e.g. no
    healthy reward), the training and test scores are on different rewards:
    the legend names the training arguments and the axis says so.

    Uses matplotlib's Agg canvas directly (no pyplot state, no display).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    h = run.history
    gen = np.asarray(h["generation"])
    fig = Figure(figsize=(7, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    marker = "o" if len(gen) <= _MARKERS_UP_TO else None
    changed = _training_reward(run.config)
    train = f"train, {changed}" if changed else "train"
    ax.plot(gen, h["best"], label=f"best ({train})", color="tab:blue", marker=marker, markersize=4)
    ax.plot(gen, h["mean"], label=f"mean ({train})", color="tab:gray", marker=marker, markersize=4)
    tested = np.isfinite(h["test"])
    protocol = _protocol(run.config)
    n_test = protocol.get("test_episodes")
    about = [f"mean of {n_test} episodes"] if isinstance(n_test, int) else []
    about += ["the task's reward"] if changed else []
    test_label = f"test ({', '.join(about)})" if about else "test"
    ax.plot(
        gen[tested],
        h["test"][tested],
        "s",
        label=test_label,
        color="tab:red",
        markersize=8,
        markerfacecolor="none",
        markeredgewidth=1.5,
        zorder=3,
    )
    target = protocol.get("target")
    if isinstance(target, int | float) and math.isfinite(target):
        ax.axhline(target, color="tab:green", linestyle="--", linewidth=1, label=f"target {target:g}")
    if not len(gen):
        ax.text(0.5, 0.5, "no complete generation yet", transform=ax.transAxes, ha="center")
    elif len(gen) <= _MARKERS_UP_TO:  # every generation a tick; half a generation of margin
        ax.set_xticks(gen)
        ax.set_xlim(gen.min() - 0.5, gen.max() + 0.5)
    else:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("generation")
    ax.set_ylabel("episode return" if not changed else "episode return (training and test rewards differ)")
    scenario = run.config.get("scenario")
    name = scenario.get("name") if isinstance(scenario, dict) else None
    ax.set_title(f"{task_name(run.config)}" + (f" ({name})" if name else "") + f", {run.dim}D, seed {run.seed}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best")
    fig.tight_layout()
    return fig


#: Up to this many generations, every point gets a marker and every generation a tick.
_MARKERS_UP_TO = 12


def plot(run: Run, out_png: str | os.PathLike) -> Path:
    """Write :func:`figure` to ``out_png`` and return its path."""
    return save_png(figure(run), out_png)


def _plasticity_line(genome) -> str:
    """Medians of a plastic genome's short-term plasticity genes, and how many neurons depress."""
    use, tau_f, tau_d = genome.stp_use, genome.stp_tau_f, genome.stp_tau_d
    depressing = int(np.sum(tau_d > tau_f))
    return (
        f"Tsodyks-Markram, median U {np.median(use):.2f}, tau_f {1e3 * np.median(tau_f):.0f} ms, "
        f"tau_d {1e3 * np.median(tau_d):.0f} ms; {depressing} of {genome.n} neurons with tau_d > tau_f"
    )
