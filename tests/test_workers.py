"""Worker processes end with their main process, and Ctrl-C is one line (issue 17).

A real ``spatial-snn evolve --workers 2`` runs in a subprocess, in its own
session, as from a terminal. Waiting is by polling ``/proc`` with a bounded
timeout: for the workers to appear, for numpy to be mapped (the CLI is past
start-up and importing), and for the processes to be gone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")

ROOT = Path(__file__).resolve().parents[1]
LONG = """
env.id = "CartPole-v1"
network.substeps = 4
evolution.population = 16
evolution.generations = 1000
protocol.episodes = 2
protocol.test_every = 50
protocol.test_episodes = 5
"""
TIMEOUT = 120.0  # seconds; a bound for a loaded machine, not an expected duration


def _state(pid: int) -> str | None:
    """The process state letter from /proc (None once it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _alive(pid: int) -> bool:
    return _state(pid) not in (None, "Z", "X")


def _children(pid: int) -> list[int]:
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    if int(fh.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(entry))
            except (OSError, IndexError, ValueError):
                pass
    return out


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _ignores_sigint(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as fh:
            ignored = next(line for line in fh if line.startswith("SigIgn:"))
    except (OSError, StopIteration):
        return False
    return bool(int(ignored.split()[1], 16) >> (signal.SIGINT - 1) & 1)


def _mapped(pid: int, name: str) -> bool:
    try:
        with open(f"/proc/{pid}/maps") as fh:
            return name in fh.read()
    except OSError:
        return False


def _wait_for(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)  # polling interval, not synchronisation: the loop re-checks the condition
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


def _start(tmp_path: Path, *argv: str) -> subprocess.Popen:
    sc = tmp_path / "long.toml"
    sc.write_text(LONG)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    # as from a terminal: a test process started in the background (`nohup ... &`) has SIGINT ignored,
    # and an ignored signal stays ignored across exec, so the run would never see the Ctrl-C
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        return subprocess.Popen(
            [sys.executable, "-m", "spatial_snn.cli", *argv],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    finally:
        signal.signal(signal.SIGINT, previous)


def _workers(pid: int) -> list[int]:
    """The pool's worker processes (not the resource tracker), once both have started."""
    kids = [k for k in _children(pid) if "spawn_main" in _cmdline(k)]
    return kids if len(kids) >= 2 else []


@pytest.mark.slow
def test_kill_9_of_the_main_process_ends_its_workers(tmp_path):
    proc = _start(tmp_path, "evolve", "long.toml", "--workers", "2", "--out", "run.h5")
    try:
        workers = _wait_for(lambda: _workers(proc.pid), "two worker processes")
        # their initializer ignores SIGINT and then, at once, asks for the parent-death signal
        _wait_for(lambda: all(_ignores_sigint(w) for w in workers), "the workers' initializer")
        family = _children(proc.pid)  # workers and the multiprocessing resource tracker
    finally:
        proc.kill()
        proc.communicate(timeout=TIMEOUT)
    assert proc.returncode == -signal.SIGKILL
    _wait_for(lambda: not any(_alive(p) for p in family), f"processes {family} to end after kill -9 of their parent")


def _ctrl_c(proc):
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal does: the whole foreground group


def _kill_pid(proc):
    # `kill PID`: the usual way to stop a `nohup ... &` run, whose shell made it ignore SIGINT
    proc.send_signal(signal.SIGTERM)  # the main process only, not its group


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stop", "status", "word"),
    [(_ctrl_c, 130, "interrupted"), (_kill_pid, 143, "terminated")],
    ids=["ctrl-c", "sigterm"],
)
def test_a_stopped_run_with_two_workers_is_one_line_naming_the_archive(tmp_path, stop, status, word):
    proc = _start(tmp_path, "evolve", "long.toml", "--workers", "2", "--out", "run.h5")
    try:
        _wait_for(lambda: _workers(proc.pid), "two worker processes")
        family = _children(proc.pid)
        stop(proc)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode()
    assert proc.returncode == status, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"spatial-snn: {word}; run.h5 keeps ") and err.endswith(
        "continue with: spatial-snn resume run.h5\n"
    ), err
    _wait_for(lambda: not any(_alive(p) for p in family), "the workers to end")
    # the printed command continues the run
    done = subprocess.run(
        [sys.executable, "-m", "spatial_snn.cli", "resume", "run.h5", "--generations", "1", "--workers", "1"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    assert done.returncode == 0, done.stderr
    assert "champion test score" in done.stdout


@pytest.mark.slow
def test_ctrl_c_during_start_up_is_one_line(tmp_path):
    proc = _start(tmp_path, "evolve", "long.toml", "--workers", "2", "--out", "run.h5")
    try:
        # numpy is first imported inside main(): the process is past interpreter start-up
        _wait_for(lambda: _mapped(proc.pid, "_multiarray_umath") or proc.poll() is not None, "numpy to load")
        os.killpg(proc.pid, signal.SIGINT)
        out, err = proc.communicate(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    err = err.decode()
    assert proc.returncode == 130, err
    assert err.count("\n") == 1 and err.startswith("spatial-snn: interrupted") and "Traceback" not in err, err


def test_a_worker_whose_parent_is_gone_exits_at_once():
    # die_with_parent(pid) with a pid that is not the parent: the parent "died" before the request
    done = _python("die_with_parent(os.getppid() + 1); print('alive')")
    assert done.returncode == 1 and "alive" not in done.stdout, done


def test_a_worker_asks_the_kernel_for_a_parent_death_signal():
    done = _python("print(die_with_parent(os.getppid()))")
    assert done.returncode == 0 and done.stdout.strip() == "pdeathsig", done


def _python(line: str) -> subprocess.CompletedProcess:
    code = f"import os\nfrom spatial_snn.tasks.lifeline import die_with_parent\n{line}\n"
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
