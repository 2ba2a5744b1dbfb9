"""Environment backends: where the B environments of a lockstep rollout live.

Two backends give a rollout the same small interface, an *environment batch*:

    obs = batch.reset()                          # (B, obs_dim) float64, episode b seeded seeds[b]
    obs_k, reward_k, done_k = batch.step(actions_k, idx)   # only the episodes idx (k,)

* ``"gymnasium"``: one :func:`gymnasium.make` environment per episode, kept
  per process across rollouts, reset with ``reset(seed=seeds[b])`` and stepped
  one by one in Python. This is the canonical backend: held-out tests,
  ``replay`` and the shipped scores use it.
* ``"envpool"``: one EnvPool batch of B C++ environments per rollout, stepped
  together in one call. EnvPool fixes an environment's seed when it is made
  (``env_seed``), so a batch is made afresh for every rollout with the
  episodes' seeds: a result still depends only on (genome, seed), never on
  which worker ran it or what it ran before. Only the indices sent are
  stepped, so a finished episode costs nothing (EnvPool would auto-reset it on
  its next step; it never gets one).

``backend = "auto"`` (a scenario's default) resolves to ``"envpool"`` when
EnvPool is installed, knows the id and accepts every keyword argument given,
else to ``"gymnasium"``; :func:`resolve_backend` makes that choice once per run.
EnvPool re-implements the tasks on its own MuJoCo build: trajectories differ
in the last bits, returns agree statistically (``tests/test_backends.py``).
"""

from __future__ import annotations

import difflib
import functools
import json
import warnings
from collections.abc import Sequence

import numpy as np

from .bodies import body_key
from .envs import make_env, split_hidden, visible_columns

BACKENDS = ("auto", "gymnasium", "envpool")

#: EnvPool configuration keys that describe the pool, not the task: never a scenario kwarg.
_POOL_KEYS = frozenset(
    {
        "num_envs",
        "batch_size",
        "num_threads",
        "max_num_players",
        "thread_affinity_offset",
        "base_path",
        "seed",
        "env_seed",
        "gym_reset_return_info",
        "max_episode_steps",
        "reward_threshold",
        "frame_stack",
        "gymnasium_v5_render_camera",
    }
)


def envpool_kwargs(env_id: str, kwargs: dict | None) -> tuple[dict, int | None]:
    """EnvPool's spelling of gymnasium keyword arguments, and how many leading
    observation columns to keep (None: all).

    Gymnasium v5's ``include_cfrc_ext_in_observation=False`` (Ant) leaves the
    78 contact forces out of the observation but keeps the contact cost in the
    reward. EnvPool's ``use_contact_force=False`` drops both, so a training
    return would differ from gymnasium's (about -0.9 per 1000 random steps).
    EnvPool therefore runs with the forces on, and the batch keeps the leading
    columns: the width EnvPool's observation has without them, the same
    columns in the same order as gymnasium's.
    """
    kwargs = dict(kwargs or {})
    if "include_cfrc_ext_in_observation" not in kwargs:
        return kwargs, None
    include = bool(kwargs.pop("include_cfrc_ext_in_observation"))
    width = None if include else _width_without_forces(env_id, json.dumps(kwargs, sort_keys=True))
    return {**kwargs, "use_contact_force": True}, width


@functools.cache
def _width_without_forces(env_id: str, kwargs_json: str) -> int:
    """Observation width of EnvPool's ``env_id`` without contact forces, other settings as given
    (JSON, so the cache key is hashable; making a spec takes ~0.1 s)."""
    import envpool

    spec = envpool.make_spec(env_id, **json.loads(kwargs_json), use_contact_force=False)
    return int(spec.observation_space.shape[0])


def envpool_problem(env_id: str, kwargs: dict | None = None) -> str | None:
    """Why EnvPool cannot run ``env_id`` with ``kwargs``, or None when it can.

    EnvPool must import, list ``env_id`` among its tasks, and accept every key
    of ``kwargs`` as a task setting (``envpool.make_spec(env_id).config``).
    """
    known = _envpool_tasks()
    if known is None:
        return "envpool is not installed (pip install envpool; wheels exist for Linux x86_64)"
    if env_id not in known:
        close = difflib.get_close_matches(str(env_id), known, n=3, cutoff=0.6)
        hint = f" (close: {', '.join(close)})" if close else ""
        return f"EnvPool has no task {env_id!r}{hint}"
    accepted = _envpool_settings(env_id)
    unknown = sorted(set(split_hidden(kwargs)[0]) - accepted)  # hide_obs is ours: the batch drops columns
    if unknown:
        return (
            f"EnvPool's {env_id} does not accept the keyword argument(s) {', '.join(unknown)}; "
            f"it accepts: {', '.join(sorted(accepted)) or 'none'}"
        )
    return None


@functools.cache
def _envpool_tasks() -> tuple[str, ...] | None:
    """EnvPool's task ids, None when it is not installed (looked up once per process)."""
    try:
        import envpool
    except ImportError:
        return None
    return tuple(envpool.list_all_envs())


@functools.cache
def _envpool_settings(env_id: str) -> frozenset[str]:
    """The keyword arguments EnvPool's ``env_id`` accepts as task settings."""
    import envpool

    accepted = set(envpool.make_spec(env_id).config._fields) - _POOL_KEYS
    if "use_contact_force" in accepted:
        accepted.add("include_cfrc_ext_in_observation")  # translated by envpool_kwargs
    return frozenset(accepted)


def resolve_backend(backend: str, env_id: str, kwargs: dict | None = None, body: str | None = None) -> str:
    """The concrete backend, ``"gymnasium"`` or ``"envpool"``, for a requested one.

    EnvPool cannot load a body of one's own (``body``, an XML text): such a
    task runs on gymnasium under ``"auto"`` and is refused under ``"envpool"``.

    Raises
    ------
    ValueError
        ``backend`` not in :data:`BACKENDS`, or ``"envpool"`` requested for a
        task or keyword argument EnvPool does not support (the message names it).
    """
    if backend not in BACKENDS:
        raise ValueError(f"env.backend: expected one of {BACKENDS}, got {backend!r}")
    if backend == "gymnasium":
        return "gymnasium"
    if body is not None:
        if backend == "envpool":
            raise ValueError(
                "env.backend = 'envpool': EnvPool cannot load a body from env.xml_file; fix: set "
                "env.backend = 'auto' or 'gymnasium'"
            )
        return "gymnasium"
    problem = envpool_problem(env_id, kwargs)
    if problem is None:
        return "envpool"
    if backend == "envpool":
        raise ValueError(
            f"env.backend = 'envpool': {problem}; fix: set env.backend = 'auto' (EnvPool "
            "where it can, else gymnasium) or 'gymnasium'"
        )
    return "gymnasium"


#: The bodies whose ground contact a gait descriptor reads, per environment family (the feet of QDax's
#: ``*_uni`` tasks: one for the hopper, two for the walker and the half-cheetah).
FEET = {"Hopper": ("foot",), "Walker2d": ("foot", "foot_left"), "HalfCheetah": ("bfoot", "ffoot")}


def feet_of(env_id: str) -> tuple[str, ...]:
    """The feet of ``env_id`` (e.g. ``Walker2d-v5``: ``("foot", "foot_left")``), or one ValueError."""
    family = env_id.split("-v")[0]
    if family not in FEET:
        raise ValueError(
            f"search.map_elites.descriptors: 'gait' needs a body with known feet ({', '.join(FEET)}), "
            f"got env.id = {env_id!r}; use a layout descriptor for this task"
        )
    return FEET[family]


#: The environment families whose ``data.qpos[:2]`` is the torso's x-y position: their first joint is the
#: torso's free joint (Ant-v5, Humanoid-v5 and our spatial_snn/Hexapod-v0; checked again on the loaded model).
TORSO_XY = ("Ant", "Humanoid", "spatial_snn/Hexapod")


def check_torso_xy(env_id: str) -> None:
    """One ValueError unless ``env_id`` is of a family in :data:`TORSO_XY`."""
    if env_id.split("-v")[0] not in TORSO_XY:
        raise ValueError(
            f"search.map_elites.descriptors: 'final_xy' needs a body whose qpos[:2] is the torso's x-y "
            f"({', '.join(TORSO_XY)}), got env.id = {env_id!r}; use gait or a layout descriptor for this task"
        )


def _check_free_root(env) -> None:
    """One ValueError unless the model's first joint is a free joint at ``qpos[0]`` (its x, y, z come first)."""
    import mujoco

    model = env.unwrapped.model
    if model.njnt == 0 or model.jnt_type[0] != mujoco.mjtJoint.mjJNT_FREE or model.jnt_qposadr[0] != 0:
        raise ValueError("final_xy: the body's first joint is not a free joint, so qpos[:2] is not the torso's x-y")


def _foot_ids(env, feet: tuple[str, ...]) -> np.ndarray:
    """The MuJoCo body ids of ``feet`` in ``env``'s model, or one ValueError naming a missing body."""
    import mujoco

    model = env.unwrapped.model
    ids = np.array([mujoco.mj_name2id(model, mujoco.mjtObj.mjOBJ_BODY, f) for f in feet], np.int64)
    if np.any(ids < 0):
        raise ValueError(f"gait: the body has no body named {feet[int(np.argmin(ids))]!r}")
    return ids


def _foot_contacts(env, ids: np.ndarray) -> np.ndarray:
    """(len(ids),) bool: whether each foot body touches the world body (the floor) in the current MuJoCo state."""
    model, data = env.unwrapped.model, env.unwrapped.data
    n = data.ncon
    b1 = model.geom_bodyid[data.contact.geom1[:n]]
    b2 = model.geom_bodyid[data.contact.geom2[:n]]
    return np.array([bool(np.any(((b1 == f) & (b2 == 0)) | ((b2 == f) & (b1 == 0)))) for f in ids])


class GymBatch:
    """B gymnasium environments of this process, stepped one by one."""

    def __init__(self, envs: list, seeds: Sequence[int]):
        self.envs = envs
        self.seeds = [int(s) for s in seeds]
        self._feet: dict[tuple, np.ndarray] = {}
        self._free_root = False
        self.action_space = envs[0].action_space
        self.observation_space = envs[0].observation_space

    def reset(self) -> np.ndarray:
        """(B, obs_dim) float64 first observations; environment b reset with ``seeds[b]``."""
        return np.stack([env.reset(seed=s)[0] for env, s in zip(self.envs, self.seeds, strict=True)]).astype(np.float64)

    def step(self, actions: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step environments ``idx`` (k,) with ``actions`` (k, ...); (obs (k, obs_dim), reward (k,), done (k,))."""
        obs = np.empty((len(idx), *self.observation_space.shape))
        reward = np.empty(len(idx))
        done = np.empty(len(idx), bool)
        for j, b in enumerate(idx):
            o, r, terminated, truncated, _ = self.envs[b].step(actions[j])
            obs[j], reward[j], done[j] = o, r, terminated or truncated
        return obs, reward, done

    def contacts(self, idx: np.ndarray, feet: tuple[str, ...]) -> np.ndarray:
        """(k, len(feet)) bool: which feet of environments ``idx`` touch the floor now (MuJoCo's contacts)."""
        if not len(idx):
            return np.zeros((0, len(feet)), bool)
        if feet not in self._feet:  # one model per batch: the ids are looked up once
            self._feet[feet] = _foot_ids(self.envs[0], feet)
        return np.stack([_foot_contacts(self.envs[b], self._feet[feet]) for b in idx])

    def positions(self, idx: np.ndarray) -> np.ndarray:
        """(k, 2) float64: the torso x-y (``data.qpos[:2]``, a free root joint) of environments ``idx`` now."""
        if not self._free_root:  # one model per batch: checked once
            _check_free_root(self.envs[0])
            self._free_root = True
        return np.array([self.envs[b].unwrapped.data.qpos[:2] for b in idx], np.float64).reshape(len(idx), 2)

    def close(self) -> None:
        """Nothing to release: the environments stay in this process's cache."""


def _as_gymnasium(space):
    """EnvPool's Box actions are float64 where gymnasium's MuJoCo tasks use float32:
    decode into float32 on both backends, so a genome's actions are the same numbers."""
    from gymnasium import spaces

    if isinstance(space, spaces.Box) and space.dtype == np.float64:
        return spaces.Box(space.low.astype(np.float32), space.high.astype(np.float32), space.shape, np.float32)
    return space


class EnvPoolBatch:
    """One EnvPool batch of B environments, environment b seeded ``seeds[b]``.

    ``threads`` is EnvPool's own thread count (1 in a worker process: the
    parallelism is across processes).
    """

    def __init__(
        self, env_id: str, kwargs: dict | None, max_episode_steps: int | None, seeds: Sequence[int], threads: int = 1
    ):
        import envpool
        from gymnasium import spaces

        seeds = [int(s) for s in seeds]
        limit = {} if max_episode_steps is None else {"max_episode_steps": int(max_episode_steps)}
        with warnings.catch_warnings():  # EnvPool's spaces warn about float64 bounds cast to float32
            warnings.simplefilter("ignore", UserWarning)
            kwargs, hidden = split_hidden(kwargs)
            kwargs, self._keep = envpool_kwargs(env_id, kwargs)
            self.pool = envpool.make_gymnasium(
                env_id,
                num_envs=len(seeds),
                batch_size=len(seeds),
                num_threads=int(threads),
                env_seed=seeds,
                **kwargs,
                **limit,
            )
            self.action_space = _as_gymnasium(self.pool.action_space)
            space = self.pool.observation_space
            if self._keep is not None:
                space = spaces.Box(space.low[: self._keep], space.high[: self._keep], (self._keep,), space.dtype)
            # the visible columns (hide_obs), as gymnasium's HiddenObservations keeps them; None: all
            self._cols = visible_columns(space.shape[0], hidden) if hidden else None
            if self._cols is not None:
                space = spaces.Box(space.low[self._cols], space.high[self._cols], (self._cols.size,), space.dtype)
            self.observation_space = space
        self._where = np.empty(len(seeds), np.int64)  # scratch: row of each env id in a reply
        self.last_info: dict = {}

    def _aligned(self, env_ids: np.ndarray, idx: np.ndarray) -> np.ndarray | None:
        """Rows that put a reply for ``env_ids`` in the order of ``idx`` (None: already in order)."""
        if np.array_equal(env_ids, idx):
            return None
        self._where[env_ids] = np.arange(len(env_ids))
        return self._where[idx]

    def reset(self) -> np.ndarray:
        """(B, obs_dim) float64 first observations, in environment order."""
        obs, info = self.pool.reset()
        rows = self._aligned(info["env_id"], np.arange(len(obs)))
        obs = self._visible(np.asarray(obs[:, : self._keep], np.float64))
        return obs if rows is None else obs[rows]

    def _visible(self, obs: np.ndarray) -> np.ndarray:
        return obs if self._cols is None else obs[:, self._cols]

    def step(self, actions: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Step environments ``idx`` (k,) only, in one call; as :meth:`GymBatch.step`."""
        obs, reward, terminated, truncated, info = self.pool.step(actions, env_id=idx.astype(np.int32))
        self.last_info = info  # EnvPool's info of this step, in its reply order (info["env_id"])
        done = terminated | truncated
        rows = self._aligned(info["env_id"], idx)
        if rows is not None:
            obs, reward, done = obs[rows], reward[rows], done[rows]
        return self._visible(np.asarray(obs[:, : self._keep], np.float64)), np.asarray(reward, np.float64), done

    def close(self) -> None:
        self.pool.close()


_GYM_ENVS: dict[tuple, list] = {}  # per-process gymnasium environments, kept across rollouts


def make_batch(
    backend: str,
    env_id: str,
    kwargs: dict | None,
    max_episode_steps: int | None,
    seeds: Sequence[int],
    threads: int = 1,
    body: str | None = None,
) -> GymBatch | EnvPoolBatch:
    """An environment batch of ``len(seeds)`` episodes on a resolved backend.

    Parameters
    ----------
    backend : {"gymnasium", "envpool"}
        As returned by :func:`resolve_backend`.
    seeds : (B,) int
        Episode b's seed.
    threads : int
        EnvPool's thread count (ignored by gymnasium).
    body : str, optional
        A body's XML text (gymnasium only: :func:`resolve_backend` never picks EnvPool for one).
    """
    if backend == "envpool":
        if body is not None:
            raise ValueError("backend 'envpool' cannot load a body's XML; use 'gymnasium'")
        return EnvPoolBatch(env_id, kwargs, max_episode_steps, seeds, threads)
    if backend != "gymnasium":
        raise ValueError(
            f"backend: expected 'gymnasium' or 'envpool' (resolve 'auto' with resolve_backend), got {backend!r}"
        )
    key = (env_id, repr(sorted((kwargs or {}).items())), max_episode_steps, body_key(body))
    pool = _GYM_ENVS.setdefault(key, [])
    while len(pool) < len(seeds):
        pool.append(make_env(env_id, kwargs, max_episode_steps, body))
    return GymBatch(pool[: len(seeds)], seeds)
