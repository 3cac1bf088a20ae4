"""The rate limiter every thread, process and host shares: one schedule per API.

Calls of an API are given slots ``step`` apart on one shared schedule, whose
state is the time of its next free slot. A process reserves several slots in
one round trip (as many as its threads have been using, at most ``BLOCK``),
and each thread sleeps until its own slot without holding any lock. A thread
that wakes more than ``LATE`` after its slot gives it up and takes a fresh
one. With ``N = floor(limit * IM_RATE_FRACTION)`` calls a
second and ``step = (1 + LATE + TRANSIT) / N``, the send times of any N + 1
calls span at least a second and ``TRANSIT`` more, so no window of one second
holds more than N calls, whoever sent them, even counted where they arrive.

The schedule lives in Redis (one Lua script, timed by Redis's own clock) when
REDIS_URL is set; otherwise in the database: a row per API on PostgreSQL
(timed by its clock), a small SQLite file of its own beside an SQLite database
(so a reservation never waits behind a long write to the main file).
"""

import logging
import math
import sqlite3
import threading
import time
from collections import Counter, deque
from pathlib import Path

from django.conf import settings
from django.db import connection

from accounts.filemodes import private_file_create, sqlite_files_private

from ..im.client import RATE_LIMITS
from ..models import RateSlot

log = logging.getLogger(__name__)

LATE = 0.010  # seconds a thread may wake after its slot and still use it
# Seconds a request may take from a sender's turn to IM counting it (building
# it, the GIL, the network): measured on loopback under full load, calls
# reached the service up to ~10 ms apart from their turns, enough to put a
# 91st call into a second. IM counts calls as they arrive.
TRANSIT = 0.010
BLOCK = 8  # most slots one round trip reserves


def per_second(api):
    """Calls of ``api`` all workers together may make in any one second."""
    return max(1, math.floor(RATE_LIMITS[api] * settings.IM_RATE_FRACTION + 1e-9))


def step(api):
    """Seconds between two slots of ``api`` on the shared schedule."""
    return (1 + LATE + TRANSIT) / per_second(api)


class Limiter:
    """A process's door to the shared schedule; ``acquire(api)`` from any thread.

    How many slots one round trip reserves adapts to the demand: it doubles
    (up to ``BLOCK``) each time every slot of a block was used, and halves
    when one went by unused, since a slot nobody takes in time is capacity
    lost to every process.
    """

    def __init__(self, store=None):
        self._store = store or default_store()
        self._locks = {api: threading.Lock() for api in RATE_LIMITS}
        self._slots = {api: deque() for api in RATE_LIMITS}
        self._block = {api: 1 for api in RATE_LIMITS}
        self._missed = {api: False for api in RATE_LIMITS}
        self.reservations = 0  # round trips to the shared schedule, for tests
        # Per API: slots used, and slots lost (a thread woke too late for its
        # slot, or a reserved slot's time went by with no thread to take it).
        self.counts = {api: Counter() for api in RATE_LIMITS}

    def acquire(self, api):
        """Block until ``api`` may be called now; returns the slot's lateness (s)."""
        while True:
            slot = self._slot(api)
            delay = slot - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            late = time.monotonic() - slot
            with self._locks[api]:
                if late <= LATE:
                    self.counts[api]["used"] += 1
                    return max(late, 0.0)
                self._missed[api] = True
                self.counts[api]["lost_late"] += 1

    def _slot(self, api):
        with self._locks[api]:
            slots = self._slots[api]
            now = time.monotonic()
            while slots and slots[0] < now - LATE:
                slots.popleft()  # its time went by: nobody may use it now
                self._missed[api] = True
                self.counts[api]["lost_unused"] += 1
            if not slots:
                self._reserve(api, slots)
            return slots.popleft()

    def _reserve(self, api, slots):
        """Fill ``slots`` from the shared schedule; call with the API's lock held."""
        block = self._block[api]
        if self._missed[api]:
            block = max(1, block // 2)
        elif self.reservations:
            block = min(BLOCK, block * 2)
        self._block[api], self._missed[api] = block, False
        gap = step(api)
        first = time.monotonic() + self._store.reserve(api, block, gap)
        self.reservations += 1
        slots.extend(first + n * gap for n in range(block))

    def log_counts(self):
        # One line per API it called, for benchmarks to sum across processes.
        for api, counts in self.counts.items():
            if counts:
                log.info(
                    "limiter slots %s: used %d, lost late %d, lost unused %d",
                    api,
                    counts["used"],
                    counts["lost_late"],
                    counts["lost_unused"],
                )

    def close(self):
        self._store.close()


_shared = {"key": None, "limiter": None}
_shared_lock = threading.Lock()


def shared():
    """This process's Limiter (made again if the database or Redis changed)."""
    key = (settings.REDIS_URL, connection.vendor, connection.settings_dict["NAME"])
    with _shared_lock:
        if _shared["key"] != key:
            if _shared["limiter"] is not None:
                _shared["limiter"].close()
            _shared.update(key=key, limiter=Limiter())
        return _shared["limiter"]


def default_store():
    """The shared schedule's store for this deployment (see the module docstring)."""
    if settings.REDIS_URL:
        return RedisSchedule(settings.REDIS_URL)
    if connection.vendor == "postgresql":
        return RowSchedule()
    return FileSchedule(Path(f"{connection.settings_dict['NAME']}-rate"))


class RedisSchedule:
    """The schedule in Redis: one atomic script per reservation, Redis's clock."""

    SCRIPT = """
    local t = redis.call('TIME')
    local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
    local count, gap = tonumber(ARGV[1]), tonumber(ARGV[2])
    local free = tonumber(redis.call('GET', KEYS[1]) or '0')
    local first = math.max(now, free)
    redis.call('SET', KEYS[1], string.format('%.6f', first + count * gap), 'EX', 3600)
    return string.format('%.6f', first - now)
    """

    def __init__(self, url):
        import redis

        self._redis = redis.Redis.from_url(url)
        self._script = self._redis.register_script(self.SCRIPT)

    def reserve(self, api, count, gap):
        """Seconds from now to the first of ``count`` slots ``gap`` apart."""
        return float(self._script(keys=[f"imadmin:rate:{api}"], args=[count, gap]))

    def close(self):
        self._redis.close()


class RowSchedule:
    """The schedule in a database row per API, timed by PostgreSQL's clock."""

    SQL = (
        f"UPDATE {RateSlot._meta.db_table} SET next_at ="
        " GREATEST(next_at, EXTRACT(EPOCH FROM clock_timestamp())) + %s"
        " WHERE api = %s"
        " RETURNING next_at - %s - EXTRACT(EPOCH FROM clock_timestamp())"
    )

    def reserve(self, api, count, gap):
        span = count * gap
        with connection.cursor() as cursor:
            cursor.execute(self.SQL, [span, api, span])
            row = cursor.fetchone()
        if row is None:
            # The migration creates the rows; a flushed test database may not have them.
            RateSlot.objects.get_or_create(api=api)
            return self.reserve(api, count, gap)
        return float(row[0])

    def close(self):
        pass  # each thread's connection is Django's, closed with the thread


class FileSchedule:
    """The schedule in its own SQLite file: the same host's clock, tiny writes."""

    def __init__(self, path):
        self._path = str(path)
        self._local = threading.local()

    def _conn(self):
        conn = getattr(self._local, "conn", None)
        if conn is None:
            private_file_create(self._path)  # 0600, as the database beside it
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            sqlite_files_private(self._path)
            conn.execute(
                "CREATE TABLE IF NOT EXISTS slots (api TEXT PRIMARY KEY, next_at REAL)"
            )
            self._local.conn = conn
        return conn

    def reserve(self, api, count, gap):
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            now = time.time()
            row = conn.execute(
                "SELECT next_at FROM slots WHERE api = ?", (api,)
            ).fetchone()
            first = max(now, row[0] if row else 0.0)
            conn.execute(
                "INSERT INTO slots (api, next_at) VALUES (?, ?)"
                " ON CONFLICT (api) DO UPDATE SET next_at = excluded.next_at",
                (api, first + count * gap),
            )
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return first - now

    def close(self):
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None
