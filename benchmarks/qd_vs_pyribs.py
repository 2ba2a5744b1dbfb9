"""Our MAP-Elites archive and operators against pyribs 0.12 on the same inputs, and what pyribs would cost.

Runs in a separate environment with pyribs (not a spatial-snn dependency):

    python -m venv ../ribs-venv && ../ribs-venv/bin/pip install ribs==0.12.0
    PYTHONPATH=. ../ribs-venv/bin/python benchmarks/qd_vs_pyribs.py > benchmarks/qd_vs_pyribs.txt

* equality: 30 batches of 64 random candidates offered to our grid archive
  (2 descriptors, 10 x 12 bins) and to ``ribs.archives.GridArchive``, and to
  our CVT archive and ``CVTArchive`` (3 descriptors, 64 of our centroids,
  brute-force nearest neighbour); after every batch the cell indices, the
  statuses and every cell's occupancy, objective, measures and stored
  solution are compared. The iso-line and Gaussian operators are run from
  generators of the same seed on the same parents.
* cost: the distributions pyribs installs (from their ``RECORD``), those new
  to spatial-snn (asked of ``--project-python``), and the import time of
  ``ribs.archives`` + ``ribs.emitters`` and of ours in a fresh interpreter.
"""

from __future__ import annotations

import argparse
import shutil
import sys

import numpy as np

from benchmarks.bench_strategies import _closure, _import_time, _installed_in, _size_mb
from spatial_snn.evo import qd_archive as me

BATCHES, BATCH = 30, 64


def _batches(rng, dims, low, high):
    for _ in range(BATCHES):
        measures = rng.uniform(low - 0.1, high + 0.1, size=(BATCH, dims))  # some outside: clipped to the edge
        objective = np.round(rng.normal(size=BATCH), 1)  # rounded: ties inside a batch and with the archive
        yield objective, measures


def _compare(name, ours_index, theirs, rng, dims, low, high) -> list[str]:
    cells = me.empty(theirs.cells, dims)
    worst, n = 0.0, 0
    for b, (objective, measures) in enumerate(_batches(rng, dims, low, high)):
        index = ours_index(measures)
        refs = np.column_stack([np.full(BATCH, b), np.arange(BATCH)])
        cells, status = me.insert(cells, index, objective, measures, refs)
        add = theirs.add(refs.astype(np.float64), objective, measures)
        assert np.array_equal(theirs.index_of(measures), index), f"{name}: cell index differs in batch {b}"
        assert np.array_equal(add["status"], status), f"{name}: status differs in batch {b}"
        data = theirs.data()  # the occupied cells: index, solution, objective, measures
        order = np.argsort(data["index"])
        at = np.asarray(data["index"])[order]
        assert np.array_equal(at, np.flatnonzero(cells.occupied)), f"{name}: occupancy differs in batch {b}"
        assert np.array_equal(data["solution"][order].astype(np.int64), cells.elite[at]), f"{name}: elite differs"
        assert np.array_equal(data["objective"][order], cells.objective[at]), f"{name}: objective differs"
        worst = max(worst, float(np.max(np.abs(data["measures"][order] - cells.measures[at]), initial=0.0)))
        n += 1
    stats = theirs.stats
    assert abs(stats.qd_score - me.qd_score(cells)) < 1e-9 and abs(stats.coverage - me.coverage(cells)) < 1e-12
    return [
        f"{name:<5} {n} batches of {BATCH}: indices, statuses, occupancy, objectives, elites identical; "
        f"measures max |diff| {worst:.1e}; final coverage {me.coverage(cells):.3f}, QD-score {me.qd_score(cells):.1f} "
        f"(pyribs {stats.coverage:.3f}, {stats.qd_score:.1f})"
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project-python", default=shutil.which("python") or "python")
    parser.add_argument("--repeats", type=int, default=3)
    a = parser.parse_args(argv)
    import ribs
    from ribs.archives import CVTArchive, GridArchive
    from ribs.emitters.operators import GaussianOperator, IsoLineOperator

    print(f"python {sys.version.split()[0]}, numpy {np.__version__}, ribs {ribs.__version__}")
    print("\n## Equality on the same inputs")
    low, high, bins = np.array([0.0, -1.0]), np.array([1.0, 2.0]), (10, 12)
    grid = GridArchive(solution_dim=2, dims=bins, ranges=list(zip(low, high, strict=True)))
    out = _compare("grid", lambda m: me.grid_index(m, low, high, bins), grid, np.random.default_rng(1), 2, low, high)
    low3, high3 = np.zeros(3), np.ones(3)
    centroids = me.cvt_centroids(low3, high3, 64, 5000, 10, np.random.default_rng(2))
    cvt = CVTArchive(solution_dim=2, centroids=centroids, ranges=[(0.0, 1.0)] * 3, nearest_neighbors="brute_force")
    out += _compare("cvt", lambda m: me.nearest_centroid(m, centroids), cvt, np.random.default_rng(3), 3, low3, high3)
    parents, others = np.random.default_rng(4).normal(size=(2, 64, 1000))
    ours = me.iso_line(parents, others, 0.01, 0.2, np.random.default_rng(5))
    theirs = IsoLineOperator(0.01, 0.2, seed=5).ask(np.stack([parents, others]))
    out.append(f"iso-line  64 x 1000 genes: max |ours - pyribs| = {np.max(np.abs(ours - theirs)):.1e}")
    ours = me.gaussian(parents, 0.05, np.random.default_rng(6))
    theirs = GaussianOperator(0.05, seed=6).ask(parents)
    out.append(f"gaussian  64 x 1000 genes: max |ours - pyribs| = {np.max(np.abs(ours - theirs)):.1e}")
    print("\n".join(out))

    print("\n## What pyribs would cost")
    closure = _closure("ribs")
    have = _installed_in(a.project_python, closure)
    new = closure - have
    sizes = sorted(((_size_mb({n}), n) for n in new), reverse=True)
    print(f"ribs closure {len(closure)} distributions {_size_mb(closure):8.1f} MB")
    print(
        f"new to spatial-snn: {len(new)} distributions {_size_mb(new):8.1f} MB: "
        + ", ".join(f"{n} {mb:.1f}" for mb, n in sizes)
    )
    print(f"\n## Import time (fresh interpreter, best of {a.repeats})")
    for label, statement in [
        ("numpy", "import numpy"),
        ("spatial_snn.evo.qd_archive", "import spatial_snn.evo.qd_archive"),
        ("ribs.archives + ribs.emitters", "import ribs.archives, ribs.emitters"),
    ]:
        print(f"{label:<30} {_import_time(statement, a.repeats):.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
