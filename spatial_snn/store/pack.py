"""Packing a run: its header and parts joined into one self-contained HDF5 file.

The packed file has the single-file layout (``format_version`` 1, see
``docs/archive.md``) that the former writer produced, so one reader serves
both; :class:`~.archive.RunWriter` ``(resume=True)`` splits it again.
"""

from __future__ import annotations

import contextlib
import os

import numpy as np

from . import schema
from .durable import fsync_dir, write_tmp
from .genome_io import write_champion_group
from .h5io import check_file, crc32, put, set_json, write_file_attrs
from .run_reader import open_run
from .schema import FORMAT_NAME
from .writer_lock import WriterLock

__all__ = ["pack_run"]


def pack_run(path, out=None, *, overwrite: bool = False) -> str:
    """Join a run into one self-contained HDF5 file (``format_version`` 1).

    Parameters
    ----------
    path : run header (or an already packed file)
    out : destination; default: ``path`` itself (the header is replaced by
        the packed file atomically, then the part directory is removed).
    overwrite : replace an existing ``out`` other than ``path``.

    Returns the packed file's path. Takes the writer lock, so a live run
    cannot be packed under its writer.
    """
    path = os.fspath(path)
    out = os.path.realpath(path) if out is None else os.fspath(out)
    in_place = os.path.realpath(out) == os.path.realpath(path)
    if not in_place and os.path.lexists(out) and not overwrite:
        raise FileExistsError(f"{out}: exists; pass overwrite=True to replace it")
    check_file(path)
    lock = WriterLock(path)
    try:
        with open_run(path) as run:
            parts = run.parts_dir
            n = run.n_generations
            champion = run.champion()
            history = run.history

            def fill(f):
                write_file_attrs(f, FORMAT_NAME, schema.PACKED_VERSION)
                f.attrs["packed"] = np.bool_(True)
                for key in ("config", "versions"):
                    set_json(f, key, run.attrs[key] if key in run.attrs else {})
                f.attrs["seed"], f.attrs["dim"] = np.int64(run.seed), np.int64(run.dim)
                if run.attrs.get("created"):
                    f.attrs["created"] = np.bytes_(str(run.attrs["created"]).encode("ascii"))
                gens = f.create_group(schema.GENERATIONS)
                for gen in range(n):
                    with run.generation_group(gen) as src:
                        f.copy(src, gens, schema.generation_name(gen))
                hist = f.create_group(schema.HISTORY)
                for key, arr in history.items():
                    arr = np.asarray(arr, np.int64 if key == "generation" else np.float64)
                    ds = hist.create_dataset(key, data=arr, maxshape=(None,), chunks=(256,))
                    ds.attrs["crc32"] = np.uint32(crc32(arr))
                rd = f.create_group(schema.RUN_DATA)
                for name in run.run_data_names:
                    arr = run.run_data(name)
                    put(rd, name, arr, arr.dtype)
                if champion is not None:
                    write_champion_group(f.create_group(schema.CHAMPION), {**champion[1], "genome": champion[0]})

            directory = os.path.dirname(os.path.abspath(out))
            tmp = write_tmp(directory, os.path.basename(out), fill)
            os.replace(tmp, out)
            fsync_dir(directory)
    finally:
        lock.release()
    if in_place and parts is not None:
        for name in sorted(os.listdir(parts), reverse=True):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(parts, name))
        with contextlib.suppress(OSError):
            os.rmdir(parts)
    return out
