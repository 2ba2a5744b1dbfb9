"""The evolution loop: ask -> evaluate -> select -> record, and resume.

This is the one module that knows the GA, the evaluation and the archive.
A run is a pure function of (scenario, dim, seed): generation ``g``'s
offspring depend only on generation ``g - 1``'s genomes and fitness, and
evaluation draws no random numbers, so a resumed run reproduces an
uninterrupted one and the number of workers does not matter.

:func:`evolve` resolves the scenario once (:func:`~spatial_snn.runs.setup.resolve`)
and runs :func:`_loop`; :func:`resume` continues an archive with the scenario,
dimension and seed stored in it. Resuming, the executor's lifetime, the
archive writer and the progress line live in helpers, so the loop reads on
one screen.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..evo import seeding
from ..evo.evolution import GeneticAlgorithm, curriculum_cap, statistics
from ..space.genome import Genome
from ..store.archive import RunWriter, open_run
from ..store.genome_io import check_env_id
from ..tasks.encoding import normalised_bounds
from ..tasks.evaluation import Evaluation, Task, WorkerPool, task_from_meta, task_meta
from .interrupts import held_interrupts
from .scenarios import Scenario, as_scenario, check_run_args, stored_scenario
from .setup import RunSetup, check_scenario, resolve  # noqa: F401 - check_scenario re-exported

HISTORY_KEYS = ("best", "mean", "test", "env_steps", "wall_time", "invalid_obs")


@dataclass
class Result:
    """Outcome of :func:`evolve`.

    ``champion`` is the genome with the best test score (the reported one);
    ``history`` maps ``generation, best, mean, test, env_steps, wall_time,
    invalid_obs`` to per-generation arrays (``test`` is NaN where no test ran;
    ``env_steps`` and ``wall_time`` are cumulative).
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

    @property
    def env_steps(self) -> int:
        return int(self.history["env_steps"][-1]) if len(self.history.get("env_steps", [])) else 0

    @property
    def wall_time(self) -> float:
        return float(self.history["wall_time"][-1]) if len(self.history.get("wall_time", [])) else 0.0


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`evolve` or :func:`resume`.

    A ``KeyboardInterrupt``, so that code which stops on Ctrl-C still does.
    ``archive`` is the run archive if one exists (it keeps every complete
    generation: resume it), else None; ``generations`` counts the complete
    generations in it.
    """

    def __init__(self, archive: Path | None, generations: int):
        self.archive, self.generations = archive, generations
        where = f"{archive} keeps {generations} complete generations" if archive else "no archive was written"
        super().__init__(f"run interrupted; {where}")


def _reports_interrupts(fn):
    """Turn Ctrl-C anywhere in ``fn`` into :class:`RunInterrupted` naming the archive."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except RunInterrupted:
            raise
        except KeyboardInterrupt:
            archive = kwargs.get("archive", args[0] if fn.__name__ == "resume" and args else None)
            path = Path(archive) if archive is not None and Path(archive).exists() else None
            raise RunInterrupted(path, _complete_generations(path)) from None

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
        Called after every generation with a dict of its statistics.
    archive : path, optional
        HDF5 run archive to write (None: no archive).
    overwrite, resume : bool
        Replace an existing archive, or continue it from its last complete
        generation (see also :func:`resume`).
    """
    state = _read_resume(archive) if resume and archive is not None and Path(archive).exists() else None
    if isinstance(scenario, RunSetup):
        for name, value in (("dim", dim), ("seed", seed)):
            if value is not None and value != getattr(scenario, name):
                raise ValueError(f"{name}: the RunSetup was resolved for {name} {getattr(scenario, name)}, got "
                                 f"{value}; resolve the scenario for {name} {value}, or pass no {name}")
        if state is not None and state.train_backend != scenario.task.backend:
            raise ValueError(f"{archive}: the run trained on {state.train_backend}; resolve the scenario with "
                             f"backend={state.train_backend!r} to resume it, or pass the scenario itself")
        setup = scenario if state is None else scenario.with_bounds(*state.bounds)
    else:
        sc = as_scenario(scenario)
        check_run_args(sc, 2 if dim is None else dim, 0 if seed is None else seed, generations, workers)
        setup = resolve(sc, 2 if dim is None else dim, 0 if seed is None else seed,
                        bounds=state.bounds if state else None, backend=state.train_backend if state else None)
    n_gen = check_run_args(setup.scenario, setup.dim, setup.seed, generations, workers)  # before any file is made
    return _loop(setup, n_gen, state, workers, executor, callback, archive, overwrite)


@_reports_interrupts
def resume(
    path: str | Path,
    *,
    generations: int | None = None,
    workers: int | None = None,
    executor: Executor | str | None = None,
    callback: Callable[[dict], None] | None = None,
    allow_import=(),
) -> Result:
    """Continue the run archived at ``path`` from its last complete generation.

    The scenario, dimension, seed and observation bounds are the ones stored
    in the archive; ``generations`` (default: the stored count) may extend a
    finished run. A stored env id ``module:Env`` is refused unless that module
    is in ``allow_import``: an archive does not choose what code runs. Other
    parameters as for :func:`evolve`.
    """
    state = _read_resume(path)
    env = (state.config.get("scenario") or {}).get("env") or {}
    check_env_id(env.get("id"), str(path), allow_import)
    try:
        sc = stored_scenario(state.config["scenario"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"{path}: the stored scenario cannot be read by this version ({exc}); "
                         "resume it with the version that wrote it") from None
    setup = resolve(sc, int(state.config["dim"]), int(state.config["seed"]), bounds=state.bounds,
                    backend=state.train_backend)
    n_gen = check_run_args(sc, setup.dim, setup.seed, generations if generations is not None else state.generations,
                           workers)
    return _loop(setup, n_gen, state, workers, executor, callback, path, False)


# ------------------------------------------------------------------ the loop
def _loop(setup: RunSetup, n_gen: int, state, workers, executor, callback, archive, overwrite) -> Result:
    sc, seed, proto = setup.scenario, setup.seed, setup.scenario.protocol
    ga = GeneticAlgorithm(sc.evolution, setup.spec, sc.mutation, setup.n_inputs, setup.n_outputs, seed)
    tally = _Tally.begin(state, setup.task)
    offspring = ga.initial() if tally.start == 0 else ga.ask(tally.start, state.population, state.fitness)
    with contextlib.ExitStack() as stack:
        writer = stack.enter_context(_writer(archive, setup, state, n_gen, overwrite))
        pool = stack.enter_context(_pool(workers, executor))
        bar = stack.enter_context(_progress(n_gen, tally.start, f"{sc.name} on {setup.task.backend}"))
        tally.clock()
        for g in range(tally.start, tally.start if tally.finished(proto) else n_gen):
            gen = _evaluate(pool, setup, ga, offspring.genomes, g, n_gen, tally)          # evaluate
            row = tally.add(g, offspring.genomes[gen.best], gen)                          # record
            if writer is not None:
                with held_interrupts():  # a Ctrl-C lands between generations, not inside one
                    _write(writer, g, offspring, gen, row, tally, seed)
            _report(bar, callback, row, tally, gen)
            if tally.finished(proto):
                break
            if g + 1 < n_gen:
                offspring = ga.ask(g + 1, offspring.genomes, gen.fitness)                  # select, ask
    return Result(sc, setup.dim, seed, tally.champion, tally.champ_test, np.asarray(tally.champ_returns),
                  {k: np.asarray(v) for k, v in tally.history.items()},
                  Path(archive) if archive is not None else None, tally.champ_task)


@dataclass
class _Generation:
    """One generation's evaluation: training episodes, fitness, and the held-out test of its best."""

    seeds: np.ndarray
    cap: int | None
    ev: Evaluation
    fitness: np.ndarray  # (N, 2): mean return, -cost (NSGA-II's second objective, evolution.cost)
    best: int
    test_seeds: np.ndarray
    test: Evaluation | None
    started: float
    task: Task  # the task of this generation's tests (its observation bounds)

    @property
    def env_steps(self) -> int:
        return self.ev.env_steps + (self.test.env_steps if self.test is not None else 0)


def _evaluate(pool: WorkerPool, setup: RunSetup, ga: GeneticAlgorithm, genomes: list, g: int, n_gen: int,
              tally: _Tally) -> _Generation:
    """Run generation ``g`` on its training seeds, then its best on the test seeds if a test is due.

    With observation normalisation the encoder's bounds come from the
    observations of generations before ``g`` (``tally.moments``); training
    episodes use the scenario's training-only keyword arguments, tests the
    task's own.
    """
    sc, t0 = setup.scenario, time.perf_counter()
    proto = sc.protocol
    task = setup.task
    if sc.encoder.normalise:
        low, high = normalised_bounds(*tally.moments, sc.encoder.normalise_width, setup.task.obs_low,
                                      setup.task.obs_high)
        task = _with_bounds(task, low, high)
    seeds = seeding.train_seeds(setup.seed, g, proto.episodes, proto.fixed_seeds)
    cap = curriculum_cap(g, proto.curriculum_start, proto.curriculum_growth, None) if proto.curriculum else None
    ev = pool.run(_training(task, sc.env.train_kwargs), genomes, seeds, cap)
    fitness = np.column_stack([ev.returns.mean(axis=1), -ga.cost(ev.events_per_step(), genomes)])
    best = int(np.argmax(fitness[:, 0]))
    test_seeds = seeding.test_seeds(setup.seed, proto.test_episodes)
    spent = proto.max_env_steps is not None and tally.steps + ev.env_steps >= proto.max_env_steps
    test = None
    if (g + 1) % proto.test_every == 0 or g == n_gen - 1 or g == 0 or spent:
        test = pool.run(dataclasses.replace(task, backend="gymnasium"), [genomes[best]], test_seeds, None)
    return _Generation(seeds, cap, ev, fitness, best, test_seeds, test, t0, task)


def _training(task: Task, train_kwargs: dict) -> Task:
    """The task of training episodes: the scenario's training-only keyword arguments over the task's."""
    return dataclasses.replace(task, env_kwargs={**task.env_kwargs, **train_kwargs}) if train_kwargs else task


def _with_bounds(task: Task, low, high) -> Task:
    return dataclasses.replace(task, obs_low=tuple(float(x) for x in low), obs_high=tuple(float(x) for x in high))


@dataclass
class _Tally:
    """The run's record so far: history, champion, cumulative steps and wall time."""

    start: int
    history: dict
    champion: Genome | None
    champ_returns: np.ndarray
    steps: int
    wall: float
    champ_task: Task
    moments: tuple = (0, 0.0, 0.0)  # running observation count, sum, sum of squares (normalisation)
    champ_improved: bool = False
    _t_last: float = 0.0

    @classmethod
    def begin(cls, state, task: Task) -> _Tally:
        if state is None:
            return cls(0, {k: [] for k in ("generation", *HISTORY_KEYS)}, None, np.empty(0), 0, 0.0, task)
        h = state.history
        champ_task = _with_bounds(task, *state.champ_bounds) if state.champ_bounds else task
        return cls(state.start, h, state.champion, state.champ_returns,
                   int(h["env_steps"][-1]) if state.start else 0, float(h["wall_time"][-1]) if state.start else 0.0,
                   champ_task, state.moments)

    @property
    def champ_test(self) -> float:
        return float(np.mean(self.champ_returns)) if self.champ_returns.size else -math.inf

    def reached(self, target: float | None) -> bool:
        """A run whose champion reached the target is finished (also when resumed)."""
        return target is not None and self.champ_test >= target

    def finished(self, proto) -> bool:
        """Target reached, or the env-step budget spent (a finished run stays finished when resumed)."""
        return self.reached(proto.target) or (proto.max_env_steps is not None and self.steps >= proto.max_env_steps)

    def clock(self) -> None:
        self._t_last = time.perf_counter()

    def add(self, g: int, best_genome: Genome, gen: _Generation) -> dict:
        """Append generation ``g``'s row; a test that beats the champion makes ``best_genome`` it."""
        ev, test = gen.ev, gen.test
        stats = statistics(ev.returns.mean(axis=1))
        self.champ_improved = test is not None and test.returns[0].mean() > self.champ_test
        if self.champ_improved:
            self.champion, self.champ_returns, self.champ_task = best_genome, test.returns[0], gen.task
        count, total, total_sq = ev.observation_moments()
        self.moments = (self.moments[0] + count, self.moments[1] + total, self.moments[2] + total_sq)
        self.steps += gen.env_steps
        now = time.perf_counter()
        self.wall += now - self._t_last  # includes the variation that made this generation
        self._t_last = now
        row = {"generation": g, "best": stats["best"], "mean": stats["mean"],
               "test": float(test.returns[0].mean()) if test is not None else math.nan,
               "env_steps": self.steps, "wall_time": self.wall, "invalid_obs": float(ev.invalid.sum())}
        for k, v in row.items():
            self.history[k].append(v)
        return row


def _write(writer: RunWriter, g: int, offspring, gen: _Generation, row: dict, tally: _Tally, seed: int) -> None:
    """Generation ``g`` (and a new champion) into the archive."""
    test_returns = gen.test.returns[0] if gen.test is not None else None
    if tally.champ_improved:
        writer.write_champion(tally.champion, generation=g, index=gen.best, test_returns=test_returns,
                              test_seeds=gen.test_seeds)
    writer.write_generation(
        g, population=offspring.genomes, fitness=gen.fitness, episode_returns=gen.ev.returns,
        episode_lengths=gen.ev.lengths, episode_seeds=gen.seeds, counters=gen.ev.counters,
        parents=offspring.parents, origin=offspring.origin,
        stats={k: row[k] for k in HISTORY_KEYS}, test_returns=test_returns,
        test_seeds=gen.test_seeds if gen.test is not None else None,
        rng_state=_rng_state(seed, g + 1), extra=_normalisation_record(gen, tally),
    )


def _normalisation_record(gen: _Generation, tally: _Tally) -> dict | None:
    """With normalisation: the generation's bounds and the running moments after it (what resuming needs)."""
    if not gen.task.encoder.normalise:
        return None
    count, total, total_sq = tally.moments
    return {"obs_low": np.asarray(gen.task.obs_low), "obs_high": np.asarray(gen.task.obs_high),
            "obs_count": np.array([count], np.int64), "obs_sum": np.asarray(total, np.float64),
            "obs_sumsq": np.asarray(total_sq, np.float64)}


def _report(bar, callback, row: dict, tally: _Tally, gen: _Generation) -> None:
    """The progress line and the caller's callback."""
    if bar is not None:
        bar.update(1)
        rate = gen.env_steps / max(time.perf_counter() - gen.started, 1e-9)
        bar.set_postfix(best=f"{row['best']:.1f}", mean=f"{row['mean']:.1f}", test=f"{tally.champ_test:.1f}",
                        steps_s=f"{rate:.0f}")
    if callback is not None:
        callback(dict(row, cap=gen.cap, best_index=gen.best))


# ------------------------------------------------------------------ helpers
@dataclass
class _ResumeState:
    """What a resumed run takes from its archive."""

    start: int
    generations: int
    bounds: tuple
    history: dict
    population: list | None
    fitness: np.ndarray | None
    champion: Genome | None
    champ_returns: np.ndarray
    champ_bounds: tuple | None
    moments: tuple
    config: dict

    @property
    def train_backend(self) -> str:
        """A resumed run trains where it started; archives from before backends trained on gymnasium."""
        return (self.config.get("env_backend") or {}).get("train", "gymnasium")


def _read_resume(archive) -> _ResumeState:
    with open_run(archive) as run:
        start = run.n_generations
        ch = run.champion()
        extra = run.generation(start - 1)["extra"] if start else {}
        champ_extra = run.generation(int(ch[1]["generation"]))["extra"] if ch else {}
        return _ResumeState(
            start=start,
            generations=int(run.config["generations"]),
            bounds=(run.run_data("obs_low"), run.run_data("obs_high")),
            history={k: list(run.history.get(k, [])) for k in ("generation", *HISTORY_KEYS)},
            population=run.population(start - 1) if start else None,
            fitness=run.generation(start - 1)["fitness"] if start else None,
            champion=ch[0] if ch else None,
            champ_returns=np.asarray(ch[1]["test_returns"]) if ch else np.empty(0),
            champ_bounds=(champ_extra["obs_low"], champ_extra["obs_high"]) if "obs_low" in champ_extra else None,
            moments=_moments(extra),
            config=run.config,
        )


def _moments(extra: dict) -> tuple:
    """Running observation moments ``(count, sum, sum of squares)`` stored with a generation."""
    if "obs_count" not in extra:
        return (0, 0.0, 0.0)
    return (int(np.asarray(extra["obs_count"]).reshape(-1)[0]), np.asarray(extra["obs_sum"], np.float64),
            np.asarray(extra["obs_sumsq"], np.float64))


def _config(setup: RunSetup, state: _ResumeState | None, n_gen: int) -> dict:
    """The run's config as the archive stores it; a resumed run keeps the stored one where it is the same."""
    scenario, task = setup.scenario.to_dict(), task_meta(setup.task)
    if state is not None:
        n_gen = state.generations  # a resumed run may be extended: only the generation count may differ
        stored = state.config.get("scenario")
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            if stored_scenario(stored) == setup.scenario:
                scenario = stored  # as written, perhaps by an older version without newer keys
        with contextlib.suppress(TypeError, ValueError, AttributeError, KeyError):
            if dataclasses.replace(task_from_meta(state.config["task"]), backend=setup.task.backend) == setup.task:
                task = state.config["task"]  # likewise (e.g. written before the encoder's normalise keys)
    config = {"scenario": scenario, "dim": setup.dim, "seed": setup.seed, "generations": n_gen, "task": task}
    if state is None or "env_backend" in state.config:  # archives from before backends keep their config
        config["env_backend"] = {"train": setup.task.backend, "test": setup.test_task.backend}
    return config


@contextlib.contextmanager
def _writer(archive, setup: RunSetup, state: _ResumeState | None, n_gen: int, overwrite: bool):
    """The archive's writer (None without an archive), closed at the end."""
    if archive is None:
        yield None
        return
    # the header appears with its observation bounds, in one atomic commit
    with RunWriter(archive, seed=setup.seed, dim=setup.dim, overwrite=overwrite,
                   config=_config(setup, state, n_gen), resume=state is not None,
                   run_data={"obs_low": np.asarray(setup.task.obs_low),
                             "obs_high": np.asarray(setup.task.obs_high)}) as writer:
        yield writer


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


def _rng_state(seed: int, next_generation: int) -> dict:
    """What resuming needs of the randomness: every stream derives from the run seed by path."""
    return {"run_seed": int(seed), "next_generation": int(next_generation),
            "scheme": "numpy SeedSequence(run_seed, spawn_key=path), PCG64; paths in spatial_snn.evo.seeding"}
