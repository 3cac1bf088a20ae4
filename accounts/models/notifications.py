"""Notifications of a job's end: webhook endpoints, their deliveries, email choices."""

from django.conf import settings
from django.db import models

from accounts.models.jobs import ImportJob


class JobEvent(models.TextChoices):
    """What a notification announces: the job's final status, once it is settled."""

    DONE = "job.done", "job.done"
    DONE_WITH_ERRORS = "job.done_with_errors", "job.done_with_errors"
    STOPPED = "job.stopped", "job.stopped"
    CANCELLED = "job.cancelled", "job.cancelled"


class WebhookEndpoint(models.Model):
    """A URL that is POSTed a signed JSON body when a job ends.

    The secret is stored because each body is signed with it; it is never
    shown (the admin takes it write-only), logged or exported.
    """

    url = models.URLField(max_length=500)
    secret = models.CharField(max_length=200)
    # Event names it wants (JobEvent values); empty: every event.
    events = models.JSONField(default=list, blank=True)
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self):
        return self.url

    def wants(self, event):
        return not self.events or event in self.events


class DeliveryState(models.TextChoices):
    PENDING = "pending", "pending"  # due at ``due_at``
    SENDING = "sending", "sending"  # taken by a worker
    DELIVERED = "delivered", "delivered"  # answered 2xx
    FAILED = "failed", "failed"  # another attempt follows at ``next_attempt_at``
    GAVE_UP = "gave_up", "gave up"  # the last attempt failed


class WebhookDelivery(models.Model):
    """One attempt to POST one event of one job to one endpoint."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="+")
    event = models.CharField(max_length=30, choices=JobEvent.choices)
    attempt = models.PositiveSmallIntegerField(default=1)
    state = models.CharField(
        max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING
    )
    due_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)  # taken by a worker
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            # A task that runs twice makes each attempt once.
            models.UniqueConstraint(
                fields=["endpoint", "job", "event", "attempt"],
                name="delivery_attempt_once",
            )
        ]
        indexes = [models.Index(fields=["state", "due_at"], name="delivery_due_idx")]

    def __str__(self):
        return f"{self.event} of job #{self.job_id} to {self.endpoint}: {self.attempt}"


class NotificationPreference(models.Model):
    """A person's choice of notifications; without a row, the defaults apply."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        related_name="notification_preference",
    )
    email_on_job_end = models.BooleanField(
        "email me when a job I started ends", default=True
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"notifications of {self.user}"


class JobEmail(models.Model):
    """The email sent to a job's starter when it ended: at most one a job."""

    job = models.OneToOneField(ImportJob, on_delete=models.CASCADE, related_name="+")
    recipient = models.EmailField()
    event = models.CharField(max_length=30, choices=JobEvent.choices)
    sent_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"{self.event} of job #{self.job_id} to {self.recipient}"
