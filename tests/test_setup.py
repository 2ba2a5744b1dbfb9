"""resolve(): one environment per run before generation 0; evolve() and the CLI take the result."""

import dataclasses

import gymnasium
import numpy as np
import pytest

from spatial_snn.cli import main
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import RunSetup, resolve
from spatial_snn.tasks.envs import observation_bounds
from spatial_snn.tasks.evaluation import WorkerPool

# Hopper's observations are unbounded, so its bounds are estimated from rollouts
HOPPER = {
    "name": "hopper-tiny",
    "env": {"id": "Hopper-v5"},
    "network": {"substeps": 2, "n_hidden": 8},
    "evolution": {"population": 4, "generations": 1},
    "protocol": {"episodes": 1, "test_episodes": 1, "bounds_episodes": 2},
}
CARTPOLE = {
    "name": "cartpole-tiny",
    "env": {"id": "CartPole-v1"},
    "network": {"substeps": 2},
    "evolution": {"population": 4, "generations": 2},
    "protocol": {"episodes": 1, "test_episodes": 2},
}


@pytest.fixture
def events(monkeypatch):
    """Every environment construction and evaluation, in order."""
    seen = []
    make, run = gymnasium.make, WorkerPool.run

    def counting_make(env_id, *args, **kwargs):
        seen.append(("make", env_id))
        return make(env_id, *args, **kwargs)

    def marked_run(self, *args, **kwargs):
        seen.append(("evaluate", None))
        return run(self, *args, **kwargs)

    monkeypatch.setattr(gymnasium, "make", counting_make)
    monkeypatch.setattr(WorkerPool, "run", marked_run)
    return seen


def _before_generation_0(events):
    return events[: events.index(("evaluate", None))]


def test_resolve_builds_one_environment_and_estimates_the_bounds_once(events):
    setup = resolve(HOPPER, dim=3, seed=1)
    assert events == [("make", "Hopper-v5")]
    sc = scenario_from_dict(HOPPER)
    assert setup.spec == sc.network.spec(3) and (setup.dim, setup.seed) == (3, 1)
    assert (setup.n_inputs, setup.n_outputs) == (11, 3)  # Hopper: 11 observations, 3 actuators
    # the bounds are those a fresh environment gives for the same seed
    env = gymnasium.make("Hopper-v5")
    low, high = observation_bounds("Hopper-v5", {}, env.observation_space, seed=1, episodes=2)
    env.close()
    np.testing.assert_array_equal(setup.task.obs_low, low)
    np.testing.assert_array_equal(setup.task.obs_high, high)


def test_resolve_with_given_bounds_keeps_them(events):
    low, high = -np.arange(1, 12.0), np.arange(1, 12.0)
    setup = resolve(HOPPER, bounds=(low, high))
    assert events == [("make", "Hopper-v5")]
    assert setup.task.obs_low == tuple(low) and setup.task.obs_high == tuple(high)


def test_evolve_builds_each_environment_once_before_generation_0(events):
    evolve(scenario_from_dict(HOPPER), seed=0, workers=1)
    assert _before_generation_0(events) == [("make", "Hopper-v5")]


def test_the_cli_resolves_once_and_evolve_takes_the_setup(events, tmp_path):
    toml = tmp_path / "tiny.toml"
    toml.write_text(
        'name = "tiny"\n[env]\nid = "Hopper-v5"\n[network]\nsubsteps = 2\nn_hidden = 8\n'
        "[evolution]\npopulation = 4\ngenerations = 1\n"
        "[protocol]\nepisodes = 1\ntest_episodes = 1\nbounds_episodes = 2\n"
    )
    assert main(["evolve", str(toml), "--workers", "1", "--out", str(tmp_path / "run.h5")]) == 0
    assert _before_generation_0(events) == [("make", "Hopper-v5")]


def test_a_resumed_run_builds_one_environment_and_keeps_its_stored_bounds(events, tmp_path):
    path = tmp_path / "run.h5"
    first = evolve(scenario_from_dict(CARTPOLE), seed=2, workers=1, generations=1, archive=path)
    events.clear()
    whole = evolve(scenario_from_dict(CARTPOLE), seed=2, workers=1, archive=path, resume=True)
    assert _before_generation_0(events) == [("make", "CartPole-v1")]
    assert len(whole.history["generation"]) == 2 and whole.history["best"][0] == first.history["best"][0]


def test_evolve_takes_a_setup_and_refuses_another_dim_or_seed():
    setup = resolve(CARTPOLE, dim=1, seed=3)
    assert isinstance(setup, RunSetup)
    res = evolve(setup, workers=1, generations=1)
    assert (res.dim, res.seed) == (1, 3)
    assert res.champion.positions.shape[1] == 1
    for kwargs, name in (({"dim": 2}, "dim"), ({"seed": 4}, "seed")):
        with pytest.raises(ValueError, match=f"{name}: the RunSetup was resolved for {name}"):
            evolve(setup, workers=1, generations=1, **kwargs)


def test_same_history_from_a_setup_as_from_the_scenario():
    a = evolve(resolve(CARTPOLE, dim=2, seed=5), workers=1)
    b = evolve(scenario_from_dict(CARTPOLE), dim=2, seed=5, workers=1)
    for key in ("best", "mean", "test", "env_steps"):
        np.testing.assert_array_equal(a.history[key], b.history[key], err_msg=key)


@pytest.mark.parametrize("dim", [0, 4, 2.5, True])
def test_resolve_rejects_a_bad_dimension(dim):
    with pytest.raises(ValueError, match="dim: expected 1, 2 or 3"):
        resolve(CARTPOLE, dim=dim)


@pytest.mark.parametrize("seed", [-1, 1.5, "0", True, 2**32])
def test_resolve_rejects_a_bad_seed(seed):
    with pytest.raises(ValueError, match=r"seed: expected an integer in 0\.\.4294967295"):
        resolve(CARTPOLE, seed=seed)


def test_resolve_names_close_matches_of_an_unknown_environment():
    with pytest.raises(ValueError, match="CartPole-v1"):
        resolve({"env": {"id": "CartPol-v1"}})


def test_with_bounds_checks_the_observation_size():
    setup = resolve(CARTPOLE, check=False)
    moved = setup.with_bounds(-np.ones(4), np.ones(4))
    assert moved.task.obs_high == (1.0,) * 4 and moved.spec == setup.spec
    assert dataclasses.replace(moved.task, obs_low=setup.task.obs_low, obs_high=setup.task.obs_high) == setup.task
    with pytest.raises(ValueError, match="expected 4 values each"):
        setup.with_bounds(-np.ones(3), np.ones(3))
