"""Where a command may write: the run's own files, and outputs that destroy nothing.

Three rules (``docs/archive.md``, "Containment"):

* A run's files are its header, the part directory ``<real path of the
  header>.d`` and nothing else; that directory must be a real directory (not
  a symlink) holding only part files, ``index.h5`` and a killed writer's
  temporaries (:func:`check_run_dir`). An overwritten run's directory is
  renamed aside in one step and then emptied (:func:`retire_dir`).
* ``overwrite`` replaces only a regular file of the expected kind (a run
  archive, a genome file or a NIR graph), never a device, a directory, a
  file of another kind or an input of the same command (:func:`check_replace`).
* Outputs of commands that read runs (plots, curves, figures, videos) never
  land on a run's header or inside its part directory, on an input, on an
  HDF5 file or on something that is not a regular file (:func:`check_output`).
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import stat

from . import schema
from .durable import fsync_dir
from .h5io import HDF5_MAGIC, text_attr
from .writer_lock import WriterLock

__all__ = [
    "NIR_KIND",
    "check_output",
    "check_replace",
    "check_run_dir",
    "clean_retired",
    "empty_run_dir",
    "file_kind",
    "retire_dir",
    "run_files",
]

#: The kind of a NIR graph file (``nir.write``: a ``version`` dataset and a ``node`` group, no ``format``).
NIR_KIND = "nir"
_KIND_NAMES = {schema.FORMAT_NAME: "a run archive", schema.GENOME_FORMAT_NAME: "a genome file", NIR_KIND: "a NIR graph"}
_RETIRED = ".retired"
_AT_FDCWD, _RENAME_EXCHANGE = -100, 2


def _is_run_file(name: str) -> bool:
    return bool(schema.PART_RE.match(name)) or name == schema.INDEX_PART or name.startswith(".")


def check_run_dir(directory: str) -> None:
    """Refuse a part directory that is a symlink, not a directory, or holds files of something else."""
    try:
        st = os.lstat(directory)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
        raise ValueError(
            f"{directory}: the run's part directory is a symlink or not a directory; a run writes "
            "only into a plain directory beside its header: move it away"
        )
    foreign = sorted(n for n in os.listdir(directory) if not _is_run_file(n))
    if foreign:
        raise ValueError(
            f"{directory}: holds files that are not a run's ({', '.join(foreign[:3])}); a run "
            "deletes nothing it did not write: move them away"
        )


def empty_run_dir(directory: str) -> None:
    """Delete a run directory's own files (the last generation first), then the directory if empty."""
    for name in sorted(os.listdir(directory), reverse=True):
        if _is_run_file(name):
            with contextlib.suppress(FileNotFoundError, IsADirectoryError):
                os.unlink(os.path.join(directory, name))
    with contextlib.suppress(OSError):
        os.rmdir(directory)


def _exchange(a: str, b: str) -> bool:
    """Swap two paths in one atomic step (Linux ``renameat2(RENAME_EXCHANGE)``); False where unsupported."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint)
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), b)


def retire_dir(directory: str, lock: WriterLock | None) -> WriterLock:
    """Put a new empty part directory in place of ``directory`` in one atomic step, lock it, and empty
    the old one (renamed aside). Where the exchange is unsupported: a rename aside, then the new one."""
    aside = os.path.join(os.path.dirname(directory), f".{os.path.basename(directory)}{_RETIRED}{os.getpid()}")
    os.mkdir(aside)
    if not _exchange(aside, directory):  # the directory never goes missing where the exchange exists
        os.rmdir(aside)
        os.rename(directory, aside)
        os.mkdir(directory)
    fsync_dir(os.path.dirname(directory))
    new = WriterLock(directory)
    if lock is not None:
        lock.release()
    empty_run_dir(aside)
    return new


def clean_retired(directory: str) -> None:
    """Empty the directories a killed writer renamed aside from ``directory`` (its own name only)."""
    parent, base = os.path.split(directory)
    prefix = f".{base}{_RETIRED}"
    for name in os.listdir(parent):
        path = os.path.join(parent, name)
        if (
            name.startswith(prefix)
            and name[len(prefix) :].isdigit()
            and not os.path.islink(path)
            and os.path.isdir(path)
        ):
            with contextlib.suppress(ValueError, OSError):
                check_run_dir(path)
                empty_run_dir(path)


def run_files(path) -> list[str]:
    """The real paths a run at ``path`` owns: its header and its part directory."""
    real = os.path.realpath(os.fspath(path))
    return [real, real + schema.PARTS_SUFFIX]


def _same(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _inside_a_run(path: str, inputs) -> str | None:
    """The input whose files ``path`` would land on, or None."""
    real = os.path.realpath(path)
    for source in inputs:
        source = os.fspath(source)
        header, parts = run_files(source)
        if _same(path, source) or real == header or real == parts or real.startswith(parts + os.sep):
            return source
    return None


def file_kind(path: str) -> str | None:
    """``format`` of a spatial-snn HDF5 file, :data:`NIR_KIND` for a NIR graph, None for anything else."""
    import h5py

    try:
        with open(path, "rb") as fh:
            if fh.read(8) != HDF5_MAGIC:
                return None
        with h5py.File(path, "r", locking=False) as f:
            if "format" in f.attrs:
                return text_attr(f, "format")
            return NIR_KIND if "version" in f and "node" in f else None
    except (OSError, KeyError, ValueError, TypeError, RuntimeError):
        return None


def check_replace(path, kind: str, *, overwrite: bool, inputs=()) -> None:
    """Refuse to write ``path`` unless it is absent, or ``overwrite`` and it is a regular file of ``kind``.

    Never an input of the same command (the run or file being read, its parts,
    the scenario), whatever its kind.
    """
    path = os.fspath(path)
    source = _inside_a_run(path, inputs)
    if source is not None:
        raise ValueError(f"{path}: is {source} or one of its files, which this command reads; write to another path")
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            raise ValueError(f"{path}: is a dangling symlink; remove it or write to another path") from None
        return
    if not overwrite:
        raise FileExistsError(f"{path}: exists; pass overwrite=True to replace it")
    what = _KIND_NAMES.get(kind, kind)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(
            f"{path}: not a regular file (a directory, device, FIFO or socket); --overwrite replaces "
            f"only {what}: write to another path"
        )
    found = file_kind(path)
    if found != kind:
        found_name = _KIND_NAMES.get(found, f"a file of kind {found!r}" if found else "not a spatial-snn file")
        raise ValueError(
            f"{path}: is {found_name}; --overwrite replaces only {what}: remove it yourself or write to another path"
        )


def check_output(path, inputs=()) -> None:
    """Refuse an output (PNG, video, figure folder) that would land on a run's files, an input,
    an HDF5 file or something that is not a regular file or directory."""
    path = os.fspath(path)
    source = _inside_a_run(path, inputs)
    if source is not None:
        raise ValueError(
            f"{path}: is {source} or one of its files, which this command only reads; write to another path"
        )
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return
    if stat.S_ISDIR(st.st_mode):
        return  # a folder of figures; a file target on a directory fails when written
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{path}: not a regular file (a device, FIFO or socket); write to another path")
    try:
        with open(path, "rb") as fh:
            hdf5 = fh.read(8) == HDF5_MAGIC
    except OSError:
        hdf5 = False
    if hdf5:
        raise ValueError(
            f"{path}: is an HDF5 file (an archive, genome or graph); a picture never replaces "
            "one: write to another path"
        )
