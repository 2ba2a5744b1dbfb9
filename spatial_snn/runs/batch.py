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
(``<out_dir>/<scenario>-summary.csv``), a printed table and a PNG plot
(:mod:`spatial_snn.analysis.summary`).

The summary also reports the realised network statistics of random genomes
of each dimension (:func:`~spatial_snn.runs.equal_footing.network_footing`).
Before any run, the batch prints their distributions per dimension and
refuses a calibrated comparison whose distributions differ beyond a
tolerance (:mod:`~spatial_snn.runs.equal_footing`; ``equal_footing=False``,
``--allow-unequal-footing`` on the command line, runs it anyway).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..analysis.summary import format_table, plot_summary, reached_target, read_record, summarise, write_csv
from ..space.footing import format_footing
from ..store.run_reader import open_run
from ..tasks.spread import mean_sd_se
from .arguments import check_dims, check_seeds
from .equal_footing import FOOTING_SAMPLES, check_footing, footing_note, network_footing
from .paths import archive_path
from .runner import evolve
from .scenarios import Scenario, as_scenario, stored_scenario
from .setup import resolve
from .start import fit_start, load_start


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
        Run seeds (0..2**32 - 1).
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
        ``generations`` (complete ones), ``complete``, ``test``,
        ``test_std`` and ``test_episodes`` (the champion's held-out returns), ``n_synapses``,
        ``sparsity``, ``champion_degree`` (recurrent synapses per neuron),
        ``env_steps`` and ``wall_time`` (cumulative, s).
    """
    sc = as_scenario(scenario)
    dims = check_dims(dims)
    seeds = check_seeds(seeds)
    n_gen = int(generations if generations is not None else sc.evolution.generations)
    if n_gen < 1:
        raise ValueError(f"generations: expected an integer >= 1, got {generations}")
    out_dir = Path(out_dir)
    setup = resolve(sc, dims[0], seeds[0])  # a broken scenario fails here, in a second
    footing = network_footing(sc, dims, setup.n_inputs, setup.n_outputs)
    note = footing_note(sc, footing)
    print(f"Random genomes per dimension ({FOOTING_SAMPLES} each):", flush=True)
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
        test = mean_sd_se(rec["test"], rec["test_std"], rec["test_episodes"])
        print(f"{head}: {'complete, skipped; ' if done else ''}test {test}, "
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
        done = run.n_generations >= n_gen or reached_target(run.champion(), sc.protocol.target)
        return done, run.n_generations


def _upgraded(stored):
    """A stored scenario dict with the keys added since it was written (as is if unreadable)."""
    try:
        return stored_scenario(stored).to_dict()
    except (TypeError, ValueError):
        return stored


def _canonical(value) -> str:
    return json.dumps(value, sort_keys=True, default=str)
