"""What runs inside a Dask worker: the warm-up plugin and the job wrapper.

:class:`WarmWorker` compiles the kernels once per worker process (one
process per machine at a time) and keeps the worker's diagnostic timers
quiet (:data:`QUIET_INTERVALS`); :func:`run_job` runs each job on one numba
thread, one job at a time per process, after checking that the worker runs
the client's versions of the packages a result depends on. The client side,
and why each of these is needed, is :mod:`~spatial_snn.tasks.distributed`.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import tempfile
import threading

try:
    from distributed import WorkerPlugin as _WorkerPlugin
except ImportError:  # the dask extra is optional; dask_executor says how to install it
    _WorkerPlugin = object

__all__ = ["QUIET_INTERVALS", "WarmWorker"]

# a worker must run the versions the client runs: physics and kernels decide the returns
_RESULT_PACKAGES = ("spatial-snn", "numpy", "numba", "gymnasium", "mujoco")
_LOCK_FILE = os.path.join(tempfile.gettempdir(), "spatial-snn-warmup.lock")
_log = logging.getLogger(__name__)

#: Seconds between runs of a worker's diagnostic timers under :class:`WarmWorker` (Dask's
#: defaults: 0.02, 0.1, 0.5). The tick still reports an event loop blocked for longer than
#: ``distributed.admin.tick.limit`` (3 s); memory limits are still enforced, within 0.5 s.
QUIET_INTERVALS = {"tick": 1.0, "memory_monitor": 0.5, "monitor": 2.0}


def _warm_up() -> None:
    """``init_worker()``, one process per machine at a time (numba's cache races)."""
    from .evaluation import init_worker

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no lock, warm up anyway
        init_worker()
        return
    with open(_LOCK_FILE, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            init_worker()
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


class WarmWorker(_WorkerPlugin):
    """Dask worker plugin: compile the kernels once per worker process, and keep the worker quiet.

    Registered on the scheduler, so workers that join later (or are restarted
    by their nanny) are warmed up too. The compilation runs off the worker's
    event loop so heartbeats keep flowing.

    Parameters
    ----------
    profiler : bool
        Keep Dask's statistical profiler. It samples the running job's stack
        every 10 ms, which costs our Python-heavy rollouts noticeable worker CPU;
        by default it is stopped while the plugin is registered (the
        dashboard's profile page stays empty).
    quiet : bool
        Space out the worker's other diagnostic timers to :data:`QUIET_INTERVALS`
        while the plugin is registered (see :mod:`~spatial_snn.tasks.distributed`).
    """

    name = "spatial-snn-warm"
    idempotent = True  # registering it again (a second run on the same cluster) is a no-op

    def __init__(self, profiler: bool = False, quiet: bool = True):
        self.profiler = profiler
        self.quiet = quiet
        self._stopped = None
        self._spaced: dict[str, float] = {}  # timer name -> Dask's interval (ms), restored by teardown

    async def setup(self, worker) -> None:
        if not self.profiler:
            # popped, not only stopped: a worker starting up starts every periodic callback it lists
            self._stopped = worker.periodic_callbacks.pop("profile", None)
            if self._stopped is not None:
                self._stopped.stop()
        if self.quiet:
            for name, seconds in QUIET_INTERVALS.items():
                pc = worker.periodic_callbacks.get(name)
                if pc is not None and pc.callback_time < 1000 * seconds:
                    self._spaced[name] = pc.callback_time
                    pc.callback_time = 1000 * seconds  # tornado reads it when it schedules the next run
        nthreads = getattr(getattr(worker, "state", worker), "nthreads", 1)
        if nthreads > 1:
            _log.warning(
                "Dask worker %s runs %d threads; spatial-snn runs one job at a time per "
                "worker process (numba's workqueue layer and the environments are not "
                "thread-safe), so the extra threads idle: start workers with --nthreads 1 "
                "--nworkers N instead",
                worker.address,
                nthreads,
            )
        await asyncio.get_running_loop().run_in_executor(None, _warm_up)

    def teardown(self, worker) -> None:
        for name, ms in self._spaced.items():
            if name in worker.periodic_callbacks:
                worker.periodic_callbacks[name].callback_time = ms
        self._spaced = {}
        if self._stopped is not None:
            worker.periodic_callbacks["profile"] = self._stopped
            self._stopped.start()


@functools.cache
def worker_versions() -> dict[str, str | None]:
    """Versions of the packages a result depends on, in this process."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in _RESULT_PACKAGES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out


#: One job at a time per worker process. Jobs share the process's gymnasium
#: environments (``backends._GYM_ENVS``) and numba's workqueue threading layer,
#: neither of which is thread-safe: two jobs in two threads of one worker
#: stepped each other's environments and changed the history. A worker with N
#: threads runs its jobs one after another (same results, no speed-up).
_JOB_LOCK = threading.Lock()


def run_job(fn, args: tuple, kwargs: dict, versions: dict):
    """Run ``fn(*args, **kwargs)`` on one numba thread, if this worker has the client's versions.

    ``numba.set_num_threads`` is per thread, so it is set in the thread that runs the job;
    :data:`_JOB_LOCK` keeps the jobs of a multi-threaded worker apart.
    """
    here = worker_versions()
    if here != versions:
        import socket

        diff = ", ".join(f"{k} {here.get(k)} (client: {v})" for k, v in versions.items() if here.get(k) != v)
        raise RuntimeError(
            f"Dask worker on {socket.gethostname()} has {diff}; results would depend on the "
            "machine. Install the same versions everywhere, e.g. `pip install "
            f"spatial-snn=={versions.get('spatial-snn')}` in one shared environment"
        )
    from ..sim.network import set_threads

    with _JOB_LOCK:
        set_threads(1)
        return fn(*args, **kwargs)
