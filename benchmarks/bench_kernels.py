"""Benchmark the numba LIF kernels against a dense and a scipy.sparse baseline.

Workload A (the evolution workload): 300 reference 2D genomes of 64 neurons
(11 inputs, 3 outputs), 64 sub-steps per env step, 100 env steps, inputs
U(-2.5, 2.5) redrawn every env step, one thread. Baselines, same equations,
same process, timed interleaved with the kernel (best of ``--repeats``):

* dense: one block-diagonal ``(N, N)`` float32 matrix over the population,
  ``rec = z @ W`` per sub-step (the published code's layout); run for
  ``--dense-substeps`` sub-steps and scaled to the workload;
* scipy: the same with ``scipy.sparse`` CSR matrices (transposed, rows =
  postsynaptic), one matvec per sub-step.

Workload B (scale): one 3D network of ``n`` uniformly placed neurons, rule
``p = exp(-(d / 2.1)^2)`` (mean out-degree ~50), real input/output positions,
no self-loops, ``v_th`` U(0.1, 1500) (tonic neurons with ``v_leak > v_th``
start the activity; firing settles at 5-20% of neurons per sub-step), input
1.0 on 8 channels. Reports build times, connectivity memory, firing rate and
synaptic events/s against the scipy baseline.

Usage::

    python benchmarks/bench_kernels.py                  # A and B at 10k, 100k
    python benchmarks/bench_kernels.py --sizes 10000 100000 1000000
    python benchmarks/bench_kernels.py --skip-a --sizes 1000000
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # one-thread baselines; before numpy

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
import scipy.sparse as sp  # noqa: E402

from spatial_snn.sim.kernels import SYN_EVENTS
from spatial_snn.sim.network import Network, set_threads, warmup  # noqa: E402
from spatial_snn.space.connectivity import build  # noqa: E402
from spatial_snn.space.layout import GenomeSpec, ParameterRanges, random_genome  # noqa: E402
from spatial_snn.space.rules import ConnectivityRule


class _Baseline:
    """The kernel's equations over the whole population with matrix products.

    Delays are all 1 (``rec`` of sub-step ``t`` enters ``i`` at ``t + 1``);
    ``dense=True`` uses dense block-diagonal matrices, else scipy CSR.
    """

    def __init__(self, genomes, dt: float = 1e-3, dense: bool = False):
        conns = [build(g) for g in genomes]

        def block(mats):
            m = sp.block_diag(mats, format="csr", dtype=np.float32)
            return m.toarray() if dense else m.T.tocsr()  # sparse: rows = postsynaptic

        self.dense = dense
        self.w_in = block([c.input for c in conns])
        self.w_rec = block([c.recurrent for c in conns])
        self.w_out = block([c.output for c in conns])

        def cat(name, scale=1.0):
            return np.concatenate([scale * getattr(g, name) for g in genomes]).astype(np.float32)

        self.a_mem, self.a_syn = cat("tau_mem_inv", dt), cat("tau_syn_inv", dt)
        self.v_leak, self.v_th, self.v_reset = cat("v_leak"), cat("v_th"), cat("v_reset")
        self.n_out = genomes[0].n_outputs
        self.reset()

    def reset(self) -> None:
        n = self.v_th.size
        self.v = self.v_reset.copy()
        self.i = np.zeros(n, np.float32)
        self.rec = np.zeros(n, np.float32)

    def _mv(self, w, z):
        return z @ w if self.dense else w @ z

    def step(self, x: np.ndarray, substeps: int) -> np.ndarray:
        cur = self._mv(self.w_in, x.ravel().astype(np.float32))
        acc = np.zeros(self.w_out.shape[1] if self.dense else self.w_out.shape[0], np.float32)
        v, i = self.v, self.i
        tmp = np.empty_like(v)
        for _ in range(substeps):
            np.subtract(self.v_leak, v, out=tmp)  # v_dec = v + a_mem * ((v_leak - v) + i)
            tmp += i
            tmp *= self.a_mem
            tmp += v
            z = tmp > self.v_th
            np.copyto(v, tmp)
            np.copyto(v, self.v_reset, where=z)
            np.multiply(self.a_syn, i, out=tmp)  # i = ((i - a_syn * i) + I_in) + rec
            i -= tmp
            i += cur
            i += self.rec
            zf = z.astype(np.float32)
            self.rec = self._mv(self.w_rec, zf)
            acc += self._mv(self.w_out, zf)
        return (acc / np.float32(substeps)).reshape(-1, self.n_out)


def _time(fn) -> tuple[float, float]:
    """Wall-clock and process CPU seconds of ``fn()``."""
    t, c = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - t, time.process_time() - c


def _best(fns: dict, repeats: int) -> dict:
    """Interleaved repeats; the best (wall, cpu) of each entry."""
    runs = {k: [] for k in fns}
    for _ in range(repeats):
        for k, fn in fns.items():
            runs[k].append(_time(fn))
    return {k: (min(w for w, _ in r), min(c for _, c in r)) for k, r in runs.items()}


def _fmt(t: tuple[float, float]) -> str:
    return f"{t[0]:.3f} s (cpu {t[1]:.3f} s)"


def _run(model, xs, substeps):
    def go():
        model.reset()
        for x in xs:
            model.step(x, substeps)

    return go


def morton_order(positions: np.ndarray, bits: int = 10) -> np.ndarray:
    """Indices sorting points along a Z-order curve (neighbours in space get near indices)."""
    span = max(float(np.ptp(positions, axis=0).max()), 1e-12)
    q = ((positions - positions.min(axis=0)) / span * (2**bits - 1)).astype(np.uint64)
    code = np.zeros(len(positions), np.uint64)
    dim = positions.shape[1]
    for b in range(bits):
        for a in range(dim):
            code |= ((q[:, a] >> np.uint64(b)) & np.uint64(1)) << np.uint64(b * dim + a)
    return np.argsort(code, kind="stable")


def workload_a(args) -> list[tuple[str, str]]:
    rng = np.random.default_rng(0)
    spec = GenomeSpec.reference(2)
    genomes = [random_genome(spec, 11, 3, rng) for _ in range(300)]
    xs = rng.uniform(-2.5, 2.5, (args.env_steps, 300, 11)).astype(np.float32)
    S = 64
    net = Network(genomes)
    base = _Baseline(genomes)
    t = _best({"kernel": _run(net, xs, S), "scipy": _run(base, xs, S)}, args.repeats)
    net.reset_counters()
    _run(net, xs, S)()
    c = net.counters.sum(axis=0)
    same = np.array_equal(net._v, base.v)  # same state after the run: same equations
    speed = t["scipy"][0] / t["kernel"][0], t["scipy"][1] / t["kernel"][1]
    rows = [
        ("A: networks x neurons, env steps x sub-steps", f"300 x 64, {args.env_steps} x {S}"),
        ("A: neuron updates", f"{c[2]:,}"),
        ("A: firing (spikes / neuron update)", f"{c[0] / c[2]:.3f}"),
        ("A: synaptic events / spike", f"{c[1] / max(c[0], 1):.2f}"),
        ("A: numba kernel, 1 thread", _fmt(t["kernel"])),
        ("A: scipy CSR baseline", f"{_fmt(t['scipy'])}, final v identical: {same}"),
        ("A: speed-up vs scipy (wall / cpu)", f"{speed[0]:.2f}x / {speed[1]:.2f}x"),
    ]
    del base
    if args.dense_substeps:
        dense = _Baseline(genomes, dense=True)
        steps = max(1, args.dense_substeps // S)
        td = _best({"dense": _run(dense, xs[:steps], S)}, 2)["dense"]
        scale = args.env_steps / steps
        rows += [
            ("A: dense block-diagonal baseline", f"{td[0] * scale:.1f} s ({steps * S} sub-steps, scaled)"),
            (
                "A: speed-up vs dense (wall / cpu)",
                f"{td[0] * scale / t['kernel'][0]:.0f}x / {td[1] * scale / t['kernel'][1]:.0f}x",
            ),
        ]
    if args.threads > 1:
        set_threads(args.threads)
        t2 = _best({"kernel": _run(net, xs, S)}, args.repeats)["kernel"]
        set_threads(1)
        rows.append((f"A: numba kernel, {args.threads} threads", _fmt(t2)))
    return rows


def workload_b(n: int, args) -> list[tuple[str, str]]:
    rule = ConnectivityRule(length=2.1, shape=2, io_distance=None, self_distance=None)
    ranges = ParameterRanges(v_th=(0.1, 1500.0))
    spec = GenomeSpec(n_hidden=n, dim=3, placement="uniform", rule=rule, ranges=ranges)
    t = time.perf_counter()
    genome = random_genome(spec, 8, 4, np.random.default_rng(1))
    t_genome = time.perf_counter() - t
    t_build = _time(lambda: build(genome))[0]
    t = time.perf_counter()
    net = Network([genome])
    t_net = time.perf_counter() - t
    syn = len(genome.recurrent)
    mem = net.nbytes["connectivity"]
    rows = [
        (f"B {n:,}: synapses (mean out-degree)", f"{syn:,} ({syn / n:.1f})"),
        (f"B {n:,}: build genome / build() / Network()", f"{t_genome:.1f} s / {t_build:.1f} s / {t_net:.1f} s"),
        (f"B {n:,}: connectivity memory", f"{mem / 2**20:.1f} MiB ({mem / max(syn, 1):.1f} B/synapse)"),
    ]
    rows += _simulate_b(f"B {n:,}", genome, net, args)
    if args.ordered:
        del net
        ordered = genome.select_neurons(morton_order(genome.positions))
        rows += _simulate_b(f"B {n:,} Z-ordered", ordered, Network([ordered]), args)
    return rows


def _simulate_b(label: str, genome, net, args) -> list[tuple[str, str]]:
    """Kernel and scipy baseline from the same settled state; events/s and speed-up."""
    x = np.ones((1, genome.n_inputs), np.float32)
    S, n = args.b_substeps, genome.n
    for _ in range(args.b_settle):  # let the activity settle
        net.step(x, S)
    saved = [a.copy() for a in (net._v, net._i, net._buf, net._clock)]
    base = _Baseline([genome])

    def kernel():
        for a, s in zip((net._v, net._i, net._buf, net._clock), saved, strict=True):
            a[:] = s
        for _ in range(args.b_steps):
            net.step(x, S)

    def scipy():
        base.v[:], base.i[:] = saved[0], saved[1]
        slot = int(saved[3][0] % genome.rule.delay_slots)
        base.rec[:] = saved[2][slot * n : (slot + 1) * n]  # input pending for the next sub-step
        for _ in range(args.b_steps):
            base.step(x, S)

    t = _best({"kernel": kernel, "scipy": scipy}, args.repeats)
    net.reset_counters()
    kernel()
    c = net.counters[0]
    scipy()
    same = np.array_equal(net._v, base.v)
    ev = c[SYN_EVENTS]
    rate = [ev / t[k][0] / 1e6 for k in ("kernel", "scipy")]
    return [
        (f"{label}: firing (spikes / neuron update)", f"{c[0] / c[2]:.3f}"),
        (f"{label}: numba kernel", f"{rate[0]:.0f} M events/s, {_fmt(t['kernel'])}"),
        (f"{label}: scipy CSR baseline", f"{rate[1]:.0f} M events/s, {_fmt(t['scipy'])}, v identical: {same}"),
        (
            f"{label}: speed-up vs scipy (wall / cpu)",
            f"{t['scipy'][0] / t['kernel'][0]:.2f}x / {t['scipy'][1] / t['kernel'][1]:.2f}x",
        ),
    ]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sizes", type=int, nargs="*", default=[10_000, 100_000])
    p.add_argument("--skip-a", action="store_true")
    p.add_argument("--env-steps", type=int, default=100)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--dense-substeps", type=int, default=64, help="0 skips the dense baseline")
    p.add_argument("--threads", type=int, default=2, help="also time workload A with this many")
    p.add_argument("--b-substeps", type=int, default=10)
    p.add_argument("--b-steps", type=int, default=10)
    p.add_argument("--b-settle", type=int, default=5)
    p.add_argument("--ordered", action="store_true", help="also run B with Z-ordered neuron indices")
    args = p.parse_args()
    t = time.perf_counter()
    warmup()
    set_threads(1)
    rows = [("warmup (compile or load cache)", f"{time.perf_counter() - t:.1f} s")]
    if not args.skip_a:
        rows += workload_a(args)
    for n in args.sizes:
        rows += workload_b(n, args)
    width = max(len(r[0]) for r in rows)
    print(f"| {'measure':<{width}} | value |")
    print(f"|{'-' * (width + 2)}|-------|")
    for k, v in rows:
        print(f"| {k:<{width}} | {v} |")


if __name__ == "__main__":
    main()
