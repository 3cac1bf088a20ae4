"""SIGTERM as Ctrl-C for the commands, so a stop request ends them cleanly."""

import signal
import threading
from contextlib import contextmanager


@contextmanager
def terminate_as_interrupt():
    """Within the block, SIGTERM raises KeyboardInterrupt (main thread only).

    A command then runs the same clean-up for ``kill`` as for Ctrl-C. Off the
    main thread (a test calling the command) signals cannot be set: no-op.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)
