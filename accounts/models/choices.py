"""The states, kinds and sources every model and rule speaks of."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AccountState(models.TextChoices):
    PENDING = "pending", _("pending")  # known, not queued
    QUEUED = "queued", _("queued")
    IMPORTING = "importing", _("importing")  # set by earlier versions, not any more
    IMPORTED = "imported", _("imported")
    FAILED = "failed", _("failed")  # may be retried
    INVALID = "invalid", _("invalid")  # will not succeed without new data


class RemoteStatus(models.TextChoices):
    UNKNOWN = "", _("not checked")
    IMPORTED = "Imported", "Imported"
    NOT_IMPORTED = "NotImported", "NotImported"


class JobKind(models.TextChoices):
    IMPORT = "import", _("import")
    CHECK = "check", _("check")
    DELETE = "delete", _("delete")


class JobSource(models.TextChoices):
    FORM = "form", _("form")
    CSV = "csv", _("CSV upload")
    ADMIN = "admin", _("admin action")
    COMMAND = "command", _("command")
    SCHEDULE = "schedule", _("schedule")
    API = "api", "API"


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("queued")
    RUNNING = "running", _("running")
    DONE = "done", _("done")
    DONE_WITH_ERRORS = "done_with_errors", _("done with errors")
    PAUSED = "paused", _("paused: needs attention")
    STOPPED = "stopped", _("stopped")
    CANCELLED = "cancelled", _("cancelled")


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
    QUEUED = "queued", _("queued")  # a claimed one carries a lease (claimed_until)
    RUNNING = "running", _("running")  # set by earlier versions, not any more
    SUCCEEDED = "succeeded", _("succeeded")
    FAILED = "failed", _("failed")
    INVALID = "invalid", _("invalid")
    CANCELLED = "cancelled", _("cancelled")


OPEN_ITEM_STATES = (ItemState.QUEUED, ItemState.RUNNING)


class UploadStatus(models.TextChoices):
    PREVIEWING = "previewing", _("being read")  # a large file, read by a worker
    PREVIEWED = "previewed", _("previewed")
    CONFIRMED = "confirmed", _("confirmed")
    CANCELLED = "cancelled", _("cancelled")
    REJECTED = "rejected", _("rejected")  # unreadable file: nothing kept


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", _("signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("sign-in failed")
    LOCKED_OUT = "locked_out", _("locked out")
    SIGN_OUT = "sign_out", _("signed out")
    PASSWORD_CHANGED = "password_changed", _("password changed")
    PASSWORD_REFUSED = "password_refused", _("password change refused")
    SINGLE_IMPORT = "single_import", _("single import")
    CSV_UPLOADED = "csv_uploaded", _("CSV uploaded and previewed")
    CSV_CONFIRMED = "csv_confirmed", _("CSV confirmed")
    CSV_CANCELLED = "csv_cancelled", _("CSV cancelled")
    CSV_REJECTED = "csv_rejected", _("CSV rejected")
    ADMIN_ACTION = "admin_action", _("admin action")
    JOB_RETRY = "job_retry", _("retry failed")
    JOB_CANCEL = "job_cancel", _("job cancelled")
    JOB_RESUME = "job_resume", _("job resumed")
    JOB_STARTED = "job_started", _("job started")
    JOB_ENDED = "job_ended", _("job ended")
    ROLE_CHANGED = "role_changed", _("role changed")
    EXPORT = "export", _("export")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")
    WEBHOOK_SAVED = "webhook_saved", _("webhook saved")
    WEBHOOK_DELETED = "webhook_deleted", _("webhook deleted")
    SCHEDULE_SAVED = "schedule_saved", _("scheduled import saved")
    SCHEDULE_DELETED = "schedule_deleted", _("scheduled import deleted")
    NOTIFY_PREFS_SET = "notify_prefs_set", _("notification choices set")
    PRUNE = "prune", _("old records pruned")
