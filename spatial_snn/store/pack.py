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
from .h5io import ArchiveFormatError, check_file, crc32, put, set_json, write_file_attrs
from .run_reader import open_run
from .schema import FORMAT_NAME
from .targets import check_replace, check_run_dir, empty_run_dir
from .writer_lock import WriterLock

__all__ = ["pack_run"]


def pack_run(path, out=None, *, overwrite: bool = False) -> str:
    """Join a run into one self-contained HDF5 file (``format_version`` 1).

    Parameters
    ----------
    path : run header (or an already packed file)
    out : destination; default: ``path`` itself (the header is replaced by
        the packed file atomically, then the part directory is removed).
    overwrite : replace an existing ``out`` other than ``path`` (only a run
        archive, never one of this run's own files).

    Returns the packed file's path. Takes the writer lock (header and part
    directory), so a live run cannot be packed under its writer. Every
    part's checksums, identity and chain are verified before anything is
    written, and the packed file is read back whole before the parts are
    deleted; a damaged run is refused with one :class:`ArchiveFormatError`.
    """
    path = os.fspath(path)
    in_place = out is None or os.path.realpath(os.fspath(out)) == os.path.realpath(path)
    out = os.path.realpath(path) if in_place else os.fspath(out)
    check_file(path)
    if not in_place:
        check_replace(out, FORMAT_NAME, overwrite=overwrite, inputs=[path])
    locks = [WriterLock(path)]
    try:
        parts = schema.parts_dir(path)
        if os.path.isdir(parts):
            check_run_dir(parts)
            locks.append(WriterLock(parts))
        with open_run(path) as run:
            run.verify()
            n = run.n_generations
            champion = run.champion()
            history = run.history

            def fill(f):
                write_file_attrs(f, FORMAT_NAME, schema.PACKED_VERSION)
                f.attrs["packed"] = np.bool_(True)
                for key in ("config", "versions"):
                    set_json(f, key, run.attrs[key] if key in run.attrs else {})
                f.attrs["seed"], f.attrs["dim"] = np.int64(run.seed), np.int64(run.dim)
                if run.identity is not None:
                    f.attrs[schema.RUN_ID] = np.bytes_(run.identity[0].encode("ascii"))
                    f.attrs[schema.RUN_DIGEST] = np.bytes_(run.identity[1].encode("ascii"))
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
            try:
                with open_run(tmp) as packed:  # read back whole before it replaces anything
                    packed.verify()
                    if packed.n_generations != n:
                        raise ArchiveFormatError(f"{out}: packed {packed.n_generations} of {n} generations")
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
                raise
            os.replace(tmp, out)
            fsync_dir(directory)
        if in_place and os.path.isdir(schema.parts_dir(path)):  # the run's own files, in its own directory
            empty_run_dir(schema.parts_dir(path))
    finally:
        for lock in reversed(locks):
            lock.release()
    return out
