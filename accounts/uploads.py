"""CSV uploads: receive a file, preview it, then confirm it into one import job.

The file is kept under ``settings.UPLOAD_DIR`` (mode 0600 in a 0700 directory,
never under a URL) from the upload until it is confirmed, cancelled, rejected
or expired, and read again with ``csv_reader`` at each step, so memory stays
bounded whatever its size. State changes are conditional updates of
``Upload.status``: two confirms of one upload start one job.
"""

import hashlib
import os
import secrets
from collections import Counter
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from . import services
from .audit import audit_record
from .csv_reader import ENCODINGS, CsvFormatError, open_csv
from .models import (
    AccountState,
    AuditAction,
    JobSource,
    TrackedAccount,
    Upload,
    UploadStatus,
)

PREVIEW_INVALID_ROWS = 20
SHOWN_CHARS = 80  # of a UserID or nickname in the preview: a cell may be 64 KiB
DUPLICATE_PREFIX = "Duplicate of line"  # csv_reader's wording
# What the preview counts: rows read, and what an import of the valid ones would do.
COUNTS = (
    "rows",
    "valid",
    "invalid",
    "duplicates",
    "new",
    "update",
    "resend",
    "unchanged",
    "busy",
)


class UploadError(ValueError):
    """The upload cannot go on; ``str()`` says why in plain words for the uploader."""


class UploadTooLarge(UploadError):
    """The file is above ``settings.UPLOAD_MAX_BYTES``."""


# -- the stored file ---------------------------------------------------------------


def _upload_dir():
    directory = Path(settings.UPLOAD_DIR)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    return directory


def _file_path(stored_name):
    return Path(settings.UPLOAD_DIR) / stored_name if stored_name else None


def _file_delete(stored_name):
    if path := _file_path(stored_name):
        path.unlink(missing_ok=True)


def _file_open(stored_name):
    return open(_file_path(stored_name), "rb")


def _file_store(file):
    """Copy an UploadedFile to a new private file; return (name, size, sha256)."""
    limit = settings.UPLOAD_MAX_BYTES
    if file.size is not None and file.size > limit:
        raise UploadTooLarge(too_large_message(limit))
    name = secrets.token_hex(16)
    path = _upload_dir() / name
    digest, size = hashlib.sha256(), 0
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in file.chunks():
                size += len(chunk)
                if size > limit:
                    raise UploadTooLarge(too_large_message(limit))
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return name, size, digest.hexdigest()


def too_large_message(limit):
    return (
        f"The file is larger than the limit of {filesizeformat(limit)}; "
        "split it into smaller files."
    )


# -- the preview ---------------------------------------------------------------------


def _preview(stored_name, encoding):
    """One pass over the file: (detected encoding, summary). Raises CsvFormatError."""
    counts, sample, chunk = Counter({name: 0 for name in COUNTS}), [], []
    with _file_open(stored_name) as stream:
        reader = open_csv(stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS)
        for row in reader:
            counts["rows"] += 1
            if row.error:
                counts["invalid"] += 1
                counts["duplicates"] += row.error.startswith(DUPLICATE_PREFIX)
                if len(sample) < PREVIEW_INVALID_ROWS:
                    sample.append(_shown(row))
                continue
            counts["valid"] += 1
            chunk.append(row)
            if len(chunk) == services.CHUNK:
                _classify(chunk, counts)
                chunk = []
        _classify(chunk, counts)
    summary = dict(counts)
    summary["to_send"] = counts["new"] + counts["update"] + counts["resend"]
    summary["columns"] = sorted(reader.columns, key=reader.columns.get)
    summary["unknown_columns"] = reader.unknown_columns
    summary["invalid_sample"] = sample
    return reader.encoding, summary


def _shown(row):
    return {
        "line": row.line,
        "user_id": _clip(row.user_id),
        "nick": _clip(row.nick),
        "error": row.error,
    }


def _clip(text):
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _classify(rows, counts):
    """Count what an import of these valid rows would do, as accounts_upsert decides."""
    if not rows:
        return
    known = {
        values[0]: values[1:]
        for values in TrackedAccount.objects.filter(
            user_id__in=[r.user_id for r in rows]
        ).values_list("user_id", "state", "nick", "face_url")
    }
    for row in rows:
        account = known.get(row.user_id)
        if account is None:
            counts["new"] += 1
        elif account[0] in services.BUSY_STATES:
            counts["busy"] += 1
        elif _profile_changes(account[1], account[2], row):
            counts["update"] += 1
        elif account[0] != AccountState.IMPORTED:
            counts["resend"] += 1
        else:
            counts["unchanged"] += 1


def _profile_changes(nick, face_url, row):
    # An empty cell keeps the stored value (services._new_profile).
    return bool(
        (row.nick and row.nick != nick) or (row.face_url and row.face_url != face_url)
    )


# -- the services ---------------------------------------------------------------------


def upload_receive(*, file, encoding, user, request=None):
    """Store an uploaded CSV privately and preview it; return the previewed Upload.

    ``file`` is a Django UploadedFile, ``encoding`` a key of csv_reader.ENCODINGS,
    ``request`` (optional) gives the audit entry its address. Raises UploadError
    when the file is too large or unreadable: the file is deleted then, and an
    Upload with status ``rejected`` records why. Each call makes a new Upload.
    """
    if encoding not in ENCODINGS:
        raise UploadError(f"Unknown encoding {encoding!r}.")
    upload = Upload(
        token=secrets.token_hex(16),
        created_by=user,
        file_name=(file.name or "upload.csv")[:255],
        size=file.size or 0,
    )
    try:
        upload.stored_name, upload.size, upload.sha256 = _file_store(file)
    except UploadError as exc:
        _rejected(upload, str(exc), user, request)
        raise
    try:
        upload.encoding, upload.summary = _preview(upload.stored_name, encoding)
        with transaction.atomic():
            upload.save()
            _audit(AuditAction.CSV_UPLOADED, upload, user, request, _details(upload))
        return upload
    except CsvFormatError as exc:
        _file_delete(upload.stored_name)
        _rejected(upload, str(exc), user, request)
        raise UploadError(str(exc)) from None
    except BaseException:
        _file_delete(upload.stored_name)
        raise


def _details(upload):
    counts = {name: upload.summary.get(name, 0) for name in (*COUNTS, "to_send")}
    return {
        "file_name": upload.file_name,
        "size": upload.size,
        "sha256": upload.sha256,
        "encoding": upload.encoding,
        **counts,
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


def upload_invalid_rows(*, upload):
    """The invalid rows of a previewed upload: an InvalidRows to iterate, then close.

    Opens the stored file before returning, so a file that is gone raises
    UploadError here rather than midway through a download. Read-only: safe to
    call any number of times while the upload is previewed.
    """
    if upload.status != UploadStatus.PREVIEWED or not upload.stored_name:
        raise UploadError(
            "The file is no longer kept: it is deleted once the upload is "
            f"{upload.get_status_display()}."
        )
    try:
        stream = _file_open(upload.stored_name)
    except FileNotFoundError:
        raise UploadError("The file is no longer kept; upload it again.") from None
    return InvalidRows(stream, upload.encoding)


class InvalidRows:
    """Iterate for the csv_reader Rows with an error; ``close()`` the file after."""

    def __init__(self, stream, encoding):
        self._stream = stream
        try:
            # The preview read this file already: it opens and reads the same way.
            self._reader = open_csv(
                stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS
            )
        except BaseException:
            stream.close()
            raise

    def __iter__(self):
        return (row for row in self._reader if row.error)

    def close(self):
        self._stream.close()


def upload_confirm(*, upload, user, request=None):
    """Import the valid rows of a previewed upload as one job; return the job.

    Returns None when no row needed sending (every account already imported
    with the same profile, or busy in another job). Safe to call again, from
    any number of requests at once: the upload is claimed with a conditional
    update in the transaction that creates the job, so one job is started and
    later calls return it. Raises UploadError when the upload has no valid row
    (it stays previewed), was cancelled or rejected, or its file can no longer
    be read (it is rejected then, and nothing is imported).
    """
    if upload.status == UploadStatus.PREVIEWED and not upload.summary.get("valid"):
        raise UploadError("The file has no valid rows: there is nothing to import.")
    try:
        with transaction.atomic():
            claimed = Upload.objects.filter(
                pk=upload.pk, status=UploadStatus.PREVIEWED
            ).update(status=UploadStatus.CONFIRMED, decided_at=timezone.now())
            if not claimed:
                return _decided_job(upload)
            _import(upload, user, request)
    except (CsvFormatError, OSError) as exc:
        reason = str(exc) if isinstance(exc, CsvFormatError) else exc.strerror
        _reject_at_confirm(upload, reason, user, request)
        raise UploadError(f"The file can no longer be read: {reason}") from None
    _file_delete(upload.stored_name)
    upload.refresh_from_db()
    return upload.job


def _import(upload, user, request):
    with _file_open(upload.stored_name) as stream:
        reader = open_csv(
            stream, encoding=upload.encoding, max_rows=settings.UPLOAD_MAX_ROWS
        )
        rows = (row.as_account() for row in reader if not row.error)
        try:
            job, summary = services.accounts_import_rows(
                rows=rows,
                source=JobSource.CSV,
                user=user,
                label=upload.file_name,
                options={"upload": upload.pk},
            )
        except services.NothingToDo:
            job, summary = None, None
    upload.summary = {**upload.summary, "sent": asdict(summary) if summary else {}}
    Upload.objects.filter(pk=upload.pk).update(
        job=job, summary=upload.summary, stored_name=""
    )
    details = {"file_name": upload.file_name, **upload.summary["sent"]}
    _audit(
        AuditAction.CSV_CONFIRMED,
        upload,
        user,
        request,
        details,
        job_id=job.pk if job else None,
    )


def _decided_job(upload):
    upload.refresh_from_db()
    if upload.status == UploadStatus.CONFIRMED:
        return upload.job
    if upload.status == UploadStatus.REJECTED:
        raise UploadError(f"This upload was rejected: {upload.summary.get('error')}")
    raise UploadError("This upload was cancelled; upload the file again.")


def _reject_at_confirm(upload, reason, user, request):
    rejected = Upload.objects.filter(
        pk=upload.pk, status=UploadStatus.PREVIEWED
    ).update(
        status=UploadStatus.REJECTED,
        decided_at=timezone.now(),
        stored_name="",
        summary={**upload.summary, "error": reason},
    )
    _file_delete(upload.stored_name)
    if rejected:
        details = {"file_name": upload.file_name, "reason": reason}
        _audit(
            AuditAction.CSV_REJECTED, upload, user, request, details, result="rejected"
        )
    upload.refresh_from_db()


def upload_cancel(*, upload, user, request=None, reason="cancelled"):
    """Cancel a previewed upload and delete its file; return True if this call did.

    Returns False, changing nothing, when the upload was already confirmed,
    cancelled or rejected: a second call is harmless. ``reason`` goes to the
    audit entry.
    """
    cancelled = Upload.objects.filter(
        pk=upload.pk, status=UploadStatus.PREVIEWED
    ).update(status=UploadStatus.CANCELLED, decided_at=timezone.now(), stored_name="")
    if cancelled:
        _file_delete(upload.stored_name)
        details = {"file_name": upload.file_name, "reason": reason}
        _audit(AuditAction.CSV_CANCELLED, upload, user, request, details)
    upload.refresh_from_db()
    return bool(cancelled)


def uploads_cleanup(*, older_than=timedelta(hours=24)):
    """Cancel previewed uploads older than ``older_than`` and delete their files.

    Also deletes files in UPLOAD_DIR that no previewed upload refers to and that
    are as old (left by a crash between storing a file and recording it).
    Returns the number of files deleted. Safe to run at any time, any number of
    times, alongside uploads, confirms and cancels.
    """
    cutoff = timezone.now() - older_than
    stale = Upload.objects.filter(status=UploadStatus.PREVIEWED, created_at__lt=cutoff)
    deleted = sum(
        upload_cancel(upload=upload, user=None, reason="expired")
        for upload in list(stale)
    )
    kept = set(
        Upload.objects.filter(status=UploadStatus.PREVIEWED).values_list(
            "stored_name", flat=True
        )
    )
    for path in _upload_dir().iterdir():
        if path.name not in kept and path.stat().st_mtime < cutoff.timestamp():
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted
