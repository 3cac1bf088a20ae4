"""Streaming exports (CSV and JSON) in constant memory, safe for spreadsheets."""

import csv
import json

from django.core.serializers.json import DjangoJSONEncoder

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
# A spreadsheet runs a cell starting with one of these as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """``value`` for a CSV cell, with a leading quote if a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
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
