"""Plain-numpy twins of the numba kernels in ``spatial_snn/sim/kernels.py``.

Test helpers, imported by the kernel and network tests (``from naive import
twin_run``). A twin is slow and obvious: dense float32 matrices and the
kernel's equations with the same float32 operation order (spikers' weight rows
added in ascending order), so spikes, outputs, ``v`` and ``i`` must agree with
the kernel bit for bit.
"""

from __future__ import annotations

import math

import numpy as np

from spatial_snn.space.connectivity import build
from spatial_snn.space.genome import Genome


def twin_run(genomes: list[Genome], xs: np.ndarray, substeps: int, dt: float = 1e-3) -> dict:
    """Simulate networks ``b`` (genome ``genomes[b]``, all with the same ``n``) with numpy.

    Networks are independent; each neuron ``j`` in ascending order adds its
    weight rows where it spikes (``+ 0`` elsewhere, which is exact), i.e. the
    kernel's float32 order.

    Parameters
    ----------
    xs : (steps, B, n_in)
        Input of each env step and network.

    Returns
    -------
    dict with ``spikes`` (steps * substeps, B, n) bool, ``out`` (steps, B, n_out)
    float32 and the final ``v``, ``i`` (B, n) float32; with plastic genomes
    also the final ``u``, ``x`` (B, n) float64 (NaN rows for static genomes).

    Plastic genomes: the Tsodyks-Markram update of each spiker, written out
    per spike in Python floats (``math.exp``), scales its weight rows by
    ``float32(r / (U (2 - U)))``.
    """
    f32 = np.float32
    conns = [build(g) for g in genomes]
    n, D = genomes[0].n, max(g.rule.delay_slots for g in genomes)
    w_in = np.stack([c.input.toarray() for c in conns]).astype(f32)  # (B, n_in, n)
    w_out = np.stack([c.output.toarray() for c in conns]).astype(f32)  # (B, n, n_out)
    w_rec = np.zeros((D, len(genomes), n, n), f32)  # [d, b, pre, post]
    for b, c in enumerate(conns):
        pre, post = c.recurrent.nonzero()
        w_rec[c.delays, b, pre, post] = c.recurrent.data
    used = [d for d in range(1, D) if w_rec[d].any()]

    def param(name, scale=1.0):
        return np.stack([scale * getattr(g, name) for g in genomes]).astype(f32)

    a_mem, a_syn = param("tau_mem_inv", dt), param("tau_syn_inv", dt)
    v_leak, v_th, v_reset = param("v_leak"), param("v_th"), param("v_reset")
    v, i = v_reset.copy(), np.zeros_like(v_reset)
    buf = np.zeros((D,) + v.shape, f32)
    plastic = [g.plastic for g in genomes]
    nan = np.full(n, np.nan)
    use = np.stack([g.stp_use if g.plastic else nan for g in genomes])
    u, xr, last = use.copy(), np.where(np.isnan(use), np.nan, 1.0), np.zeros(use.shape, np.int64)

    def release(b, j, t):
        """Advance u, x of neuron j of network b to sub-step t, release; the weight scale."""
        g = genomes[b]
        uu, gap = float(use[b, j]), float(t - last[b, j])
        uj = uu + (u[b, j] - uu) * math.exp(-gap * (dt / float(g.stp_tau_f[j])))
        xj = 1.0 + (xr[b, j] - 1.0) * math.exp(-gap * (dt / float(g.stp_tau_d[j])))
        uj = uj + uu * (1.0 - uj)
        r = uj * xj
        u[b, j], xr[b, j], last[b, j] = uj, xj - r, t
        return f32(r / (uu * (2.0 - uu)))

    spikes, outs, t = [], [], 0
    for x in np.asarray(xs, f32):
        cur = np.zeros_like(v)
        for c in range(x.shape[1]):  # channels ascending
            cur = cur + x[:, c, None] * w_in[:, c]
        acc = np.zeros(w_out.shape[::2], f32)
        for _ in range(substeps):
            v_dec = v + a_mem * ((v_leak - v) + i)
            i_dec = i - a_syn * i
            z = v_dec > v_th
            v = np.where(z, v_reset, v_dec)
            i = (i_dec + cur) + buf[t % D]
            buf[t % D] = 0
            for j in np.flatnonzero(z.any(axis=0)):  # ascending
                zj = z[:, j, None]
                if any(plastic):
                    s = np.array(
                        [release(b, j, t) if z[b, j] and plastic[b] else f32(1) for b in range(len(genomes))], f32
                    )[:, None]
                    for d in used:
                        buf[(t + d) % D] += np.where(zj, w_rec[d, :, j] * s, f32(0))
                    acc = acc + np.where(zj, w_out[:, j] * s, f32(0))
                    continue
                for d in used:
                    buf[(t + d) % D] += np.where(zj, w_rec[d, :, j], f32(0))
                acc = acc + np.where(zj, w_out[:, j], f32(0))
            spikes.append(z)
            t += 1
        outs.append(acc / f32(substeps))
    result = {"spikes": np.array(spikes), "out": np.array(outs), "v": v, "i": i}
    if any(plastic):
        result.update(u=u, x=xr)
    return result
