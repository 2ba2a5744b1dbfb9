"""Benchmark short-term plasticity: the same networks with and without it, in one process.

Workload (bench_kernels.py's workload A): ``--genomes`` reference 2D genomes
of 64 neurons (11 inputs, 3 outputs), 64 sub-steps per env step,
``--steps`` env steps, inputs U(-2.5, 2.5) redrawn every env step, one
numba thread. The plastic genomes are the static ones of the same seeds plus
their genes (``random_genome`` draws the genes last), with the default gene
ranges (U in (0.05, 0.95), tau_f and tau_d in (0.01, 1) s). The two batches
run interleaved, best of ``--repeats``; wall and process-CPU times.

Plasticity changes the activity (depressed synapses deliver less), so the
table gives the time per network sub-step and per synaptic event as well as
the ratio of the totals.

Usage::

    python benchmarks/bench_plasticity.py
    python benchmarks/bench_plasticity.py --genomes 100 --steps 50 --repeats 5
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from spatial_snn.sim.kernels import NEURON_UPDATES, SPIKES, SYN_EVENTS
from spatial_snn.sim.network import Network, set_threads, warmup
from spatial_snn.space.layout import GenomeSpec, random_genome


def _genomes(count: int, plastic: bool, seed: int = 0):
    spec = dataclasses.replace(GenomeSpec.reference(2, 64), plasticity=plastic)
    rng = np.random.default_rng(seed)
    return [random_genome(spec, 11, 3, rng) for _ in range(count)]


def _run(net: Network, xs: np.ndarray, substeps: int) -> tuple[float, float]:
    """Wall and process-CPU seconds of one episode of ``xs``, from reset."""
    net.reset()
    net.reset_counters()
    w0, c0 = time.perf_counter(), time.process_time()
    for x in xs:
        net.step(x, substeps)
    return time.perf_counter() - w0, time.process_time() - c0


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--genomes", type=int, default=300)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--substeps", type=int, default=64)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    warmup()
    set_threads(1)
    nets = {"static": Network(_genomes(args.genomes, False)), "plastic": Network(_genomes(args.genomes, True))}
    xs = np.random.default_rng(1).uniform(-2.5, 2.5, (args.steps, args.genomes, 11)).astype(np.float32)
    best = {k: (np.inf, np.inf) for k in nets}
    counters = {}
    for _ in range(args.repeats):
        for name, net in nets.items():  # interleaved: load on the machine hits both alike
            wall, cpu = _run(net, xs, args.substeps)
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
            counters[name] = net.counters.sum(axis=0)
    print(
        f"{args.genomes} reference 2D genomes x 64 neurons, {args.steps} env steps x {args.substeps} "
        f"sub-steps, 1 thread, best of {args.repeats}"
    )
    print(
        f"{'':10s} {'wall s':>8s} {'cpu s':>8s} {'spikes/update':>14s} {'events/spike':>13s} {'ns/event (wall)':>16s}"
    )
    for name in nets:
        c = counters[name]
        wall, cpu = best[name]
        print(
            f"{name:10s} {wall:8.3f} {cpu:8.3f} {c[SPIKES] / c[NEURON_UPDATES]:14.4f} "
            f"{c[SYN_EVENTS] / max(c[SPIKES], 1):13.2f} {1e9 * wall / max(c[SYN_EVENTS], 1):16.2f}"
        )
    ratio_wall = best["plastic"][0] / best["static"][0]
    ratio_cpu = best["plastic"][1] / best["static"][1]
    per_event = (best["plastic"][0] / counters["plastic"][SYN_EVENTS]) / (
        best["static"][0] / counters["static"][SYN_EVENTS]
    )
    print(
        f"plastic / static: total {ratio_wall:.2f}x wall, {ratio_cpu:.2f}x cpu; per synaptic event "
        f"{per_event:.2f}x wall"
    )


if __name__ == "__main__":
    main()
