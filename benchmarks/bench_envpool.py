"""Evaluation on EnvPool against gymnasium, and against the bare physics.

Workload (issue 12): 100 random reference genomes (2D) x 3 episodes, at 16 and
64 sub-steps, on Hopper-v5 and HalfCheetah-v5; every episode capped at
``--cap`` environment steps (HalfCheetah never ends by itself). Each cell is
evaluated on gymnasium and on EnvPool with 1 worker (in this process) and
2 worker processes, and on EnvPool with 1 process and EnvPool's own 2
threads. The bare physics rate is ``mujoco.mj_step(model, data, nstep=frame_skip)``
on the task's own model (gymnasium's), random controls, no Python around it
but the loop: environment steps per second. "Step alone" rows time the
environments without network or rollout loop (300 environments, 100 steps of
the same random actions): the ceiling of each backend.

The machine is shared, so the measurements of one cell are interleaved
(gymnasium, EnvPool, ..., physics, repeated ``--repeats`` times) and the
ratios are taken within a repeat, then the median over repeats is reported.
EnvPool rates include making its batch (one per rollout, seeded per episode).

    python benchmarks/bench_envpool.py [--repeats 2] [--cap 100] [--tasks Hopper-v5 HalfCheetah-v5]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import gymnasium
import mujoco
import numpy as np

from spatial_snn.evo import seeding
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.runs.setup import resolve
from spatial_snn.sim.network import set_threads, warmup
from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.tasks.evaluation import WorkerPool, rollout


def physics_rate(env_id: str, steps: int = 5000) -> float:
    """Environment steps per second of bare ``mj_step(model, data, nstep=frame_skip)``."""
    env = gymnasium.make(env_id)
    model, data, skip = env.unwrapped.model, env.unwrapped.data, env.unwrapped.frame_skip
    rng = np.random.default_rng(0)
    ctrl = rng.uniform(-1, 1, (steps, model.nu)) * 0.5
    mujoco.mj_resetData(model, data)
    t0 = time.perf_counter()
    for k in range(steps):
        data.ctrl[:] = ctrl[k]
        mujoco.mj_step(model, data, nstep=skip)
        if k % 1000 == 999:
            mujoco.mj_resetData(model, data)
    rate = steps / (time.perf_counter() - t0)
    env.close()
    return rate


def bare_step_rates(env_id: str, n_envs: int = 300, steps: int = 100) -> tuple[float, float, float]:
    """Environment steps/s of the environments alone (same random actions, no network, no rollout loop):
    one EnvPool batch stepped in one call per step, gymnasium environments one by one; and
    EnvPool's batch creation in seconds per environment."""
    import envpool

    rng = np.random.default_rng(0)
    gyms = [gymnasium.make(env_id) for _ in range(n_envs)]
    actions = (0.5 * rng.uniform(-1, 1, (steps, n_envs, *gyms[0].action_space.shape))).astype(np.float32)
    t0 = time.perf_counter()
    pool = envpool.make_gymnasium(
        env_id, num_envs=n_envs, batch_size=n_envs, num_threads=1, env_seed=list(range(n_envs))
    )
    pool.reset()
    create = (time.perf_counter() - t0) / n_envs
    ids = np.arange(n_envs, dtype=np.int32)
    t0 = time.perf_counter()
    for k in range(steps):
        pool.step(actions[k], env_id=ids)
    pool_rate = n_envs * steps / (time.perf_counter() - t0)
    pool.close()
    for b, env in enumerate(gyms):
        env.reset(seed=b)
    t0 = time.perf_counter()
    for k in range(steps):
        for b, env in enumerate(gyms):
            env.step(actions[k, b])  # episodes that end keep stepping: the physics still runs
    gym_rate = n_envs * steps / (time.perf_counter() - t0)
    for env in gyms:
        env.close()
    return pool_rate, gym_rate, create


def _timed(run) -> tuple[float, object]:
    t0 = time.perf_counter()
    ev = run()
    return ev.env_steps / (time.perf_counter() - t0), ev


def bench_cell(env_id: str, substeps: int, genomes: list, seeds, cap: int, repeats: int, pool2: WorkerPool) -> dict:
    """Rates (env steps/s) of every configuration of one (task, sub-steps) cell, per repeat."""
    sc = scenario_from_dict({"env": {"id": env_id, "backend": "gymnasium"}, "network": {"substeps": substeps}})
    gym = resolve(sc, 2, 0, check=False).task
    pool = dataclasses.replace(gym, backend="envpool")
    threads = dataclasses.replace(pool, env_threads=2)
    configs = {
        "gymnasium, 1 worker": lambda: rollout(gym, genomes, seeds, cap),
        "envpool, 1 worker": lambda: rollout(pool, genomes, seeds, cap),
        "envpool, 1 worker x 2 threads": lambda: rollout(threads, genomes, seeds, cap),
        "gymnasium, 2 workers": lambda: pool2.run(gym, genomes, seeds, cap),
        "envpool, 2 workers": lambda: pool2.run(pool, genomes, seeds, cap),
    }
    for task in (gym, pool):  # make environments, start workers, compile: not timed
        rollout(task, genomes[:2], seeds, 2)
        pool2.run(task, genomes, seeds, 2)
    rates = {name: [] for name in (*configs, "physics", "envpool step alone", "gymnasium step alone")}
    create = []
    steps = {}
    for _ in range(repeats):
        for name, run in configs.items():
            rate, ev = _timed(run)
            rates[name].append(rate)
            steps.setdefault(name.split(",")[0], ev.env_steps)
        rates["physics"].append(physics_rate(env_id))
        pool_rate, gym_rate, seconds = bare_step_rates(env_id)
        rates["envpool step alone"].append(pool_rate)
        rates["gymnasium step alone"].append(gym_rate)
        create.append(seconds)
    return {"rates": {k: np.array(v) for k, v in rates.items()}, "steps": steps, "create": np.median(create)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tasks", nargs="+", default=["Hopper-v5", "HalfCheetah-v5"])
    ap.add_argument("--substeps", nargs="+", type=int, default=[16, 64])
    ap.add_argument("--genomes", type=int, default=100)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--cap", type=int, default=100, help="environment steps per episode at most")
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()

    set_threads(1)
    warmup()
    t_start = time.perf_counter()
    with WorkerPool(2) as pool2:
        for env_id in args.tasks:
            sc = scenario_from_dict({"env": {"id": env_id, "backend": "gymnasium"}})
            setup = resolve(sc, 2, 0, check=False)
            n_in, n_out = setup.n_inputs, setup.n_outputs
            spec = GenomeSpec.reference(2)
            genomes = [random_genome(spec, n_in, n_out, seeding.variation_rng(0, 0, i)) for i in range(args.genomes)]
            seeds = seeding.train_seeds(0, 0, args.episodes)
            for substeps in args.substeps:
                cell = bench_cell(env_id, substeps, genomes, seeds, args.cap, args.repeats, pool2)
                r = cell["rates"]
                print(
                    f"\n{env_id}, {substeps} sub-steps, {args.genomes} genomes x {args.episodes} episodes, "
                    f"cap {args.cap}; env steps: {cell['steps']}"
                )
                for name, v in r.items():
                    runs = ", ".join(f"{x:.0f}" for x in v)
                    print(f"  {name:32s} {np.median(v):9.0f} env steps/s  (repeats: {runs})")
                speedup = np.median(r["envpool, 1 worker"] / r["gymnasium, 1 worker"])
                speedup2 = np.median(r["envpool, 2 workers"] / r["gymnasium, 2 workers"])
                threads = np.median(r["envpool, 1 worker x 2 threads"] / r["envpool, 1 worker"])
                workers = np.median(r["envpool, 2 workers"] / r["envpool, 1 worker"])
                of_physics = np.median(r["envpool, 1 worker"] / r["physics"])
                print(
                    f"  EnvPool / gymnasium: {speedup:.2f}x on 1 worker, {speedup2:.2f}x on 2 workers "
                    f"(floor 1.8x on 1 worker at 16 sub-steps)"
                )
                ceiling = np.median(r["envpool step alone"] / r["gymnasium step alone"])
                alone = np.median(r["envpool step alone"] / r["physics"])
                print(
                    f"  EnvPool 1 worker / bare physics: {of_physics:.2f} (floor 0.6); "
                    f"2 EnvPool threads / 1: {threads:.2f}x; 2 workers / 1: {workers:.2f}x"
                )
                print(
                    f"  environments alone: EnvPool / gymnasium {ceiling:.2f}x, EnvPool / bare physics {alone:.2f}; "
                    f"EnvPool batch creation {1e3 * cell['create']:.1f} ms per environment"
                )
    print(f"\ntotal {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
