"""ApiCall: every request sent to IM; RateSlot: the limiter's shared row."""

from django.db import models

from accounts.im.errors import describe
from accounts.models.jobs import ImportJob


class ApiCall(models.Model):
    """Every request sent to IM: what, for whom, and what came back. No UserSig."""

    job = models.ForeignKey(
        ImportJob,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,  # call_job_idx (job, id) serves it
        db_constraint=False,  # see JobItem.job
    )
    api = models.CharField(max_length=32)
    account_count = models.PositiveSmallIntegerField()
    user_ids = models.JSONField(default=list)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error_code = models.IntegerField(null=True, blank=True)
    error_info = models.CharField(max_length=500, blank=True)
    fail_accounts = models.JSONField(default=list, blank=True)
    duration_ms = models.FloatField(default=0)
    attempt = models.PositiveSmallIntegerField(default=1)
    created_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["job", "id"], name="call_job_idx")]

    def __str__(self):
        return f"{self.api} ({self.account_count})"

    @property
    def ok(self):
        return self.error_code == 0 and not self.fail_accounts

    @property
    def error_sentence(self):
        return describe(self.error_code)


class RateSlot(models.Model):
    """The next moment an API may be called, shared by every worker and process."""

    api = models.CharField(max_length=32, primary_key=True)
    next_at = models.FloatField(default=0.0)
