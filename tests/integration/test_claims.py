"""Claims: what one costs at a million queued items, and how claimers share a job.

The claim is the send path's one query whose cost could grow with the queue:
these tests look at what the database actually does for it (EXPLAIN ANALYZE
on PostgreSQL, the query plan and the virtual machine's steps on SQLite),
with the exact statement ``claims.claim`` runs, captured as it runs.

Transactional: the claims and engines under test use their own transactions
and connections.
"""

import json
import threading
import time
from collections import Counter
from contextlib import nullcontext

import pytest
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from accounts import services
from accounts.im.client import MAX_ITEMS_PER_CALL
from accounts.models import (
    ApiCall,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import claims, sql
from accounts.pipeline.engine import Engine

pytestmark = pytest.mark.django_db(transaction=True)

ACCOUNTS = TrackedAccount._meta.db_table
ITEMS = JobItem._meta.db_table
MILLION = 1_000_000
UNITS = 16  # an engine's first top-up with 4 senders: 1,600 items


def postgres_only(reason):
    return pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason=f"PostgreSQL only ({reason}); the PostgreSQL stack runs it",
    )


def sqlite_only(reason):
    return pytest.mark.skipif(
        connection.vendor != "sqlite",
        reason=f"SQLite only ({reason}); the SQLite stack runs it",
    )


def start_import(count, prefix="cl"):
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"{prefix}{i:06d}"} for i in range(count)),
        source=JobSource.COMMAND,
    )
    return job


# -- a million queued items, fast ------------------------------------------------------


def bulk_job():
    return ImportJob.objects.create(
        kind=JobKind.IMPORT, source=JobSource.COMMAND, label="bulk"
    )


def fill_queue(job, first, last):
    """Accounts m<first>..m<last>, each with a queued item of ``job``, due now.

    One INSERT … SELECT for the accounts and one for the items, numbers made
    by the database (generate_series; a recursive CTE on SQLite).
    """
    if connection.vendor == "postgresql":
        numbers = "SELECT g AS n FROM generate_series(%s, %s) AS g"
        user_id = "'m' || lpad(n::text, 7, '0')"
    else:
        numbers = (
            "WITH RECURSIVE g(n) AS (SELECT %s UNION ALL"
            " SELECT n + 1 FROM g WHERE n < %s) SELECT n FROM g"
        )
        user_id = "printf('m%%07d', n)"
    now = sql.stamp(timezone.now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {ACCOUNTS}")
        (before,) = cursor.fetchone()
        cursor.execute(
            f"INSERT INTO {ACCOUNTS} (user_id, nick, face_url, source, state,"
            " last_error, attempts, remote_status, created_at, updated_at, job_id)"
            f" SELECT {user_id}, '', '', 'command', 'queued', '', 0, '', %s, %s, %s"
            f" FROM ({numbers}) AS numbers",
            [now, now, job.pk, first, last],
        )
        cursor.execute(
            f"INSERT INTO {ITEMS} (job_id, account_id, state, attempts,"
            " next_attempt_at, claim_token, solo, needs_check, error_message,"
            " updated_at)"
            f" SELECT %s, id, 'queued', 0, 0, '', %s, %s, '', %s FROM {ACCOUNTS}"
            " WHERE id > %s ORDER BY id",
            [job.pk, False, False, now, before],
        )
    ImportJob.objects.filter(pk=job.pk).update(total=last)


def analyze():
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {ACCOUNTS}")
        cursor.execute(f"ANALYZE {ITEMS}")


class Rollback(Exception):
    pass


def trial_claim(job, *, measure=None):
    """Run a real claim of ``job`` and roll it back; what it did.

    Returns ``(items claimed, statements)``: every statement the claim sent,
    as ``(sql, params)``. ``measure`` is a context manager entered around the
    claim alone (e.g. counting SQLite's VM steps).
    """
    statements = []

    def capture(execute, sql_text, params, many, context):
        statements.append((sql_text, list(params or ())))
        return execute(sql_text, params, many, context)

    claimed = []
    try:
        with transaction.atomic():
            with connection.execute_wrapper(capture), measure or nullcontext():
                units = claims.claim(job_id=job.pk, job_kind=job.kind, units=UNITS)
            claimed = [i for unit in units for i in unit.item_ids]
            raise Rollback
    except Rollback:
        pass
    return claimed, statements


def first_due(job, count):
    """The ids of the ``count`` items a claim of ``job`` should take, in order."""
    due = JobItem.objects.filter(job=job, state=ItemState.QUEUED)
    return list(
        due.order_by("next_attempt_at", "id").values_list("id", flat=True)[:count]
    )


def claim_statement(statements):
    """The statement that picks the due items (the one whose cost could grow)."""
    found = [
        (text, params)
        for text, params in statements
        if "claim_token = %s" in text and "ORDER BY next_attempt_at, id LIMIT" in text
    ]
    assert len(found) == 1, statements
    return found[0]


# -- PostgreSQL: EXPLAIN ANALYZE -------------------------------------------------------


def explain_analyze(statement):
    """EXPLAIN (ANALYZE, FORMAT JSON) of ``statement``, run and rolled back."""
    text, params = statement
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + text, params)
            (plan,) = cursor.fetchone()
        transaction.set_rollback(True)
    if isinstance(plan, str):
        plan = json.loads(plan)
    return plan[0]


def nodes(plan):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


def rows_read(node):
    """Rows a scan node looked at: returned plus filtered out, over all its loops."""
    per_loop = node.get("Actual Rows", 0) + node.get("Rows Removed by Filter", 0)
    per_loop += node.get("Rows Removed by Index Recheck", 0)
    return per_loop * node.get("Actual Loops", 1)


def assert_claim_reads_what_it_takes(plan, limit, *, held=0):
    """The claim read ``limit`` due items off item_claim_idx (past ``held`` items
    under live leases ahead of them), and about a row per item elsewhere."""
    everything = list(nodes(plan["Plan"]))
    kinds = Counter(node["Node Type"] for node in everything)
    assert "Sort" not in kinds, outline(plan["Plan"])
    scans = [node for node in everything if "Scan" in node["Node Type"]]
    tables = [node for node in scans if "Relation Name" in node]
    # The job's row may be found by a scan of the few jobs there are (the
    # planner's choice for a small table); the rows read are bounded below.
    big = {JobItem._meta.db_table, TrackedAccount._meta.db_table}
    walked = [n for n in tables if n["Node Type"] == "Seq Scan"]
    assert not [n for n in walked if n["Relation Name"] in big], outline(plan["Plan"])
    picked = [node for node in tables if node.get("Index Name") == "item_claim_idx"]
    assert len(picked) == 1, outline(plan["Plan"])
    # The due items come off item_claim_idx in the claim's order: the scan
    # stops once the limit is reached, however long the queue behind it is.
    assert picked[0]["Node Type"] in ("Index Scan", "Index Only Scan")
    read = rows_read(picked[0])
    assert held + limit <= read <= held + 1.2 * limit, outline(plan["Plan"])
    # Every other table (the items by id for the update, their accounts, the
    # job) is read a row per claimed item at most.
    for node in tables:
        if node is not picked[0]:
            assert rows_read(node) <= 1.2 * limit, outline(plan["Plan"])
    assert sum(rows_read(node) for node in tables) <= held + 4 * limit


def outline(node, depth=0):
    """The plan as an indented list of nodes and the rows each read, for reports."""
    name = node["Node Type"]
    where = node.get("Index Name") or node.get("Relation Name") or ""
    line = f"{'  ' * depth}{name} {where} rows={rows_read(node)}"
    return "\n".join([line, *(outline(c, depth + 1) for c in node.get("Plans", []))])


@pytest.mark.slow
@postgres_only("EXPLAIN ANALYZE in JSON")
def test_a_claim_at_a_million_queued_items_reads_what_it_takes_on_postgresql():
    job = bulk_job()
    limit = UNITS * MAX_ITEMS_PER_CALL
    # Statistics of 10,000 rows (at that size the planner may well read the
    # whole tables: hash joins over 10,000 rows cost less than 1,600 lookups).
    fill_queue(job, 1, 10_000)
    analyze()
    # 990,000 more, with the statistics of 10,000 (autovacuum has not run yet).
    fill_queue(job, 10_001, MILLION)
    assert JobItem.objects.filter(job=job, state=ItemState.QUEUED).count() == MILLION
    timings = {}
    for stats in ("stale", "fresh"):
        if stats == "fresh":
            analyze()
        claimed, statements = trial_claim(job)
        assert len(claimed) == limit
        assert claimed == first_due(job, limit)
        plan = explain_analyze(claim_statement(statements))
        assert_claim_reads_what_it_takes(plan, limit)
        timings[stats] = plan["Execution Time"]
    # Live leases keep their items' place at the head of the queue: the next
    # claim reads past them, and only them.
    held = claims.claim(job_id=job.pk, job_kind=job.kind, units=UNITS)
    held_ids = {i for unit in held for i in unit.item_ids}
    assert len(held_ids) == limit
    claimed, statements = trial_claim(job)
    assert len(claimed) == limit and not held_ids & set(claimed)
    plan = explain_analyze(claim_statement(statements))
    assert_claim_reads_what_it_takes(plan, limit, held=limit)
    timings["behind a held claim"] = plan["Execution Time"]
    # Not a benchmark: a statement that read the queue would take seconds.
    assert max(timings.values()) < 1000, timings


# -- SQLite: the query plan and the VM's steps -----------------------------------------


class VmSteps:
    """Counts SQLite VM instructions while entered (``set_progress_handler``)."""

    EVERY = 10

    def __init__(self):
        self.steps = 0

    def _tick(self):
        self.steps += self.EVERY
        return 0

    def __enter__(self):
        connection.ensure_connection()
        connection.connection.set_progress_handler(self._tick, self.EVERY)
        return self

    def __exit__(self, *exc):
        connection.connection.set_progress_handler(None, 0)


def query_plan(statement):
    text, params = statement
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN QUERY PLAN " + text, params)
        return [row[3] for row in cursor.fetchall()]


def assert_sqlite_plan_walks_the_claim_index(statement):
    plan = query_plan(statement)
    text = "\n".join(plan)
    assert any("USING INDEX item_claim_idx" in line for line in plan), text
    assert "TEMP B-TREE" not in text, text
    # No table is read through: every step is a search of an index.
    assert not [line for line in plan if line.startswith("SCAN ")], text


def sqlite_claim_steps(job, limit):
    counter = VmSteps()
    claimed, statements = trial_claim(job, measure=counter)
    assert len(claimed) == limit
    assert_sqlite_plan_walks_the_claim_index(claim_statement(statements))
    return counter.steps


@pytest.mark.slow
@sqlite_only("EXPLAIN QUERY PLAN and set_progress_handler")
def test_a_claim_at_a_million_queued_items_costs_what_it_does_at_10k_on_sqlite():
    job = bulk_job()
    limit = UNITS * MAX_ITEMS_PER_CALL
    fill_queue(job, 1, 10_000)
    try:
        steps = {"10k, no statistics": sqlite_claim_steps(job, limit)}
        analyze()
        steps["10k"] = sqlite_claim_steps(job, limit)
        fill_queue(job, 10_001, MILLION)
        assert (
            JobItem.objects.filter(job=job, state=ItemState.QUEUED).count() == MILLION
        )
        steps["1M, statistics of 10k"] = sqlite_claim_steps(job, limit)
        analyze()
        steps["1M"] = sqlite_claim_steps(job, limit)
        # Live leases keep their items' place at the head of the queue: the
        # next claim reads past them (a filter), then takes as many again.
        held = claims.claim(job_id=job.pk, job_kind=job.kind, units=UNITS)
        assert sum(len(unit.items) for unit in held) == limit
        steps["1M, behind a held claim"] = sqlite_claim_steps(job, limit)
    finally:
        forget_sqlite_statistics()
    small = steps["10k"]
    for count in steps.values():
        assert count <= 2 * small, steps
    # About as many steps per claimed item as a write of a row takes.
    assert steps["1M"] / limit < 1000, steps


def forget_sqlite_statistics():
    """ANALYZE's figures for a million rows must not steer later tests' plans."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM sqlite_master WHERE name LIKE 'sqlite_stat%'")
        for (table,) in cursor.fetchall():
            cursor.execute(
                f"DELETE FROM {table} WHERE tbl IN (%s, %s)", [ACCOUNTS, ITEMS]
            )
        cursor.execute("ANALYZE sqlite_schema")


# -- concurrent claimers ---------------------------------------------------------------


@postgres_only("FOR UPDATE SKIP LOCKED; SQLite serialises writers with one lock")
def test_claimers_do_not_wait_on_each_others_row_locks():
    job = start_import(600)
    holding, release = threading.Event(), threading.Event()
    first = {}

    def hold_a_claim_open():
        try:
            with transaction.atomic():
                units = claims.claim(job_id=job.pk, job_kind=job.kind, units=2)
                first["ids"] = [i for unit in units for i in unit.item_ids]
                holding.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_a_claim_open)
    thread.start()
    try:
        assert holding.wait(10)
        # The first claim's rows are locked by its open transaction.
        with pytest.raises(OperationalError):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(
                    f"SELECT id FROM {ITEMS} WHERE id = %s FOR UPDATE NOWAIT",
                    [first["ids"][0]],
                )
        started = time.monotonic()
        units = claims.claim(job_id=job.pk, job_kind=job.kind, units=2)
        took = time.monotonic() - started
    finally:
        release.set()
        thread.join(30)
    second = [i for unit in units for i in unit.item_ids]
    assert took < 0.5, took
    assert len(first["ids"]) == len(second) == 200
    assert not set(first["ids"]) & set(second)


# -- a call longer than the lease ------------------------------------------------------


def run_engines(job, *, count, timeout):
    """Work ``job`` with ``count`` engines at once, each in a thread of its own."""
    deadline = time.monotonic() + timeout

    def settled():
        if time.monotonic() > deadline:
            return True
        return ImportJob.objects.filter(pk=job.pk, finished_at__isnull=False).exists()

    failures = []

    def work(engine):
        try:
            engine.run(until=settled)
        except BaseException as exc:  # reported by the test thread
            failures.append(exc)

    engines = [Engine(only_jobs=[job.pk]) for _ in range(count)]
    threads = [threading.Thread(target=work, args=(e,), daemon=True) for e in engines]
    for thread in threads:
        thread.start()
    try:
        for thread in threads:
            thread.join(timeout + 30)
    finally:
        for engine in engines:
            engine.stop()
    assert not failures, failures
    assert not any(thread.is_alive() for thread in threads)
    job.refresh_from_db()
    return job


def test_a_claim_that_outlives_its_first_lease_is_neither_taken_over_nor_sent_twice(
    im_settings, sandbox
):
    # Every call takes 8 s against a 3 s lease: only the renewals (every
    # 0.75 s) keep the items from being taken over while their call is out.
    im_settings.IM_CLAIM_LEASE_SECONDS = 3
    im_settings.IM_READ_TIMEOUT = 15
    sandbox.set_faults(latency_ms=8000)
    job = start_import(300)
    job = run_engines(job, count=2, timeout=90)
    assert (job.status, job.succeeded) == (JobStatus.DONE, 300)
    calls = list(ApiCall.objects.filter(job=job))
    assert {call.api for call in calls} == {"multiaccount_import"}
    assert all(call.error_code == 0 for call in calls)
    assert min(call.duration_ms for call in calls) >= 8000
    sent = Counter(user_id for call in calls for user_id in call.user_ids)
    assert sent == Counter({f"cl{i:06d}": 1 for i in range(300)})
    assert set(JobItem.objects.values_list("attempts", flat=True)) == {1}
    assert sandbox.stats()["apis"]["multiaccount_import"]["calls"] == len(calls)
