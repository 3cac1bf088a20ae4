"""Sending: how queued job items become API calls, and how the answers are recorded.

- ``units``: the plain values that move through the pipeline (claimed items,
  units of one call, answers);
- ``policy``: what each answer means for the items and the job (the one table);
- ``sql``: the raw statements of the hot path, per database;
- ``claims``: taking due items under a lease, renewing and releasing leases;
- ``outcomes``: writing a set of answers in one transaction;
- ``lifecycle``: a job's own transitions (start, wait, pause, stop, finish);
- ``limiter``: the rate limiter every process and host shares;
- ``sending``: one call to IM for one unit (HTTP only, no database);
- ``engine``: the per-process loop that claims, sends and records;
- ``worker``: starts an engine in each django-q2 worker process.
"""
