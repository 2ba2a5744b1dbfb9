"""Time and memory to draw and build large random genomes.

Workload: ``GenomeSpec(n_hidden=n, dim=3, placement="uniform",
rule=ConnectivityRule(length=2.1, shape=2, io_distance=None,
self_distance=None))`` (mean recurrent out-degree ~48), 17 inputs, 6
outputs; ``random_genome`` then ``build``. Each size runs in a fresh
subprocess so that its peak resident set size is its own.

Columns: wall and CPU seconds of ``random_genome`` and of ``build``;
tracemalloc peak (numpy and Python allocations; cKDTree's C++ buffers are
not traced) and the process's peak RSS, both in MB; recurrent synapses per
neuron. CPU time is the better figure on a shared machine.

    python benchmarks/bench_build.py [--sizes 10000 100000 1000000] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
import tracemalloc

import numpy as np

from spatial_snn import GenomeSpec
from spatial_snn.space.connectivity import build
from spatial_snn.space.layout import random_genome
from spatial_snn.space.rules import ConnectivityRule


def spec_for(n: int) -> GenomeSpec:
    rule = ConnectivityRule(length=2.1, shape=2.0, io_distance=None, self_distance=None)
    return GenomeSpec(n_hidden=n, dim=3, placement="uniform", rule=rule)


def measure(n: int, seed: int, trace: bool) -> dict:
    """One size, in this process: times, peaks, degree."""
    spec = spec_for(n)
    if trace:
        tracemalloc.start()
    t0, c0 = time.perf_counter(), time.process_time()
    g = random_genome(spec, 17, 6, np.random.default_rng(seed))
    t1, c1 = time.perf_counter(), time.process_time()
    c = build(g)
    t2, c2 = time.perf_counter(), time.process_time()
    traced = tracemalloc.get_traced_memory()[1] / 1e6 if trace else float("nan")
    return {
        "n": n,
        "genome_wall": t1 - t0,
        "genome_cpu": c1 - c0,
        "build_wall": t2 - t1,
        "build_cpu": c2 - c1,
        "traced_mb": traced,
        "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3,
        "degree": c.recurrent.nnz / n,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-trace", action="store_true", help="skip tracemalloc (it slows numpy down a little)")
    ap.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(measure(args.child, args.seed, not args.no_trace)))
        return

    print(
        f"{'neurons':>9} {'genome s':>9} {'(cpu)':>7} {'build s':>8} {'(cpu)':>7} "
        f"{'traced MB':>10} {'RSS MB':>8} {'degree':>7}"
    )
    for n in args.sizes:
        cmd = [sys.executable, __file__, "--child", str(n), "--seed", str(args.seed)]
        if args.no_trace:
            cmd.append("--no-trace")
        r = json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)
        print(
            f"{r['n']:>9,} {r['genome_wall']:>9.2f} {r['genome_cpu']:>7.2f} {r['build_wall']:>8.2f} "
            f"{r['build_cpu']:>7.2f} {r['traced_mb']:>10.0f} {r['rss_mb']:>8.0f} {r['degree']:>7.1f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
