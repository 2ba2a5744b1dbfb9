"""Sample-efficiency options: observation normalisation, training-only rewards,
pruning that keeps tonic neurons, and an env-step budget."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from spatial_snn.evo.pruning import prune
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.sim.network import Network
from spatial_snn.space.genome import Genome, Synapses
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store.controller import load_controller
from spatial_snn.store.run_reader import open_run
from spatial_snn.tasks.encoding import make_decoder, make_encoder
from spatial_snn.tasks.envs import make_env
from spatial_snn.tasks.evaluation import rollout
from spatial_snn.tasks.moments import ObsMoments

CARTPOLE = {
    "name": "norm",
    "env": {"id": "CartPole-v1"},
    "network": {"n_hidden": 16, "substeps": 4},
    "encoder": {"normalise": True, "normalise_width": 2.0},
    "evolution": {"population": 8, "generations": 4},
    "protocol": {"episodes": 2, "test_every": 2, "test_episodes": 3, "bounds_episodes": 2},
}


def _syn(pre, post, w):
    return Synapses(np.array(pre, np.int32), np.array(post, np.int32), np.array(w, np.float32))


def _tonic_genome() -> Genome:
    """Neuron 0 gets input and drives output 0; neuron 1 has no input, fires by
    itself (v_leak > v_th) and drives output 1."""
    n = 2
    return Genome(
        positions=np.array([[0.0, 0.0], [1.0, 0.0]]),
        input_positions=np.zeros((1, 2)),
        output_positions=np.zeros((2, 2)),
        v_th=np.array([1.0, 1.0]),
        v_reset=np.zeros(n),
        v_leak=np.array([0.0, 5.0]),
        tau_mem_inv=np.full(n, 100.0),
        tau_syn_inv=np.full(n, 100.0),
        sign=np.ones(n, np.int8),
        input_sign=np.ones(1, np.int8),
        input_synapses=_syn([0], [0], [10.0]),
        recurrent=_syn([], [], []),
        output_synapses=_syn([0, 1], [0, 1], [1.0, 1.0]),
        rule=GenomeSpec.reference(2, 4).rule,
    )


# ------------------------------------------------------------------ pruning
def test_published_pruning_removes_a_tonic_neuron_and_changes_the_outputs():
    g = _tonic_genome()
    outputs = [Network([x]).step(np.ones((1, 1), np.float32), 50) for x in (g, prune(g))]
    assert prune(g).output_synapses.pre.tolist() == [0]
    assert outputs[0][0, 1] > 0 and outputs[1][0, 1] == 0  # the bias is gone


def test_keep_tonic_pruning_keeps_the_bias_and_the_outputs():
    g = _tonic_genome()
    kept = prune(g, keep_tonic=True)
    assert sorted(kept.output_synapses.pre.tolist()) == [0, 1]
    x = np.ones((1, 1), np.float32)
    assert np.array_equal(Network([g]).step(x, 50), Network([kept]).step(x, 50))


def test_keep_tonic_still_removes_a_silent_neuron_without_input():
    g = _tonic_genome().replace(v_leak=np.array([0.0, 0.5]))  # neuron 1 rests below threshold
    assert prune(g, keep_tonic=True).output_synapses.pre.tolist() == [0]


def test_keep_tonic_never_changes_outputs_of_random_genomes():
    spec = GenomeSpec.reference(2, 32)
    x = np.random.default_rng(1).uniform(-2, 2, (1, 4)).astype(np.float32)
    for seed in range(40):
        g = random_genome(spec, 4, 2, np.random.default_rng(seed))
        assert np.array_equal(Network([g]).step(x, 20), Network([prune(g, keep_tonic=True)]).step(x, 20)), seed


# --------------------------------------------------------- normalised bounds
def test_normalised_bounds_by_hand():
    obs = np.array([[1.0, 5.0, 2.0], [3.0, 5.0, 2.0], [5.0, 5.0, 2.0]])
    low, high = ObsMoments(3, obs.sum(0), (obs**2).sum(0)).bounds(2.0, [-9, -9, -9], [9, 9, 9])
    sd = np.sqrt(8 / 3)  # values 1, 3, 5: mean 3, variance 8/3
    np.testing.assert_allclose(low, [3 - 2 * sd, -9, -9])  # constant dimensions keep their bounds
    np.testing.assert_allclose(high, [3 + 2 * sd, 9, 9])


def test_normalised_bounds_without_data_are_the_fallback():
    low, high = ObsMoments.empty(1).bounds(3.0, [-1.0], [2.0])
    assert low.tolist() == [-1.0] and high.tolist() == [2.0]


def test_rollout_observation_moments_match_a_hand_stepped_episode():
    sc = scenario_from_dict(CARTPOLE)
    task = resolve(sc, 2, 0, check=False, backend="gymnasium").task  # the hand loop steps gymnasium
    g = random_genome(sc.network.spec(2), 4, 2, np.random.default_rng(3))
    ev = rollout(task, [g], [11])
    env = make_env(task.env_id)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    from spatial_snn.evo.pruning import compact

    net = Network([compact(g)])
    obs, _ = env.reset(seed=11)
    seen = []
    done = False
    while not done:
        seen.append(np.asarray(obs, np.float64))
        a = dec(net.step(enc(seen[-1][None]), task.substeps))[0]
        obs, _, terminated, truncated, _ = env.step(a)
        done = terminated or truncated
    seen = np.array(seen)
    moments = ev.observation_moments()
    assert moments.count == len(seen) == ev.lengths[0, 0]
    np.testing.assert_allclose(moments.sum, seen.sum(0), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(moments.sumsq, (seen**2).sum(0), rtol=1e-12, atol=1e-12)


# ------------------------------------------------------------ in a whole run
def _bounds_per_generation(path):
    with open_run(path) as run:
        return [run.generation(g)["extra"] for g in range(run.n_generations)]


def test_normalised_run_stores_its_bounds_and_the_champion_replays_with_them(tmp_path):
    path = tmp_path / "norm.h5"
    result = evolve(CARTPOLE, dim=2, seed=0, workers=1, archive=path)
    extras = _bounds_per_generation(path)
    base = resolve(scenario_from_dict(CARTPOLE), 2, 0, check=False).task
    # generation 0 has no statistics yet; later ones follow the running moments of the earlier ones
    np.testing.assert_array_equal(extras[0]["obs_low"], base.obs_low)
    for g in range(1, len(extras)):
        prev = extras[g - 1]
        low, high = ObsMoments.from_arrays(prev).bounds(2.0, base.obs_low, base.obs_high)
        np.testing.assert_array_equal(extras[g]["obs_low"], low)
        np.testing.assert_array_equal(extras[g]["obs_high"], high)
    assert not np.array_equal(extras[-1]["obs_low"], base.obs_low)
    _, task, info = load_controller(path)
    gen = int(info["generation"])
    assert task.obs_low == tuple(extras[gen]["obs_low"]) == result.task.obs_low


@pytest.mark.slow
def test_normalised_run_resumes_identically(tmp_path):
    full = evolve(CARTPOLE, dim=2, seed=1, workers=1, archive=tmp_path / "full.h5")
    evolve(CARTPOLE, dim=2, seed=1, workers=1, generations=2, archive=tmp_path / "cut.h5")
    resumed = evolve(CARTPOLE, dim=2, seed=1, workers=1, archive=tmp_path / "cut.h5", resume=True)
    for k in ("best", "mean", "test"):
        np.testing.assert_array_equal(full.history[k], resumed.history[k])
    a, b = _bounds_per_generation(tmp_path / "full.h5"), _bounds_per_generation(tmp_path / "cut.h5")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["obs_sum"], y["obs_sum"])


@pytest.mark.slow
def test_normalised_run_is_the_same_on_one_and_two_workers(tmp_path):
    one = evolve(CARTPOLE, dim=2, seed=2, workers=1, archive=tmp_path / "one.h5")
    two = evolve(CARTPOLE, dim=2, seed=2, workers=2, archive=tmp_path / "two.h5")
    for k in ("best", "mean", "test"):
        np.testing.assert_array_equal(one.history[k], two.history[k])
    a, b = _bounds_per_generation(tmp_path / "one.h5"), _bounds_per_generation(tmp_path / "two.h5")
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x["obs_sumsq"], y["obs_sumsq"])


@pytest.mark.slow
def test_training_reward_differs_only_by_the_survival_bonus(tmp_path):
    hopper = {
        "name": "hop",
        "env": {"id": "Hopper-v5"},
        "network": {"n_hidden": 16, "substeps": 2},
        "decoder": {"kind": "sigmoid"},
        "evolution": {"population": 6, "generations": 1},
        "protocol": {"episodes": 2, "test_episodes": 2, "bounds_episodes": 1},
    }
    no_bonus = {**hopper, "env": {"id": "Hopper-v5", "train_kwargs": {"healthy_reward": 0.0}}}
    runs = {}
    for name, sc in (("plain", hopper), ("no_bonus", no_bonus)):
        evolve(sc, dim=2, seed=0, workers=1, archive=tmp_path / f"{name}.h5")
        with open_run(tmp_path / f"{name}.h5") as run:
            runs[name] = run.generation(0)
    plain, no_bonus_gen = runs["plain"], runs["no_bonus"]
    lengths = plain["episode_lengths"]
    np.testing.assert_array_equal(lengths, no_bonus_gen["episode_lengths"])  # same episodes, same ends
    bonus = plain["episode_returns"] - no_bonus_gen["episode_returns"]
    # healthy_reward = 1 on every step taken healthy: all steps, or all but the terminating one
    assert np.all((bonus > lengths - 1 - 1e-6) & (bonus < lengths + 1e-6))
    # the test (the reported score) keeps the task's own reward: rerun the tested genome on the canonical task
    with open_run(tmp_path / "no_bonus.h5") as run:
        genome, info = run.champion()
    canonical = resolve(scenario_from_dict(hopper), 2, 0, check=False).test_task
    again = rollout(canonical, [genome], info["test_seeds"])
    np.testing.assert_array_equal(again.returns[0], no_bonus_gen["test_returns"])


def test_training_kwargs_the_env_rejects_fail_the_scenario_check():
    sc = scenario_from_dict({**CARTPOLE, "encoder": {}, "env": {"id": "Hopper-v5", "train_kwargs": {"bogus": 1}}})
    with pytest.raises(Exception, match="bogus"):
        resolve(sc)


# ------------------------------------------------------------------- budget
def test_env_step_budget_stops_the_run_and_tests_the_last_generation(tmp_path):
    sc = {
        **CARTPOLE,
        "encoder": {},
        "evolution": {"population": 8, "generations": 50},
        "protocol": {**CARTPOLE["protocol"], "test_every": 100, "max_env_steps": 500},
    }
    result = evolve(sc, dim=2, seed=0, workers=1, archive=tmp_path / "budget.h5")
    steps = result.history["env_steps"]
    assert steps[-1] >= 500 and (len(steps) == 1 or steps[-2] < 500)
    assert len(steps) < 50
    assert np.isfinite(result.history["test"][-1])  # the last generation of a budget is tested
    resumed = evolve(sc, dim=2, seed=0, workers=1, archive=tmp_path / "budget.h5", resume=True)
    assert len(resumed.history["best"]) == len(steps)  # a spent budget stays spent


def test_scenario_rejects_a_bad_budget():
    with pytest.raises(ValueError, match="max_env_steps"):
        scenario_from_dict({**CARTPOLE, "protocol": {"max_env_steps": 0}})


def test_normalise_width_must_be_positive():
    with pytest.raises(ValueError, match="normalise_width"):
        scenario_from_dict({**CARTPOLE, "encoder": {"normalise": True, "normalise_width": 0.0}})
    assert dataclasses.asdict(scenario_from_dict(CARTPOLE).encoder)["normalise"] is True
