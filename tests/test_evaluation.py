"""Lockstep rollouts and their fan-out over worker processes."""

import concurrent.futures as cf

import numpy as np
import pytest

from spatial_snn.evo import seeding
from spatial_snn.sim.network import Network
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.tasks.encoding import make_decoder, make_encoder
from spatial_snn.tasks.envs import make_env
from spatial_snn.tasks.evaluation import Task, WorkerPool, pack, pack_batch, rollout, unpack, unpack_batch


def _cartpole_task(substeps=4):
    low = (-4.8, -5.0, -0.42, -5.0)
    return Task("CartPole-v1", substeps=substeps, obs_low=low, obs_high=tuple(-x for x in low))


def _genomes(n, n_in=4, n_out=2, dim=2, seed=0):
    spec = GenomeSpec.reference(dim)
    return [random_genome(spec, n_in, n_out, seeding.variation_rng(seed, 0, i)) for i in range(n)]


def _one_by_one(task, genome, seed, cap=None):
    """The same episode stepped without lockstep: one network, one environment."""
    env = make_env(task.env_id, task.env_kwargs)
    enc = make_encoder(task.encoder, np.asarray(task.obs_low), np.asarray(task.obs_high))
    dec = make_decoder(task.decoder, env.action_space)
    net = Network([genome], dt=task.dt)
    obs, _ = env.reset(seed=int(seed))
    total, steps, done = 0.0, 0, False
    while not done and (cap is None or steps < cap):
        obs, r, term, trunc, _ = env.step(dec(net.step(enc(np.asarray(obs)[None]), task.substeps))[0])
        total, steps, done = total + r, steps + 1, term or trunc
    return total, steps


def test_lockstep_rollout_equals_stepping_each_episode_alone():
    task = _cartpole_task()
    genomes = _genomes(6)
    seeds = [11, 12, 13]
    ev = rollout(task, genomes, seeds)
    for g, genome in enumerate(genomes):
        for e, s in enumerate(seeds):
            ret, steps = _one_by_one(task, genome, s)
            assert ev.returns[g, e] == ret
            assert ev.lengths[g, e] == steps
    assert ev.env_steps == ev.lengths.sum()


def test_a_genomes_result_does_not_depend_on_its_batch():
    task = _cartpole_task()
    genomes = _genomes(5)
    alone = rollout(task, genomes[3:4], [4, 8])
    batch = rollout(task, genomes, [4, 8])
    assert np.array_equal(alone.returns[0], batch.returns[3])
    assert np.array_equal(alone.counters[0], batch.counters[3])


def test_cap_stops_episodes_without_changing_the_env_limit():
    task = _cartpole_task()
    ev = rollout(task, _genomes(4), [1, 2], cap=7)
    assert ev.lengths.max() <= 7
    assert ev.returns.max() <= 7


def test_invalid_observation_ends_the_episode_with_the_return_so_far():
    task = Task(
        "envs_for_tests:NaNAfter-v0", env_kwargs={"nan_at": 5}, substeps=2, obs_low=(-1.0,) * 3, obs_high=(1.0,) * 3
    )
    ev = rollout(task, _genomes(3, n_in=3), [0, 1])
    assert np.all(ev.lengths == 5)  # the step that produced NaN counts, nothing after it
    assert np.all(ev.returns == 5.0)
    assert ev.invalid.tolist() == [2, 2, 2]


def test_pack_round_trip_is_exact(assert_same_genome):
    g = _genomes(1, dim=3)[0]
    assert_same_genome(unpack(pack(g)), g)  # every field, dtypes included, and the rule


def test_a_batch_of_genomes_packs_into_few_arrays_and_back_exactly():
    import dataclasses

    from spatial_snn.space.genome import Synapses

    genomes = _genomes(3, dim=3)
    # a genome without recurrent synapses and with another rule: empty pieces and per-genome rules survive
    genomes[1] = dataclasses.replace(
        genomes[1],
        recurrent=Synapses(np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0, np.float32)),
        rule=dataclasses.replace(genomes[1].rule, io_distance=None, max_delay=3),
    )
    batch = pack_batch(genomes)
    n_arrays = sum(isinstance(v, np.ndarray) for v in batch.values())
    # as many arrays for three genomes as for one: the count of frames on the wire does not grow with the batch
    assert n_arrays == sum(isinstance(v, np.ndarray) for v in pack_batch(genomes[:1]).values())
    back = unpack_batch(batch)
    assert len(back) == 3
    for g, h in zip(genomes, back, strict=True):
        for name in (
            "positions",
            "input_positions",
            "output_positions",
            "v_th",
            "v_reset",
            "v_leak",
            "tau_mem_inv",
            "tau_syn_inv",
            "sign",
            "input_sign",
        ):
            a, b = getattr(g, name), getattr(h, name)
            assert a.dtype == b.dtype and np.array_equal(a, b), name
        for proj in ("input_synapses", "recurrent", "output_synapses"):
            for f in ("pre", "post", "weight"):
                a, b = getattr(getattr(g, proj), f), getattr(getattr(h, proj), f)
                assert a.dtype == b.dtype and np.array_equal(a, b), (proj, f)
        assert g.rule == h.rule


@pytest.mark.slow  # starts worker processes; in-process splitting: test_a_cluster_gets_one_job_per_slot_at_a_time
def test_two_workers_give_the_same_results_as_one():
    task = _cartpole_task()
    genomes = _genomes(9)
    seeds = [3, 5]
    local = rollout(task, genomes, seeds)
    with WorkerPool(2) as pool:
        par = pool.run(task, genomes, seeds)
        one = pool.run(task, genomes[:1], np.arange(6))  # split by episodes
    assert np.array_equal(local.returns, par.returns)
    assert np.array_equal(local.counters, par.counters)
    assert np.array_equal(one.returns[0], rollout(task, genomes[:1], np.arange(6)).returns[0])
    # the workers' own CPU time comes back with their results (the run's cpu_time adds it)
    assert par.cpu_seconds > 0 and one.cpu_seconds > 0


class _TakenFuture(cf.Future):
    def __init__(self, executor):
        super().__init__()
        self.executor, self.taken = executor, False

    def result(self, timeout=None):
        if not self.taken:
            self.taken = True
            self.executor.taken += 1
        return super().result(timeout)


class _ClusterLike(cf.Executor):
    """Reports ``slots`` like DaskExecutor; runs each job at once; logs results taken before each submit."""

    slots = 2

    def __init__(self):
        self.taken, self.log = 0, []

    def submit(self, fn, /, *args, **kwargs):
        self.log.append(self.taken)
        fut = _TakenFuture(self)
        fut.set_result(fn(*args, **kwargs))
        return fut


def test_a_cluster_gets_one_job_per_slot_at_a_time():
    task, genomes, seeds = _cartpole_task(), _genomes(9), [3, 5]
    ex = _ClusterLike()
    res = WorkerPool(executor=ex).run(task, genomes, seeds)
    assert len(ex.log) == 4 * ex.slots  # four jobs per slot
    # job i may only be handed out once i - slots + 1 results have come back
    assert all(taken >= i - ex.slots + 1 for i, taken in enumerate(ex.log)), ex.log
    local = rollout(task, genomes, seeds)
    assert np.array_equal(local.returns, res.returns) and np.array_equal(local.lengths, res.lengths)


@pytest.mark.slow  # starts and kills worker processes
def test_a_dead_worker_is_replaced_and_its_batch_resubmitted(tmp_path):
    flag = tmp_path / "die"
    flag.write_text("once")
    task = Task(
        "envs_for_tests:DieOnce-v0",
        env_kwargs={"flag": str(flag)},
        substeps=2,
        obs_low=(-1.0,) * 3,
        obs_high=(1.0,) * 3,
    )
    genomes = _genomes(4, n_in=3)
    with WorkerPool(2) as pool:
        ev = pool.run(task, genomes, [0])
    assert not flag.exists()
    assert np.all(ev.lengths == 20)


@pytest.mark.slow  # starts and kills worker processes
def test_a_batch_that_kills_its_worker_twice_raises_a_clear_error(tmp_path):
    flag = tmp_path / "die"
    flag.write_text("always")
    task = Task(
        "envs_for_tests:DieOnce-v0",
        env_kwargs={"flag": str(flag), "always": True},
        substeps=2,
        obs_low=(-1.0,) * 3,
        obs_high=(1.0,) * 3,
    )
    with WorkerPool(2) as pool, pytest.raises(RuntimeError, match="died twice"):
        pool.run(task, _genomes(4, n_in=3), [0])
