"""Single-writer exclusion for run archives: an exclusive ``flock`` on the run file itself.

The lock belongs to the file's identity (its inode), not to the path as
typed: a symlink, a hard link or ``./x/../run.h5`` all name the same inode,
so a second writer is refused whatever path it uses. When the writer
replaces its file (a new header renamed over the old one), it locks the new
inode before the rename (:meth:`WriterLock.adopt`), so there is no moment
without a lock. The kernel drops the lock of a killed process. Readers never
take it (they open without HDF5 file locking). Needs a local file system
(``flock`` over NFS may not exclude).
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["ArchiveLockedError", "WriterLock"]


class ArchiveLockedError(RuntimeError):
    """The archive is being written by another process (or writer)."""


def _try_lock(fd: int, path: str) -> None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ArchiveLockedError(
            f"{path} is being written by another process (a lock on the file, through any of its names); "
            "wait for it to finish or stop it"
        ) from None


class WriterLock:
    """Exclusive ``flock`` on an existing file, re-checked against the path after locking."""

    def __init__(self, path: str):
        self.path = path
        while True:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            _try_lock(fd, path)
            try:  # the file may have been replaced between our open and our lock
                st, now = os.fstat(fd), os.stat(path)
                if (st.st_dev, st.st_ino) == (now.st_dev, now.st_ino):
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        self._fd: int | None = fd

    @classmethod
    def adopt(cls, fd: int, path: str) -> WriterLock:
        """Lock ``fd`` (a file about to be renamed to ``path``) and own it."""
        _try_lock(fd, path)
        lock = cls.__new__(cls)
        lock.path, lock._fd = path, fd
        return lock

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing the last descriptor drops the flock
            self._fd = None
