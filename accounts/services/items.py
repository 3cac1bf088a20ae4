"""A job's items: one queued item per account, never two, and the accounts queued.

Every item starts the same way (``_queued_item``): queued, no attempt yet,
due now, unclaimed, alone in a call if the job says so. Two inserters build
on it: from a list of account ids (a file's rows, with their lines) and from
a queryset of accounts in one INSERT … SELECT (an admin action on millions).
"""

from django.db import connection
from django.utils import timezone

from accounts.bulk_sql import insert_rows, update_by_ids
from accounts.models import (
    AccountState,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    TrackedAccount,
)

ITEMS_PER_STATEMENT = 5000  # account ids in one UPDATE
# The columns of a new item, in the order ``_queued_item`` gives their values.
ITEM_FIELDS = (
    "job",
    "account",
    "state",
    "attempts",
    "next_attempt_at",
    "claim_token",
    "solo",
    "needs_check",
    "error_message",
    "updated_at",
)


def _queued_item(job, now):
    """The values of ITEM_FIELDS after ``job`` and ``account``, for a new item."""
    return (
        ItemState.QUEUED,
        0,
        0.0,
        "",
        job.options.get("solo", False),
        False,
        "",
        now,
    )


def items_add(job, account_ids, lines=None):
    """Add a queued item of ``job`` for each account: one each, never two.

    ``lines`` maps an account id to its row's line in the file, if any. Items
    already there are left as they are (INSERT … ON CONFLICT DO NOTHING, which
    SQLite and PostgreSQL share). Returns how many items were added; changes
    neither the accounts (see ``accounts_queue``) nor ``job.total``.
    """
    lines = lines or {}
    start = _queued_item(job, timezone.now())
    rows = [(job.pk, pk, *start, lines.get(pk)) for pk in account_ids]
    fields = (*ITEM_FIELDS, "line")
    added = insert_rows(JobItem, fields, rows, returning=("id",), skip_conflicts=True)
    return len(added)


def accounts_queue(job, account_ids):
    """Mark the accounts queued in the import ``job``."""
    queued = {"job": job.pk, "state": AccountState.QUEUED, "updated_at": timezone.now()}
    for start in range(0, len(account_ids), ITEMS_PER_STATEMENT):
        update_by_ids(
            TrackedAccount, account_ids[start : start + ITEMS_PER_STATEMENT], queued
        )


def items_add_matching(job, accounts):
    """A queued item for each account of the queryset, in one INSERT … SELECT.

    Marks those accounts as the job's (queued, for an import) and sets
    ``job.total``; returns how many items were added.
    """
    sql, params = accounts.order_by().values("id").query.sql_with_params()
    now = timezone.now()
    start = _queued_item(job, now)
    names = ", ".join(JobItem._meta.get_field(f).column for f in ITEM_FIELDS)
    marks = ", ".join(["%s"] * len(start))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {JobItem._meta.db_table} ({names})"
            f" SELECT %s, sub.id, {marks} FROM ({sql}) sub",
            [job.pk, *start, *params],
        )
        added = cursor.rowcount
    changes = {"job": job, "updated_at": now}
    if job.kind == JobKind.IMPORT:
        changes["state"] = AccountState.QUEUED
    TrackedAccount.objects.filter(job_items__job=job).update(**changes)
    ImportJob.objects.filter(pk=job.pk).update(total=added)
    job.total = added
    return added
