"""The README's first run, timed as a user sees it: ``spatial-snn evolve scenarios/cartpole.toml``.

For each seed, runs the command in a fresh process (imports, start-up,
workers, the run, the 100-episode test) and prints the generations and
environment steps it took, the run's own clock (``wall_time`` in the
archive: the generations only) and the command's wall clock. The first seed
also runs once with an empty numba cache (``NUMBA_CACHE_DIR`` in a temporary
folder), as on a fresh clone, where the kernels are compiled on first use.
Prints the load average, since the machine may be shared.

    python benchmarks/bench_cartpole.py [--seeds 0 1 2] [--dim 2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from spatial_snn.store.run_reader import open_run

ROOT = Path(__file__).resolve().parent.parent


def run(seed: int, dim: int, out: Path, env: dict) -> dict:
    """Time one ``evolve`` command; return what it took."""
    t0 = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "spatial_snn.cli",
            "evolve",
            "scenarios/cartpole.toml",
            "--dim",
            str(dim),
            "--seed",
            str(seed),
            "--out",
            str(out),
            "--overwrite",
        ],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )
    command = time.perf_counter() - t0
    with open_run(out) as r:
        h = r.history
        champion = r.champion()
        return {
            "generations": r.n_generations,
            "env_steps": int(h["env_steps"][-1]),
            "run_clock": float(h["wall_time"][-1]),
            "command": command,
            "test": float(champion[1]["test_returns"].mean()),
        }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--dim", type=int, default=2)
    args = ap.parse_args()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    with tempfile.TemporaryDirectory() as tmp:
        rows = [
            (
                f"seed {args.seeds[0]}, empty numba cache",
                run(args.seeds[0], args.dim, Path(tmp) / "cold.h5", {**env, "NUMBA_CACHE_DIR": f"{tmp}/cache"}),
            )
        ]
        rows += [(f"seed {k}", run(k, args.dim, Path(tmp) / f"s{k}.h5", env)) for k in args.seeds]
    print(f"{'':28s} {'generations':>11s} {'env steps':>10s} {'test':>6s} {'run clock':>9s} {'command':>8s}")
    for label, r in rows:
        print(
            f"{label:28s} {r['generations']:11d} {r['env_steps']:10,d} {r['test']:6.1f} {r['run_clock']:8.1f}s "
            f"{r['command']:7.1f}s"
        )
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
