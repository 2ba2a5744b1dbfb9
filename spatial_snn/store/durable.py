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
import os
from collections.abc import Callable

import h5py

from .schema import LIBVER

__all__ = ["commit_file", "fsync_dir", "remove_temporaries", "write_tmp"]


def fsync_dir(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_tmp(directory: str, final_name: str, fill: Callable[[h5py.File], None]) -> str:
    """Write a whole HDF5 file under a temporary name in ``directory`` and fsync it; return that name."""
    tmp = os.path.join(directory, f".{final_name}.tmp{os.getpid()}")
    try:
        # built in memory, written out whole at close: a few large writes instead of hundreds of small ones
        with h5py.File(tmp, "w", libver=LIBVER, locking=False, driver="core", backing_store=True) as f:
            fill(f)
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
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
