"""The append-only audit history: the one way entries are written.

Callers pass what happened; the request (if any) supplies who and from where.
Nothing here updates or deletes an entry.
"""

from .models import AuditEvent


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
