"""The reads of the audit pages and exports: filtered entries, a job's story."""

import json
from datetime import timedelta

from django.db.models import Q

from accounts.models import ApiCall, AuditAction, AuditEvent, JobItem
from accounts.selectors.paging import day_start, keyset_page

PAGE_SIZE = 50
CALLS_PAGE_SIZE = 100
EXPORT_CHUNK = 2000
EVENT_FIELDS = [
    "id",
    "at",
    "actor_name",
    "ip",
    "action",
    "object_type",
    "object_id",
    "user_id",
    "job_id",
    "result",
    "details",
]
CALL_FIELDS = [
    "id",
    "created_at",
    "api",
    "attempt",
    "account_count",
    "user_ids",
    "http_status",
    "error_code",
    "error_info",
    "fail_accounts",
    "duration_ms",
]
# Entries with no actor whose object names the username someone typed.
_SIGN_IN_ATTEMPTS = (AuditAction.SIGN_IN_FAILED, AuditAction.LOCKED_OUT)


def audit_events(
    *, who="", action="", date_from=None, date_to=None, user_id="", job=None
):
    """Entries matching every filter given, newest first. Dates are inclusive."""
    events = AuditEvent.objects.all()
    if who:
        events = events.filter(
            Q(actor_name=who) | Q(action__in=_SIGN_IN_ATTEMPTS, object_id=who[:64])
        )
    if action:
        events = events.filter(action=action)
    if date_from:
        events = events.filter(at__gte=day_start(date_from))
    if date_to:
        events = events.filter(at__lt=day_start(date_to + timedelta(days=1)))
    if user_id:
        events = events.filter(about_user_id(user_id))
    if job:
        events = events.filter(job_id=job)
    return events.order_by("-id")


def about_user_id(user_id):
    """The entries about one UserID: naming it, or about a job that held it.

    A bulk action (an admin action, a retry, a cancel, an API call) names
    its job, not its accounts: the job's items are the list of UserIDs it
    affected, however many, and the item_account_idx index finds the jobs
    of one UserID. So the entry stays small and the filter still finds it.
    The job ids are read first: given as values, the two conditions are two
    index ranges (audit_userid_idx, audit_job_idx); as a subquery, PostgreSQL
    walked the whole history by id instead (240 ms at 500,000 entries).
    """
    jobs = JobItem.objects.filter(account__user_id=user_id).values_list("job_id")
    return Q(user_id=user_id) | Q(job_id__in=sorted({j for (j,) in jobs}))


def job_user_ids_sample(job, most=10):
    """Up to ``most`` UserIDs of ``job``'s accounts, for an entry's details."""
    items = JobItem.objects.filter(job=job).order_by()  # any ten, without a sort
    return list(items.values_list("account__user_id", flat=True)[:most])


def audit_page(events, *, before=None, size=PAGE_SIZE):
    """One page of ``events`` (newest first) older than entry ``before``.

    Returns (entries, the id to pass as ``before`` for the next page, or None).
    Keyset paging: page 1,000 costs what page 1 does.
    """
    page = keyset_page(events, after=before, size=size)
    return page.rows, page.older


def audit_export_rows(events, *, details_as_text):
    """Rows of EVENT_FIELDS for ``events``, read in chunks.

    ``details_as_text`` gives the details as JSON text (a CSV cell) rather than
    a dict (a JSON export).
    """
    for row in events.values_list(*EVENT_FIELDS).iterator(chunk_size=EXPORT_CHUNK):
        row = list(row)
        row[1] = row[1].isoformat()
        if details_as_text:
            row[-1] = json.dumps(row[-1], ensure_ascii=False, sort_keys=True)
        yield row


def job_entries(job):
    """The audit entries about ``job``, oldest first."""
    return AuditEvent.objects.filter(job_id=job.pk).order_by("id")


def job_calls_in_order(job, *, after=None, size=CALLS_PAGE_SIZE):
    """API calls of ``job`` in the order sent, after call ``after``.

    Returns (calls, the id to pass as ``after`` for the next page, or None).
    """
    calls = ApiCall.objects.filter(job=job)
    page = keyset_page(calls, descending=False, after=after, size=size)
    return page.rows, page.older


def job_call_rows(job):
    """Rows of CALL_FIELDS for every API call of ``job``, read in chunks."""
    calls = ApiCall.objects.filter(job=job).order_by("id").values_list(*CALL_FIELDS)
    for row in calls.iterator(chunk_size=EXPORT_CHUNK):
        row = list(row)
        row[1] = row[1].isoformat()
        row[5] = json.dumps(row[5], ensure_ascii=False)
        row[9] = json.dumps(row[9], ensure_ascii=False)
        yield row
