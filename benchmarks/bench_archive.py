"""What run identity costs: writing generations, opening a run, packing it.

Workload: a split run of ``G`` generations of ``P`` random genomes of the
reference preset in 2D (64 neurons, 17 input channels, 6 outputs), written
with ``RunWriter``. Times: mean seconds per generation written (each part is
built in memory, hashed with sha256 and committed, then ``index.h5``), and
``open_run`` three ways: with its index (every part's bytes are hashed and
the index's rows checked against them), without it (every part opened and
its stats read), and the CPU time of hashing the parts alone; then
``pack_run`` (which verifies every checksum first). CPU seconds are the
better figure on a shared machine.

    python benchmarks/bench_archive.py [--generations 30] [--population 100]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from spatial_snn.space.layout import GenomeSpec, random_genome
from spatial_snn.store import schema
from spatial_snn.store.archive import RunWriter
from spatial_snn.store.pack import pack_run
from spatial_snn.store.run_reader import open_run


def _generation(gen: int, population: list) -> dict:
    rng = np.random.default_rng(gen)
    n = len(population)
    stats = {
        "best": float(gen),
        "mean": 0.0,
        "test": np.nan,
        "env_steps": 1000.0 * (gen + 1),
        "wall_time": 1.0 * gen,
        "invalid_obs": 0.0,
    }
    return dict(
        population=population,
        fitness=rng.normal(size=(n, 2)),
        episode_returns=rng.normal(size=(n, 3)),
        episode_lengths=rng.integers(1, 1000, (n, 3)),
        episode_seeds=np.arange(3),
        counters=rng.integers(0, 10**6, (n, 3)),
        parents=rng.integers(-1, n, (n, 2)),
        origin=np.zeros(n, np.int8),
        stats=stats,
    )


def _timed(fn) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--generations", type=int, default=30)
    ap.add_argument("--population", type=int, default=100)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    population = [random_genome(GenomeSpec.reference(2, 64), 17, 6, rng) for _ in range(args.population)]
    with tempfile.TemporaryDirectory() as root:
        path = os.path.join(root, "run.h5")

        def write():
            with RunWriter(path, config={"bench": 1}, seed=0, dim=2, run_data={"obs_low": np.zeros(17)}) as w:
                for gen in range(args.generations):
                    w.write_generation(gen, **_generation(gen, population))

        wall, cpu = _timed(write)
        part = os.path.getsize(os.path.join(f"{path}.d", schema.generation_part(0))) / 1e6
        print(
            f"write: {wall / args.generations:.3f} s wall, {cpu / args.generations:.3f} s CPU per generation "
            f"({part:.3f} MB a part)"
        )
        wall, cpu = _timed(lambda: open_run(path).close())
        print(f"open_run with index.h5: {wall:.3f} s wall, {cpu:.3f} s CPU")
        parts = [os.path.join(f"{path}.d", schema.generation_part(g)) for g in range(args.generations)]
        wall, cpu = _timed(lambda: [schema.file_digest(p) for p in parts])
        print(f"  of which hashing the parts (sha256): {wall:.3f} s wall, {cpu:.3f} s CPU")
        index = os.path.join(f"{path}.d", schema.INDEX_PART)
        os.rename(index, index + ".away")
        wall, cpu = _timed(lambda: open_run(path).close())
        print(f"open_run without index.h5: {wall:.3f} s wall, {cpu:.3f} s CPU")
        os.rename(index + ".away", index)
        wall, cpu = _timed(lambda: pack_run(path))
        print(
            f"pack_run (verify, write, read back): {wall:.3f} s wall, {cpu:.3f} s CPU, "
            f"{os.path.getsize(path) / 1e6:.1f} MB"
        )


if __name__ == "__main__":
    main()
