"""Starting, retrying, cancelling and resuming jobs: each audited, queued on commit."""

from django.db import transaction
from django.utils.translation import gettext_noop

from accounts.audit.records import audit_job_started, audit_record
from accounts.im.translatable import TranslatableError
from accounts.models import (
    ACTIVE_JOB_STATUSES,
    AccountState,
    AuditAction,
    ImportJob,
    ItemState,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import lifecycle
from accounts.pipeline.worker import wake
from accounts.services.items import items_add_matching
from accounts.services.rows import BUSY_STATES


class NothingToDo(TranslatableError):
    """The request selects no account a job could work on; ``str()`` says why
    (in English; ``for_people()`` in the active language)."""


# -- queueing ----------------------------------------------------------------


def job_create(*, kind, source, user, label="", options=None, **fields):
    """A new queued job (no items yet), owned by ``user`` if signed in; one a call."""
    return ImportJob.objects.create(
        kind=kind,
        source=source,
        created_by=user if user and user.is_authenticated else None,
        label=label[:255],
        options=options or {},
        **fields,
    )


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
        job = job_create(
            kind=kind, source=source, user=user, label=label, options=options
        )
        if not items_add_matching(job, eligible):
            transaction.set_rollback(True)
            raise NothingToDo(
                gettext_noop(
                    "No account to work on: the selection is empty or already in "
                    "a running job."
                )
            )
        audit_job_started(job)
        wake()
    return job


def job_retry_failed(*, job, user=None, source=JobSource.ADMIN, request=None):
    """Start a new import job with ``job``'s accounts that are still failed.

    Returns the new job. Raises NothingToDo (saying why) for a job that is not
    an import or has no failed account left. Audited either way; a second
    call starts nothing while the first one's job holds the accounts.
    """
    try:
        if job.kind != JobKind.IMPORT:
            raise NothingToDo(
                gettext_noop("Only an import job's failed accounts can be retried.")
            )
        failed = TrackedAccount.objects.filter(
            job_items__job=job,
            job_items__state=ItemState.FAILED,
            state=AccountState.FAILED,
        )
        retry = job_start(
            kind=JobKind.IMPORT,
            accounts=failed,
            source=source,
            user=user,
            label=f"retry of job #{job.pk}",
            options={"retry_of": job.pk},
        )
    except NothingToDo as exc:
        _audit_job(AuditAction.JOB_RETRY, job, user, request, "nothing_to_do", str(exc))
        raise
    details = {"new_job": retry.pk, "accounts": retry.total}
    _audit_job(AuditAction.JOB_RETRY, job, user, request, "ok", details=details)
    return retry


def job_cancel(*, job, user=None, request=None):
    """Cancel a job that has not ended; its queued accounts go back to pending.

    Calls already sent finish and are recorded; the job is settled (its
    counts final, its end in the audit history) once they are. Returns False
    if the job had already ended (a second call is harmless). Audited.
    """
    with transaction.atomic():
        options = ImportJob.objects.select_for_update().get(pk=job.pk).options
        # A preparation in progress sees the status at its next chunk and stops;
        # the job page then says the file was not read to its end.
        if options.pop("preparing", None):
            options["reading_cut"] = True
        cancelled = ImportJob.objects.filter(
            pk=job.pk, status__in=(*ACTIVE_JOB_STATUSES, JobStatus.PAUSED)
        ).update(status=JobStatus.CANCELLED, options=options, wait_until=None)
    if cancelled:
        lifecycle.sweep(job.pk)  # in chunks, each its own transaction
    job.refresh_from_db()
    result = "ok" if cancelled else "had_ended"
    details = {"cancelled": job.cancelled}
    _audit_job(AuditAction.JOB_CANCEL, job, user, request, result, details=details)
    return bool(cancelled)


def _audit_job(action, job, user, request, result, message="", details=None):
    audit_record(
        action=action,
        request=request,
        actor=user,
        object_type="job",
        object_id=job.pk,
        job_id=job.pk,
        result=result,
        details=details if details is not None else {"message": message},
    )


def job_resume(*, job, user=None, request=None):
    """Send a paused job again (its settings were fixed); True if this call did.

    Audited as the person's action. A job that was not paused is left as it
    is (a second call is harmless).
    """
    with transaction.atomic():
        resumed = lifecycle.resume(job.pk)
        result = "ok" if resumed else "not_paused"
        _audit_job(AuditAction.JOB_RESUME, job, user, request, result, details={})
        if resumed:
            wake()
    job.refresh_from_db()
    return resumed


def job_resume_remaining(*, job, user=None, source=JobSource.ADMIN, request=None):
    """Import what a cancelled or stopped import ``job`` left unsent, as a new job.

    The ended job keeps its final counts and its "job ended" entry; the new
    job (``options["resume_of"]``) takes the accounts ``job_unfinished_accounts``
    names that are not busy elsewhere. Returns the new job. Raises NothingToDo
    (saying why) when the job is not a settled, cancelled or stopped import,
    or nothing of it is left. Audited either way; a second call starts
    nothing while the first one's job holds the accounts.
    """
    try:
        if job.kind != JobKind.IMPORT or job.status not in RESUMABLE_STATUSES:
            raise NothingToDo(
                gettext_noop("Only a cancelled or stopped import can be resumed.")
            )
        if not job.settled:
            raise NothingToDo(
                gettext_noop(
                    "The job's last calls are still being answered: try again in a "
                    "moment."
                )
            )
        resumed = job_start(
            kind=JobKind.IMPORT,
            accounts=job_unfinished_accounts(job),
            source=source,
            user=user,
            label=f"remaining of job #{job.pk}",
            options={"resume_of": job.pk},
        )
    except NothingToDo as exc:
        result = "nothing_to_do"
        _audit_job(AuditAction.JOB_RESUME, job, user, request, result, str(exc))
        raise
    details = {"new_job": resumed.pk, "accounts": resumed.total}
    _audit_job(AuditAction.JOB_RESUME, job, user, request, "ok", details=details)
    return resumed


RESUMABLE_STATUSES = (JobStatus.CANCELLED, JobStatus.STOPPED)


def job_unfinished_accounts(job):
    """The accounts a cancelled or stopped ``job`` did not get into IM.

    Its items that were cancelled (never sent) and, for a stopped job, the
    failed ones too (a stop fails what was still queued); an account
    imported since (by another job) is left out.
    """
    states = [ItemState.CANCELLED]
    if job.status == JobStatus.STOPPED:
        states.append(ItemState.FAILED)
    return TrackedAccount.objects.filter(
        job_items__job=job, job_items__state__in=states
    ).exclude(state=AccountState.IMPORTED)


def job_unfinished_count(job):
    """How many accounts ``job_unfinished_accounts`` names, from the job's counters.

    Read at no cost (a COUNT over a million items took about a second): it
    includes any account imported since by another job, which the new job
    then leaves out.
    """
    return job.cancelled + (job.failed if job.status == JobStatus.STOPPED else 0)
