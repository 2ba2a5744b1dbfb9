"""protocol.confirm_episodes: a test that beats the champion is confirmed on more held-out episodes."""

from __future__ import annotations

import numpy as np
import pytest

from spatial_snn.evo import seeding
from spatial_snn.runs.runner import evolve, resume
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.store.run_reader import open_run


def test_confirm_seeds_are_odd_distinct_held_out_and_fixed_by_the_run_seed():
    tests = seeding.test_seeds(7, 50)
    more = seeding.confirm_seeds(7, 200, tests)
    assert more.size == 200 and np.unique(more).size == 200 and np.all(more % 2 == 1)
    assert not np.isin(more, tests).any()
    assert np.array_equal(more, seeding.confirm_seeds(7, 200, tests))
    assert not np.array_equal(more, seeding.confirm_seeds(8, 200, seeding.test_seeds(8, 50)))
    # a test seed drawn again by the confirm stream is skipped, not repeated
    clash = np.concatenate([tests, more[:3]])
    assert not np.isin(seeding.confirm_seeds(7, 200, clash), clash).any()


def test_a_new_champion_is_the_mean_over_its_test_and_confirm_episodes(tmp_path, tiny_scenario):
    tiny = tiny_scenario(
        evolution={"population": 10, "generations": 5}, protocol={"test_episodes": 3, "confirm_episodes": 7}
    )
    res = evolve(tiny, seed=2, workers=1, archive=tmp_path / "run.h5")
    champion_scores, best = [], -np.inf
    with open_run(tmp_path / "run.h5") as run:
        for g in range(run.n_generations):
            gen = run.generation(g)
            returns, seeds = gen["test_returns"], gen["test_seeds"]
            assert np.unique(seeds).size == seeds.size  # no episode counted twice
            assert res.history["test"][g] == pytest.approx(returns.mean())
            # a test of 3 that beat the champion so far was confirmed on 7 more; any other was not
            beat = returns[:3].mean() > best
            assert returns.size == (10 if beat else 3), g
            if beat and returns.mean() > best:
                best = returns.mean()
                champion_scores.append(best)
        _, info = run.champion()
        assert info["test_returns"].size == 10 and info["test_returns"].mean() == pytest.approx(best)
    assert res.test_score == pytest.approx(best) and champion_scores


def test_a_run_with_confirmation_resumes_to_the_same_history(tmp_path, tiny_scenario):
    tiny = tiny_scenario(
        evolution={"population": 10, "generations": 4}, protocol={"test_episodes": 3, "confirm_episodes": 5}
    )
    whole = evolve(scenario_from_dict(tiny), seed=4, workers=1, archive=tmp_path / "whole.h5")
    evolve(scenario_from_dict(tiny), seed=4, workers=1, generations=2, archive=tmp_path / "cut.h5")
    resumed = resume(tmp_path / "cut.h5", generations=4, workers=1)
    for key in ("best", "mean", "test", "env_steps"):
        np.testing.assert_array_equal(whole.history[key], resumed.history[key], err_msg=key)
