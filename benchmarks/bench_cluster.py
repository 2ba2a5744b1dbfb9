"""Generation time on the local worker pool vs a Dask LocalCluster of the same size.

Same run on every backend (same scenario and seed, so the same genomes and
episodes; the script checks the histories are identical). Default workload:
Hopper-v5, population 50, 3 episodes, 64 sub-steps, reference network in 2D.
The local pool has ``--workers`` spawned processes; each cluster has as many
worker processes with one thread each, its scheduler and nannies in this
process (they share the cores with the workers, as on any one machine):

* ``dask, Dask defaults``: ``distributed.LocalCluster`` and
  ``dask_executor(cluster, quiet=False)``, Dask's diagnostic timers as shipped
  (the stack profiler is stopped in every variant);
* ``dask, quiet workers``: the same cluster, ``dask_executor(cluster)`` (the
  default: WarmWorker spaces out the workers' timers);
* ``dask, local_cluster()``: spatial-snn's cluster helper, scheduler and
  nannies quiet as well.

Two measurements:

``--mode paired`` (default): the run is made once on the local pool, recording
every evaluation batch; then, with one cluster alive at a time, each batch is
evaluated on the local pool and on the cluster back to back (the order
alternating between batches), and the results are checked identical. Both
sides of a pair see the same machine state, so the slow drifts of a shared
machine (+-6 % between whole runs here) cancel. The overhead is given against
the pool's evaluation time, a stricter base than the generation time (which
adds variation and bookkeeping).

``--mode runs``: whole runs through ``evolve()``, only one backend alive at a
time; generation 0 is left out; the backends take turns ``--repeats`` times and
each generation keeps its fastest time.

Both also time a round of empty jobs on each backend, the fixed cost per
evaluation round. Target: overhead per generation under 5 %.

    python benchmarks/bench_cluster.py [--mode paired|runs] [--env Hopper-v5] [--generations 6]
        [--repeats 3] [--workers 2] [--clusters defaults quiet local]
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import multiprocessing
import os
import time

import numpy as np

from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import scenario_from_dict
from spatial_snn.sim.network import warmup
from spatial_snn.tasks.distributed import dask_executor, local_cluster
from spatial_snn.tasks.evaluation import WorkerPool

KEYS = ("best", "mean", "test", "env_steps")


def generation_times(sc, seed: int, **backend) -> tuple[np.ndarray, dict]:
    """Seconds per generation (from the callback's clock) and the history of one run."""
    stamps = [time.perf_counter()]
    res = evolve(sc, seed=seed, callback=lambda row: stamps.append(time.perf_counter()), **backend)
    return np.diff(stamps), res.history


def record_batches(sc, seed: int, workers: int) -> list:
    """Run once on the local pool; every evaluation batch (task, genomes, seeds, cap)."""
    batches = []
    run = WorkerPool.run

    def recording(self, task, genomes, seeds, cap=None):
        batches.append((task, list(genomes), np.asarray(seeds), cap))
        return run(self, task, genomes, seeds, cap)

    WorkerPool.run = recording
    try:
        evolve(sc, seed=seed, workers=workers)
    finally:
        WorkerPool.run = run
    return batches


def paired(batches: list, pools: dict[str, WorkerPool], repeats: int) -> dict[str, float]:
    """Seconds each pool spends on all batches, each batch run on every pool back to back."""
    total = dict.fromkeys(pools, 0.0)
    for pool in pools.values():  # untimed: environments made, kernels warm
        pool.run(*batches[0])
    for i, (task, genomes, seeds, cap) in enumerate(batches * repeats):
        order = list(pools) if i % 2 == 0 else list(pools)[::-1]
        results = {}
        for name in order:
            t0 = time.perf_counter()
            results[name] = pools[name].run(task, genomes, seeds, cap)
            total[name] += time.perf_counter() - t0
        first, *others = results.values()
        for other in others:
            np.testing.assert_array_equal(first.returns, other.returns)
            np.testing.assert_array_equal(first.lengths, other.lengths)
    return total


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
    ap.add_argument("--mode", choices=("paired", "runs"), default="paired")
    ap.add_argument("--env", default="Hopper-v5")
    ap.add_argument("--population", type=int, default=50)
    ap.add_argument("--episodes", type=int, default=3)
    ap.add_argument("--substeps", type=int, default=64)
    ap.add_argument("--generations", type=int, default=6)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--clusters",
        nargs="+",
        choices=("defaults", "quiet", "local"),
        default=["defaults", "quiet", "local"],
        help="which clusters to compare with the pool",
    )
    args = ap.parse_args()

    from distributed import LocalCluster

    sc = scenario_from_dict(
        {
            "name": "bench-cluster",
            "env": {"id": args.env},
            "network": {"substeps": args.substeps},
            "evolution": {"population": args.population, "generations": args.generations},
            "protocol": {"episodes": args.episodes, "test_every": args.generations, "test_episodes": 3},
        }
    )
    warmup()
    print(
        f"{args.env}: population {args.population} x {args.episodes} episodes, {args.substeps} sub-steps, "
        f"{args.generations} generations, {args.workers} workers, seed {args.seed}"
    )
    n, jobs = args.workers, 4 * args.workers  # a generation is one round of 4 jobs per worker (two when tested)
    clusters = {
        "dask, Dask defaults": (
            lambda: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"),
            {"quiet": False},
        ),
        "dask, quiet workers": (
            lambda: LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"),
            {},
        ),
        "dask, local_cluster()": (lambda: local_cluster(n), {}),
    }
    names = {"defaults": "dask, Dask defaults", "quiet": "dask, quiet workers", "local": "dask, local_cluster()"}
    clusters = {names[k]: clusters[names[k]] for k in args.clusters}
    if args.mode == "paired":
        batches = record_batches(sc, args.seed, n)
        episodes = sum(int(b[2].size) * len(b[1]) for b in batches)
        print(
            f"{len(batches)} evaluation batches recorded ({episodes} episodes), each timed {args.repeats} times "
            "on the local pool and a cluster, back to back\n"
        )
        empty = f"round of {jobs} empty jobs"
        print(f"{'backend':>24} {'pool s':>8} {'cluster s':>10} {'overhead':>9} {empty:>22}")
        with WorkerPool(n) as local:
            for name, (make, options) in clusters.items():
                with make() as cluster:
                    ex = dask_executor(cluster, **options)
                    total = paired(batches, {"pool": local, "cluster": WorkerPool(executor=ex)}, args.repeats)
                    lat = round_trip(ex, jobs)
                    ex.shutdown()
                over = 100 * (total["cluster"] - total["pool"]) / total["pool"]
                print(
                    f"{name:>24} {total['pool']:>8.2f} {total['cluster']:>10.2f} {over:>+8.1f}% {1e3 * lat:>19.1f} ms"
                )
        print(f"\nresults identical on every backend; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return

    times = {"local pool": [], **{name: [] for name in clusters}}
    latency = {name: [] for name in times}
    reference = None
    spawn = multiprocessing.get_context("spawn")
    for _ in range(args.repeats):
        t, history = generation_times(sc, args.seed, workers=n)
        times["local pool"].append(t)
        reference = history
        with cf.ProcessPoolExecutor(n, mp_context=spawn) as pool:
            latency["local pool"].append(round_trip(pool, jobs))
        for name, (make, options) in clusters.items():
            with make() as cluster:
                ex = dask_executor(cluster, **options)
                t, history = generation_times(sc, args.seed, executor=ex)
                latency[name].append(round_trip(ex, jobs))
                ex.shutdown()
            for k in KEYS:
                np.testing.assert_array_equal(reference[k], history[k], err_msg=f"{name}: history differs: {k}")
            times[name].append(t)
    best = {name: np.min(t, axis=0)[1:] for name, t in times.items()}
    base = best["local pool"]

    print(f"\n{'backend':>24} {'s per generation':>17} {'overhead':>9} {'round of ' + str(jobs) + ' empty jobs':>22}")
    for name, t in best.items():
        lat = 1e3 * float(np.median(latency[name]))
        print(f"{name:>24} {t.mean():>17.3f} {100 * (t.sum() - base.sum()) / base.sum():>+8.1f}% {lat:>19.1f} ms")
    print("\nper generation (s):", "  ".join(f"{g}" for g in range(1, len(base) + 1)))
    for name, t in best.items():
        print(f"{name:>24}:", " ".join(f"{x:.3f}" for x in t))
    print(f"\nhistories identical on every backend; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")


if __name__ == "__main__":
    main()
