"""Calls per API and second (the rate limit and its log), and per-API totals."""

import json
import threading
from collections import Counter, deque

from .rules import API_NAMES

RATE_HISTORY_KEPT = 600


class RateCounter:
    """Admits calls per API per wall-clock second (``int(time)``), up to a limit.

    Finished seconds go to a bounded history and, with a log path, one JSON line
    per API and second: ``{"second", "api", "calls", "refused"}``.
    """

    def __init__(self, log_path=None):
        self._lock = threading.Lock()
        self._log = (
            open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None
        )
        self._current = {}  # api -> [second, calls, refused]
        self._history = deque(maxlen=RATE_HISTORY_KEPT)
        self._max = {api: [0, 0] for api in API_NAMES}

    def admit(self, api, limit, now):
        """True if the call is within ``limit`` for the current second."""
        second = int(now)
        with self._lock:
            current = self._current.get(api)
            if current is None or current[0] != second:
                if current is not None:
                    self._finish(api, current)
                current = self._current[api] = [second, 0, 0]
            admitted = current[1] < limit
            current[1 if admitted else 2] += 1
            peak = self._max[api]
            peak[0], peak[1] = max(peak[0], current[1]), max(peak[1], current[2])
            return admitted

    def flush(self, now):
        """Close the seconds before ``now``, so the log follows the clock."""
        with self._lock:
            for api, current in list(self._current.items()):
                if current[0] < int(now):
                    self._finish(api, current)
                    del self._current[api]

    def _finish(self, api, current):
        record = {
            "second": current[0],
            "api": api,
            "calls": current[1],
            "refused": current[2],
        }
        self._history.append(record)
        if self._log:
            self._log.write(json.dumps(record) + "\n")

    def snapshot(self):
        with self._lock:
            live = [
                {"second": c[0], "api": api, "calls": c[1], "refused": c[2]}
                for api, c in self._current.items()
            ]
            return {api: tuple(peak) for api, peak in self._max.items()}, [
                *self._history,
                *live,
            ]

    def reset(self, now):
        self.flush(now + 1)  # the calls happened: log them before forgetting
        with self._lock:
            self._history.clear()
            self._max = {api: [0, 0] for api in API_NAMES}

    def close(self, now):
        self.flush(now + 1)
        if self._log:
            self._log.close()


class Stats:
    """Per-API totals: calls, outcomes by ErrorCode and fault counts."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._counts = {api: Counter() for api in API_NAMES}
            self._codes = {api: Counter() for api in API_NAMES}

    def add(self, api, key, n=1):
        with self._lock:
            self._counts[api][key] += n

    def answered(self, api, code):
        with self._lock:
            self._codes[api][code] += 1

    def snapshot(self):
        with self._lock:
            result = {}
            for api in API_NAMES:
                counts, codes = self._counts[api], self._codes[api]
                result[api] = {
                    "calls": counts["calls"],
                    "ok": codes[0],
                    "refused_rate_limit": codes[60007],
                    "errors": {str(c): n for c, n in sorted(codes.items()) if c},
                    "http_502": counts["http_502"],
                    "late_replies": counts["late_replies"],
                    "fail_accounts": counts["fail_accounts"],
                    # accounts in the calls' AccountLists (multiaccount_import)
                    "accounts_received": counts["accounts_received"],
                }
            return result
