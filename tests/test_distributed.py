"""Dask backend: the same history on every backend, lost workers, no workers, warm workers.

Clusters are LocalCluster(2 workers, 1 thread each, processes): small, as the
test machine is shared. Worker pids come from ``client.run(os.getpid)``; the
kill happens inside the scheduler (an in-process scheduler plugin) at the
moment a task of the armed generation finishes, so it always lands
mid-generation on a worker that holds work, with no sleeps.
"""

import gc
import os
import signal
import sys
import threading
import uuid
from pathlib import Path

import numpy as np
import pytest

distributed = pytest.importorskip("distributed")

from distributed.diagnostics.plugin import SchedulerPlugin  # noqa: E402

from spatial_snn.runs.runner import evolve  # noqa: E402
from spatial_snn.runs.scenarios import scenario_from_dict  # noqa: E402
from spatial_snn.tasks.dask_worker import QUIET_INTERVALS  # noqa: E402
from spatial_snn.tasks.distributed import (  # noqa: E402
    INSTALL_HINT,
    DaskExecutor,
    dask_executor,
    local_cluster,
)

KEYS = ("best", "mean", "test", "env_steps")


def _cluster():
    return distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")


def _assert_same_history(history, reference, where):
    for k in KEYS:
        np.testing.assert_array_equal(np.asarray(history[k]), reference[k], err_msg=f"{where}: {k}")


def _read_history(path):
    from spatial_snn.store.run_reader import open_run

    with open_run(path) as run:
        return {k: np.asarray(v) for k, v in run.history.items()}


@pytest.fixture(scope="module")
def tiny(tiny_scenario):
    return scenario_from_dict(tiny_scenario(protocol={"bounds_episodes": 2}))


@pytest.fixture(scope="module")
def reference(tiny):
    """History of the undisturbed run in this process (workers=1)."""
    return evolve(tiny, seed=3, workers=1).history


@pytest.fixture(scope="module")
def cluster():
    with _cluster() as c:
        yield c


# ------------------------------------------------------------ no cluster
def test_missing_dask_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"pip install \"spatial-snn\[dask\]\""):
        dask_executor("tcp://127.0.0.1:8786")
    assert "spatial-snn[dask]" in INSTALL_HINT


def test_rejects_what_is_not_an_address_client_or_cluster():
    with pytest.raises(TypeError, match="scheduler address.*got int"):
        dask_executor(8786)


def test_unreachable_scheduler_says_how_to_start_one():
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        with pytest.raises(OSError, match="dask scheduler"):
            dask_executor("tcp://127.0.0.1:9")


# ------------------------------------------------------- shared cluster
# Every test from here on starts worker processes: all are marked slow.
@pytest.mark.slow
def test_same_history_on_one_worker_and_a_local_pool_of_two(reference, tiny):
    local = evolve(tiny, seed=3, workers=2)
    _assert_same_history(local.history, reference, "local pool, 2 workers")


@pytest.mark.slow
def test_same_history_on_dask_and_only_this_process_holds_the_archive(cluster, reference, tmp_path, tiny):
    # by address, as `spatial-snn evolve --scheduler` does; only this process writes the archive
    path = tmp_path / "run.h5"
    with distributed.Client(cluster) as client:
        pids = list(client.run(os.getpid).values())
    holders = []

    def who_holds_the_archive(row):  # the main process (the writer) must, no worker may
        holders.append([pid for pid in ("self", *pids) if _holds(pid, path)])

    res = evolve(tiny, seed=3, executor=cluster.scheduler_address, archive=path, callback=who_holds_the_archive)
    _assert_same_history(res.history, reference, "dask, 2 workers")
    _assert_same_history(_read_history(path), reference, "dask archive")
    if Path("/proc/self/fd").is_dir():
        assert holders == [["self"]] * 3, f"processes holding the archive open, per generation: {holders}"


def _holds(pid, path: Path) -> bool:
    """Whether process ``pid`` has ``path`` open (Linux /proc)."""
    fds = Path(f"/proc/{pid}/fd")
    if not fds.is_dir():
        return False
    for fd in fds.iterdir():
        try:
            if Path(os.readlink(fd)) == path:
                return True
        except OSError:
            pass
    return False


@pytest.mark.slow
def test_workers_are_warm_single_threaded_checked_and_identical_jobs_both_run(cluster):
    with distributed.Client(cluster) as client:
        ex = dask_executor(client)
        assert ex.slots == 2
        state = client.run(
            lambda dask_worker: ("spatial-snn-warm" in dask_worker.plugins, "profile" in dask_worker.periodic_callbacks)
        )
        assert set(state.values()) == {(True, False)}, f"(warmed, profiler running) per worker: {state}"
        assert set(client.run(_timers).values()) == {_QUIET}, "diagnostic timers (ms) per worker"
        assert ex.submit(_numba_threads).result() == 1
        # Dask's default purity would merge these two into one task with one result
        assert ex.submit(uuid.uuid4).result() != ex.submit(uuid.uuid4).result()
        ex.worker_versions = {**ex.worker_versions, "mujoco": "0.0.1"}  # as if this client ran another mujoco
        with pytest.raises(RuntimeError, match=r"has mujoco \S+ \(client: 0\.0\.1\)"):
            ex.submit(_numba_threads).result()
        ex.shutdown()
        assert client.status == "running"  # a client passed in is left open


_QUIET = tuple(sorted((name, 1000 * seconds) for name, seconds in QUIET_INTERVALS.items()))


def _timers(dask_worker) -> tuple:
    """(name, interval in ms) of the worker's timers that WarmWorker spaces out."""
    return tuple(sorted((name, dask_worker.periodic_callbacks[name].callback_time) for name in QUIET_INTERVALS))


@pytest.mark.slow
def test_unregistering_the_plugin_gives_the_workers_back_their_timers(cluster):
    with distributed.Client(cluster) as client:
        dask_executor(client).shutdown()
        quiet = client.run(_timers)
        client.unregister_worker_plugin("spatial-snn-warm")
        restored = client.run(_timers)
        profiling = client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks)
        dask_executor(client).shutdown()  # registered again, for the tests that follow
        assert set(quiet.values()) == {_QUIET}
        for timers in restored.values():
            assert all(ms < quiet_ms for (_, ms), (_, quiet_ms) in zip(timers, _QUIET, strict=True)), timers
        assert all(profiling.values()), "the profiler is running again"
        assert set(client.run(_timers).values()) == {_QUIET}


def test_local_cluster_refuses_thread_workers():
    with pytest.raises(TypeError, match="processes is fixed"):
        local_cluster(1, processes=False)


@pytest.mark.slow
def test_local_cluster_is_quiet_in_scheduler_nannies_and_workers():
    with local_cluster(2) as cluster, distributed.Client(cluster) as client:
        # without any plugin: the configuration reached the worker processes through their nannies
        assert set(client.run(_timers).values()) == {_QUIET}
        assert not any(client.run(lambda dask_worker: "profile" in dask_worker.periodic_callbacks).values())
        assert sorted(client.nthreads().values()) == [1, 1]
        assert cluster.scheduler.periodic_callbacks["tick"].callback_time == 1000 * QUIET_INTERVALS["tick"]
        assert cluster.scheduler.periodic_callbacks["monitor"].callback_time == 1000 * QUIET_INTERVALS["monitor"]
        for nanny in cluster.workers.values():
            assert nanny.periodic_callbacks["memory_monitor"].callback_time == 1000 * QUIET_INTERVALS["memory_monitor"]


def _numba_threads() -> int:
    import numba

    return numba.get_num_threads()


@pytest.mark.slow
def test_a_client_made_here_lives_as_long_as_its_executor(cluster):
    ex = dask_executor(cluster.scheduler_address, warm=False)
    client = ex.client
    assert isinstance(ex, DaskExecutor) and client.status == "running"
    del ex
    gc.collect()
    assert client.status == "closed"


# ------------------------------------------------------- fault tolerance
class _KillMidGeneration(SchedulerPlugin):
    """Once armed, SIGKILL a worker holding tasks the moment some task of the generation finishes."""

    def __init__(self, scheduler, pids: dict):
        self.scheduler, self.pids = scheduler, pids
        self.armed, self.killed = threading.Event(), threading.Event()
        self.lost_tasks = 0

    def transition(self, key, start, finish, *args, **kwargs):
        if not self.armed.is_set() or self.killed.is_set() or (start, finish) != ("processing", "memory"):
            return
        busy = [ws for ws in self.scheduler.workers.values() if ws.processing and ws.address in self.pids]
        if busy:
            victim = max(busy, key=lambda ws: len(ws.processing))
            self.lost_tasks = len(victim.processing)
            os.kill(self.pids[victim.address], signal.SIGKILL)
            self.killed.set()


@pytest.mark.slow
def test_a_worker_killed_mid_generation_costs_only_its_work(reference, tmp_path, tiny):
    with _cluster() as cluster, distributed.Client(cluster) as client:
        ex = dask_executor(client)
        killer = _KillMidGeneration(cluster.scheduler, client.run(os.getpid))
        cluster.scheduler.add_plugin(killer, name="kill-mid-generation")

        def arm_after_generation_0(row):
            if row["generation"] == 0:
                killer.armed.set()

        path = tmp_path / "run.h5"
        res = evolve(tiny, seed=3, executor=ex, archive=path, callback=arm_after_generation_0)
        assert killer.killed.is_set() and killer.lost_tasks >= 1
        _assert_same_history(res.history, reference, "after a killed worker")
        _assert_same_history(_read_history(path), reference, "archive after a killed worker")
        ex.shutdown()


@pytest.mark.slow
def test_no_worker_left_stops_with_a_clear_error_and_the_archive_resumes(reference, tmp_path, tiny):
    path = tmp_path / "run.h5"
    with _cluster() as cluster, distributed.Client(cluster) as client:
        ex = dask_executor(client, no_worker_timeout=2)

        def close_all_workers_after_generation_0(row):
            if row["generation"] == 0:  # close the nannies too, or they would start new workers
                for nanny in list(cluster.workers.values()):
                    cluster.sync(nanny.close)

        with pytest.raises(RuntimeError, match=r"(?s)no Dask worker .*spatial-snn resume"):
            evolve(tiny, seed=3, executor=ex, archive=path, callback=close_all_workers_after_generation_0)
        ex.shutdown()
    assert len(_read_history(path)["best"]) == 1
    res = evolve(tiny, seed=3, workers=1, archive=path, resume=True)
    _assert_same_history(res.history, reference, "resumed")
    _assert_same_history(_read_history(path), reference, "resumed archive")


@pytest.mark.slow
def test_a_cluster_of_thread_workers_gives_the_same_history(reference, tiny):
    """Two threads in one worker process share numba's workqueue and the environment cache:
    jobs run one at a time per process, so the history is the one of a single worker."""
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=False, dashboard_address=":0"
    ) as threads:
        res = evolve(tiny, seed=3, executor=threads.scheduler_address)
    _assert_same_history(res.history, reference, "dask, 1 worker of 2 threads")
