"""The evolution loop: ask -> evaluate -> select -> record, and resume.

This is the one module that knows the GA, the evaluation and the archive.
A run is a pure function of (scenario, dim, seed): generation ``g``'s
offspring depend only on generation ``g - 1``'s genomes and fitness, and
evaluation draws no random numbers, so a resumed run reproduces an
uninterrupted one and the number of workers does not matter.

:func:`evolve` resolves the scenario once (:func:`~spatial_snn.runs.setup.resolve`)
and runs :func:`_loop`; :func:`resume` continues an archive with the scenario,
dimension and seed stored in it. The executor's lifetime and the progress
line live in helpers here; the run's record (tally, resume state, archive
writing) in :mod:`~spatial_snn.runs.bookkeeping`, so the loop reads on one
screen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..evo import seeding
from ..evo.evolution import GeneticAlgorithm, curriculum_cap
from ..space.genome import Genome
from ..store import schema
from ..store.genome_io import check_env_id
from ..store.run_reader import open_run
from ..tasks.evaluation import Evaluation, Task, WorkerPool
from .bookkeeping import Generation, Tally, archive_writer, read_resume, record_generation, stored_body, with_bounds
from .interrupts import Terminated, held_interrupts
from .quality import QualityDriver
from .scenario_checks import check_run_args
from .scenarios import Scenario, as_scenario, stored_scenario
from .searching import SearchDriver
from .setup import RunSetup, resolve
from .start import Start, fit_start, load_start


@dataclass
class Result:
    """Outcome of :func:`evolve`.

    ``champion`` is the genome with the best test score (the reported one);
    ``history`` maps ``generation, best, mean, test, env_steps, wall_time,
    invalid_obs, cpu_time`` to per-generation arrays (``test`` is NaN where no
    test ran; ``env_steps``, ``wall_time`` and ``cpu_time`` are cumulative;
    ``cpu_time`` counts every process and thread that worked on the run, NaN
    for a run begun before it was kept; ``stopped`` is 0 where the run went
    on, else a code of :data:`~spatial_snn.store.schema.STOP_REASONS`).
    ``generations_run`` counts the generations this call ran (0: a resumed
    run that was finished already); ``stop_reason`` says why the run is
    finished: ``"target reached"``, ``"step budget spent"`` or
    ``"generation count reached"``.
    """

    scenario: Scenario
    dim: int
    seed: int
    champion: Genome
    test_score: float
    test_returns: np.ndarray
    history: dict = field(default_factory=dict)
    archive: Path | None = None
    task: Task | None = None  # the task the champion was tested with (its observation bounds), for replays
    generations_run: int = 0
    stop_reason: str = ""

    @property
    def env_steps(self) -> int:
        return int(self.history["env_steps"][-1]) if len(self.history.get("env_steps", [])) else 0

    @property
    def wall_time(self) -> float:
        return float(self.history["wall_time"][-1]) if len(self.history.get("wall_time", [])) else 0.0

    @property
    def cpu_time(self) -> float:
        """CPU seconds, all processes and threads (NaN for a run begun before they were counted)."""
        h = self.history
        return float(h[schema.CPU_TIME][-1]) if len(h.get(schema.CPU_TIME, [])) else 0.0


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C (or SIGTERM, see :class:`~.interrupts.Terminated`) stopped :func:`evolve` or :func:`resume`.

    A ``KeyboardInterrupt``, so that code which stops on Ctrl-C still does.
    ``archive`` is the run archive if one exists (it keeps every complete
    generation: resume it), else None; ``generations`` counts the complete
    generations in it; ``terminated`` is True when SIGTERM stopped the run.
    """

    def __init__(self, archive: Path | None, generations: int, terminated: bool = False):
        self.archive, self.generations, self.terminated = archive, generations, terminated
        where = f"{archive} keeps {generations} complete generations" if archive else "no archive was written"
        super().__init__(f"run {'terminated' if terminated else 'interrupted'}; {where}")


def _reports_interrupts(fn):
    """Turn Ctrl-C anywhere in ``fn`` into :class:`RunInterrupted` naming the archive."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RunInterrupted:
            raise
        except KeyboardInterrupt as exc:
            archive = kwargs.get("archive", args[0] if fn.__name__ == "resume" and args else None)
            path = Path(archive) if archive is not None and Path(archive).exists() else None
            raise RunInterrupted(path, _complete_generations(path), isinstance(exc, Terminated)) from None

    return wrapper


def _complete_generations(path: Path | None) -> int:
    if path is None:
        return 0
    try:
        with open_run(path) as run:
            return int(run.n_generations)
    except Exception:  # the hint must not fail: the path is what matters
        return 0


@_reports_interrupts
def evolve(
    scenario,
    *,
    dim: int | None = None,
    seed: int | None = None,
    generations: int | None = None,
    workers: int | None = None,
    executor: Executor | str | None = None,
    callback: Callable[[dict], None] | None = None,
    archive: str | Path | None = None,
    overwrite: bool = False,
    resume: bool = False,
    announce: Callable[[str], None] | None = None,
) -> Result:
    """Evolve SNN controllers for a scenario.

    Parameters
    ----------
    scenario : RunSetup, Scenario, dict or path to a TOML file
        A :class:`~spatial_snn.runs.setup.RunSetup` from
        :func:`~spatial_snn.runs.setup.resolve` is used as it is (it carries
        ``dim`` and ``seed``); anything else is resolved here.
    dim : int
        Embedding dimension, 1..3 (default 2).
    seed : int
        Run seed (default 0): the same seed gives the same history, whatever ``workers``.
    generations : int, optional
        Overrides ``scenario.evolution.generations``.
    workers : int, optional
        Local worker processes (default: one per core; 1 = in this process).
    executor : concurrent.futures.Executor or str, optional
        Evaluate on this executor instead; a string is a Dask scheduler
        address (``"tcp://host:8786"``), needs ``spatial-snn[dask]``.
    callback : callable, optional
        Called after every generation with a dict: ``generation``; ``best``
        and ``mean`` (training return over the population: a genome's mean
        over its training episodes); ``test`` (the tested genome's mean over
        the held-out test episodes, NaN if no test ran); ``env_steps``,
        ``wall_time`` and ``cpu_time`` (cumulative, seconds); ``invalid_obs``
        (training episodes ended on a non-finite observation); ``stopped``
        (0, or why the run stops here: a code of
        :data:`~spatial_snn.store.schema.STOP_REASONS`); ``cap`` (the
        curriculum's episode cap, or None); ``best_index`` (the best-trained
        individual).
    archive : path, optional
        HDF5 run archive to write (None: no archive).
    overwrite, resume : bool
        Replace an existing archive, or continue it from its last complete
        generation (see also :func:`resume`).
    announce : callable, optional
        Called with one line (``"resuming PATH at generation g of N ..."``)
        before a resumed run goes on; not called when it is finished already.

    Returns
    -------
    Result
        The champion (best held-out test score so far) with its test returns
        and task, the history (one array per statistic above), the archive
        path, ``generations_run`` and ``stop_reason``. The run stops at the
        scenario's ``protocol.target`` (a test at or above it), when it has
        spent ``protocol.max_env_steps``, or after ``generations``.
    """
    state = read_resume(archive) if resume and archive is not None and Path(archive).exists() else None
    if isinstance(scenario, RunSetup):
        for name, value in (("dim", dim), ("seed", seed)):
            if value is not None and value != getattr(scenario, name):
                raise ValueError(
                    f"{name}: the RunSetup was resolved for {name} {getattr(scenario, name)}, got "
                    f"{value}; resolve the scenario for {name} {value}, or pass no {name}"
                )
        if state is not None and state.train_backend != scenario.task.backend:
            raise ValueError(
                f"{archive}: the run trained on {state.train_backend}; resolve the scenario with "
                f"backend={state.train_backend!r} to resume it, or pass the scenario itself"
            )
        setup = scenario if state is None else scenario.with_bounds(*state.bounds)
        start = load_start(setup.scenario) if state is None else None
    else:
        sc = as_scenario(scenario)
        check_run_args(sc, 2 if dim is None else dim, 0 if seed is None else seed, generations, workers)
        start = load_start(sc) if state is None else None  # a resumed run has its generation 0 already
        bounds = state.bounds if state else start.bounds if start else None
        setup = resolve(
            sc,
            2 if dim is None else dim,
            0 if seed is None else seed,
            bounds=bounds,
            backend=state.train_backend if state else None,
            body=stored_body(state.config) if state else None,
        )
    if start is not None:
        setup = fit_start(start, setup)
    n_gen = check_run_args(setup.scenario, setup.dim, setup.seed, generations, workers)  # before any file is made
    return _loop(setup, n_gen, state, workers, executor, callback, archive, overwrite, start, announce)


@_reports_interrupts
def resume(
    path: str | Path,
    *,
    generations: int | None = None,
    max_env_steps: int | None = None,
    workers: int | None = None,
    executor: Executor | str | None = None,
    callback: Callable[[dict], None] | None = None,
    allow_import=(),
    announce: Callable[[str], None] | None = None,
) -> Result:
    """Continue the run archived at ``path`` from its last complete generation.

    The scenario, dimension, seed and observation bounds are the ones stored
    in the archive; ``generations`` (default: the stored count) and
    ``max_env_steps`` (the run's own step budget, default: the stored
    ``protocol.max_env_steps``) may extend a finished run. Like the
    generation count, an extended budget holds for this call: the archive
    keeps the scenario it was written with. A stored env id ``module:Env`` is
    refused unless that module is in ``allow_import``: an archive does not
    choose what code runs. Other parameters as for :func:`evolve`.

    A finished run (its target reached, its step budget spent, or all its
    generations complete) runs nothing and records nothing unless
    ``generations`` or ``max_env_steps`` extend it: the result then has
    ``generations_run == 0`` and says why in ``stop_reason``.
    """
    with open_run(path) as run:  # before anything else is read: a config without a scenario is one error,
        env = run.scenario.get("env") or {}  # and an env id names no module the user did not allow
    check_env_id(env.get("id") if isinstance(env, dict) else None, str(path), allow_import)
    state = read_resume(path)
    try:
        sc = stored_scenario(state.config["scenario"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(
            f"{path}: the stored scenario cannot be read by this version ({exc}); "
            "resume it with the version that wrote it"
        ) from None
    if max_env_steps is not None:
        sc = dataclasses.replace(sc, protocol=dataclasses.replace(sc.protocol, max_env_steps=max_env_steps))
    setup = resolve(
        sc,
        int(state.config["dim"]),
        int(state.config["seed"]),
        bounds=state.bounds,
        backend=state.train_backend,
        body=stored_body(state.config),
    )
    n_gen = check_run_args(
        sc, setup.dim, setup.seed, generations if generations is not None else state.generations, workers
    )
    return _loop(setup, n_gen, state, workers, executor, callback, path, False, announce=announce)


# ------------------------------------------------------------------ the loop
def _loop(
    setup: RunSetup,
    n_gen: int,
    state,
    workers,
    executor,
    callback,
    archive,
    overwrite,
    start: Start | None = None,
    announce: Callable[[str], None] | None = None,
) -> Result:
    sc, seed, proto = setup.scenario, setup.seed, setup.scenario.protocol
    tally = Tally.begin(state, setup.task)
    if state is not None:
        finished = tally.stop_reason(proto, tally.start, n_gen)
        if finished is not None:  # nothing to do: open no writer (no extension record), start no workers
            return _result(setup, tally, archive, 0, finished)
        if announce is not None:
            announce(
                f"resuming {archive} at generation {tally.start} of {n_gen} ({sc.name}, {setup.dim}D, seed {seed})"
            )
    ga = GeneticAlgorithm(sc.evolution, setup.spec, sc.mutation, setup.n_inputs, setup.n_outputs, seed)
    if tally.start == 0 and start is None and sc.start.genome is not None:
        start = load_start(sc)  # a run stopped before its first generation was complete; bounds are stored
    moments0 = start.moments if start is not None and sc.encoder.normalise else None
    if tally.start == 0 and moments0 is not None:
        tally.moments = moments0  # go on from the statistics behind the start's bounds
    if sc.search.strategy == "map_elites":
        driver = QualityDriver.begin(setup, ga, tally.start, archive)
    else:
        driver = SearchDriver.begin(setup, ga, tally.start, archive, start.genome if start else None)  # None: GA
    offspring = driver.ask(tally.start, tally.history["best"], tally.champion) if driver is not None else None
    if offspring is None:
        offspring = (
            ga.initial(start.genome if start else None)
            if tally.start == 0
            else ga.ask(tally.start, state.population, state.fitness, state.strengths)
        )
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(
            archive_writer(
                archive, setup, state, n_gen, overwrite, moments0, start.env_steps if start is not None else None
            )
        )
        pool = stack.enter_context(_pool(workers, executor))
        where = f"{sc.name} on {setup.task.backend}" + (
            " (own body: EnvPool cannot load it)" if setup.task.body_xml is not None else ""
        )
        bar = stack.enter_context(_progress(n_gen, tally.start, where))
        tally.clock()
        for g in range(tally.start, tally.start if tally.finished(proto) else n_gen):
            gen = _evaluate(pool, setup, ga, offspring.genomes, g, n_gen, tally)  # evaluate
            row = tally.add(g, offspring.genomes[gen.tested], gen, proto, n_gen)  # record
            if isinstance(driver, QualityDriver):  # place the candidates in the map; at the end re-evaluate it
                driver.add(g, offspring.genomes, gen)
                if tally.finished(proto) or g == n_gen - 1:
                    driver.reevaluate(pool, gen)
            elif driver is not None:  # tell a strategy
                driver.record_champion(g, tally.champ_improved, gen.tested)
                driver.tell(gen.fitness)
            if writer is not None:
                with held_interrupts():  # Ctrl-C or SIGTERM waits for the write to end
                    record_generation(
                        writer,
                        g,
                        offspring,
                        gen,
                        row,
                        tally,
                        seed,
                        search_extra=driver.extra() if driver is not None else None,
                    )
            _report(bar, callback, row, tally, gen)
            if tally.finished(proto):
                break
            if g + 1 < n_gen:
                asked = driver.ask(g + 1, tally.history["best"], tally.champion) if driver is not None else None
                offspring = (
                    asked if asked is not None else ga.ask(g + 1, offspring.genomes, gen.fitness, offspring.strengths)
                )  # select, ask
    ran = len(tally.history["generation"]) - (state.start if state is not None else 0)
    return _result(setup, tally, archive, ran, tally.stop_reason(proto, len(tally.history["generation"]), n_gen))


def _result(setup: RunSetup, tally: Tally, archive, ran: int, stop_reason: str | None) -> Result:
    return Result(
        setup.scenario,
        setup.dim,
        setup.seed,
        tally.champion,
        tally.champ_test,
        np.asarray(tally.champ_returns),
        {k: np.asarray(v) for k, v in tally.history.items()},
        Path(archive) if archive is not None else None,
        tally.champ_task,
        ran,
        stop_reason or "",
    )


def _evaluate(
    pool: WorkerPool, setup: RunSetup, ga: GeneticAlgorithm, genomes: list, g: int, n_gen: int, tally: Tally
) -> Generation:
    """Run generation ``g`` on its training seeds, then its best (at generation 0 of a refinement: the start) on
    the test seeds if a test is due.

    With observation normalisation the encoder's bounds come from the
    observations of generations before ``g`` (``tally.moments``); training
    episodes use the scenario's training-only keyword arguments, tests the
    task's own.
    """
    sc, t0 = setup.scenario, time.perf_counter()
    proto = sc.protocol
    task = setup.task
    if sc.encoder.normalise:
        low, high = tally.moments.bounds(sc.encoder.normalise_width, setup.task.obs_low, setup.task.obs_high)
        task = with_bounds(task, low, high)
    seeds = seeding.train_seeds(setup.seed, g, proto.episodes, proto.fixed_seeds)
    cap = curriculum_cap(g, proto.curriculum_start, proto.curriculum_growth, None) if proto.curriculum else None
    ev = pool.run(_training(task, sc.env.train_kwargs), genomes, seeds, cap)
    fitness = np.column_stack([ev.returns.mean(axis=1), -ga.cost(ev.events_per_step(), genomes)])
    best = int(np.argmax(fitness[:, 0]))
    # generation 0 of a refinement tests the start itself (individual 0), not its best-trained mutant: the
    # champion never begins below the start because a mutant had a lucky training episode
    tested = 0 if g == 0 and sc.start.genome is not None else best
    test_seeds = seeding.test_seeds(setup.seed, proto.test_episodes)
    spent = proto.max_env_steps is not None and tally.steps + ev.env_steps >= proto.max_env_steps
    test = None
    if (g + 1) % proto.test_every == 0 or g == n_gen - 1 or g == 0 or spent:
        test_task = dataclasses.replace(task, backend="gymnasium")
        test = pool.run(test_task, [genomes[tested]], test_seeds, None)
        if proto.confirm_episodes and test.returns[0].mean() > tally.champ_test:  # a new champion? confirm it
            more = seeding.confirm_seeds(setup.seed, proto.confirm_episodes, test_seeds)
            test = Evaluation.join_episodes([test, pool.run(test_task, [genomes[tested]], more, None)])
            test_seeds = np.concatenate([test_seeds, more])
    # jobs in other processes (or machines) spent CPU this process's clock does not see
    remote = ev.cpu_seconds + (test.cpu_seconds if test is not None else 0.0) if pool.parallel else 0.0
    return Generation(seeds, cap, ev, fitness, best, tested, test_seeds, test, t0, task, remote_cpu=remote)


def _training(task: Task, train_kwargs: dict) -> Task:
    """The task of training episodes: the scenario's training-only keyword arguments over the task's."""
    return dataclasses.replace(task, env_kwargs={**task.env_kwargs, **train_kwargs}) if train_kwargs else task


def _report(bar, callback, row: dict, tally: Tally, gen: Generation) -> None:
    """The progress line and the caller's callback."""
    if bar is not None:
        bar.update(1)
        rate = gen.env_steps / max(time.perf_counter() - gen.started, 1e-9)
        bar.set_postfix(
            best=f"{row['best']:.1f}", mean=f"{row['mean']:.1f}", test=f"{tally.champ_test:.1f}", steps_s=f"{rate:.0f}"
        )
    if callback is not None:
        callback(dict(row, cap=gen.cap, best_index=gen.best))


# ------------------------------------------------------------------ helpers
@contextlib.contextmanager
def _pool(workers: int | None, executor: Executor | str | None):
    """A WorkerPool; a Dask executor made here from an address is shut down with it."""
    own = None
    if isinstance(executor, str):
        from ..tasks.distributed import dask_executor  # imports Dask (optional, slow to load) only when asked

        own = dask_executor(executor)
    try:
        with WorkerPool(workers, own or executor) as pool:
            try:
                yield pool
            except KeyboardInterrupt:
                pool.close(kill=True)  # the workers' running jobs are lost anyway: do not wait for them
                raise
    finally:
        if own is not None:
            own.shutdown()


@contextlib.contextmanager
def _progress(total: int, start: int, desc: str | None = None):
    """A tqdm bar on a terminal (None otherwise)."""
    if not sys.stderr.isatty():
        yield None
        return
    bar = tqdm(total=total, initial=start, unit="gen", desc=desc, dynamic_ncols=True, leave=True)
    try:
        yield bar
    finally:
        bar.close()
