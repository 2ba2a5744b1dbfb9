"""One codec for batches of ragged genomes: concatenated arrays plus per-genome counts.

A batch of ``N`` genomes is a flat dict of numpy arrays (and one list of
rule dicts), the same whatever ``N`` is:

* ``counts/<part>`` ``(N,)`` int64: rows each genome owns in every array of
  that part (:data:`PARTS`), so genome ``k`` owns rows
  ``offsets[k]:offsets[k + 1]`` with ``offsets = concatenate([0], cumsum(counts))``;
* one concatenated array per field (:data:`PARTS` lists which field belongs
  to which part), e.g. ``positions`` ``(n_total, dim)`` float64,
  ``recurrent_pre`` ``(s_total,)`` int32;
* ``rules``: the distinct :class:`ConnectivityRule` s as dicts, and
  ``rule_index`` ``(N,)`` int32 saying which one each genome uses;
* only if some genome is plastic, the optional part ``plasticity``
  (:data:`OPTIONAL_PARTS`: ``stp_use``, ``stp_tau_f``, ``stp_tau_d``), where a
  genome owns ``n`` rows if it is plastic and 0 if not. A batch without it
  (every batch written before plasticity existed) holds static genomes.
* only when some genome has rhythm genes: ``counts/rhythm`` ``(N,)`` int64
  (0 for a genome without) and ``rhythm`` ``(r_total,)`` float64
  (:data:`OPTIONAL_PARTS`); a batch without them decodes to genomes without.

Both the worker transport (``tasks.evaluation.pack_batch``) and the run
archive (``store.genome_io.write_genomes``) use it, so the two cannot drift.
Pure numpy: no file, no pickle. :func:`decode_batch` bounds every count by
the arrays it was given before it slices anything, so a damaged batch is one
``ValueError``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from .genome import NEURON_PARAMS, STP_PARAMS, Genome, Synapses
from .rules import ConnectivityRule

__all__ = ["FIELD_DTYPES", "OPTIONAL_PARTS", "PARTS", "PROJECTION_PARTS", "decode_batch", "encode_batch", "offsets_of"]

#: Genome attribute of each projection and its short name in a batch.
PROJECTION_PARTS = (("input_synapses", "input"), ("recurrent", "recurrent"), ("output_synapses", "output"))
#: Arrays that share one length per genome ("part" -> fields).
PARTS = {
    "neurons": ("positions", *NEURON_PARAMS, "sign"),
    "inputs": ("input_positions", "input_sign"),
    "outputs": ("output_positions",),
    **{short: (f"{short}_pre", f"{short}_post", f"{short}_weight") for _, short in PROJECTION_PARTS},
}
#: Parts a batch holds only when some genome has them (a genome without owns 0 rows):
#: plasticity genes (``n`` rows for a plastic genome) and rhythm genes (``2 + 3 m``).
OPTIONAL_PARTS = {"plasticity": STP_PARAMS, "rhythm": ("rhythm",)}
#: dtype of every field of a batch.
FIELD_DTYPES = {
    "positions": np.float64,
    "input_positions": np.float64,
    "output_positions": np.float64,
    **{p: np.float64 for p in (*NEURON_PARAMS, *STP_PARAMS)},
    "rhythm": np.float64,
    "sign": np.int8,
    "input_sign": np.int8,
    **{
        f"{short}_{c}": dt
        for _, short in PROJECTION_PARTS
        for c, dt in (("pre", np.int32), ("post", np.int32), ("weight", np.float32))
    },
}
_POSITIONS = ("positions", "input_positions", "output_positions")


def offsets_of(counts: np.ndarray) -> np.ndarray:
    """``(N + 1,)`` int64 offsets ``[0, c0, c0 + c1, ...]`` of ``(N,)`` counts."""
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(np.asarray(counts, np.int64), out=out[1:])
    return out


def _field(genome: Genome, name: str) -> np.ndarray:
    for attr, short in PROJECTION_PARTS:
        if name in PARTS[short]:
            return getattr(getattr(genome, attr), name[len(short) + 1 :])
    return getattr(genome, name)


def encode_batch(genomes: Sequence[Genome]) -> dict:
    """Genomes (all of one embedding dimension) as one batch (see the module docstring)."""
    genomes = list(genomes)
    for k, g in enumerate(genomes):
        if not isinstance(g, Genome):
            raise TypeError(f"genomes[{k}]: expected a Genome, got {type(g).__name__}")
    dims = sorted({g.dim for g in genomes})
    if len(dims) > 1:
        raise ValueError(f"genomes: expected one embedding dimension, got {dims}")
    dim = dims[0] if dims else 0
    rules: dict[ConnectivityRule, int] = {}
    out: dict = {"rule_index": np.array([rules.setdefault(g.rule, len(rules)) for g in genomes], np.int32)}
    out["rules"] = [dataclasses.asdict(r) for r in rules]
    for part, names in PARTS.items():
        out[f"counts/{part}"] = np.array([len(_field(g, names[0])) for g in genomes], np.int64)
        for name in names:
            tail = (dim,) if name in _POSITIONS else ()
            pieces = [np.asarray(_field(g, name), FIELD_DTYPES[name]) for g in genomes]
            out[name] = np.concatenate(pieces) if pieces else np.zeros((0, *tail), FIELD_DTYPES[name])
    for part, names in OPTIONAL_PARTS.items():
        owners = [g for g in genomes if getattr(g, names[0]) is not None]
        if owners:
            out[f"counts/{part}"] = np.array(
                [0 if getattr(g, names[0]) is None else len(getattr(g, names[0])) for g in genomes], np.int64
            )
            for name in names:
                out[name] = np.concatenate([np.asarray(getattr(g, name), FIELD_DTYPES[name]) for g in owners])
    return out


def _checked(batch: dict) -> tuple[int, dict[str, np.ndarray]]:
    """Number of genomes and offsets per part, after checking every count against the arrays."""
    rule_index = np.asarray(batch["rule_index"])
    n = rule_index.shape[0] if rule_index.ndim == 1 else -1
    if n < 0 or rule_index.dtype.kind not in "iu":
        raise ValueError(f"rule_index: expected a 1-D integer array, got shape {rule_index.shape}")
    n_rules = len(batch["rules"])
    if n and not 0 <= rule_index.min() <= rule_index.max() < n_rules:
        raise ValueError(f"rule_index: expected indices into the {n_rules} stored rules")
    offsets = {}
    parts = {**PARTS, **{part: names for part, names in OPTIONAL_PARTS.items() if f"counts/{part}" in batch}}
    for part, names in parts.items():
        counts = np.asarray(batch[f"counts/{part}"])
        if counts.shape != (n,) or counts.dtype.kind not in "iu" or (n and counts.min() < 0):
            raise ValueError(f"counts/{part}: expected {n} non-negative integers, got shape {counts.shape}")
        total = int(counts.sum()) if n else 0
        for name in names:
            length = np.shape(batch[name])[0]
            if length != total:
                raise ValueError(f"{name}: expected {total} rows (the sum of counts/{part}), got {length}")
        offsets[part] = offsets_of(counts)
    return n, offsets


def decode_batch(batch: dict, indices: Sequence[int] | None = None) -> list[Genome]:
    """Inverse of :func:`encode_batch`: genomes ``indices`` (default all), in that order.

    Raises
    ------
    ValueError
        Counts that do not match the arrays, rule indices out of range, or
        values a :class:`Genome` rejects. IndexError for a bad index.
    """
    n, offsets = _checked(batch)
    rules = [ConnectivityRule(**r) for r in batch["rules"]]
    picked = range(n) if indices is None else indices
    out = []
    for k in picked:
        if not isinstance(k, int | np.integer) or not -n <= k < n:
            raise IndexError(f"genome index {k}: expected an integer in [{-n}, {n})")
        k = int(k) % n
        cut = {part: slice(int(o[k]), int(o[k + 1])) for part, o in offsets.items()}
        fields = {
            name: np.asarray(batch[name][cut[part]], FIELD_DTYPES[name])
            for part, names in PARTS.items()
            for name in names
        }
        for part, names in OPTIONAL_PARTS.items():
            if part in cut and cut[part].stop > cut[part].start:  # a genome without rows has none
                fields.update({name: np.asarray(batch[name][cut[part]], FIELD_DTYPES[name]) for name in names})
        synapses = {
            attr: Synapses(fields.pop(f"{short}_pre"), fields.pop(f"{short}_post"), fields.pop(f"{short}_weight"))
            for attr, short in PROJECTION_PARTS
        }
        out.append(Genome(**fields, **synapses, rule=rules[int(batch["rule_index"][k])]))
    return out
