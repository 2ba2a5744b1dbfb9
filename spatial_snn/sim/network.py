"""A batch of LIF networks: many genomes x episodes behind one kernel call.

``Network(genomes, episodes)`` runs ``B = G * episodes`` networks; network
``b = g * episodes + e`` is episode ``e`` of genome ``g``. Connectivity and
neuron parameters are stored once per genome, concatenated with genome
offsets: the input projection as a block-diagonal CSR, and the recurrent and
output synapses of each hidden neuron as one row (rows = presynaptic,
targets local to the genome). State (``v``, ``i``, the ``(D, n)`` delay ring
buffer and the sub-step clock) is stored per network. The equations are in :mod:`spatial_snn.sim.kernels`:
Norse <= 1.0 ``lif_step`` with ``a_mem = float32(dt * tau_mem_inv)``,
``a_syn = float32(dt * tau_syn_inv)``, dt in seconds, and the output

    out[b, o] = (sum over sub-steps of sum_{j spiking} W_out[j, o]) / substeps.

A plastic genome (:attr:`~spatial_snn.space.genome.Genome.plastic`) scales
each spike's outgoing weights by its Tsodyks-Markram release; its ``u``, ``x``
and last spike time are state per network, reset with the rest. A batch may
mix plastic and static genomes; without any plastic genome nothing of it is
allocated and the kernel runs exactly its static path.

Example
-------
>>> net = Network(genomes, episodes=3)
>>> y = net.step(x, substeps=64)                 # x (B, n_in), y (B, n_out)
>>> y = net.step(x, 64, active=~done)           # finished episodes cost nothing
>>> net.reset(mask=done)
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..space.connectivity import build
from ..space.genome import Genome, Synapses
from ..space.rules import ConnectivityRule
from . import kernels
from .kernels import SPIKES

__all__ = ["Network", "set_threads", "warmup"]

#: Synapses of a genome above which the kernel prefetches synapse rows
#: (8 bytes each: 1 MiB, about what stays in L2/L3 alongside the state).
_PREFETCH_MIN = 1 << 17


def _concat(parts: list[np.ndarray], dtype) -> np.ndarray:
    """Concatenate (no copy for a single contiguous part of the right dtype)."""
    if len(parts) == 1:
        return np.ascontiguousarray(parts[0], dtype=dtype)
    return np.ascontiguousarray(np.concatenate(parts), dtype=dtype)


def _outgoing(conn, slots: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One row of outgoing synapses per hidden neuron: recurrent, then output.

    Returns ``ptr`` (n + 1,) int64, ``mid`` (n,) int64 (first output synapse
    of each row) and ``syn`` (2 * synapses,) int32: pairs (target offset,
    bits of the float32 weight), ``off = d * n + k`` for a recurrent synapse
    to ``k`` with delay ``d`` and ``off = slots * n + o`` for an output
    synapse to ``o`` (the kernel's buffer layout). Pairs keep a spiker's row
    in one contiguous block of memory.
    """
    rec, out = conn.recurrent, conn.output
    n = rec.shape[0]
    n_rec, n_out = np.diff(rec.indptr), np.diff(out.indptr)
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(n_rec + n_out, out=ptr[1:])
    mid = ptr[:-1] + n_rec
    # position of each recurrent / output synapse in the merged rows
    rec_pos = np.arange(rec.nnz) + np.repeat(ptr[:-1] - rec.indptr[:-1], n_rec)
    out_pos = np.arange(out.nnz) + np.repeat(mid - out.indptr[:-1], n_out)
    syn = np.empty((ptr[-1], 2), np.int32)
    syn[rec_pos, 0] = conn.delays.astype(np.int64) * n + rec.indices
    syn[out_pos, 0] = slots * n + out.indices.astype(np.int64)
    syn[rec_pos, 1] = rec.data.astype(np.float32).view(np.int32)
    syn[out_pos, 1] = out.data.astype(np.float32).view(np.int32)
    return ptr, mid, syn.reshape(-1)


def _block_csr(mats) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Block-diagonal concatenation of CSR matrices: (indptr int64, indices int32, data float32).

    Row ``r`` of matrix ``m`` becomes row ``sum(rows before m) + r``; column
    indices stay local to each matrix.
    """
    nnz = np.cumsum([0] + [m.nnz for m in mats])
    ptr = [np.zeros(1, np.int64)] + [m.indptr[1:].astype(np.int64) + off for m, off in zip(mats, nnz[:-1], strict=True)]
    return (
        _concat(ptr, np.int64),
        _concat([m.indices for m in mats], np.int32),
        _concat([m.data for m in mats], np.float32),
    )


class Network:
    """``G`` genomes x ``episodes`` independent LIF networks, stepped together.

    Parameters
    ----------
    genomes : sequence of Genome
        All with the same ``n_inputs`` and ``n_outputs``.
    episodes : int
        Networks per genome (same connectivity, separate state).
    dt : float
        Sub-step length in seconds.

    Attributes
    ----------
    n_networks : int
        ``B = G * episodes``.
    n_genomes, episodes, n_inputs, n_outputs : int
    """

    def __init__(self, genomes: Sequence[Genome], episodes: int = 1, *, dt: float = 1e-3):
        genomes = list(genomes)
        if not genomes:
            raise ValueError("genomes: expected at least one Genome, got an empty sequence")
        for k, gen in enumerate(genomes):
            if not isinstance(gen, Genome):
                raise TypeError(f"genomes[{k}]: expected a Genome, got {type(gen).__name__}")
        if isinstance(episodes, bool) or int(episodes) != episodes or episodes < 1:
            raise ValueError(f"episodes: expected an integer >= 1, got {episodes!r}")
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt: expected a finite time step > 0 (seconds), got {dt!r}")
        n_in, n_out = genomes[0].n_inputs, genomes[0].n_outputs
        for k, gen in enumerate(genomes):
            if (gen.n_inputs, gen.n_outputs) != (n_in, n_out):
                raise ValueError(
                    f"genomes[{k}]: expected n_inputs = {n_in} and n_outputs = {n_out} "
                    f"(as genomes[0]), got n_inputs = {gen.n_inputs} and "
                    f"n_outputs = {gen.n_outputs}"
                )
        self.n_genomes = len(genomes)
        self.episodes = int(episodes)
        self.n_inputs, self.n_outputs = n_in, n_out
        self.dt = float(dt)
        self.n_networks = self.n_genomes * self.episodes
        self._layout(genomes)
        self._state()
        self._all = np.arange(self.n_networks, dtype=np.int64)
        self._counters = np.zeros((self.n_networks, 3), np.int64)
        self._spikes_before = None
        self.reset()

    # ------------------------------------------------------------ layout
    def _layout(self, genomes: list[Genome]) -> None:
        """Per-genome parameters and block-diagonal CSR arrays."""
        self._n_of = np.array([g.n for g in genomes], np.int64)
        self._slots_of = np.array([g.rule.delay_slots for g in genomes], np.int64)
        self._p_ofs = np.concatenate([[0], np.cumsum(self._n_of)]).astype(np.int64)
        dt = self.dt
        self._a_mem = _concat([dt * g.tau_mem_inv for g in genomes], np.float32)
        self._a_syn = _concat([dt * g.tau_syn_inv for g in genomes], np.float32)
        self._v_leak = _concat([g.v_leak for g in genomes], np.float32)
        self._v_th = _concat([g.v_th for g in genomes], np.float32)
        self._v_reset = _concat([g.v_reset for g in genomes], np.float32)
        ins, ptrs, mids, syns = [], [np.zeros(1, np.int64)], [], []
        n_syn = 0
        for k, gen in enumerate(genomes):
            conn = build(gen)
            d = conn.delays
            slots = int(self._slots_of[k])
            if d.size and (d.min() < 1 or d.max() >= slots):
                raise ValueError(
                    f"genomes[{k}]: expected recurrent delays in 1..{slots - 1} sub-steps "
                    f"(rule.delay_slots - 1), got {d.min()}..{d.max()}"
                )
            if slots * gen.n + self.n_outputs >= 2**31:
                raise ValueError(
                    f"genomes[{k}]: expected delay_slots * n + n_outputs < 2**31, got "
                    f"{slots} * {gen.n} + {self.n_outputs}; use fewer neurons or a smaller max_delay"
                )
            ins.append(conn.input)
            ptr, mid, syn = _outgoing(conn, slots)
            ptrs.append(ptr[1:] + n_syn), mids.append(mid + n_syn), syns.append(syn)
            n_syn += int(ptr[-1])
        self._in = _block_csr(ins)
        self._syn = (
            _concat(ptrs, np.int64),
            _concat(mids, np.int64),
            _concat(syns, np.int32),
        )
        # genomes whose synapse rows exceed the caches: the kernel prefetches rows ahead
        self._prefetch_of = np.diff(self._syn[0][self._p_ofs]) > _PREFETCH_MIN
        self._stp_layout(genomes)

    def _stp_layout(self, genomes: list[Genome]) -> None:
        """Short-term plasticity genes per neuron: ``U``, ``dt / tau_f``, ``dt / tau_d`` (float64).

        Empty when no genome is plastic; a static genome of a mixed batch gets
        placeholders the kernel does not read.
        """
        self._plastic_of = np.array([g.plastic for g in genomes], np.bool_)
        if not self._plastic_of.any():
            self._stp = tuple(np.zeros(0, np.float64) for _ in range(3))
            return
        dt = self.dt

        def gene(g, name, rate):
            if not g.plastic:
                return np.ones(g.n) if name == "stp_use" else np.zeros(g.n)
            values = getattr(g, name)
            return dt / values if rate else values

        self._stp = (
            _concat([gene(g, "stp_use", False) for g in genomes], np.float64),
            _concat([gene(g, "stp_tau_f", True) for g in genomes], np.float64),
            _concat([gene(g, "stp_tau_d", True) for g in genomes], np.float64),
        )

    def _state(self) -> None:
        """Per-network state arrays and their offsets."""
        g_of = np.arange(self.n_networks) // self.episodes
        n_b = self._n_of[g_of]
        self._s_ofs = np.concatenate([[0], np.cumsum(n_b)[:-1]]).astype(np.int64)
        q_b = n_b * self._slots_of[g_of] + self.n_outputs
        self._q_ofs = np.concatenate([[0], np.cumsum(q_b)[:-1]]).astype(np.int64)
        size = int(n_b.sum())
        self._v = np.zeros(size, np.float32)
        self._i = np.zeros(size, np.float32)
        self._cur = np.zeros(size, np.float32)
        self._spk = np.zeros(size, np.int32)
        self._buf = np.zeros(int(q_b.sum()), np.float32)
        self._clock = np.zeros(self.n_networks, np.int64)
        stp_size = size if self._plastic_of.any() else 0
        self._stp_state = (np.ones(stp_size), np.ones(stp_size), np.zeros(stp_size, np.int64))

    @property
    def nbytes(self) -> dict[str, int]:
        """Memory in bytes: ``connectivity`` (CSR arrays and parameters), ``state``."""
        conn = [*self._in, *self._syn]
        conn += [self._a_mem, self._a_syn, self._v_leak, self._v_th, self._v_reset, *self._stp]
        state = [self._v, self._i, self._cur, self._spk, self._buf, self._clock, *self._stp_state]
        return {"connectivity": sum(a.nbytes for a in conn), "state": sum(a.nbytes for a in state)}

    # ----------------------------------------------------------- checks
    def _nets(self, mask, name: str) -> np.ndarray:
        if mask is None:
            return self._all
        m = np.asarray(mask)
        if m.shape != (self.n_networks,) or m.dtype != np.bool_:
            raise ValueError(
                f"{name}: expected a boolean array of shape ({self.n_networks},) or None, "
                f"got {m.dtype} array of shape {m.shape}"
            )
        return np.flatnonzero(m).astype(np.int64)

    # -------------------------------------------------------------- API
    def reset(self, mask: np.ndarray | None = None) -> None:
        """Reset state: ``v = v_reset``, ``i = 0``, buffers 0, clock 0.

        Parameters
        ----------
        mask : (B,) bool or None
            Networks to reset; None resets all. Counters are not reset
            (see :meth:`reset_counters`).
        """
        nets = self._nets(mask, "mask")
        kernels.reset_networks(
            nets, self.episodes, self.n_outputs, self._n_of, self._slots_of, self._p_ofs,
            self._v_reset,
            self._s_ofs, self._q_ofs, self._v, self._i, self._buf, self._clock,
            self._plastic_of, self._stp[0], *self._stp_state,
        )  # fmt: skip

    def step(self, inputs, substeps: int, active: np.ndarray | None = None) -> np.ndarray:
        """Run ``substeps`` sub-steps with constant input current; return the mean output.

        Parameters
        ----------
        inputs : (B, n_in) array of float
            Input of each network for this env step (converted to float32);
            ``I_in[j] = sum_c inputs[b, c] * W_in[c, j]``. Rows of inactive
            networks are ignored (they may hold NaN).
        substeps : int
            Sub-steps (of ``dt`` seconds) per env step, >= 1.
        active : (B,) bool or None
            Networks to advance; inactive ones cost nothing, keep their state
            and counters and get output rows of 0. None = all.

        Returns
        -------
        (B, n_out) float32
            ``(sum over sub-steps of the weighted hidden spikes) / substeps``.
        """
        if isinstance(substeps, bool) or int(substeps) != substeps or substeps < 1:
            raise ValueError(f"substeps: expected an integer >= 1, got {substeps!r}")
        x = np.asarray(inputs)
        shape = (self.n_networks, self.n_inputs)
        if x.shape != shape:
            raise ValueError(f"inputs: expected shape {shape} (networks, n_inputs), got {x.shape}")
        if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
            raise ValueError(f"inputs: expected a float array of shape {shape}, got dtype {x.dtype}")
        with np.errstate(over="ignore", invalid="ignore"):  # caught by the check below
            x = np.ascontiguousarray(x, dtype=np.float32)
        nets = self._nets(active, "active")
        rows = x if active is None else x[nets]
        if not np.all(np.isfinite(rows)):
            bad = np.argwhere(~np.isfinite(rows))[0]
            net = int(bad[0] if active is None else nets[bad[0]])
            raise ValueError(
                f"inputs: expected finite float32 values in active rows, got "
                f"{x[net, bad[1]]} at [{net}, {bad[1]}] (NaN, inf, or beyond float32 range)"
            )
        out = np.zeros((self.n_networks, self.n_outputs), np.float32)
        # one sub-step: the kernel's spiker list is that sub-step's raster row (last_spikes)
        self._spikes_before = self._counters[:, SPIKES].copy() if substeps == 1 else None
        kernels.advance_networks(
            nets, int(substeps), x, self.episodes, self._n_of, self._slots_of, self._prefetch_of,
            self._p_ofs,
            self._a_mem, self._a_syn, self._v_leak, self._v_th, self._v_reset,
            *self._in, *self._syn,
            self._s_ofs, self._q_ofs, self._v, self._i, self._cur, self._spk, self._buf,
            self._clock, out, self._counters,
            self._plastic_of, *self._stp, *self._stp_state,
        )  # fmt: skip
        return out

    def state(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of network ``b``'s membrane potentials ``v`` and currents ``i``, (n,) float32."""
        if isinstance(b, bool) or int(b) != b or not 0 <= b < self.n_networks:
            raise ValueError(f"b: expected a network index in 0..{self.n_networks - 1}, got {b!r}")
        n = int(self._n_of[int(b) // self.episodes])
        s = slice(int(self._s_ofs[b]), int(self._s_ofs[b]) + n)
        return self._v[s].copy(), self._i[s].copy()

    def plasticity_state(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        """Copies of network ``b``'s utilisations ``u`` and resources ``x`` just after each
        neuron's last spike (or reset), (n,) float64; ValueError for a static genome."""
        if isinstance(b, bool) or int(b) != b or not 0 <= b < self.n_networks:
            raise ValueError(f"b: expected a network index in 0..{self.n_networks - 1}, got {b!r}")
        g = int(b) // self.episodes
        if not self._plastic_of[g]:
            raise ValueError(f"b: network {b} runs a static genome (no short-term plasticity state)")
        n = int(self._n_of[g])
        s = slice(int(self._s_ofs[b]), int(self._s_ofs[b]) + n)
        return self._stp_state[0][s].copy(), self._stp_state[1][s].copy()

    def last_spikes(self, b: int) -> np.ndarray:
        """Hidden neurons of network ``b`` that spiked in the last call of :meth:`step`, ascending.

        Only after ``step(..., substeps=1)`` (the kernel keeps the spikers of its
        last sub-step only); step one sub-step at a time to record a raster.
        """
        if getattr(self, "_spikes_before", None) is None:
            raise ValueError(
                "last_spikes: expected a preceding step(..., substeps=1); step one sub-step at a time to record spikes"
            )
        if isinstance(b, bool) or int(b) != b or not 0 <= b < self.n_networks:
            raise ValueError(f"b: expected a network index in 0..{self.n_networks - 1}, got {b!r}")
        count = int(self._counters[b, SPIKES] - self._spikes_before[b])
        s0 = int(self._s_ofs[b])
        return self._spk[s0 : s0 + count].astype(np.int64)

    @property
    def counters(self) -> np.ndarray:
        """(B, 3) int64 copy: ``[SPIKES, SYN_EVENTS, NEURON_UPDATES]`` since construction
        or :meth:`reset_counters`; synaptic events count the recurrent and output
        synapses of every spiker."""
        return self._counters.copy()

    def reset_counters(self) -> None:
        """Set every counter to 0."""
        self._counters[:] = 0
        self._spikes_before = None

    def __repr__(self) -> str:
        return (
            f"Network(genomes={self.n_genomes}, episodes={self.episodes}, "
            f"inputs={self.n_inputs}, outputs={self.n_outputs}, dt={self.dt})"
        )


def _tiny_genome() -> Genome:
    """Two neurons, one input, one output, a delayed recurrent pair (for warmup)."""
    one = np.ones(2)
    return Genome(
        positions=np.array([[0.0], [1.0]]),
        input_positions=np.zeros((1, 1)),
        output_positions=np.ones((1, 1)),
        v_th=one, v_reset=0 * one, v_leak=one, tau_mem_inv=100 * one, tau_syn_inv=100 * one,
        sign=np.array([1, -1]), input_sign=np.array([1]),
        input_synapses=Synapses([0], [0], [1.0]),
        recurrent=Synapses([0, 1], [1, 0], [1.0, 1.0]),
        output_synapses=Synapses([0], [0], [1.0]),
        rule=ConnectivityRule(conduction_speed=0.5, max_delay=2),
    )  # fmt: skip


def warmup() -> None:
    """Compile (or load from numba's cache) every kernel on a tiny network.

    Call once in the parent process before starting workers (numba's cache
    races under parallel compilation) and in each worker initializer.
    """
    net = Network([_tiny_genome()], episodes=2)
    net.step(np.ones((2, 1), np.float32), 4)
    net.reset(np.array([True, False]))


def set_threads(n: int) -> None:
    """Use ``n`` numba threads (1 .. the number numba started with) in this thread."""
    hi = kernels.max_kernel_threads()
    if isinstance(n, bool) or int(n) != n or not 1 <= n <= hi:
        raise ValueError(f"n: expected an integer thread count in 1..{hi}, got {n!r}")
    kernels.set_kernel_threads(int(n))
