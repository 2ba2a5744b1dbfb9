"""Evaluation throughput on Hopper-v5 against the raw environment rate.

Workload (the published settings): 100 genomes x 3 episodes, 64 sub-steps per
environment step, reference network in 2D. Printed next to the raw rate of
the same environments stepped with random actions and no network, measured
in the same process; then 2 workers against 1. Also times solving
CartPole-v1 with scenarios/cartpole.toml on 2 workers (seed 0).

    python benchmarks/bench_evaluation.py [--genomes 100] [--episodes 3] [--steps 300]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from spatial_snn.evo import seeding
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.sim.network import set_threads, warmup
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.tasks.backends import make_batch
from spatial_snn.tasks.evaluation import Task, WorkerPool, rollout


def raw_rate(task: Task, n_envs: int, steps: int) -> float:
    """Environment steps per second with random actions, no network, lockstep as in rollout."""
    envs = make_batch(task.backend, task.env_id, task.env_kwargs, task.max_episode_steps, range(n_envs)).envs
    rng = np.random.default_rng(0)
    for k, e in enumerate(envs):
        e.reset(seed=k)
        e.action_space.seed(int(rng.integers(1 << 30)))
    active = np.ones(n_envs, bool)
    done = 0
    t0 = time.perf_counter()
    for _ in range(steps):
        if not active.any():
            break
        for b in np.flatnonzero(active):
            _, _, term, trunc, _ = envs[b].step(envs[b].action_space.sample())
            done += 1
            if term or trunc:
                envs[b].reset()
    return done / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--genomes", type=int, default=100)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--substeps", type=int, default=64)
    ap.add_argument("--steps", type=int, default=1000, help="episode cap for the measurement")
    ap.add_argument("--skip-cartpole", action="store_true")
    args = ap.parse_args()

    set_threads(1)
    warmup()
    # gymnasium throughout, as measured before EnvPool (bench_envpool.py compares the backends)
    sc = scenario_from_dict({"env": {"id": args.env, "backend": "gymnasium"}, "network": {"substeps": args.substeps}})
    setup = resolve(sc, dim=2, seed=0, check=False)
    task, n_in, n_out = setup.task, setup.n_inputs, setup.n_outputs
    spec = GenomeSpec.reference(2)
    genomes = [random_genome(spec, n_in, n_out, seeding.variation_rng(0, 0, i)) for i in range(args.genomes)]
    seeds = seeding.train_seeds(0, 0, args.episodes)
    n_envs = args.genomes * args.episodes

    raw = raw_rate(task, n_envs, 200)
    rollout(task, genomes, seeds, cap=2)  # environments made once, as in a run
    t0 = time.perf_counter()
    ev1 = rollout(task, genomes, seeds, cap=args.steps)
    t1 = time.perf_counter() - t0
    rate1 = ev1.env_steps / t1
    with WorkerPool(2) as pool:
        pool.run(task, genomes, seeds, cap=2)  # start workers, make their environments
        t0 = time.perf_counter()
        ev2 = pool.run(task, genomes, seeds, cap=args.steps)
        t2 = time.perf_counter() - t0
    rate2 = ev2.env_steps / t2
    assert np.array_equal(ev1.returns, ev2.returns), "1 and 2 workers disagree"
    spikes_per_step = ev1.counters[:, 0].sum() / ev1.env_steps
    print(f"\n{args.env}: {args.genomes} genomes x {args.episodes} episodes, {args.substeps} sub-steps/step")
    print(f"{'measure':44s} {'value':>12s}")
    print(f"{'raw env rate, random actions (steps/s)':44s} {raw:12.0f}")
    print(f"{'evaluation, 1 worker (steps/s)':44s} {rate1:12.0f}")
    print(f"{'evaluation, 2 workers (steps/s)':44s} {rate2:12.0f}")
    print(f"{'1 worker / raw':44s} {rate1 / raw:12.2f}")
    print(f"{'2 workers / 1 worker':44s} {rate2 / rate1:12.2f}")
    print(f"{'vs published code (9 steps/s), 2 workers':44s} {rate2 / 9:12.0f}x")
    print(f"{'env steps measured':44s} {ev1.env_steps:12d}")
    print(f"{'spikes per env step (all networks)':44s} {spikes_per_step:12.0f}")

    if not args.skip_cartpole:
        from spatial_snn.runs.runner import evolve
        from spatial_snn.runs.scenarios import load_scenario

        t0 = time.perf_counter()
        res = evolve(load_scenario("scenarios/cartpole.toml"), dim=2, seed=0, workers=2)
        print(
            f"\nCartPole-v1 (scenarios/cartpole.toml, 2D, seed 0, 2 workers): test {res.test_score:.1f} "
            f"over {res.test_returns.size} episodes after {len(res.history['best'])} generations, "
            f"{res.env_steps} env steps, {time.perf_counter() - t0:.1f} s wall clock"
        )


if __name__ == "__main__":
    main()
