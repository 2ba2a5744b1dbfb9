"""Numba kernels of the batched current-based LIF network (the only numba module).

Every kernel is a private pure function over arrays: it writes only into the
arrays it is given, allocates nothing, reads no globals, validates nothing,
and runs ``prange`` over independent networks only, so results do not depend
on the thread count. :mod:`spatial_snn.sim.network` validates and lays out the
arrays.

Equations (Norse <= 1.0 ``lif_step``; all state float32; ``a_mem = dt *
tau_mem_inv`` and ``a_syn = dt * tau_syn_inv`` precomputed in float32). For
sub-step ``t`` of a network and each hidden neuron ``j``::

    v_dec = v + a_mem * ((v_leak - v) + i)
    i_dec = i - a_syn * i
    z     = v_dec > v_th                                (strict)
    v     = v_reset if z else v_dec
    i     = (i_dec + I_in[j]) + buf[t % D, j];  buf[t % D, j] = 0

then, for each spiker ``j`` in ascending order, ``buf[(t + d) % D, k] += w``
for each recurrent synapse ``j -> k`` (weight ``w``, delay ``d`` in 1..D-1
sub-steps) and ``out[o] += w`` for each output synapse ``j -> o``. With every
delay 1 this is Norse's recurrent input from the previous sub-step's spikes.
``I_in[j] = sum_c x[c] * W_in[c, j]`` (channels ascending) is computed once per
call: the input current is constant over the sub-steps of one env step. The
output is the non-spiking average ``out / substeps``.

Memory layout (built by :class:`spatial_snn.sim.network.Network`): parameters and
synapses are stored once per genome, state once per network (network ``b``
runs genome ``b // episodes``). Each hidden neuron's outgoing synapses form
one row, recurrent then output (rows = presynaptic), with a precomputed
target offset, so that a spike costs one loop over one contiguous row; a
network's ``buf`` is its ``(D, n)`` ring followed by ``n_out`` output sums.
Each sub-step is two passes: a vectorisable update of all neurons that
flags the spikers, then a scatter over the spikers' rows only.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

#: Column of the per-network counters: spikes emitted.
SPIKES = 0
#: Column: synaptic events delivered (recurrent + output synapses of spikers).
SYN_EVENTS = 1
#: Column: neuron updates (neurons x sub-steps).
NEURON_UPDATES = 2


#: Spikers ahead whose synapse rows the scatter prefetches.
_AHEAD = 8


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Hint the CPU to fetch ``arr[idx]`` into cache (``llvm.prefetch``; never faults)."""
    if not isinstance(arr, types.Array) or not isinstance(idx, types.Integer):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p, i32 = ir.IntType(8).as_pointer(), ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8"
        )
        # read, high temporal locality, data cache
        builder.call(fn, [builder.bitcast(ptr, i8p), i32(0), i32(3), i32(1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@njit(cache=True, nogil=True)
def _deliver(p, urow, udn, syn_ptr, syn_mid, syn, syn_f, bb):
    """Deliver the synapses of spiking neuron ``p`` (a row); return their count.

    ``syn`` holds pairs ``(off, weight bits)``, ``syn_f`` is the same memory
    as float32. A recurrent synapse adds its weight to ``bb[(urow + off) mod
    udn]`` (ring slot ``(t + d) % D`` of its target), an output synapse (from
    ``syn_mid[p]`` on) to ``bb[off]`` (``off = D * n + o``): one branch-free
    loop. Indices are unsigned so that numba emits no wraparound code.
    """
    one, two = np.uint64(1), np.uint64(2)
    lo = np.uint64(syn_ptr[p])
    mid = np.uint64(syn_mid[p])
    hi = np.uint64(syn_ptr[p + one])
    for e in range(lo, hi):
        off = np.uint64(syn[two * e])
        t = urow + off
        if t >= udn:
            t -= udn
        if e >= mid:
            t = off
        bb[t] += syn_f[two * e + one]
    return np.int64(hi - lo)


@njit(cache=True, nogil=True)
def _scatter(sp, nsp, p0, row, dn, syn_ptr, syn_mid, syn, syn_f, bb):
    """Deliver the synapses of spikers ``sp[:nsp]`` (ascending); return their count.

    For small networks, whose synapse rows stay in cache.
    """
    events = 0
    for q in range(nsp):
        p = np.uint64(p0) + np.uint64(sp[q])
        events += _deliver(p, np.uint64(row), np.uint64(dn), syn_ptr, syn_mid, syn, syn_f, bb)
    return events


@njit(cache=True, nogil=True)
def _scatter_prefetch(sp, nsp, p0, row, dn, syn_ptr, syn_mid, syn, syn_f, bb):
    """:func:`_scatter` that first prefetches the row of the spiker ``_AHEAD`` places on.

    For large networks, whose rows are scattered over memory: the row loads
    then overlap instead of stalling one after the other.
    """
    one, two = np.uint64(1), np.uint64(2)
    ahead = np.uint64(_AHEAD)
    events = 0
    for q in range(nsp):
        if q + ahead < nsp:
            pa = np.uint64(p0) + np.uint64(sp[q + ahead])
            for s in range(two * np.uint64(syn_ptr[pa]), two * np.uint64(syn_ptr[pa + one]), 16):
                _prefetch(syn, s)  # one 64-byte line per 16 int32
        p = np.uint64(p0) + np.uint64(sp[q])
        events += _deliver(p, np.uint64(row), np.uint64(dn), syn_ptr, syn_mid, syn, syn_f, bb)
    return events


@njit(cache=True, nogil=True)
def _run_network(
    b, substeps, x, n, n_in, slots, prefetch, p0, r0,
    a_mem, a_syn, v_leak, v_th, v_reset, in_ptr, in_idx, in_w, syn_ptr, syn_mid, syn,
    s0, q0, v, i, cur, spk, buf, clock, out, counters,
):  # fmt: skip
    """Advance network ``b`` by ``substeps``; see :func:`advance_networks` and the module docstring.

    ``p0``: first row of its genome in the per-neuron arrays and ``syn_ptr``;
    ``r0``: its first row in ``in_ptr``; ``s0``: first neuron of the network
    in ``v, i, cur, spk``; ``q0``: start of its block in ``buf``.
    """
    n_out = out.shape[1]
    dn = slots * n
    # views of this network's parameters and state (no copies)
    am = a_mem[p0 : p0 + n]
    asy = a_syn[p0 : p0 + n]
    leak = v_leak[p0 : p0 + n]
    th = v_th[p0 : p0 + n]
    vr = v_reset[p0 : p0 + n]
    vv = v[s0 : s0 + n]
    ii = i[s0 : s0 + n]
    cc = cur[s0 : s0 + n]
    sp = spk[s0 : s0 + n]
    bb = buf[q0 : q0 + dn + n_out]
    syn_f = syn.view(np.float32)  # the weights of the (offset, weight) pairs
    # input current, constant over the sub-steps
    for k in range(n):
        cc[k] = np.float32(0.0)
    for c in range(n_in):
        xc = x[b, c]
        for e in range(in_ptr[r0 + c], in_ptr[r0 + c + 1]):
            cc[in_idx[e]] += xc * in_w[e]
    for o in range(n_out):
        bb[dn + o] = np.float32(0.0)
    slot = clock[b] % slots
    spikes = 0
    events = 0
    for _ in range(substeps):
        # pass 1: update every neuron (a vectorisable loop), flag spikers in sp
        row = slot * n
        now = bb[row : row + n]
        for k in range(n):
            vk = vv[k]
            ik = ii[k]
            v_dec = vk + am[k] * ((leak[k] - vk) + ik)
            z = v_dec > th[k]
            vv[k] = vr[k] if z else v_dec
            ii[k] = ((ik - asy[k] * ik) + cc[k]) + now[k]
            now[k] = np.float32(0.0)
            sp[k] = z
        # compact the flags in place into ascending spiker indices (branch-free)
        nsp = np.uint64(0)
        for k in range(n):
            z = np.uint64(sp[k])
            sp[nsp] = k
            nsp += z
        # pass 2: scatter the spikers' synapses
        if prefetch:
            events += _scatter_prefetch(sp, nsp, p0, row, dn, syn_ptr, syn_mid, syn, syn_f, bb)
        else:
            events += _scatter(sp, nsp, p0, row, dn, syn_ptr, syn_mid, syn, syn_f, bb)
        spikes += np.int64(nsp)
        slot += 1
        if slot == slots:
            slot = 0
    denom = np.float32(substeps)
    for o in range(n_out):
        out[b, o] = bb[dn + o] / denom
    clock[b] += substeps
    counters[b, SPIKES] += spikes
    counters[b, SYN_EVENTS] += events
    counters[b, NEURON_UPDATES] += n * substeps


@njit(cache=True, parallel=True, nogil=True)
def advance_networks(
    nets, substeps, x, episodes, n_of, slots_of, prefetch_of, p_ofs,
    a_mem, a_syn, v_leak, v_th, v_reset, in_ptr, in_idx, in_w, syn_ptr, syn_mid, syn,
    s_ofs, q_ofs, v, i, cur, spk, buf, clock, out, counters,
):  # fmt: skip
    """Advance the networks ``nets`` by ``substeps`` sub-steps each.

    Parameters
    ----------
    nets : (A,) int64
        Networks to advance; the others (and their ``out`` rows) are not touched.
    substeps : int
    x : (B, n_in) float32
        Input of every network (rows of inactive networks are ignored).
    episodes : int
        Networks per genome; network ``b`` runs genome ``g = b // episodes``.
    n_of, slots_of : (G,) int64
        Hidden neurons ``n`` and ring-buffer depth ``D`` of each genome.
    prefetch_of : (G,) bool
        Prefetch synapse rows ahead (genomes whose rows exceed the caches).
    p_ofs : (G + 1,) int64
        Genome offsets into the per-neuron arrays and ``syn_ptr`` rows.
    a_mem, a_syn, v_leak, v_th, v_reset : (sum n,) float32
    in_ptr : (G * n_in + 1,) int64; in_idx : int32; in_w : float32
        Input CSR: row ``g * n_in + c``, columns local to the genome.
    syn_ptr : (sum n + 1,) int64; syn_mid : (sum n,) int64
        Outgoing synapses of neuron ``p = p_ofs[g] + j``: recurrent ones in
        ``[syn_ptr[p], syn_mid[p])``, output ones in ``[syn_mid[p], syn_ptr[p + 1])``.
    syn : (2 * synapses,) int32
        Pairs (target offset, bits of the float32 effective weight); the
        offset is ``d * n + k`` for a recurrent synapse to ``k`` with delay
        ``d`` and ``D * n + o`` for output ``o``.
    s_ofs, q_ofs : (B,) int64
        Network offsets into ``v, i, cur, spk`` and into ``buf``.
    v, i, cur : float32; spk : int32
        State, input current and spiker scratch, ``n`` per network.
    buf : float32
        Per network ``D * n + n_out``: the delayed recurrent input as a ``(D, n)``
        ring, then the output sums of the current call.
    clock : (B,) int64
        Sub-steps run since reset (the ring slot is ``clock % D``).
    out : (B, n_out) float32
        Written: mean output over the sub-steps (active rows only).
    counters : (B, 3) int64
        Incremented: spikes, synaptic events, neuron updates.
    """
    n_in = x.shape[1]
    for a in prange(nets.shape[0]):
        b = nets[a]
        g = b // episodes
        _run_network(
            b, substeps, x, n_of[g], n_in, slots_of[g], prefetch_of[g], p_ofs[g], g * n_in,
            a_mem, a_syn, v_leak, v_th, v_reset, in_ptr, in_idx, in_w,
            syn_ptr, syn_mid, syn,
            s_ofs[b], q_ofs[b], v, i, cur, spk, buf, clock, out, counters,
        )  # fmt: skip


@njit(cache=True, parallel=True, nogil=True)
def reset_networks(nets, episodes, n_out, n_of, slots_of, p_ofs, v_reset, s_ofs, q_ofs, v, i, buf, clock):
    """Reset networks ``nets``: ``v = v_reset``, ``i = 0``, ``buf = 0``, clock 0."""
    for a in prange(nets.shape[0]):
        b = nets[a]
        g = b // episodes
        n = n_of[g]
        p0 = p_ofs[g]
        s0 = s_ofs[b]
        for k in range(n):
            v[s0 + k] = v_reset[p0 + k]
            i[s0 + k] = np.float32(0.0)
        q0 = q_ofs[b]
        for k in range(slots_of[g] * n + n_out):
            buf[q0 + k] = np.float32(0.0)
        clock[b] = 0


def max_kernel_threads() -> int:
    """Threads numba started with (``NUMBA_NUM_THREADS``)."""
    return int(numba.config.NUMBA_NUM_THREADS)


def set_kernel_threads(n: int) -> None:
    """Set numba's thread count for parallel kernels called from this thread."""
    numba.set_num_threads(n)
