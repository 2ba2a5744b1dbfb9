"""Bodies of one's own: the hexapod environment, XML checks, stored body text, backends."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.store.controller import load_controller
from spatial_snn.tasks.backends import resolve_backend
from spatial_snn.tasks.bodies import body_file, check_body, load_body
from spatial_snn.tasks.envs import make_env
from spatial_snn.tasks.evaluation import rollout, task_from_meta, task_meta

REPO = Path(__file__).resolve().parents[1]
HEXAPOD = REPO / "bodies" / "hexapod.xml"


def test_hexapod_passes_gymnasium_check_env_and_random_actions_stay_finite():
    env = make_env("spatial_snn/Hexapod-v0")
    assert env.observation_space.shape == (47,) and env.action_space.shape == (18,)
    check_env(env.unwrapped, skip_render_check=True)
    env.reset(seed=0)
    env.action_space.seed(0)
    heights = []
    for _ in range(300):
        obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
        assert np.all(np.isfinite(obs)) and np.isfinite(reward)
        heights.append(obs[0])
        if terminated or truncated:
            break
    assert len(heights) > 50  # random actions do not topple it at once
    assert 0.05 < np.median(heights) < 0.6


def test_hexapod_stands_at_zero_action_and_rewards_forward_progress():
    env = make_env("spatial_snn/Hexapod-v0", {"reset_noise_scale": 0.0, "healthy_reward": 0.0, "ctrl_cost_weight": 0.0})
    env.reset(seed=0)
    for _ in range(100):
        obs, reward, terminated, _, info = env.step(np.zeros(18, np.float32))
    assert not terminated and 0.1 < obs[0] < 0.3  # torso height: standing on its legs
    assert reward == pytest.approx(info["x_velocity"])


def test_contact_forces_are_optional():
    env = make_env("spatial_snn/Hexapod-v0", {"include_cfrc_ext_in_observation": True})
    obs, _ = env.reset(seed=0)
    assert obs.shape == env.observation_space.shape == (47 + 6 * 19,)


def test_missing_or_malformed_body_is_one_line(tmp_path):
    with pytest.raises(ValueError, match="not found") as err:
        load_body(tmp_path / "nothing.xml")
    assert "\n" not in str(err.value)
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body><geom type='sphere'/></worldbody></mujoco>")
    with pytest.raises(ValueError, match="does not compile|not a MuJoCo model") as err:
        load_body(bad)
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="self-contained"):
        check_body('<mujoco><asset><mesh file="leg.stl"/></asset></mujoco>')


def test_body_text_goes_to_a_private_file_not_beside_the_users(tmp_path):
    mine = tmp_path / "mine.xml"
    shutil.copy(HEXAPOD, mine)
    path = body_file(mine.read_text())
    assert Path(path).parent != tmp_path and Path(path).read_text() == mine.read_text()
    assert os.listdir(tmp_path) == ["mine.xml"]
    assert body_file(mine.read_text()) == path  # once per process


def test_a_stock_task_loads_another_body():
    ant = make_env("Ant-v5", {"include_cfrc_ext_in_observation": False}, body=HEXAPOD.read_text())
    assert ant.action_space.shape == (18,) and ant.observation_space.shape == (47,)


def test_envpool_cannot_load_a_body():
    text = HEXAPOD.read_text()
    assert resolve_backend("auto", "Ant-v5", {}, text) == "gymnasium"
    with pytest.raises(ValueError, match="EnvPool cannot load a body"):
        resolve_backend("envpool", "Ant-v5", {}, text)


def _hexapod_scenario(xml_file: str, **env) -> dict:
    return {
        "name": "hex",
        "env": {"id": "spatial_snn/Hexapod-v0", "xml_file": xml_file, "max_episode_steps": 20, **env},
        "network": {"n_hidden": 8, "substeps": 2},
        "decoder": {"kind": "sigmoid"},
        "evolution": {"population": 6, "generations": 2},
        "protocol": {"episodes": 1, "test_every": 1, "test_episodes": 2, "bounds_episodes": 1},
    }


def test_scenario_refuses_a_path_in_kwargs_and_a_bad_file_before_running(tmp_path):
    with pytest.raises(ValueError, match="env.kwargs.xml_file: name the body with env.xml_file"):
        scenario_from_dict(_hexapod_scenario(str(HEXAPOD), kwargs={"xml_file": "x.xml"}))
    with pytest.raises(ValueError, match="env.xml_file: body file .* not found"):
        resolve(scenario_from_dict(_hexapod_scenario(str(tmp_path / "gone.xml"))))
    with pytest.raises(ValueError, match="EnvPool cannot load a body"):
        resolve(scenario_from_dict(_hexapod_scenario(str(HEXAPOD), backend="envpool")))


def test_task_meta_round_trip_keeps_the_body_and_old_metadata_has_none():
    setup = resolve(scenario_from_dict(_hexapod_scenario(str(HEXAPOD))), check=False)
    assert setup.task.body_xml == HEXAPOD.read_text() and setup.task.backend == "gymnasium"
    assert task_from_meta(task_meta(setup.task)) == setup.task
    plain = task_meta(setup.task)
    plain.pop("body_xml")
    assert task_from_meta(plain).body_xml is None


def test_run_resumes_and_replays_from_the_stored_text_without_the_file(tmp_path, monkeypatch):
    body = tmp_path / "body.xml"
    shutil.copy(HEXAPOD, body)
    monkeypatch.chdir(tmp_path)
    sc = scenario_from_dict(_hexapod_scenario("body.xml"))
    first = evolve(sc, seed=1, workers=1, generations=1, archive=tmp_path / "run.h5")
    body.unlink()  # the run goes on, and its champion replays, on another machine without the file
    res = resume(tmp_path / "run.h5", generations=2, workers=1)
    assert len(res.history["best"]) == 2 and res.history["best"][0] == first.history["best"][0]
    genome, task, _ = load_controller(tmp_path / "run.h5")
    assert task.body_xml == HEXAPOD.read_text()
    again = rollout(task, [genome], [5, 6])
    np.testing.assert_array_equal(again.returns, rollout(task, [genome], [5, 6]).returns)
    assert np.all(np.isfinite(again.returns))
