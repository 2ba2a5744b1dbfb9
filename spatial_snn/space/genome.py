"""Genome: a spatially embedded recurrent SNN as a struct of arrays.

A genome holds three populations that live in the same ``dim``-dimensional
space (``dim`` in {1, 2, 3}):

* ``n`` hidden LIF neurons, one index shared by every per-neuron field
  (``positions``, ``v_th``, ``v_reset``, ``v_leak``, ``tau_mem_inv``,
  ``tau_syn_inv``, ``sign``);
* ``n_in`` input channels (``input_positions``, ``input_sign``);
* ``n_out`` non-spiking output units (``output_positions``).

Optional short-term plasticity genes (Tsodyks-Markram, :mod:`spatial_snn.sim.kernels`):
``stp_use`` (U, in (0, 1]), ``stp_tau_f`` and ``stp_tau_d`` (facilitation and
depression time constants, s), one per hidden neuron, all three present (a
plastic genome, :attr:`Genome.plastic`) or all None (static synapses, the
published model). They ride on the neuron index like every per-neuron field.

Synapses are three projections, each a :class:`Synapses` triple
``(pre, post, weight)`` with ``weight > 0`` (the gene); the sign of a synapse
is its presynaptic neuron's (Dale's law) and its strength follows from the
distance through the genome's :class:`~spatial_snn.space.rules.ConnectivityRule`:

    w_eff = weight * strength(d) * sign[pre]

Units: ``tau_mem_inv`` and ``tau_syn_inv`` in 1/s; voltages and currents in
the model's arbitrary units, as in the reference method.

A genome is immutable by convention: operators build new arrays
(:meth:`Genome.replace`, :meth:`Genome.select_neurons`) and never write into
an existing genome's arrays.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .rhythm import check_rhythm
from .rules import ConnectivityRule

#: Names of the per-hidden-neuron LIF parameters, in a fixed order.
NEURON_PARAMS = ("v_th", "v_reset", "v_leak", "tau_mem_inv", "tau_syn_inv")
#: Names of the optional per-neuron short-term plasticity genes (all present or all None).
STP_PARAMS = ("stp_use", "stp_tau_f", "stp_tau_d")
#: Names of the three projections.
PROJECTIONS = ("input_synapses", "recurrent", "output_synapses")


_INT32_MAX = np.iinfo(np.int32).max


def _first(mask: np.ndarray) -> tuple[int, ...] | int:
    """Index of the first True entry of ``mask`` (an int for 1-D arrays)."""
    at = tuple(int(k) for k in np.argwhere(mask)[0])
    return at[0] if len(at) == 1 else at


def _as_index(a, name: str) -> np.ndarray:
    """``a`` as contiguous int32 indices; non-integral or out-of-int32 values raise (no silent casts)."""
    arr = np.asarray(a)
    if arr.dtype == np.int32:
        return np.ascontiguousarray(arr)
    if arr.size == 0:
        return np.empty(arr.shape, np.int32)  # [] arrives as float64
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"{name}: expected integer indices, got dtype {arr.dtype}; pass an int32 array")
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr) | (arr != np.round(arr))
        if bad.any():
            at = _first(bad)
            raise ValueError(f"{name}: expected integer indices, got {arr[at]} at index {at}; pass an int32 array")
    if arr.min() < -_INT32_MAX - 1 or arr.max() > _INT32_MAX:
        raise ValueError(
            f"{name}: expected integer indices that fit int32 (< 2**31), got range [{arr.min()}, {arr.max()}]"
        )
    return np.ascontiguousarray(arr, dtype=np.int32)


@dataclass(frozen=True, eq=False)
class Synapses:
    """One projection as parallel arrays.

    Parameters
    ----------
    pre, post : (s,) int32
        Presynaptic and postsynaptic indices (into the projection's source and
        target populations). Integer-valued input of another dtype is
        converted; fractional or out-of-int32 values raise ValueError.
    weight : (s,) float32
        Weight genes, strictly positive and finite (checked by :class:`Genome`).

    Arrays already int32 / float32 and contiguous are kept, not copied (large
    genomes): never write into an array after handing it to ``Synapses``.
    """

    pre: np.ndarray
    post: np.ndarray
    weight: np.ndarray

    def __post_init__(self):
        object.__setattr__(self, "pre", _as_index(self.pre, "Synapses.pre"))
        object.__setattr__(self, "post", _as_index(self.post, "Synapses.post"))
        object.__setattr__(self, "weight", np.ascontiguousarray(self.weight, dtype=np.float32))

    @classmethod
    def empty(cls) -> Synapses:
        return cls(np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float32))

    def __len__(self) -> int:
        return int(self.pre.shape[0])

    def take(self, keep: np.ndarray) -> Synapses:
        """Synapses selected by a boolean mask or index array (copies)."""
        return Synapses(self.pre[keep], self.post[keep], self.weight[keep])

    def _check(self, name: str, n_pre: int, n_post: int) -> None:
        if self.pre.ndim != 1:
            raise ValueError(f"{name}.pre: expected a 1-D array, got shape {self.pre.shape}")
        s = self.pre.shape
        for part in ("post", "weight"):
            arr = getattr(self, part)
            if arr.shape != s:
                raise ValueError(f"{name}.{part}: expected shape {s} (same as {name}.pre), got {arr.shape}")
        for part, bound in (("pre", n_pre), ("post", n_post)):
            arr = getattr(self, part)
            if arr.size and (arr.min() < 0 or arr.max() >= bound):
                at = _first((arr < 0) | (arr >= bound))
                raise ValueError(
                    f"{name}.{part}: expected indices in [0, {bound}), got {arr[at]} at synapse {at} "
                    f"(range [{arr.min()}, {arr.max()}]); drop or re-index synapses of removed neurons "
                    "(Genome.select_neurons does both)"
                )
        w = self.weight
        if not np.all(np.isfinite(w)):
            at = _first(~np.isfinite(w))
            raise ValueError(f"{name}.weight: expected finite values, got {w[at]} at synapse {at}")
        if w.size and w.min() <= 0:
            at = _first(w <= 0)
            raise ValueError(
                f"{name}.weight: expected weights > 0 (the sign belongs to the presynaptic "
                f"neuron), got {w[at]} at synapse {at}; delete the synapse instead of zeroing it"
            )


def _as_float(a, name) -> np.ndarray:
    try:
        return np.array(a, dtype=np.float64)  # always a fresh copy
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name}: expected a float array, got {type(a).__name__}") from exc


def _as_sign(a, name) -> np.ndarray:
    """``a`` as int8 signs; anything but +1/-1 raises before the cast could hide it."""
    arr = np.asarray(a)
    ok = (arr == 1) | (arr == -1) if arr.dtype.kind in "iuf" else np.zeros(arr.shape, bool)
    if not np.all(ok):
        at = _first(~np.atleast_1d(ok))
        raise ValueError(
            f"{name}: expected values +1 (excitatory) or -1 (inhibitory), got {np.atleast_1d(arr)[at]} at index {at}"
        )
    return arr.astype(np.int8)


@dataclass(frozen=True, eq=False)
class Genome:
    """A spatially embedded recurrent SNN (struct of arrays, one neuron index).

    Parameters
    ----------
    positions : (n, dim) float64
        Hidden neuron positions (genes).
    input_positions : (n_in, dim) float64
    output_positions : (n_out, dim) float64
    v_th, v_reset, v_leak : (n,) float64
        Threshold, reset and leak potentials.
    tau_mem_inv, tau_syn_inv : (n,) float64
        Inverse membrane and synaptic time constants, 1/s.
    sign : (n,) int8
        +1 excitatory, -1 inhibitory; multiplies every outgoing weight.
    input_sign : (n_in,) int8
        Sign of each input channel.
    input_synapses, recurrent, output_synapses : Synapses
        input -> hidden, hidden -> hidden and hidden -> output projections.
    rule : ConnectivityRule
        Maps distances to strengths (and delays); see ``connectivity``.
    stp_use, stp_tau_f, stp_tau_d : (n,) float64 or None
        Short-term plasticity genes of each neuron's outgoing synapses: U in
        (0, 1], time constants in seconds (> 0); all three or none.
    rhythm : (2 + 3 m,) float64 or None
        Optional genes of a rhythm generator beneath the actions
        (:mod:`~spatial_snn.space.rhythm`), outside the neuron index (kept by
        :meth:`select_neurons`); None when the decoder has no rhythm.
    """

    positions: np.ndarray
    input_positions: np.ndarray
    output_positions: np.ndarray
    v_th: np.ndarray
    v_reset: np.ndarray
    v_leak: np.ndarray
    tau_mem_inv: np.ndarray
    tau_syn_inv: np.ndarray
    sign: np.ndarray
    input_sign: np.ndarray
    input_synapses: Synapses
    recurrent: Synapses
    output_synapses: Synapses
    rule: ConnectivityRule = field(default=None)  # type: ignore[assignment]
    stp_use: np.ndarray | None = None
    stp_tau_f: np.ndarray | None = None
    stp_tau_d: np.ndarray | None = None
    rhythm: np.ndarray | None = None

    def __post_init__(self):
        if self.rule is None:
            object.__setattr__(self, "rule", ConnectivityRule())
        elif not isinstance(self.rule, ConnectivityRule):
            raise TypeError(f"rule: expected a ConnectivityRule, got {type(self.rule).__name__}")
        for name in ("positions", "input_positions", "output_positions", *NEURON_PARAMS):
            object.__setattr__(self, name, _as_float(getattr(self, name), name))
        present = [getattr(self, name) is not None for name in STP_PARAMS]
        if any(present) and not all(present):
            raise ValueError(
                f"{', '.join(STP_PARAMS)}: expected all three (a plastic genome) or none, got "
                f"{[name for name, p in zip(STP_PARAMS, present, strict=True) if p]} only"
            )
        if all(present):
            for name in STP_PARAMS:
                object.__setattr__(self, name, _as_float(getattr(self, name), name))
        for name in ("sign", "input_sign"):
            object.__setattr__(self, name, _as_sign(getattr(self, name), name))
        for name in PROJECTIONS:
            syn = getattr(self, name)
            if not isinstance(syn, Synapses):
                if isinstance(syn, tuple | list) and len(syn) == 3:
                    object.__setattr__(self, name, Synapses(*syn))
                else:
                    raise TypeError(
                        f"{name}: expected Synapses or a (pre, post, weight) tuple, got {type(syn).__name__}"
                    )
        if self.rhythm is not None:
            object.__setattr__(self, "rhythm", check_rhythm(self.rhythm, "rhythm"))
        self._validate()

    # ------------------------------------------------------------------ checks
    def _validate(self) -> None:
        pos = self.positions
        if pos.ndim != 2:
            raise ValueError(f"positions: expected shape (n, dim), got {pos.shape}; reshape 1-D positions to (n, 1)")
        n, dim = pos.shape
        if dim not in (1, 2, 3):
            raise ValueError(f"positions: expected shape (n, dim) with dim in 1..3, got dim = {dim}")
        for name in ("input_positions", "output_positions"):
            p = getattr(self, name)
            if p.ndim != 2 or p.shape[1] != dim:
                raise ValueError(f"{name}: expected shape (k, {dim}) (the hidden neurons' dim), got {p.shape}")
        for name in ("positions", "input_positions", "output_positions", *NEURON_PARAMS):
            a = getattr(self, name)
            if name in NEURON_PARAMS and a.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) (one value per neuron), got {a.shape}")
            if not np.all(np.isfinite(a)):
                at = _first(~np.isfinite(a))
                raise ValueError(f"{name}: expected finite values, got {a[at]} at index {at}")
        for name in ("tau_mem_inv", "tau_syn_inv"):
            a = getattr(self, name)
            if a.size and a.min() < 0:
                at = _first(a < 0)
                raise ValueError(f"{name}: expected values >= 0 (1/s), got {a[at]} at index {at}")
        if self.plastic:
            self._validate_stp(n)
        for name, size in (("sign", n), ("input_sign", self.n_inputs)):
            s = getattr(self, name)
            if s.shape != (size,):
                raise ValueError(f"{name}: expected shape ({size},), got {s.shape}")
        self.input_synapses._check("input_synapses", self.n_inputs, n)
        self.recurrent._check("recurrent", n, n)
        self.output_synapses._check("output_synapses", n, self.n_outputs)

    def _validate_stp(self, n: int) -> None:
        for name in STP_PARAMS:
            a = getattr(self, name)
            if a.shape != (n,):
                raise ValueError(f"{name}: expected shape ({n},) (one value per neuron), got {a.shape}")
            if not np.all(np.isfinite(a)):
                at = _first(~np.isfinite(a))
                raise ValueError(f"{name}: expected finite values, got {a[at]} at index {at}")
        use = self.stp_use
        if use.size and (use.min() <= 0 or use.max() > 1):
            at = _first((use <= 0) | (use > 1))
            raise ValueError(f"stp_use: expected values in (0, 1] (a release fraction), got {use[at]} at index {at}")
        for name in ("stp_tau_f", "stp_tau_d"):
            a = getattr(self, name)
            if a.size and a.min() <= 0:
                at = _first(a <= 0)
                raise ValueError(f"{name}: expected time constants > 0 (s), got {a[at]} at index {at}")

    # -------------------------------------------------------------- properties
    @property
    def plastic(self) -> bool:
        """Whether the genome carries short-term plasticity genes (``stp_use``, ``stp_tau_f``, ``stp_tau_d``)."""
        return self.stp_use is not None

    @property
    def neuron_fields(self) -> tuple[str, ...]:
        """Names of the per-neuron parameter fields this genome carries (LIF, then STP if plastic)."""
        return (*NEURON_PARAMS, *STP_PARAMS) if self.plastic else NEURON_PARAMS

    @property
    def n(self) -> int:
        """Number of hidden neurons."""
        return int(self.positions.shape[0])

    @property
    def dim(self) -> int:
        return int(self.positions.shape[1])

    @property
    def n_inputs(self) -> int:
        return int(self.input_positions.shape[0])

    @property
    def n_outputs(self) -> int:
        return int(self.output_positions.shape[0])

    @property
    def n_synapses(self) -> int:
        """Total synapse count over the three projections (non-zero weights)."""
        return sum(len(getattr(self, p)) for p in PROJECTIONS)

    def sparsity(self) -> float:
        """Fraction of possible synapses that are absent (0 = dense, 1 = empty)."""
        n, i, o = self.n, self.n_inputs, self.n_outputs
        possible = i * n + n * n + n * o
        return 1.0 - self.n_synapses / possible if possible else 1.0

    # -------------------------------------------------------------- operations
    def replace(self, **changes) -> Genome:
        """A new genome with some fields replaced (validated again)."""
        return dataclasses.replace(self, **changes)

    def select_neurons(self, idx) -> Genome:
        """Keep the hidden neurons ``idx`` (boolean mask or indices, in that order).

        Every per-neuron field and every synapse touching a hidden neuron is
        re-indexed together; synapses to or from dropped neurons are removed.
        Input channels and output units are kept as they are.
        """
        idx = np.asarray(idx)
        if idx.dtype == bool:
            if idx.shape != (self.n,):
                raise ValueError(f"idx: expected a boolean mask of shape ({self.n},), got {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.ndim != 1 or (idx.size and idx.dtype.kind not in "iu"):
            raise ValueError(
                f"idx: expected a 1-D array of integer indices or a boolean mask, "
                f"got shape {idx.shape} dtype {idx.dtype}"
            )
        idx = idx.astype(np.int64)
        if idx.size and (idx.min() < 0 or idx.max() >= self.n):
            raise ValueError(f"idx: expected neuron indices in [0, {self.n}), got {idx.min()}..{idx.max()}")
        uniq, counts = np.unique(idx, return_counts=True)
        if uniq.size != idx.size:
            raise ValueError(f"idx: expected distinct neuron indices, got {uniq[counts > 1][:5].tolist()} repeated")
        new_index = np.full(self.n, -1, np.int64)
        new_index[idx] = np.arange(idx.size)

        def remap(syn: Synapses, pre_hidden: bool, post_hidden: bool) -> Synapses:
            pre = new_index[syn.pre] if pre_hidden else syn.pre.astype(np.int64)
            post = new_index[syn.post] if post_hidden else syn.post.astype(np.int64)
            keep = (pre >= 0) & (post >= 0)
            return Synapses(pre[keep], post[keep], syn.weight[keep])

        fields = {name: getattr(self, name)[idx] for name in ("positions", *self.neuron_fields, "sign")}
        return self.replace(
            **fields,
            input_synapses=remap(self.input_synapses, False, True),
            recurrent=remap(self.recurrent, True, True),
            output_synapses=remap(self.output_synapses, True, False),
        )

    def summary(self) -> dict:
        """Small dict of counts, for logs and the CLI."""
        return {
            "dim": self.dim,
            "neurons": self.n,
            "inputs": self.n_inputs,
            "outputs": self.n_outputs,
            "synapses": self.n_synapses,
            "input_synapses": len(self.input_synapses),
            "recurrent_synapses": len(self.recurrent),
            "output_synapses": len(self.output_synapses),
            "sparsity": self.sparsity(),
            "excitatory_fraction": float(np.mean(self.sign > 0)) if self.n else 0.0,
            "plastic": self.plastic,
        } | ({} if self.rhythm is None else {"rhythm_oscillators": (len(self.rhythm) - 2) // 3})
