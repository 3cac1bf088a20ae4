"""Reads of accounts: lists, filters, an account's page, exports."""

import json

from django.db import connection
from django.db.models import Q, TextField, Value
from django.db.models.functions import Cast, Lower
from django.db.models.lookups import GreaterThanOrEqual, LessThan

from accounts.exports import ACCOUNT_FIELDS
from accounts.models import (
    AccountState,
    ApiCall,
    ItemState,
    JobItem,
    RemoteStatus,
    TrackedAccount,
)
from accounts.selectors.paging import (
    EXPORT_CHUNK,
    PAGE_SIZE,
    PREFIX_END,
    Page,
    keyset_page,
)


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


# An account's state named as the state of its item in one job.
ITEM_STATE_OF = {
    AccountState.PENDING: ItemState.CANCELLED,  # a cancel gave it back as pending
    AccountState.QUEUED: ItemState.QUEUED,
    AccountState.IMPORTING: ItemState.RUNNING,
    AccountState.IMPORTED: ItemState.SUCCEEDED,
    AccountState.FAILED: ItemState.FAILED,
    AccountState.INVALID: ItemState.INVALID,
}


def accounts_filtered(*, q="", nick="", state="", remote="", job=None, source=""):
    """Accounts matching the list's filters, as a queryset for ``account_page``.

    ``q`` is an exact UserID or its beginning: the range ``[q, q + U+FFFF)`` is
    read on the unique index, which needs the column to sort by code point
    (SQLite always, PostgreSQL with a "C" collation, as the project's
    databases are). ``nick`` is the beginning of a nickname, in any case of
    ASCII letters, read on account_nick_lower_idx the same way.

    With ``job``, the accounts are the job's items' (not the accounts whose
    last job it was), ``state`` is their state in that job, and the result
    is a JobItem queryset (``account_page`` shows their accounts).
    """
    if job is not None:
        found = _account_conditions("account__", q, nick, remote, source)
        items = JobItem.objects.filter(found, job_id=job).select_related("account")
        if state:
            items = items.filter(state=ITEM_STATE_OF[state])
        return items
    found = _account_conditions("", q, nick, remote, source)
    accounts = TrackedAccount.objects.filter(found)
    return accounts.filter(state=state) if state else accounts


def _account_conditions(to, q, nick, remote, source):
    """The filters on an account's own fields; ``to`` leads to the account."""
    found = Q()
    if q:
        found &= Q(**{f"{to}user_id__gte": q, f"{to}user_id__lt": q + PREFIX_END})
    if nick:
        lowered = Lower(f"{to}nick")
        found &= Q(GreaterThanOrEqual(lowered, Lower(Value(nick))))
        found &= Q(LessThan(lowered, Lower(Value(nick + PREFIX_END))))
    if remote == DRIFTED:
        found &= Q(
            **{
                f"{to}state": AccountState.IMPORTED,
                f"{to}remote_status": RemoteStatus.NOT_IMPORTED,
            }
        )
    elif remote == UNCHECKED:
        found &= Q(**{f"{to}remote_status": RemoteStatus.UNKNOWN})
    elif remote:
        found &= Q(**{f"{to}remote_status": remote})
    if source:
        found &= Q(**{f"{to}source": source})
    return found


def account_page(accounts, *, searching, by_nick=False, after=None, before=None):
    """A page of ``accounts``: newest first, or by UserID when searching.

    A search reads the UserID index in order, so the exact match comes first
    and a prefix matching a million accounts still reads one page of the index.
    A job's items (see ``accounts_filtered``) are paged by account, newest
    first, on their (job, account) index, and shown as their accounts.
    ``by_nick``: the first PAGE_SIZE accounts in nickname order, read on
    account_nick_lower_idx in its own order (no sort, however many match);
    a nickname is not unique, so there is no next page: ``capped`` says
    that more matched, and the search is narrowed instead.
    """
    if by_nick and accounts.model is TrackedAccount:
        rows = list(accounts.order_by(Lower("nick"), "id")[: PAGE_SIZE + 1])
        return Page(rows[:PAGE_SIZE], capped=len(rows) > PAGE_SIZE)
    if accounts.model is JobItem:
        page = keyset_page(accounts, key="account_id", after=after, before=before)
        page.rows = [item.account for item in page.rows]
        return page
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
