"""Run a stored controller again: the champion of an archive or a genome file.

Replays use fresh reset seeds (``seeding.rng(seed, 5)``), never the training
or test seeds of the run, and can record a video headlessly
(``MUJOCO_GL=egl`` for MuJoCo bodies).
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np

from ..evo import seeding
from ..sim.network import Network
from ..space.genome import Genome
from ..store.archive import ArchiveFormatError, load_genome, open_run
from ..tasks.encoding import make_decoder, make_encoder
from ..tasks.envs import make_env
from ..tasks.evaluation import Task, rollout, task_from_meta

_REPLAY_STREAM = 5


def load_controller(path, *, allow_import=()) -> tuple[Genome, Task, dict]:
    """(genome, task, info) from a run archive (its champion), a genome file or a ``.nir`` graph.

    A stored ``env_id`` of the form ``module:Env`` is refused unless that
    module is in ``allow_import``: a file does not choose what code runs.
    """
    path = Path(path)
    if path.suffix == ".nir":
        from ..store.nir_import import read_nir
        from ..store.nir_io import NIRImportError

        genome, task = read_nir(path, allow_import=allow_import)
        if task is None:
            raise NIRImportError(f"{path}: the graph carries no task (environment, encoder, decoder); only "
                                 "graphs written by `spatial-snn export ... --to model.nir` replay on their own")
        return genome, task, {"source": str(path)}
    try:
        with open_run(path, allow_import=allow_import) as run:
            ch = run.champion()
            if ch is None:
                raise ArchiveFormatError(f"{path}: the run has no champion yet (no test has run); "
                                         "let it run past its first test generation")
            genome, info = ch
            info = dict(info)
            moments = champion_moments(run, info)
            if moments is not None:
                info["obs_moments"] = moments
            info["env_steps"] = champion_env_steps(run, info)
            return genome, champion_task(run, info), info
    except ArchiveFormatError as first:
        try:
            genome, meta = load_genome(path, allow_import=allow_import)
        except ArchiveFormatError as second:
            if "import the module" in str(second):
                raise
            raise first from None
        if not isinstance(meta.get("task"), dict):
            raise ArchiveFormatError(f"{path}: the genome file names no task (meta['task']); write it with "
                                     "`spatial-snn export RUN.h5 --to FILE.h5`, or pass "
                                     "meta={'task': task_meta(task)} to save_genome") from None
        return genome, task_from_meta(meta["task"]), meta


def champion_task(run, info: dict) -> Task:
    """The task the champion of ``run`` was tested with.

    A run with observation normalisation stores the bounds of each generation
    beside it (``extra/obs_low``, ``extra/obs_high``); the champion keeps
    those of its generation. Other runs use the run's task as stored.
    """
    task = task_from_meta(run.task)  # a clear error naming the file when the archive has none
    extra = run.generation(int(info["generation"]))["extra"]
    if "obs_low" in extra and "obs_high" in extra:
        task = dataclasses.replace(task, obs_low=tuple(float(x) for x in extra["obs_low"]),
                                   obs_high=tuple(float(x) for x in extra["obs_high"]))
    return task


def start_env_steps(run) -> int:
    """Environment steps behind the genome a run started from (``init_genome``); 0 for a random start.

    Stored as ``run_data`` ``start_env_steps`` when the start knew its own
    (a run archive's champion, or a genome file exported with ``env_steps``).
    """
    if "start_env_steps" not in run.run_data_names:
        return 0
    return int(np.asarray(run.run_data("start_env_steps")).reshape(-1)[0])


def champion_env_steps(run, info: dict) -> int:
    """Environment steps to the champion: the run's, up to its generation, plus those behind its start."""
    h = run.history
    row = int(np.flatnonzero(np.asarray(h["generation"]) == int(info["generation"]))[0])
    return int(h["env_steps"][row]) + start_env_steps(run)


def champion_moments(run, info: dict) -> dict | None:
    """The running observation moments the champion's bounds were made from; None without normalisation.

    Generation ``g`` of a normalising run is encoded with bounds from the
    observations of the generations before it: the moments stored with
    generation ``g - 1`` (``extra/obs_count``, ``obs_sum``, ``obs_sumsq``),
    or for ``g = 0`` those the run started from (``run_data`` ``obs_count0``,
    ... when it started from a genome that carried them, none otherwise).
    ``normalised_bounds`` of them gives the champion's bounds again; a run
    that refines the champion (``[evolution] init_genome``) goes on from them.
    Returns ``{"count": int, "sum": [...], "sumsq": [...]}`` (JSON, for a genome file's meta).
    """
    gen = int(info["generation"])
    if "obs_low" not in run.generation(gen)["extra"]:
        return None
    if gen > 0:
        extra = run.generation(gen - 1)["extra"]
        if "obs_count" not in extra:
            return None
        count, total, total_sq = extra["obs_count"], extra["obs_sum"], extra["obs_sumsq"]
    elif "obs_count0" in run.run_data_names:
        count, total, total_sq = (run.run_data(k) for k in ("obs_count0", "obs_sum0", "obs_sumsq0"))
    else:
        n = len(run.run_data("obs_low"))
        count, total, total_sq = 0, np.zeros(n), np.zeros(n)
    return {"count": int(np.asarray(count).reshape(-1)[0]),
            "sum": [float(x) for x in np.asarray(total, np.float64)],
            "sumsq": [float(x) for x in np.asarray(total_sq, np.float64)]}


def replay(path, *, episodes: int = 10, seed: int = 0, video: str | Path | None = None,
           max_frames: int | None = None, allow_import=()) -> np.ndarray:
    """Returns of the stored controller over ``episodes`` fresh episodes.

    With ``video``, the first episode (up to ``max_frames`` frames) is also
    rendered to that file (mp4 or gif); ``allow_import``: see
    :func:`load_controller`. Headless rendering is software rendering here:
    count about 0.05-0.2 s per MuJoCo frame.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes: expected an integer >= 1, got {episodes!r}")
    genome, task, _ = load_controller(path, allow_import=allow_import)
    seeds = seeding.rng(seed, _REPLAY_STREAM).choice(2**30, size=episodes, replace=False)
    result = rollout(task, [genome], seeds)
    if video is not None:
        record(genome, task, int(seeds[0]), video, max_frames=max_frames)
    return result.returns[0]


def record(genome: Genome, task: Task, seed: int, out, *, max_frames: int | None = None) -> Path:
    """Render one episode to a video file (headless; MuJoCo frames at 320x240)."""
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rgb_array rendering needs no window
    import gymnasium
    import imageio.v2 as imageio  # only videos need it

    kwargs = {**task.env_kwargs, "render_mode": "rgb_array"}
    if "mujoco" in str(gymnasium.spec(task.env_id.split(":")[-1]).entry_point):
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 240)
    env = make_env(task.env_id, kwargs, task.max_episode_steps)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    net = Network([genome], dt=task.dt)
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    done = False
    while not done and (max_frames is None or len(frames) < max_frames):
        action = dec(net.step(enc(np.asarray(obs, np.float64)[None]), task.substeps))[0]
        obs, _, terminated, truncated, _ = env.step(action)
        frames.append(env.render())
        done = terminated or truncated or not np.all(np.isfinite(obs))
    env.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fps = int(env.metadata.get("render_fps", 30))
    extra = {} if out.suffix == ".gif" else {"macro_block_size": 1}
    imageio.mimsave(out, frames, fps=fps, **extra)
    return out
