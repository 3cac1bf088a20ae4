"""Write transactions that wait out a locked database instead of failing.

SQLite has one write lock. Its built-in busy handler sleeps in growing steps
(1, 2, 5 … 100 ms), so a thread waiting behind a long write (a preparation's
chunk) wakes late and loses the lock again to the next chunk. An engine's
connection therefore sets ``busy_timeout`` to 0 and polls for the lock every
few milliseconds itself, for as long as ``patience`` allows. On PostgreSQL the
same helper retries deadlocks, serialization failures and a dropped connection.
"""

import threading
import time

from django.db import OperationalError, connection, transaction
from django.db.backends.signals import connection_created
from django.dispatch import receiver

POLL_FIRST = 0.002
POLL_MOST = 0.05
_RETRYABLE = (
    "database is locked",
    "database table is locked",
    "deadlock detected",
    "could not serialize",
    "server closed the connection",
    "connection is closed",
    "terminating connection",
)
_local = threading.local()


class StillLocked(OperationalError):
    """The database stayed locked (or unreachable) for longer than the patience."""


def poll_for_locks():
    """Make this thread's SQLite connection fail fast on a lock; we poll instead."""
    _local.poll = True
    if connection.vendor == "sqlite" and connection.connection is not None:
        _fail_fast(connection)


@receiver(connection_created)
def _on_connection_created(sender, connection, **kwargs):
    if connection.vendor == "sqlite" and getattr(_local, "poll", False):
        _fail_fast(connection)


def _fail_fast(conn):
    conn.connection.execute("PRAGMA busy_timeout = 0")


def retryable(exc):
    """Whether an OperationalError is a lock or a lost connection, worth retrying."""
    text = str(exc).lower()
    return any(part in text for part in _RETRYABLE)


def in_transaction(work, *, patience=20.0):
    """Run ``work()`` in one transaction, retried while the database is locked.

    Returns what ``work`` returns. Raises StillLocked after ``patience``
    seconds of locks (the caller keeps its state and tries again later), and
    any other error at once. ``work`` must be safe to run again from the start:
    a failed attempt rolled everything back.
    """

    def attempt():
        with transaction.atomic():
            return work()

    return retrying(attempt, patience=patience)


def retrying(work, *, patience=20.0):
    """Run ``work()``, again after a short pause while the database is locked."""
    deadline = time.monotonic() + patience
    pause = POLL_FIRST
    while True:
        try:
            return work()
        except OperationalError as exc:
            if not retryable(exc):
                raise
            connection.close_if_unusable_or_obsolete()
            if time.monotonic() > deadline:
                raise StillLocked(str(exc)) from None
        time.sleep(pause)
        pause = min(pause * 1.5, POLL_MOST)
