"""Environment creation, supported spaces and observation bounds."""

import gymnasium
import numpy as np
import pytest
from gymnasium import spaces

from spatial_snn.tasks.envs import (
    action_kind,
    check_spaces,
    estimate_bounds,
    make_env,
    observation_bounds,
    observation_size,
)

OBS = spaces.Box(-1.0, 1.0, (4,), np.float32)
ACT = spaces.Discrete(2)


@pytest.mark.parametrize(("typo", "expected"), [("CartPol-v1", "CartPole-v1"), ("Hoper-v5", "Hopper-v5")])
def test_unknown_env_id_names_close_matches(typo, expected):
    with pytest.raises(ValueError, match="unknown environment") as info:
        make_env(typo)
    assert expected in str(info.value)
    assert "gymnasium.registry" in str(info.value)


def test_unknown_version_names_existing_versions():
    with pytest.raises(ValueError, match="Hopper-v5"):
        make_env("Hopper-v9")


def test_wrong_kwargs_reraised_with_fix():
    with pytest.raises(TypeError, match="fix: pass only keyword arguments"):
        make_env("CartPole-v1", {"no_such_option": 1})


def test_make_env_keeps_registered_episode_cap_unless_given():
    env = make_env("CartPole-v1")
    assert env.spec.max_episode_steps == 500
    env.close()
    env = make_env("CartPole-v1", max_episode_steps=20)
    assert env.spec.max_episode_steps == 20
    env.close()


@pytest.mark.parametrize(
    ("observation", "action"),
    [
        (spaces.Dict({"a": OBS}), ACT),
        (spaces.Tuple((OBS, OBS)), ACT),
        (spaces.MultiDiscrete([3, 3]), ACT),
        (spaces.MultiBinary(4), ACT),
        (spaces.Box(0, 255, (64, 64, 3), np.uint8), ACT),
        (spaces.Box(-1.0, 1.0, (8, 8), np.float32), ACT),
        (spaces.Box(0, 1, (4,), bool), ACT),
        (OBS, spaces.MultiDiscrete([2, 2])),
        (OBS, spaces.MultiBinary(3)),
        (OBS, spaces.Tuple((ACT, ACT))),
        (OBS, spaces.Dict({"a": ACT})),
        (OBS, spaces.Box(-1.0, 1.0, (2, 2), np.float32)),
    ],
)
def test_unsupported_space_raises_with_supported_list(observation, action):
    with pytest.raises(ValueError, match="supported spaces: observation Box .* action Discrete"):
        check_spaces(observation, action)


@pytest.mark.parametrize(
    "observation",
    [OBS, spaces.Box(-np.inf, np.inf, (11,), np.float64), spaces.Box(0, 255, (128,), np.uint8)],
)
@pytest.mark.parametrize("action", [ACT, spaces.Box(-1.0, 1.0, (3,), np.float32)])
def test_supported_spaces_pass(observation, action):
    check_spaces(observation, action)
    assert observation_size(observation) == observation.shape[0]
    assert action_kind(action) == ("discrete" if isinstance(action, spaces.Discrete) else "continuous")


def test_estimate_bounds_is_deterministic_for_a_seed():
    a = estimate_bounds("CartPole-v1", episodes=3, seed=5)
    b = estimate_bounds("CartPole-v1", episodes=3, seed=5)
    c = estimate_bounds("CartPole-v1", episodes=3, seed=6)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[1], c[1])


def _random_observations(env_id, episodes, steps, seed):
    """Replays the rollouts estimate_bounds is documented to run."""
    env = gymnasium.make(env_id)
    env.action_space.seed(seed)
    seen = []
    for k in range(episodes):
        obs, _ = env.reset(seed=seed + k)
        seen.append(obs)
        for _ in range(steps):
            obs, _, terminated, truncated, _ = env.step(env.action_space.sample())
            seen.append(obs)
            if terminated or truncated:
                break
    env.close()
    return np.array(seen)


def test_estimate_bounds_covers_observed_values_and_uses_finite_space_bounds():
    low, high = estimate_bounds("CartPole-v1", episodes=4, seed=0)
    seen = _random_observations("CartPole-v1", 4, 1000, 0)
    assert np.all(seen >= low) and np.all(seen <= high)
    # the infinite dims (velocities) get +-max|x|, attained by some observation
    for d in (1, 3):
        assert high[d] == -low[d] == pytest.approx(np.abs(seen[:, d]).max())
    # the finite dims (cart position, pole angle) get the space's bounds
    space = gymnasium.make("CartPole-v1").observation_space
    np.testing.assert_allclose(low[[0, 2]], space.low[[0, 2]])
    np.testing.assert_allclose(high[[0, 2]], space.high[[0, 2]])


def test_estimate_bounds_on_hopper_is_symmetric_and_positive():
    low, high = estimate_bounds("Hopper-v5", episodes=2, steps=30, seed=0)
    assert low.shape == high.shape == (11,)
    np.testing.assert_array_equal(low, -high)
    assert np.all(high >= 1e-6)
    seen = _random_observations("Hopper-v5", 2, 30, 0)
    assert np.all(np.abs(seen) <= high)


def test_observation_bounds_uses_finite_space_without_rollouts():
    space = spaces.Box(np.array([-1.2, -0.07]), np.array([0.6, 0.07]), dtype=np.float64)
    # an id that does not exist proves no environment is made
    low, high = observation_bounds("NoSuchEnv-v0", None, space)
    np.testing.assert_array_equal(low, space.low)
    np.testing.assert_array_equal(high, space.high)


def test_observation_bounds_estimates_infinite_dims():
    space = gymnasium.make("CartPole-v1").observation_space
    low, high = observation_bounds("CartPole-v1", None, space, seed=3, episodes=4)
    expected = estimate_bounds("CartPole-v1", seed=3, episodes=4)
    np.testing.assert_array_equal(low, expected[0])
    np.testing.assert_array_equal(high, expected[1])


def _stdout_and_stderr_of(code: str) -> str:
    """Everything a fresh interpreter writes to file descriptors 1 and 2 (C prints included)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout + done.stderr


def test_halfcheetah_makes_no_mujoco_deprecation_warning_on_the_terminal():
    pytest.importorskip("mujoco")
    bare = _stdout_and_stderr_of("import gymnasium; gymnasium.make('HalfCheetah-v5').reset(seed=0)")
    if "settotalmass" not in bare:
        pytest.skip("this gymnasium / MuJoCo pair does not warn about settotalmass")
    ours = _stdout_and_stderr_of(
        "from spatial_snn.tasks.envs import make_env\n"
        "for _ in range(3):\n    make_env('HalfCheetah-v5').reset(seed=0)\nprint('made')"
    )
    assert "made" in ours
    assert "settotalmass" not in ours and "WARNING" not in ours, ours


def test_other_mujoco_warnings_still_reach_stderr(capsys):
    from spatial_snn.tasks.envs import _mujoco_warning

    _mujoco_warning("compiler attribute 'settotalmass' is deprecated and will be removed")
    _mujoco_warning("Nan, Inf or huge value in QACC at DOF 0. The simulation is unstable.")
    err = capsys.readouterr().err
    assert "settotalmass" not in err
    assert err == "WARNING: Nan, Inf or huge value in QACC at DOF 0. The simulation is unstable.\n"
