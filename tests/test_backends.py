"""Environment backends: choosing one, EnvPool batches, and EnvPool's fidelity to gymnasium.

Fidelity is statistical (EnvPool bundles its own MuJoCo build, so trajectories
differ in the last bits): for every shipped champion, the mean return over 100
episodes on EnvPool and on gymnasium agree within 3 standard errors of the
difference or 1 %, whichever is larger. Spaces, episode limits and the reward
terms set by keyword arguments are compared exactly.
"""

import dataclasses
import tomllib
from pathlib import Path

import gymnasium
import numpy as np
import pytest

pytest.importorskip("envpool")

from spatial_snn import load_genome  # noqa: E402
from spatial_snn.runs.runner import evolve  # noqa: E402
from spatial_snn.runs.scenarios import load_scenario, scenario_from_dict  # noqa: E402
from spatial_snn.runs.setup import resolve  # noqa: E402
from spatial_snn.tasks.backends import EnvPoolBatch, make_batch, resolve_backend  # noqa: E402
from spatial_snn.tasks.evaluation import WorkerPool, rollout, task_from_meta, task_meta  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CHAMPIONS = tomllib.loads((ROOT / "genomes" / "champions.toml").read_text())
QUICK = {"CartPole-v1"}  # 100 episodes take seconds; the rest (InvertedPendulum: ~50 s) are slow


# ------------------------------------------------------------ choosing a backend
def test_auto_picks_envpool_for_a_supported_task_and_gymnasium_otherwise():
    assert resolve_backend("auto", "Hopper-v5", {"healthy_reward": 0.0}) == "envpool"
    # gymnasium's Ant-v5 keyword, translated for EnvPool (envpool_kwargs)
    assert resolve_backend("auto", "Ant-v5", {"include_cfrc_ext_in_observation": False}) == "envpool"
    # gymnasium's Hopper-v5 keyword; EnvPool's Hopper has no such setting
    assert resolve_backend("auto", "Hopper-v5", {"healthy_z_range": (0.7, 2.0)}) == "gymnasium"
    assert resolve_backend("auto", "NaNAfter-v0", {}) == "gymnasium"  # ours, tests/envs_for_tests.py
    assert resolve_backend("gymnasium", "Hopper-v5", {}) == "gymnasium"


def test_envpool_requested_but_unusable_names_the_keyword_or_the_id():
    with pytest.raises(ValueError, match="healthy_z_range"):
        resolve_backend("envpool", "Hopper-v5", {"healthy_z_range": (0.7, 2.0)})
    with pytest.raises(ValueError, match="NaNAfter-v0"):
        resolve_backend("envpool", "NaNAfter-v0", {})
    with pytest.raises(ValueError, match="env.backend"):
        resolve_backend("cpp", "Hopper-v5", {})


def test_pool_settings_are_not_accepted_as_task_keywords():
    with pytest.raises(ValueError, match="num_threads"):
        resolve_backend("envpool", "CartPole-v1", {"num_threads": 4})


def test_shipped_hopper_scenario_trains_on_envpool_by_default():
    task = resolve(
        load_scenario(ROOT / "scenarios" / "hopper.toml"), 2, 0, bounds=((0.0,) * 11, (1.0,) * 11), check=False
    ).task
    assert task.backend == "envpool"


def test_stored_tasks_replay_on_gymnasium():
    task = dataclasses.replace(_cartpole_task("envpool"), env_threads=2)
    assert task.backend == "envpool"
    again = task_from_meta(task_meta(task))
    assert again.backend == "gymnasium" and again.env_threads == 1
    assert dataclasses.replace(again, backend="envpool", env_threads=2) == task


# ------------------------------------------------------------ EnvPool batches
def test_envpool_batch_seeds_each_environment_and_keeps_the_order():
    batch = EnvPoolBatch("Hopper-v5", {}, None, [5, 6, 5])
    alone = EnvPoolBatch("Hopper-v5", {}, None, [6])
    try:
        obs = batch.reset()
        assert np.array_equal(obs[0], obs[2]) and not np.array_equal(obs[0], obs[1])
        assert np.array_equal(obs[1], alone.reset()[0])
        # replies come back in the order asked for, whatever order EnvPool answers in
        a = np.zeros((2, 3), np.float32)
        o, r, done = batch.step(a, np.array([2, 1]))
        o1, r1, _ = alone.step(a[:1], np.array([0]))
        assert np.array_equal(o[1], o1[0]) and r[1] == r1[0]
        assert o.shape == (2, 11) and r.shape == done.shape == (2,)
    finally:
        batch.close()
        alone.close()


def test_envpool_batch_steps_only_the_environments_asked_for():
    batch = EnvPoolBatch("CartPole-v1", {}, None, [1, 2])
    fresh = EnvPoolBatch("CartPole-v1", {}, None, [1, 2])
    try:
        batch.reset()
        fresh.reset()
        for _ in range(5):
            batch.step(np.array([1]), np.array([1]))
        # environment 0 never moved: its first step matches a fresh one's
        o, _, _ = batch.step(np.array([0]), np.array([0]))
        f, _, _ = fresh.step(np.array([0]), np.array([0]))
        assert np.array_equal(o, f)
    finally:
        batch.close()
        fresh.close()


def _cartpole_genomes(n):
    from spatial_snn.evo import seeding
    from spatial_snn.space.layout import GenomeSpec, random_genome

    return [random_genome(GenomeSpec.reference(2), 4, 2, seeding.variation_rng(3, 0, i)) for i in range(n)]


def _cartpole_task(backend):
    sc = scenario_from_dict({"env": {"id": "CartPole-v1", "backend": backend}, "network": {"substeps": 4}})
    return resolve(sc, 2, 0, check=False).task


def test_envpool_rollout_result_depends_only_on_genome_and_seed():
    task = _cartpole_task("envpool")
    genomes = _cartpole_genomes(5)
    batch = rollout(task, genomes, [4, 8, 9])
    alone = rollout(task, genomes[2:3], [8])
    assert batch.returns[2, 1] == alone.returns[0, 0]
    assert batch.lengths[2, 1] == alone.lengths[0, 0]
    assert np.array_equal(rollout(task, genomes, [4, 8, 9]).returns, batch.returns)
    assert batch.returns.shape == batch.lengths.shape == (5, 3) and batch.counters.shape == (5, 3)


def test_envpool_rollout_respects_the_cap_and_the_time_limit():
    task = dataclasses.replace(_cartpole_task("envpool"), max_episode_steps=7)
    ev = rollout(task, _cartpole_genomes(3), [1, 2])
    assert ev.lengths.max() <= 7
    assert rollout(task, _cartpole_genomes(3), [1, 2], cap=3).lengths.max() <= 3


@pytest.mark.slow
def test_envpool_gives_the_same_evaluation_on_one_or_two_workers():
    task = _cartpole_task("envpool")
    genomes = _cartpole_genomes(8)
    one = rollout(task, genomes, [3, 5])
    with WorkerPool(2) as pool:
        two = pool.run(task, genomes, [3, 5])
    for f in ("returns", "lengths", "counters", "invalid"):
        assert np.array_equal(getattr(one, f), getattr(two, f)), f


def _tiny_envpool():
    return scenario_from_dict(
        {
            "name": "tiny",
            "env": {"id": "CartPole-v1", "backend": "envpool"},
            "network": {"substeps": 4},
            "evolution": {"population": 6, "generations": 2},
            "protocol": {"episodes": 2, "test_every": 1, "test_episodes": 3, "bounds_episodes": 2},
        }
    )


def test_envpool_run_records_its_backends_in_the_archive(tmp_path):
    evolve(_tiny_envpool(), seed=4, workers=1, archive=tmp_path / "one.h5")
    from spatial_snn import open_run

    with open_run(tmp_path / "one.h5") as run:
        assert run.config["env_backend"] == {"train": "envpool", "test": "gymnasium"}


@pytest.mark.slow  # starts worker processes
def test_envpool_run_history_is_the_same_for_one_and_two_workers(tmp_path):
    sc = _tiny_envpool()
    one = evolve(sc, seed=4, workers=1, archive=tmp_path / "one.h5")
    two = evolve(sc, seed=4, workers=2)
    for k in ("best", "mean", "test", "env_steps"):
        assert np.array_equal(one.history[k], two.history[k]), k
    from spatial_snn import open_run

    with open_run(tmp_path / "one.h5") as run:
        assert run.config["env_backend"] == {"train": "envpool", "test": "gymnasium"}


# ------------------------------------------------------------ fidelity
SHIPPED_TASKS = [
    "CartPole-v1",
    "Pendulum-v1",
    "Acrobot-v1",
    "MountainCarContinuous-v0",
    "InvertedPendulum-v5",
    "InvertedDoublePendulum-v5",
    "Swimmer-v5",
    "Hopper-v5",
    "HalfCheetah-v5",
    "Walker2d-v5",
    "Ant-v5",
]


@pytest.mark.parametrize("env_id", SHIPPED_TASKS)
def test_spaces_and_episode_limits_agree(env_id):
    gym_batch = make_batch("gymnasium", env_id, {}, None, [0])
    pool = EnvPoolBatch(env_id, {}, None, [0])
    try:
        assert pool.observation_space == gym_batch.observation_space
        assert pool.action_space == gym_batch.action_space
        assert pool.pool.config["max_episode_steps"] == gymnasium.spec(env_id).max_episode_steps
    finally:
        pool.close()


def _reward_terms(env_id):
    """Keyword settings that isolate one reward term each, and the per-step reward they imply."""
    accepted = set(EnvPoolBatch(env_id, {}, None, [0]).pool.config)
    off = {
        k: 0.0
        for k in ("forward_reward_weight", "ctrl_cost_weight", "healthy_reward", "contact_cost_weight")
        if k in accepted
    }
    cases = [(dict(off, ctrl_cost_weight=0.3), lambda a, info: -0.3 * float(np.sum(np.square(a))))]
    if "healthy_reward" in off:
        cases.append((dict(off, healthy_reward=0.5), lambda a, info: 0.5))
    cases.append((dict(off, forward_reward_weight=2.0), lambda a, info: 2.0 * float(info["x_velocity"])))
    return cases


@pytest.mark.parametrize("env_id", ["Hopper-v5", "Walker2d-v5", "HalfCheetah-v5", "Swimmer-v5", "Ant-v5"])
def test_reward_terms_of_keyword_arguments_agree(env_id):
    """Each term scaled by a keyword is the same function of action and state on both backends."""
    rng = np.random.default_rng(1)
    for kwargs, expected in _reward_terms(env_id):
        gym_env = gymnasium.make(env_id, **kwargs)
        pool = EnvPoolBatch(env_id, kwargs, None, [3])
        try:
            gym_env.reset(seed=3)
            pool.reset()
            for _ in range(5):
                a = rng.uniform(-0.3, 0.3, gym_env.action_space.shape).astype(np.float32)
                _, r, term, _, info = gym_env.step(a)
                _, r_pool, done_pool = pool.step(a[None], np.array([0]))
                info_pool = {"x_velocity": pool.last_info["x_velocity"][0]}
                if term or done_pool[0]:
                    break
                assert r == pytest.approx(expected(a, info), rel=1e-6, abs=1e-9), (env_id, kwargs)
                assert r_pool[0] == pytest.approx(expected(a, info_pool), rel=1e-6, abs=1e-9), (env_id, kwargs)
        finally:
            gym_env.close()
            pool.close()


def _fidelity(name):
    genome, meta = load_genome(ROOT / "genomes" / name)
    task = task_from_meta(meta["task"])
    seeds = np.arange(7000, 7100)  # the same 100 episode seeds on both backends
    gym_ret = rollout(task, [genome], seeds).returns[0]
    pool_ret = rollout(dataclasses.replace(task, backend="envpool"), [genome], seeds).returns[0]
    se = np.sqrt(gym_ret.var(ddof=1) / gym_ret.size + pool_ret.var(ddof=1) / pool_ret.size)
    tolerance = max(3 * se, 0.01 * abs(gym_ret.mean()))
    assert abs(pool_ret.mean() - gym_ret.mean()) <= tolerance, (name, gym_ret.mean(), pool_ret.mean(), tolerance)


@pytest.mark.parametrize("name", sorted(n for n, e in CHAMPIONS.items() if e["env_id"] in QUICK))
def test_champion_returns_agree_on_envpool_and_gymnasium(name):
    _fidelity(name)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, e in CHAMPIONS.items() if e["env_id"] not in QUICK))
def test_locomotion_champion_returns_agree_on_envpool_and_gymnasium(name):
    _fidelity(name)


def test_a_run_asking_for_envpool_with_an_unsupported_keyword_fails_before_evolving():
    sc = scenario_from_dict(
        {"env": {"id": "Hopper-v5", "backend": "envpool", "kwargs": {"healthy_z_range": [0.7, 2.0]}}}
    )
    with pytest.raises(ValueError, match="healthy_z_range.*fix"):
        resolve(sc, 2, 0, bounds=((0.0,) * 11, (1.0,) * 11), check=False)


def test_ant_without_contact_forces_keeps_gymnasiums_columns_and_contact_cost():
    """include_cfrc_ext_in_observation=False: gymnasium's 27 columns, and the reward
    still pays the contact cost (EnvPool's own use_contact_force=False drops it)."""
    narrow = {"include_cfrc_ext_in_observation": False}
    gym_batch = make_batch("gymnasium", "Ant-v5", narrow, None, [5])
    ours = EnvPoolBatch("Ant-v5", narrow, None, [5, 6])
    full = EnvPoolBatch("Ant-v5", {}, None, [5, 6])
    try:
        assert ours.observation_space == gym_batch.observation_space
        obs, obs_full = ours.reset(), full.reset()
        assert obs.shape == (2, 27) and obs_full.shape == (2, 105)
        np.testing.assert_array_equal(obs, obs_full[:, :27])
        rng = np.random.default_rng(2)
        contact = 0.0
        for _ in range(100):
            a = rng.uniform(-1, 1, (2, 8))
            o, r, _ = ours.step(a, np.arange(2))
            o_full, r_full, _ = full.step(a, np.arange(2))
            np.testing.assert_array_equal(o, o_full[:, :27])
            np.testing.assert_array_equal(r, r_full)
            contact += float(np.sum(full.last_info["reward_contact"]))
        assert contact < 0  # the term the columns left out is still in the reward
    finally:
        ours.close()
        full.close()
