"""Run a stored controller again: the champion of an archive or a genome file.

Replays use fresh reset seeds (:func:`~spatial_snn.evo.seeding.replay_seeds`:
episode k's seed depends on the replay seed and k only, not on the episode
count), never the training or test seeds of the run, and can record a video headlessly
(``MUJOCO_GL=egl`` for MuJoCo bodies).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..evo import seeding
from ..sim.network import Network
from ..space.genome import Genome
from ..store.controller import load_controller
from ..tasks.encoding import make_decoder, make_encoder
from ..tasks.envs import make_env
from ..tasks.evaluation import Task, rollout
from ..tasks.rhythm import make_rhythm
from .png import check_suffix

#: Video formats :func:`record` writes, by file suffix.
VIDEO_SUFFIXES = (".mp4", ".gif")


def replay(
    path,
    *,
    episodes: int = 10,
    seed: int = 0,
    video: str | Path | None = None,
    max_frames: int | None = None,
    allow_import=(),
    cell: str | None = None,
) -> np.ndarray:
    """Returns of the stored controller over ``episodes`` fresh episodes.

    ``cell`` (a MAP-Elites run): the elite of that cell of the map, e.g.
    ``"3,7"``, instead of the champion.

    With ``video``, the first episode (up to ``max_frames`` frames) is also
    rendered to that file (mp4 or gif); ``allow_import``: see
    :func:`load_controller`. Headless rendering is software rendering here:
    count about 0.05-0.2 s per MuJoCo frame.
    """
    if isinstance(episodes, bool) or not isinstance(episodes, int | np.integer) or episodes < 1:
        raise ValueError(f"episodes: expected an integer >= 1, got {episodes!r}")
    if video is not None:
        check_suffix(video, VIDEO_SUFFIXES)  # before the episodes run
    genome, task, _ = load_controller(path, allow_import=allow_import, cell=cell)
    seeds = seeding.replay_seeds(seed, episodes)
    result = rollout(task, [genome], seeds)
    if video is not None:
        record(genome, task, int(seeds[0]), video, max_frames=max_frames)
    return result.returns[0]


def record(genome: Genome, task: Task, seed: int, out, *, max_frames: int | None = None) -> Path:
    """Render one episode to a video file (headless; MuJoCo frames at 320x240).

    On a terminal, a progress bar counts the frames (rendering takes
    seconds per hundred frames).
    """
    check_suffix(out, VIDEO_SUFFIXES)
    os.environ.setdefault("MUJOCO_GL", "egl")
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")  # rgb_array rendering needs no window
    import gymnasium
    import imageio.v2 as imageio  # only videos need it
    from tqdm import tqdm

    kwargs = {**task.env_kwargs, "render_mode": "rgb_array"}
    entry = str(gymnasium.spec(task.env_id.split(":")[-1]).entry_point)
    if "mujoco" in entry or entry.startswith("spatial_snn.tasks."):  # ours are MuJoCo bodies too
        kwargs.setdefault("width", 320)
        kwargs.setdefault("height", 240)
    env = make_env(task.env_id, kwargs, task.max_episode_steps, task.body_xml)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    prior = make_rhythm(task.decoder, [genome], 1, env.action_space)
    net = Network([genome], dt=task.dt)
    obs, _ = env.reset(seed=seed)
    frames = [env.render()]
    done = False
    cap = getattr(env.spec, "max_episode_steps", None)
    limits = [x for x in (max_frames, cap + 1 if cap else None) if x]
    with tqdm(
        total=min(limits) if limits else None,
        initial=1,
        unit="frame",
        desc=f"recording {Path(out).name}",
        disable=None,
        leave=False,
    ) as bar:  # disable=None: shown on a terminal only
        while not done and (max_frames is None or len(frames) < max_frames):
            action = dec(net.step(enc(np.asarray(obs, np.float64)[None]), task.substeps))
            action = (action if prior is None else prior(action))[0]
            obs, _, terminated, truncated, _ = env.step(action)
            frames.append(env.render())
            bar.update(1)
            done = terminated or truncated or not np.all(np.isfinite(obs))
    env.close()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fps = int(env.metadata.get("render_fps", 30))
    extra = {} if out.suffix == ".gif" else {"macro_block_size": 1}
    imageio.mimsave(out, frames, fps=fps, **extra)
    return out
