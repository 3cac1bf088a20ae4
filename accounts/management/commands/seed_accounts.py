"""Seed many tracked accounts for trying and measuring the pages (never for production).

The accounts are made by one INSERT … SELECT over a generated series (a
recursive CTE on SQLite, generate_series on PostgreSQL), so a million rows take
seconds, not the minutes a Python loop would. States, remote statuses, sources
and errors are mixed by the row number; a few jobs with items for the failed
and invalid accounts, and some call records, give the job pages data.
"""

import time
from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.im.errors import describe
from accounts.models import (
    ApiCall,
    ImportJob,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)

DAY = 86400
IMPORT_SPREAD_DAYS = 30
CALLS_PER_JOB = 40
PREFIX_END = "\uffff"  # sorts after every printable ASCII character

# Out of each 100 rows (by row number % 100): 0-78 imported, 79 imported but
# gone from IM (drifted), 80-83 failed at the account cap, 84-86 failed on a
# server error, 87 invalid (deleted recently), 88 invalid parameters, the rest
# pending; 95-99 of those were checked and are not in IM.
_ACCOUNTS_SELECT = """
SELECT
  {user_id} AS user_id,
  'Seed user ' || {i_text} AS nick,
  CASE WHEN i %% 10 = 0 THEN 'https://example.com/avatars/' || {i_text} || '.png'
       ELSE '' END AS face_url,
  CASE i %% 7 WHEN 0 THEN 'command' WHEN 1 THEN 'admin' WHEN 2 THEN 'form'
       ELSE 'csv' END AS source,
  CASE WHEN i %% 100 < 80 THEN 'imported' WHEN i %% 100 < 87 THEN 'failed'
       WHEN i %% 100 < 89 THEN 'invalid' ELSE 'pending' END AS state,
  CASE WHEN i %% 100 BETWEEN 80 AND 83 THEN 70398
       WHEN i %% 100 BETWEEN 84 AND 86 THEN 70500
       WHEN i %% 100 = 87 THEN 70399 WHEN i %% 100 = 88 THEN 70402 END AS code,
  CASE WHEN i %% 100 < 89 THEN 1 + i %% 3 ELSE 0 END AS attempts,
  CASE WHEN i %% 100 BETWEEN 80 AND 83 THEN %(job_capped)s
       WHEN i %% 100 < 89 THEN
         CASE i %% 3 WHEN 0 THEN %(job_a)s WHEN 1 THEN %(job_b)s ELSE %(job_c)s END
  END AS job_id,
  CASE WHEN i %% 100 < 79 THEN 'Imported'
       WHEN i %% 100 = 79 OR i %% 100 >= 95 THEN 'NotImported' ELSE '' END AS remote,
  {ago} AS stamp,
  i %% 100 < 80 AS imported
FROM {series}
"""

_SERIES = {
    "sqlite": (
        "(WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s"
        " WHERE i < %(count)s) SELECT i FROM s) s"
    ),
    "postgresql": "generate_series(1, %(count)s) AS s(i)",
}
_DIALECT = {
    "sqlite": {
        "user_id": "%(prefix)s || substr('000000000000' || i, -%(width)s, %(width)s)",
        "i_text": "i",
        "ago": "datetime(%(now)s, '-' || ((i * 7919) %% %(spread)s) || ' seconds')",
    },
    "postgresql": {
        "user_id": "%(prefix)s || lpad(i::text, %(width)s, '0')",
        "i_text": "i::text",
        # bigint: i * 7919 passes int4's range from i = 271,000 on.
        "ago": "%(now)s::timestamptz"
        " - make_interval(secs => (i::bigint * 7919) %% %(spread)s)",
    },
}


class Command(BaseCommand):
    help = (
        "Generate COUNT tracked accounts named PREFIX0000001… with mixed states, "
        "remote statuses and sources, plus a few jobs, for trying and measuring pages."
    )

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=100_000)
        parser.add_argument("--prefix", default="seed")
        parser.add_argument(
            "--force",
            action="store_true",
            help="delete the accounts and jobs seeded before with this prefix first",
        )

    def handle(self, *args, count, prefix, force, **options):
        if count < 1:
            raise CommandError(_("--count must be 1 or more."))
        if connection.vendor not in _SERIES:
            raise CommandError(
                _("seed_accounts does not support %(vendor)s.")
                % {"vendor": connection.vendor}
            )
        width = max(7, len(str(count)))
        if len(prefix.encode()) + width > 32 or not prefix.isascii() or " " in prefix:
            raise CommandError(
                _("--prefix must be short printable ASCII without spaces.")
            )
        started = time.monotonic()
        with transaction.atomic():
            if seeded(prefix).exists():
                if not force:
                    raise CommandError(
                        _(
                            "Accounts starting with %(prefix)r exist already; "
                            "use --force to replace them."
                        )
                        % {"prefix": prefix}
                    )
                unseed(prefix)
            jobs = seed(prefix=prefix, count=count, width=width)
        refresh_statistics()
        seconds = time.monotonic() - started
        self.stdout.write(
            _(
                "Seeded %(count)s accounts (%(first)s…) and %(jobs)s jobs "
                "in %(seconds)s s."
            )
            % {
                "count": f"{count:,}",
                "first": f"{prefix}{1:0{width}d}",
                "jobs": len(jobs),
                "seconds": f"{seconds:.1f}",
            }
        )


def seeded(prefix):
    """The accounts whose UserID starts with ``prefix``: a range on the unique index."""
    return TrackedAccount.objects.filter(
        user_id__gte=prefix, user_id__lt=prefix + PREFIX_END
    )


def _seed_jobs(prefix):
    return ImportJob.objects.filter(label__startswith=f"seeded {prefix}:")


def unseed(prefix):
    """Delete what an earlier run seeded, set-based (the ORM would load every row)."""
    quote = connection.ops.quote_name
    items = quote(JobItem._meta.db_table)
    accounts = quote(TrackedAccount._meta.db_table)
    in_range = "user_id >= %s AND user_id < %s"
    bounds = [prefix, prefix + PREFIX_END]
    jobs = _seed_jobs(prefix)
    job_ids = list(jobs.values_list("id", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {items} WHERE account_id IN"
            f" (SELECT id FROM {accounts} WHERE {in_range})",
            bounds,
        )
        cursor.execute(f"DELETE FROM {accounts} WHERE {in_range}", bounds)
    JobItem.objects.filter(job_id__in=job_ids).delete()
    ApiCall.objects.filter(job_id__in=job_ids).delete()
    jobs.delete()


def refresh_statistics():
    """On PostgreSQL, what autovacuum would do in a while, done now.

    Without statistics the planner guessed a bitmap scan of 800,000 index
    entries for the drifted filter (~280 ms, against ~1 ms after ANALYZE); the
    visibility map VACUUM sets lets counts read the index alone.
    """
    if connection.vendor != "postgresql":
        return
    tables = [m._meta.db_table for m in (TrackedAccount, JobItem, ImportJob)]
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM ANALYZE"
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"{command} {connection.ops.quote_name(table)}")


def seed(*, prefix, count, width):
    """Insert the accounts, jobs, items and calls; return the jobs."""
    now = timezone.now()
    jobs = _create_jobs(prefix, now)
    _insert_accounts(prefix, count, width, now, jobs)
    _insert_items(prefix, now)
    for job in jobs.values():
        _settle_job(job)
        _add_calls(job)
    return list(jobs.values())


def _create_jobs(prefix, now):
    specs = {
        "job_a": (JobSource.CSV, JobStatus.DONE_WITH_ERRORS, "first upload", None, 20),
        "job_b": (JobSource.COMMAND, JobStatus.DONE_WITH_ERRORS, "nightly", None, 9),
        "job_c": (JobSource.ADMIN, JobStatus.DONE_WITH_ERRORS, "admin action", None, 2),
        "job_capped": (JobSource.CSV, JobStatus.STOPPED, "trial app", 70398, 1),
    }
    jobs = {}
    for key, (source, status, label, code, days) in specs.items():
        started = now - timedelta(days=days)
        jobs[key] = ImportJob.objects.create(
            kind=JobKind.IMPORT,
            source=source,
            status=status,
            label=f"seeded {prefix}: {label}",
            error_code=code,
            error_message=describe(code),
            started_at=started,
            heartbeat_at=started,
            finished_at=started + timedelta(minutes=20),
        )
    return jobs


def _insert_accounts(prefix, count, width, now, jobs):
    vendor = connection.vendor
    select = _ACCOUNTS_SELECT.format(series=_SERIES[vendor], **_DIALECT[vendor])
    table = connection.ops.quote_name(TrackedAccount._meta.db_table)
    codes = (70398, 70500, 70399, 70402)
    sentence = (
        "CASE code " + " ".join(f"WHEN {c} THEN %(e{c})s" for c in codes) + " END"
    )
    sql = (
        f"INSERT INTO {table} (user_id, nick, face_url, source, state, last_error_code,"
        " last_error, attempts, job_id, remote_status, checked_at, created_at,"
        " updated_at, imported_at)"
        " SELECT user_id, nick, face_url, source, state, code,"
        f" COALESCE({sentence}, ''),"
        " attempts, job_id, remote, CASE WHEN remote = '' THEN NULL ELSE stamp END,"
        " stamp, stamp, CASE WHEN imported THEN stamp END"
        f" FROM ({select}) seeded"
    )
    params = {
        "prefix": prefix,
        "width": width,
        "count": count,
        "now": connection.ops.adapt_datetimefield_value(now),
        "spread": IMPORT_SPREAD_DAYS * DAY,
        **{key: job.pk for key, job in jobs.items()},
        **{f"e{c}": describe(c) for c in codes},
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _insert_items(prefix, now):
    items = connection.ops.quote_name(JobItem._meta.db_table)
    accounts = connection.ops.quote_name(TrackedAccount._meta.db_table)
    sql = (
        f"INSERT INTO {items} (job_id, account_id, state, attempts, next_attempt_at,"
        " claim_token, solo, needs_check, error_code, error_message, updated_at)"
        " SELECT job_id, id, state, attempts, 0, '', false, false, last_error_code,"
        f" last_error, %s FROM {accounts}"
        " WHERE user_id >= %s AND user_id < %s AND state IN ('failed', 'invalid')"
    )
    with connection.cursor() as cursor:
        cursor.execute(
            sql,
            [
                connection.ops.adapt_datetimefield_value(now),
                prefix,
                prefix + PREFIX_END,
            ],
        )


def _settle_job(job):
    """Set the job's counters from its accounts, as its runners would have."""
    by_state = dict(
        TrackedAccount.objects.filter(job=job)
        .order_by()
        .values_list("state")
        .annotate(n=Count("id"))
    )
    job.succeeded = by_state.get("imported", 0)
    job.failed = by_state.get("failed", 0)
    job.invalid = by_state.get("invalid", 0)
    job.total = job.succeeded + job.failed + job.invalid
    job.save(update_fields=["total", "succeeded", "failed", "invalid"])


def _add_calls(job):
    """A short call log: the job's last calls, carrying its failed accounts."""
    ids = list(
        JobItem.objects.filter(job=job)
        .order_by("id")
        .values_list("account__user_id", "error_code")[: CALLS_PER_JOB * 100]
    )
    calls = []
    for n, start in enumerate(range(0, len(ids), 100)):
        chunk = ids[start : start + 100]
        code = chunk[0][1]
        calls.append(
            ApiCall(
                job=job,
                api="multiaccount_import",
                account_count=len(chunk),
                user_ids=[user_id for user_id, _ in chunk],
                http_status=200,
                error_code=code,
                error_info=f"seeded call of job #{job.pk}",
                duration_ms=40 + n % 7,
                attempt=1 + n % 3,
                created_at=job.started_at + timedelta(seconds=n),
            )
        )
    ApiCall.objects.bulk_create(calls)
