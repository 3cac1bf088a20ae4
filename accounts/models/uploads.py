"""Upload: a CSV/XLSX file kept between its preview and its job."""

from django.conf import settings
from django.db import models

from accounts.models.choices import (
    UploadStatus,
)
from accounts.models.jobs import ImportJob


class Upload(models.Model):
    """A CSV an admin uploaded: kept outside any public URL until decided."""

    token = models.CharField(max_length=32, unique=True)  # in URLs: not guessable
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL
    )
    file_name = models.CharField(max_length=255)
    size = models.BigIntegerField()
    sha256 = models.CharField(max_length=64)
    encoding = models.CharField(max_length=10, blank=True)
    stored_name = models.CharField(max_length=64, blank=True)  # under UPLOAD_DIR
    status = models.CharField(
        max_length=10, choices=UploadStatus.choices, default=UploadStatus.PREVIEWED
    )
    summary = models.JSONField(default=dict, blank=True)  # the preview's counts
    job = models.ForeignKey(ImportJob, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(auto_now_add=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return self.file_name
