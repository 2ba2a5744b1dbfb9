"""What a strategy library would cost us: install size, import time, optimiser time per generation.

Runs in the separate environment of ``strategies_vs_evosax.py`` (jax, evosax
and cma installed there, not in spatial-snn):

    PYTHONPATH=. ../es-venv/bin/python benchmarks/bench_strategies.py

* install size: the files of every distribution in the dependency closure of
  ``evosax`` and of ``cma`` (from their installed ``RECORD``), and the part
  of it that spatial-snn's own environment does not already have (asked of
  ``--project-python``, default the ``python`` on PATH);
* import time: a fresh interpreter, best of ``--repeats``, for ``numpy``
  alone and for each library (the numpy share included in each);
* optimiser time per generation (ask + tell, no evaluation), population 64,
  best of ``--repeats`` runs of ``--generations``: ours (numpy) and evosax
  (jit-compiled, compile time shown apart, float32 as it ships), and pycma's
  separable CMA-ES (``CMA_diagonal=True``).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import time
from importlib import metadata

import numpy as np

POP = 64


def _closure(name: str) -> set[str]:
    """Canonical names of ``name`` and every installed distribution it requires (extras skipped)."""
    seen, todo = set(), [name]
    while todo:
        n = re.sub(r"[-_.]+", "-", todo.pop()).lower()
        if n in seen:
            continue
        try:
            dist = metadata.distribution(n)
        except metadata.PackageNotFoundError:
            continue
        seen.add(n)
        for req in dist.requires or []:
            if "extra ==" in req:
                continue
            todo.append(re.split(r"[ ;<>=!~\[(]", req.strip(), maxsplit=1)[0])
    return seen


def _size_mb(names: set[str]) -> float:
    total = 0
    for n in names:
        for f in metadata.distribution(n).files or []:
            p = f.locate()
            if p.is_file():
                total += p.stat().st_size
    return total / 1e6


def _installed_in(python: str, names: set[str]) -> set[str]:
    code = (
        "import sys, importlib.metadata as m\nfor n in sys.argv[1:]:\n    try:\n"
        "        m.distribution(n); print(n)\n    except m.PackageNotFoundError:\n        pass\n"
    )
    out = subprocess.run([python, "-c", code, *sorted(names)], capture_output=True, text=True, check=True)
    return set(out.stdout.split())


def _import_time(statement: str, repeats: int) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return min(
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
        for _ in range(repeats)
    )


def _best(fn, repeats: int) -> float:
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def _ours(module, params, n: int, generations: int):
    def run():
        state = module.init(params, np.zeros(n))
        for g in range(generations):
            x, state = module.ask(state, params, np.random.default_rng(g))
            state = module.tell(state, params, x, -np.sum(x * x, axis=1))

    return run


def _evosax(es, params, n: int, generations: int):
    import jax
    import jax.numpy as jnp

    def run():
        key = jax.random.key(0)
        state = es.init(key, jnp.zeros(n), params)
        for _ in range(generations):
            key, k1, k2 = jax.random.split(key, 3)
            x, state = es.ask(k1, state, params)
            state, _ = es.tell(k2, x, jnp.sum(x * x, axis=1), state, params)
        jax.block_until_ready(state.mean)

    return run


def _pycma(n: int, generations: int):
    import cma

    def run():
        es = cma.CMAEvolutionStrategy(
            np.zeros(n),
            0.1,
            {"CMA_diagonal": True, "popsize": POP, "verbose": -9, "seed": 1, "maxiter": generations + 1},
        )
        for _ in range(generations):
            x = es.ask()
            es.tell(x, [float(np.sum(np.square(v))) for v in x])

    return run


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--generations", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--project-python", default=shutil.which("python") or "python")
    a = parser.parse_args(argv)

    import jax
    import optax

    from spatial_snn.evo.strategies import ars, ec, open_es, pgpe, sep_cma_es
    from spatial_snn.evo.strategies.optimizers import Optimizer

    print(
        f"python {sys.version.split()[0]}, numpy {np.__version__}, jax {jax.__version__}, "
        f"evosax {metadata.version('evosax')}, cma {metadata.version('cma')}"
    )
    print("\n## Install size (MB of installed files)")
    for lib in ("evosax", "cma"):
        names = _closure(lib)
        have = _installed_in(a.project_python, names)
        new = names - have
        print(
            f"{lib:<8} closure {len(names):>2} distributions {_size_mb(names):8.1f} MB; "
            f"new to spatial-snn: {len(new):>2} distributions {_size_mb(new):8.1f} MB "
            f"(largest: {', '.join(sorted(new, key=lambda n: -_size_mb({n}))[:4])})"
        )

    print(f"\n## Import time (fresh interpreter, best of {a.repeats})")
    for label, stmt in (
        ("numpy", "import numpy"),
        ("spatial_snn.evo.strategies", "import spatial_snn.evo.strategies"),
        ("cma", "import cma"),
        ("evosax.algorithms", "import evosax.algorithms"),
    ):
        print(f"{label:<28} {_import_time(stmt, a.repeats):6.3f} s")

    import evosax.algorithms as ea
    from evosax.core.optimizer import clipup

    print(
        f"\n## Optimiser time per generation (ask + tell, population {POP}, best of {a.repeats} x "
        f"{a.generations} generations), ms"
    )
    print(f"{'strategy':<12} {'genes':>7} {'ours':>9} {'evosax':>9} {'(compile)':>10} {'pycma sep':>10}")
    for n in a.dims:
        sol = np.zeros(n, np.float32)
        cases = [
            (
                "open_es",
                open_es,
                open_es.Params(population=POP, sigma=0.1, optimizer=Optimizer("adam", 0.01)),
                ea.Open_ES(POP, sol, optimizer=optax.adam(0.01), std_schedule=optax.constant_schedule(0.1)),
                None,
            ),
            (
                "pgpe",
                pgpe,
                pgpe.Params(population=POP),
                ea.PGPE(POP, sol, optimizer=clipup(0.01, max_velocity=0.02)),
                None,
            ),
            (
                "ars",
                ars,
                ars.Params(directions=POP // 2, top_directions=POP // 4),
                ea.ARS(POP, sol, optimizer=optax.sgd(0.02)),
                None,
            ),
            ("sep_cma_es", sep_cma_es, sep_cma_es.Params(population=POP), ea.Sep_CMA_ES(POP, sol), "pycma"),
            ("ec", ec, ec.Params(population=POP), None, None),
        ]
        for label, module, params, es, other in cases:
            if module is ec:
                ours_ms = _best(lambda n=n, p=params: _ec_run(p, n, a.generations), a.repeats)
            else:
                ours_ms = _best(_ours(module, params, n, a.generations), a.repeats)
            line = f"{label:<12} {n:>7} {1e3 * ours_ms / a.generations:9.2f}"
            if es is not None:
                es_params = es.default_params
                run = _evosax(es, es_params, n, a.generations)
                t = time.perf_counter()
                run()
                first = time.perf_counter() - t
                best = _best(run, a.repeats)
                line += f" {1e3 * best / a.generations:9.2f} {first - best:9.2f}s"
            else:
                line += f" {'-':>9} {'-':>10}"
            if other == "pycma":
                line += f" {1e3 * _best(_pycma(n, a.generations), 1) / a.generations:10.2f}"
            print(line, flush=True)
    return 0


def _ec_run(params, n: int, generations: int) -> None:
    from spatial_snn.evo.strategies import ec

    state = ec.init(params, np.full(n, 0.5))
    for g in range(generations):
        k, state = ec.ask(state, params, np.random.default_rng(g))
        state = ec.tell(state, params, k, k[:, : n // 2].sum(axis=1).astype(float))


if __name__ == "__main__":
    sys.exit(main())
