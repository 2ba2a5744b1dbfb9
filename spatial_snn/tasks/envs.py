"""Gymnasium environments: creation, supported spaces and observation bounds.

Environments are made through :func:`gymnasium.make` from an id and keyword
arguments and are seeded only through ``reset(seed=...)`` (Gymnasium's
seeding contract). An unknown id is a :class:`ValueError` naming the closest
registered ids; Gymnasium's own errors (a missing MuJoCo, wrong keyword
arguments) are re-raised with a one-line fix.

Supported spaces
----------------
* observation: :class:`~gymnasium.spaces.Box` with a 1-D shape ``(obs_dim,)``
  and a numeric (float or integer) dtype;
* action: :class:`~gymnasium.spaces.Discrete` (one output unit per action) or
  :class:`~gymnasium.spaces.Box` with a 1-D shape ``(act_dim,)``.

Images (``Box`` with two or more axes), ``Dict``, ``Tuple``, ``MultiDiscrete``,
``MultiBinary``, ``Text`` and ``Graph`` spaces are rejected.

Hidden observation entries (partial observability)
--------------------------------------------------
The keyword argument ``hide_obs`` (a list of observation indices, the
scenario's ``[env] hide_obs``) is read by :func:`make_env` itself, never
passed to the environment: the environment is wrapped in
:class:`HiddenObservations`, which drops those entries from every
observation and from the observation space (so the encoder, the bounds and
the network see only the rest). EnvPool batches drop the same columns
(:mod:`.backends`). Everything that makes an environment from a task's
keyword arguments (training, tests, replay, report, recording, NIR traces)
therefore sees the same partial observations. CartPole without velocities is
``hide_obs = [1, 3]``; Pendulum-v1 without angular velocity ``[2]``.

Observation bounds
------------------
The reference encoder scales each observation dimension ``x_d`` by bounds
``(low_d, high_d)``. Where the observation space is finite these are its
bounds; elsewhere they are symmetric, as in the published method,

    high_d = -low_d = max |x_d|   over random-action rollouts,

with actions drawn from ``action_space`` seeded once with ``seed`` and resets
``reset(seed=seed + k)`` for episode ``k``, so that the estimate depends only on
``seed``. A space bound with ``|bound| >= 1e10`` (e.g. ``float32`` max used as
"unbounded") counts as infinite. A dimension never seen away from zero
(``max |x_d| < 1e-6``) gets the bound 1 rather than a near-zero divisor.
"""

from __future__ import annotations

import difflib
import importlib
import sys

import gymnasium
import numpy as np
from gymnasium import spaces
from gymnasium.envs.registration import find_highest_version

from . import memory
from .bodies import body_file, register_ours

# our own environments (SpatialSNN/CueDelay-v0, spatial_snn/Hexapod-v0) exist in every process that makes one
memory.register()
register_ours()

#: Space bounds at or beyond this magnitude count as infinite.
HUGE_BOUND = 1e10
#: Smallest estimated bound; dimensions below it get the bound 1.
MIN_BOUND = 1e-6

#: The keyword argument of :func:`make_env` that hides observation entries.
HIDE_OBS = "hide_obs"

SUPPORTED_SPACES = (
    "supported spaces: observation Box with a 1-D shape (obs_dim,) and a float or integer "
    "dtype; action Discrete(n) or Box with a 1-D shape (act_dim,)"
)


def make_env(
    env_id: str, kwargs: dict | None = None, max_episode_steps: int | None = None, body: str | None = None
) -> gymnasium.Env:
    """Make a gymnasium environment and check that its spaces are supported.

    Parameters
    ----------
    env_id : str
        A registered id such as ``"Hopper-v5"`` (``"module:Id"`` imports the
        module first, as in :func:`gymnasium.make`).
    kwargs : dict, optional
        Keyword arguments for the environment's constructor.
    max_episode_steps : int, optional
        Episode cap (a ``TimeLimit``); ``None`` keeps the registered one
        (500 for CartPole-v1, 1000 for the MuJoCo tasks).
    body : str, optional
        A MuJoCo body's XML **text** (:mod:`.bodies`); it reaches the
        environment as ``xml_file``, a private copy of the text.

    Returns
    -------
    gymnasium.Env

    Raises
    ------
    ValueError
        Unknown id (names close matches) or unsupported spaces.
    gymnasium.error.DependencyNotInstalled, TypeError
        Re-raised from gymnasium with the fix appended.
    """
    spec = _find_spec(env_id)
    kwargs, hidden = split_hidden(kwargs)
    kwargs = dict(kwargs or {})
    if body is not None:
        kwargs["xml_file"] = body_file(body)
    if "mujoco" in str(spec.entry_point):
        quiet_mujoco_warnings()
    try:
        env = gymnasium.make(env_id, max_episode_steps=max_episode_steps, **kwargs)
    except (gymnasium.error.DependencyNotInstalled, ImportError) as err:
        raise type(err)(f"cannot make {env_id!r}: {err}; fix: {_install_hint(spec)}") from err
    except TypeError as err:
        raise TypeError(
            f"cannot make {env_id!r} with kwargs {kwargs!r}: {err}; fix: pass only keyword "
            f"arguments accepted by {spec.entry_point}"
        ) from err
    try:
        check_spaces(env.observation_space, env.action_space)
        if hidden:
            env = HiddenObservations(env, hidden)
    except ValueError as err:
        env.close()
        raise ValueError(f"{env_id!r}: {err}") from None
    return env


def split_hidden(kwargs: dict | None) -> tuple[dict, tuple[int, ...]]:
    """``kwargs`` without ``hide_obs``, and the hidden indices (sorted, distinct; () for none)."""
    kwargs = dict(kwargs or {})
    hidden = kwargs.pop(HIDE_OBS, None)
    if hidden is None:
        return kwargs, ()
    if not isinstance(hidden, list | tuple) or not all(
        isinstance(k, int | np.integer) and not isinstance(k, bool) and k >= 0 for k in hidden
    ):
        raise ValueError(f"hide_obs: expected a list of observation indices >= 0, got {hidden!r}")
    if len(set(hidden)) != len(hidden):
        raise ValueError(f"hide_obs: expected distinct observation indices, got {list(hidden)}")
    return kwargs, tuple(sorted(int(k) for k in hidden))


def visible_columns(obs_dim: int, hidden) -> np.ndarray:
    """Indices of the observation entries left visible when ``hidden`` are hidden, (k,) int64."""
    hidden = tuple(hidden)
    if hidden and max(hidden) >= obs_dim:
        raise ValueError(
            f"hide_obs: expected indices in 0..{obs_dim - 1} (the observation has {obs_dim} entries), got {max(hidden)}"
        )
    keep = np.setdiff1d(np.arange(obs_dim), hidden)
    if keep.size == 0:
        raise ValueError(f"hide_obs: hides all {obs_dim} observation entries; leave at least one visible")
    return keep


class HiddenObservations(gymnasium.ObservationWrapper):
    """An environment whose observations lack the entries ``hidden`` (a POMDP of it).

    ``observation(obs) = obs[keep]`` with ``keep`` the other indices in
    ascending order; the observation space is the Box of those entries.
    """

    def __init__(self, env: gymnasium.Env, hidden):
        super().__init__(env)
        space = env.observation_space
        self.hidden = tuple(hidden)
        self.keep = visible_columns(space.shape[0], self.hidden)
        self.observation_space = spaces.Box(space.low[self.keep], space.high[self.keep], (self.keep.size,), space.dtype)

    def observation(self, observation):
        return np.asarray(observation)[self.keep]


#: MuJoCo warnings that say nothing to our users, by a fragment of their text: gymnasium's
#: half_cheetah.xml sets the compiler attribute ``settotalmass``, deprecated since MuJoCo 3.3,
#: so every HalfCheetah environment made printed it (and broke the progress bar).
SILENCED_MUJOCO_WARNINGS = ("compiler attribute 'settotalmass' is deprecated",)


def _mujoco_warning(message: str) -> None:
    """MuJoCo's warning handler: drop :data:`SILENCED_MUJOCO_WARNINGS`, print the others as MuJoCo does."""
    if not any(fragment in message for fragment in SILENCED_MUJOCO_WARNINGS):
        print(f"WARNING: {message}", file=sys.stderr, flush=True)


def quiet_mujoco_warnings() -> None:
    """Install :func:`_mujoco_warning` as MuJoCo's warning handler, unless one is set already.

    MuJoCo prints warnings from C (to the process's stderr, past Python's
    ``warnings`` filters); its ``mju_user_warning`` hook is the one place to
    filter them. Called by :func:`make_env` before making a MuJoCo
    environment, so it holds in worker processes too.
    """
    import mujoco

    if mujoco.get_mju_user_warning() is None:
        mujoco.set_mju_user_warning(_mujoco_warning)


def _find_spec(env_id: str):
    """The registered spec of ``env_id``, or a ValueError naming close matches."""
    if not isinstance(env_id, str) or not env_id:
        raise ValueError(f"environment id must be a non-empty string, got {env_id!r}")
    if ":" in env_id:  # "module:Id" -- import the module that registers the id, as gymnasium.make does
        module, _, _ = env_id.partition(":")
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ValueError(f"unknown environment {env_id!r}: cannot import module {module!r} ({err})") from None
        env_id = env_id.partition(":")[2]
    try:
        return gymnasium.spec(env_id)
    except (gymnasium.error.UnregisteredEnv, gymnasium.error.DeprecatedEnv) as err:
        name = env_id.split(":")[-1]
        close = difflib.get_close_matches(name, list(gymnasium.registry), n=5, cutoff=0.6)
        hint = f"close matches: {', '.join(close)}" if close else "no close match"
        raise ValueError(f"unknown environment {env_id!r}; {hint}; see gymnasium.registry ({err})") from None


def _install_hint(spec) -> str:
    """One-line fix for a missing dependency: a newer version, or the gymnasium extra."""
    latest = find_highest_version(spec.namespace, spec.name)
    if latest is not None and spec.version is not None and latest > spec.version:
        newest = f"{spec.namespace}/{spec.name}" if spec.namespace else spec.name
        return f"use {newest}-v{latest}"
    parts = spec.entry_point.split(".") if isinstance(spec.entry_point, str) else []
    if len(parts) > 2 and parts[:2] == ["gymnasium", "envs"]:
        return f'pip install "gymnasium[{parts[2]}]"'
    return f"install the package that provides {spec.entry_point}"


def check_spaces(observation_space: spaces.Space, action_space: spaces.Space) -> None:
    """Raise ValueError unless the spaces are supported (see module docstring).

    Parameters
    ----------
    observation_space : gymnasium.spaces.Space
        Must be a ``Box`` of shape ``(obs_dim,)``, float or integer dtype.
    action_space : gymnasium.spaces.Space
        Must be ``Discrete`` or a ``Box`` of shape ``(act_dim,)``.
    """
    obs = observation_space
    if not isinstance(obs, spaces.Box):
        raise ValueError(f"unsupported observation space {obs}; {SUPPORTED_SPACES}")
    if len(obs.shape) != 1 or obs.shape[0] < 1:
        what = "an image" if len(obs.shape) >= 2 else "not 1-D"
        raise ValueError(
            f"unsupported observation space {obs} ({what}: shape {obs.shape}, expected (obs_dim,)); {SUPPORTED_SPACES}"
        )
    if not (np.issubdtype(obs.dtype, np.floating) or np.issubdtype(obs.dtype, np.integer)):
        raise ValueError(f"unsupported observation dtype {obs.dtype} in {obs}; {SUPPORTED_SPACES}")
    act = action_space
    if isinstance(act, spaces.Discrete):
        return
    if isinstance(act, spaces.Box) and len(act.shape) == 1 and act.shape[0] >= 1:
        return
    raise ValueError(f"unsupported action space {act}; {SUPPORTED_SPACES}")


def observation_size(space: spaces.Space) -> int:
    """Number of observation dimensions ``obs_dim`` of a supported observation space."""
    if not isinstance(space, spaces.Box) or len(space.shape) != 1:
        raise ValueError(f"expected an observation Box of shape (obs_dim,), got {space}")
    return int(space.shape[0])


def action_kind(space: spaces.Space) -> str:
    """``"discrete"`` for ``Discrete``, ``"continuous"`` for a 1-D ``Box``."""
    if isinstance(space, spaces.Discrete):
        return "discrete"
    if isinstance(space, spaces.Box) and len(space.shape) == 1:
        return "continuous"
    raise ValueError(f"unsupported action space {space}; {SUPPORTED_SPACES}")


def _finite_mask(space: spaces.Box) -> np.ndarray:
    """(obs_dim,) bool: True where both space bounds are finite and not huge."""
    low = np.asarray(space.low, dtype=np.float64)
    high = np.asarray(space.high, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        return (np.abs(low) < HUGE_BOUND) & (np.abs(high) < HUGE_BOUND)


def _space_bounds(space: spaces.Box) -> tuple[np.ndarray, np.ndarray]:
    """Space bounds as float64; a degenerate range ``low == high`` is widened by 1."""
    low = np.array(space.low, dtype=np.float64)
    high = np.array(space.high, dtype=np.float64)
    flat = (high - low) < 2 * MIN_BOUND
    low[flat] -= 1.0
    high[flat] += 1.0
    return low, high


def estimate_bounds(
    env_id: str,
    kwargs: dict | None = None,
    *,
    episodes: int = 10,
    steps: int = 1000,
    seed: int = 0,
    env: gymnasium.Env | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Observation bounds from random-action rollouts, as in the published method.

    ``high_d = -low_d = max |x_d|`` over every observation (including the reset
    one) of ``episodes`` episodes of at most ``steps`` steps with uniformly
    random actions; where the observation space is finite, its bounds replace
    the estimate (per dimension). Non-finite observations are ignored and end
    their episode.

    Parameters
    ----------
    env_id, kwargs
        As for :func:`make_env`.
    episodes : int
        Rollouts; episode ``k`` starts from ``reset(seed=seed + k)``.
    steps : int
        Step cap per rollout (the environment's own limit also applies).
    seed : int
        Seeds the resets and, once, the action space: same seed, same bounds.
    env : gymnasium.Env, optional
        ``make_env(env_id, kwargs)`` made by the caller, used instead of a new
        one and left open (every episode is reseeded, so the bounds are the same).

    Returns
    -------
    low, high : (obs_dim,) float64
        ``low < high`` in every dimension; ``max |x_d| < 1e-6`` gives ``(-1, 1)``.
    """
    if int(episodes) < 1 or int(steps) < 1:
        raise ValueError(f"episodes and steps must be >= 1, got {episodes} and {steps}")
    own = env is None
    if own:
        env = make_env(env_id, kwargs)
    try:
        space = env.observation_space
        peak = np.zeros(space.shape, dtype=np.float64)
        env.action_space.seed(int(seed))
        for k in range(int(episodes)):
            obs, _ = env.reset(seed=int(seed) + k)
            if not _accumulate(peak, obs):
                continue
            for _ in range(int(steps)):
                obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
                if not _accumulate(peak, obs) or terminated or truncated:
                    break
    finally:
        if own:
            env.close()
    bound = np.where(peak < MIN_BOUND, 1.0, peak)
    low, high = -bound, bound.copy()
    finite = _finite_mask(space)
    space_low, space_high = _space_bounds(space)
    low[finite] = space_low[finite]
    high[finite] = space_high[finite]
    return low, high


def _accumulate(peak: np.ndarray, obs) -> bool:
    """``peak = max(peak, |obs|)`` in place; False (and no update) if obs is not finite."""
    x = np.abs(np.asarray(obs, dtype=np.float64))
    if not np.all(np.isfinite(x)):
        return False
    np.maximum(peak, x, out=peak)
    return True


def observation_bounds(
    env_id: str,
    kwargs: dict | None,
    space: spaces.Box,
    *,
    seed: int = 0,
    episodes: int = 10,
    steps: int = 1000,
    env: gymnasium.Env | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Encoder bounds: the space's where finite, else :func:`estimate_bounds`.

    No rollout is run when every dimension of ``space`` is finite;
    ``seed``, ``episodes``, ``steps`` and ``env`` are passed to :func:`estimate_bounds`.

    Returns
    -------
    low, high : (obs_dim,) float64
    """
    observation_size(space)
    if np.all(_finite_mask(space)):
        return _space_bounds(space)
    low, high = estimate_bounds(env_id, kwargs, episodes=episodes, steps=steps, seed=seed, env=env)
    if low.shape != space.shape:
        raise ValueError(
            f"{env_id!r} observations have shape {low.shape}, expected {space.shape} from "
            "the given space; pass the environment's own observation_space"
        )
    return low, high
