"""Reading account CSVs: bytes in, rows and row errors out. No database, no HTTP.

Streams the file (with ``find_duplicates``, memory grows with the set of
UserIDs seen; an import finds them in the database instead), accepts UTF-8
with or without BOM and GB18030 (what Excel writes on a Chinese-language
Windows), CRLF or LF, quoted fields with commas and newlines, and header names
in any case.
"""

import codecs
import csv
import io
from dataclasses import dataclass, field

from accounts.im.validation import FieldError, clean_face_url, clean_nick, clean_user_id

SAMPLE_BYTES = 1 << 20
ENCODINGS = {"auto": "Detect", "utf-8": "UTF-8", "gb18030": "GB18030 (Chinese Excel)"}
# Header names (lower-cased, without spaces, dashes and underscores) per field.
COLUMN_ALIASES = {
    "userid": "user_id",
    "nick": "nick",
    "nickname": "nick",
    "faceurl": "face_url",
    "avatar": "face_url",
    "avatarurl": "face_url",
}
MAX_FIELD_BYTES = 64 * 1024


class CsvFormatError(ValueError):
    """The file as a whole cannot be read; ``str()`` says why in plain words."""


@dataclass(slots=True)
class Row:
    """One data row: its first physical line, its values, and what is wrong with it."""

    line: int
    user_id: str
    nick: str = ""
    face_url: str = ""
    error: str = ""

    def as_account(self):
        return {
            "user_id": self.user_id,
            "nick": self.nick,
            "face_url": self.face_url,
            "line": self.line,
        }


@dataclass
class CsvReader:
    """Iterate for Rows; ``columns`` and ``unknown_columns`` are known on opening."""

    text: io.TextIOBase
    encoding: str
    max_rows: int | None = None
    find_duplicates: bool = True  # mark a UserID's later rows "Duplicate of line N"
    columns: dict = field(default_factory=dict)  # field -> column index
    unknown_columns: list = field(default_factory=list)
    _indexes: tuple | None = field(default=None, init=False, repr=False)

    def __post_init__(self):
        self._records = csv.reader(self.text, strict=True)
        self._read_header()

    def _read_header(self):
        header = self._next_record()
        if header is None:
            raise CsvFormatError(
                "The file is empty: it needs a header row with UserID."
            )
        _, names, _ = header
        for index, name in enumerate(names):
            key = (
                name.strip().lower().replace(" ", "").replace("_", "").replace("-", "")
            )
            target = COLUMN_ALIASES.get(key)
            if target and target not in self.columns:
                self.columns[target] = index
            elif name.strip():
                self.unknown_columns.append(name.strip())
        if "user_id" not in self.columns:
            raise CsvFormatError(
                "The header has no UserID column (found: "
                f"{', '.join(n.strip() for n in names if n.strip()) or 'nothing'})."
            )

    def _next_record(self):
        start = self._records.line_num + 1
        try:
            values = next(self._records)
        except StopIteration:
            return None
        except csv.Error as exc:
            raise CsvFormatError(f"Line {start} is not valid CSV: {exc}.") from None
        text = "".join(values)
        try:
            # Undecodable bytes arrive as lone surrogates (see open_csv); an
            # ASCII line, most of them, holds none.
            if not text.isascii():
                text.encode("utf-8")
        except UnicodeEncodeError:
            raise CsvFormatError(
                f"Line {start} is not valid "
                f"{ENCODINGS.get(self.encoding, self.encoding)}; "
                "save the file as UTF-8 or choose its encoding."
            ) from None
        return start, values, text

    def __iter__(self):
        seen = {}
        for line, values in self._data_records():
            row = self._row(line, values)
            if not row.error and self.find_duplicates:
                first = seen.setdefault(row.user_id, line)
                if first != line:
                    row.error = f"Duplicate of line {first}."
            yield row

    def scan(self):
        """Read the rest without checking its rows; how many data rows it holds.

        Raises CsvFormatError where reading the rows would: a check, at the
        csv module's speed, that the whole file can be read.
        """
        return sum(1 for _ in self._data_records())

    def _data_records(self):
        """``(line, values)`` of each non-blank record, within ``max_rows``."""
        count = 0
        while (record := self._next_record()) is not None:
            line, values, text = record
            if not text or text.isspace():
                continue  # blank line
            count += 1
            if self.max_rows and count > self.max_rows:
                raise CsvFormatError(
                    f"The file has more than {self.max_rows:,} rows; "
                    "split it into smaller files."
                )
            yield line, values

    def _row(self, line, values):
        # Called once a row: column indexes are looked up once, not per value.
        if self._indexes is None:
            self._indexes = tuple(
                self.columns.get(name, -1) for name in ("user_id", "nick", "face_url")
            )
        size = len(values)
        raw_id, nick, face_url = (
            values[index] if 0 <= index < size else "" for index in self._indexes
        )
        try:
            # The cleaners return the value trimmed, or raise.
            return Row(
                line, clean_user_id(raw_id), clean_nick(nick), clean_face_url(face_url)
            )
        except FieldError as exc:
            # Raw values stay on a row that fails, so a list of errors shows them.
            return Row(
                line, raw_id.strip(), nick.strip(), face_url.strip(), exc.message
            )


def open_csv(stream, *, encoding="auto", max_rows=None, find_duplicates=True):
    """A CsvReader over a binary ``stream``; CsvFormatError for an unreadable file."""
    if encoding not in ENCODINGS:
        raise CsvFormatError(f"Unknown encoding {encoding!r}.")
    # Always wrapped: peek() on the caller's reader (e.g. open(path, "rb"))
    # returns only its own buffer, often 8 KiB, too little to detect with.
    stream = io.BufferedReader(_Raw(stream), buffer_size=SAMPLE_BYTES)
    sample = stream.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
    if not sample.strip():
        raise CsvFormatError("The file is empty: it needs a header row with UserID.")
    if b"\x00" in sample:
        raise CsvFormatError("This is not a CSV file: it holds binary data.")
    chosen = _detect(sample) if encoding == "auto" else encoding
    codec = "utf-8-sig" if chosen == "utf-8" else chosen
    # A strict decoder fails on the whole 8 KiB chunk it decodes, lines before
    # the bad byte; escaping it lets the record that holds it be named.
    text = io.TextIOWrapper(
        stream, encoding=codec, errors="surrogateescape", newline=""
    )
    return CsvReader(
        text=text,
        encoding=chosen,
        max_rows=max_rows,
        find_duplicates=find_duplicates,
    )


def _detect(sample):
    if sample.startswith(codecs.BOM_UTF8):
        return "utf-8"
    try:
        # A sample may end inside a character: decode it incrementally.
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        return "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        codecs.getincrementaldecoder("gb18030")().decode(sample, final=False)
        return "gb18030"
    except UnicodeDecodeError:
        raise CsvFormatError(
            "The file is neither UTF-8 nor GB18030 text; save it as UTF-8 CSV."
        ) from None


class _Raw(io.RawIOBase):
    """Adapts any object with ``read(n)`` (e.g. an uploaded file) to a raw stream."""

    def __init__(self, source):
        self._source = source

    def readable(self):
        return True

    def readinto(self, buffer):
        data = self._source.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


csv.field_size_limit(MAX_FIELD_BYTES)


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
