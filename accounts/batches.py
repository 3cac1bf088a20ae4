"""Claiming job items in batches and writing their outcomes, each in one transaction.

Every write here is conditional on the claim (``claim_token`` and state
``running``), so an outcome that arrives after its claim expired and another
worker took the items over changes nothing and counts nothing twice.
"""

import random
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from .audit import audit_job_ended
from .bulk_sql import INCREMENT, update_by_ids
from .im.client import MAX_ITEMS_PER_CALL
from .im.errors import describe
from .models import (
    AccountState,
    ApiCall,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobStatus,
    RemoteStatus,
    TrackedAccount,
)

SWEEP_CHUNK = 5000  # ids inlined in one UPDATE


class Batch:
    """The items one worker claimed, and the calls made for them."""

    def __init__(self, job, token, items):
        self.job = job
        self.token = token
        self.items = items
        self.calls = []  # CallRecords not yet written

    def __len__(self):
        return len(self.items)


@dataclass(frozen=True)
class ClaimedItem:
    """A claimed item with what sending it needs: plain values, cheap to build."""

    id: int
    account_id: int
    user_id: str
    nick: str
    face_url: str
    attempts: int
    solo: bool
    needs_check: bool
    error_code: int | None


_CLAIMED_FIELDS = [
    "id",
    "account_id",
    "account__user_id",
    "account__nick",
    "account__face_url",
    "attempts",
    "solo",
    "needs_check",
    "error_code",
]


def claim(job, *, size=MAX_ITEMS_PER_CALL, now=None):
    """Claim up to ``size`` due items of ``job``: a Batch, or None if none is due.

    Safe to call from many workers at once: the UPDATE re-checks the state, so
    two claims never share an item.
    """
    now = time.time() if now is None else now
    token = secrets.token_hex(8)
    lease = now + settings.IM_CLAIM_LEASE_SECONDS
    with transaction.atomic():
        ids = list(
            JobItem.objects.filter(
                job=job, state=ItemState.QUEUED, next_attempt_at__lte=now
            )
            .order_by("next_attempt_at", "id")
            .values_list("id", flat=True)[:size]
        )
        claimed = {
            "state": ItemState.RUNNING,
            "claim_token": token,
            "claimed_until": lease,
            "attempts": INCREMENT,
        }
        if not update_by_ids(
            JobItem, ids, claimed, where="AND state = %s", params=[ItemState.QUEUED]
        ):
            return None
        items = [
            ClaimedItem(*values)
            for values in JobItem.objects.filter(
                # By primary key: filtering on job and state made SQLite walk
                # every item of the job (measured: 2.6k instead of 6k accounts/s
                # at 100k accounts).
                id__in=ids,
                state=ItemState.RUNNING,
                claim_token=token,
            )
            .order_by("id")
            .values_list(*_CLAIMED_FIELDS)
        ]
        if job.kind == JobKind.IMPORT:
            importing = {
                "state": AccountState.IMPORTING,
                "attempts": INCREMENT,
                "updated_at": timezone.now(),
            }
            update_by_ids(TrackedAccount, [i.account_id for i in items], importing)
    return Batch(job, token, items) if items else None


def _owned_update(batch, items, changes):
    """Apply ``changes`` to the ``items`` this batch still holds; return their ids.

    The claim token stays on the row afterwards, so when a claim was lost to
    another worker (rare) the rows this batch changed can still be told apart.
    """
    ids = [i.id for i in items]
    changed = update_by_ids(
        JobItem,
        ids,
        changes,
        where="AND claim_token = %s AND state = %s",
        params=[batch.token, ItemState.RUNNING],
    )
    if changed == len(ids):
        return ids
    return list(
        JobItem.objects.filter(
            id__in=ids, claim_token=batch.token, state=changes["state"]
        ).values_list("id", flat=True)
    )


def _write_calls(batch):
    if batch.calls:
        ApiCall.objects.bulk_create(
            [_call_row(batch.job.id, call, attempt) for call, attempt in batch.calls]
        )
        batch.calls = []


def _call_row(job_id, call, attempt):
    return ApiCall(
        job_id=job_id,
        api=call.api,
        account_count=len(call.user_ids),
        user_ids=call.user_ids,
        http_status=call.http_status,
        error_code=call.error_code,
        error_info=(call.error_info or "")[:500],
        fail_accounts=call.fail_accounts,
        duration_ms=round(call.duration_ms, 2),
        attempt=attempt,
        created_at=datetime.fromtimestamp(call.started_at, tz=UTC)
        if call.started_at
        else timezone.now(),
    )


def flush_calls(batch):
    """Write the batch's pending call records on their own."""
    with transaction.atomic():
        _write_calls(batch)


def _settle(
    batch, items, item_state, counter, account_changes, *, code=None, message=""
):
    """Move owned ``items`` to a final state; update their accounts and job counts."""
    if not items and not batch.calls:
        return 0
    with transaction.atomic():
        _write_calls(batch)
        changes = {
            "state": item_state,
            "claimed_until": None,
            "error_code": code,
            "error_message": message[:500],
        }
        ids = _owned_update(batch, items, changes) if items else []
        if ids:
            owned = set(ids)
            account_ids = [i.account_id for i in items if i.id in owned]
            if account_changes:
                account_changes = {**account_changes, "updated_at": timezone.now()}
                update_by_ids(TrackedAccount, account_ids, account_changes)
            ImportJob.objects.filter(pk=batch.job.pk).update(
                **{counter: F(counter) + len(ids)}
            )
    return len(ids)


def succeed_imports(batch, items):
    now = timezone.now()
    changes = {
        "state": AccountState.IMPORTED,
        "imported_at": now,
        "remote_status": RemoteStatus.IMPORTED,
        "checked_at": now,
        "last_error_code": None,
        "last_error": "",
    }
    return _settle(batch, items, ItemState.SUCCEEDED, "succeeded", changes)


def succeed_deletes(batch, items):
    changes = {
        "state": AccountState.PENDING,
        "imported_at": None,
        "remote_status": RemoteStatus.NOT_IMPORTED,
        "checked_at": timezone.now(),
        "last_error_code": None,
        "last_error": "",
    }
    return _settle(batch, items, ItemState.SUCCEEDED, "succeeded", changes)


def succeed_checks(batch, statuses):
    """Record account_check answers; an uncertain account IM holds becomes imported."""
    now = timezone.now()
    by_status = {RemoteStatus.IMPORTED: [], RemoteStatus.NOT_IMPORTED: []}
    for item in batch.items:
        status = statuses.get(item.user_id)
        if status in by_status:
            by_status[status].append(item)
    settled = 0
    with transaction.atomic():
        for status, items in by_status.items():
            settled += _settle(
                batch,
                items,
                ItemState.SUCCEEDED,
                "succeeded",
                {"remote_status": status, "checked_at": now},
            )
        # Accounts whose import outcome was uncertain are settled by IM's answer.
        TrackedAccount.objects.filter(
            id__in=[i.account_id for i in by_status[RemoteStatus.IMPORTED]],
            state__in=(
                AccountState.FAILED,
                AccountState.IMPORTING,
                AccountState.PENDING,
            ),
        ).exclude(job_items__state=ItemState.RUNNING).update(
            state=AccountState.IMPORTED,
            imported_at=now,
            last_error_code=None,
            last_error="",
        )
    return settled


def fail(batch, items, code, *, invalid=False):
    """Settle ``items`` as failed (may be retried) or invalid (needs new data)."""
    message = describe(code)
    state = ItemState.INVALID if invalid else ItemState.FAILED
    changes = {"last_error_code": code, "last_error": message[:500]}
    if batch.job.kind == JobKind.IMPORT:
        changes["state"] = AccountState.INVALID if invalid else AccountState.FAILED
    counter = "invalid" if invalid else "failed"
    return _settle(batch, items, state, counter, changes, code=code, message=message)


def backoff_delay(attempt):
    """Exponential backoff with jitter: about 0.5 s, 1 s, 2 s ... capped at 30 s."""
    base = min(30.0, 0.5 * 2 ** max(attempt - 1, 0))
    return base * random.uniform(0.5, 1.0)


def requeue(batch, items, *, code=None, delay=0.0, needs_check=None, solo=None):
    """Give ``items`` back to the queue, due after ``delay`` seconds."""
    if not items and not batch.calls:
        return 0
    changes = {
        "state": ItemState.QUEUED,
        "claimed_until": None,
        "next_attempt_at": time.time() + delay,
        "error_code": code,
        "error_message": describe(code)[:500] if code else "",
    }
    if needs_check is not None:
        changes["needs_check"] = needs_check
    if solo is not None:
        changes["solo"] = solo
    with transaction.atomic():
        _write_calls(batch)
        ids = _owned_update(batch, items, changes) if items else []
        if ids:
            if batch.job.kind == JobKind.IMPORT:
                queued = {"state": AccountState.QUEUED, "updated_at": timezone.now()}
                if code:
                    queued.update(last_error_code=code, last_error=describe(code)[:500])
                owned = set(ids)
                account_ids = [i.account_id for i in items if i.id in owned]
                update_by_ids(TrackedAccount, account_ids, queued)
    return len(ids)


def stop_job(job, code, *, status=JobStatus.STOPPED):
    """Stop ``job`` on an error no retry can fix; its queued items fail with ``code``.

    Returns True if this call stopped it (a second call is harmless).
    """
    stopped = ImportJob.objects.filter(
        pk=job.pk, status__in=(JobStatus.QUEUED, JobStatus.RUNNING)
    ).update(
        status=status,
        error_code=code,
        error_message=describe(code)[:500],
        finished_at=timezone.now(),
    )
    sweep_open_items(job)
    if stopped:
        audit_job_ended(job)
    return bool(stopped)


def sweep_open_items(job):
    """Settle the queued items of a stopped or cancelled job; running ones finish.

    Works through ``SWEEP_CHUNK`` items a transaction, so a job of millions
    holds the write lock for a moment at a time, not for the whole sweep (1M
    items in one transaction took 13 s on SQLite). The status is final before
    this runs, so the sweep only shrinks what is left. Returns how many it
    settled; harmless to call again, or to stop half-way (maintenance's
    ``runner.settle_abandoned_items`` finishes it).
    """
    job.refresh_from_db(fields=["status", "error_code", "error_message"])
    if job.status == JobStatus.CANCELLED:
        item_state, counter, code = ItemState.CANCELLED, "cancelled", None
        message = ""
        account_changes = {"state": AccountState.PENDING}
    elif job.status == JobStatus.STOPPED:
        item_state, counter, code = ItemState.FAILED, "failed", job.error_code
        # A job stopped without an IM code (its file could not be read) says why.
        message = (describe(code) or job.error_message)[:500]
        account_changes = {
            "state": AccountState.FAILED,
            "last_error_code": code,
            "last_error": message,
        }
    else:
        return 0
    item_changes = {
        "state": item_state,
        "claimed_until": None,
        "error_code": code,
        "error_message": message,
    }
    settled = 0
    while True:
        account_changes["updated_at"] = timezone.now()
        swept = _sweep_chunk(job, item_changes, account_changes, counter)
        settled += swept
        if swept < SWEEP_CHUNK:
            return settled


def _sweep_chunk(job, item_changes, account_changes, counter):
    with transaction.atomic():
        # Locked on PostgreSQL, so no worker claims an item between read and write.
        rows = list(
            JobItem.objects.select_for_update()
            .filter(job=job, state=ItemState.QUEUED)
            .values_list("id", "account_id")[:SWEEP_CHUNK]
        )
        if not rows:
            return 0
        update_by_ids(JobItem, [i for i, _ in rows], item_changes)
        if job.kind == JobKind.IMPORT:
            update_by_ids(TrackedAccount, [a for _, a in rows], account_changes)
        ImportJob.objects.filter(pk=job.pk).update(**{counter: F(counter) + len(rows)})
    return len(rows)


def release_expired_claims(job, *, now=None):
    """Give back items whose worker died mid-call; imports are settled by a check first.

    An expired import claim may have been applied by IM, so the item is checked
    with account_check before it is sent again (not guessed).
    """
    now = time.time() if now is None else now
    changes = {"state": ItemState.QUEUED, "claimed_until": None}
    if job.kind == JobKind.IMPORT:
        changes["needs_check"] = True
    return JobItem.objects.filter(
        job=job, state=ItemState.RUNNING, claimed_until__lt=now
    ).update(**changes)


def open_items(job):
    return JobItem.objects.filter(
        job=job, state__in=(ItemState.QUEUED, ItemState.RUNNING)
    )


def next_due(job):
    """Unix time the next queued item is due, or None when nothing is queued."""
    return (
        JobItem.objects.filter(job=job, state=ItemState.QUEUED)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )


def finish_if_done(job):
    """Mark a running job done once no item is open; True if this call did it.

    A job still being prepared is never done: more items are on their way.
    The flag only ever goes from set to cleared, so reading it first is safe.
    """
    job.refresh_from_db(fields=["failed", "invalid", "options"])
    if job.options.get("preparing") or open_items(job).exists():
        return False
    status = JobStatus.DONE_WITH_ERRORS if job.failed or job.invalid else JobStatus.DONE
    with transaction.atomic():
        finished = ImportJob.objects.filter(pk=job.pk, status=JobStatus.RUNNING).update(
            status=status, finished_at=timezone.now()
        )
        if finished:
            audit_job_ended(job)
    return bool(finished)
