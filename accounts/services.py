"""Every write and state change of accounts and jobs; queueing happens on commit.

Views, admin actions, commands and tasks call these; none of them writes models
directly. Services take keyword-only arguments and are named ``<entity>_<action>``.
"""

import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.audit.records import audit_job_ended, audit_job_started, audit_record

from . import conf, owners, preparation
from .models import (
    ACTIVE_JOB_STATUSES,
    AccountState,
    AuditAction,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from .pipeline import engine, lifecycle
from .pipeline.worker import wake
from .preparation import BUSY_STATES, RowsSummary


class NothingToDo(Exception):
    """The request selects no account a job could work on; ``str()`` says why."""


# -- queueing ----------------------------------------------------------------


def job_prepare_enqueue(*, job_id):
    """Queue the task that fills the preparing upload job ``job_id``, on commit."""
    transaction.on_commit(
        lambda: async_task(
            "accounts.tasks.job_prepare",
            job_id,
            task_name=f"prepare-{job_id}",
            group="prepare",
        )
    )


# -- creating jobs -----------------------------------------------------------


def _job_create(*, kind, source, user, label="", options=None, **fields):
    return ImportJob.objects.create(
        kind=kind,
        source=source,
        created_by=user if user and user.is_authenticated else None,
        label=label[:255],
        options=options or {},
        **fields,
    )


def _items_add(job, accounts):
    """Insert a queued item for each account of the queryset in one INSERT … SELECT."""
    sql, params = accounts.order_by().values("id").query.sql_with_params()
    table, now = JobItem._meta.db_table, timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (job_id, account_id, state, attempts,"
            " next_attempt_at,"
            " claim_token, solo, needs_check, error_message, updated_at)"
            f" SELECT %s, sub.id, %s, 0, 0, '', %s, false, '', %s FROM ({sql}) sub",
            [job.pk, ItemState.QUEUED, job.options.get("solo", False), now, *params],
        )
        added = cursor.rowcount
    changes = {"job": job, "updated_at": now}
    if job.kind == JobKind.IMPORT:
        changes["state"] = AccountState.QUEUED
    TrackedAccount.objects.filter(job_items__job=job).update(**changes)
    ImportJob.objects.filter(pk=job.pk).update(total=added)
    job.total = added
    return added


def job_start(
    *, kind, accounts, source, user=None, label="", options=None, exclude_busy=True
):
    """Create a job over ``accounts`` (a queryset) and queue its runners.

    Accounts already queued or importing in another job are left out. Returns
    the job; raises NothingToDo when no account is left. The whole change is
    one transaction: a job exists with all its items, or not at all.
    """
    with transaction.atomic():
        eligible = accounts.exclude(state__in=BUSY_STATES) if exclude_busy else accounts
        job = _job_create(
            kind=kind, source=source, user=user, label=label, options=options
        )
        if not _items_add(job, eligible):
            transaction.set_rollback(True)
            raise NothingToDo(
                "No account to work on: the selection is empty or already in a "
                "running job."
            )
        audit_job_started(job)
        wake()
    return job


def job_retry_failed(*, job, user=None, source=JobSource.ADMIN):
    """Start a new import job with ``job``'s accounts that are still failed."""
    failed = TrackedAccount.objects.filter(
        job_items__job=job,
        job_items__state=ItemState.FAILED,
        state=AccountState.FAILED,
    )
    return job_start(
        kind=JobKind.IMPORT,
        accounts=failed,
        source=source,
        user=user,
        label=f"retry of job #{job.pk}",
        options={"retry_of": job.pk},
    )


def job_cancel(*, job, user=None):
    """Cancel a job that has not ended; its queued accounts go back to pending.

    Calls already sent finish and are recorded; the job is settled (its
    counts final, its end in the audit history) once they are. Returns False
    if the job had already ended (a second call is harmless).
    """
    with transaction.atomic():
        options = ImportJob.objects.select_for_update().get(pk=job.pk).options
        # A preparation in progress sees the status at its next chunk and stops.
        options.pop("preparing", None)
        cancelled = ImportJob.objects.filter(
            pk=job.pk, status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED)
        ).update(status=JobStatus.CANCELLED, options=options, wait_until=None)
    if cancelled:
        lifecycle.sweep(job.pk)  # in chunks, each its own transaction
    job.refresh_from_db()
    return bool(cancelled)


def job_resume(*, job, user=None, request=None):
    """Send a paused job again (its settings were fixed); True if this call did.

    Audited as the person's action. A job that was not paused is left as it
    is (a second call is harmless).
    """
    with transaction.atomic():
        resumed = lifecycle.resume(job.pk)
        audit_record(
            action=AuditAction.JOB_RESUME,
            request=request,
            actor=user,
            object_type="job",
            object_id=job.pk,
            job_id=job.pk,
            result="ok" if resumed else "not_paused",
        )
        if resumed:
            wake()
    job.refresh_from_db()
    return resumed


# -- accounts from rows (CSV, command) ----------------------------------------


def accounts_import_rows(*, rows, source, user=None, label="", options=None):
    """Upsert ``rows`` and start one import job with them. Returns (job, RowsSummary).

    For small inputs (tests, the single-account paths): one transaction.
    Files go through ``job_prepare_create`` and ``job_prepare_rows``, which
    hold no transaction longer than a chunk. Unless ``options["reimport"]``,
    accounts already imported whose profile did not change are not sent
    again. Returns (None, summary) when nothing is left to send; the accounts
    are still created or updated then.
    """
    with transaction.atomic():
        job = job_prepare_create(source=source, user=user, label=label, options=options)
        preparation.job_fill(job, rows)
        summary = RowsSummary(**job.options["summary"])
        if not job.total:
            ImportJob.objects.filter(pk=job.pk).delete()
            return None, summary
        _prepare_finish(job)
    return job, summary


# -- preparing a job from a file, chunk by chunk ---------------------------------


def job_prepare_create(*, source, user=None, label="", options=None):
    """A new import job for ``job_prepare_rows`` to fill: queued, preparing, total 0.

    ``options`` may hold ``reimport`` (send unchanged imported accounts too) and
    what the caller needs to find its rows again (e.g. ``upload``).
    """
    options = {**(options or {}), "preparing": True, "prepared_rows": 0}
    return _job_create(
        kind=JobKind.IMPORT,
        source=source,
        user=user,
        label=label,
        options=options,
        heartbeat_at=timezone.now(),  # a preparation that never beats is stale
    )


def job_prepare_rows(*, job, rows, seconds=None, on_duplicate=None):
    """Fill the preparing ``job`` from ``rows``; once all are in, start its runners.

    ``rows`` yields validated account dicts, the same sequence on every call;
    a UserID's later rows are left out and passed to ``on_duplicate(row,
    first_line)``. Each chunk is its own short transaction; a call resumes
    after the last chunk written, so it is safe to repeat after a crash or a
    timeout. Returns
    True when the job is prepared (started, or done at once with nothing to
    send), False when ``seconds`` ran out first (call again). Raises
    preparation.PreparationEnded when the job was cancelled or stopped, or
    another call is filling it.
    """
    deadline = time.monotonic() + seconds if seconds else None
    if not preparation.job_fill(
        job, rows, deadline=deadline, on_duplicate=on_duplicate
    ):
        return False
    _prepare_finish(job)
    return True


def _prepare_finish(job):
    """Clear the preparing flag; end an empty job as done, or one all sent.

    The engines have been sending since the first chunk; a job whose every
    item was already answered ends here, since no answer is left to end it.
    """
    with transaction.atomic():
        options = preparation.locked_options(
            job, prepared_rows=job.options["prepared_rows"]
        )
        del options["preparing"]
        now = timezone.now()
        job.refresh_from_db(fields=["total"])
        changes = {"options": options, "heartbeat_at": now}
        if not job.total:  # every row already imported, or busy elsewhere
            changes.update(status=JobStatus.DONE, started_at=now, finished_at=now)
        ImportJob.objects.filter(pk=job.pk).update(**changes)
        job.refresh_from_db()
        audit_job_started(job)
        if job.total:
            lifecycle.finish_if_complete(job.pk)
            wake()
        else:
            audit_job_ended(job)


def job_prepare_stop(*, job, message):
    """Stop a job whose preparation cannot go on; its queued items fail.

    ``message`` is a sentence for people, kept in ``job.error_message`` and
    given to the failed items and accounts.
    Returns True if this call stopped the job (a second call is harmless).
    """
    with transaction.atomic():
        try:
            options = preparation.locked_options(job)
        except preparation.PreparationEnded:
            return False
        del options["preparing"]
        ImportJob.objects.filter(pk=job.pk).update(options=options)
        lifecycle.stop(job.pk, message=message)
    lifecycle.sweep(job.pk)  # in chunks, each its own transaction
    return True


def job_prepare_end(*, job, note):
    """End the preparation of a job whose reader is gone, keeping what it queued.

    The rows already queued are sent as usual; ``note`` (a sentence for
    people) says why the rest of the file was not read. Returns True if this
    call ended it (a second call is harmless).
    """
    with transaction.atomic():
        try:
            options = preparation.locked_options(job)
        except preparation.PreparationEnded:
            return False
        del options["preparing"]
        options["prepare_note"] = note[:500]
        ImportJob.objects.filter(pk=job.pk).update(options=options)
        job.refresh_from_db()
        if not job.total:
            lifecycle.stop(job.pk, message=note)
    lifecycle.sweep(job.pk)
    lifecycle.settle_if_complete(job.pk)
    return True


COMMAND_DIED = (
    "The import_accounts command ended before it had read the whole file (its "
    "process was stopped). The accounts it had queued are imported; run the "
    "command again on the same file to import the rest."
)


def command_job_to_continue(*, path, sha256, reimport):
    """The job an earlier ``import_accounts`` of this same file left unfinished.

    A job still being read, whose file had the same SHA-256 (so its rows come
    in the same order) and whose process is gone. It is taken over for this
    process and returned; None when there is none.
    """
    candidates = ImportJob.objects.filter(
        source=JobSource.COMMAND,
        label=path[-255:],
        status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED),
        options__preparing=True,
        options__file_sha256=sha256,
        options__reimport=reimport,
    ).order_by("-id")
    for job in candidates:
        if not owners.owner_gone(job.options.get("owner"), job.heartbeat_at):
            continue
        with transaction.atomic():
            options = preparation.locked_options(job)
            options["owner"] = owners.owner_record()
            ImportJob.objects.filter(pk=job.pk).update(
                options=options, heartbeat_at=timezone.now()
            )
        job.refresh_from_db()
        return job
    return None


def preparations_stale(*, stale_after=None):
    """Preparing jobs whose heartbeat is older than ``stale_after`` seconds."""
    stale_after = stale_after or 2 * settings.IM_CLAIM_LEASE_SECONDS
    cutoff = timezone.now() - timedelta(seconds=stale_after)
    return ImportJob.objects.filter(
        Q(heartbeat_at__lt=cutoff) | Q(heartbeat_at=None, created_at__lt=cutoff),
        status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED),
        options__preparing=True,
    )


def preparations_resume(*, stale_after=None):
    """Re-queue stalled preparations of uploads; end those of a command that died.

    An upload's file is kept until its job is prepared, so its preparation
    resumes after the last chunk written. A command reads a file no worker
    can reach: its preparation is ended and what it queued is sent (a rerun
    of the command on the same file continues the job). Returns (ids
    re-queued, ids ended). Harmless if a preparation was only slow: two
    preparations of one job never write the same chunk.
    """
    resumed, stopped = [], []
    for job in preparations_stale(stale_after=stale_after):
        if job.source == JobSource.COMMAND:
            if not owners.owner_gone(job.options.get("owner"), job.heartbeat_at):
                continue  # its command is alive, only slow (e.g. a locked database)
            if job_prepare_end(job=job, note=COMMAND_DIED):
                stopped.append(job.pk)
            continue
        # A new heartbeat, so the next maintenance run waits for this task.
        ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now())
        job_prepare_enqueue(job_id=job.pk)
        resumed.append(job.pk)
    return resumed, stopped


# -- one account, now (the support form) ----------------------------------------


def _apply_profile(account, row):
    profile = preparation.new_profile(account.nick, account.face_url, row)
    if profile:
        account.nick, account.face_url = profile
    return bool(profile)


def _items_add_ids(job, account_ids):
    added = preparation.items_add(job, account_ids)
    preparation.accounts_queue(job, account_ids)
    ImportJob.objects.filter(pk=job.pk).update(total=added)
    job.total = added


@dataclass
class SingleImport:
    """The plain answer to a single import: what happened, and the records behind it."""

    account: TrackedAccount
    job: ImportJob
    item: JobItem
    existed: bool  # the account was already imported before this call

    @property
    def outcome(self):
        if self.item.state == ItemState.SUCCEEDED:
            return "updated" if self.existed else "imported"
        if self.item.state == ItemState.QUEUED:
            return "retrying"
        return self.item.state  # failed or invalid


def account_import_now(*, user_id, nick="", face_url="", user=None, client=None):
    """Import one validated account synchronously with account_import.

    Returns a SingleImport. A transient failure leaves the account queued for a
    background retry (outcome ``retrying``). Safe to repeat.
    """
    row = {"user_id": user_id, "nick": nick, "face_url": face_url}
    with transaction.atomic():
        account = TrackedAccount.objects.filter(user_id=user_id).first()
        existed = bool(account and account.state == AccountState.IMPORTED)
        if account and account.state in BUSY_STATES:
            raise NothingToDo(
                f"{user_id} is already queued in job #{account.job_id}; "
                "wait for it to finish."
            )
        if account is None:
            account = TrackedAccount.objects.create(
                **_fields(row), source=JobSource.FORM
            )
        elif _apply_profile(account, row):
            account.save(update_fields=["nick", "face_url", "updated_at"])
        job = _job_create(
            kind=JobKind.IMPORT,
            source=JobSource.FORM,
            user=user,
            label=user_id,
            options={"solo": True},
        )
        _items_add_ids(job, [account.pk])
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        audit_job_started(job)
    job.refresh_from_db()
    _work_now(job, client)
    item = JobItem.objects.get(job=job)
    account.refresh_from_db()
    job.refresh_from_db()
    return SingleImport(account=account, job=job, item=item, existed=existed)


def _fields(row):
    return {"user_id": row["user_id"], "nick": row["nick"], "face_url": row["face_url"]}


def _work_now(job, client):
    own = client is None
    client = client or conf.im_client()
    try:
        engine.send_now(job, client)
    finally:
        if own:
            client.close()
    job.refresh_from_db()
    if not job.settled:
        wake()  # a retry is due later: the engines take it from here


# -- reconciliation and upkeep --------------------------------------------------


def uncertain_accounts():
    """Accounts whose standing in IM is in doubt: failed, or importing unattended.

    An account held by a running item is left out: its call is in flight.
    """
    stale = timezone.now() - timedelta(seconds=2 * settings.IM_CLAIM_LEASE_SECONDS)
    held = JobItem.objects.filter(
        state=ItemState.QUEUED, claimed_until__gte=time.time()
    ).values("account_id")
    return TrackedAccount.objects.filter(
        Q(state=AccountState.FAILED)
        | Q(state=AccountState.IMPORTING, updated_at__lt=stale)
    ).exclude(pk__in=held)


def accounts_reconcile(*, all_imported=False, source=JobSource.COMMAND, user=None):
    """Start a check job over uncertain accounts (and every imported one if asked).

    Returns the job, or None when there is nothing to check or a check job is
    already running (a second call is harmless).
    """
    if ImportJob.objects.filter(
        kind=JobKind.CHECK, status__in=ACTIVE_JOB_STATUSES
    ).exists():
        return None
    accounts = uncertain_accounts()
    if all_imported:
        accounts = accounts | TrackedAccount.objects.filter(state=AccountState.IMPORTED)
    # The stale-importing accounts are busy by state, but no worker holds them.
    with transaction.atomic():
        job = _job_create(
            kind=JobKind.CHECK,
            source=source,
            user=user,
            label="all imported accounts" if all_imported else "uncertain accounts",
        )
        if not _items_add(job, accounts.distinct()):
            transaction.set_rollback(True)
            return None
        audit_job_started(job)
        wake()
    return job


def settle_abandoned_items():
    """Settle stopped or cancelled jobs whose own process died mid-stop.

    Queued items (and those whose lease ran out) are swept, and the job settled
    (its end written to the audit history) once nothing is open. Returns the
    ids of the jobs it touched; harmless to run at any time.
    """
    jobs = ImportJob.objects.filter(
        status__in=(JobStatus.STOPPED, JobStatus.CANCELLED), finished_at=None
    )
    touched = []
    for job in jobs:
        lifecycle.sweep(job.pk)
        touched.append(job.pk)
    return touched


def maintenance(*, reconcile=True):
    """The scheduled upkeep: resume stalled preparations, settle, clean, reconcile.

    Jobs need no restarting: every worker's engine claims their items from
    the database, and takes over a dead worker's claims once they expire.
    Stalled preparations of uploads are re-queued, those of a command that
    died are ended (see ``preparations_resume``). Returns (ids of resumed
    preparations, the check job started or None). Safe to run at any time
    and any number of times.
    """
    resumed, _ = preparations_resume()
    settle_abandoned_items()
    from accounts.uploads.services import (
        uploads_cleanup,  # uploads builds on this module
    )

    uploads_cleanup()
    check = accounts_reconcile(source=JobSource.SCHEDULE) if reconcile else None
    return resumed, check
