"""Run-time checks of a scenario, and the helpers that open its environment.

:func:`check_run_args` checks the arguments of a run (dimension, seed,
generations, workers) against :data:`~.scenarios.LIMITS`. :func:`check_env`
makes the scenario's environment once, so that a bad id, keyword argument,
missing dependency or body file is one clear error before any evolution
starts (:func:`open_env`, :func:`scenario_body`). :func:`rule_for` resolves a
scenario's connectivity rule in a given dimension.
"""

from __future__ import annotations

import numpy as np

from ..space.rules import ConnectivityRule
from .arguments import check_dim, check_seed
from .scenario_tables import EnvConfig
from .scenarios import LARGE_HINT, LIMITS, Scenario


def check_run_args(
    sc: Scenario, dim: int, seed: int, generations: int | None = None, workers: int | None = None
) -> int:
    """Check the arguments of a run; return its generation count.

    ``generations`` (None: the scenario's) and ``workers`` (None: one per
    core) must be integers >= 1, bounded by :data:`~.scenarios.LIMITS` unless the
    scenario sets ``allow_large``; ``dim`` and ``seed`` as in :mod:`.arguments`.
    """
    check_dim(dim)
    check_seed(seed)
    n_gen = sc.evolution.generations if generations is None else generations
    for name, value in (("generations", n_gen), ("workers", workers)):
        if value is None:
            continue
        if not _is_int(value) or value < 1:
            raise ValueError(f"{name}: expected an integer >= 1, got {value!r}")
        limit = LIMITS["evolution.generations" if name == "generations" else name]
        if value > limit and not sc.allow_large:
            raise ValueError(f"{name}: expected at most {limit:,}, got {value:,}; {LARGE_HINT}")
    return int(n_gen)


def _is_int(value) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_env(env: EnvConfig) -> None:
    """Make the scenario's environment once; any failure becomes one ValueError with its fix.

    Covers an unknown id, a missing dependency (e.g. Box2D for
    ``LunarLander-v3``: the message names the package to install),
    keyword arguments the environment rejects, unsupported spaces, and a
    missing or malformed body file (``env.xml_file``).
    """
    open_env(env.id, env.task_kwargs, env.max_episode_steps, scenario_body(env)).close()


def scenario_body(env: EnvConfig) -> str | None:
    """The text of the scenario's body file (None without ``env.xml_file``); one ValueError if it is bad."""
    from ..tasks.bodies import load_body

    return None if env.xml_file is None else load_body(env.xml_file)


def open_env(env_id: str, kwargs: dict, max_episode_steps: int | None = None, body: str | None = None):
    """``make_env`` with its failures as one ValueError with the fix (see :func:`check_env`)."""
    import gymnasium

    from ..tasks.envs import make_env

    try:
        return make_env(env_id, kwargs, max_episode_steps, body)
    except (TypeError, ImportError, gymnasium.error.Error) as exc:
        raise ValueError(f"env: {' '.join(str(exc).split())}") from None


def rule_for(scenario: Scenario, dim: int, n_inputs: int | None = None) -> ConnectivityRule:
    """The resolved connectivity rule of a scenario in ``dim`` dimensions.

    ``n_inputs`` (the encoder's channel count) is needed when the io length
    is calibrated (``spatial`` preset without ``network.io_length``).
    """
    return scenario.network.spec(dim).resolved_rule(n_inputs)
