"""Single-writer exclusion for run archives: an exclusive ``flock`` on ``PATH.lock``.

The lock file holds the writer's pid (named in :class:`ArchiveLockedError`)
and is unlinked on release while still locked, so no process can hold a
stale inode. Readers never take it: they open the archive without HDF5 file
locking (see :mod:`spatial_snn.store.run_reader`).
"""

from __future__ import annotations

import fcntl
import os

__all__ = ["ArchiveLockedError", "WriterLock"]


class ArchiveLockedError(RuntimeError):
    """The archive is being written by another process (or writer)."""


class WriterLock:
    """Exclusive ``flock`` on ``PATH.lock`` holding the writer's pid."""

    def __init__(self, path: str):
        self.path = f"{path}.lock"
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pid = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                os.close(fd)
                raise ArchiveLockedError(
                    f"{path} is being written by another process (pid {pid}); wait for it to finish or stop it"
                ) from None
            try:  # the previous holder may have unlinked the file before we locked it
                if os.fstat(fd).st_ino == os.stat(self.path).st_ino:
                    break
            except FileNotFoundError:
                pass
            os.close(fd)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.unlink(self.path)  # while still locked: no one can hold a stale inode
            os.close(self._fd)
            self._fd = None
