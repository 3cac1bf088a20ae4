"""Tracked accounts, jobs, their items, API calls, uploads, audit, limiter rows."""

from django.conf import settings
from django.db import DatabaseError, models

from .im.errors import describe


class AccountState(models.TextChoices):
    PENDING = "pending", "pending"  # known, not queued
    QUEUED = "queued", "queued"
    IMPORTING = "importing", "importing"  # claimed by a worker
    IMPORTED = "imported", "imported"
    FAILED = "failed", "failed"  # may be retried
    INVALID = "invalid", "invalid"  # will not succeed without new data


class RemoteStatus(models.TextChoices):
    UNKNOWN = "", "not checked"
    IMPORTED = "Imported", "Imported"
    NOT_IMPORTED = "NotImported", "NotImported"


class JobKind(models.TextChoices):
    IMPORT = "import", "import"
    CHECK = "check", "check"
    DELETE = "delete", "delete"


class JobSource(models.TextChoices):
    FORM = "form", "form"
    CSV = "csv", "CSV upload"
    ADMIN = "admin", "admin action"
    COMMAND = "command", "command"
    SCHEDULE = "schedule", "schedule"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    DONE = "done", "done"
    DONE_WITH_ERRORS = "done_with_errors", "done with errors"
    STOPPED = "stopped", "stopped"
    CANCELLED = "cancelled", "cancelled"


ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)


class ItemState(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    INVALID = "invalid", "invalid"
    CANCELLED = "cancelled", "cancelled"


OPEN_ITEM_STATES = (ItemState.QUEUED, ItemState.RUNNING)


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
    finished_at = models.DateTimeField(null=True, blank=True)
    # Runners touch this as they work; a stale one means the runner died.
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["status", "id"], name="job_status_idx")]
        permissions = [("run_bulk_jobs", "Can start bulk jobs, retry and cancel them")]

    def __str__(self):
        return f"{self.get_kind_display()} job #{self.pk}"

    @property
    def is_active(self):
        return self.status in ACTIVE_JOB_STATUSES

    @property
    def settled(self):
        return self.succeeded + self.failed + self.invalid + self.cancelled

    @property
    def remaining(self):
        return max(self.total - self.settled, 0)

    @property
    def percent(self):
        return 100 if not self.total else round(100 * self.settled / self.total, 1)

    @property
    def error_sentence(self):
        return describe(self.error_code)


class TrackedAccount(models.Model):
    """An account of the app as imadmin knows it, and what IM is known to hold."""

    user_id = models.CharField("UserID", max_length=32, unique=True)
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
        # Each serves a list filter ordered by newest first, so a page at a
        # million rows reads one index range instead of sorting.
        indexes = [
            models.Index(fields=["state", "id"], name="account_state_idx"),
            models.Index(fields=["remote_status", "id"], name="account_remote_idx"),
            models.Index(fields=["source", "id"], name="account_source_idx"),
            models.Index(fields=["job", "id"], name="account_job_idx"),
            models.Index(fields=["imported_at"], name="account_imported_at_idx"),
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


class JobItem(models.Model):
    """One account's place in one job: the unit workers claim, and its outcome."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="items")
    account = models.ForeignKey(
        TrackedAccount, on_delete=models.CASCADE, related_name="job_items"
    )
    state = models.CharField(
        max_length=10, choices=ItemState.choices, default=ItemState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.FloatField(default=0.0)  # unix time; backoff lives here
    claimed_until = models.FloatField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Send alone (isolates an account IM refuses) / settle with account_check first.
    solo = models.BooleanField(default=False)
    needs_check = models.BooleanField(default=False)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "account"], name="one_item_per_job")
        ]
        indexes = [
            # The claim: open items of a job, oldest due first.
            models.Index(
                fields=["job", "state", "next_attempt_at"], name="item_claim_idx"
            ),
            models.Index(fields=["account", "id"], name="item_account_idx"),
        ]

    @property
    def error_sentence(self):
        return describe(self.error_code)


class ApiCall(models.Model):
    """Every request sent to IM: what, for whom, and what came back. No UserSig."""

    job = models.ForeignKey(
        ImportJob,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
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


class UploadStatus(models.TextChoices):
    PREVIEWED = "previewed", "previewed"
    CONFIRMED = "confirmed", "confirmed"
    CANCELLED = "cancelled", "cancelled"
    REJECTED = "rejected", "rejected"  # unreadable file: nothing kept


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


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", "signed in"
    SIGN_IN_FAILED = "sign_in_failed", "sign-in failed"
    LOCKED_OUT = "locked_out", "locked out"
    SIGN_OUT = "sign_out", "signed out"
    SINGLE_IMPORT = "single_import", "single import"
    CSV_UPLOADED = "csv_uploaded", "CSV uploaded and previewed"
    CSV_CONFIRMED = "csv_confirmed", "CSV confirmed"
    CSV_CANCELLED = "csv_cancelled", "CSV cancelled"
    CSV_REJECTED = "csv_rejected", "CSV rejected"
    ADMIN_ACTION = "admin_action", "admin action"
    JOB_RETRY = "job_retry", "retry failed"
    JOB_CANCEL = "job_cancel", "job cancelled"
    JOB_STARTED = "job_started", "job started"
    JOB_ENDED = "job_ended", "job ended"
    ROLE_CHANGED = "role_changed", "role changed"
    EXPORT = "export", "export"


class AuditEventImmutable(DatabaseError):
    """An update or delete of an audit entry was attempted: the history is append-only.

    A DatabaseError, like the one PostgreSQL's trigger raises for raw SQL.
    """


class AuditEventQuerySet(models.QuerySet):
    """Reads and inserts only: updates and deletes raise AuditEventImmutable."""

    def update(self, **kwargs):
        # Deleting a user sets its entries' actor to NULL (the name stays in
        # actor_name); that one change is allowed, as the database trigger does.
        if kwargs.keys() <= {"actor", "actor_id"} and not any(kwargs.values()):
            return super().update(**kwargs)
        raise AuditEventImmutable("audit entries cannot be updated")

    def delete(self):
        raise AuditEventImmutable("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditEventImmutable("audit entries cannot be updated")

    def update_or_create(self, *args, **kwargs):
        raise AuditEventImmutable("audit entries cannot be updated")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:  # an upsert would overwrite stored entries
            raise AuditEventImmutable("audit entries cannot be updated")
        return super().bulk_create(objs, *args, **kwargs)

    async def aupdate(self, **kwargs):
        raise AuditEventImmutable("audit entries cannot be updated")

    async def adelete(self):
        raise AuditEventImmutable("audit entries cannot be deleted")


class AuditEvent(models.Model):
    """One human action or job outcome. Append-only: never updated, never deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept if the user goes
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=20, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    user_id = models.CharField("UserID", max_length=32, blank=True)  # the IM account
    job_id = models.BigIntegerField(null=True, blank=True)
    result = models.CharField(max_length=20, default="ok")
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # Related lookups and deletion cascades use the guarded manager too.
        base_manager_name = "objects"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["action", "id"], name="audit_action_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["user_id", "id"], name="audit_userid_idx"),
            models.Index(fields=["job_id", "id"], name="audit_job_idx"),
        ]
        permissions = [("export_audit", "Can export the audit history and records")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, **kwargs):
        """Insert a new entry; saving one already stored raises AuditEventImmutable."""
        if not self._state.adding or kwargs.get("update_fields") is not None:
            raise AuditEventImmutable("audit entries cannot be updated")
        # Never an UPDATE, even for an instance built with an existing id.
        kwargs["force_insert"] = True
        super().save(**kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("audit entries cannot be deleted")
