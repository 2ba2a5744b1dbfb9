"""What a run costs before its first generation: the scenario check and degree calibration.

These were wall-clock assertions in the tests ("check_scenario within 30 s",
"calibration of a large network is fast"); the tests now check behaviour and
the speed is measured here.

Rows:

- ``check_scenario(<task>)``: the one-step check of ``scenarios/<task>.toml``
  in 2D (make the env, observation bounds from ``bounds_episodes`` random
  episodes, one step through a tiny network), against one training episode
  of one random genome of the scenario's own network (``rollout``), the unit
  a run is made of.
- ``calibrate <n> neurons``: ``GenomeSpec(mean_degree=6).resolved_rule()`` for
  ``n`` uniform 3D neurons (the search for the length that gives the degree;
  its cache is cleared before every call), against drawing one genome with the
  calibrated rule (``random_genome``, no calibration inside).

Each row is the best of ``--repeats`` in this one process, after one warm-up
call (imports and numba compilation excluded); wall and process-CPU seconds.
CPU time is the better figure on a shared machine; the ratio column uses CPU.

    python benchmarks/bench_setup.py [--tasks cartpole hopper] [--sizes 3000 30000] [--repeats 3]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from spatial_snn import GenomeSpec
from spatial_snn.runs.scenarios import load_scenario
from spatial_snn.runs.setup import check_scenario, resolve
from spatial_snn.space import calibration
from spatial_snn.space.layout import random_genome
from spatial_snn.space.rules import ConnectivityRule
from spatial_snn.tasks.evaluation import rollout

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def best_of(fn, repeats: int) -> tuple[float, float]:
    """(wall, cpu) seconds of the fastest of ``repeats`` calls, after one warm-up call."""
    fn()
    runs = []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    return min(runs, key=lambda r: r[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tasks", nargs="+", default=["cartpole", "hopper"])
    ap.add_argument("--sizes", nargs="+", type=int, default=[3000, 30000])
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()

    print(f"{'row':<28} {'wall s':>8} {'cpu s':>8}   {'baseline':<26} {'wall s':>8} {'cpu s':>8} {'ratio':>7}")
    for task in args.tasks:
        sc = load_scenario(SCENARIOS / f"{task}.toml")
        wall, cpu = best_of(lambda sc=sc: check_scenario(sc, dim=2), args.repeats)
        setup = resolve(sc, dim=2)
        t = setup.task
        genome = random_genome(setup.spec, setup.n_inputs, setup.n_outputs, np.random.default_rng(0))
        b_wall, b_cpu = best_of(lambda t=t, g=genome: rollout(t, [g], [0]), args.repeats)
        print(
            f"{'check_scenario(' + task + ')':<28} {wall:8.3f} {cpu:8.3f}   {'one episode, one genome':<26} "
            f"{b_wall:8.3f} {b_cpu:8.3f} {cpu / b_cpu:7.1f}"
        )
    for n in args.sizes:
        spec = GenomeSpec(
            n_hidden=n,
            dim=3,
            placement="uniform",
            mean_degree=6.0,
            rule=ConnectivityRule(io_distance=None, self_distance=None),
        )

        def calibrate(spec=spec):
            calibration.calibrated_rule.cache_clear()  # resolved_rule() caches per spec
            return spec.resolved_rule()

        wall, cpu = best_of(calibrate, args.repeats)
        drawn = GenomeSpec(n_hidden=n, dim=3, placement="uniform", rule=calibrate())
        b_wall, b_cpu = best_of(lambda spec=drawn: random_genome(spec, 4, 2, np.random.default_rng(0)), args.repeats)
        print(
            f"{f'calibrate {n} neurons':<28} {wall:8.3f} {cpu:8.3f}   {'random_genome':<26} "
            f"{b_wall:8.3f} {b_cpu:8.3f} {cpu / b_cpu:7.2f}"
        )


if __name__ == "__main__":
    main()
