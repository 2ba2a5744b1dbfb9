"""The evolution loop: ask -> evaluate -> tell -> append, and resume.

This is the one module that knows the GA, the evaluation and the archive.
A run is a pure function of (scenario, dim, seed): generation ``g``'s
offspring depend only on generation ``g - 1``'s genomes and fitness, and
evaluation draws no random numbers, so a resumed run reproduces an
uninterrupted one and the number of workers does not matter.
"""

from __future__ import annotations

import dataclasses
import math
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..evo import seeding
from ..evo.evolution import GeneticAlgorithm, curriculum_cap, statistics
from ..space.genome import Genome
from ..space.layout import random_genome
from ..tasks.encoding import make_decoder, make_encoder
from ..tasks.envs import check_spaces, make_env, observation_bounds
from ..tasks.evaluation import Task, WorkerPool, task_meta
from .scenarios import Scenario, as_scenario, stored_scenario

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

    @property
    def env_steps(self) -> int:
        return int(self.history["env_steps"][-1]) if len(self.history.get("env_steps", [])) else 0

    @property
    def wall_time(self) -> float:
        return float(self.history["wall_time"][-1]) if len(self.history.get("wall_time", [])) else 0.0


def make_task(sc: Scenario, seed: int, bounds: tuple | None = None) -> Task:
    """Check the environment's spaces and resolve the encoder's observation bounds."""
    env = make_env(sc.env.id, sc.env.kwargs, sc.env.max_episode_steps)
    try:
        check_spaces(env.observation_space, env.action_space)
        if bounds is None:
            bounds = observation_bounds(sc.env.id, sc.env.kwargs, env.observation_space, seed=seed,
                                        episodes=sc.protocol.bounds_episodes)
    finally:
        env.close()
    low, high = (tuple(float(x) for x in b) for b in bounds)
    return Task(sc.env.id, dict(sc.env.kwargs), sc.env.max_episode_steps, sc.network.substeps,
                sc.network.dt, sc.encoder, sc.decoder, low, high)


def codec_sizes(task: Task) -> tuple[int, int]:
    """(encoder channels, decoder units) of a task."""
    env = make_env(task.env_id, task.env_kwargs, task.max_episode_steps)
    try:
        enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
        dec = make_decoder(task.decoder, env.action_space)
    finally:
        env.close()
    return enc.n_channels, dec.n_units


def check_scenario(sc, dim: int = 2, seed: int = 0) -> Task:
    """One environment step through encoder, a tiny network and decoder.

    Raises a clear error within a second or two when a scenario is broken
    (unknown environment, unsupported spaces, codec mismatch).
    """
    from ..tasks.evaluation import rollout

    sc = as_scenario(sc)
    task = make_task(sc, seed)
    n_in, n_out = codec_sizes(task)
    spec = sc.network.spec(dim)
    tiny = dataclasses.replace(spec, n_hidden=min(spec.n_hidden, 8), mean_degree=None, io_degree=None)
    g = random_genome(tiny, n_in, n_out, seeding.setup_rng(seed))
    rollout(task, [g], [0], cap=1)
    return task


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
    scenario: dict | None


def _read_resume(archive, n_gen: int) -> _ResumeState:
    from ..store.archive import open_run

    with open_run(archive) as run:
        start = run.n_generations
        last = run.generation(start - 1) if start else None
        ch = run.champion()
        return _ResumeState(
            start=start,
            generations=int(run.config.get("generations", n_gen)),
            bounds=(run.run_data("obs_low"), run.run_data("obs_high")),
            history={k: list(run.history.get(k, [])) for k in ("generation", *HISTORY_KEYS)},
            population=run.population(start - 1) if start else None,
            fitness=last["fitness"] if start else None,
            champion=ch[0] if ch else None,
            champ_returns=np.asarray(ch[1]["test_returns"]) if ch else np.empty(0),
            scenario=run.scenario,
        )


def _upgraded(stored) -> Scenario | None:
    """The scenario stored in an archive, with the keys added since (None if unreadable)."""
    try:
        return stored_scenario(stored)
    except (TypeError, ValueError, AttributeError):
        return None


def _rng_state(seed: int, next_generation: int) -> dict:
    """What resuming needs of the randomness: every stream derives from the run seed by path."""
    return {"run_seed": int(seed), "next_generation": int(next_generation),
            "scheme": "numpy SeedSequence(run_seed, spawn_key=path), PCG64; paths in spatial_snn.evo.seeding"}


def _progress(total: int, start: int):
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None
    return tqdm(total=total, initial=start, unit="gen", disable=not sys.stderr.isatty(),
                dynamic_ncols=True, leave=True)


def evolve(
    scenario,
    *,
    dim: int = 2,
    seed: int = 0,
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
    scenario : Scenario, dict or path to a TOML file
    dim : int
        Embedding dimension, 1..3.
    seed : int
        Run seed: the same seed gives the same history, whatever ``workers``.
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
        generation.
    """
    sc = as_scenario(scenario)
    if dim not in (1, 2, 3):
        raise ValueError(f"dim: expected 1, 2 or 3, got {dim}")
    n_gen = int(generations or sc.evolution.generations)
    proto = sc.protocol
    config = {"scenario": sc.to_dict(), "dim": dim, "seed": seed, "generations": n_gen}

    writer = None
    state = _read_resume(archive, n_gen) if archive is not None and resume and Path(archive).exists() else None
    if state is not None and _upgraded(state.scenario) == sc:
        config["scenario"] = state.scenario  # as written, perhaps by an older version without newer keys
    history = state.history if state else {k: [] for k in ("generation", *HISTORY_KEYS)}
    champion, champ_returns = (state.champion, state.champ_returns) if state else (None, np.empty(0))
    champ_test = float(np.mean(champ_returns)) if champ_returns.size else -math.inf
    bounds = state.bounds if state else None
    task = make_task(sc, seed, bounds)
    config["task"] = task_meta(task)
    n_in, n_out = codec_sizes(task)
    spec = sc.network.spec(dim)
    ga = GeneticAlgorithm(sc.evolution, spec, sc.mutation, n_in, n_out, seed)
    if archive is not None:
        from ..store.archive import RunWriter

        # a resumed run may be extended: only the generation count may differ from the stored config
        writer = RunWriter(archive, seed=seed, dim=dim, overwrite=overwrite,
                           config=dict(config, generations=state.generations) if state else config,
                           resume=state is not None,
                           run_data={"obs_low": np.asarray(task.obs_low), "obs_high": np.asarray(task.obs_high)})
    start = state.start if state else 0
    done = proto.target is not None and champ_test >= proto.target  # a finished run stays finished
    offspring = ga.initial() if start == 0 else ga.ask(start, state.population, state.fitness)
    test_seeds = seeding.test_seeds(seed, proto.test_episodes)
    steps_done = int(history["env_steps"][-1]) if start else 0
    wall_done = float(history["wall_time"][-1]) if start else 0.0
    bar = _progress(n_gen, start)
    own_executor = isinstance(executor, str)
    if own_executor:
        from ..tasks.distributed import dask_executor

        executor = dask_executor(executor)
    pool = WorkerPool(workers, executor)
    t_last = time.perf_counter()
    try:
        for g in range(start, n_gen if not done else start):
            t0 = time.perf_counter()
            seeds = seeding.train_seeds(seed, g, proto.episodes, proto.fixed_seeds)
            cap = curriculum_cap(g, proto.curriculum_start, proto.curriculum_growth, None) \
                if proto.curriculum else None
            ev = pool.run(task, offspring.genomes, seeds, cap)
            mean_ret = ev.returns.mean(axis=1)
            fitness = np.column_stack([mean_ret, -ev.events_per_step()])
            stats = statistics(mean_ret)
            best = int(np.argmax(mean_ret))
            steps = ev.env_steps
            test_returns = None
            last = g == n_gen - 1
            if (g + 1) % proto.test_every == 0 or last or g == 0:
                tev = pool.run(task, [offspring.genomes[best]], test_seeds, None)
                test_returns = tev.returns[0]
                steps += tev.env_steps
                if test_returns.mean() > champ_test:
                    champion, champ_returns = offspring.genomes[best], test_returns
                    champ_test = float(test_returns.mean())
                    if writer is not None:
                        writer.write_champion(champion, generation=g, index=best,
                                              test_returns=test_returns, test_seeds=test_seeds)
            steps_done += steps
            now = time.perf_counter()
            wall_done += now - t_last  # includes the variation that made this generation
            t_last = now
            row = {"generation": g, "best": stats["best"], "mean": stats["mean"],
                   "test": float(test_returns.mean()) if test_returns is not None else math.nan,
                   "env_steps": steps_done, "wall_time": wall_done,
                   "invalid_obs": float(ev.invalid.sum())}
            for k, v in row.items():
                history[k].append(v)
            if writer is not None:
                writer.write_generation(
                    g, population=offspring.genomes, fitness=fitness, episode_returns=ev.returns,
                    episode_lengths=ev.lengths, episode_seeds=seeds, counters=ev.counters,
                    parents=offspring.parents, origin=offspring.origin,
                    stats={k: row[k] for k in HISTORY_KEYS}, test_returns=test_returns,
                    test_seeds=test_seeds if test_returns is not None else None,
                    rng_state=_rng_state(seed, g + 1),
                )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(best=f"{row['best']:.1f}", mean=f"{row['mean']:.1f}",
                                test=f"{champ_test:.1f}", steps_s=f"{steps / max(time.perf_counter() - t0, 1e-9):.0f}")
            if callback is not None:
                callback(dict(row, cap=cap, best_index=best))
            if proto.target is not None and champ_test >= proto.target:
                break
            if g + 1 < n_gen:
                offspring = ga.ask(g + 1, offspring.genomes, fitness)
    finally:
        pool.close()
        if own_executor:
            executor.shutdown()
        if bar is not None:
            bar.close()
        if writer is not None:
            writer.close()
    return Result(sc, dim, seed, champion, champ_test, np.asarray(champ_returns),
                  {k: np.asarray(v) for k, v in history.items()},
                  Path(archive) if archive is not None else None)
