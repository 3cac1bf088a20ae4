"""ScheduledImport: a file or HTTPS URL imported again and again, by django-q2."""

from django.conf import settings
from django.db import models

from accounts.models.jobs import ImportJob


class Frequency(models.TextChoices):
    HOURLY = "hourly", "hourly"
    DAILY = "daily", "daily"
    CRON = "cron", "cron expression"


class ScheduledImport(models.Model):
    """A recurring import; each run is one job with source "schedule".

    ``source`` is a path under SCHEDULED_IMPORT_DIR or an https:// URL on a
    host of SCHEDULED_IMPORT_HOSTS. The django-q2 Schedule that runs it is
    kept in step with this row by ``scheduled_import_save``.
    """

    name = models.CharField(max_length=100, unique=True)
    source = models.CharField(
        max_length=500,
        help_text="a file path under SCHEDULED_IMPORT_DIR, or an https:// URL",
    )
    frequency = models.CharField(
        max_length=10, choices=Frequency.choices, default=Frequency.DAILY
    )
    cron = models.CharField(
        max_length=100, blank=True, help_text='for "cron expression", e.g. 30 2 * * *'
    )
    active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="the owner: runs are audited as this person",
    )
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name
