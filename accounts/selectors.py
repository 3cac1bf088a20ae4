"""The reads that pages, commands and exports need."""

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as datetime_time

from django.conf import settings
from django.core.cache import cache
from django.db import DatabaseError, connection
from django.db.models import Count, TextField
from django.db.models.functions import Cast, TruncSecond
from django.utils import timezone

from .exports import ACCOUNT_FIELDS
from .im.client import RATE_LIMITS
from .im.errors import describe
from .models import (
    AccountState,
    ApiCall,
    ImportJob,
    JobItem,
    JobStatus,
    RemoteStatus,
    TrackedAccount,
)

EXPORT_CHUNK = 2000


def account_export_rows(accounts=None):
    """Rows of ACCOUNT_FIELDS for ``accounts`` (default: all), read in chunks."""
    accounts = TrackedAccount.objects.all() if accounts is None else accounts
    return (
        accounts.order_by("id")
        .values_list(*ACCOUNT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK)
    )


def job_counts(job):
    """A job's counts by outcome, named as the UI and commands show them."""
    names = {
        "import": "imported",
        "check": "checked",
        "delete": "deleted",
    }
    return {
        "total": job.total,
        names[job.kind]: job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
        "remaining": job.remaining,
    }


def job_wait(job, *, timeout=None, poll=0.1, on_progress=None):
    """Block until ``job`` is settled (its counts final) or paused; return it.

    A paused job needs a person, so waiting for it would never end. Raises
    TimeoutError after ``timeout`` seconds.
    """
    started = time.monotonic()
    while True:
        job.refresh_from_db()
        if job.settled or job.status == JobStatus.PAUSED:
            return job
        if on_progress:
            on_progress(job)
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"job #{job.pk} still {job.status} after {timeout:.0f}s")
        time.sleep(poll)


def recent_jobs(limit=10):
    return ImportJob.objects.select_related("created_by").order_by("-id")[:limit]


# -- pages ------------------------------------------------------------------

PAGE_SIZE = 50
PREFIX_END = "\uffff"  # sorts after every character a UserID may hold
CHART_DAYS = 14
RATE_WINDOW = 60
FINISHED_JOB_STATUSES = (
    JobStatus.DONE,
    JobStatus.DONE_WITH_ERRORS,
    JobStatus.STOPPED,
    JobStatus.CANCELLED,
)
DRIFTED = "drifted"
UNCHECKED = "unchecked"


@dataclass
class Page:
    """One page of a keyset-paginated list: rows, and cursors to its neighbours."""

    rows: list
    older: object = None  # pass as ``after`` for the next page
    newer: object = None  # pass as ``before`` for the previous page


def keyset_page(
    queryset, *, key="id", descending=True, after=None, before=None, size=PAGE_SIZE
):
    """A page of ``queryset`` ordered by the unique ``key``, without any COUNT.

    ``after`` continues past a key in display order; ``before`` goes back. Each
    page is one index range read of ``size + 1`` rows, however deep it is.
    """
    forward, back = ("lt", "gt") if descending else ("gt", "lt")
    order = f"-{key}" if descending else key
    reverse = key if descending else f"-{key}"
    if before is not None:
        rows = list(
            queryset.filter(**{f"{key}__{back}": before}).order_by(reverse)[: size + 1]
        )
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            older=_key(rows[-1], key) if rows else before,
            newer=_key(rows[0], key) if more_newer else None,
        )
    if after is not None:
        queryset = queryset.filter(**{f"{key}__{forward}": after})
    rows = list(queryset.order_by(order)[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=_key(rows[-1], key) if more_older else None,
        newer=_key(rows[0], key) if after is not None and rows else None,
    )


def _key(row, key):
    return row[key] if isinstance(row, dict) else getattr(row, key)


# (group, column, its values, the common value counted as the total less the rest)
_COUNTED = (
    ("state", "state", AccountState.values, str(AccountState.IMPORTED)),
    ("remote", "remote_status", RemoteStatus.values, str(RemoteStatus.IMPORTED)),
)


def account_counts():
    """Accounts per state and per remote status, the total and the drifted count.

    One statement, so one consistent snapshot. Counting a value reads its
    index range, and the most common values (imported, Imported) would be most
    of the cost: they are the total (SQLite counts it from the b-tree) less
    the others, as both fields only ever hold their choices. Measured at
    1,000,000 accounts on SQLite: ~70 ms, against ~250 ms for two GROUP BYs.
    """
    table = connection.ops.quote_name(TrackedAccount._meta.db_table)
    count = f"SELECT COUNT(*) FROM {table}"
    parts, params, names = [count], [], [("total", None)]
    for group, column, values, rest in _COUNTED:
        for value in values:
            if value != rest:
                parts.append(f"{count} WHERE {column} = %s")
                params.append(value)
                names.append((group, value))
    parts.append(f"{count} WHERE remote_status = %s AND state = %s")
    params += [RemoteStatus.NOT_IMPORTED, AccountState.IMPORTED]
    names.append((DRIFTED, None))
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join(f"({p})" for p in parts), params)
        values = cursor.fetchone()
    counts = {"state": {}, "remote": {}}
    for (group, value), n in zip(names, values, strict=True):
        if value is None:
            counts[group] = n
        else:
            counts[group][value] = n
    for group, _column, _values, rest in _COUNTED:
        counts[group][rest] = counts["total"] - sum(counts[group].values())
    return counts


def cached(key, seconds, compute):
    """``(value, as_of)``: what ``compute()`` returned, cached for ``seconds``.

    Without a usable cache (e.g. its table not created yet) it computes every time.
    """
    try:
        found = cache.get(key)
    except DatabaseError:
        return compute(), timezone.now()
    if found is None:
        found = (compute(), timezone.now())
        cache.set(key, found, seconds)
    return found


SUMMARY_SECONDS = 15


def account_summary():
    """``({"counts": …, "per_day": …}, as_of)``, shared by every page view for 15 s.

    Counting a million rows costs ~70 ms on SQLite (more on a busy server);
    the dashboard says "as of" when, rather than count again on every view.
    """
    return cached(
        "imadmin:account-summary",
        SUMMARY_SECONDS,
        lambda: {"counts": account_counts(), "per_day": imports_per_day()},
    )


def imports_per_day(*, days=CHART_DAYS, today=None):
    """``[(date, accounts imported that day)]`` for the last ``days`` local days.

    One range count per day on the imported_at index.
    """
    today = today or timezone.localdate()
    starts = [today - timedelta(days=n) for n in range(days - 1, -1, -1)]
    bounds = [_day_start(day) for day in [*starts, today + timedelta(days=1)]]
    table = connection.ops.quote_name(TrackedAccount._meta.db_table)
    one = f"(SELECT COUNT(*) FROM {table} WHERE imported_at >= %s AND imported_at < %s)"
    params = []
    for start, end in zip(bounds, bounds[1:], strict=False):
        params += [
            connection.ops.adapt_datetimefield_value(start),
            connection.ops.adapt_datetimefield_value(end),
        ]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([one] * days), params)
        return list(zip(starts, cursor.fetchone(), strict=True))


def _day_start(day):
    return timezone.make_aware(datetime.combine(day, datetime_time.min))


@dataclass
class RateUse:
    """One API's calls in the last minute against the share of its limit we may use."""

    api: str
    calls: int
    peak: int  # calls in the busiest second
    limit: float  # calls per second allowed to all workers together

    @property
    def average(self):
        return self.calls / RATE_WINDOW

    @property
    def peak_percent(self):
        return min(100, round(100 * self.peak / self.limit)) if self.limit else 0


def api_rate_use(*, now=None):
    """Per API: calls in the last minute, the busiest second, and the allowed rate."""
    now = now or timezone.now()
    per_second = (
        ApiCall.objects.filter(created_at__gte=now - timedelta(seconds=RATE_WINDOW))
        .annotate(second=TruncSecond("created_at"))
        .order_by()
        .values_list("api", "second")
        .annotate(n=Count("id"))
    )
    calls, peak = {}, {}
    for api, _second, n in per_second:
        calls[api] = calls.get(api, 0) + n
        peak[api] = max(peak.get(api, 0), n)
    fraction = settings.IM_RATE_FRACTION
    return [
        RateUse(api, calls.get(api, 0), peak.get(api, 0), limit * fraction)
        for api, limit in RATE_LIMITS.items()
    ]


def worker_status():
    """The django-q2 clusters seen in the last seconds, and the newest job heartbeat.

    Clusters report through the cache; ``clusters`` is None when it cannot be read.
    """
    from django_q.status import Stat

    try:
        clusters = [s for s in Stat.get_all() if s.status != "Stopped"]
    except DatabaseError:  # the database cache's table is missing
        clusters = None
    heartbeat = (
        ImportJob.objects.exclude(heartbeat_at=None)
        .order_by("-heartbeat_at")
        .values_list("heartbeat_at", flat=True)
        .first()
    )
    return {"clusters": clusters, "heartbeat": heartbeat}


def paused_jobs(limit=3):
    """The newest jobs paused on an error of the settings (a person must act)."""
    return list(
        ImportJob.objects.filter(status=JobStatus.PAUSED).order_by("-id")[:limit]
    )


def last_finished_job():
    """The job that ended most recently (by id among ended jobs), or None."""
    return (
        ImportJob.objects.filter(status__in=FINISHED_JOB_STATUSES)
        .order_by("-id")
        .first()
    )


def accounts_filtered(*, q="", state="", remote="", job=None, source=""):
    """Accounts matching the list's filters; ``q`` is an exact UserID or its beginning.

    The UserID range ``[q, q + U+FFFF)`` is read on the unique index; it needs
    the column to sort by code point (SQLite always, PostgreSQL with a "C"
    collation, as the project's databases are).
    """
    accounts = TrackedAccount.objects.all()
    if q:
        accounts = accounts.filter(user_id__gte=q, user_id__lt=q + PREFIX_END)
    if state:
        accounts = accounts.filter(state=state)
    if remote == DRIFTED:
        accounts = accounts.filter(
            state=AccountState.IMPORTED, remote_status=RemoteStatus.NOT_IMPORTED
        )
    elif remote == UNCHECKED:
        accounts = accounts.filter(remote_status=RemoteStatus.UNKNOWN)
    elif remote:
        accounts = accounts.filter(remote_status=remote)
    if job is not None:
        accounts = accounts.filter(job_id=job)
    if source:
        accounts = accounts.filter(source=source)
    return accounts


def account_page(accounts, *, searching, after=None, before=None):
    """A page of ``accounts``: newest first, or by UserID when searching.

    A search reads the UserID index in order, so the exact match comes first
    and a prefix matching a million accounts still reads one page of the index.
    """
    return keyset_page(
        accounts,
        key="user_id" if searching else "id",
        descending=not searching,
        after=after,
        before=before,
    )


ACCOUNT_ITEMS = 50
ACCOUNT_CALL_JOBS = 10
CALLS_PER_JOB = 20


def account_items(account, *, limit=ACCOUNT_ITEMS):
    """The account's latest job items with their jobs, newest first."""
    return list(
        JobItem.objects.filter(account=account)
        .select_related("job")
        .order_by("-id")[:limit]
    )


def account_calls(account, job_ids, *, per_job=CALLS_PER_JOB):
    """The API calls that carried ``account``, within ``job_ids``, newest first.

    ApiCall.user_ids is a JSON list: PostgreSQL answers "contains" from the
    JSON; elsewhere a text match narrows the job's calls and Python confirms.
    """
    found = []
    for job_id in job_ids[:ACCOUNT_CALL_JOBS]:
        calls = ApiCall.objects.filter(job_id=job_id).order_by("-id")
        if connection.features.supports_json_field_contains:
            found += calls.filter(user_ids__contains=[account.user_id])[:per_job]
            continue
        # SQLite's LIKE ignores case: the JSON text narrows, the list decides.
        text = calls.annotate(ids_text=Cast("user_ids", TextField())).filter(
            ids_text__contains=json.dumps(account.user_id)
        )
        found += [c for c in text[: per_job * 2] if account.user_id in c.user_ids][
            :per_job
        ]
    return sorted(found, key=lambda c: c.id, reverse=True)


def jobs_filtered(*, status=""):
    jobs = ImportJob.objects.select_related("created_by")
    return jobs.filter(status=status) if status else jobs


def job_calls_page(job, *, after=None, before=None, size=PAGE_SIZE):
    """A page of ``job``'s call log, newest first (the (job, id) index)."""
    calls = ApiCall.objects.filter(job=job).defer("user_ids")
    return keyset_page(calls, after=after, before=before, size=size)


def job_waiting_text(job):
    """ "waiting for IM: <reason>, next try at <time>" for a waiting job, else ""."""
    if not job.waiting:
        return ""
    at = timezone.localtime(
        datetime.fromtimestamp(job.wait_until, tz=timezone.get_current_timezone())
    )
    tries = f" ({job.wait_failures} tries failed)" if job.wait_failures > 1 else ""
    return f"waiting for IM: {job.wait_reason}{tries}, next try at {at:%H:%M:%S}"


def job_progress(job, *, now=None):
    """What a progress bar and the live page show of ``job``: counts, shares, rate."""
    now = now or timezone.now()
    end = job.finished_at or now
    seconds = (end - job.started_at).total_seconds() if job.started_at else 0
    counts = {
        "succeeded": job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
    }
    segments, x = [], 0.0
    for name, count in counts.items():
        width = 100 * count / job.total if job.total else 0
        segments.append({"name": name, "x": round(x, 3), "width": round(width, 3)})
        x += width
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        # Kept live until the counts are final, which comes a moment after a
        # stop or a cancel, once the calls in flight are answered.
        "active": not job.settled,
        "paused": job.status == JobStatus.PAUSED,
        "prepared_rows": job.options.get("prepared_rows", 0),
        "total": job.total,
        **counts,
        "remaining": job.remaining,
        "percent": job.percent,
        "rate": round(job.done_count / seconds, 1) if seconds > 0 else None,
        "error_code": job.error_code,
        "error_sentence": job.error_sentence,
        "waiting": job_waiting_text(job),
        "preparing": job.preparing,
        "settled": job.settled,
        "segments": segments,
        "started_at": _local_text(job.started_at),
        "finished_at": _local_text(job.finished_at),
        "heartbeat_at": _local_text(job.heartbeat_at),
    }


def _local_text(moment):
    """A time as the pages print it ("Y-m-d H:i:s", local), or "—"."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def job_problem_rows(job, state):
    """(UserID, Nick, FaceUrl, ErrorCode, Error) of ``job``'s items in ``state``.

    Read in chunks in item order, for a CSV that can be fixed and uploaded again.
    """
    rows = (
        JobItem.objects.filter(job=job, state=state)
        .order_by("id")
        .values_list(
            "account__user_id", "account__nick", "account__face_url", "error_code"
        )
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    for user_id, nick, face_url, code in rows:
        yield user_id, nick, face_url, code, describe(code)
