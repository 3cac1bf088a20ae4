"""Scheduled imports: saved in step with their django-q2 Schedule, and run.

A run reads its source as an upload of it would be read (``upload_receive``:
the same reader, size limit and preview), then confirms it into one job with
source "schedule" (``upload_confirm``), so the import's own rule
(``services.rows.row_outcome``) leaves out every account already imported
with the same profile: a nightly full export sends only what is new or
changed. Its entries are written as the schedule's owner.
"""

from datetime import datetime, timedelta

from croniter import croniter
from django.db import transaction
from django.utils import timezone
from django_q.models import Schedule

from accounts.audit.records import audit_record
from accounts.models import AuditAction, Frequency, JobSource, ScheduledImport
from accounts.scheduled.fetch import SourceError, source_check, source_open
from accounts.uploads import services as uploads

TASK = "accounts.tasks.scheduled_import_run"
KINDS = {
    Frequency.HOURLY: (Schedule.HOURLY, timedelta(hours=1)),
    Frequency.DAILY: (Schedule.DAILY, timedelta(days=1)),
    Frequency.CRON: (Schedule.CRON, None),
}


class ScheduleInvalid(ValueError):
    """A scheduled import cannot be saved as given; ``str()`` says why."""


def scheduled_import_validate(*, source, frequency, cron):
    """Raise ScheduleInvalid unless these make a scheduled import that can run."""
    try:
        source_check(source)
    except SourceError as exc:
        raise ScheduleInvalid(str(exc)) from None
    if frequency == Frequency.CRON and not croniter.is_valid(cron or ""):
        raise ScheduleInvalid(
            f"{cron!r} is not a cron expression (five fields, e.g. 30 2 * * *)."
        )


def schedule_name(scheduled):
    return f"imadmin: scheduled import #{scheduled.pk}"


def scheduled_import_save(*, scheduled, user, request=None, created=False):
    """Save ``scheduled`` and bring its django-q2 Schedule in step; audited.

    An inactive one has no Schedule. Raises ScheduleInvalid (nothing saved).
    Safe to call again: the Schedule is found by its name.
    """
    scheduled_import_validate(
        source=scheduled.source, frequency=scheduled.frequency, cron=scheduled.cron
    )
    with transaction.atomic():
        scheduled.save()
        _schedule_sync(scheduled)
        _audit(AuditAction.SCHEDULE_SAVED, scheduled, user, request, created)
    return scheduled


def _schedule_sync(scheduled):
    if not scheduled.active:
        Schedule.objects.filter(name=schedule_name(scheduled)).delete()
        return
    kind, period = KINDS[scheduled.frequency]
    now = timezone.now()
    if period is None:
        next_run = croniter(scheduled.cron, timezone.localtime(now)).get_next(datetime)
    elif scheduled.last_run_at:
        next_run = max(scheduled.last_run_at + period, now)
    else:
        next_run = now  # a new one runs at once, then at its frequency
    Schedule.objects.update_or_create(
        name=schedule_name(scheduled),
        defaults={
            "func": TASK,
            "args": repr(scheduled.pk),
            "schedule_type": kind,
            "cron": scheduled.cron if period is None else None,
            "repeats": -1,
            "next_run": next_run,
        },
    )


def scheduled_import_delete(*, scheduled, user, request=None):
    """Delete ``scheduled`` and its Schedule; audited. Its jobs stay."""
    with transaction.atomic():
        Schedule.objects.filter(name=schedule_name(scheduled)).delete()
        _audit(AuditAction.SCHEDULE_DELETED, scheduled, user, request)
        scheduled.delete()


def _audit(action, scheduled, user, request, created=False):
    audit_record(
        action=action,
        request=request,
        actor=user,
        object_type="schedule",
        object_id=scheduled.pk,
        result="created" if created else "ok",
        details={
            "name": scheduled.name,
            "source": scheduled.source,
            "frequency": scheduled.frequency,
            "cron": scheduled.cron,
            "active": scheduled.active,
        },
    )


def scheduled_import_run(*, scheduled_id):
    """Run the active scheduled import ``scheduled_id`` once; its job, or None.

    None when it is gone or inactive, or when its source could not be read
    or held no valid row: ``last_error`` says why then. Each call is a run
    of its own (a second call imports the file again, sending only what
    changed since).
    """
    scheduled = ScheduledImport.objects.filter(pk=scheduled_id, active=True).first()
    if scheduled is None:
        return None
    job, error = None, ""
    try:
        job = _run(scheduled.source, scheduled.created_by)
    except (SourceError, uploads.UploadError) as exc:
        error = str(exc)[:500]
    changes = {"last_run_at": timezone.now(), "last_error": error}
    if job is not None:
        changes["last_job"] = job
    ScheduledImport.objects.filter(pk=scheduled.pk).update(**changes)
    return job


def _run(source, owner):
    """Receive and confirm the file at ``source`` as ``owner``; the job.

    An upload that cannot be confirmed (no valid row) is cancelled, so its
    file is not kept.
    """
    with source_open(source) as file:
        # A run is a worker task already: it previews any size itself.
        upload = uploads.upload_receive(
            file=file, encoding="auto", user=owner, background=False
        )
    try:
        return uploads.upload_confirm(
            upload=upload, user=owner, source=JobSource.SCHEDULE, keep_empty=True
        )
    except uploads.UploadError as exc:
        uploads.upload_cancel(upload=upload, user=owner, reason=str(exc))
        raise
