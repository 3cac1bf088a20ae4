"""ImportJob: one run of sending (an import, a check, a delete) and its counts."""

from django.conf import settings
from django.db import models

from accounts.im.errors import describe
from accounts.models.choices import (
    FINAL_JOB_STATUSES,
    JobKind,
    JobSource,
    JobStatus,
)


class ImportJob(models.Model):
    """One import, check or delete of a set of accounts, worked in batches of 100."""

    kind = models.CharField(
        max_length=10, choices=JobKind.choices, default=JobKind.IMPORT
    )
    source = models.CharField(max_length=10, choices=JobSource.choices)
    status = models.CharField(
        max_length=20, choices=JobStatus.choices, default=JobStatus.QUEUED
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    label = models.CharField(max_length=255, blank=True)  # e.g. the CSV's file name
    options = models.JSONField(default=dict, blank=True)
    total = models.PositiveIntegerField(default=0)
    succeeded = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    invalid = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Set once the job has ended and its counts are final (see FINAL_JOB_STATUSES).
    finished_at = models.DateTimeField(null=True, blank=True)
    # Engines and preparations touch this as they work on the job.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # Set once its end was announced (webhooks queued, email sent): a job
    # settled without it is announced by the sweep (a lost broker task).
    notified_at = models.DateTimeField(null=True, blank=True)
    # Waiting for IM: an answer that says nothing about the accounts (network,
    # timeouts, 5xx, frequency limits) holds the whole job until ``wait_until``
    # (unix time), when one probe call may go; its failures grow the wait.
    wait_until = models.FloatField(null=True, blank=True)
    wait_since = models.FloatField(null=True, blank=True)
    wait_failures = models.PositiveIntegerField(default=0)
    wait_code = models.IntegerField(null=True, blank=True)
    wait_reason = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["status", "id"], name="job_status_idx"),
            # The announcement sweep's every-minute read stays small as jobs pile up.
            models.Index(
                fields=["finished_at"],
                name="job_unannounced_idx",
                condition=models.Q(notified_at__isnull=True),
            ),
        ]
        permissions = [("run_bulk_jobs", "Can start bulk jobs, retry and cancel them")]

    def __str__(self):
        return f"{self.get_kind_display()} job #{self.pk}"

    @property
    def is_active(self):
        """Not ended yet: queued, running or paused."""
        return self.status not in FINAL_JOB_STATUSES

    @property
    def settled(self):
        """Ended, with every item in its final state (the counts are final)."""
        return self.status in FINAL_JOB_STATUSES and self.finished_at is not None

    @property
    def preparing(self):
        """Rows of its file are still being added (sending may have begun)."""
        return bool(self.options.get("preparing"))

    @property
    def waiting(self):
        """Held back because IM is not answering; see ``wait_until``."""
        return self.wait_until is not None and self.is_active

    @property
    def done_count(self):
        return self.succeeded + self.failed + self.invalid + self.cancelled

    @property
    def remaining(self):
        return max(self.total - self.done_count, 0)

    @property
    def percent(self):
        """The share of the accounts IM answered (or refused); None for 0 of 0.

        Cancelled accounts were never sent, so a cancelled job shows the share
        actually done, not 100.
        """
        if not self.total:
            return None
        answered = self.succeeded + self.failed + self.invalid
        return round(100 * answered / self.total, 1)

    @property
    def error_sentence(self):
        return describe(self.error_code)
