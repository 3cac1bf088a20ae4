"""The append-only audit history: the one way entries are written.

Callers pass what happened; the request (if any) supplies who and from where.
Nothing here updates or deletes an entry.
"""

from .models import AuditAction, AuditEvent


def client_ip(request):
    """The address the request came from (REMOTE_ADDR; a proxy must set it)."""
    return request.META.get("REMOTE_ADDR") or None if request else None


def audit_record(
    *,
    action,
    request=None,
    actor=None,
    object_type="",
    object_id="",
    user_id="",
    job_id=None,
    result="ok",
    details=None,
):
    """Write one entry and return it. ``actor`` defaults to the request's user."""
    if actor is None and request is not None and request.user.is_authenticated:
        actor = request.user
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "",
        ip=client_ip(request),
        object_type=object_type,
        object_id=str(object_id)[:64],
        user_id=user_id[:32],
        job_id=job_id,
        result=result,
        details=details or {},
    )


def audit_job_started(job):
    """The entry for a job's start: who asked, what kind, how many accounts."""
    return audit_record(
        action=AuditAction.JOB_STARTED,
        actor=job.created_by,
        object_type="job",
        object_id=job.pk,
        job_id=job.pk,
        details={
            "kind": job.kind,
            "source": job.source,
            "label": job.label,
            "total": job.total,
        },
    )


def audit_job_ended(job):
    """The entry for a job's end, with its final status and counts."""
    job.refresh_from_db()
    return audit_record(
        action=AuditAction.JOB_ENDED,
        actor=job.created_by,
        object_type="job",
        object_id=job.pk,
        job_id=job.pk,
        result=job.status,
        details={
            "kind": job.kind,
            "total": job.total,
            "succeeded": job.succeeded,
            "failed": job.failed,
            "invalid": job.invalid,
            "cancelled": job.cancelled,
            "error_code": job.error_code,
        },
    )
