"""TrackedAccount: an app account as imadmin knows it, and as IM last said."""

from django.db import models
from django.db.models.functions import Lower

from accounts.im.errors import describe
from accounts.models.choices import (
    AccountState,
    JobSource,
    RemoteStatus,
)
from accounts.models.jobs import ImportJob


class TrackedAccount(models.Model):
    """An account of the app as imadmin knows it, and what IM is known to hold."""

    user_id = models.CharField("UserID", max_length=32)
    nick = models.CharField(max_length=500, blank=True)
    face_url = models.CharField("avatar URL", max_length=500, blank=True)
    source = models.CharField(max_length=10, choices=JobSource.choices, blank=True)
    state = models.CharField(
        max_length=10, choices=AccountState.choices, default=AccountState.PENDING
    )
    last_error_code = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    job = models.ForeignKey(
        ImportJob,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The job that last touched this account.",
        db_index=False,  # account_job_idx (job, id) serves it
        db_constraint=False,  # see JobItem.job
    )
    remote_status = models.CharField(
        max_length=12, choices=RemoteStatus.choices, blank=True, default=""
    )
    checked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    imported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        permissions = [("import_single", "Can import one account through the form")]
        # A constraint rather than unique=True: PostgreSQL then builds no second
        # (varchar_pattern_ops) index, which every imported row paid for. The
        # project's databases sort by code point ("C"), so the one index also
        # serves prefix searches.
        constraints = [
            models.UniqueConstraint(fields=["user_id"], name="account_user_id_uniq")
        ]
        # Each serves a list filter ordered by newest first, so a page at a
        # million rows reads one index range instead of sorting.
        indexes = [
            models.Index(fields=["state", "id"], name="account_state_idx"),
            models.Index(fields=["remote_status", "id"], name="account_remote_idx"),
            models.Index(fields=["source", "id"], name="account_source_idx"),
            models.Index(fields=["job", "id"], name="account_job_idx"),
            models.Index(fields=["imported_at"], name="account_imported_at_idx"),
            # The nickname search: a prefix range on the lowered nickname, read
            # in (nickname, id) order, so its first page needs no sort.
            models.Index(Lower("nick"), "id", name="account_nick_lower_idx"),
        ]

    def __str__(self):
        return self.user_id

    @property
    def drifted(self):
        """Imported here, but IM said NotImported when last checked."""
        return (
            self.state == AccountState.IMPORTED
            and self.remote_status == RemoteStatus.NOT_IMPORTED
        )

    @property
    def error_sentence(self):
        return describe(self.last_error_code)
