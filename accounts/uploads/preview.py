"""An upload's preview: one pass over the file, counting what an import would do."""

from collections import Counter

from django.conf import settings

from accounts.models import UploadStatus
from accounts.services.preparation import CHUNK, accounts_known
from accounts.services.rows import row_outcome
from accounts.uploads.files import NO_FILE, UploadError, file_open
from accounts.uploads.reader import open_csv

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


def preview(stored_name, encoding):
    """One pass over the file: (detected encoding, summary). Raises CsvFormatError."""
    counts, sample, chunk = Counter({name: 0 for name in COUNTS}), [], []
    with file_open(stored_name) as stream:
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
            if len(chunk) == CHUNK:
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
            "The file is no longer kept: it is deleted once the upload is "
            f"{upload.get_status_display()}."
        )
    try:
        stream = file_open(upload.stored_name)
    except FileNotFoundError:
        raise UploadError(NO_FILE) from None
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
