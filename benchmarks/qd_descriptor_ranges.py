"""Where the layout descriptors of a scenario's genomes lie: generation 0, and a chain of mutations.

The ranges of ``scenarios/variants/hopper-qd-layout.toml`` were chosen from
this (docs/scenario-provenance.md):

    PYTHONPATH=. python benchmarks/qd_descriptor_ranges.py > benchmarks/qd_descriptor_ranges.txt

For each scenario: the min / mean / max of every layout descriptor over the
GA's generation 0 (seed 0, 2D), and every 20th genome of a chain of 200
successive ``GeneticAlgorithm.vary`` mutants of its first genome (numpy
generator seeded 0).
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from spatial_snn.evo.evolution import GeneticAlgorithm
from spatial_snn.evo.map_elites import LAYOUT, layout_descriptor
from spatial_snn.runs.scenarios import load_scenario
from spatial_snn.runs.setup import resolve


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "scenarios", nargs="*", default=["scenarios/variants/hopper-qd-layout.toml", "scenarios/swimmer.toml"]
    )
    a = parser.parse_args(argv)
    for path in a.scenarios:
        sc = load_scenario(path)
        setup = resolve(sc, 2, 0, check=False)
        ga = GeneticAlgorithm(sc.evolution, setup.spec, sc.mutation, setup.n_inputs, setup.n_outputs, 0)
        genomes = ga.initial().genomes
        d = np.array([[layout_descriptor(g, n) for n in LAYOUT] for g in genomes])
        print(f"## {path}: {', '.join(LAYOUT)}")
        for label, v in (
            ("generation 0 min", d.min(0)),
            ("generation 0 mean", d.mean(0)),
            ("generation 0 max", d.max(0)),
        ):
            print(f"{label:<20} " + "  ".join(f"{x:9.1f}" for x in v))
        rng, g = np.random.default_rng(0), genomes[0]
        for k in range(1, 201):
            g = ga.vary(g, None, rng)
            if k % 20 == 0:
                print(f"{f'mutation {k}':<20} " + "  ".join(f"{layout_descriptor(g, n):9.1f}" for n in LAYOUT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
