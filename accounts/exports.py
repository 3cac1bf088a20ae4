"""Streaming exports (CSV and JSON) in constant memory, safe for spreadsheets."""

import csv
import json
from itertools import chain

from django.core.serializers.json import DjangoJSONEncoder
from django.http import StreamingHttpResponse

from accounts.audit.records import audit_record
from accounts.cells import formula_guard
from accounts.models import AuditAction

ACCOUNT_FIELDS = [
    "user_id",
    "nick",
    "face_url",
    "state",
    "remote_status",
    "last_error_code",
    "last_error",
    "attempts",
    "source",
    "job_id",
    "created_at",
    "imported_at",
    "checked_at",
]


def safe_cell(value):
    """``value`` for a CSV cell, guarded against spreadsheet formulas.

    The guard (``accounts.cells``) is undone by the upload reader, so a file
    written here re-imports the exact values it holds.
    """
    if value is None:
        return ""
    if isinstance(value, str):
        return formula_guard(value)
    return value


class _Echo:
    def write(self, value):
        return value


def csv_lines(fields, rows):
    """Yield CSV text lines: the header, then one per row (a sequence of values)."""
    writer = csv.writer(_Echo())
    yield writer.writerow(fields)
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row])


def json_lines(fields, rows):
    """Yield the pieces of one JSON array of objects, one object per row."""
    yield "[\n"
    first = True
    for row in rows:
        record = dict(zip(fields, row, strict=True))
        text = json.dumps(record, cls=DjangoJSONEncoder, ensure_ascii=False)
        yield ("  " if first else ",\n  ") + text
        first = False
    yield "\n]\n"


FORMATS = {"csv": csv_lines, "json": json_lines}
CONTENT_TYPES = {"csv": "text/csv; charset=utf-8", "json": "application/json"}


def download(lines, *, filename, fmt="csv", bom=False):
    """``lines`` streamed as an attachment named ``filename``.

    ``bom`` puts a UTF-8 byte order mark first, so a spreadsheet reads
    non-ASCII nicknames right (the uploader accepts it back).
    """
    if bom:
        lines = chain(["\ufeff"], lines)
    response = StreamingHttpResponse(lines, content_type=CONTENT_TYPES[fmt])
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def audited_download(request, lines, *, filename, details, job=None, **kw):
    """``download``, with the export's audit entry written first (who, what)."""
    audit_record(
        action=AuditAction.EXPORT,
        request=request,
        object_type="job" if job else "audit",
        object_id=job.pk if job else "",
        job_id=job.pk if job else None,
        details=details,
    )
    return download(lines, filename=filename, **kw)
