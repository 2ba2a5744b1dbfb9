"""Batch runs: every (dimension, seed) pair of a scenario, then a summary per dimension.

:func:`run_batch` runs ``evolve`` once per pair with one archive each,
``<out_dir>/<scenario>-<dim>d-seed<k>.h5``. A run whose archive is complete
(``generations`` complete generations, or a champion at or above the
scenario's ``target``) is skipped; an interrupted one is resumed from its last
complete generation, so a batch can be stopped and started again at will.

The summary gives, per dimension, mean +- std over seeds (sample std,
``ddof = 1``; 0 for one seed) of the champion's test score, its non-zero
weights (``Genome.n_synapses``), its connection sparsity
(``Genome.sparsity()``) and the environment steps spent, as a CSV
(``<out_dir>/<scenario>-summary.csv``), a printed table and a PNG plot.

The summary also reports the realised network statistics of random genomes
of each dimension (:func:`~spatial_snn.runs.equal_footing.network_footing`).
Before any run, the batch prints their distributions per dimension and
refuses a calibrated comparison whose distributions differ beyond a
tolerance (:mod:`~spatial_snn.runs.equal_footing`; ``equal_footing=False``,
``--allow-unequal-footing`` on the command line, runs it anyway).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..space.footing import format_footing
from ..store.archive import open_run
from .equal_footing import _FOOTING_SAMPLES, check_footing, footing_note, network_footing
from .png import save_png
from .runner import evolve
from .scenarios import Scenario, archive_path, as_scenario, stored_scenario
from .setup import resolve
from .start import fit_start, load_start

SUMMARY_COLUMNS = (
    "dim", "runs", "complete", "test_mean", "test_std", "synapses_mean", "synapses_std",
    "sparsity_mean", "sparsity_std", "env_steps_mean", "env_steps_std", "wall_time_mean",
    "champion_degree_mean", "init_degree", "init_distance", "init_strength", "init_input_synapses",
    "init_output_synapses", "init_input_fan_out", "init_output_fan_in",
)  # fmt: skip


def run_batch(
    scenario,
    *,
    dims=(1, 2, 3),
    seeds=(0,),
    generations: int | None = None,
    workers: int | None = None,
    out_dir="archive",
    executor=None,
    equal_footing: bool = True,
) -> list[dict]:
    """Run every ``(dim, seed)`` pair of a scenario and summarise per dimension.

    Parameters
    ----------
    scenario : Scenario, dict or path to a TOML file
    dims : sequence of int
        Embedding dimensions, each 1, 2 or 3.
    seeds : sequence of int
        Run seeds (>= 0).
    generations : int, optional
        Overrides ``scenario.evolution.generations``; a larger value than a
        finished archive's extends that run.
    workers : int, optional
        Local worker processes per run (default: one per core).
    executor : concurrent.futures.Executor or str, optional
        Passed to :func:`~spatial_snn.runs.runner.evolve` (e.g. a Dask address).
    out_dir : path
        Directory of the archives and the summary files.
    equal_footing : bool
        Require the same mean recurrent degree in every dimension: for a
        calibrated network (``spatial`` preset or ``network.mean_degree``),
        stop with a ValueError before any run if the realised degrees spread
        by more than :data:`~spatial_snn.runs.equal_footing.DEGREE_TOLERANCE`, or, when the io length is
        calibrated too, the expected input synapses per channel by more than
        :data:`~spatial_snn.runs.equal_footing.FAN_OUT_TOLERANCE`, or if any distribution of
        :data:`~spatial_snn.space.footing.QUANTITIES` differs between two
        dimensions (:func:`~spatial_snn.space.footing.unequal`: means spread
        by more than 10 %, or KS distance above 0.1 at p < 1e-3). The
        uncalibrated ``reference``
        preset runs the published grids as published, and the summary says
        that they differ in mean distance and degree. False: no check.

    Returns
    -------
    list of dict
        One record per pair, in run order: ``dim, seed, archive``,
        ``skipped`` (already complete), ``resumed_from`` (the generation an
        interrupted run continued from, None if started afresh or skipped),
        ``generations`` (complete ones), ``complete``, ``test`` and
        ``test_std`` (the champion's held-out returns), ``n_synapses``,
        ``sparsity``, ``champion_degree`` (recurrent synapses per neuron),
        ``env_steps`` and ``wall_time`` (cumulative, s).
    """
    sc = as_scenario(scenario)
    dims = _check_dims(dims)
    seeds = _check_seeds(seeds)
    n_gen = int(generations if generations is not None else sc.evolution.generations)
    if n_gen < 1:
        raise ValueError(f"generations: expected an integer >= 1, got {generations}")
    out_dir = Path(out_dir)
    setup = resolve(sc, dims[0], seeds[0])  # a broken scenario fails here, in a second
    footing = network_footing(sc, dims, setup.n_inputs, setup.n_outputs)
    note = footing_note(sc, footing)
    print(f"Random genomes per dimension ({_FOOTING_SAMPLES} each):", flush=True)
    print(format_footing({d: footing[d]["samples"] for d in footing}), flush=True)
    if equal_footing:
        check_footing(sc, footing)
    start = load_start(sc)
    for dim in dims if start is not None else ():  # a start that fits one dimension only fails before any run
        fit_start(start, resolve(sc, dim, seeds[0], bounds=start.bounds))
    out_dir.mkdir(parents=True, exist_ok=True)
    pairs = [(d, s) for d in dims for s in seeds]
    paths = [archive_path(sc.name, d, s, out_dir) for d, s in pairs]
    progress = [_progress(path, sc, n_gen) for path in paths]  # foreign archives fail here, before any run
    records = []
    for k, ((dim, seed), path, (done, start)) in enumerate(zip(pairs, paths, progress, strict=True), 1):
        head = f"[{k}/{len(pairs)}] {sc.name} {dim}D seed {seed}"
        if not done:
            action = f"resuming at generation {start}" if start is not None else "starting"
            print(f"{head}: {action} -> {path}", flush=True)
            evolve(sc, dim=dim, seed=seed, generations=n_gen, workers=workers, executor=executor,
                   archive=path, resume=start is not None)  # fmt: skip
        rec = read_record(path, n_gen, sc.protocol.target)
        rec.update(skipped=done, resumed_from=None if done else start)
        print(f"{head}: {'complete, skipped; ' if done else ''}test {rec['test']:.1f} +- {rec['test_std']:.1f}, "
              f"{rec['n_synapses']} non-zero weights, {rec['env_steps']} environment steps", flush=True)  # fmt: skip
        records.append(rec)
    rows = summarise(records, footing)
    stem = out_dir / f"{sc.name}-summary"
    write_csv(rows, stem.with_suffix(".csv"))
    plot_summary(records, rows, stem.with_suffix(".png"), title=f"{sc.name} ({sc.env.id})", note=note)
    print(format_table(rows))
    print(note)
    print(f"summary written to {stem.with_suffix('.csv')} and {stem.with_suffix('.png')}")
    return records


# ---------------------------------------------------------------- checks
def _check_dims(dims) -> list[int]:
    dims = [int(d) for d in dims]
    if not dims or any(d not in (1, 2, 3) for d in dims) or len(set(dims)) != len(dims):
        raise ValueError(f"dims: expected distinct values among 1, 2, 3, got {dims}")
    return dims


def _check_seeds(seeds) -> list[int]:
    seeds = [int(s) for s in seeds]
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise ValueError(f"seeds: expected distinct integers >= 0, got {seeds}")
    return seeds


# -------------------------------------------------------------- archives
def _progress(path: Path, sc: Scenario, n_gen: int) -> tuple[bool, int | None]:
    """``(complete, n_generations)`` of an archive; ``(False, None)`` when there is none.

    Raises ValueError if the archive was written with another scenario: it
    must be neither resumed nor summarised as a run of this one.
    """
    if not path.exists():
        return False, None
    with open_run(path) as run:
        stored = _upgraded(run.config.get("scenario"))
        if _canonical(stored) != _canonical(sc.to_dict()):
            changed = sorted(
                k for k in sc.to_dict() if _canonical((stored or {}).get(k)) != _canonical(sc.to_dict()[k])
            )
            raise ValueError(
                f"{path}: written with another scenario (differs in {changed}); move it away, "
                "pass another out_dir, or restore the scenario it was run with"
            )
        done = run.n_generations >= n_gen or _reached(run.champion(), sc.protocol.target)
        return done, run.n_generations


def _upgraded(stored):
    """A stored scenario dict with the keys added since it was written (as is if unreadable)."""
    try:
        return stored_scenario(stored).to_dict()
    except (TypeError, ValueError):
        return stored


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _reached(champion, target) -> bool:
    return target is not None and champion is not None and float(np.mean(champion[1]["test_returns"])) >= target


def read_record(path, n_gen: int | None = None, target=None) -> dict:
    """The per-run figures of a run archive (NaN where no champion was tested)."""
    with open_run(path) as run:
        hist, champion = run.history, run.champion()
        n = run.n_generations
        rec = {"dim": run.dim, "seed": run.seed, "archive": str(path), "generations": n,
               "complete": (n_gen is not None and n >= n_gen) or _reached(champion, target),
               "env_steps": int(hist["env_steps"][-1]) if n else 0,
               "wall_time": float(hist["wall_time"][-1]) if n else 0.0}  # fmt: skip
    if champion is None:
        nan = math.nan
        return dict(rec, test=nan, test_std=nan, n_synapses=nan, sparsity=nan, champion_degree=nan)
    genome, info = champion
    returns = np.asarray(info["test_returns"], np.float64)
    return dict(
        rec,
        test=float(returns.mean()),
        test_std=float(returns.std()),
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
