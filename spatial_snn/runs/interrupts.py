"""Ctrl-C and SIGTERM: held back while something must not be cut half-way, and reported.

:func:`held_interrupts` defers SIGINT (and SIGTERM, once
:func:`terminate_like_interrupt` has given it a Python handler) until the
enclosed block is over and then raises it as ``KeyboardInterrupt``, so an
archive write completes or an import finishes (an import cut by
``KeyboardInterrupt`` can leave a module, numpy's C extension for one,
half-initialised and report a misleading ``ImportError``). :func:`stop_line`
is what the command line then prints. Standard library only: the command
line uses it before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import shlex
import signal
import threading
from pathlib import Path

#: The signals :func:`held_interrupts` defers when Python handles them.
HELD = (signal.SIGINT, signal.SIGTERM)


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where Ctrl-C would be so that a run stops the same way.

    A ``KeyboardInterrupt``: a run stops between generations, names its
    archive and what it keeps, and its workers are killed. Without it SIGTERM
    (``kill PID``, the usual way to stop a ``nohup ... &`` job, which ignores
    SIGINT) ends the process at once: the archive survives, but with no word of
    what it keeps.
    """


def _raise_terminated(signum, frame):
    raise Terminated()


@contextlib.contextmanager
def terminate_like_interrupt():
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread.

    The previous handler comes back afterwards (a test calling the command
    line in-process keeps its own). Elsewhere than in the main thread, where
    Python cannot set handlers, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def held_interrupts():
    """Defer Ctrl-C (SIGINT) and a Python-handled SIGTERM until the block is over, then raise once.

    Only the main thread receives Python signal handlers: elsewhere, and for a
    signal that is ignored or not handled by Python, this does nothing. When
    both arrived, the first to arrive is raised.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.getsignal(s) for s in HELD}
    held = [s for s, h in previous.items() if callable(h)]
    caught: list[int] = []
    for s in held:
        signal.signal(s, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        for s in held:
            signal.signal(s, previous[s])
        if caught:
            previous[caught[0]](caught[0], None)


@contextlib.contextmanager
def interrupts_ignored():
    """Ignore SIGINT and SIGTERM within the block (main thread only): a report must not be cut."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, signal.SIG_IGN) for s in HELD}
    try:
        yield
    finally:
        for s, handler in previous.items():
            if handler is not None:
                signal.signal(s, handler)


def terminated(exc: KeyboardInterrupt) -> bool:
    """True when SIGTERM, not Ctrl-C, raised ``exc`` (directly or in a run that reports it)."""
    return isinstance(exc, Terminated) or bool(getattr(exc, "terminated", False))


def stop_line(
    exc: KeyboardInterrupt, command: str | None, archive=None, generations: int | None = None, prog: str = "spatial-snn"
) -> str:
    """The one line the command line prints when stopped: what is kept and the command that continues it.

    ``archive`` is the command's archive argument; an ``archive`` attribute of
    ``exc`` (a run's report) takes precedence. ``generations`` is a resume's
    ``--generations``, repeated in the command that continues it.
    """
    archive = getattr(exc, "archive", None) or archive
    stopped = "terminated" if terminated(exc) else "interrupted"
    runs = command in ("evolve", "resume", "batch")
    if archive is None or not Path(archive).exists() or not runs:
        if runs:
            return f"{prog}: {stopped} before any generation was written; nothing to resume, run the command again"
        return f"{prog}: {stopped}"
    n = getattr(exc, "generations", None)
    kept = f"{n} complete generation{'' if n == 1 else 's'}" if n is not None else "every complete generation"
    if command == "batch":
        return (
            f"{prog}: {stopped}; {archive} keeps {kept}; run the same batch command again to continue "
            "(finished runs are skipped, this one resumes)"
        )
    extend = f" --generations {generations}" if command == "resume" and generations else ""
    resume = f"{prog} resume {shlex.quote(str(archive))}{extend}"
    return f"{prog}: {stopped}; {archive} keeps {kept}; continue with: {resume}"
