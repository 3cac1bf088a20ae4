"""Retention: what ``prune`` deletes, and what it never touches.

Deleted: uploads decided more than UPLOAD_RETENTION_DAYS ago (their rows and
any file left), API-call rows older than API_CALL_RETENTION_DAYS (only when
that is set: by default they are kept, as auditors read them), and expired
sessions. Never deleted: the audit history, jobs, tracked accounts.

Rows go in chunks of ``CHUNK``, each its own short transaction, so a prune
of millions of API calls never holds a long lock and a killed one has
deleted whole chunks only. Successful django-q2 task rows are never written
at all (``Q_CLUSTER["save_limit"] = -1``); failed ones stay, for the admin.
"""

import logging
from dataclasses import asdict, dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.models import ApiCall, AuditAction, Upload, UploadStatus
from accounts.services.preparation import PREPARING_STATUSES
from accounts.uploads.files import file_delete

CHUNK = 5000  # rows a transaction (and below SQLite's limit of bound values)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pruned:
    """How many of each were deleted."""

    uploads: int
    api_calls: int
    sessions: int

    def as_json(self):
        return asdict(self)


def records_prune(*, now=None, chunk=CHUNK, person=""):
    """Delete what the retention settings say has expired; returns ``Pruned``.

    ``person`` (who ran it by hand, e.g. the shell user of ``manage.py
    prune``) is written to an audit entry with the counts; the schedule's
    runs are logged only. Safe to run at any time, any number of times,
    alongside imports: a second run finds nothing more to delete.
    """
    now = now or timezone.now()
    pruned = Pruned(
        uploads=_uploads_prune(now - timedelta(days=settings.UPLOAD_RETENTION_DAYS)),
        api_calls=_api_calls_prune(now, chunk),
        sessions=_delete_in_chunks(
            Session.objects.filter(expire_date__lt=now), "expire_date", chunk
        ),
    )
    log.info("pruned %s", pruned.as_json())
    if person:
        audit_record(
            action=AuditAction.PRUNE,
            object_type="retention",
            details={**pruned.as_json(), "by": person, **_settings_used()},
        )
    return pruned


def _settings_used():
    return {
        "upload_retention_days": settings.UPLOAD_RETENTION_DAYS,
        "api_call_retention_days": settings.API_CALL_RETENTION_DAYS,
    }


def _api_calls_prune(now, chunk):
    days = settings.API_CALL_RETENTION_DAYS
    if days <= 0:  # kept forever, the default
        return 0
    old = ApiCall.objects.filter(created_at__lt=now - timedelta(days=days))
    return _delete_in_chunks(old, "created_at", chunk)


def _uploads_prune(cutoff):
    """Uploads decided before ``cutoff``: files first, then rows.

    A previewed upload is not decided yet (the maintenance cancels it after a
    day), nor is a confirmed one whose job still reads its file.
    """
    preparing = Q(
        status=UploadStatus.CONFIRMED,
        job__status__in=PREPARING_STATUSES,
        job__options__preparing=True,
    )
    old = Upload.objects.filter(created_at__lt=cutoff).exclude(
        Q(status=UploadStatus.PREVIEWED) | preparing
    )
    for stored_name in old.exclude(stored_name="").values_list(
        "stored_name", flat=True
    ):
        file_delete(stored_name)
    return _delete_in_chunks(old, "created_at", CHUNK)


def _delete_in_chunks(queryset, order_field, chunk):
    """Delete ``queryset``'s rows ``chunk`` at a time, oldest first; the count."""
    deleted = 0
    while True:
        keys = list(queryset.order_by(order_field).values_list("pk", flat=True)[:chunk])
        if not keys:
            return deleted
        with transaction.atomic():
            queryset.model.objects.filter(pk__in=keys).delete()
        deleted += len(keys)
