"""Our numpy strategies against evosax's updates on the same samples.

Runs in a separate environment that has jax, evosax and cma (they are not
dependencies of spatial-snn; see docs/search.md):

    python -m venv ../es-venv && ../es-venv/bin/pip install evosax cma h5py
    PYTHONPATH=. ../es-venv/bin/python benchmarks/strategies_vs_evosax.py

For each strategy, evosax asks (its own jax random keys), both libraries are
told the same candidates and the same returns (evosax minimises, so it gets
the negated returns), and after every generation the two states are compared:
the largest relative difference of every state array over all generations
is printed. jax runs in float64. The output is committed beside this script
(``strategies_vs_evosax.txt``); ``tests/test_strategies.py`` checks the same
updates against transcriptions of the published equations without jax.
"""

from __future__ import annotations

import argparse
import sys
from importlib import metadata

import jax

jax.config.update("jax_enable_x64", True)

import evosax.algorithms as ea  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
import optax  # noqa: E402
from evosax.core.optimizer import clipup  # noqa: E402

from spatial_snn.evo.strategies import ars, open_es, pgpe, sep_cma_es  # noqa: E402
from spatial_snn.evo.strategies.optimizers import Optimizer  # noqa: E402


def objective(x: np.ndarray) -> np.ndarray:
    """A shifted Rastrigin-like return to maximise, (N,) from (N, n)."""
    z = x - 0.5
    return -np.sum(z * z - 0.5 * np.cos(2 * np.pi * z), axis=1)


def _rel(a, b) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-300))


def compare(label, es, es_params, ours, our_params, fields, n, generations, seed, before_tell=None):
    """Run both for ``generations``; the worst relative difference of each compared field.

    Relative difference of arrays ``a`` (ours) and ``b`` (evosax's):
    ``max |a - b| / max |b|``. ``before_tell`` maps our state before each
    tell (to replay a step of evosax's that is not in the published update).
    """
    x0 = np.random.default_rng(seed).normal(size=n)
    key = jax.random.key(seed)
    key, k_init = jax.random.split(key)
    es_state = es.init(k_init, jnp.asarray(x0), es_params)
    state = ours.init(our_params, x0)
    worst = dict.fromkeys(fields, 0.0)
    for _ in range(generations):
        key, k_ask, k_tell = jax.random.split(key, 3)
        pop, es_state = es.ask(k_ask, es_state, es_params)
        x = np.asarray(pop)
        f = objective(x)
        es_state, _ = es.tell(k_tell, pop, jnp.asarray(-f), es_state, es_params)
        if before_tell is not None:
            state = before_tell(state)
        state = ours.tell(state, our_params, x, f)
        for ours_name, theirs in fields.items():
            worst[ours_name] = max(worst[ours_name], _rel(getattr(state, ours_name), theirs(es_state)))
    print(f"{label:<34} n={n:<4} gens={generations:<3} " + "  ".join(f"{k}: {v:.1e}" for k, v in worst.items()))
    return max(worst.values())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, default=20)
    parser.add_argument("--generations", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-6)
    a = parser.parse_args(argv)
    n, gens, seed = a.dims, a.generations, a.seed
    solution = jnp.zeros(n)
    print(
        f"evosax {metadata.version('evosax')}, jax {jax.__version__}, "
        f"numpy {np.__version__}; worst relative difference over all generations"
    )
    results = []

    # OpenES: Adam (our default) and SGD with momentum
    for opt_name, tx, ours_opt in (
        ("adam", optax.adam(0.05), Optimizer("adam", 0.05)),
        ("sgd+momentum", optax.sgd(0.05, momentum=0.9), Optimizer("sgd", 0.05, momentum=0.9)),
    ):
        es = ea.Open_ES(population_size=32, solution=solution, optimizer=tx, std_schedule=optax.constant_schedule(0.1))
        results.append(
            compare(
                f"OpenES ({opt_name})",
                es,
                es.default_params,
                open_es,
                open_es.Params(population=32, sigma=0.1, optimizer=ours_opt),
                {"mean": lambda s: s.mean},
                n,
                gens,
                seed,
            )
        )

    # PGPE with ClipUp
    es = ea.PGPE(
        population_size=32, solution=solution, optimizer=clipup(learning_rate=0.05, max_velocity=0.1, momentum=0.9)
    )
    es_params = es.default_params.replace(std_init=0.3)
    results.append(
        compare(
            "PGPE (ClipUp)",
            es,
            es_params,
            pgpe,
            pgpe.Params(
                population=32, sigma_init=0.3, optimizer=Optimizer("clipup", 0.05, momentum=0.9, max_speed=0.1)
            ),
            {"mean": lambda s: s.mean, "sigma": lambda s: s.std},
            n,
            gens,
            seed,
        )
    )

    # ARS (V2-t update: top half of the directions, SGD)
    es = ea.ARS(
        population_size=32, solution=solution, optimizer=optax.sgd(0.02), std_schedule=optax.constant_schedule(0.1)
    )
    results.append(
        compare(
            "ARS (top 8 of 16, SGD)",
            es,
            es.default_params,
            ars,
            ars.Params(directions=16, top_directions=es.num_elites, sigma=0.1, optimizer=Optimizer("sgd", 0.02)),
            {"mean": lambda s: s.mean},
            n,
            gens,
            seed,
        )
    )

    # Separable CMA-ES: evosax's learning rates (it keeps the full-CMA c1, cmu)
    es = ea.Sep_CMA_ES(population_size=16, solution=solution)
    es_params = es.default_params.replace(std_init=jnp.asarray(0.5))
    ours_params = sep_cma_es.Params(population=16, sigma_init=0.5, c1=float(es_params.c_1), cmu=float(es_params.c_mu))
    cma_fields = {
        "mean": lambda s: s.mean,
        "sigma": lambda s: s.std,
        "cov": lambda s: s.C,
        "p_sigma": lambda s: s.p_std,
        "p_c": lambda s: s.p_c,
    }
    results.append(
        compare("Sep-CMA-ES (evosax c1, cmu)", es, es_params, sep_cma_es, ours_params, cma_fields, n, gens, seed)
    )
    # evosax's ask clips C to [0, 1e8] and adds 1e-8 ("diagonal loading") to it every generation,
    # a numerical guard that is not in the published update; replayed here, the residual vanishes.
    print("  the same with evosax's diagonal loading (C <- clip(C, 0, 1e8) + 1e-8) replayed on ours:")
    compare(
        "Sep-CMA-ES (+ loading)",
        es,
        es_params,
        sep_cma_es,
        ours_params,
        cma_fields,
        n,
        gens,
        seed,
        before_tell=lambda st: st._replace(cov=np.clip(st.cov, 0.0, 1e8) + 1e-8),
    )
    worst = max(results)
    print(f"worst of all: {worst:.1e} (tolerance {a.tolerance:g}): {'EQUAL' if worst <= a.tolerance else 'DIFFERENT'}")
    return 0 if worst <= a.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
