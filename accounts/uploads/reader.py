"""Reading account files: bytes in, rows and row errors out. No database, no HTTP.

A file is a CSV (comma, semicolon or tab separated; UTF-8 with or without BOM,
or GB18030, what Excel writes on a Chinese-language Windows; CRLF or LF; quoted
fields with separators and newlines) or an XLSX workbook (its first sheet).
Header names are read in any case. Both are streamed: with ``find_duplicates``
memory grows with the set of UserIDs seen (an import finds them in the database
instead); an XLSX sheet is held whole by python-calamine.

The rules every row meets, whatever the file's kind, live here:

- a cell holding a control character (C0 but tab, CR and LF; DEL; C1) refuses
  its row, in every column and on every line;
- a row that repeats the header's names is reported, not imported;
- a row whose ``Skip`` column holds anything is skipped with that reason (the
  invalid-rows download marks its duplicates there, so sending it back as it
  is changes nothing);
- in a CSV, the formula guard of imadmin's downloads is undone
  (``accounts.cells``): what was downloaded is what is read back.
"""

import re
from dataclasses import dataclass, field

from accounts.cells import formula_unguard
from accounts.im.validation import FieldError, clean_face_url, clean_nick, clean_user_id
from accounts.uploads.formats import DELIMITERS, ENCODINGS, READ_AS, CsvFormatError
from accounts.uploads.sources import csv_records, is_xlsx, xlsx_records

# Header names (lower-cased, without spaces, dashes and underscores) per field.
COLUMN_ALIASES = {
    "userid": "user_id",
    "nick": "nick",
    "nickname": "nick",
    "faceurl": "face_url",
    "avatar": "face_url",
    "avatarurl": "face_url",
    "skip": "skip",
}
FIELDS = ("user_id", "nick", "face_url", "skip")
MAX_COLUMNS = 100
SHOWN_COLUMNS = 20  # unknown column names kept for the preview
SHOWN_CHARS = 80  # of a name or value kept for the preview: a cell may be 64 KiB
# Control characters no IM profile should hold; tab, CR and LF stay (a quoted
# nickname may span lines).
CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
DUPLICATE, SKIPPED, HEADER, CONTROL_CHAR, FIELD = (
    "duplicate",
    "skipped",
    "header",
    "control",
    "field",
)

__all__ = [
    "DELIMITERS",
    "MAX_COLUMNS",
    "ENCODINGS",
    "READ_AS",
    "CsvFormatError",
    "Row",
    "RowReader",
    "open_rows",
    "read_error",
]


@dataclass(slots=True)
class Row:
    """One data row: its first line, its values, and what is wrong with it.

    ``problem`` names the kind of error (DUPLICATE, SKIPPED, HEADER,
    CONTROL_CHAR, FIELD); ``skip`` is what the invalid-rows download writes in
    its Skip column: set for the rows that must not be sent again.
    """

    line: int
    user_id: str
    nick: str = ""
    face_url: str = ""
    error: str = ""
    problem: str = ""
    skip: str = ""

    def as_account(self):
        return {
            "user_id": self.user_id,
            "nick": self.nick,
            "face_url": self.face_url,
            "line": self.line,
        }


def clip(text):
    """``text`` for a page and the stored summary: cut to SHOWN_CHARS (a cell may
    hold 64 KiB), control characters shown as U+FFFD (PostgreSQL's JSON cannot
    hold a NUL, and a page should not carry one)."""
    text = CONTROL.sub("\ufffd", text)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def _key(name):
    return name.strip().lower().replace(" ", "").replace("_", "").replace("-", "")


@dataclass
class RowReader:
    """Iterate for Rows. ``columns``, ``unknown_columns`` are known on opening.

    ``records`` yields ``(line, values, text)`` with the header first, ``text``
    being the values joined (one string to search for control characters).
    """

    records: object
    encoding: str
    delimiter: str = ""
    unguard: bool = False
    max_rows: int | None = None
    find_duplicates: bool = True  # mark a UserID's later rows "Duplicate of line N"
    columns: dict = field(default_factory=dict)  # field -> column index
    unknown_columns: list = field(default_factory=list)  # the first SHOWN_COLUMNS
    unknown_count: int = 0

    def __post_init__(self):
        self._read_header()
        self._indexes = tuple(self.columns.get(name, -1) for name in FIELDS)

    @property
    def kind(self):
        return "xlsx" if self.encoding == "xlsx" else "csv"

    def _read_header(self):
        header = next(self.records, None)
        if header is None:
            raise CsvFormatError(
                "The file is empty: it needs a header row with UserID."
            )
        _, names, text = header
        while names and not str(names[-1]).strip():
            names = names[:-1]  # a spreadsheet's empty trailing cells
        if len(names) > MAX_COLUMNS:
            raise CsvFormatError(
                f"The header has {len(names):,} columns; at most {MAX_COLUMNS} are "
                "read. Keep UserID, Nick and FaceUrl and delete the other columns."
            )
        if CONTROL.search(text):
            raise CsvFormatError("The header holds a control character; is it text?")
        for index, name in enumerate(names):
            target = COLUMN_ALIASES.get(_key(name))
            if target and target not in self.columns:
                self.columns[target] = index
            elif name.strip():
                self.unknown_count += 1
                if len(self.unknown_columns) < SHOWN_COLUMNS:
                    self.unknown_columns.append(clip(name.strip()))
        if "user_id" not in self.columns:
            found = ", ".join(clip(n.strip()) for n in names[:10] if n.strip())
            raise CsvFormatError(
                f"The header has no UserID column (found: {found or 'nothing'})."
            )
        self._header_keys = {
            index: _key(names[index]) for index in self.columns.values()
        }
        self._id_key = self._header_keys[self.columns["user_id"]]

    def __iter__(self):
        seen = {}
        for line, values, text in self._data_records():
            row = self._row(line, values, text)
            if not row.error and self.find_duplicates:
                first = seen.setdefault(row.user_id, line)
                if first != line:
                    row.error = row.skip = f"Duplicate of line {first}."
                    row.problem = DUPLICATE
            yield row

    def scan(self):
        """Read the rest without checking its rows; how many data rows it holds.

        Raises CsvFormatError where reading the rows would: a check, at the
        reading library's speed, that the whole file can be read.
        """
        return sum(1 for _ in self._data_records())

    def _data_records(self):
        """``(line, values, text)`` of each non-blank record, within ``max_rows``."""
        count = 0
        for record in self.records:
            text = record[2]
            if not text or text.isspace():
                continue  # blank line
            count += 1
            if self.max_rows and count > self.max_rows:
                raise CsvFormatError(
                    f"The file has more than {self.max_rows:,} rows; "
                    "split it into smaller files."
                )
            yield record

    def _row(self, line, values, text):
        size = len(values)
        raw_id, nick, face_url, skip = (
            values[index] if 0 <= index < size else "" for index in self._indexes
        )
        if self.unguard and ("'" in raw_id or "'" in nick or "'" in face_url):
            raw_id, nick, face_url = (
                formula_unguard(v.strip()) for v in (raw_id, nick, face_url)
            )
        # One cheap test for the common row; the full checks only when it hits.
        suspect = skip or CONTROL.search(text) or _key(raw_id) == self._id_key
        if suspect and (problem := self._refusal(values, text, skip)):
            kind, error = problem
            row = Row(line, raw_id.strip(), nick.strip(), face_url.strip(), error, kind)
            row.skip = skip.strip() or (error if kind == HEADER else "")
            return row
        try:
            # The cleaners return the value trimmed, or raise.
            return Row(
                line, clean_user_id(raw_id), clean_nick(nick), clean_face_url(face_url)
            )
        except FieldError as exc:
            # Raw values stay on a row that fails, so a list of errors shows them.
            return Row(
                line,
                raw_id.strip(),
                nick.strip(),
                face_url.strip(),
                exc.message,
                FIELD,
            )

    def _refusal(self, values, text, skip):
        """``(problem, sentence)`` for a row refused before its fields are read."""
        if CONTROL.search(text):
            return CONTROL_CHAR, _control_sentence(values)
        if skip.strip():
            return (
                SKIPPED,
                f"Skipped: marked “{clip(skip.strip())}” in the Skip column.",
            )
        if all(
            index < len(values) and _key(values[index]) == key
            for index, key in self._header_keys.items()
        ):
            return HEADER, "Repeats the header line; not imported."
        return None


def _control_sentence(values):
    for number, value in enumerate(values, 1):
        if found := CONTROL.search(value):
            code = f"U+{ord(found.group()):04X}"
            return (
                f"Column {number} holds a control character ({code}); "
                "remove it, then upload the file again."
            )
    return "The row holds a control character."


def open_rows(stream, *, encoding="auto", max_rows=None, find_duplicates=True):
    """A RowReader over a binary ``stream`` (seekable): an XLSX or a CSV.

    The kind is told by the bytes, not the name: an XLSX is a zip. ``encoding``
    (a key of ENCODINGS, or "xlsx" for a stored upload) applies to a CSV only.
    Raises CsvFormatError for a file that cannot be read.
    """
    if encoding not in READ_AS:
        raise CsvFormatError(f"Unknown encoding {encoding!r}.")
    common = {"max_rows": max_rows, "find_duplicates": find_duplicates}
    if is_xlsx(stream):
        return RowReader(records=xlsx_records(stream), encoding="xlsx", **common)
    if encoding == "xlsx":
        raise CsvFormatError("The stored file is no longer an XLSX workbook.")
    chosen, delimiter, records = csv_records(stream, encoding, _has_user_id)
    return RowReader(
        records=records,
        encoding=chosen,
        delimiter=delimiter,
        unguard=True,
        **common,
    )


def _has_user_id(names):
    return any(COLUMN_ALIASES.get(_key(name)) == "user_id" for name in names)


def read_error(exc, what):
    """The sentence for why ``what`` ("the file", "the stored file") failed to read.

    For the errors a read can meet: the file gone or unreadable, or a
    CsvFormatError (its own sentence); anything else by its type.
    """
    if isinstance(exc, FileNotFoundError):
        return f"{what} is gone."
    if isinstance(exc, OSError):
        return f"{what} cannot be read ({exc.strerror or exc})."
    if isinstance(exc, CsvFormatError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}."
