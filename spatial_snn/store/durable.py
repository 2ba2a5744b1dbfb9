"""Durable, atomic file commits: how every file of a run archive reaches the disk.

HDF5 does not journal its metadata, so a file that is modified in place can
be destroyed by a kill in the middle of a flush. Every file of a split run
is therefore written whole under a temporary name (``.NAME.tmpPID``, which
readers ignore), fsynced, renamed into place (atomic on POSIX) and its
directory fsynced (:func:`commit_file`). A killed writer leaves the previous
state plus temporaries, which the next writer removes
(:func:`remove_temporaries`).
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import os
from collections.abc import Callable

import h5py

from .schema import LIBVER

__all__ = ["commit_file", "fsync_dir", "h5_image", "remove_temporaries", "write_bytes", "write_tmp"]

_IMAGES = itertools.count()


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def h5_image(fill: Callable[[h5py.File], None]) -> bytes:
    """The bytes of a whole HDF5 file built in memory by ``fill`` (HDF5 itself never writes to disk)."""
    name = f"spatial-snn-image-{os.getpid()}-{next(_IMAGES)}"
    with h5py.File(name, "w", libver=LIBVER, locking=False, driver="core", backing_store=False) as f:
        fill(f)
        f.flush()
        return f.id.get_file_image()


def write_bytes(path: str, data: bytes) -> None:
    """Write ``data`` as a new file at ``path`` (which must not exist) and fsync it; a failed write
    (full disk, file-size limit) removes the partial file and raises OSError naming it."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
    except FileExistsError:
        raise FileExistsError(
            f"{path}: a temporary file of this name exists (left by a killed process?); remove it and retry"
        ) from None
    try:
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(path)  # ours: created above
        if isinstance(exc, OSError):
            raise OSError(
                exc.errno,
                f"{path}: cannot be written ({exc.strerror or exc}); nothing was replaced: "
                "free disk space or raise the file-size limit (ulimit -f)",
            ) from None
        raise


def write_tmp(directory: str, final_name: str, fill: Callable[[h5py.File], None]) -> str:
    """Write a whole HDF5 file under a temporary name in ``directory`` and fsync it; return that name.

    Built in memory (a few large writes instead of hundreds of small ones)
    and written by Python, so a full disk or a file-size limit is an OSError,
    never a crash inside HDF5.
    """
    tmp = os.path.join(directory, f".{final_name}.tmp{os.getpid()}")
    write_bytes(tmp, h5_image(fill))
    return tmp


def commit_file(directory: str, name: str, fill: Callable[[h5py.File], None]) -> bytes:
    """Write ``directory/name`` atomically: temporary file, fsync, rename, fsync the directory.

    Returns the sha256 of the file's bytes (the link of the chain of parts).
    """
    tmp = write_tmp(directory, name, fill)
    with open(tmp, "rb") as fh:
        digest = hashlib.sha256(fh.read()).digest()
    os.replace(tmp, os.path.join(directory, name))
    fsync_dir(directory)
    return digest


def remove_temporaries(directory: str) -> None:
    for name in os.listdir(directory):
        if name.startswith("."):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(os.path.join(directory, name))
