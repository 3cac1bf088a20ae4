"""The append-only audit history: the one way entries are written.

Callers pass what happened; the request (if any) supplies who and from where.
Nothing here updates or deletes an entry.
"""

import ipaddress
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings

from accounts.models import AuditAction, AuditEvent

# Who is acting right now, for entries written where no request is passed
# (signal receivers): the request in flight, or a command's own name.
_context = ContextVar("audit_context", default=None)


def client_ip(request):
    """The address the request came from, or None; axes locks out by it too.

    REMOTE_ADDR, unless CLIENT_IP_HEADER names the header a reverse proxy
    appends the client's address to (X-Forwarded-For): then its last entry,
    the one that proxy wrote (earlier ones come from the client, unchecked).
    """
    if request is None:
        return None
    value = request.META.get("REMOTE_ADDR", "")
    if settings.CLIENT_IP_HEADER:
        header = "HTTP_" + settings.CLIENT_IP_HEADER.upper().replace("-", "_")
        value = request.META.get(header, "").split(",")[-1].strip()
    try:
        return str(ipaddress.ip_address(value))
    except ValueError:  # empty, or not an address (a unix socket, a forgery)
        return None


@contextmanager
def audit_context(*, request=None, via=""):
    """Name the request or command (``via``) behind entries written inside."""
    token = _context.set({"request": request, "via": via})
    try:
        yield
    finally:
        _context.reset(token)


def current_context():
    """``{"request": …, "via": …}`` as set by the innermost audit_context, or {}."""
    return _context.get() or {}


class AuditRequestMiddleware:
    """Makes each request the audit context while its view runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with audit_context(request=request):
            return self.get_response(request)


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
    if actor is None and getattr(request, "user", None) is not None:
        actor = request.user if request.user.is_authenticated else None
    details = {**_api_token_details(), **(details or {})}
    return AuditEvent.objects.create(
        action=action,
        actor=actor if actor is not None and actor.pk else None,
        actor_name=actor.get_username() if actor is not None else "",
        ip=client_ip(request),
        object_type=object_type,
        object_id=str(object_id)[:64],
        user_id=(user_id or "")[:32],
        job_id=job_id,
        result=str(result)[:20],
        details=details,
    )


def _api_token_details():
    """``via`` and the token's label and prefix for writes made with an API token.

    The API's authentication puts the token on the request in flight; its
    raw value is never on it, so it never reaches the history.
    """
    token = getattr(current_context().get("request"), "api_token", None)
    if token is None:
        return {}
    return {"via": "api", "api_token": {"label": token.label, "prefix": token.prefix}}


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
