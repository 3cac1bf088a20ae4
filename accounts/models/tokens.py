"""ApiToken: a key for the JSON API, acting as its user; IdempotencyKey: one job a key.

Only a SHA-256 hash of a token is stored: the raw value is shown once, by the
command that makes it, and can never be read back. Its prefix (in the clear,
also inside the token) finds the row without comparing hashes of every token.
"""

from django.conf import settings
from django.db import models

from accounts.models.jobs import ImportJob


class ApiToken(models.Model):
    """One API token: whose it is, what it is for, when it was last used."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    label = models.CharField(max_length=100, blank=True)
    prefix = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField("SHA-256 of the token", max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    # Written at most once a minute, not on every request.
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "API token"

    def __str__(self):
        return f"{self.prefix} ({self.label or 'no label'})"

    @property
    def revoked(self):
        return self.revoked_at is not None


class IdempotencyKey(models.Model):
    """An ``Idempotency-Key`` a user sent with a job request, and the job it made.

    Unique per user, so two requests with one key cannot both make a job: the
    second one's insert waits for the first's transaction and then fails.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    key = models.CharField(max_length=255)
    # SHA-256 of the request as validated: the same key with another body is refused.
    fingerprint = models.CharField(max_length=64)
    job = models.ForeignKey(
        ImportJob, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    invalid = models.JSONField(default=list, blank=True)  # the first answer's
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="one_job_per_key")
        ]
