"""Generation time on the local worker pool vs a Dask LocalCluster of the same size.

Same run on both backends (same scenario and seed, so the same genomes and
episodes; the script checks the histories are identical): CartPole-v1,
population 100, 3 episodes, 64 sub-steps, reference network in 2D. The local
pool has ``--workers`` spawned processes; the cluster has as many worker
processes with one thread each. Generation 0 is left out of the comparison
(it includes starting the local pool); the cluster is started and warmed up
before timing. It also times a round of empty jobs on both, the fixed
cost per evaluation round that remains when the machine is busy. With ``--repeats`` > 1 the backends alternate and each
generation keeps its fastest time, which damps the noise of a shared machine.
Target: the cluster's overhead per generation stays under 5 %.

    python benchmarks/bench_cluster.py [--generations 8] [--repeats 3] [--workers 2]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import time

import numpy as np

from spatial_snn.distributed import dask_executor
from spatial_snn.network import warmup
from spatial_snn.runner import evolve
from spatial_snn.scenarios import scenario_from_dict

KEYS = ("best", "mean", "test", "env_steps")


def generation_times(sc, seed: int, **backend) -> tuple[np.ndarray, dict]:
    """Seconds per generation (from the callback's clock) and the history of one run."""
    stamps = [time.perf_counter()]
    res = evolve(sc, seed=seed, callback=lambda row: stamps.append(time.perf_counter()), **backend)
    return np.diff(stamps), res.history


def round_trip(ex: cf.Executor, jobs: int, repeats: int = 20) -> float:
    """Median seconds to run ``jobs`` empty jobs and collect them: the fixed cost of one evaluation round."""
    times = []
    for _ in range(repeats + 1):
        t0 = time.perf_counter()
        for fut in cf.as_completed([ex.submit(int, k) for k in range(jobs)]):
            fut.result()
        times.append(time.perf_counter() - t0)
    return float(np.median(times[1:]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--env", default="CartPole-v1")
    ap.add_argument("--population", type=int, default=100)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--substeps", type=int, default=64)
    ap.add_argument("--generations", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()

    from distributed import LocalCluster

    sc = scenario_from_dict({
        "name": "bench-cluster",
        "env": {"id": args.env},
        "network": {"substeps": args.substeps},
        "evolution": {"population": args.population, "generations": args.generations},
        "protocol": {"episodes": args.episodes, "test_every": args.generations, "test_episodes": 3},
    })
    warmup()
    print(f"{args.env}: population {args.population} x {args.episodes} episodes, {args.substeps} sub-steps, "
          f"{args.generations} generations, {args.workers} workers, seed {args.seed}")
    local, dask = [], []
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      dashboard_address=":0") as cluster:
        ex = dask_executor(cluster)
        for _ in range(args.repeats):
            t_local, h_local = generation_times(sc, args.seed, workers=args.workers)
            t_dask, h_dask = generation_times(sc, args.seed, executor=ex)
            for k in KEYS:
                np.testing.assert_array_equal(h_local[k], h_dask[k], err_msg=f"history differs: {k}")
            local.append(t_local)
            dask.append(t_dask)
        # each generation is one evaluation round (two when the champion is tested), 4 jobs per worker
        spawn = multiprocessing.get_context("spawn")
        with cf.ProcessPoolExecutor(args.workers, mp_context=spawn) as pool:
            latency = {"local pool": round_trip(pool, 4 * args.workers), "dask": round_trip(ex, 4 * args.workers)}
        ex.shutdown()
    local, dask = np.min(local, axis=0)[1:], np.min(dask, axis=0)[1:]

    print(f"\n{'generation':>10} {'local pool s':>13} {'dask s':>9} {'overhead':>9}")
    for g, (a, b) in enumerate(zip(local, dask, strict=True), start=1):
        print(f"{g:>10} {a:>13.3f} {b:>9.3f} {100 * (b - a) / a:>8.1f}%")
    total = 100 * (dask.sum() - local.sum()) / local.sum()
    per_gen = (dask.sum() - local.sum()) / len(local)
    print(f"{'total':>10} {local.sum():>13.3f} {dask.sum():>9.3f} {total:>8.1f}%")
    print(f"\ncluster overhead: {per_gen * 1e3:+.0f} ms per generation ({total:+.1f} %, target < 5 %); "
          f"histories identical; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    extra = latency["dask"] - latency["local pool"]
    print("fixed cost of one round of {} empty jobs: {}; the difference is {:.1f} % of a mean generation".format(
        4 * args.workers, ", ".join(f"{k} {v * 1e3:.1f} ms" for k, v in latency.items()),
        100 * extra / local.mean()))


if __name__ == "__main__":
    main()
