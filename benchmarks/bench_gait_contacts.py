"""What reading foot contacts costs a gymnasium rollout (the gait descriptor of MAP-Elites).

    PYTHONPATH=. python benchmarks/bench_gait_contacts.py > benchmarks/bench_gait_contacts.txt

Ten random Hopper-v5 genomes of ``scenarios/variants/hopper-qd-gait.toml``
(2D, seed 0) on 4 episodes of at most 200 steps, in this process, with and
without ``Task.feet``; best of ``--repeats`` wall times, interleaved. The
returns must be identical (reading contacts changes nothing).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time

import numpy as np

from spatial_snn.evo.evolution import GeneticAlgorithm
from spatial_snn.runs.scenarios import load_scenario
from spatial_snn.runs.setup import resolve
from spatial_snn.tasks.evaluation import rollout


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    a = parser.parse_args(argv)
    sc = load_scenario("scenarios/variants/hopper-qd-gait.toml")
    setup = resolve(sc, 2, 0, check=False)
    ga = GeneticAlgorithm(sc.evolution, setup.spec, sc.mutation, setup.n_inputs, setup.n_outputs, 0)
    genomes = ga.initial().genomes[:10]
    with_feet = dataclasses.replace(setup.task, max_episode_steps=200)
    without = dataclasses.replace(with_feet, feet=())
    seeds = [2, 4, 6, 8]
    rollout(with_feet, genomes[:1], seeds[:1])  # compile the kernels, make the environments
    times = {"with feet": [], "without": []}
    for _ in range(a.repeats):
        for name, task in (("without", without), ("with feet", with_feet)):
            t = time.perf_counter()
            ev = rollout(task, genomes, seeds)
            times[name].append(time.perf_counter() - t)
            times[name + " returns"] = ev.returns
            times[name + " steps"] = ev.env_steps
    assert np.array_equal(times["with feet returns"], times["without returns"])
    best = {k: min(times[k]) for k in ("without", "with feet")}
    steps = times["without steps"]
    print(f"Hopper-v5, 10 genomes x 4 episodes, {steps} environment steps, best of {a.repeats}")
    for k, v in best.items():
        print(f"{k:<10} {v:7.3f} s  ({steps / v:8.0f} steps/s)")
    print(f"ratio with / without feet: {best['with feet'] / best['without']:.3f} (returns identical)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
