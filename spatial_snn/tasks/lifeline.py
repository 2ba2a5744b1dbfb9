"""Local worker processes that end with their main process and leave Ctrl-C to it.

Two promises about the worker processes of
:class:`~spatial_snn.tasks.evaluation.WorkerPool`:

* **They die with the main process.** If the main process is killed
  (``kill -9``, the OOM killer), its workers would otherwise keep computing
  for minutes, holding memory and cores. On Linux each worker asks the kernel
  for ``SIGKILL`` when its parent dies (``prctl(PR_SET_PDEATHSIG)``) and
  then checks that the parent is still the one that started it: if the parent
  died before the request, the worker exits at once. Elsewhere a daemon thread
  polls ``os.getppid()`` every :data:`POLL_SECONDS` seconds. The
  multiprocessing resource tracker needs nothing: it exits when the last
  holder of its pipe (the main process and the workers) is gone.
* **Ctrl-C belongs to the main process.** A terminal sends SIGINT to the
  whole foreground process group, workers included. Workers start with
  SIGINT blocked (the main process blocks it while it creates them, and a
  child inherits the signal mask through fork and exec) and then ignore it,
  so a Ctrl-C at any moment, even while a worker is still importing, prints
  no worker traceback; the main process stops the run and prints one line.

The kernel sends the parent-death signal when the *thread* that created the
worker ends: create pools from a thread that outlives them (the pool creates
its workers in the thread that submits the first jobs).
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import sys
import threading
from multiprocessing.context import SpawnContext, SpawnProcess

#: Seconds between checks of the parent by the watchdog thread (non-Linux only).
POLL_SECONDS = 1.0
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class _QuietSpawnProcess(SpawnProcess):
    """A spawned process created with SIGINT blocked in the creating thread."""

    def start(self):
        if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
            return super().start()
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
        try:
            return super().start()
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


class _QuietSpawnContext(SpawnContext):
    Process = _QuietSpawnProcess


def worker_context() -> SpawnContext:
    """A ``spawn`` multiprocessing context whose processes start with SIGINT blocked."""
    return _QuietSpawnContext()


def die_with_parent(parent_pid: int) -> str:
    """Make this process end when ``parent_pid`` (its parent) ends.

    Returns ``"pdeathsig"`` (Linux, the kernel sends SIGKILL) or
    ``"watchdog"`` (a daemon thread polls the parent). Exits at once (status
    1) when the parent is already gone.
    """
    how = "watchdog"
    if sys.platform.startswith("linux"):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0:
                how = "pdeathsig"
        except (OSError, AttributeError):  # no libc symbol: fall back to polling
            pass
    if os.getppid() != parent_pid:  # the parent died before the request took effect
        os._exit(1)
    if how == "watchdog":
        threading.Thread(
            target=_watch_parent, args=(parent_pid,), name="spatial-snn-parent-watchdog", daemon=True
        ).start()
    return how


def _watch_parent(parent_pid: int) -> None:
    stop = threading.Event()
    while not stop.wait(POLL_SECONDS):
        if os.getppid() != parent_pid:
            os._exit(1)


def start_worker(parent_pid: int) -> None:
    """Initializer of a local worker: ignore Ctrl-C, die with the parent, then warm up."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a SIGINT pending since start is discarded
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # the parent's Python handler (cli) is not the worker's
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    die_with_parent(parent_pid)
    from ..sim.network import set_threads, warmup  # numba only in the workers that need it

    set_threads(1)  # parallelism is across processes
    warmup()


def kill_workers() -> int:
    """Kill every worker process this process started through :func:`worker_context`; return how many.

    For Ctrl-C: workers hold nothing worth keeping (only the main process
    writes the archive), and without this the interpreter's exit would wait
    for their running jobs. Every such process, not only those a pool still
    lists: a Ctrl-C can land after a worker started and before its pool
    recorded it, and such an orphan would keep the exit waiting forever.
    """
    killed = 0
    for process in multiprocessing.active_children():
        if isinstance(process, _QuietSpawnProcess) and process.is_alive():
            process.kill()
            killed += 1
    return killed
