"""Search-space sizes of the shipped champions and the codecs' cost per generation.

    PYTHONPATH=. python benchmarks/bench_codecs.py

For each champion: hidden neurons, synapses, the gene-vector length with all
groups moving (weights, LIF parameters, positions) and with weights only, the
EC candidate edges, and the time to decode a population of 64 candidates
(gene vectors, EC masks) into genomes, best of ``--repeats``.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from spatial_snn.evo.edge_codec import EdgeCodec
from spatial_snn.evo.gene_vector import GeneVector, GeneVectorSpec
from spatial_snn.space.layout import ParameterRanges
from spatial_snn.store.genome_io import load_genome

CHAMPIONS = (
    "genomes/hopper-2d.h5",
    "genomes/swimmer-2d.h5",
    "genomes/halfcheetah-2d.h5",
    "genomes/walker2d-2d.h5",
    "genomes/ant-2d.h5",
)
POP = 64


def _best(fn, repeats: int) -> float:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return min(out)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    a = parser.parse_args(argv)
    print(
        f"{'champion':<28} {'neurons':>7} {'synapses':>8} {'genes all':>9} {'weights':>7} {'EC edges':>8} "
        f"{'decode 64 vectors':>17} {'decode 64 masks':>15}"
    )
    for path in CHAMPIONS:
        g = load_genome(path)[0]
        full = GeneVector(g, GeneVectorSpec(("weights", "lif", "positions")), ParameterRanges())
        weights = GeneVector(g, GeneVectorSpec(("weights",)), ParameterRanges())
        edges = EdgeCodec(g, "spatial")
        rng = np.random.default_rng(0)
        xs = full.encode() + rng.normal(0, 0.01, (POP, full.size))
        masks = rng.random((POP, edges.size)) < edges.initial_probabilities()
        t_vec = _best(lambda full=full, xs=xs: full.decode_all(xs), a.repeats)
        t_mask = _best(lambda edges=edges, masks=masks: edges.decode_all(masks), a.repeats)
        print(
            f"{path:<28} {g.n:>7} {g.n_synapses:>8} {full.size:>9} {weights.size:>7} {edges.size:>8} "
            f"{1e3 * t_vec:>14.1f} ms {1e3 * t_mask:>12.1f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
