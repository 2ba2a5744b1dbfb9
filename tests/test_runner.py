"""evolve(): determinism across worker counts, results, and CartPole solved end to end."""

import numpy as np
import pytest

from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import load_scenario, scenario_from_dict
from spatial_snn.runs.setup import check_scenario


@pytest.fixture
def tiny(tiny_scenario):
    return tiny_scenario(evolution={"population": 12}, protocol={"test_every": 2})


def _history(res):
    """The reproducible part of a history (the clocks are measurements)."""
    return {k: v for k, v in res.history.items() if k not in ("wall_time", "cpu_time")}


def test_same_seed_same_history_and_another_seed_another_history(tiny):
    sc = scenario_from_dict(tiny)
    one, again, other = (evolve(sc, seed=seed, workers=1, generations=2) for seed in (3, 3, 4))
    for k, v in _history(one).items():
        np.testing.assert_array_equal(v, again.history[k], err_msg=k)
    assert not np.array_equal(one.history["mean"], other.history["mean"])


def test_cpu_time_is_recorded_cumulative_and_continued_by_resume(tiny, tmp_path):
    from spatial_snn import open_run, resume

    sc = scenario_from_dict(tiny)
    first = evolve(sc, seed=3, workers=1, generations=2, archive=tmp_path / "run.h5")
    cpu = first.history["cpu_time"]
    assert len(cpu) == 2 and 0 < cpu[0] < cpu[1] and first.cpu_time == cpu[1]
    more = resume(tmp_path / "run.h5", generations=3, workers=1)
    assert more.history["cpu_time"][:2].tolist() == cpu.tolist() and more.history["cpu_time"][2] > cpu[1]
    with open_run(tmp_path / "run.h5") as run:
        np.testing.assert_array_equal(run.history["cpu_time"], more.history["cpu_time"])


@pytest.mark.slow
def test_same_seed_same_history_with_one_or_two_workers(tiny):
    sc = scenario_from_dict(tiny)
    one = evolve(sc, seed=3, workers=1)
    two = evolve(sc, seed=3, workers=2)
    for k, v in _history(one).items():
        np.testing.assert_array_equal(v, two.history[k], err_msg=k)
    # workers' CPU counts: two processes did the rollouts, this one mostly waited
    assert two.cpu_time > 0.5 * one.cpu_time
    assert one.champion.n_synapses == two.champion.n_synapses
    other = evolve(sc, seed=4, workers=1)
    assert not np.array_equal(one.history["mean"], other.history["mean"])


def test_result_reports_history_champion_and_callback(tiny):
    seen = []
    res = evolve(scenario_from_dict(tiny), seed=0, workers=1, callback=seen.append)
    assert [d["generation"] for d in seen] == [0, 1, 2]
    assert res.history["best"].shape == (3,)
    assert np.all(res.history["best"] >= res.history["mean"])
    assert np.all(np.diff(res.history["env_steps"]) > 0)
    # tests ran at generations 0, 1 (every 2nd) and 2 (the last)
    assert np.isfinite(res.history["test"]).tolist() == [True, True, True]
    assert res.test_returns.shape == (5,)
    assert res.test_score == pytest.approx(np.nanmax(res.history["test"]))


def test_target_stops_the_run_early(tiny):
    sc = scenario_from_dict(
        {**tiny, "evolution": {"population": 12, "generations": 50}, "protocol": {**tiny["protocol"], "target": 1.0}}
    )
    res = evolve(sc, seed=0, workers=1)
    assert len(res.history["best"]) == 1  # any controller scores >= 1 on CartPole


def test_check_scenario_fails_fast_on_an_unknown_environment():
    with pytest.raises(ValueError, match="CartPole-v1"):
        check_scenario({"env": {"id": "CartPol-v1"}})


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cartpole_2d_solved_on_100_held_out_episodes(seed):
    """Budget: at most 60 generations of scenarios/cartpole.toml on 2 workers (about a minute each)."""
    sc = load_scenario("scenarios/cartpole.toml")
    sc = sc.replace(protocol=sc.protocol.__class__(**{**sc.protocol.__dict__, "test_episodes": 100}))
    res = evolve(sc, dim=2, seed=seed, workers=2, generations=60)
    assert res.test_returns.size == 100
    assert res.test_score >= 475, res.history


@pytest.mark.parametrize("cost", ["synaptic_ops", "nonzero_weights", "wiring_length"])
def test_nsga2_selects_on_the_configured_cost(tmp_path, tiny, cost):
    from spatial_snn.space.connectivity import wiring_length
    from spatial_snn.store.run_reader import open_run

    sc = scenario_from_dict(
        {**tiny, "evolution": {"population": 12, "generations": 2, "selection": "nsga2", "cost": cost}}
    )
    evolve(sc, seed=0, workers=1, archive=tmp_path / "run.h5")
    with open_run(tmp_path / "run.h5") as run:
        gen = run.generation(1)
        pop = run.population(1)
    steps = gen["episode_lengths"].sum(axis=1)
    expected = {
        "synaptic_ops": gen["counters"][:, 1] / steps + [len(g.input_synapses) for g in pop],
        "nonzero_weights": [g.n_synapses for g in pop],
        "wiring_length": [wiring_length(g) for g in pop],
    }[cost]
    np.testing.assert_allclose(-gen["fitness"][:, 1], expected)
