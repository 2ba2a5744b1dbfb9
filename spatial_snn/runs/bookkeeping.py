"""What the evolution loop keeps and writes: the run's record, kept out of the loop.

:class:`Tally` is the run so far (history, champion, cumulative steps and
wall time, the running observation moments that normalisation turns into
bounds); :class:`Generation` is one generation's evaluation. A generation
goes into the archive with :func:`record_generation` (and the normalisation record a
resumed run needs); :func:`read_resume` reads that back, and :func:`archive_writer`
opens the archive's writer with the run's config. Used by
:mod:`~spatial_snn.runs.runner` only.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np

from ..evo.evolution import statistics
from ..space.genome import Genome
from ..store import schema
from ..store.archive import RunWriter
from ..store.run_reader import open_run
from ..store.schema import HISTORY_KEYS
from ..tasks.evaluation import Evaluation, Task, task_from_meta, task_meta
from ..tasks.moments import ObsMoments
from .scenarios import stored_scenario
from .setup import RunSetup

#: Cumulative CPU seconds (every process and thread that worked on the run), kept in
#: the history beside the keys every archive has; NaN for a run begun before it was kept.
CPU_KEY = schema.CPU_TIME
#: The statistics a generation stores beside :data:`HISTORY_KEYS`.
_MORE_KEYS = (CPU_KEY, schema.STOP_KEY)
_STOP_CODES = {reason: code for code, reason in schema.STOP_REASONS.items()}


@dataclass
class Generation:
    """One generation's evaluation: training episodes, fitness, and the held-out test of its best."""

    seeds: np.ndarray
    cap: int | None
    ev: Evaluation
    fitness: np.ndarray  # (N, 2): mean return, -cost (NSGA-II's second objective, evolution.cost)
    best: int  # the best-trained individual
    tested: int  # the individual tested: the best-trained, or at generation 0 of a refinement the start
    test_seeds: np.ndarray
    test: Evaluation | None
    started: float
    task: Task  # the task of this generation's tests (its observation bounds)
    remote_cpu: float = 0.0  # CPU seconds of jobs run in other processes

    @property
    def env_steps(self) -> int:
        return self.ev.env_steps + (self.test.env_steps if self.test is not None else 0)


def with_bounds(task: Task, low, high) -> Task:
    return dataclasses.replace(task, obs_low=tuple(float(x) for x in low), obs_high=tuple(float(x) for x in high))


@dataclass
class Tally:
    """The run's record so far: history, champion, cumulative steps, wall time and CPU time."""

    start: int
    history: dict
    champion: Genome | None
    champ_returns: np.ndarray
    steps: int
    wall: float
    champ_task: Task
    moments: ObsMoments  # running observation statistics (normalisation)
    cpu: float = 0.0
    champ_improved: bool = False
    _t_last: float = 0.0
    _c_last: float = 0.0

    @classmethod
    def begin(cls, state, task: Task) -> Tally:
        if state is None:
            return cls(
                0,
                {k: [] for k in ("generation", *HISTORY_KEYS, *_MORE_KEYS)},
                None,
                np.empty(0),
                0,
                0.0,
                task,
                ObsMoments.empty(len(task.obs_low)),
            )
        h = state.history
        champ_task = with_bounds(task, *state.champ_bounds) if state.champ_bounds else task
        moments = state.moments if state.moments is not None else ObsMoments.empty(len(task.obs_low))
        for key in _MORE_KEYS:  # NaN for generations written before the statistic was kept
            h.setdefault(key, [math.nan] * len(h["generation"]))
        return cls(
            state.start,
            h,
            state.champion,
            state.champ_returns,
            int(h["env_steps"][-1]) if state.start else 0,
            float(h["wall_time"][-1]) if state.start else 0.0,
            champ_task,
            moments,
            cpu=float(h[CPU_KEY][-1]) if state.start else 0.0,
        )

    @property
    def champ_test(self) -> float:
        return float(np.mean(self.champ_returns)) if self.champ_returns.size else -math.inf

    def reached(self, target: float | None) -> bool:
        """A run whose champion reached the target is finished (also when resumed)."""
        return target is not None and self.champ_test >= target

    def finished(self, proto) -> bool:
        """Target reached, or the env-step budget spent (a finished run stays finished when resumed)."""
        return self.reached(proto.target) or (proto.max_env_steps is not None and self.steps >= proto.max_env_steps)

    def stop_reason(self, proto, complete: int, n_gen: int) -> str | None:
        """Why a run with ``complete`` generations of ``n_gen`` is finished (a value of
        :data:`~spatial_snn.store.schema.STOP_REASONS`), or None if it goes on."""
        if self.reached(proto.target):
            return schema.STOP_REASONS[1]
        if proto.max_env_steps is not None and self.steps >= proto.max_env_steps:
            return schema.STOP_REASONS[2]
        return schema.STOP_REASONS[3] if complete >= n_gen else None

    def clock(self) -> None:
        self._t_last, self._c_last = time.perf_counter(), time.process_time()

    def add(self, g: int, best_genome: Genome, gen: Generation, proto, n_gen: int) -> dict:
        """Append generation ``g``'s row; a test that beats the champion makes ``best_genome`` it.

        The row's ``stopped`` says whether the run stops after ``g`` of
        ``n_gen`` generations under ``proto`` (the scenario's protocol), and why.
        """
        ev, test = gen.ev, gen.test
        stats = statistics(ev.returns.mean(axis=1))
        self.champ_improved = test is not None and test.returns[0].mean() > self.champ_test
        if self.champ_improved:
            self.champion, self.champ_returns, self.champ_task = best_genome, test.returns[0], gen.task
        self.moments = self.moments.merge(ev.observation_moments())
        self.steps += gen.env_steps
        now = time.perf_counter()
        self.wall += now - self._t_last  # includes the variation that made this generation
        self._t_last = now
        cpu_now = time.process_time()  # this process, all threads; rollouts run here when not parallel
        self.cpu += cpu_now - self._c_last + gen.remote_cpu
        self._c_last = cpu_now
        row = {
            "generation": g,
            "best": stats["best"],
            "mean": stats["mean"],
            "test": float(test.returns[0].mean()) if test is not None else math.nan,
            "env_steps": self.steps,
            "wall_time": self.wall,
            "invalid_obs": float(ev.invalid.sum()),
            CPU_KEY: self.cpu,
        }
        row[schema.STOP_KEY] = _STOP_CODES.get(self.stop_reason(proto, g + 1, n_gen), 0)
        for k, v in row.items():
            self.history[k].append(v)
        return row


def record_generation(
    writer: RunWriter,
    g: int,
    offspring,
    gen: Generation,
    row: dict,
    tally: Tally,
    seed: int,
    search_extra: dict | None = None,
) -> None:
    """Generation ``g`` (and a new champion) into the archive; ``search_extra``: a ``[search]`` strategy's record
    (:meth:`~spatial_snn.runs.searching.SearchDriver.extra`)."""
    test_returns = gen.test.returns[0] if gen.test is not None else None
    if tally.champ_improved:
        writer.write_champion(
            tally.champion, generation=g, index=gen.tested, test_returns=test_returns, test_seeds=gen.test_seeds
        )
    writer.write_generation(
        g,
        population=offspring.genomes,
        fitness=gen.fitness,
        episode_returns=gen.ev.returns,
        episode_lengths=gen.ev.lengths,
        episode_seeds=gen.seeds,
        counters=gen.ev.counters,
        parents=offspring.parents,
        origin=offspring.origin,
        stats={k: row[k] for k in (*HISTORY_KEYS, *_MORE_KEYS)},
        test_returns=test_returns,
        test_seeds=gen.test_seeds if gen.test is not None else None,
        rng_state=_rng_state(seed, g + 1),
        extra=((_extra(offspring, gen, tally) or {}) | (search_extra or {})) or None,
    )


def _extra(offspring, gen: Generation, tally: Tally) -> dict | None:
    """What resuming needs beyond the population: the normalisation record and, when mutation strengths
    self-adapt, the strengths the generation's offspring will inherit."""
    extra = _normalisation_record(gen, tally) or {}
    if not np.all(offspring.strengths == 1.0):
        extra[schema.MUTATION_STRENGTHS] = np.asarray(offspring.strengths, np.float64)
    return extra or None


def _normalisation_record(gen: Generation, tally: Tally) -> dict | None:
    """With normalisation: the generation's bounds and the running moments after it (what resuming needs)."""
    if not gen.task.encoder.normalise:
        return None
    return {
        schema.OBS_LOW: np.asarray(gen.task.obs_low),
        schema.OBS_HIGH: np.asarray(gen.task.obs_high),
        **tally.moments.to_arrays(),
    }


@dataclass
class ResumeState:
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
    moments: ObsMoments | None  # the running statistics after the last generation (None: not stored)
    config: dict
    strengths: np.ndarray | None = None  # the last generation's mutation strengths (None: all 1)
    run_data_names: tuple = ()  # what the archive stores beside its generations

    @property
    def train_backend(self) -> str:
        """A resumed run trains where it started; archives from before backends trained on gymnasium."""
        return (self.config.get("env_backend") or {}).get("train", "gymnasium")


def read_resume(archive) -> ResumeState:
    with open_run(archive) as run:
        start = run.n_generations
        ch = run.champion()
        extra = run.generation(start - 1)["extra"] if start else {}
        champ_extra = run.generation(int(ch[1]["generation"]))["extra"] if ch else {}
        return ResumeState(
            start=start,
            generations=_stored_count(run.config, "generations", archive),
            bounds=(run.run_data(schema.OBS_LOW), run.run_data(schema.OBS_HIGH)),
            history={k: list(v) for k, v in run.history.items() if k in ("generation", *HISTORY_KEYS, *_MORE_KEYS)},
            population=run.population(start - 1) if start else None,
            fitness=run.generation(start - 1)["fitness"] if start else None,
            champion=ch[0] if ch else None,
            champ_returns=np.asarray(ch[1]["test_returns"]) if ch else np.empty(0),
            champ_bounds=(
                (champ_extra[schema.OBS_LOW], champ_extra[schema.OBS_HIGH]) if schema.OBS_LOW in champ_extra else None
            ),
            moments=ObsMoments.from_arrays(extra),
            config=run.config,
            strengths=(
                np.asarray(extra[schema.MUTATION_STRENGTHS], np.float64) if schema.MUTATION_STRENGTHS in extra else None
            ),
            run_data_names=tuple(run.run_data_names),
        )


def stored_body(config: dict) -> str | None:
    """The body XML text a run stored with its task (None: the task's own body)."""
    task = config.get("task") if isinstance(config, dict) else None
    return task.get("body_xml") if isinstance(task, dict) else None


def _stored_count(cfg: dict, key: str, path) -> int:
    """A count from a stored config, or a ValueError naming the file (a crafted value is not a traceback)."""
    value = cfg.get(key)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
        or value != int(value)
    ):
        raise ValueError(
            f"{path}: stored config {key} = {value!r}, expected a count >= 0; the archive was not "
            "written by spatial-snn's runner or was edited: restore it from a copy"
        )
    return int(value)


def _config(setup: RunSetup, state: ResumeState | None, n_gen: int) -> dict:
    """The run's config as the archive stores it; a resumed run keeps the stored one where it is the same."""
    scenario, task = setup.scenario.to_dict(), task_meta(setup.task)
    if state is not None:
        n_gen = state.generations  # a resumed run may be extended: its generation count and step budget
        stored = state.config.get("scenario")
        with contextlib.suppress(TypeError, ValueError, AttributeError):
            old = stored_scenario(stored)
            same_budget = dataclasses.replace(
                setup.scenario,
                protocol=dataclasses.replace(setup.scenario.protocol, max_env_steps=old.protocol.max_env_steps),
            )
            if old == same_budget:
                scenario = stored  # as written, perhaps by an older version without newer keys
        with contextlib.suppress(TypeError, ValueError, AttributeError, KeyError):
            if dataclasses.replace(task_from_meta(state.config["task"]), backend=setup.task.backend) == setup.task:
                task = state.config["task"]  # likewise (e.g. written before the encoder's normalise keys)
    config = {"scenario": scenario, "dim": setup.dim, "seed": setup.seed, "generations": n_gen, "task": task}
    if state is None or "env_backend" in state.config:  # archives from before backends keep their config
        config["env_backend"] = {"train": setup.task.backend, "test": setup.test_task.backend}
    return config


@contextlib.contextmanager
def archive_writer(
    archive,
    setup: RunSetup,
    state: ResumeState | None,
    n_gen: int,
    overwrite: bool,
    moments0: ObsMoments | None = None,
    start_steps: int | None = None,
):
    """The archive's writer (None without an archive), closed at the end.

    ``moments0``: the observation moments a normalising run started from
    (``[start] genome``), kept as ``run_data`` ``obs_count0``, ``obs_sum0``,
    ``obs_sumsq0`` so that a champion of generation 0 can be exported with them.
    ``start_steps``: the environment steps behind the start genome, kept as
    ``start_env_steps`` so that curves and exports count the whole lineage.
    """
    if archive is None:
        yield None
        return
    run_data = {schema.OBS_LOW: np.asarray(setup.task.obs_low), schema.OBS_HIGH: np.asarray(setup.task.obs_high)}
    if moments0 is not None:
        run_data |= moments0.to_arrays("0")
    if start_steps is not None:
        run_data[schema.START_ENV_STEPS] = np.array([start_steps], np.int64)
    if state is not None:
        run_data |= _extension(setup, state, n_gen)
    # the header appears with its observation bounds, in one atomic commit
    with RunWriter(
        archive,
        seed=setup.seed,
        dim=setup.dim,
        overwrite=overwrite,
        config=_config(setup, state, n_gen),
        resume=state is not None,
        run_data=run_data,
    ) as writer:
        yield writer


def _extension(setup: RunSetup, state: ResumeState, n_gen: int) -> dict:
    """A resume that extends the stored generation count or step budget leaves a record of it.

    ``run_data`` ``extension_<k>`` (write-once, so one name per extension):
    ``[first generation of the extension, generations, max_env_steps or -1]``.
    The stored scenario stays as written; these say what the run went on with.
    """
    stored = ((state.config.get("scenario") or {}).get("protocol") or {}).get("max_env_steps")
    budget = setup.scenario.protocol.max_env_steps
    if n_gen == state.generations and budget == stored:
        return {}
    k = sum(schema.extension_index(name) is not None for name in state.run_data_names)
    row = [state.start, n_gen, -1 if budget is None else budget]
    return {schema.extension_name(k): np.array(row, np.int64)}


def _rng_state(seed: int, next_generation: int) -> dict:
    """What resuming needs of the randomness: every stream derives from the run seed by path."""
    return {
        "run_seed": int(seed),
        "next_generation": int(next_generation),
        "scheme": "numpy SeedSequence(run_seed, spawn_key=path), PCG64; paths in spatial_snn.evo.seeding",
    }
