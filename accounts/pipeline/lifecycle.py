"""A job's own transitions: started, waiting for IM, paused, stopped, finished.

Each is a conditional update of the job row, so two workers deciding the same
thing at once change it once. A job ends in two steps: its status becomes
final (done, stopped, cancelled), then, once no item is open, ``finished_at``
is set and the "job ended" entry is written with the final counts. Only then
is a job *settled*: ``--wait``, the pages and the audit history all use that.
"""

import json
import logging
import time

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.audit.records import audit_job_ended

from ..im.errors import describe
from ..models import (
    ACTIVE_JOB_STATUSES,
    FINAL_JOB_STATUSES,
    OPEN_ITEM_STATES,
    AccountState,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobStatus,
    TrackedAccount,
)
from . import db, sql
from .policy import wait_backoff

log = logging.getLogger(__name__)
SWEEP_CHUNK = 5000  # items a transaction: the write lock is held a moment at a time


def _logged(job_id, changed, message, *args):
    """Log a transition this call made, naming its job (answers of many jobs
    are written together, outside any one job's log context)."""
    if changed:
        log.info(message, *args, extra={"job_id": job_id})
    return bool(changed)


def started(job_id):
    """Mark a queued job running (its first claim); True if this call did."""
    changed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    return _logged(job_id, changed, "job started")


# -- waiting for IM -------------------------------------------------------------


def wait_begin(job_id, *, code, reason, probe, max_wait, now=None):
    """A call of the job failed for a reason that says nothing about its accounts.

    The first failure starts the wait; a failed probe lengthens it. A failure
    of a call sent before the wait began changes nothing (its siblings in
    flight fail together). Call inside the outcome's transaction.
    """
    now = time.time() if now is None else now
    job = ImportJob.objects.filter(pk=job_id).values("wait_until", "wait_failures")
    current = job.first()
    if current is None:
        return
    if current["wait_until"] is not None and not probe:
        return
    failures = current["wait_failures"] + 1 if probe else 1
    _logged(job_id, not probe, "job waiting for IM: %s", reason or describe(code))
    ImportJob.objects.filter(pk=job_id).update(
        wait_until=now + wait_backoff(failures, max_wait),
        wait_since=now if current["wait_until"] is None else F("wait_since"),
        wait_failures=failures,
        wait_code=code,
        wait_reason=(reason or describe(code))[:500],
    )


def wait_end(job_id):
    """IM answered the job's probe: the wait is over. True if one was cleared."""
    return bool(
        ImportJob.objects.filter(pk=job_id)
        .exclude(wait_until=None)
        .update(
            wait_until=None,
            wait_since=None,
            wait_failures=0,
            wait_code=None,
            wait_reason="",
        )
    )


def probe_take(job_id, *, seen_until, hold, now=None):
    """Take the right to send the one probe of a waiting job; True if won.

    ``seen_until`` is the ``wait_until`` the caller saw: only one worker can
    move it, to ``now + hold``, so no other probes meanwhile.
    """
    now = time.time() if now is None else now
    return bool(
        db.in_transaction(
            lambda: ImportJob.objects.filter(
                pk=job_id, wait_until=seen_until, status__in=ACTIVE_JOB_STATUSES
            ).update(wait_until=now + hold)
        )
    )


def probe_put_back(job_id, *, now=None):
    """A probe was won but had nothing to send: let the next look try again."""
    now = time.time() if now is None else now
    ImportJob.objects.filter(pk=job_id).exclude(wait_until=None).update(
        wait_until=now + 1.0
    )


# -- paused: a person must act ----------------------------------------------------


def pause(job_id, *, code, reason=""):
    """Pause a queued or running job on an error of our settings; True if it did.

    Nothing is failed: its items stay queued until ``resume``.
    """
    changed = ImportJob.objects.filter(
        pk=job_id, status__in=ACTIVE_JOB_STATUSES
    ).update(
        status=JobStatus.PAUSED,
        error_code=code,
        error_message=(describe(code) or reason)[:500],
        wait_until=None,
        wait_since=None,
        wait_failures=0,
    )
    return _logged(job_id, changed, "job paused: IM error %s", code)


def resume(job_id):
    """Send a paused job again; True if this call resumed it."""
    return bool(
        ImportJob.objects.filter(pk=job_id, status=JobStatus.PAUSED).update(
            status=JobStatus.RUNNING,
            error_code=None,
            error_message="",
        )
    )


# -- ending -------------------------------------------------------------------------


def stop(job_id, *, code=None, message=""):
    """Stop an unfinished job on an error no retry can fix; True if this call did.

    Its queued items are settled by ``sweep`` afterwards (outside this
    transaction: it works in chunks).
    """
    return bool(
        ImportJob.objects.filter(
            pk=job_id, status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED)
        ).update(
            status=JobStatus.STOPPED,
            error_code=code,
            error_message=(describe(code) or message)[:500],
            wait_until=None,
        )
    )


def sweep(job_id):
    """Settle the queued items of a stopped or cancelled job, a chunk at a time.

    Cancelled jobs (and stopped ones with no IM code: their file could not be
    read) give their accounts back as pending; stopped ones fail them with the
    job's code. Items in flight finish as they are answered. Returns how many
    it settled, then settles the job if nothing is left open. Harmless to call
    again or to stop half-way: it only ever shrinks what is left.
    """
    job = db.retrying(lambda: ImportJob.objects.get(pk=job_id))
    if job.status not in (JobStatus.STOPPED, JobStatus.CANCELLED):
        return 0
    settled = 0
    while True:
        swept = db.in_transaction(lambda: _sweep_chunk(job))
        settled += swept
        if swept < SWEEP_CHUNK:
            break
    settle_if_complete(job_id)
    return settled


def _sweep_chunk(job):
    # Locked on PostgreSQL, so no claim takes an item between read and write.
    # Items under a live lease are in flight: their answers settle them.
    free = Q(claimed_until=None) | Q(claimed_until__lt=time.time())
    rows = list(
        JobItem.objects.select_for_update()
        .filter(free, job=job, state=ItemState.QUEUED)
        .values_list("id", "account_id")[:SWEEP_CHUNK]
    )
    if not rows:
        return 0
    now = timezone.now()
    if job.status == JobStatus.CANCELLED or job.error_code is None:
        item_state, counter, code, message = ItemState.CANCELLED, "cancelled", None, ""
        account = {"state": AccountState.PENDING}
    else:
        item_state, counter, code = ItemState.FAILED, "failed", job.error_code
        message = describe(code)[:500]
        account = {
            "state": AccountState.FAILED,
            "last_error_code": code,
            "last_error": message,
        }
    JobItem.objects.filter(pk__in=[i for i, _ in rows]).update(
        state=item_state,
        claimed_until=None,
        error_code=code,
        error_message=message,
        updated_at=now,
    )
    if job.kind == JobKind.IMPORT:
        TrackedAccount.objects.filter(pk__in=[a for _, a in rows]).update(
            **account, updated_at=now
        )
    ImportJob.objects.filter(pk=job.pk).update(**{counter: F(counter) + len(rows)})
    return len(rows)


def finish_if_complete(job_id, counts=None):
    """End the job if every item is settled; True if this call ended it.

    A running job becomes done (or done with errors); a stopped or cancelled
    one is settled. A job still being prepared never is: more rows are coming.
    ``counts`` is a ``sql.job_counts_add`` row, when the caller has one.
    Call inside a transaction: the "job ended" entry is written in it.
    """
    if counts is None:
        counts = sql.job_counts(job_id)
        if counts is None:
            return False
    total, done, status, options, problems, finished_at = counts
    if isinstance(options, str):
        options = json.loads(options)
    if done < total or finished_at is not None or (options or {}).get("preparing"):
        return False
    if status in ACTIVE_JOB_STATUSES:
        final = JobStatus.DONE_WITH_ERRORS if problems else JobStatus.DONE
        changed = ImportJob.objects.filter(
            pk=job_id, status__in=ACTIVE_JOB_STATUSES, finished_at=None
        ).update(status=final, finished_at=timezone.now(), wait_until=None)
    elif status in FINAL_JOB_STATUSES:
        final = status
        changed = ImportJob.objects.filter(pk=job_id, finished_at=None).update(
            finished_at=timezone.now()
        )
    else:
        return False  # paused: a person resumes it
    if changed:
        ended(ImportJob.objects.get(pk=job_id))
    return _logged(job_id, changed, "job ended: %s", final)


def ended(job):
    """The job was just settled: its "job ended" entry, then its notifications.

    Call in the transaction that set ``finished_at``. The notifications are
    queued once it commits, as one broker task: the webhooks and emails are
    sent by a worker's task, so nothing of them holds up the job or the
    engine that settled it.
    """
    audit_job_ended(job)
    job_id = job.pk

    def notify():
        try:
            async_task("accounts.tasks.job_notify", job_id, group="notify")
        except Exception:  # a broker outage must not fail the engine's write
            log.warning("could not queue the notifications of job #%s", job_id)

    transaction.on_commit(notify)


def settle_if_complete(job_id, counts=None):
    """``finish_if_complete`` in a transaction of its own; True if it ended the job.

    Reads first and writes only for a job that is complete, so it is cheap to
    call on every look at an unsettled job.
    """
    counts = counts or db.retrying(lambda: sql.job_counts(job_id))
    if counts is None or counts[1] < counts[0]:
        return False
    return db.in_transaction(lambda: finish_if_complete(job_id))


def open_items(job):
    """The job's items not yet final (queued, in flight)."""
    return JobItem.objects.filter(job=job, state__in=OPEN_ITEM_STATES)


def unsettled_jobs(*, only=None):
    """The jobs an engine works or winds up: active, paused, or ending, as dicts.

    ``only``: a set of job ids to keep to (tests run one job in-process).
    """
    jobs = ImportJob.objects.filter(
        Q(status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED))
        | Q(finished_at=None, status__in=(JobStatus.STOPPED, JobStatus.CANCELLED))
    )
    if only is not None:
        jobs = jobs.filter(pk__in=only)
    fields = ("id", "kind", "status", "options", "wait_until", "total")
    return list(jobs.values(*fields, "succeeded", "failed", "invalid", "cancelled"))
