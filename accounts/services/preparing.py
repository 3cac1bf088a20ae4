"""Filling a job from a file (an upload or a command), and ending or resuming that."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from accounts.audit.records import audit_job_started
from accounts.models import (
    ACTIVE_JOB_STATUSES,
    ImportJob,
    JobKind,
    JobSource,
    JobStatus,
)
from accounts.pipeline import lifecycle
from accounts.pipeline.worker import wake
from accounts.services import owners, preparation
from accounts.services.jobs import job_create
from accounts.services.preparation import RowsSummary


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


def job_prepare_create(*, source, user=None, label="", options=None):
    """A new import job for ``job_prepare_rows`` to fill: queued, preparing, total 0.

    ``options`` may hold ``reimport`` (send unchanged imported accounts too) and
    what the caller needs to find its rows again (e.g. ``upload``).
    """
    options = {**(options or {}), "preparing": True, "prepared_rows": 0}
    return job_create(
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
            lifecycle.ended(job)


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


# -- accounts from rows (CSV, command) ----------------------------------------


def accounts_import_rows(
    *, rows, source, user=None, label="", options=None, keep_empty=False
):
    """Upsert ``rows`` and start one import job with them. Returns (job, RowsSummary).

    For small inputs (tests, the single-account paths): one transaction.
    Files go through ``job_prepare_create`` and ``job_prepare_rows``, which
    hold no transaction longer than a chunk. Unless ``options["reimport"]``,
    accounts already imported whose profile did not change are not sent
    again. Returns (None, summary) when nothing is left to send; the accounts
    are still created or updated then; with ``keep_empty`` such a job is kept,
    done at once with nothing sent (the API answers every request with a job).
    """
    with transaction.atomic():
        job = job_prepare_create(source=source, user=user, label=label, options=options)
        preparation.job_fill(job, rows)
        summary = RowsSummary(**job.options["summary"])
        if not job.total and not keep_empty:
            ImportJob.objects.filter(pk=job.pk).delete()
            return None, summary
        _prepare_finish(job)
    return job, summary
