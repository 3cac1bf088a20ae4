"""Notifications of a job's end: webhook endpoints, deliveries with retries, email.

A job's end is announced once it is settled (``pipeline.lifecycle.ended``
queues ``tasks.job_notify`` when that transaction commits), so neither a
receiver nor a mail server ever holds a job up. Each delivery attempt is its
own row; retry timing lives in those rows (``due_at``), so a lost task only
delays an attempt until the sweep (``webhook_retries_due``) finds it.
"""

import json
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext
from django_q.tasks import async_task

from accounts.audit.records import audit_record
from accounts.models import (
    AuditAction,
    DeliveryState,
    ImportJob,
    JobEmail,
    JobEvent,
    JobSource,
    JobStatus,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from accounts.notifications import delivery
from accounts.notifications.email import email_send, job_end_message
from accounts.notifications.signing import signed_headers
from accounts.outbound import OutboundRefused, url_check
from accounts.selectors.pace import job_json

log = logging.getLogger(__name__)

EVENTS = {
    JobStatus.DONE: JobEvent.DONE,
    JobStatus.DONE_WITH_ERRORS: JobEvent.DONE_WITH_ERRORS,
    JobStatus.STOPPED: JobEvent.STOPPED,
    JobStatus.CANCELLED: JobEvent.CANCELLED,
}
# A retry due this soon is waited for in the task that made the attempt;
# later ones are sent by the sweep (django-q2 looks at schedules every 30 s),
# so a receiver that is down holds a worker's task for little more than its
# attempts themselves (the uploads' preparations share those workers).
INLINE_WAIT_MOST = 5.0
MIN_SECRET_LENGTH = 16


class WebhookInvalid(ValueError):
    """An endpoint cannot be saved as given; ``str()`` says why, for people."""


# -- endpoints ------------------------------------------------------------------


def webhook_validate(*, url, secret, events):
    """Raise WebhookInvalid unless these make an endpoint that can be sent to."""
    try:
        url_check(url)
    except OutboundRefused as exc:
        raise WebhookInvalid(str(exc)) from None
    if len(secret or "") < MIN_SECRET_LENGTH:
        raise WebhookInvalid(
            gettext("The secret must be at least %(length)s characters long.")
            % {"length": MIN_SECRET_LENGTH}
        )
    unknown = sorted(set(events) - set(JobEvent.values))
    if unknown:
        raise WebhookInvalid(
            gettext("Unknown event %(unknown)s; events are %(events)s.")
            % {"unknown": ", ".join(unknown), "events": ", ".join(JobEvent.values)}
        )


def webhook_create(*, url, secret, events=(), user=None, request=None):
    """A new active endpoint for ``url``, audited; raises WebhookInvalid."""
    events = list(dict.fromkeys(events))
    webhook_validate(url=url, secret=secret, events=events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.create(
            url=url, secret=secret, events=events, created_by=user
        )
        webhook_audit(endpoint=endpoint, user=user, request=request, created=True)
    return endpoint


def webhook_audit(*, endpoint, user, request=None, created=False, deleted=False):
    """The audit entry of an endpoint saved or deleted (its secret never in it)."""
    action = AuditAction.WEBHOOK_DELETED if deleted else AuditAction.WEBHOOK_SAVED
    audit_record(
        action=action,
        request=request,
        actor=user,
        object_type="webhook",
        object_id=endpoint.pk,
        result="created" if created else "ok",
        details={
            "url": endpoint.url,
            "events": endpoint.events,
            "active": endpoint.active,
        },
    )


# -- a job's end ----------------------------------------------------------------


def job_notify(*, job_id):
    """Announce the settled job ``job_id``: queue its webhooks, email its starter.

    Returns the number of deliveries queued. Safe to run twice: each
    endpoint's first attempt and the email are made once a job.
    """
    job = ImportJob.objects.filter(pk=job_id).select_related("created_by").first()
    if job is None or not job.settled:
        return 0
    event = EVENTS[job.status]
    queued = 0
    for endpoint in WebhookEndpoint.objects.filter(active=True):
        if endpoint.wants(event) and _first_attempt(endpoint, job, event):
            queued += 1
    job_email(job=job, event=event)
    ImportJob.objects.filter(pk=job.pk, notified_at=None).update(
        notified_at=timezone.now()
    )
    return queued


# A settled job's own task has had this long to announce it.
ANNOUNCE_GRACE_SECONDS = 60


def jobs_unannounced(*, now=None):
    """Queue job_notify for settled jobs whose own task never ran; their ids.

    The task is queued when the job settles; if the broker was down then, or
    the process died between the commit and the queueing, the job would never
    be announced. This sweep (with the webhook retries, every minute) is the
    outbox that catches them.
    """
    now = now or timezone.now()
    late = now - timedelta(seconds=ANNOUNCE_GRACE_SECONDS)
    ids = list(
        ImportJob.objects.filter(
            notified_at=None, finished_at__isnull=False, finished_at__lt=late
        ).values_list("pk", flat=True)[:200]
    )
    for job_id in ids:
        async_task("accounts.tasks.job_notify", job_id, group="notify")
    return ids


def _first_attempt(endpoint, job, event):
    try:
        with transaction.atomic():
            attempt = WebhookDelivery.objects.create(
                endpoint=endpoint, job=job, event=event, due_at=timezone.now()
            )
    except IntegrityError:  # made by an earlier run of this task
        return False
    _enqueue(attempt.pk)
    return True


def _enqueue(delivery_id):
    transaction.on_commit(
        lambda: async_task(
            "accounts.tasks.webhook_deliver", delivery_id, group="webhooks"
        )
    )


# -- deliveries -------------------------------------------------------------------


def webhook_deliver(*, delivery_id):
    """Make the attempt ``delivery_id``, and the retries due soon after it.

    A retry due later is left for ``webhook_retries_due``. Returns the state
    of the last attempt made (None if none was: another worker took it).
    """
    state = None
    while delivery_id is not None:
        attempt, following = _attempt(delivery_id)
        if attempt is None:
            break
        state = attempt.state
        delivery_id = None
        if following is not None:
            wait = (following.due_at - timezone.now()).total_seconds()
            if wait <= INLINE_WAIT_MOST:
                time.sleep(max(wait, 0))
                delivery_id = following.pk
    return state


def _attempt(delivery_id):
    """Send one pending attempt: (the attempt, the next one) or (None, None)."""
    now = timezone.now()
    taken = WebhookDelivery.objects.filter(
        pk=delivery_id, state=DeliveryState.PENDING
    ).update(state=DeliveryState.SENDING, started_at=now)
    if not taken:
        return None, None
    attempt = WebhookDelivery.objects.select_related("endpoint", "job").get(
        pk=delivery_id
    )
    answer = _post(attempt)
    following = _record(attempt, answer)
    log.info(
        "webhook %s of job #%s to %s, attempt %s: %s",
        attempt.event,
        attempt.job_id,
        attempt.endpoint.url,
        attempt.attempt,
        answer.error or answer.status_code,
    )
    return attempt, following


def _record(attempt, answer):
    """Write what ``attempt`` got; the next attempt, if one follows."""
    following = None
    if answer.ok:
        attempt.state, attempt.delivered_at = DeliveryState.DELIVERED, timezone.now()
    elif attempt.attempt < settings.WEBHOOK_MAX_ATTEMPTS:
        attempt.state = DeliveryState.FAILED
        attempt.next_attempt_at = timezone.now() + _backoff(attempt.attempt)
        following = _next_attempt(attempt)
    else:
        attempt.state = DeliveryState.GAVE_UP
    attempt.status_code, attempt.duration_ms = answer.status_code, answer.duration_ms
    attempt.error = answer.error
    attempt.save(
        update_fields=[
            "state",
            "delivered_at",
            "next_attempt_at",
            "status_code",
            "duration_ms",
            "error",
        ]
    )
    return following


def _post(attempt):
    endpoint = attempt.endpoint
    try:
        url_check(endpoint.url)  # the settings may have changed since it was saved
    except OutboundRefused as exc:
        return delivery.Answer(None, 0, str(exc))
    body = json.dumps(
        {"event": attempt.event, "job": job_json(attempt.job)},
        separators=(",", ":"),
    ).encode()
    headers = signed_headers(
        secret=endpoint.secret,
        event=attempt.event,
        timestamp=int(time.time()),
        body=body,
    )
    return delivery.post(
        endpoint.url,
        headers=headers,
        body=body,
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
    )


def _backoff(attempt):
    """The wait after failed attempt number ``attempt``: doubled each time."""
    return timedelta(seconds=settings.WEBHOOK_BACKOFF_SECONDS * 2 ** (attempt - 1))


def _next_attempt(attempt):
    following, _ = WebhookDelivery.objects.get_or_create(
        endpoint=attempt.endpoint,
        job=attempt.job,
        event=attempt.event,
        attempt=attempt.attempt + 1,
        defaults={"due_at": attempt.next_attempt_at},
    )
    return following


def webhook_retries_due(*, now=None):
    """Queue every pending attempt that is due; the ids queued (a scheduled task).

    An attempt a worker took and never finished (its process died) is made
    pending again once its worker would have had to give up on it.
    """
    now = now or timezone.now()
    stuck = now - timedelta(seconds=settings.WEBHOOK_TIMEOUT_SECONDS * 2 + 60)
    WebhookDelivery.objects.filter(
        state=DeliveryState.SENDING, started_at__lt=stuck
    ).update(state=DeliveryState.PENDING)
    due = list(
        WebhookDelivery.objects.filter(
            state=DeliveryState.PENDING, due_at__lte=now
        ).values_list("pk", flat=True)[:1000]
    )
    for delivery_id in due:
        _enqueue(delivery_id)
    return due


# -- email ------------------------------------------------------------------------


def job_email(*, job, event):
    """Email the person who started ``job`` that it ended; the JobEmail, or None.

    Not sent for a job started from the single-import form (its page gave
    the answer at once), nor to a person with no email address or who turned
    these emails off. Sent once a job, whatever the number of calls.
    """
    user = job.created_by
    if user is None or not user.email or job.source == JobSource.FORM:
        return None
    if not notification_preference(user=user).email_on_job_end:
        return None
    try:
        with transaction.atomic():
            sent = JobEmail.objects.create(job=job, recipient=user.email, event=event)
    except IntegrityError:  # sent by an earlier run
        return None
    subject, body = job_end_message(job, event)
    sent.error = email_send(user.email, subject, body)
    sent.sent_at = None if sent.error else timezone.now()
    sent.save(update_fields=["error", "sent_at"])
    return sent


def notification_preference(*, user):
    """The person's NotificationPreference (unsaved defaults if they chose none)."""
    found = NotificationPreference.objects.filter(user=user).first()
    return found or NotificationPreference(user=user)


def notification_preference_set(*, user, email_on_job_end, actor=None, request=None):
    """Record the person's choice, audited; returns the NotificationPreference.

    ``actor`` is who made the change (an admin), if not the person. Setting
    what is already set changes nothing and writes no entry.
    """
    current = notification_preference(user=user)
    if current.email_on_job_end == email_on_job_end:
        return current
    with transaction.atomic():
        preference, _ = NotificationPreference.objects.update_or_create(
            user=user, defaults={"email_on_job_end": email_on_job_end}
        )
        audit_record(
            action=AuditAction.NOTIFY_PREFS_SET,
            request=request,
            actor=actor or user,
            object_type="user",
            object_id=user.pk,
            details={
                "username": user.get_username(),
                "email_on_job_end": email_on_job_end,
            },
        )
    return preference
