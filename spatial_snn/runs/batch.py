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

Equal footing. Comparing dimensions is only fair at the same neuron count and
mean degree: the published grids 1x64x1, 1x8x8 and 4x4x4 differ in mean
distance, so under one rule ``p = exp(-2 d)`` the 3D grid is about three
times as densely connected as the 1D one. The ``spatial`` preset (or any
scenario with ``network.mean_degree``) calibrates the connection length per
dimension so that the expected mean recurrent degree is the same; ``spatial``
also calibrates the io length so that an input channel reaches the same
expected number of neurons (``network.io_degree``). The summary reports the
realised mean recurrent degree ``k = E / n`` (``E`` recurrent synapses of
``n`` neurons, self-loops included) of random genomes of each dimension,
their mean neuron-neuron distance, and the expected synapses per input
channel and per output unit.

Before any run, the batch prints the distributions of recurrent degree,
input fan-out, output fan-in, recurrent and io strength and delay of random
genomes per dimension (:mod:`~spatial_snn.space.footing`), and refuses a
calibrated comparison whose distributions differ beyond a tolerance
(``equal_footing=False``, ``--allow-unequal-footing`` on the command line,
runs it anyway).
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np

from ..evo.seeding import setup_rng
from ..space.connectivity import mean_fan_out, synapse_distances
from ..space.footing import compare_footing, footing_samples, format_footing, unequal
from ..space.layout import random_genome
from ..store.archive import open_run
from .runner import evolve
from .scenarios import Scenario, archive_path, as_scenario, stored_scenario
from .setup import resolve

#: Largest relative spread ``(max k - min k) / mean k`` of the realised mean
#: recurrent degree accepted as equal footing.
DEGREE_TOLERANCE = 0.10
#: The same for the expected input synapses per channel (given the positions).
FAN_OUT_TOLERANCE = 0.10
_FOOTING_SAMPLES = 64

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
        by more than :data:`DEGREE_TOLERANCE`, or, when the io length is
        calibrated too, the expected input synapses per channel by more than
        :data:`FAN_OUT_TOLERANCE`, or if any distribution of
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


def _by_dim(dims, values, fmt: str = ".2f") -> str:
    return ", ".join(f"{d}D {v:{fmt}}" for d, v in zip(dims, values, strict=True))


# -------------------------------------------------------------- footing
def calibrated(sc: Scenario) -> bool:
    """True when the network's connection length is calibrated to a mean degree."""
    return sc.network.preset == "spatial" or sc.network.mean_degree is not None


def check_footing(sc: Scenario, footing: dict[int, dict]) -> None:
    """Raise ValueError if a calibrated network's footing spreads (``(max - min) / mean``)
    by more than :data:`DEGREE_TOLERANCE` in recurrent degree or, if the io length is
    calibrated, by more than :data:`FAN_OUT_TOLERANCE` in input synapses per channel."""
    dims = sorted(footing)
    checks = []
    if calibrated(sc):
        checks.append(("init_degree", "realised mean recurrent degree", DEGREE_TOLERANCE,
                       "network.mean_degree and the placement"))  # fmt: skip
    if sc.network.spec(dims[0]).io_degree is not None:
        checks.append(("init_input_fan_out", "expected input synapses per channel", FAN_OUT_TOLERANCE,
                       "network.io_degree"))  # fmt: skip
    for key, what, tolerance, knobs in checks:
        values = [footing[d][key] for d in dims]
        spread = (max(values) - min(values)) / max(np.mean(values), 1e-12)
        if spread > tolerance:
            raise ValueError(
                f"equal footing: {what} differs by dimension ({_by_dim(dims, values)}; spread "
                f"{spread:.0%}, expected <= {tolerance:.0%}); check {knobs}, or pass equal_footing=False"
            )
    if calibrated(sc) and all("samples" in footing[d] for d in dims):
        bad = unequal(compare_footing({d: footing[d]["samples"] for d in dims}))
        if bad:
            raise ValueError(
                "equal footing: random genomes differ by dimension in " + "; ".join(bad) + ". Use preset "
                "'spatial' (scaled laws of shape dim in a periodic box), or pass equal_footing=False "
                "(--allow-unequal-footing) to compare anyway"
            )


def network_footing(sc: Scenario, dims, n_inputs: int, n_outputs: int) -> dict[int, dict]:
    """Realised statistics of random genomes per dimension.

    Over :data:`_FOOTING_SAMPLES` random genomes of each dimension (fixed seed):
    ``init_degree`` the mean recurrent degree ``E / n``, ``init_distance`` the
    mean distance between two hidden neurons (grid units), ``init_strength``
    the mean strength factor ``exp(-strength_decay (d - strength_offset))`` of
    the recurrent synapses, the mean input and output synapse counts, and
    ``init_input_fan_out`` / ``init_output_fan_in``, the expected synapses per
    input channel / output unit given the drawn positions
    (:func:`~spatial_snn.space.connectivity.mean_fan_out`; ``n exp(-2)`` in the
    reference layout), and ``samples``, the distributions of
    :func:`~spatial_snn.space.footing.footing_samples` (from other genomes of
    the same seed).
    """
    from scipy.spatial.distance import pdist

    out = {}
    for dim in dims:
        spec = sc.network.spec(dim)
        rng = setup_rng(dim)
        gs = [random_genome(spec, n_inputs, n_outputs, rng) for _ in range(_FOOTING_SAMPLES)]
        samples = footing_samples(spec, n_inputs, n_outputs, _FOOTING_SAMPLES, rng)
        strength = np.concatenate([g.rule.strength(synapse_distances(g, "recurrent")) for g in gs])
        out[dim] = {
            "init_degree": float(np.mean([len(g.recurrent) / g.n for g in gs])),
            "init_distance": float(np.mean([pdist(g.positions).mean() if g.n > 1 else 0.0 for g in gs])),
            "init_strength": float(np.mean(strength)) if strength.size else math.nan,
            "init_input_synapses": float(np.mean([len(g.input_synapses) for g in gs])),
            "init_output_synapses": float(np.mean([len(g.output_synapses) for g in gs])),
            "init_input_fan_out": float(np.mean([_expected_fan_out(g, outputs=False) for g in gs])),
            "init_output_fan_in": float(np.mean([_expected_fan_out(g, outputs=True) for g in gs])),
            "samples": samples,
        }
    return out


def _expected_fan_out(genome, outputs: bool) -> float:
    """Expected io synapses per input channel (``outputs``: per output unit) given the positions."""
    rule = genome.rule
    if rule.io_distance is not None:
        return genome.n * float(rule.probability(rule.io_distance, io=True))
    face = genome.output_positions if outputs else genome.input_positions
    return mean_fan_out(face, genome.positions, rule)


def footing_note(sc: Scenario, footing: dict[int, dict]) -> str:
    """One paragraph saying on what footing the dimensions are compared."""
    dims = sorted(footing)
    degrees = _by_dim(dims, [footing[d]["init_degree"] for d in dims])
    dists = _by_dim(dims, [footing[d]["init_distance"] for d in dims])
    n = sc.network.n_hidden
    if calibrated(sc):
        ins = _by_dim(dims, [footing[d]["init_input_fan_out"] for d in dims], ".1f")
        outs = _by_dim(dims, [footing[d]["init_output_fan_in"] for d in dims], ".1f")
        spec = sc.network.spec(dims[0])
        if spec.io_degree is not None:
            io = f"io length calibrated to {spec.io_degree:.3g} synapses per input channel: "
        elif spec.rule.io_distance is not None:
            io = f"every io pair at distance {spec.rule.io_distance:g}: "
        else:
            io = f"io length fixed at {spec.rule.io_length:g}, not calibrated: "
        return (f"Equal footing: {n} hidden neurons in every dimension, connection length calibrated to "
                f"mean degree {sc.network.mean_degree or 4.0:g}; realised mean recurrent degree {degrees} "
                f"(mean neuron distance {dists}); {io}expected synapses per input channel {ins}, "
                f"per output unit {outs} (outputs share the input law).")  # fmt: skip
    return (
        f"Published grids ({sc.network.preset} preset, {n} neurons): the grids differ in mean neuron "
        f"distance ({dists}) and so in mean recurrent degree ({degrees}); dimension is confounded with "
        "connection density. Use preset 'spatial' or set network.mean_degree for equal footing."
    )


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
    path = Path(path)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
