"""Uploads: receive a CSV or XLSX file, preview it, then confirm it into one job.

The file is kept under ``settings.UPLOAD_DIR`` (mode 0600 in a 0700 directory,
never under a URL) from the upload until its job is prepared, or it is
cancelled, rejected or expired, and read again with ``reader.open_rows`` at
each step (a CSV streamed, an XLSX sheet held while it is read). State changes
are conditional updates of ``Upload.status``: two confirms of one upload start
one job.

Confirming returns at once with a job that is ``preparing``; a task
(``upload_prepare``) reads the file into it chunk by chunk, each chunk its own
short transaction (see ``preparation``), then starts it.
"""

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop
from django_q.tasks import async_task

from accounts import services
from accounts.audit.records import audit_record
from accounts.models import (
    AuditAction,
    JobSource,
    Upload,
    UploadStatus,
)
from accounts.services.preparation import (
    PREPARING_STATUSES,
    PreparationEnded,
)
from accounts.uploads.files import (
    NO_FILE,
    FileChanged,
    UploadError,
    UploadTooLarge,
    file_delete,
    file_open,
    file_store,
    file_verify,
    too_large_message,
    upload_dir,
)
from accounts.uploads.preview import COUNTS, preview, upload_invalid_rows
from accounts.uploads.reader import ENCODINGS, CsvFormatError, open_rows, read_error
from accounts.uploads.sources import is_xlsx

UNDECIDED = (UploadStatus.PREVIEWING, UploadStatus.PREVIEWED)
NOTHING_TO_SEND = gettext_noop(
    "Nothing to import: every valid row is already imported with the same "
    "profile, or busy in another running job."
)
# An XLSX reads about this many times slower than a CSV of the same size
# (docs/BENCHMARKS.md): the size above which a worker previews it is divided by it.
XLSX_SLOWER = 10

# The uploads API for views, commands and tasks: these services, their errors,
# the preview's counts and the invalid rows of a previewed file.
__all__ = [
    "COUNTS",
    "UploadError",
    "UploadTooLarge",
    "too_large_message",
    "upload_cancel",
    "upload_confirm",
    "upload_invalid_rows",
    "upload_prepare",
    "upload_preview_run",
    "upload_receive",
    "uploads_cleanup",
]


def upload_receive(*, file, encoding, user, request=None, background=True):
    """Store an uploaded file privately and preview it; return the Upload.

    ``file`` is a Django UploadedFile (a CSV or an XLSX), ``encoding`` a key of
    reader.ENCODINGS, ``request`` (optional) gives the audit entry its address.
    A file above ``settings.UPLOAD_PREVIEW_SYNC_BYTES`` (an XLSX above a tenth
    of it) returns at once, ``previewing``: a task reads it (``upload_preview_run``),
    unless ``background`` is False (a caller that is a worker task already).
    Raises UploadError when the file is too large or unreadable: the file is
    deleted then, and an Upload with status ``rejected`` records why. Each call
    makes a new Upload.
    """
    if encoding not in ENCODINGS:
        raise UploadError(f"Unknown encoding {encoding!r}.")
    upload = Upload(
        token=secrets.token_hex(16),
        created_by=user,
        file_name=(file.name or "upload.csv")[:255],
        size=file.size or 0,
        encoding=encoding,
    )
    try:
        upload.stored_name, upload.size, upload.sha256 = file_store(file)
    except UploadError as exc:
        _rejected(upload, str(exc), user, request)
        raise
    if background and _in_background(upload):
        return _preview_later(upload)
    return _preview_now(upload, user, request)


def _preview_now(upload, user, request):
    try:
        upload.encoding, upload.summary = preview(upload.stored_name, upload.encoding)
        with transaction.atomic():
            upload.save()
            _audit(AuditAction.CSV_UPLOADED, upload, user, request, _details(upload))
        return upload
    except CsvFormatError as exc:
        file_delete(upload.stored_name)
        _rejected(upload, str(exc), user, request)
        raise UploadError(str(exc)) from None
    except BaseException:
        file_delete(upload.stored_name)
        raise


def _in_background(upload):
    limit = settings.UPLOAD_PREVIEW_SYNC_BYTES
    with file_open(upload.stored_name) as stream:
        if is_xlsx(stream):
            limit //= XLSX_SLOWER
    return upload.size > limit


def _preview_later(upload):
    upload.status = UploadStatus.PREVIEWING
    upload.summary = {"progress": {"rows": 0, "fraction": 0.0}}
    with transaction.atomic():
        upload.save()
        transaction.on_commit(
            lambda: async_task(
                "accounts.tasks.upload_preview",
                upload.pk,
                task_name=f"preview-{upload.pk}",
                group="preview",
            )
        )
    return upload


def upload_preview_run(*, upload):
    """Preview an upload that is ``previewing``; True if this call did.

    Writes its progress (rows read, fraction of the file) to the summary about
    twice a second, then the summary and ``previewed``, or ``rejected`` with
    the reason for a file that cannot be read. Returns False, changing
    nothing, when the upload is no longer previewing (cancelled meanwhile, or
    a second delivery of the task).
    """
    waiting = Upload.objects.filter(pk=upload.pk, status=UploadStatus.PREVIEWING)
    if not waiting.exists():
        return False

    def progress(rows, fraction):
        waiting.update(summary={"progress": {"rows": rows, "fraction": fraction}})

    try:
        encoding, summary = preview(upload.stored_name, upload.encoding, progress)
    except (CsvFormatError, OSError) as exc:
        reason = read_error(exc, "The stored file")
        _reject(upload, UploadStatus.PREVIEWING, reason, upload.created_by, None)
        return True
    with transaction.atomic():
        done = waiting.update(
            status=UploadStatus.PREVIEWED, encoding=encoding, summary=summary
        )
        if done:
            upload.refresh_from_db()
            details = _details(upload)
            _audit(AuditAction.CSV_UPLOADED, upload, upload.created_by, None, details)
    return bool(done)


def _details(upload):
    return {
        "file_name": upload.file_name,
        "size": upload.size,
        "sha256": upload.sha256,
        "encoding": upload.encoding,
        **_counts(upload.summary),
    }


def _rejected(upload, reason, user, request):
    upload.status, upload.stored_name = UploadStatus.REJECTED, ""
    upload.summary, upload.decided_at = {"error": reason}, timezone.now()
    upload.save()
    details = {
        "file_name": upload.file_name,
        "size": upload.size,
        "sha256": upload.sha256,
        "reason": reason,
    }
    _audit(AuditAction.CSV_REJECTED, upload, user, request, details, result="rejected")


def _audit(action, upload, user, request, details=None, job_id=None, result="ok"):
    audit_record(
        action=action,
        request=request,
        actor=user,
        object_type="upload",
        object_id=upload.pk,
        job_id=job_id,
        result=result,
        details=details or {"file_name": upload.file_name},
    )


def upload_confirm(
    *, upload, user, request=None, source=JobSource.CSV, keep_empty=False
):
    """Confirm a previewed upload; return its import job, prepared in the background.

    Returns at once: the job is created queued and ``preparing`` (total 0), and
    a task (``upload_prepare``) reads the file into it in short transactions,
    then starts it; ``source`` is the job's (a scheduled import's run gives
    its own). Safe to call again, from any number of requests at once:
    the upload is claimed with a conditional update in the transaction that
    creates the job, so one job is created and later calls return it. Raises
    UploadError when the upload has no valid row or nothing to send (it stays
    previewed), is still being read, was cancelled or rejected, or its file is
    gone (it is rejected then). With ``keep_empty`` (a scheduled run, whose
    every run is a job) valid rows with nothing to send make a job done at once.
    """
    if upload.status == UploadStatus.PREVIEWED:
        _check_confirmable(upload, user, request, keep_empty)
    with transaction.atomic():
        claimed = Upload.objects.filter(
            pk=upload.pk, status=UploadStatus.PREVIEWED
        ).update(status=UploadStatus.CONFIRMED, decided_at=timezone.now())
        if not claimed:
            return _decided_job(upload)
        job = services.job_prepare_create(
            source=source,
            user=user,
            label=upload.file_name,
            options={"upload": upload.pk},
        )
        Upload.objects.filter(pk=upload.pk).update(job=job)
        details = {"file_name": upload.file_name, **_counts(upload.summary)}
        _audit(AuditAction.CSV_CONFIRMED, upload, user, request, details, job_id=job.pk)
        services.job_prepare_enqueue(job_id=job.pk)
    upload.refresh_from_db()
    return job


def _check_confirmable(upload, user, request, keep_empty):
    """Raise UploadError unless the previewed ``upload`` has rows to send and a file."""
    if not upload.summary.get("valid"):
        raise UploadError(
            gettext("The file has no valid rows: there is nothing to import.")
        )
    if not upload.summary.get("to_send") and not keep_empty:
        raise UploadError(gettext(NOTHING_TO_SEND))
    try:
        file_open(upload.stored_name).close()
    except OSError as exc:
        reason = exc.strerror
        _reject_at_confirm(upload, reason, user, request)
        raise UploadError(
            gettext("The file can no longer be read: %(reason)s") % {"reason": reason}
        ) from None


def _counts(summary):
    return {name: summary.get(name, 0) for name in (*COUNTS, "to_send")}


def _decided_job(upload):
    upload.refresh_from_db()
    if upload.status == UploadStatus.CONFIRMED:
        return upload.job
    if upload.status == UploadStatus.REJECTED:
        raise UploadError(
            gettext("This upload was rejected: %(reason)s")
            % {"reason": upload.summary.get("error")}
        )
    if upload.status == UploadStatus.PREVIEWING:
        raise UploadError(
            gettext("The file is still being read; confirm it once it is.")
        )
    raise UploadError(gettext("This upload was cancelled; upload the file again."))


def _reject_at_confirm(upload, reason, user, request):
    _reject(upload, UploadStatus.PREVIEWED, reason, user, request)
    upload.refresh_from_db()


def _reject(upload, from_status, reason, user, request, job_id=None):
    """Mark ``upload`` rejected if still ``from_status``; delete its file; audit."""
    rejected = Upload.objects.filter(pk=upload.pk, status=from_status).update(
        status=UploadStatus.REJECTED,
        decided_at=timezone.now(),
        stored_name="",
        summary={**upload.summary, "error": reason},
    )
    file_delete(upload.stored_name)
    if rejected:
        details = {"file_name": upload.file_name, "reason": reason}
        _audit(
            AuditAction.CSV_REJECTED,
            upload,
            user,
            request,
            details,
            job_id=job_id,
            result="rejected",
        )


# -- the preparation (a task) -------------------------------------------------------


def upload_prepare(*, job, seconds=None):
    """Read the confirmed upload of ``job`` into it; once all is in, the job starts.

    Works for up to ``seconds`` (whole chunks), then returns True: more remains,
    call again (it resumes after the last chunk written). Returns False when
    there is nothing left to do: the job started, ended with nothing to send,
    was cancelled or stopped. A file that cannot be read, or that differs from
    the one previewed, stops the job with a sentence saying why and rejects
    the upload. Safe to run twice, at once, or again after a crash.
    """
    upload = Upload.objects.filter(job=job).first()
    preparing = job.status in PREPARING_STATUSES and job.preparing
    if upload is None or not upload.stored_name:
        if preparing:  # not expected: the file is kept until the job is prepared
            services.job_prepare_stop(job=job, message=NO_FILE)
        return False
    if not preparing:
        _file_done(upload, job)  # cancelled before this task ran, or a rerun
        return False
    try:
        if not _fill(upload, job, seconds):
            return True
    except PreparationEnded:
        job.refresh_from_db()
        if job.status in PREPARING_STATUSES and job.preparing:
            return False  # another task is filling it and keeps the file
        _file_done(upload, job)
        return False
    except (CsvFormatError, FileChanged, OSError) as exc:
        if not _prepare_failed(upload, job, _reason(exc)):
            raise  # raised after the job was prepared: not the file's fault
        return False
    _file_done(upload, job)
    return False


def _reason(exc):
    if isinstance(exc, FileChanged):
        return "the stored file changed after its preview (its SHA-256 differs)."
    return read_error(exc, "the stored file")


def _fill(upload, job, seconds):
    """Read the stored file into the job for ``seconds``; True once all is in."""
    with file_open(upload.stored_name) as stream:
        file_verify(stream, upload.sha256)
        reader = open_rows(
            stream,
            encoding=upload.encoding,
            max_rows=settings.UPLOAD_MAX_ROWS,
            find_duplicates=False,  # the job finds them: memory stays flat
        )
        rows = (row.as_account() for row in reader if not row.error)
        return services.job_prepare_rows(job=job, rows=rows, seconds=seconds)


def _file_done(upload, job):
    """The job needs the file no more: record what it queued, delete the file."""
    job.refresh_from_db()
    upload.summary = {**upload.summary, "sent": job.options.get("summary", {})}
    Upload.objects.filter(pk=upload.pk).update(stored_name="", summary=upload.summary)
    file_delete(upload.stored_name)
    upload.stored_name = ""


def _prepare_failed(upload, job, reason):
    """Stop the job with a sentence, reject the upload, delete the file.

    Returns False, changing nothing, when the job was no longer preparing.
    """
    job.refresh_from_db(fields=["total"])
    after = (
        "The accounts queued and not yet sent are back to pending; upload the "
        "file again (accounts already imported are skipped)."
        if job.total
        else "Nothing was sent to IM; upload the file again."
    )
    message = f"Stopped while reading {upload.file_name}: {reason} {after}"
    if not services.job_prepare_stop(job=job, message=message):
        return False
    _reject(upload, UploadStatus.CONFIRMED, reason, upload.created_by, None, job.pk)
    return True


def upload_cancel(*, upload, user, request=None, reason="cancelled"):
    """Cancel a previewed upload and delete its file; return True if this call did.

    Returns False, changing nothing, when the upload was already confirmed,
    cancelled or rejected: a second call is harmless. ``reason`` goes to the
    audit entry.
    """
    cancelled = Upload.objects.filter(pk=upload.pk, status__in=UNDECIDED).update(
        status=UploadStatus.CANCELLED, decided_at=timezone.now(), stored_name=""
    )
    if cancelled:
        file_delete(upload.stored_name)
        details = {"file_name": upload.file_name, "reason": reason}
        _audit(AuditAction.CSV_CANCELLED, upload, user, request, details)
    upload.refresh_from_db()
    return bool(cancelled)


def uploads_cleanup(*, older_than=timedelta(hours=24)):
    """Cancel previewed uploads older than ``older_than`` and delete their files.

    Also deletes files in UPLOAD_DIR that no previewed upload, nor a confirmed
    one whose job is still preparing, refers to and that are as old (left by a
    crash between storing a file and recording it, or by a cancelled
    preparation whose task never ran).
    Returns the number of files deleted. Safe to run at any time, any number of
    times, alongside uploads, confirms and cancels.
    """
    cutoff = timezone.now() - older_than
    # A preview whose worker died stays "previewing": it goes the same way.
    stale = Upload.objects.filter(status__in=UNDECIDED, created_at__lt=cutoff)
    deleted = sum(
        upload_cancel(upload=upload, user=None, reason="expired")
        for upload in list(stale)
    )
    preparing = Q(
        status=UploadStatus.CONFIRMED,
        job__status__in=PREPARING_STATUSES,
        job__options__preparing=True,
    )
    kept = set(
        Upload.objects.filter(Q(status__in=UNDECIDED) | preparing)
        .exclude(stored_name="")
        .values_list("stored_name", flat=True)
    )
    for path in upload_dir().iterdir():
        if path.name not in kept and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
