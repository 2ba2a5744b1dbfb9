"""Checked HDF5 I/O shared by run archives and genome files.

Every dataset is written by :func:`put` with a ``crc32`` attribute (zlib
CRC-32 of its little-endian bytes) and read back by :func:`get`, which
verifies it. Files are written with HDF5 format versions that checksum all
metadata (:data:`LIBVER`, ``"v108"``), so a damaged file ends in
:class:`ArchiveFormatError`, never in silently wrong numbers. Strings (JSON
documents via :func:`set_json`) are fixed-length ASCII attributes, so nothing
lives in the unchecksummed global heap. Nothing is pickled: reading a file
runs no code.

File level: :func:`write_file_attrs` writes the root attributes both kinds of
file share (``format``, ``format_version``, ``engine_version``, ``created``,
``versions``); :func:`open_checked` opens a file after checking its HDF5
signature, kind and version. The layout is in ``docs/archive.md``.
"""

from __future__ import annotations

import functools
import json
import os
import stat
import zlib
from datetime import UTC, datetime
from importlib import metadata

import h5py
import numpy as np

from .._version import __version__
from .schema import FORMAT_VERSION, GENOME_FORMAT_NAME, MAX_VERSION

#: What h5py and the checks raise on a damaged file; readers turn these into
#: :class:`ArchiveFormatError`.
READ_ERRORS = (OSError, KeyError, ValueError, TypeError, RuntimeError, IndexError, AttributeError)
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_PACKAGES = ("numpy", "scipy", "numba", "h5py", "gymnasium", "mujoco", "deap")


class ArchiveFormatError(Exception):
    """A file is missing, not HDF5, of another kind, damaged, or too new.

    The message is one line: the path, the problem, and what to do.
    """


class ArchiveWarning(UserWarning):
    """A cache of a run (``index.h5``, a packed ``/history``) disagrees with the data; the data are used."""


# ------------------------------------------------------------ checked arrays
def crc32(arr: np.ndarray) -> int:
    """zlib CRC-32 of the little-endian bytes of ``arr`` (the ``crc32`` attribute)."""
    le = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<"))
    return zlib.crc32(le.view(np.uint8).reshape(-1))


def put(group: h5py.Group, name: str, data, dtype) -> h5py.Dataset:
    """Write ``data`` as a new contiguous dataset with a ``crc32`` attribute."""
    arr = np.ascontiguousarray(data, dtype=dtype)
    ds = group.create_dataset(name, data=arr)
    ds.attrs["crc32"] = np.uint32(crc32(arr))
    return ds


def get(group: h5py.Group, name: str, dtype=None, ndim: int | None = None) -> np.ndarray:
    """Read a dataset written by :func:`put` and verify its checksum.

    Uses h5py's low-level calls (a few times faster than ``group[name][()]``,
    which matters when a population is hundreds of small datasets).

    Raises
    ------
    ValueError, KeyError
        Missing or not a dataset, wrong dtype kind or rank, or a checksum
        mismatch (the public readers turn them into :class:`ArchiveFormatError`).
    """
    try:
        dsid = h5py.h5d.open(group.id, name.encode())
    except (KeyError, ValueError) as exc:
        raise KeyError(f"{group.name}/{name}: missing or not a dataset") from exc
    shape, kind = dsid.shape, dsid.dtype.kind
    if ndim is not None and len(shape) != ndim:
        raise ValueError(f"{group.name}/{name}: expected {ndim} dimension(s), got shape {shape}")
    if kind not in "biuf" or (dtype is not None and np.dtype(dtype).kind != kind):
        expected = np.dtype(dtype) if dtype is not None else "a numeric dtype"
        raise ValueError(f"{group.name}/{name}: expected {expected}, got {dsid.dtype}")
    # bound the allocation by what the file holds: a declared size is not data
    nbytes = int(np.prod(shape, dtype=object)) * dsid.dtype.itemsize
    if nbytes > group.file.id.get_filesize():
        raise ValueError(f"{group.name}/{name}: declares shape {shape} ({nbytes} bytes), more than the whole file")
    arr = np.empty(shape, dsid.dtype)
    if arr.size:
        dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, arr)
    crc = np.empty((), np.uint32)
    h5py.h5a.open(dsid, b"crc32").read(crc)
    if int(crc) != crc32(arr):
        raise ValueError(f"{group.name}/{name}: checksum mismatch (data damaged)")
    return arr if dtype is None else arr.astype(dtype, copy=False)


def set_json(obj: h5py.Group | h5py.Dataset, name: str, value) -> None:
    """Store ``value`` as a JSON attribute (fixed-length ASCII string)."""
    text = json.dumps(value, sort_keys=True, allow_nan=True)
    obj.attrs[name] = np.bytes_(text.encode("ascii"))


def get_json(obj: h5py.Group | h5py.Dataset, name: str):
    """Read a JSON attribute written by :func:`set_json`."""
    return json.loads(text_attr(obj, name))


def text_attr(obj, name: str) -> str:
    value = obj.attrs[name]
    if isinstance(value, np.ndarray) and value.shape == ():
        value = value[()]
    if isinstance(value, bytes | np.bytes_):
        return bytes(value).decode("utf-8")
    if isinstance(value, str):
        return value
    raise ValueError(f"attribute {name!r}: expected a string, got {type(value).__name__}")


# ----------------------------------------------------------- file-level bits
def engine_version() -> str:
    """``spatial_snn.__version__``."""
    return __version__


def package_versions() -> dict[str, str]:
    """Versions of the numerical stack and python, for reproducibility."""
    return dict(_package_versions())


@functools.cache
def _package_versions() -> dict[str, str]:
    """Looked up once per process: reading package metadata costs ~30 ms a file."""
    import platform

    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def write_file_attrs(f: h5py.File, fmt: str, version: int = FORMAT_VERSION) -> None:
    """Root attributes common to run archives, their parts and genome files."""
    f.attrs["format"] = np.bytes_(fmt.encode("ascii"))
    f.attrs["format_version"] = np.int64(version)
    f.attrs["engine_version"] = np.bytes_(engine_version().encode("ascii"))
    f.attrs["created"] = np.bytes_(datetime.now(UTC).isoformat(timespec="seconds").encode())
    set_json(f, "versions", package_versions())


def one_line(exc: BaseException) -> str:
    text = str(exc) or type(exc).__name__
    return " ".join(text.split())


def check_file(path: str | os.PathLike) -> None:
    """Raise :class:`ArchiveFormatError` if ``path`` is missing or not HDF5."""
    path = os.fspath(path)
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise ArchiveFormatError(f"{path}: no such file; check the path") from None
    except OSError as exc:
        raise ArchiveFormatError(f"{path}: cannot be read ({one_line(exc)}); check the path") from exc
    if stat.S_ISDIR(mode):
        raise ArchiveFormatError(f"{path}: is a directory, not an HDF5 file; pass a .h5 file")
    if not stat.S_ISREG(mode):  # a FIFO or device would block or never end
        raise ArchiveFormatError(f"{path}: not a regular file (a FIFO, socket or device); pass a .h5 file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise ArchiveFormatError(f"{path}: cannot be read ({one_line(exc)}); check permissions") from exc
    if head != HDF5_MAGIC:
        raise ArchiveFormatError(f"{path}: not an HDF5 file (no HDF5 signature); expected a spatial-snn .h5 file")


def open_checked(path, expected: str, mode: str = "r") -> h5py.File:
    """Open a spatial-snn file after checking kind and version.

    Opens without HDF5 file locking so that a run being written can be read;
    single-writer exclusion uses a lock file instead (see ``writer_lock``).
    """
    path = os.fspath(path)
    check_file(path)
    try:
        f = h5py.File(path, mode, locking=False)
    except READ_ERRORS as exc:
        raise ArchiveFormatError(
            f"{path}: damaged or truncated HDF5 file ({one_line(exc)}); restore it from a copy or rerun"
        ) from exc
    try:
        check_kind(f, path, expected)
    except BaseException:
        f.close()
        raise
    return f


def check_kind(f: h5py.File, path: str, expected: str) -> None:
    """Check the ``format`` and ``format_version`` root attributes."""
    try:
        kind = text_attr(f, "format") if "format" in f.attrs else None
        version = int(f.attrs["format_version"]) if kind is not None else None
        if version is not None and f.attrs["format_version"].shape not in ((), (1,)):
            raise ValueError("format_version: expected one integer")
    except READ_ERRORS as exc:
        raise ArchiveFormatError(f"{path}: damaged root attributes ({one_line(exc)}); restore it from a copy") from exc
    if kind != expected:
        hint = {
            "spatial-snn-run": "it is a run archive: use open_run(path)",
            "spatial-snn-run-part": "it is one part of a run: open the run's header file with open_run",
            GENOME_FORMAT_NAME: "it is a genome file: use load_genome(path)",
        }.get(kind, "pass a file written by spatial-snn")
        raise ArchiveFormatError(f"{path}: HDF5 file of another kind (format {kind!r}, expected {expected!r}); {hint}")
    if version > MAX_VERSION[kind]:
        raise ArchiveFormatError(
            f"{path}: written by a newer spatial-snn (format_version {version} > "
            f"{MAX_VERSION[kind]}); upgrade spatial-snn to read it"
        )
    if version < 1:
        raise ArchiveFormatError(f"{path}: invalid format_version {version}; the file is damaged")
