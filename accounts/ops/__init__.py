"""Running it: health and readiness, Prometheus metrics, log lines, retention.

- ``logs``: the job a line belongs to, and JSON lines (``LOG_FORMAT=json``);
- ``readiness``: what ``/readyz`` checks (database, broker, workers, IM);
- ``metrics``: what ``/metrics`` reports, from cheap queries;
- ``views``, ``urls``: the three endpoints, outside the sign-in.
"""
