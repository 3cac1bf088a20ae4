"""The records of a file, by kind: ``(line, values, text)``, the header first.

``text`` is the record's values joined: the reader searches it once a row.
A CSV's encoding and separator are detected here and it is streamed; an XLSX's
first sheet is read with python-calamine (chosen over openpyxl's read-only
mode, which was 17 times slower and held as much memory: see
docs/BENCHMARKS.md).
"""

import codecs
import csv
import io
import zipfile
from datetime import date, datetime, time

from accounts.uploads.formats import DELIMITERS, ENCODINGS, CsvFormatError

SAMPLE_BYTES = 1 << 20
MAX_FIELD_BYTES = 64 * 1024
MAX_HEADER_CHARS = 8 * 1024
XLSX_MAGIC = b"PK\x03\x04"
# What an XLSX may unpack to: a 2,000,000-row sheet of three text cells and its
# strings take about 450 MiB.
MAX_XLSX_UNPACKED = 1 << 30

csv.field_size_limit(MAX_FIELD_BYTES)


def is_xlsx(stream):
    """Whether the seekable binary ``stream`` starts like a zip (an XLSX); rewound."""
    head = stream.read(len(XLSX_MAGIC))
    stream.seek(0)
    return head == XLSX_MAGIC


# -- CSV ------------------------------------------------------------------------


def csv_records(stream, encoding, has_user_id):
    """``(encoding read, delimiter, records)`` of a CSV; CsvFormatError if unreadable.

    The delimiter is the first of comma, semicolon and tab that splits the
    header into names ``has_user_id`` accepts (comma when none does, so the
    error names what the header holds).
    """
    # Always wrapped: peek() on the caller's reader (e.g. open(path, "rb"))
    # returns only its own buffer, often 8 KiB, too little to detect with.
    stream = io.BufferedReader(_Raw(stream), buffer_size=SAMPLE_BYTES)
    sample = stream.peek(SAMPLE_BYTES)[:SAMPLE_BYTES]
    if not sample.strip():
        raise CsvFormatError("The file is empty: it needs a header row with UserID.")
    if b"\x00" in sample:
        raise CsvFormatError(
            "This is not a CSV file: it holds binary data. "
            "Upload a CSV or an XLSX workbook."
        )
    chosen = _detect(sample) if encoding == "auto" else encoding
    codec = "utf-8-sig" if chosen == "utf-8" else chosen
    # A strict decoder fails on the whole 8 KiB chunk it decodes, lines before
    # the bad byte; escaping it lets the record that holds it be named.
    text = io.TextIOWrapper(
        stream, encoding=codec, errors="surrogateescape", newline=""
    )
    line = text.readline(MAX_HEADER_CHARS + 1)
    if len(line) > MAX_HEADER_CHARS:
        raise CsvFormatError(
            f"The header line is longer than {MAX_HEADER_CHARS:,} characters; "
            "it should name a few columns (UserID, Nick, FaceUrl)."
        )
    delimiter, names = _header(line, has_user_id)
    label = ENCODINGS.get(chosen, chosen)
    return chosen, delimiter, _csv_rows(text, line, names, delimiter, label)


def _header(line, has_user_id):
    found = None
    for delimiter in DELIMITERS:
        try:
            names = next(csv.reader([line], delimiter=delimiter, strict=True), [])
        except csv.Error as exc:
            raise CsvFormatError(f"Line 1 is not valid CSV: {exc}.") from None
        if has_user_id(names):
            return delimiter, names
        found = found or names
    return ",", found


def _csv_rows(text, line, names, delimiter, label):
    if not line:
        return  # nothing after a BOM
    yield 1, names, _checked(1, "".join(names), label)
    records = csv.reader(text, delimiter=delimiter, strict=True)
    while True:
        start = records.line_num + 2  # the header's line came before the reader
        try:
            values = next(records)
        except StopIteration:
            return
        except csv.Error as exc:
            raise CsvFormatError(f"Line {start} is not valid CSV: {exc}.") from None
        yield start, values, _checked(start, "".join(values), label)


def _checked(line, joined, label):
    # Undecodable bytes arrive as lone surrogates (see csv_records); an ASCII
    # line, most of them, holds none.
    if not joined.isascii():
        try:
            joined.encode("utf-8")
        except UnicodeEncodeError:
            raise CsvFormatError(
                f"Line {line} is not valid {label}; "
                "save the file as UTF-8 or choose its encoding."
            ) from None
    return joined


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


# -- XLSX -----------------------------------------------------------------------


def xlsx_records(stream):
    """The first sheet's rows as text records; CsvFormatError if it cannot be read.

    Read with python-calamine, which holds the sheet whole (about 430 bytes a
    row of three text cells; docs/BENCHMARKS.md): the declared unpacked size
    is checked first, so a small zip cannot unpack into gigabytes.
    """
    from python_calamine import CalamineError, CalamineWorkbook

    _check_unpacked(stream)
    try:
        book = CalamineWorkbook.from_filelike(stream)
        if not book.sheet_names:
            raise CsvFormatError("The XLSX file has no sheet.")
        sheet = book.get_sheet_by_index(0)
    except (CalamineError, zipfile.BadZipFile, ValueError, OSError) as exc:
        raise CsvFormatError(
            f"This XLSX file cannot be read ({exc}); save it again from the "
            "spreadsheet, or as CSV."
        ) from None
    return _xlsx_rows(sheet)


def _check_unpacked(stream):
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(item.file_size for item in archive.infolist())
    except zipfile.BadZipFile as exc:
        raise CsvFormatError(f"This XLSX file is not a valid zip ({exc}).") from None
    finally:
        stream.seek(0)
    if unpacked > MAX_XLSX_UNPACKED:
        raise CsvFormatError(
            f"This XLSX file unpacks to {unpacked / 2**20:,.0f} MiB, more than "
            f"{MAX_XLSX_UNPACKED // 2**20:,} MiB; split it, or save it as CSV."
        )


def _xlsx_rows(sheet):
    first = sheet.start[0] + 1 if sheet.start else 1  # rows above it are empty
    for line, cells in enumerate(sheet.iter_rows(), first):
        values = [_text(cell) for cell in cells]
        yield line, values, "".join(values)


def _text(cell):
    """A cell's value as the text a person sees (a whole number without ".0")."""
    if isinstance(cell, str):
        return cell
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float) and cell.is_integer():
        return str(int(cell))
    if isinstance(cell, datetime | date | time):
        return cell.isoformat()
    return str(cell)
