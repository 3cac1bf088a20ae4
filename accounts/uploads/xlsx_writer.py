"""A minimal XLSX writer: one sheet of text cells, laid out the way Excel saves it.

Used for the upload page's template and, in tests and benchmarks, to make large
spreadsheets quickly. Every cell is a shared string (Excel's own layout for text),
so a file made here is read along the same path as one saved by Excel.
Streams the sheet to the zip member; only the shared-string table is held
whole (it is written after the sheet, as its indexes are known only then).
"""

import zipfile
from xml.sax.saxutils import escape

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" ContentType="application/'
    'vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
    "</Types>"
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook'
    '.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Accounts" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
    'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats'
    '.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1'
    '.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/'
    'officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>'
    "</Relationships>"
)
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    "<sheetData>"
)
SHEET_TAIL = "</sheetData></worksheet>"
COLUMN_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def xlsx_write(target, rows):
    """Write ``rows`` (sequences of strings; "" leaves a cell out) as an XLSX.

    ``target`` is a path or a binary file object. Returns the number of rows.
    """
    strings, count = {}, 0
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", ROOT_RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(SHEET_HEAD.encode())
            for count, row in enumerate(rows, 1):
                sheet.write(_row_xml(count, row, strings).encode())
            sheet.write(SHEET_TAIL.encode())
        with book.open("xl/sharedStrings.xml", "w", force_zip64=True) as table:
            table.write(_strings_head(len(strings)).encode())
            for text in strings:
                table.write(
                    f'<si><t xml:space="preserve">{escape(text)}</t></si>'.encode()
                )
            table.write(b"</sst>")
    return count


def _row_xml(number, row, strings):
    cells = []
    for column, value in enumerate(row):
        if value == "":
            continue
        index = strings.setdefault(value, len(strings))
        cells.append(
            f'<c r="{COLUMN_LETTERS[column]}{number}" t="s"><v>{index}</v></c>'
        )
    return f'<row r="{number}">{"".join(cells)}</row>'


def _strings_head(unique):
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
        f'uniqueCount="{unique}">'
    )
