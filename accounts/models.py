"""Tracked accounts, jobs, their items, API calls, uploads, audit, limiter rows."""

from django.conf import settings
from django.db import DatabaseError, models

from .im.errors import describe


class AccountState(models.TextChoices):
    PENDING = "pending", "pending"  # known, not queued
    QUEUED = "queued", "queued"
    IMPORTING = "importing", "importing"  # set by earlier versions, not any more
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
    PAUSED = "paused", "paused: needs attention"
    STOPPED = "stopped", "stopped"
    CANCELLED = "cancelled", "cancelled"


# Statuses in which a job's items may still be sent.
ACTIVE_JOB_STATUSES = (JobStatus.QUEUED, JobStatus.RUNNING)
# Statuses from which a job never moves on: its counts are final once it is
# settled (``finished_at`` set), which may come a moment later than the status.
FINAL_JOB_STATUSES = (
    JobStatus.DONE,
    JobStatus.DONE_WITH_ERRORS,
    JobStatus.STOPPED,
    JobStatus.CANCELLED,
)


class ItemState(models.TextChoices):
    QUEUED = "queued", "queued"  # a claimed one carries a lease (claimed_until)
    RUNNING = "running", "running"  # set by earlier versions, not any more
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
    # Set once the job has ended and its counts are final (see FINAL_JOB_STATUSES).
    finished_at = models.DateTimeField(null=True, blank=True)
    # Engines and preparations touch this as they work on the job.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
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
        indexes = [models.Index(fields=["status", "id"], name="job_status_idx")]
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
        return 100 if not self.total else round(100 * self.done_count / self.total, 1)

    @property
    def error_sentence(self):
        return describe(self.error_code)


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

    # Neither foreign key has an index of its own: one_item_per_job (job,
    # account) and item_account_idx (account, id) serve them, and each index
    # less is one write less per item of a million-row import. Nor a database
    # constraint: PostgreSQL checks each one with a trigger per inserted row,
    # which cost a sixth of a preparation's database time (measured), while
    # the only writers of these rows (the preparation, the services) insert
    # them from accounts and jobs they have just read or created, and nothing
    # deletes a job or an account but Django's own cascade.
    job = models.ForeignKey(
        ImportJob,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )
    account = models.ForeignKey(
        TrackedAccount,
        on_delete=models.CASCADE,
        related_name="job_items",
        db_index=False,
        db_constraint=False,
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
    line = models.PositiveIntegerField(null=True, blank=True)  # in the job's file

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "account"], name="one_item_per_job")
        ]
        indexes = [
            # The claim: due items of a job in the claim's own order (job and
            # state equal, then next_attempt_at, id), so a claim reads about as
            # many index entries as it takes, however long the queue is.
            models.Index(
                fields=["job", "state", "next_attempt_at", "id"],
                name="item_claim_idx",
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
    JOB_RESUME = "job_resume", "job resumed"
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
