"""What the reader reads: the encodings a CSV may have, and its one error."""

ENCODINGS = {"auto": "Detect", "utf-8": "UTF-8", "gb18030": "GB18030 (Chinese Excel)"}
# How a stored file was read, for the preview ("read as …").
READ_AS = {**ENCODINGS, "xlsx": "Excel workbook (XLSX)"}
DELIMITERS = {",": "comma", ";": "semicolon", "\t": "tab"}


class CsvFormatError(ValueError):
    """The file as a whole cannot be read; ``str()`` says why in plain words."""
