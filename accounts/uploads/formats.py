"""What the reader reads: the encodings a CSV may have, and its one error."""

from django.utils.translation import gettext_lazy as _

ENCODINGS = {
    "auto": _("Detect"),
    "utf-8": "UTF-8",
    "gb18030": _("GB18030 (Chinese Excel)"),
}
# How a stored file was read, for the preview ("read as …").
READ_AS = {**ENCODINGS, "xlsx": _("Excel workbook (XLSX)")}
DELIMITERS = {",": _("comma"), ";": _("semicolon"), "\t": _("tab")}


class CsvFormatError(ValueError):
    """The file as a whole cannot be read; ``str()`` says why in plain words."""
