"""Rollouts in lockstep, and their fan-out over worker processes.

A worker evaluates a batch of G genomes over E episodes as B = G * E
networks (network ``b = g * E + e``). At every environment step all live
networks advance together in **one** kernel call, then the live environments
step (on the task's backend, :mod:`.backends`: gymnasium one by one, EnvPool
in one C++ call); finished episodes are masked out of both and cost nothing.

Episode ``b`` is seeded with ``seeds[b % E]`` when its environment is reset
(gymnasium) or made (EnvPool). Evaluation draws no random numbers: a result
depends only on (genome, seed, cap, backend), so it does not matter which
worker runs which batch.

Genomes travel to workers as plain numpy arrays, a job's genomes
concatenated into one batch (:func:`pack_batch`).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import itertools
import os
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from ..evo.pruning import compact
from ..space.codec import decode_batch, encode_batch
from ..space.genome import NEURON_PARAMS, STP_PARAMS, Genome, Synapses
from ..space.rules import ConnectivityRule
from .backends import make_batch
from .bodies import body_key, check_body
from .encoding import DecoderSpec, EncoderSpec, invalid_rows, make_decoder, make_encoder
from .moments import ObsMoments
from .rhythm import make_rhythm

_PROJ = {"input_synapses": "in", "recurrent": "rec", "output_synapses": "out"}


@dataclass(frozen=True)
class Task:
    """What a worker needs to run episodes: environment, codec, timing, bounds.

    ``obs_low`` / ``obs_high`` are the encoder's observation bounds (resolved
    once per run and stored with it); ``max_episode_steps`` overrides the
    environment's own limit only when set. ``backend`` is a resolved backend,
    ``"gymnasium"`` (the default, canonical) or ``"envpool"``
    (:func:`.backends.resolve_backend`); it is not part of :func:`task_meta`,
    so exported genomes replay on gymnasium. ``env_threads`` is EnvPool's own
    thread count per rollout (1: parallelism comes from worker processes).
    ``body_xml`` is the text of a MuJoCo body the environment loads instead
    of its own (:mod:`.bodies`; None: the task's own body); it is part of
    :func:`task_meta`, so archives and genome files carry it. ``feet`` (the
    bodies whose floor contacts a gait descriptor counts) and ``torso_xy``
    (record the torso's final x-y, :attr:`Evaluation.final_xy`) are set by
    a MAP-Elites run that needs them (gymnasium only) and are not part of
    :func:`task_meta`.
    """

    env_id: str
    env_kwargs: dict = field(default_factory=dict)
    max_episode_steps: int | None = None
    substeps: int = 64
    dt: float = 1e-3
    encoder: EncoderSpec = field(default_factory=EncoderSpec)
    decoder: DecoderSpec = field(default_factory=DecoderSpec)
    obs_low: tuple = ()
    obs_high: tuple = ()
    backend: str = "gymnasium"
    env_threads: int = 1
    body_xml: str | None = None
    feet: tuple = ()
    torso_xy: bool = False

    def key(self) -> str:
        return repr(
            (
                self.env_id,
                sorted(self.env_kwargs.items()),
                self.max_episode_steps,
                self.backend,
                body_key(self.body_xml),
            )
        )


@dataclass
class Evaluation:
    """Results of G genomes over E episodes.

    returns : (G, E) float64, lengths : (G, E) int64 environment steps,
    counters : (G, 3) int64 summed over episodes (spikes, synaptic events,
    neuron updates), invalid : (G,) int64 episodes ended by a NaN/inf observation.
    obs_sum, obs_sumsq : (G, E, obs_dim) float64, the sum and the sum of
    squares of every observation the episode's network received (the reset
    observation and one per step while the episode ran); the runner turns
    them into running observation statistics (:meth:`observation_moments`). Kept per episode so that the
    totals, summed in one fixed order, do not depend on how work was split.
    cpu_seconds : CPU time of the process(es) that ran the rollouts, all
    their threads, summed over jobs (a measurement, not reproducible).
    contacts : (G, E, F) int64 or None, the steps on which each of the
    task's ``feet`` touched the floor (gymnasium only; None without feet).
    final_xy : (G, E, 2) float64 or None, the torso's x-y position
    (``data.qpos[:2]``) after each episode's last step, or the last finite
    one if the state diverged (gymnasium only; None unless ``Task.torso_xy``).
    """

    returns: np.ndarray
    lengths: np.ndarray
    counters: np.ndarray
    invalid: np.ndarray
    obs_sum: np.ndarray
    obs_sumsq: np.ndarray
    cpu_seconds: float = 0.0
    contacts: np.ndarray | None = None
    final_xy: np.ndarray | None = None

    @property
    def env_steps(self) -> int:
        return int(self.lengths.sum())

    def events_per_step(self) -> np.ndarray:
        """Synaptic events per environment step, per genome."""
        return self.counters[:, 1] / np.maximum(self.lengths.sum(axis=1), 1)

    def spikes_per_step(self) -> np.ndarray:
        """Hidden-neuron spikes per environment step, per genome."""
        return self.counters[:, 0] / np.maximum(self.lengths.sum(axis=1), 1)

    def contact_fractions(self) -> np.ndarray:
        """(G, F) fraction of all its episodes' steps on which each foot touched the floor, per genome."""
        if self.contacts is None:
            raise ValueError("gait: this evaluation ran without feet (Task.feet); gait needs the gymnasium backend")
        return self.contacts.sum(axis=1) / np.maximum(self.lengths.sum(axis=1), 1)[:, None]

    def final_positions(self) -> np.ndarray:
        """(G, 2) the torso's final x-y position averaged over each genome's episodes (in episode order)."""
        if self.final_xy is None:
            raise ValueError("final_xy: this evaluation ran without Task.torso_xy; it needs the gymnasium backend")
        return self.final_xy.mean(axis=1)

    @staticmethod
    def concat(parts: Sequence[Evaluation]) -> Evaluation:
        """More genomes: ``parts`` of other genomes, one after another."""
        return Evaluation(
            *(
                np.concatenate([getattr(p, f) for p in parts])
                for f in ("returns", "lengths", "counters", "invalid", "obs_sum", "obs_sumsq")
            ),
            cpu_seconds=sum(p.cpu_seconds for p in parts),
            contacts=None if parts[0].contacts is None else np.concatenate([p.contacts for p in parts]),
            final_xy=None if parts[0].final_xy is None else np.concatenate([p.final_xy for p in parts]),
        )

    @staticmethod
    def join_episodes(parts: Sequence[Evaluation]) -> Evaluation:
        """More episodes: ``parts`` of the same genomes on other episodes, in episode order."""
        return Evaluation(
            np.concatenate([p.returns for p in parts], axis=1),
            np.concatenate([p.lengths for p in parts], axis=1),
            sum(p.counters for p in parts),
            sum(p.invalid for p in parts),
            np.concatenate([p.obs_sum for p in parts], axis=1),
            np.concatenate([p.obs_sumsq for p in parts], axis=1),
            cpu_seconds=sum(p.cpu_seconds for p in parts),
            contacts=None if parts[0].contacts is None else np.concatenate([p.contacts for p in parts], axis=1),
            final_xy=None if parts[0].final_xy is None else np.concatenate([p.final_xy for p in parts], axis=1),
        )

    def observation_moments(self) -> ObsMoments:
        """Count, sum and sum of squares of all observations, summed in genome-episode order."""
        count = int(self.lengths.sum())  # each step acts on one observation: the reset one, then each result
        return ObsMoments(count, self.obs_sum.sum(axis=(0, 1)), self.obs_sumsq.sum(axis=(0, 1)))


def task_meta(task: Task) -> dict:
    """JSON-able description of a task, stored beside shipped genomes (``body_xml`` only when set)."""
    meta = {
        "env_id": task.env_id,
        "env_kwargs": task.env_kwargs,
        "max_episode_steps": task.max_episode_steps,
        "substeps": task.substeps,
        "dt": task.dt,
        "encoder": asdict(task.encoder),
        "decoder": asdict(task.decoder),
        "obs_low": list(task.obs_low),
        "obs_high": list(task.obs_high),
    }
    if task.body_xml is not None:
        meta["body_xml"] = task.body_xml
    return meta


def task_from_meta(meta: dict) -> Task:
    """Inverse of :func:`task_meta`."""
    try:
        return Task(
            meta["env_id"],
            dict(meta.get("env_kwargs") or {}),
            meta.get("max_episode_steps"),
            int(meta["substeps"]),
            float(meta["dt"]),
            EncoderSpec(**meta["encoder"]),
            DecoderSpec(**meta["decoder"]),
            tuple(meta["obs_low"]),
            tuple(meta["obs_high"]),
            body_xml=_stored_body(meta.get("body_xml")),
        )
    except (KeyError, TypeError) as exc:
        raise ValueError(
            f"genome metadata lacks the task description ({exc}); "
            "export genomes with `spatial-snn export` so they can be replayed"
        ) from None


def _stored_body(text) -> str | None:
    """A stored body's text, checked to compile (None stays None)."""
    if text is None:
        return None
    check_body(text, "stored body_xml")
    return text


# ------------------------------------------------------------ transport
def pack(genome: Genome) -> dict:
    """A genome as a flat dict of numpy arrays (and the rule as plain floats)."""
    d = {
        name: getattr(genome, name)
        for name in ("positions", "input_positions", "output_positions", *NEURON_PARAMS, "sign", "input_sign")
    }
    if genome.plastic:
        d.update({name: getattr(genome, name) for name in STP_PARAMS})
    for name, short in _PROJ.items():
        syn = getattr(genome, name)
        d[f"{short}_pre"], d[f"{short}_post"], d[f"{short}_weight"] = syn.pre, syn.post, syn.weight
    d["rule"] = asdict(genome.rule)
    if genome.rhythm is not None:
        d["rhythm"] = genome.rhythm
    return d


def unpack(d: dict) -> Genome:
    """Inverse of :func:`pack`."""
    fields = {
        k: v
        for k, v in d.items()
        if k in ("positions", "input_positions", "output_positions", *NEURON_PARAMS, *STP_PARAMS, "sign", "input_sign")
    }
    for name, short in _PROJ.items():
        fields[name] = Synapses(d[f"{short}_pre"], d[f"{short}_post"], d[f"{short}_weight"])
    return Genome(**fields, rule=ConnectivityRule(**d["rule"]), rhythm=d.get("rhythm"))


def pack_batch(genomes: Sequence[Genome]) -> dict:
    """Genomes as one dict of concatenated numpy arrays with per-genome counts.

    The codec the run archive uses too (:func:`spatial_snn.space.codec.encode_batch`).
    A job's genomes travel in ~25 arrays instead of ~20 per genome: Dask sends
    every array as a message frame of its own, and per-frame costs dominated
    the client's CPU per job (benchmarks/bench_cluster.py).
    """
    return encode_batch(genomes)


def unpack_batch(batch: dict) -> list[Genome]:
    """Inverse of :func:`pack_batch`."""
    return decode_batch(batch)


# ------------------------------------------------------------- rollouts
def rollout(task: Task, genomes: Sequence[Genome], seeds, cap: int | None = None) -> Evaluation:
    """Run every genome on every seed, all networks in lockstep (in this process).

    Parameters
    ----------
    seeds : (E,) int
        Episode seeds, shared by all genomes.
    cap : int or None
        Stop episodes after this many environment steps (curriculum); the
        environment's own time limit applies as well.
    """
    from ..sim.network import Network

    cpu0 = time.process_time()
    seeds = [int(s) for s in seeds]
    G, E = len(genomes), len(seeds)
    B = G * E
    envs = make_batch(
        task.backend,
        task.env_id,
        task.env_kwargs,
        task.max_episode_steps,
        [seeds[b % E] for b in range(B)],
        task.env_threads,
        task.body_xml,
    )
    try:
        enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
        dec = make_decoder(task.decoder, envs.action_space)
        prior = make_rhythm(task.decoder, genomes, E, envs.action_space)  # None unless decoder.rhythm
        # empty neuron slots cannot affect the outputs: simulate (and count) only wired neurons
        net = Network([compact(g) for g in genomes], episodes=E, dt=task.dt)
        obs = envs.reset()  # every observation a rollout sees arrives here or from envs.step
        returns = np.zeros(B)
        lengths = np.zeros(B, np.int64)
        invalid = np.zeros(B, bool)
        active = ~invalid_rows(obs)
        invalid |= ~active
        obs_sum = np.zeros(obs.shape, np.float64)  # observation moments (see Evaluation)
        obs_sumsq = np.zeros(obs.shape, np.float64)
        limit = np.iinfo(np.int64).max if cap is None else int(cap)
        feet = tuple(task.feet)
        if feet and not hasattr(envs, "contacts"):
            raise ValueError("gait: foot contacts come from gymnasium's MuJoCo data; set env.backend = 'gymnasium'")
        contacts = np.zeros((B, len(feet)), np.int64) if feet else None
        final_xy = None
        if task.torso_xy:
            if not hasattr(envs, "positions"):
                raise ValueError(
                    "final_xy: the torso position comes from gymnasium's MuJoCo data; set env.backend = 'gymnasium'"
                )
            final_xy = envs.positions(np.arange(B))  # an episode that never steps ends where it was reset
        step = 0
        while active.any() and step < limit:
            seen = np.where(active[:, None], obs, 0.0)
            obs_sum += seen
            obs_sumsq += seen * seen
            x = enc(seen)
            idx = np.flatnonzero(active)
            actions = dec(net.step(x, task.substeps, active))
            if prior is not None:
                actions = prior(actions)
            o, r, done = envs.step(actions[idx], idx)
            returns[idx] += r
            lengths[idx] += 1
            if contacts is not None:
                contacts[idx] += envs.contacts(idx, feet)
            if final_xy is not None:  # the last finite position: a diverged state (NaN) keeps the one before
                xy = envs.positions(idx)
                ok = np.isfinite(xy).all(axis=1)
                final_xy[idx[ok]] = xy[ok]
            obs[idx] = o
            bad = invalid_rows(o) & ~done  # a NaN on the final step ends nothing more
            invalid[idx[bad]] = True
            active[idx[done | bad]] = False
            step += 1
    finally:
        envs.close()
    counters = net.counters.reshape(G, E, 3).sum(axis=1)
    return Evaluation(
        returns.reshape(G, E),
        lengths.reshape(G, E),
        counters,
        invalid.reshape(G, E).sum(axis=1).astype(np.int64),
        obs_sum.reshape(G, E, -1),
        obs_sumsq.reshape(G, E, -1),
        cpu_seconds=time.process_time() - cpu0,
        contacts=None if contacts is None else contacts.reshape(G, E, -1),
        final_xy=None if final_xy is None else final_xy.reshape(G, E, 2),
    )


def _rollout_packed(task: Task, batch: dict, seeds, cap) -> Evaluation:
    return rollout(task, unpack_batch(batch), seeds, cap)


# ------------------------------------------------------------- workers
def _cuts(n: int, parts: int) -> list[int]:
    """Boundaries splitting ``n`` items into at most ``parts`` near-equal runs."""
    parts = max(1, min(n, parts))
    return [int(x) for x in np.linspace(0, n, parts + 1).round()]


def init_worker() -> None:
    """Worker initializer: one numba thread, kernels compiled once."""
    from ..sim.network import set_threads, warmup

    set_threads(1)
    warmup()


class WorkerPool:
    """Fan batches out over an executor; survive one broken local pool per batch.

    Parameters
    ----------
    workers : int
        Local worker processes (``spawn``), each warmed up once. ``1`` runs
        batches in this process.
    executor : concurrent.futures.Executor, optional
        Use this executor instead (e.g. a Dask client's); it is not restarted.
    """

    def __init__(self, workers: int | None = None, executor: cf.Executor | None = None):
        self.workers = max(1, int(workers or os.cpu_count() or 1))
        self._external = executor
        self._pool: cf.Executor | None = None
        self._threads_set = False

    @property
    def parallel(self) -> bool:
        return self._external is not None or self.workers > 1

    def _executor(self) -> cf.Executor:
        if self._external is not None:
            return self._external
        if self._pool is None:
            from ..sim.network import warmup

            warmup()  # compile (and cache) in the parent before workers start
            from .lifeline import start_worker, worker_context  # workers die with us, ignore Ctrl-C

            self._pool = cf.ProcessPoolExecutor(
                self.workers, mp_context=worker_context(), initializer=start_worker, initargs=(os.getpid(),)
            )
        return self._pool

    def run(self, task: Task, genomes: Sequence[Genome], seeds, cap=None) -> Evaluation:
        """Evaluate ``genomes`` on ``seeds``; results in genome order.

        Work is cut into about four jobs per worker: by genomes when there
        are enough of them, else by episodes (a test of one genome).
        """
        seeds = np.asarray(seeds, np.int64)
        if not self.parallel:
            if not self._threads_set:
                # parallelism is across processes: numba's thread team only adds launch
                # overhead to small networks, most of all on a busy machine
                from ..sim.network import set_threads

                set_threads(1)
                self._threads_set = True
            return rollout(task, genomes, seeds, cap)
        # a cluster executor reports its connected worker threads (DaskExecutor.slots)
        slots = getattr(self._external, "slots", None)
        n_jobs = 4 * (slots or self.workers)
        g_cuts = _cuts(len(genomes), n_jobs)
        s_cuts = _cuts(len(seeds), max(1, n_jobs // (len(g_cuts) - 1)))
        batches = [pack_batch(genomes[ga:gb]) for ga, gb in itertools.pairwise(g_cuts)]
        jobs = [(batch, seeds[sa:sb]) for batch in batches for sa, sb in itertools.pairwise(s_cuts)]
        results = self._fan(task, jobs, cap, slots)
        per_genome = len(s_cuts) - 1
        rows = [results[k : k + per_genome] for k in range(0, len(results), per_genome)]
        return Evaluation.concat([Evaluation.join_episodes(row) for row in rows])

    def _fan(self, task: Task, jobs: list, cap, limit: int | None = None) -> list[Evaluation]:
        """Run ``jobs``; with ``limit``, at most that many at a time, the next one as one finishes.

        A cluster gets one job per worker thread at a time: given them all,
        Dask commits jobs to busy workers (by estimates of their length) and
        work stealing comes too late, so the longest job (the elites') could
        have another queued behind it while a worker idles (Hopper: up to 20 %
        longer generations, benchmarks/bench_cluster.py). Local workers pull
        from one queue and get every job at once.
        """
        results: list[Evaluation | None] = [None] * len(jobs)
        failures = [0] * len(jobs)
        pending = list(range(len(jobs)))
        while pending:
            ex = self._executor()
            queue = collections.deque(pending)
            running: dict[cf.Future, int] = {}
            broken = []
            while queue or running:
                while queue and len(running) < (limit or len(jobs)):
                    k = queue.popleft()
                    running[ex.submit(_rollout_packed, task, *jobs[k], cap)] = k
                done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
                for fut in done:
                    k = running.pop(fut)
                    try:
                        results[k] = fut.result()
                    except cf.BrokenExecutor:  # a broken local pool, or a lost Dask worker (WorkerLost)
                        broken.append(k)
            for k in broken:
                failures[k] += 1
                if failures[k] >= 2:
                    self.close()
                    raise RuntimeError(
                        f"a worker process died twice while evaluating job {k} "
                        f"({len(jobs[k][0]['rules'])} genomes x {len(jobs[k][1])} episodes); not retried again. "
                        "Check memory, or run with workers=1 to see the error in this process. Workers are "
                        'spawned: a script that calls evolve() must do so under `if __name__ == "__main__":`.'
                    )
            if broken:
                self.close()  # a broken pool cannot be reused: the retry gets a fresh one
            pending = broken
        return results

    def close(self, *, kill: bool = False) -> None:
        """Shut the local pool down; ``kill`` ends running jobs at once (after Ctrl-C)."""
        if self._pool is not None:
            if kill:
                from .lifeline import kill_workers

                kill_workers()
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
