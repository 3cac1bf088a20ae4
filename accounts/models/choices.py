"""The states, kinds and sources every model and rule speaks of."""

from django.db import models


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
    API = "api", "API"


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


class UploadStatus(models.TextChoices):
    PREVIEWING = "previewing", "being read"  # a large file, read by a worker
    PREVIEWED = "previewed", "previewed"
    CONFIRMED = "confirmed", "confirmed"
    CANCELLED = "cancelled", "cancelled"
    REJECTED = "rejected", "rejected"  # unreadable file: nothing kept


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", "signed in"
    SIGN_IN_FAILED = "sign_in_failed", "sign-in failed"
    LOCKED_OUT = "locked_out", "locked out"
    SIGN_OUT = "sign_out", "signed out"
    PASSWORD_CHANGED = "password_changed", "password changed"
    PASSWORD_REFUSED = "password_refused", "password change refused"
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
    TOKEN_CREATED = "token_created", "API token created"
    TOKEN_REVOKED = "token_revoked", "API token revoked"
    WEBHOOK_SAVED = "webhook_saved", "webhook saved"
    WEBHOOK_DELETED = "webhook_deleted", "webhook deleted"
    SCHEDULE_SAVED = "schedule_saved", "scheduled import saved"
    SCHEDULE_DELETED = "schedule_deleted", "scheduled import deleted"
    NOTIFY_PREFS_SET = "notify_prefs_set", "notification choices set"
    PRUNE = "prune", "old records pruned"
