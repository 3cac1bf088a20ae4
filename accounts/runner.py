"""Working a job: claim batches of 100, call IM under the shared limiter, record.

A runner works one job for a time slice with ``IM_CONCURRENCY`` threads, each
keeping one batch in flight, so a single django-q2 task can drive the API at
its rate without needing one broker task per batch (shared/PLATFORM.md: the
ORM broker tops out near the 100 tasks/s that would take).

What happens to an item, by the class of what IM answered:
- success: imported (or checked, or deleted);
- FailAccounts, transient errors, unknown codes: retried with backoff, and once
  ``IM_MAX_ATTEMPTS`` is spent, settled by account_check before being called failed;
- no reply (timeout after the request left): settled by account_check;
- 70398 quota or a configuration error: the job stops, its queued items fail
  with that code;
- invalid input or 70399: a batch is split to send each account alone, and
  the one IM refuses alone is invalid.
"""

import logging
import threading
import time
from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.db.models import Q
from django.utils import timezone

from . import batches, conf, ratelimit
from .audit import audit_job_ended
from .im import errors
from .models import (
    OPEN_ITEM_STATES,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobKind,
    JobStatus,
    RemoteStatus,
)

log = logging.getLogger(__name__)

FAIL_ACCOUNTS = errors.FAIL_ACCOUNTS
HEARTBEAT_SECONDS = 5.0
STATUS_SECONDS = 0.5
# A reply lost in the network is checked soon, not after a long backoff.
RECHECK_DELAY = 0.2


def job_run(job_id, *, seconds=None, client=None):
    """Work ``job_id`` for up to ``seconds``; True if work remains for another slice.

    Safe to run several at once for the same job, and to run again after a crash.
    """
    job = ImportJob.objects.get(pk=job_id)
    if job.status not in (JobStatus.QUEUED, JobStatus.RUNNING):
        return False
    if job.options.get("preparing"):
        # Its items are still being added: runners are queued once they all are.
        return False
    ImportJob.objects.filter(pk=job.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, started_at=timezone.now()
    )
    batches.release_expired_claims(job)
    own_client = client is None
    client = client or conf.im_client()
    deadline = time.time() + (seconds or settings.IMPORT_SLICE_SECONDS)
    try:
        _run_workers(job.pk, client, deadline)
    finally:
        if own_client:
            client.close()
    return _after_slice(job)


def _run_workers(job_id, client, deadline):
    count = max(1, settings.IM_CONCURRENCY)
    if count == 1:
        _work(job_id, client, deadline)
        return
    threads = [
        threading.Thread(target=_work_in_thread, args=(job_id, client, deadline))
        for _ in range(count)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def _work_in_thread(job_id, client, deadline):
    try:
        _work(job_id, client, deadline)
    except Exception:
        log.exception("runner thread for job %s failed", job_id)
    finally:
        connection.close()  # each thread has its own connection


def _after_slice(job):
    job.refresh_from_db()
    if job.status in (JobStatus.STOPPED, JobStatus.CANCELLED):
        batches.sweep_open_items(job)
        return False
    if batches.finish_if_done(job):
        return False
    return job.status == JobStatus.RUNNING and batches.open_items(job).exists()


def _work(job_id, client, deadline):
    job = ImportJob.objects.get(pk=job_id)
    last_beat = last_look = 0.0
    while time.time() < deadline:
        now = time.time()
        if now - last_beat > HEARTBEAT_SECONDS:
            ImportJob.objects.filter(pk=job_id).update(heartbeat_at=timezone.now())
            last_beat = now
        if now - last_look > STATUS_SECONDS:
            # A stop or cancel is seen within STATUS_SECONDS, not one query a batch.
            if not ImportJob.objects.filter(
                pk=job_id, status=JobStatus.RUNNING
            ).exists():
                return
            last_look = now
        batch = batches.claim(job)
        if batch is None:
            due = batches.next_due(job)
            if due is None:
                return  # nothing queued; running items belong to other workers
            time.sleep(min(max(due - time.time(), 0.05), 1.0, max(deadline - now, 0)))
            continue
        PROCESSORS[job.kind](client, batch)


# -- import ------------------------------------------------------------------


def process_import(client, batch):
    """Send one claimed batch of an import job and write every item's outcome."""
    to_send = [i for i in batch.items if not i.needs_check]
    to_check = [i for i in batch.items if i.needs_check]
    if to_check:
        try:
            statuses = _statuses(client, batch, to_check)
        except errors.ImError as exc:
            _on_error(client, batch, batch.items, exc)
            return
        imported = [i for i in to_check if statuses.get(_uid(i)) == "Imported"]
        batches.succeed_imports(batch, imported)
        rest = [i for i in to_check if i not in imported]
        exhausted = [i for i in rest if i.attempts > settings.IM_MAX_ATTEMPTS]
        _fail_by_code(batch, exhausted)
        to_send += [i for i in rest if i not in exhausted]
    multi = [i for i in to_send if not i.solo]
    if multi:
        _send_import(client, batch, multi)
    for item in (i for i in to_send if i.solo):
        _send_import(client, batch, [item])
    batches.flush_calls(batch)


def _send_import(client, batch, items):
    single = len(items) == 1 and items[0].solo
    api = "account_import" if single else "multiaccount_import"
    ratelimit.acquire(api)
    try:
        if single:
            item = items[0]
            result = client.account_import(item.user_id, item.nick, item.face_url)
        else:
            result = client.multiaccount_import([_entry(i) for i in items])
    except errors.ImError as exc:
        _record(batch, exc.call, items)
        _on_error(client, batch, items, exc)
        return
    _record(batch, result.call, items)
    refused = set(result.fail_accounts)
    batches.succeed_imports(batch, [i for i in items if _uid(i) not in refused])
    _retry_or_check(batch, [i for i in items if _uid(i) in refused], FAIL_ACCOUNTS)


def _entry(item):
    entry = {"UserID": item.user_id}
    if item.nick:
        entry["Nick"] = item.nick
    if item.face_url:
        entry["FaceUrl"] = item.face_url
    return entry


def _statuses(client, batch, items):
    """AccountStatus by UserID for ``items``, from one account_check call."""
    ratelimit.acquire("account_check")
    try:
        result = client.account_check([_uid(i) for i in items])
    except errors.ImError as exc:
        _record(batch, exc.call, items)
        raise
    _record(batch, result.call, items)
    return {r.user_id: r.account_status for r in result.items if r.result_code == 0}


def _retry_or_check(batch, items, code):
    """Retry with backoff; once attempts are spent, settle by account_check."""
    if not items:
        return
    limit = settings.IM_MAX_ATTEMPTS
    spent = [i for i in items if i.attempts >= limit]
    batches.requeue(batch, spent, code=code, needs_check=True)
    rest = [i for i in items if i.attempts < limit]
    if rest:
        delay = batches.backoff_delay(max(i.attempts for i in rest))
        batches.requeue(batch, rest, code=code, delay=delay)


def _fail_by_code(batch, items):
    for code in {i.error_code or FAIL_ACCOUNTS for i in items}:
        batches.fail(
            batch, [i for i in items if (i.error_code or FAIL_ACCOUNTS) == code], code
        )


# -- check and delete ---------------------------------------------------------


def process_check(client, batch):
    """Ask IM for the AccountStatus of a claimed batch and record it."""
    answers = _call_items(client, batch, "account_check")
    if answers is None:
        return
    statuses = {
        uid: RemoteStatus(a.account_status)
        for uid, a in answers.items()
        if a.result_code == 0 and a.account_status in RemoteStatus.values
    }
    batches.succeed_checks(batch, statuses)
    _fail_unanswered(
        batch, [i for i in batch.items if _uid(i) not in statuses], answers
    )


def process_delete(client, batch):
    """Delete a claimed batch from IM; an account IM does not have counts as deleted."""
    answers = _call_items(client, batch, "account_delete")
    if answers is None:
        return
    gone = {
        uid
        for uid, a in answers.items()
        if a.result_code in (0, errors.ACCOUNT_MISSING)
    }
    batches.succeed_deletes(batch, [i for i in batch.items if _uid(i) in gone])
    _fail_unanswered(batch, [i for i in batch.items if _uid(i) not in gone], answers)


def _call_items(client, batch, api):
    """Send the batch to an API answering per item; its answers by UserID, or None.

    A whole-call error is recorded and handled here (None is returned then).
    """
    ratelimit.acquire(api)
    try:
        result = getattr(client, api)([_uid(i) for i in batch.items])
    except errors.ImError as exc:
        _record(batch, exc.call, batch.items)
        _on_error(client, batch, batch.items, exc)
        return None
    _record(batch, result.call, batch.items)
    return result.by_user_id()


def _fail_unanswered(batch, items, answers):
    by_code = {}
    for item in items:
        answer = answers.get(_uid(item))
        code = (
            answer.result_code if answer and answer.result_code else errors.BAD_RESPONSE
        )
        by_code.setdefault(code, []).append(item)
    for code, group in by_code.items():
        batches.fail(batch, group, code)
    batches.flush_calls(batch)


# -- errors of a whole call ---------------------------------------------------


def _on_error(client, batch, items, exc):
    """Decide each item's fate from the class of a whole-call error."""
    if isinstance(exc, errors.QuotaError):
        _stop_on_quota(client, batch, items, exc.code)
    elif isinstance(exc, errors.ConfigurationError):
        batches.stop_job(batch.job, exc.code)
        batches.fail(batch, items, exc.code)
    elif isinstance(exc, (errors.InvalidRequestError, errors.AccountPermanentError)):
        if len(items) > 1:
            batches.requeue(batch, items, code=exc.code, solo=True)
        else:
            batches.fail(batch, items, exc.code, invalid=True)
    elif isinstance(exc, errors.ReplyLostError) and batch.job.kind == JobKind.IMPORT:
        _recheck_or_fail(batch, items, exc.code)
    elif batch.job.kind == JobKind.IMPORT:
        _retry_or_check(batch, items, exc.code)
    else:
        _retry_or_fail(batch, items, exc.code)
    batches.flush_calls(batch)


def _recheck_or_fail(batch, items, code):
    limit = settings.IM_MAX_ATTEMPTS
    batches.requeue(
        batch,
        [i for i in items if i.attempts <= limit],
        code=code,
        needs_check=True,
        delay=RECHECK_DELAY,
    )
    batches.fail(batch, [i for i in items if i.attempts > limit], code)


def _retry_or_fail(batch, items, code):
    """Check and delete are harmless to repeat: retry, then fail when spent."""
    limit = settings.IM_MAX_ATTEMPTS
    rest = [i for i in items if i.attempts < limit]
    if rest:
        delay = batches.backoff_delay(max(i.attempts for i in rest))
        batches.requeue(batch, rest, code=code, delay=delay)
    batches.fail(batch, [i for i in items if i.attempts >= limit], code)


def _stop_on_quota(client, batch, items, code):
    """70398: stop the job; whether IM took part of the batch is undocumented: ask."""
    batches.stop_job(batch.job, code)
    if batch.job.kind != JobKind.IMPORT:
        batches.fail(batch, items, code)
        return
    try:
        statuses = _statuses(client, batch, items)
    except errors.ImError:
        statuses = {}
    imported = [i for i in items if statuses.get(_uid(i)) == "Imported"]
    batches.succeed_imports(batch, imported)
    batches.fail(batch, [i for i in items if i not in imported], code)


def _record(batch, call, items):
    if call is not None:
        batch.calls.append((call, max(i.attempts for i in items)))


def _uid(item):
    return item.user_id


PROCESSORS = {
    JobKind.IMPORT: process_import,
    JobKind.CHECK: process_check,
    JobKind.DELETE: process_delete,
}


def resume_stale_jobs(*, stale_after=None):
    """Job ids whose runners went quiet: their claims are released for a new runner.

    The periodic maintenance task re-queues a runner for each; harmless if the
    old runner was only slow.
    """
    stale_after = stale_after or 2 * settings.IM_CLAIM_LEASE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    stale = ImportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff),
        status__in=(JobStatus.QUEUED, JobStatus.RUNNING),
    )
    ids = []
    for job in stale:
        if job.options.get("preparing"):
            continue  # no runner yet: services.preparations_resume sees to it
        batches.release_expired_claims(job)
        ids.append(job.pk)
    return ids


def settle_abandoned_items():
    """Settle items left open in stopped or cancelled jobs (a runner died mid-stop).

    Also writes the job's end to the audit history when the process that
    stopped it died before it could. Returns the ids of the jobs it touched;
    harmless to run at any time.
    """
    jobs = ImportJob.objects.filter(
        status__in=(JobStatus.STOPPED, JobStatus.CANCELLED),
        items__state__in=OPEN_ITEM_STATES,
    ).distinct()
    touched = []
    for job in jobs:
        batches.release_expired_claims(job)
        if batches.sweep_open_items(job):
            touched.append(job.pk)
            ended = AuditEvent.objects.filter(
                job_id=job.pk, action=AuditAction.JOB_ENDED
            )
            if not ended.exists():
                audit_job_ended(job)
    return touched
