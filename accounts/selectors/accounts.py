"""Reads of accounts: lists, filters, an account's page, exports."""

import json

from django.db import connection
from django.db.models import TextField
from django.db.models.functions import Cast

from accounts.exports import ACCOUNT_FIELDS
from accounts.models import (
    AccountState,
    ApiCall,
    JobItem,
    RemoteStatus,
    TrackedAccount,
)
from accounts.selectors.paging import EXPORT_CHUNK, PREFIX_END, keyset_page


def account_export_rows(accounts=None):
    """Rows of ACCOUNT_FIELDS for ``accounts`` (default: all), read in chunks."""
    accounts = TrackedAccount.objects.all() if accounts is None else accounts
    return (
        accounts.order_by("id")
        .values_list(*ACCOUNT_FIELDS)
        .iterator(chunk_size=EXPORT_CHUNK)
    )


DRIFTED = "drifted"
UNCHECKED = "unchecked"


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
