"""Environment steps per second of a short run per search strategy, and the optimiser's share of its time.

    PYTHONPATH=. nice -n 10 python benchmarks/bench_search_run.py --steps 200000 --workers 2 \
        --out benchmarks/bench_search_run.txt

Each arm is a whole run (``evolve``, seed 0, no archive) of a shipped Swimmer
scenario with ``protocol.max_env_steps`` set to ``--steps``: today's GA
(``scenarios/swimmer.toml``), OpenES (``scenarios/variants/swimmer-open-es.toml``)
and EC with the spatial prior (swimmer-open-es.toml with ``strategy = "ec"``).
The optimiser's time is measured in the parent around the calls the loop
makes: for the GA ``GeneticAlgorithm.initial`` and ``ask`` (selection,
crossover, mutation, pruning); for a strategy ``SearchDriver.ask`` (sampling
and decoding the candidates into genomes, the template's set-up included)
and ``tell`` (the update). Steps per second = all environment steps
(training and held-out tests) / wall time of the run.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import os
import sys
import time

from spatial_snn.evo.evolution import GeneticAlgorithm
from spatial_snn.runs.runner import evolve
from spatial_snn.runs.scenarios import load_scenario
from spatial_snn.runs.searching import SearchDriver

ARMS = (
    ("ga", "scenarios/swimmer.toml", None),
    ("open_es", "scenarios/variants/swimmer-open-es.toml", None),
    ("ec (spatial)", "scenarios/variants/swimmer-open-es.toml", "ec"),
)


def _timed(owner, name: str, clock: dict) -> None:
    """Wrap ``owner.name`` so that its wall time adds to ``clock["seconds"]``."""
    fn = getattr(owner, name)

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            clock["seconds"] += time.perf_counter() - t

    setattr(owner, name, wrapper)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--out", help="also write the table here")
    args = parser.parse_args(argv)
    clock = {"seconds": 0.0}
    for owner, name in (
        (GeneticAlgorithm, "initial"),
        (GeneticAlgorithm, "ask"),
        (SearchDriver, "ask"),
        (SearchDriver, "tell"),
    ):
        _timed(owner, name, clock)
    rows = [
        f"# {' '.join(sys.argv)}",
        f"# load average at start: {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores, workers {args.workers}",
        "| arm | generations | env steps | wall s | env steps/s | optimiser s | optimiser share |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, path, strategy in ARMS:
        sc = load_scenario(path)
        sc = dataclasses.replace(sc, protocol=dataclasses.replace(sc.protocol, max_env_steps=args.steps))
        if strategy is not None:
            sc = dataclasses.replace(sc, search=dataclasses.replace(sc.search, strategy=strategy))
        clock["seconds"] = 0.0
        t = time.perf_counter()
        res = evolve(sc, seed=0, workers=args.workers)
        wall = time.perf_counter() - t  # the whole call: set-up, worker start, every generation
        steps = res.env_steps
        rows.append(
            f"| {label} | {len(res.history['best'])} | {steps:,} | {wall:.1f} | {steps / wall:,.0f} | "
            f"{clock['seconds']:.2f} | {100 * clock['seconds'] / wall:.1f} % |"
        )
        print(rows[-1], flush=True)
    text = "\n".join(rows) + "\n"
    if args.out:
        with open(args.out, "w") as f:
            f.write(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
