"""Dask distributed as the cluster backend of the evaluation.

:class:`~spatial_snn.tasks.evaluation.WorkerPool` fans jobs out over any
``concurrent.futures.Executor``; :func:`dask_executor` makes one that runs
them on a Dask cluster. Nothing else changes: a job is
``(task, packed genomes, seeds, cap) -> Evaluation`` (plain numpy arrays
both ways), evaluation draws no random numbers, and only the main process
writes the archive, so a run gives the same history on any backend.

What the executor adds to ``Client.get_executor``:

* ``pure=False``: two identical jobs (the same elite submitted twice) are
  two tasks; Dask's default purity would merge them by key.
* Warm workers: a :class:`WarmWorker` plugin runs
  :func:`~spatial_snn.tasks.evaluation.init_worker` once in every worker, also in
  workers that join later or that a nanny restarts. Warm-ups on one machine
  take turns (a lock file), because numba's cache races under parallel
  compilation (numba #4807, #10128). Environments are then made lazily, once
  per worker, and kept.
* Quiet workers: Dask's diagnostics wake a worker's event loop on timers
  (an event-loop tick every 20 ms, a memory check every 100 ms, a system
  monitor every 500 ms, a stack profiler every 10 ms). Each wake-up takes the
  GIL from the running job, and on a machine whose cores are all busy it
  waits for a core first, stalling the job meanwhile. WarmWorker stops the
  profiler and spaces the others out
  (:data:`~spatial_snn.tasks.dask_worker.QUIET_INTERVALS`);
  :func:`local_cluster` does the same for the scheduler and nannies of a
  cluster on this machine. Measured in benchmarks/bench_cluster.py.
* Same versions: every job checks that its worker runs the client's versions
  of spatial-snn, numpy, numba, gymnasium and mujoco, and fails with a clear
  error otherwise (a different physics engine would change the returns).
* Few frames per job: Dask sends every numpy array of a job as a message
  frame of its own, so WorkerPool sends a job's genomes as one batch of
  concatenated arrays (:func:`~spatial_snn.tasks.evaluation.pack_batch`), not as
  ~20 arrays per genome, which more than doubled the client's CPU per job.
* One numba thread per job. ``numba.set_num_threads`` is per thread and Dask
  runs tasks in its own threads, so every job sets it where it runs.
* Lost workers: Dask reschedules the tasks of a dead worker by itself. A task
  that was on ``allowed-failures`` dying workers ends in ``KilledWorker``; it
  and a closed connection are reported as :class:`WorkerLost`, a
  ``concurrent.futures.BrokenExecutor``, which WorkerPool resubmits once.
* No workers: when no worker has been connected for ``no_worker_timeout``
  seconds while jobs wait, the waiting jobs fail with a ``RuntimeError`` that
  says how to continue (the archive keeps every complete generation).
* Ownership: a client made here (from an address or a cluster) lives as long
  as the executor and is closed by :meth:`DaskExecutor.shutdown`, or when the
  executor is garbage-collected or the interpreter exits. A client passed in
  is never closed.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import functools
import logging
import os
import threading
import time
import weakref

from .dask_worker import QUIET_INTERVALS, WarmWorker, run_job, worker_versions

__all__ = ["QUIET_CONFIG", "DaskExecutor", "WorkerLost", "dask_executor", "local_cluster"]

INSTALL_HINT = 'Dask support needs `pip install "spatial-snn[dask]"`'
_log = logging.getLogger(__name__)
#: The same spacing as Dask configuration, for the scheduler and nannies of :func:`local_cluster`
#: (or ``DASK_DISTRIBUTED__ADMIN__TICK__INTERVAL=1s`` etc. for ``dask scheduler`` / ``dask worker``).
QUIET_CONFIG = {
    "distributed.admin.tick.interval": f"{QUIET_INTERVALS['tick']:g}s",
    "distributed.worker.memory.monitor-interval": f"{QUIET_INTERVALS['memory_monitor']:g}s",
    "distributed.admin.system-monitor.interval": f"{QUIET_INTERVALS['monitor']:g}s",
    "distributed.worker.profile.enabled": False,
}


class WorkerLost(cf.BrokenExecutor):
    """A Dask worker running a job died or its connection closed (the job may be resubmitted)."""


# --------------------------------------------------------- in the client
def _release(client, stop: threading.Event) -> None:
    stop.set()
    if client is not None:
        with contextlib.suppress(Exception):
            client.close()


def _watch(ref, stop: threading.Event, poll: float) -> None:
    """Watchdog thread: fail waiting jobs once no worker has been connected for too long."""
    while not stop.wait(poll):
        ex = ref()
        if ex is None:
            return
        try:
            ex._check_workers()
        except Exception:  # keep watching; a transient client error must not end the watchdog
            _log.exception("spatial-snn: checking the Dask workers failed")
        del ex


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures.Executor`` over a Dask client; see the module docstring.

    Parameters
    ----------
    client : distributed.Client
    close_client : bool
        Close ``client`` with this executor (True when :func:`dask_executor`
        made it).
    no_worker_timeout : float
        Seconds without any connected worker, while jobs wait, before those
        jobs fail.
    """

    def __init__(self, client, *, close_client: bool = False, no_worker_timeout: float = 120.0, poll: float = 1.0):
        if not no_worker_timeout > 0:
            raise ValueError(f"no_worker_timeout: expected seconds > 0, got {no_worker_timeout!r}")
        self.client = client
        self.no_worker_timeout = float(no_worker_timeout)
        self._inner = client.get_executor(pure=False)
        self.worker_versions = worker_versions()
        self._poll = float(poll)
        self._pending: dict[cf.Future, cf.Future] = {}  # ours -> Dask's concurrent future
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._since: float | None = None  # when the cluster was first seen empty
        self._watchdog: threading.Thread | None = None
        self._finalizer = weakref.finalize(self, _release, client if close_client else None, self._stop)

    @property
    def slots(self) -> int:
        """Worker threads connected now (at least 1): how many jobs can run at once."""
        try:
            return max(1, sum(self.client.nthreads().values()))
        except Exception:  # scheduler unreachable: the jobs' own errors will say so
            return 1

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:
        if not self._finalizer.alive:
            raise RuntimeError("cannot submit jobs: this DaskExecutor was shut down")
        inner = self._inner.submit(run_job, fn, args, kwargs, self.worker_versions)
        outer: cf.Future = cf.Future()
        with self._lock:
            self._pending[outer] = inner
        # Both links are weak. Once a result has arrived nothing may keep Dask's future (and so the
        # result on its worker) alive, or a worker lost later in the generation would have that job
        # recomputed; and Dask's event loop must never hold the last reference to this executor.
        inner.add_done_callback(functools.partial(_settle, weakref.ref(self), outer))
        outer.add_done_callback(functools.partial(_cancel_inner, weakref.ref(inner)))
        if self._watchdog is None:
            self._watchdog = threading.Thread(
                target=_watch,
                args=(weakref.ref(self), self._stop, self._poll),
                name="spatial-snn-dask-watchdog",
                daemon=True,
            )
            self._watchdog.start()
        return outer

    def _check_workers(self) -> None:
        with self._lock:
            waiting = len(self._pending)
        if not waiting:
            self._since = None
            return
        try:
            n_workers = len(self.client.nthreads())
        except Exception:
            n_workers = 0
        now = time.monotonic()
        if n_workers:
            self._since = None
            return
        self._since = self._since if self._since is not None else now
        if now - self._since < self.no_worker_timeout:
            return
        addr = self._address()
        with self._lock:
            jobs, self._pending = self._pending, {}
        err = RuntimeError(
            f"no Dask worker has been connected to the scheduler {addr} for {self.no_worker_timeout:g} s "
            f"while {len(jobs)} evaluation jobs waited; the run stops here. Its archive keeps every complete "
            f"generation: start workers (`dask worker {addr} --nthreads 1 --nworkers N`) and continue "
            f"with `spatial-snn resume ARCHIVE --scheduler {addr}`"
        )
        for outer, inner in jobs.items():
            inner.cancel()
            _fail(outer, err)
        self._since = None

    def _address(self) -> str:
        try:
            return str(self.client.scheduler.address)
        except Exception:
            return "(unknown address)"

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting jobs; close the client if this executor made it."""
        if cancel_futures:
            with self._lock:
                jobs, self._pending = self._pending, {}
            for outer in jobs:
                outer.cancel()
        if self._finalizer.alive:
            self._inner.shutdown(wait=wait)
        self._finalizer()


def _settle(ex_ref, outer: cf.Future, inner: cf.Future) -> None:
    """Pass Dask's outcome on to our future, naming lost workers as :class:`WorkerLost`."""
    ex = ex_ref()
    if ex is not None:
        with ex._lock:
            if ex._pending.pop(outer, None) is None:
                return  # already failed by the watchdog, or cancelled
    if inner.cancelled():
        where = ex._address() if ex is not None else "(unknown address)"
        _fail(
            outer,
            RuntimeError(
                f"Dask cancelled an evaluation job (scheduler {where}): the client was closed or lost its "
                "scheduler connection; restart the scheduler and resume the run"
            ),
        )
        return
    exc = inner.exception()
    if exc is None:
        with contextlib.suppress(cf.InvalidStateError):
            outer.set_result(inner.result())
    elif _is_lost_worker(exc):
        lost = WorkerLost(f"a Dask worker running this job was lost ({type(exc).__name__}: {exc})")
        lost.__cause__ = exc
        _fail(outer, lost)
    else:
        _fail(outer, exc)


def _cancel_inner(inner_ref, outer: cf.Future) -> None:
    inner = inner_ref()
    if outer.cancelled() and inner is not None:
        inner.cancel()


def _fail(fut: cf.Future, exc: BaseException) -> None:
    with contextlib.suppress(cf.InvalidStateError):
        fut.set_exception(exc)


def _is_lost_worker(exc: BaseException) -> bool:
    from distributed import KilledWorker
    from distributed.comm import CommClosedError

    return isinstance(exc, KilledWorker | CommClosedError)


def dask_executor(
    address_or_client,
    *,
    warm: bool = True,
    no_worker_timeout: float = 120.0,
    profiler: bool = False,
    quiet: bool = True,
) -> DaskExecutor:
    """An executor that evaluates jobs on a Dask cluster.

    Parameters
    ----------
    address_or_client : str, distributed.Client or a Dask cluster
        Scheduler address (``"tcp://host:8786"``), a connected client (left
        open), or a cluster object such as ``LocalCluster`` (a client is
        made for it and closed with the executor; the cluster is not).
    warm : bool
        Register :class:`WarmWorker`, which compiles the kernels once in every
        worker (now and in workers that join later).
    profiler : bool
        Keep Dask's statistical profiler running in the workers (see
        :class:`WarmWorker`; only with ``warm``).
    quiet : bool
        Space out the workers' diagnostic timers (see :class:`WarmWorker`;
        only with ``warm``).
    no_worker_timeout : float
        Seconds without any connected worker, while jobs wait, before they
        fail with a clear error.

    Returns
    -------
    DaskExecutor
        Pass it as ``evolve(..., executor=...)``; ``evolve(..., executor="tcp://...")``
        calls this function.
    """
    try:
        import distributed
        from distributed.deploy import Cluster
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} (importing distributed failed: {exc})") from None
    if isinstance(address_or_client, distributed.Client):
        client, own = address_or_client, False
    elif isinstance(address_or_client, Cluster):
        client, own = distributed.Client(address_or_client), True
    elif isinstance(address_or_client, str):
        try:
            client = distributed.Client(address_or_client)
        except (OSError, TimeoutError) as exc:
            raise OSError(
                f"could not reach the Dask scheduler at {address_or_client!r} ({exc}); start one "
                "with `dask scheduler` and pass the address it prints, e.g. tcp://host:8786"
            ) from None
        own = True
    else:
        raise TypeError(
            "address_or_client: expected a scheduler address such as 'tcp://host:8786', a "
            f"distributed.Client or a Dask cluster, got {type(address_or_client).__name__}"
        )
    try:
        if warm:
            client.register_plugin(WarmWorker(profiler, quiet))
        return DaskExecutor(client, close_client=own, no_worker_timeout=no_worker_timeout)
    except BaseException:
        if own:
            client.close()
        raise


def local_cluster(n_workers: int | None = None, *, quiet: bool = True, **kwargs):
    """A Dask ``LocalCluster`` shaped for spatial-snn jobs: worker processes with one thread each.

    For trying the cluster path on one machine (a run on it gives the same
    history as on the local pool). The scheduler and the nannies run in this
    process and share its cores with the workers, so with ``quiet`` they,
    like the workers, use :data:`QUIET_CONFIG` (their diagnostic timers
    spaced out, the profiler off); the difference is measured in
    benchmarks/bench_cluster.py.

    Parameters
    ----------
    n_workers : int, optional
        Worker processes (default: the CPU count).
    quiet : bool
        Apply :data:`QUIET_CONFIG` to the scheduler, nannies and workers.
    **kwargs
        Passed on to ``distributed.LocalCluster`` (the dashboard defaults to a
        free port).

    Returns
    -------
    distributed.LocalCluster
        Close it (or use it as a context manager) when done; pass it to
        :func:`dask_executor` or ``evolve(..., executor=...)``.
    """
    try:
        import dask
        from distributed import LocalCluster
    except ImportError as exc:
        raise ImportError(f"{INSTALL_HINT} (importing distributed failed: {exc})") from None
    for key in ("processes", "threads_per_worker"):
        if key in kwargs:
            raise TypeError(
                f"local_cluster: {key} is fixed (worker processes with one thread each); "
                "build a distributed.LocalCluster yourself for another shape"
            )
    kwargs.setdefault("dashboard_address", ":0")
    # Nannies pass the configuration on to the worker processes they start, now and on restarts
    with dask.config.set(QUIET_CONFIG if quiet else {}):
        return LocalCluster(n_workers=n_workers or os.cpu_count() or 1, threads_per_worker=1, processes=True, **kwargs)
