"""Genomes <-> HDF5 groups, and standalone genome files.

A *genome group* holds ``N`` genomes as one struct of arrays: every field of
every genome concatenated into one dataset, plus ``offsets`` ``(N + 1,)``
that cut it per genome (genome ``k`` owns rows ``offsets[k]:offsets[k + 1]``).
Names follow SONATA where it has one: positions ``x, y, z`` (the first
``dim`` of them), synapses ``source_node_id``, ``target_node_id``,
``syn_weight``. Node ids are local to the genome and to the population
(hidden, input or output). The full layout, field by field with units, is in
``docs/archive.md``.

Every dataset goes through the checked I/O of :mod:`spatial_snn.store.h5io`
(CRC-32 per dataset, checksummed metadata, no pickle), so a damaged file
ends in :class:`ArchiveFormatError`, never in silently wrong numbers. The
names of ``h5io`` are re-exported here, where they used to live.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Sequence

import h5py
import numpy as np

from ..space.connectivity import ConnectivityRule
from ..space.genome import NEURON_PARAMS, Genome, Synapses
from .h5io import (
    FORMAT_VERSION,
    GENOME_FORMAT_NAME,
    LIBVER,
    READ_ERRORS,
    ArchiveFormatError,
    check_file,
    check_kind,
    engine_version,
    get,
    get_json,
    one_line,
    open_checked,
    package_versions,
    put,
    set_json,
    text_attr,
    write_file_attrs,
)

__all__ = [
    "AXES",
    "FORMAT_VERSION",
    "GENOME_FORMAT_NAME",
    "LIBVER",
    "ArchiveFormatError",
    "check_file",
    "check_kind",
    "engine_version",
    "get",
    "get_json",
    "load_genome",
    "one_line",
    "open_checked",
    "package_versions",
    "put",
    "read_genomes",
    "save_genome",
    "set_json",
    "text_attr",
    "write_file_attrs",
    "write_genomes",
]

AXES = ("x", "y", "z")
#: (genome attribute, subgroup name, source population, target population)
_PROJECTIONS = (
    ("input_synapses", "input", "input", "hidden"),
    ("recurrent", "recurrent", "hidden", "hidden"),
    ("output_synapses", "output", "hidden", "output"),
)


# -------------------------------------------------------------- genome groups
def _concat(parts: list[np.ndarray], dtype, shape_tail=()) -> np.ndarray:
    if not parts:
        return np.zeros((0, *shape_tail), dtype)
    return np.concatenate([np.asarray(p, dtype) for p in parts])


def _offsets(counts) -> np.ndarray:
    out = np.zeros(len(counts) + 1, np.int64)
    np.cumsum(np.asarray(counts, np.int64), out=out[1:])
    return out


def write_genomes(group: h5py.Group, genomes: Sequence[Genome]) -> None:
    """Write ``genomes`` into an empty ``group`` as concatenated arrays + offsets.

    Parameters
    ----------
    group : h5py.Group
        Destination (must not yet hold genome datasets).
    genomes : sequence of Genome
        All of the same embedding dimension; rules may differ (the unique
        rules are stored as JSON, ``rule_index`` says which one each uses).
    """
    genomes = list(genomes)
    for k, g in enumerate(genomes):
        if not isinstance(g, Genome):
            raise TypeError(f"genomes[{k}]: expected a Genome, got {type(g).__name__}")
    dims = {g.dim for g in genomes}
    if len(dims) > 1:
        raise ValueError(f"genomes: expected one embedding dimension, got {sorted(dims)}")
    dim = dims.pop() if dims else 0
    rules: dict[ConnectivityRule, int] = {}
    rule_index = [rules.setdefault(g.rule, len(rules)) for g in genomes]
    group.attrs["n_genomes"] = np.int64(len(genomes))
    group.attrs["dim"] = np.int64(dim)
    set_json(group, "rules", [dataclasses.asdict(r) for r in rules])
    put(group, "rule_index", rule_index, np.int32)

    for prefix, pos_name, count in (
        ("", "positions", "n"),
        ("input_", "input_positions", "n_inputs"),
        ("output_", "output_positions", "n_outputs"),
    ):
        offsets_name = "node_offsets" if not prefix else f"{prefix}offsets"
        put(group, offsets_name, _offsets([getattr(g, count) for g in genomes]), np.int64)
        pos = _concat([getattr(g, pos_name) for g in genomes], np.float64, (dim,))
        for axis in range(dim):
            put(group, prefix + AXES[axis], pos[:, axis], np.float64)
    for name in NEURON_PARAMS:
        put(group, name, _concat([getattr(g, name) for g in genomes], np.float64), np.float64)
    put(group, "sign", _concat([g.sign for g in genomes], np.int8), np.int8)
    put(group, "input_sign", _concat([g.input_sign for g in genomes], np.int8), np.int8)
    for attr, sub, _, _ in _PROJECTIONS:
        syns: list[Synapses] = [getattr(g, attr) for g in genomes]
        sg = group.create_group(sub)
        put(sg, "offsets", _offsets([len(s) for s in syns]), np.int64)
        put(sg, "source_node_id", _concat([s.pre for s in syns], np.int32), np.int32)
        put(sg, "target_node_id", _concat([s.post for s in syns], np.int32), np.int32)
        put(sg, "syn_weight", _concat([s.weight for s in syns], np.float32), np.float32)


def _check_offsets(offsets: np.ndarray, n_genomes: int, length: int, group: h5py.Group, name: str) -> None:
    if offsets.shape != (n_genomes + 1,):
        raise ValueError(f"{group.name}/{name}: expected shape ({n_genomes + 1},), got {offsets.shape}")
    if offsets[0] != 0 or offsets[-1] != length or np.any(np.diff(offsets) < 0):
        raise ValueError(f"{group.name}/{name}: expected non-decreasing offsets from 0 to {length}")


def _read_population(group: h5py.Group, name: str, prefix: str, dim: int, n_genomes: int, fields):
    off_name = "node_offsets" if not prefix else f"{prefix}offsets"
    offsets = get(group, off_name, np.int64, 1)
    cols = [get(group, prefix + AXES[a], np.float64, 1) for a in range(dim)]
    length = int(offsets[-1]) if offsets.size else 0
    arrays = {name: np.stack(cols, axis=1) if cols else np.zeros((length, 0))}
    for field, dtype in fields:
        arrays[field] = get(group, field, dtype, 1)
    for key, arr in arrays.items():
        if arr.shape[0] != length:
            raise ValueError(f"{group.name}/{key}: expected {length} rows, got {arr.shape[0]}")
    _check_offsets(offsets, n_genomes, length, group, off_name)
    return offsets, arrays


def read_genomes(group: h5py.Group, indices=None) -> list[Genome]:
    """Read genomes written by :func:`write_genomes`.

    Parameters
    ----------
    group : h5py.Group
    indices : sequence of int, optional
        Which genomes (default all), in that order.

    Raises
    ------
    ArchiveFormatError
        Missing fields, inconsistent offsets, checksum mismatches, or values
        a :class:`Genome` rejects.
    """

    def damaged(exc):
        return ArchiveFormatError(
            f"{group.file.filename}: damaged genome group {group.name} ({one_line(exc)}); restore it from a copy"
        )

    try:
        n_genomes, dim = int(group.attrs["n_genomes"]), int(group.attrs["dim"])
    except READ_ERRORS as exc:
        raise damaged(exc) from exc
    if indices is None:
        indices = range(n_genomes)
    picked = []
    for k in indices:  # a bad index is the caller's error, checked before any data is read
        if not isinstance(k, int | np.integer) or not -n_genomes <= k < n_genomes:
            raise IndexError(f"genome index {k}: expected an integer in [{-n_genomes}, {n_genomes})")
        picked.append(int(k) % n_genomes)
    try:
        return _read_genomes(group, n_genomes, dim, picked)
    except ArchiveFormatError:
        raise
    except READ_ERRORS as exc:
        raise damaged(exc) from exc


def _read_genomes(group: h5py.Group, n_genomes: int, dim: int, indices: list[int]) -> list[Genome]:
    if n_genomes < 0 or not (dim in (1, 2, 3) or (dim == 0 and n_genomes == 0)):
        raise ValueError(f"n_genomes = {n_genomes}, dim = {dim} out of range")
    rules = [ConnectivityRule(**r) for r in get_json(group, "rules")]
    rule_index = get(group, "rule_index", np.int32, 1)
    if rule_index.shape != (n_genomes,) or (n_genomes and not 0 <= rule_index.min() <= rule_index.max() < len(rules)):
        raise ValueError("rule_index: expected one index per genome into the stored rules")
    hid_off, hid = _read_population(
        group,
        "positions",
        "",
        dim,
        n_genomes,
        [(p, np.float64) for p in NEURON_PARAMS] + [("sign", np.int8)],
    )
    in_off, inp = _read_population(group, "positions", "input_", dim, n_genomes, [("input_sign", np.int8)])
    out_off, out = _read_population(group, "positions", "output_", dim, n_genomes, [])
    projections = {}
    for attr, sub, _, _ in _PROJECTIONS:
        sg = group[sub]
        off = get(sg, "offsets", np.int64, 1)
        cols = [
            get(sg, c, dt, 1)
            for c, dt in (("source_node_id", np.int32), ("target_node_id", np.int32), ("syn_weight", np.float32))
        ]
        if not cols[0].shape == cols[1].shape == cols[2].shape:
            raise ValueError(f"{sg.name}: source, target and weight lengths differ")
        _check_offsets(off, n_genomes, cols[0].shape[0], sg, "offsets")
        projections[attr] = (off, cols)

    out_list = []
    for k in indices:
        h, i, o = (slice(a[k], a[k + 1]) for a in (hid_off, in_off, out_off))
        syn = {attr: Synapses(*(c[off[k] : off[k + 1]] for c in cols)) for attr, (off, cols) in projections.items()}
        out_list.append(
            Genome(
                positions=hid["positions"][h],
                input_positions=inp["positions"][i],
                output_positions=out["positions"][o],
                **{p: hid[p][h] for p in NEURON_PARAMS},
                sign=hid["sign"][h],
                input_sign=inp["input_sign"][i],
                **syn,
                rule=rules[rule_index[k]],
            )
        )
    return out_list


# ------------------------------------------------------------- genome files
def save_genome(path, genome: Genome, meta: dict | None = None, *, overwrite: bool = False) -> None:
    """Write one genome as a standalone file (``genomes/NAME.h5``).

    The file holds the root attributes ``format = "spatial-snn-genome"``,
    ``format_version``, ``engine_version``, ``created``, ``versions`` and
    ``meta`` (JSON: env id, encoder/decoder settings, test score, origin),
    and the genome as a one-genome group ``/genome``, the format of
    :func:`write_genomes` (also used by a run archive's ``/champion``).

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    """
    path = os.fspath(path)
    if not isinstance(genome, Genome):
        raise TypeError(f"genome: expected a Genome, got {type(genome).__name__}")
    meta = {} if meta is None else dict(meta)
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"meta: expected a JSON-serialisable dict ({one_line(exc)})") from exc
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True (--overwrite) to replace it")
    tmp = f"{path}.tmp{os.getpid()}"
    try:
        with h5py.File(tmp, "w", libver=LIBVER, locking=False) as f:
            write_file_attrs(f, GENOME_FORMAT_NAME)
            set_json(f, "meta", meta)
            write_genomes(f.create_group("genome"), [genome])
        os.replace(tmp, path)  # atomic: a reader never sees half a genome file
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def load_genome(path) -> tuple[Genome, dict]:
    """Read a genome file written by :func:`save_genome`: ``(genome, meta)``.

    Raises
    ------
    ArchiveFormatError
        Missing file, not HDF5, another kind of file, newer format, damage.
    """
    path = os.fspath(path)
    with open_checked(path, GENOME_FORMAT_NAME) as f:
        try:
            meta = get_json(f, "meta")
            genomes = read_genomes(f["genome"])
        except ArchiveFormatError:
            raise
        except READ_ERRORS as exc:
            raise ArchiveFormatError(f"{path}: damaged genome file ({one_line(exc)}); restore it from a copy") from exc
    if len(genomes) != 1:
        raise ArchiveFormatError(f"{path}: expected one genome, found {len(genomes)}; the file is damaged")
    return genomes[0], meta
