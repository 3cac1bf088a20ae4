"""An upload's preview: one pass over the file, counting what an import would do.

The page, the background preview task and ``import_accounts --dry-run`` all
count with ``preview_stream``: one rule in one place. The summary it returns
stays small whatever the file (samples of at most 20 invalid and 10 valid rows,
at most 20 unknown column names, each value cut to 80 characters).
"""

import os
import time
from collections import Counter

from django.conf import settings
from django.utils.translation import gettext

from accounts.models import UploadStatus
from accounts.services.preparation import CHUNK, accounts_known
from accounts.services.rows import row_outcome
from accounts.uploads.files import NO_FILE, UploadError, file_open
from accounts.uploads.reader import DUPLICATE, HEADER, SKIPPED, clip, open_rows

PREVIEW_INVALID_ROWS = 20
PREVIEW_VALID_ROWS = 10
PROGRESS_EVERY_ROWS = 10_000
PROGRESS_SECONDS = 0.5
# What the preview counts: rows read, and what an import of the valid ones would do.
COUNTS = (
    "rows",
    "valid",
    "invalid",
    "duplicates",
    "skipped",
    "headers",
    "new",
    "update",
    "resend",
    "unchanged",
    "busy",
)
PROBLEM_COUNTS = {DUPLICATE: "duplicates", SKIPPED: "skipped", HEADER: "headers"}


def preview(stored_name, encoding, on_progress=None):
    """One pass over a stored upload: (encoding read, summary). Raises CsvFormatError.

    ``on_progress(rows, fraction)`` is called about twice a second while it reads.
    """
    with file_open(stored_name) as stream:
        return preview_stream(stream, encoding, on_progress)


def preview_stream(stream, encoding, on_progress=None):
    """One pass over a seekable binary ``stream``: (encoding read, summary).

    Read-only: looks accounts up, changes nothing. Raises CsvFormatError.
    """
    counts = Counter({name: 0 for name in COUNTS})
    invalid, valid, chunk = [], [], []
    progress = _Progress(stream, on_progress)
    reader = open_rows(stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS)
    for row in reader:
        counts["rows"] += 1
        if counts["rows"] % PROGRESS_EVERY_ROWS == 0:
            progress.tell(counts["rows"])
        if row.error:
            counts["invalid"] += 1
            if kind := PROBLEM_COUNTS.get(row.problem):
                counts[kind] += 1
            if len(invalid) < PREVIEW_INVALID_ROWS:
                invalid.append({**_shown(row), "error": row.error})
            continue
        counts["valid"] += 1
        if len(valid) < PREVIEW_VALID_ROWS:
            valid.append({**_shown(row), "face_url": clip(row.face_url)})
        chunk.append(row)
        if len(chunk) == CHUNK:
            _classify(chunk, counts)
            chunk = []
    _classify(chunk, counts)
    return reader.encoding, _summary(counts, reader, invalid, valid)


def _summary(counts, reader, invalid, valid):
    summary = dict(counts)
    summary["to_send"] = counts["new"] + counts["update"] + counts["resend"]
    summary["columns"] = [
        name
        for name in sorted(reader.columns, key=reader.columns.get)
        if name != "skip"
    ]
    summary["skip_column"] = "skip" in reader.columns
    summary["unknown_columns"] = reader.unknown_columns
    summary["unknown_count"] = reader.unknown_count
    summary["kind"] = reader.kind
    summary["delimiter"] = reader.delimiter
    summary["invalid_sample"] = invalid
    summary["valid_sample"] = valid
    return summary


class _Progress:
    """Calls ``on_progress(rows, fraction)`` at most every PROGRESS_SECONDS."""

    def __init__(self, stream, on_progress):
        self._stream, self._callback = stream, on_progress
        self._size = _size(stream) if on_progress else 0
        self._next = 0.0

    def tell(self, rows):
        if self._callback is None or time.monotonic() < self._next:
            return
        self._next = time.monotonic() + PROGRESS_SECONDS
        # The position of the underlying file: what the reader has taken in.
        fraction = min(self._stream.tell() / self._size, 1.0) if self._size else 0.0
        self._callback(rows, fraction)


def _size(stream):
    try:
        return os.fstat(stream.fileno()).st_size
    except (AttributeError, OSError, ValueError):
        return 0


def _shown(row):
    return {"line": row.line, "user_id": clip(row.user_id), "nick": clip(row.nick)}


def _classify(rows, counts):
    """Count what an import of these valid rows would do: the import's own rule."""
    if not rows:
        return
    known = accounts_known(r.user_id for r in rows)
    for row in rows:
        account = known.get(row.user_id)
        counts[row_outcome(account, row.nick, row.face_url)] += 1


def upload_invalid_rows(*, upload):
    """The invalid rows of a previewed upload: an InvalidRows to iterate, then close.

    Opens the stored file before returning, so a file that is gone raises
    UploadError here rather than midway through a download. Read-only: safe to
    call any number of times while the upload is previewed.
    """
    if upload.status != UploadStatus.PREVIEWED or not upload.stored_name:
        raise UploadError(
            gettext(
                "The file is no longer kept: it is deleted once the upload is "
                "%(status)s."
            )
            % {"status": upload.get_status_display()}
        )
    try:
        stream = file_open(upload.stored_name)
    except FileNotFoundError:
        raise UploadError(gettext(NO_FILE)) from None
    return InvalidRows(stream, upload.encoding)


class InvalidRows:
    """Iterate for the reader's Rows with an error; ``close()`` the file after."""

    def __init__(self, stream, encoding):
        self._stream = stream
        try:
            # The preview read this file already: it opens and reads the same way.
            self._reader = open_rows(
                stream, encoding=encoding, max_rows=settings.UPLOAD_MAX_ROWS
            )
        except BaseException:
            stream.close()
            raise

    def __iter__(self):
        return (row for row in self._reader if row.error)

    def close(self):
        self._stream.close()
