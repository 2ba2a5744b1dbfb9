"""Tasks that need memory: hidden observation entries (any task) and the cue-delay task."""

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.tasks.backends import envpool_problem, make_batch
from spatial_snn.tasks.envs import make_env
from spatial_snn.tasks.evaluation import task_from_meta, task_meta
from spatial_snn.tasks.memory import CUE_DELAY_ID


# ------------------------------------------------------------- hidden entries
def _episode(env, seed: int, steps: int = 30) -> np.ndarray:
    obs = [env.reset(seed=seed)[0]]
    for t in range(steps):
        o, _, terminated, truncated, _ = env.step(t % 2)
        obs.append(o)
        if terminated or truncated:
            break
    return np.array(obs)


def test_hidden_entries_are_dropped_from_observations_and_space():
    full = _episode(make_env("CartPole-v1"), seed=4)
    env = make_env("CartPole-v1", {"hide_obs": [3, 1]})
    np.testing.assert_array_equal(_episode(env, seed=4), full[:, [0, 2]])
    space = make_env("CartPole-v1").observation_space
    assert env.observation_space.shape == (2,)
    np.testing.assert_array_equal(env.observation_space.high, space.high[[0, 2]])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"hide_obs": [4]}, r"expected indices in 0\.\.3 \(the observation has 4 entries\), got 4"),
        ({"hide_obs": [0, 1, 2, 3]}, "hides all 4 observation entries"),
        ({"hide_obs": [1, 1]}, "distinct"),
        ({"hide_obs": "1"}, "a list of observation indices"),
    ],
)
def test_bad_hidden_entries_are_one_error(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_env("CartPole-v1", kwargs)


def test_envpool_drops_the_same_columns_as_gymnasium():
    if envpool_problem("CartPole-v1") is not None:
        pytest.skip("EnvPool cannot run CartPole-v1 here")
    assert envpool_problem("CartPole-v1", {"hide_obs": [1, 3]}) is None  # ours, not EnvPool's
    seeds = [3, 8]
    full, part = (
        make_batch("envpool", "CartPole-v1", {}, None, seeds),
        make_batch("envpool", "CartPole-v1", {"hide_obs": [1, 3]}, None, seeds),
    )
    try:
        assert part.observation_space.shape == (2,)
        np.testing.assert_array_equal(part.reset(), full.reset()[:, [0, 2]])
        idx = np.arange(2)
        for t in range(10):
            actions = np.full(2, t % 2)
            np.testing.assert_array_equal(part.step(actions, idx)[0], full.step(actions, idx)[0][:, [0, 2]])
    finally:
        full.close(), part.close()


def test_a_scenario_hides_entries_in_training_tests_and_the_stored_task():
    sc = scenario_from_dict({"env": {"id": "Pendulum-v1", "hide_obs": [2]}, "network": {"substeps": 4}})
    setup = resolve(sc, 2, 0)
    assert setup.task.env_kwargs == {"hide_obs": [2]}
    assert len(setup.task.obs_low) == 2 and setup.task.obs_high == (1.0, 1.0)
    again = task_from_meta(task_meta(setup.task))  # what a genome file stores, and replay reads
    assert make_env(again.env_id, again.env_kwargs).observation_space.shape == (2,)
    plain = resolve(scenario_from_dict({"env": {"id": "Pendulum-v1"}, "network": {"substeps": 4}}), 2, 0)
    assert plain.task.env_kwargs == {} and setup.n_inputs < plain.n_inputs


@pytest.mark.parametrize(
    ("env", "match"),
    [
        ({"hide_obs": [1, -1]}, r"env\.hide_obs: expected a list of observation indices >= 0"),
        ({"kwargs": {"hide_obs": [1]}}, r"hide_obs is a key of \[env\] itself"),
    ],
)
def test_a_scenario_with_bad_hidden_entries_is_one_error(env, match):
    with pytest.raises(ValueError, match=match):
        scenario_from_dict({"env": {"id": "CartPole-v1", **env}})


# ------------------------------------------------------------------ cue-delay
def test_cue_delay_passes_gymnasiums_checker_and_is_fixed_by_the_seed():
    env = make_env(CUE_DELAY_ID)
    check_env(env.unwrapped, skip_render_check=True)
    a, b = _episode(env, seed=7, steps=200), _episode(make_env(CUE_DELAY_ID), seed=7, steps=200)
    np.testing.assert_array_equal(a, b)
    assert len(a) == 10 * 8 + 1  # 10 trials of 2 cue + 5 delay + 1 go steps, plus the reset observation
    assert not np.array_equal(a, _episode(env, seed=8, steps=200))


def _play(env, seed: int, remember: bool) -> float:
    """A policy that remembers the last cue (or always answers 0); the return."""
    obs, _ = env.reset(seed=seed)
    cue, total, done = 0, 0.0, False
    while not done:
        if obs[0] or obs[1]:
            cue = int(obs[1] > 0)
        obs, r, terminated, truncated, _ = env.step(cue if remember else 0)
        total += r
        done = terminated or truncated
    return total


def test_cue_delay_rewards_remembering_the_cue():
    env = make_env(CUE_DELAY_ID, {"trials": 20, "cue_steps": 1, "delay_steps": 3})
    assert [_play(env, s, True) for s in range(5)] == [20.0] * 5
    forgetful = [_play(env, s, False) for s in range(20)]
    assert max(forgetful) < 20 and 7 < np.mean(forgetful) < 13  # chance: 10 of 20


def test_cue_delay_rejects_bad_settings():
    with pytest.raises(ValueError, match="delay_steps: expected an integer >= 0"):
        make_env(CUE_DELAY_ID, {"delay_steps": -1})


def test_cue_delay_scenario_resolves_on_gymnasium():
    sc = scenario_from_dict({"env": {"id": CUE_DELAY_ID}, "network": {"substeps": 4}})
    setup = resolve(sc, 2, 0)
    assert setup.task.backend == "gymnasium" and setup.task.obs_low == (0.0, 0.0, 0.0)
    assert setup.n_outputs == 2
