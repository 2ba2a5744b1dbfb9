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
ends in :class:`~spatial_snn.store.h5io.ArchiveFormatError`, never in
silently wrong numbers.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence

import h5py
import numpy as np

from ..space.codec import FIELD_DTYPES, OPTIONAL_PARTS, PARTS, PROJECTION_PARTS, decode_batch, encode_batch, offsets_of
from ..space.genome import Genome
from .h5io import (
    READ_ERRORS,
    ArchiveFormatError,
    get,
    get_json,
    one_line,
    open_checked,
    put,
    set_json,
    write_file_attrs,
)
from .schema import GENOME_FORMAT_NAME

__all__ = [
    "AXES",
    "check_env_id",
    "load_genome",
    "read_genomes",
    "save_genome",
    "write_champion_group",
    "write_genomes",
]

AXES = ("x", "y", "z")


# -------------------------------------------------------------- genome groups
# on disk: (batch field, dataset name prefix, offsets dataset) of the node parts; positions
# are split into x, y, z; projections keep their names in subgroups
_NODE_PARTS = (
    ("neurons", "", "node_offsets"),
    ("inputs", "input_", "input_offsets"),
    ("outputs", "output_", "output_offsets"),
)
# optional parts (written only when some genome has them): (batch part, offsets dataset)
_OPTIONAL_PARTS = (("plasticity", "stp_offsets"), ("rhythm", "rhythm_offsets"))
_SYN_COLUMNS = (("pre", "source_node_id"), ("post", "target_node_id"), ("weight", "syn_weight"))


def write_genomes(group: h5py.Group, genomes: Sequence[Genome]) -> None:
    """Write ``genomes`` into an empty ``group`` as concatenated arrays + offsets.

    The batch comes from :func:`spatial_snn.space.codec.encode_batch` (the
    codec the worker transport uses); on disk, counts become ``offsets``
    ``(N + 1,)`` and positions columns ``x, y, z`` (layout in ``docs/archive.md``).

    Parameters
    ----------
    group : h5py.Group
        Destination (must not yet hold genome datasets).
    genomes : sequence of Genome
        All of the same embedding dimension; rules may differ (the unique
        rules are stored as JSON, ``rule_index`` says which one each uses).
    """
    batch = encode_batch(genomes)
    dim = batch["positions"].shape[1]
    group.attrs["n_genomes"] = np.int64(len(batch["rule_index"]))
    group.attrs["dim"] = np.int64(dim)
    set_json(group, "rules", batch["rules"])
    put(group, "rule_index", batch["rule_index"], np.int32)
    for part, prefix, offsets_name in _NODE_PARTS:
        put(group, offsets_name, offsets_of(batch[f"counts/{part}"]), np.int64)
        pos = batch[f"{prefix}positions"]
        for axis in range(dim):
            put(group, prefix + AXES[axis], pos[:, axis], np.float64)
        for name in PARTS[part][1:]:
            put(group, name, batch[name], FIELD_DTYPES[name])
    for part, offsets_name in _OPTIONAL_PARTS:
        if f"counts/{part}" in batch:
            put(group, offsets_name, offsets_of(batch[f"counts/{part}"]), np.int64)
            for name in OPTIONAL_PARTS[part]:
                put(group, name, batch[name], FIELD_DTYPES[name])
    for _, short in PROJECTION_PARTS:
        sg = group.create_group(short)
        put(sg, "offsets", offsets_of(batch[f"counts/{short}"]), np.int64)
        for column, stored in _SYN_COLUMNS:
            put(sg, stored, batch[f"{short}_{column}"], FIELD_DTYPES[f"{short}_{column}"])


def _counts(group: h5py.Group, name: str, n_genomes: int) -> np.ndarray:
    offsets = get(group, name, np.int64, 1)
    if offsets.shape != (n_genomes + 1,) or offsets[0] != 0 or np.any(np.diff(offsets) < 0):
        raise ValueError(f"{group.name}/{name}: expected {n_genomes + 1} non-decreasing offsets from 0")
    return np.diff(offsets)


def read_genomes(group: h5py.Group, indices=None) -> list[Genome]:
    """Read genomes written by :func:`write_genomes`.

    Every count is bounded by what the group holds before anything is
    allocated: ``n_genomes`` must match the stored ``rule_index``, and
    :func:`~.h5io.get` refuses a dataset larger than the file.

    Parameters
    ----------
    group : h5py.Group
    indices : sequence of int, optional
        Which genomes (default all), in that order.

    Raises
    ------
    ArchiveFormatError
        Missing fields, inconsistent offsets, checksum mismatches, or values
        a :class:`Genome` rejects. IndexError for a bad index.
    """

    def damaged(exc):
        return ArchiveFormatError(
            f"{group.file.filename}: damaged genome group {group.name} ({one_line(exc)}); restore it from a copy"
        )

    try:
        n_genomes, dim = int(group.attrs["n_genomes"]), int(group.attrs["dim"])
        stored = h5py.h5d.open(group.id, b"rule_index").shape
        if stored != (n_genomes,) or not (dim in (1, 2, 3) or (dim == 0 and n_genomes == 0)):
            raise ValueError(f"n_genomes = {n_genomes}, dim = {dim} do not match rule_index of shape {stored}")
    except READ_ERRORS as exc:
        raise damaged(exc) from exc
    if indices is not None:  # a bad index is the caller's error, checked before any data is read
        indices = list(indices)
        for k in indices:
            if not isinstance(k, int | np.integer) or not -n_genomes <= k < n_genomes:
                raise IndexError(f"genome index {k}: expected an integer in [{-n_genomes}, {n_genomes})")
    try:
        batch: dict = {"rules": get_json(group, "rules"), "rule_index": get(group, "rule_index", np.int32, 1)}
        if not isinstance(batch["rules"], list) or not all(isinstance(r, dict) for r in batch["rules"]):
            raise ValueError("rules: expected a JSON list of rule objects")
        for part, prefix, offsets_name in _NODE_PARTS:
            batch[f"counts/{part}"] = _counts(group, offsets_name, n_genomes)
            cols = [get(group, prefix + AXES[a], np.float64, 1) for a in range(dim)]
            if len({c.shape for c in cols}) > 1:
                raise ValueError(f"{group.name}/{prefix}x..: position columns of different lengths")
            length = cols[0].shape[0] if cols else 0
            batch[f"{prefix}positions"] = np.stack(cols, axis=1) if cols else np.zeros((length, 0))
            for name in PARTS[part][1:]:
                batch[name] = get(group, name, FIELD_DTYPES[name], 1)
        for part, offsets_name in _OPTIONAL_PARTS:
            if offsets_name in group:
                batch[f"counts/{part}"] = _counts(group, offsets_name, n_genomes)
                for name in OPTIONAL_PARTS[part]:
                    batch[name] = get(group, name, FIELD_DTYPES[name], 1)
        for _, short in PROJECTION_PARTS:
            sg = group[short]
            batch[f"counts/{short}"] = _counts(sg, "offsets", n_genomes)
            for column, stored in _SYN_COLUMNS:
                batch[f"{short}_{column}"] = get(sg, stored, FIELD_DTYPES[f"{short}_{column}"], 1)
        return decode_batch(batch, indices)
    except ArchiveFormatError:
        raise
    except READ_ERRORS as exc:
        raise damaged(exc) from exc


def write_champion_group(c: h5py.Group, champion: dict) -> None:
    """Fill ``c`` as a champion group: attributes ``generation``, ``index``; ``genome/``
    (one genome), ``test_returns`` and ``test_seeds`` (T,). ``champion``: a dict of those keys."""
    c.attrs["generation"] = np.int64(champion["generation"])
    c.attrs["index"] = np.int64(champion["index"])
    write_genomes(c.create_group("genome"), [champion["genome"]])
    put(c, "test_returns", champion["test_returns"], np.float64)
    put(c, "test_seeds", champion["test_seeds"], np.int64)


# ------------------------------------------------------------- genome files
def save_genome(path, genome: Genome, meta: dict | None = None, *, overwrite: bool = False, inputs=()) -> None:
    """Write one genome as a standalone file (``genomes/NAME.h5``).

    The file holds the root attributes ``format = "spatial-snn-genome"``,
    ``format_version``, ``engine_version``, ``created``, ``versions`` and
    ``meta`` (JSON: env id, encoder/decoder settings, test score, origin),
    and the genome as a one-genome group ``/genome``, the format of
    :func:`write_genomes` (also used by a run archive's ``/champion``).

    ``inputs``: files the caller read (a run archive), never replaced.

    Raises
    ------
    FileExistsError
        ``path`` exists and ``overwrite`` is False.
    ValueError
        ``path`` is an input, or exists and is not a genome file.
    """
    path = os.fspath(path)
    if not isinstance(genome, Genome):
        raise TypeError(f"genome: expected a Genome, got {type(genome).__name__}")
    meta = {} if meta is None else dict(meta)
    try:
        json.dumps(meta)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"meta: expected a JSON-serialisable dict ({one_line(exc)})") from exc
    from .targets import check_replace  # only a genome file is replaced, never a device, a run or a folder

    check_replace(path, GENOME_FORMAT_NAME, overwrite=overwrite, inputs=inputs)
    from .durable import h5_image, write_bytes

    def fill(f):
        write_file_attrs(f, GENOME_FORMAT_NAME)
        set_json(f, "meta", meta)
        write_genomes(f.create_group("genome"), [genome])

    image = h5_image(fill)  # built in memory: a full disk or file-size limit is an OSError, not a crash
    tmp = f"{path}.tmp{os.getpid()}"
    write_bytes(tmp, image)  # a new file, or FileExistsError: nothing of anyone else's is removed
    try:  # fsynced before it is named (write_bytes): a power cut leaves the old file or the new one
        os.replace(tmp, path)  # atomic: a reader never sees half a genome file
    finally:
        if os.path.lexists(tmp):  # ours: written above, not yet renamed
            os.unlink(tmp)


def load_genome(path, *, allow_import=()) -> tuple[Genome, dict]:
    """Read a genome file written by :func:`save_genome`: ``(genome, meta)``.

    An ``env_id`` of the form ``module:Env`` in ``meta`` is refused unless
    ``module`` is in ``allow_import`` (a file does not choose what code runs).

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
    if not isinstance(meta, dict):
        raise ArchiveFormatError(f"{path}: attribute meta: expected a JSON object, got {type(meta).__name__}")
    task = meta.get("task")
    if isinstance(task, dict) and "env_id" in task:
        check_env_id(task["env_id"], path, allow_import)
    return genomes[0], meta


def check_env_id(env_id, source: str, allow_import=()) -> str:
    """``env_id`` from a file, refused if it would make gymnasium import a module.

    gymnasium reads ``"module:Env"`` as "import ``module``, then make
    ``Env``": a file must not choose what code runs. Such an id passes only
    when the user names the module in ``allow_import`` (``--import-module``).
    """
    if not isinstance(env_id, str) or not env_id:
        raise ArchiveFormatError(f"{source}: task env_id: expected a non-empty string, got {env_id!r}")
    module = env_id.split(":", 1)[0] if ":" in env_id else None
    if module is not None and module not in tuple(allow_import):
        raise ArchiveFormatError(
            f"{source}: env_id {env_id!r} would import the module {module!r}, and a file does not choose "
            f"what code runs; if you trust it, pass allow_import=[{module!r}] (--import-module {module})"
        )
    return env_id
