"""Ctrl-C and SIGTERM held back while something must not be cut half-way.

:func:`held_interrupts` defers SIGINT (and SIGTERM, once
:func:`terminate_like_interrupt` has given it a Python handler) until the
enclosed block is over and then raises it as ``KeyboardInterrupt``, so an
archive write completes or an import finishes (an import cut by
``KeyboardInterrupt`` can leave a module, numpy's C extension for one,
half-initialised and report a misleading ``ImportError``). Standard library
only: the command line uses it before anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import signal
import threading

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
