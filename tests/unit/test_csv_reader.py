"""csv_reader: bytes in, rows and row errors out. Pure: no database, no HTTP."""

import io
import zipfile

import pytest

from accounts.cells import formula_guard, formula_unguard
from accounts.exports import csv_lines
from accounts.uploads.reader import CsvFormatError, open_rows
from accounts.uploads.xlsx_writer import xlsx_write

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def read(data, **kwargs):
    reader = open_rows(io.BytesIO(data), **kwargs)
    return reader, list(reader)


def values(rows):
    return [(r.line, r.user_id, r.nick, r.face_url, r.error) for r in rows]


def test_it_reads_utf8_with_and_without_bom():
    text = "UserID,Nick\nalice,Alice\nbob,张三\n".encode()
    for data in (text, b"\xef\xbb\xbf" + text):
        reader, rows = read(data)
        assert reader.encoding == "utf-8"
        assert reader.columns == {"user_id": 0, "nick": 1}
        assert values(rows) == [
            (2, "alice", "Alice", "", ""),
            (3, "bob", "张三", "", ""),
        ]


def test_it_detects_gb18030_and_reads_it_when_chosen():
    data = "UserID,Nick\nzhang,张三\nli,李四\n".encode("gb18030")
    for encoding in ("auto", "gb18030"):
        reader, rows = read(data, encoding=encoding)
        assert reader.encoding == "gb18030"
        assert [(r.user_id, r.nick) for r in rows] == [
            ("zhang", "张三"),
            ("li", "李四"),
        ]


def test_it_detects_gb18030_that_starts_after_the_first_8_kib_of_a_file(tmp_path):
    # open(path, "rb") buffers 8 KiB; detection must still see a full sample.
    ascii_rows = "".join(f"user{i:05d},plain\n" for i in range(2000))
    path = tmp_path / "late.csv"
    path.write_bytes(f"UserID,Nick\n{ascii_rows}zhang,张三\n".encode("gb18030"))
    with open(path, "rb") as stream:
        reader = open_rows(stream)
        rows = list(reader)
    assert reader.encoding == "gb18030"
    assert (rows[-1].line, rows[-1].nick) == (2002, "张三")


def test_it_refuses_gb18030_read_as_utf8_naming_the_line():
    data = "UserID,Nick\nzhang,张三\n".encode("gb18030")
    with pytest.raises(CsvFormatError, match="Line 2 is not valid UTF-8"):
        read(data, encoding="utf-8")


def test_it_reads_crlf_and_lf_alike():
    lf = b"UserID,Nick\na,1\nb,2\n"
    crlf = lf.replace(b"\n", b"\r\n")
    assert values(read(lf)[1]) == values(read(crlf)[1])
    assert values(read(crlf)[1]) == [(2, "a", "1", "", ""), (3, "b", "2", "", "")]


def test_it_reads_quoted_commas_and_newlines_and_keeps_later_line_numbers():
    data = (
        b'UserID,Nick\r\n"a","Smith, John"\r\nb,"two\r\nline\r\nnick"\r\n'
        b"c,after\r\n,\r\nd,last\r\n"
    )
    _, rows = read(data)
    assert values(rows) == [
        (2, "a", "Smith, John", "", ""),
        (3, "b", "two\r\nline\r\nnick", "", ""),
        (6, "c", "after", "", ""),
        (8, "d", "last", "", ""),  # line 7 is blank (",") and skipped
    ]


def test_a_header_only_file_has_no_rows():
    reader, rows = read(b"UserID,Nick,FaceUrl\r\n")
    assert rows == []
    assert reader.columns == {"user_id": 0, "nick": 1, "face_url": 2}


@pytest.mark.parametrize("data", [b"", b"   \r\n\t\n  ", b"\xef\xbb\xbf"])
def test_it_refuses_an_empty_file(data):
    with pytest.raises(CsvFormatError, match="The file is empty"):
        read(data)


def test_it_refuses_binary_data():
    with pytest.raises(CsvFormatError, match="binary data"):
        read(PNG + b"\x00" * 100)


def test_it_refuses_text_that_is_neither_utf8_nor_gb18030():
    with pytest.raises(CsvFormatError, match="neither UTF-8 nor GB18030"):
        read(b"UserID,Nick\nbob,caf\xe9,\n")


def test_it_marks_a_userid_longer_than_32_utf8_bytes():
    _, rows = read("UserID\n用户用户用户用户用户用\n".encode())  # 11 chars, 33 bytes
    assert rows[0].error == "UserID is 33 bytes in UTF-8; IM allows at most 32."


@pytest.mark.parametrize(
    "cells, error",
    [
        (",Nick", "UserID is empty."),
        ("bad id,", "UserID may contain only letters, digits and printable ASCII"),
        ("ok," + "n" * 501, "Nick is 501 bytes in UTF-8; IM allows at most 500."),
        ("ok,,ftp://host/a.png", "Avatar URL must be an http:// or https:// address."),
        ("ok,,https://host/a b.png", "Avatar URL must not contain spaces."),
    ],
)
def test_it_marks_invalid_rows_with_the_reason(cells, error):
    _, rows = read(f"UserID,Nick,FaceUrl\n{cells}\n".encode())
    assert rows[0].error.startswith(error)


def test_a_row_that_fails_keeps_its_values_for_the_error_list():
    _, rows = read("UserID,Nick,FaceUrl\n bad id , 张三 ,ftp://x\n".encode())
    assert (rows[0].user_id, rows[0].nick, rows[0].face_url) == (
        "bad id",
        "张三",
        "ftp://x",
    )
    assert rows[0].error


def test_it_marks_duplicates_of_an_earlier_line():
    _, rows = read(b"UserID,Nick\na,1\nb,2\na,3\nb,2\n")
    assert [r.error for r in rows] == [
        "",
        "",
        "Duplicate of line 2.",
        "Duplicate of line 3.",
    ]


def test_it_matches_header_names_in_any_case_and_spacing():
    reader, rows = read(
        b" user id ,NICK NAME,Face_Url\nx,Nick X,https://a.example/x.png\n"
    )
    assert reader.columns == {"user_id": 0, "nick": 1, "face_url": 2}
    assert values(rows) == [(2, "x", "Nick X", "https://a.example/x.png", "")]
    reader, _ = read(b"USERID,avatar-url\nx,\n")
    assert reader.columns == {"user_id": 0, "face_url": 1}


def test_it_reports_unknown_columns():
    reader, rows = read(b"Email,UserID,Phone,,Nick\nx@example.com,x,123,,X\n")
    assert reader.unknown_columns == ["Email", "Phone"]
    assert (rows[0].user_id, rows[0].nick) == ("x", "X")


def test_it_refuses_a_header_without_userid_naming_the_columns_found():
    with pytest.raises(CsvFormatError) as caught:
        read(b"Name,Email\nx,y\n")
    assert str(caught.value) == "The header has no UserID column (found: Name, Email)."


def test_it_refuses_more_rows_than_allowed_not_counting_blank_lines():
    data = b"UserID\na\n\nb\n\nc\n"
    assert len(read(data, max_rows=3)[1]) == 3
    with pytest.raises(CsvFormatError, match="more than 2 rows"):
        read(data, max_rows=2)


def test_it_names_the_line_of_an_invalid_utf8_byte_late_in_the_file():
    body = b"".join(b"user%06d,nick\n" % i for i in range(20000))
    data = b"UserID,Nick\n" + body + b"bad,caf\xe9\n" + b"z,1\n"
    reader = open_rows(io.BytesIO(data), encoding="utf-8")
    read_rows = []
    with pytest.raises(CsvFormatError) as caught:
        for row in reader:
            read_rows.append(row)
    assert str(caught.value).startswith("Line 20002 is not valid UTF-8;")
    assert len(read_rows) == 20000


def test_it_refuses_a_huge_field_without_crashing():
    for cell in (b"x" * 70_000, b'"' + b"y\n" * 35_000 + b'"'):
        with pytest.raises(
            CsvFormatError, match="Line 3 is not valid CSV: field larger"
        ):
            read(b"UserID,Nick\na,1\nb," + cell + b"\n")


def test_it_refuses_an_unclosed_quote():
    with pytest.raises(CsvFormatError, match="Line 3 is not valid CSV"):
        read(b'UserID,Nick\na,1\nb,"open\nc,3\n')


def test_it_reads_rows_with_fewer_or_more_cells_than_the_header():
    _, rows = read(
        b"UserID,Nick,FaceUrl\na\nb,B\nc,C,https://h.example/c.png,extra,more\n"
    )
    assert values(rows) == [
        (2, "a", "", "", ""),
        (3, "b", "B", "", ""),
        (4, "c", "C", "https://h.example/c.png", ""),
    ]


def test_it_refuses_an_unknown_encoding_choice():
    with pytest.raises(CsvFormatError, match="Unknown encoding"):
        read(b"UserID\na\n", encoding="latin-1")


# -- separators, spreadsheets, and the rules every row meets ----------------------


def test_it_detects_semicolons_and_tabs_from_the_header():
    for delimiter in (";", "\t"):
        data = f"UserID{delimiter}Nick\nalice{delimiter}A, B\n".encode()
        reader, rows = read(data)
        assert reader.delimiter == delimiter
        assert values(rows) == [(2, "alice", "A, B", "", "")]


def test_it_reads_the_first_sheet_of_an_xlsx_with_numbers_as_text():
    book = io.BytesIO()
    xlsx_write(book, [("UserID", "Nick"), ("zhang", "张三"), ("", ""), ("10086", "")])
    reader, rows = read(book.getvalue())
    assert (reader.encoding, reader.kind, reader.delimiter) == ("xlsx", "xlsx", "")
    assert values(rows) == [(2, "zhang", "张三", "", ""), (4, "10086", "", "", "")]


def test_it_refuses_a_zip_that_is_not_a_workbook():
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("hello.txt", "hi")
    with pytest.raises(CsvFormatError, match="This XLSX file cannot be read"):
        read(archive.getvalue())


@pytest.mark.parametrize(
    "value", ["@alice", "-bob", "-1+1", "=HYPERLINK(x)", "'=x", "''@y", "'plain", "@"]
)
def test_the_formula_guard_is_undone_on_reading(value):
    assert formula_unguard(formula_guard(value)) == value
    data = "".join(csv_lines(["UserID", "Nick"], [["u1", value]])).encode()
    assert read(data)[1][0].nick == value


def test_a_cell_with_a_control_character_refuses_its_row_in_any_column():
    data = b"UserID,Nick,Other\na,ok,\x1b[31m\nb,fine,\n"
    _, rows = read(data)
    assert rows[0].problem == "control" and "U+001B" in rows[0].error
    assert rows[1].error == ""


def test_a_row_marked_in_the_skip_column_is_skipped_with_its_reason():
    _, rows = read(b"UserID,Skip\na,Duplicate of line 2.\nb,\nc,  \n")
    assert [(r.user_id, r.problem) for r in rows] == [
        ("a", "skipped"),
        ("b", ""),
        ("c", ""),
    ]


def test_a_repeated_header_is_reported_whatever_its_case():
    _, rows = read(b"UserID,Nick\na,A\nuser_id , NICK\nb,B\n")
    assert [(r.line, r.problem) for r in rows] == [(2, ""), (3, "header"), (4, "")]
