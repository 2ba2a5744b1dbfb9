"""Ctrl-C held back while something must not be cut half-way.

:func:`held_interrupts` defers SIGINT until the enclosed block is over and
then raises it as ``KeyboardInterrupt``, so an archive write completes or an
import finishes (an import cut by ``KeyboardInterrupt`` can leave a module,
numpy's C extension for one, half-initialised and report a misleading
``ImportError``). Standard library only: the command line uses it before
anything heavy is imported.
"""

from __future__ import annotations

import contextlib
import signal
import threading


@contextlib.contextmanager
def held_interrupts():
    """Defer Ctrl-C (SIGINT) until the block is over, then raise it once.

    Only the main thread receives Python signal handlers: elsewhere, and where
    SIGINT is ignored or not handled by Python, this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)
    if previous is None or previous in (signal.SIG_IGN, signal.SIG_DFL):
        yield
        return
    caught: list[int] = []
    signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if caught and callable(previous):
            previous(signal.SIGINT, None)
