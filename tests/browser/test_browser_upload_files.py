"""Spreadsheets, semicolons and a 2,000,000-row file through the upload pages.

A real browser, the live server, a real qcluster worker and the sandbox: what
the sandbox stores at the end is compared with the file's values.
"""

import re
import time

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.models import ImportJob, Upload, UploadStatus
from accounts.uploads.xlsx_writer import xlsx_write
from tests.fixtures_browser import login, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "a-long-pass-phrase"
PEOPLE = [
    ("xl-001", "张三", "https://img.example/1.png"),
    ("-dash", "=1+1", ""),
    ("10086", "Number id", ""),
    ("xl-004", "Semi; colon, comma", ""),
]


@pytest.fixture
def signed_in(page, live_app):
    get_user_model().objects.create_superuser("boss", "", PASSWORD)
    login(page, live_app, "boss", PASSWORD)
    return live_app


def count(page, name):
    return int(page.locator(f'[data-count="{name}"]').inner_text().replace(",", ""))


def upload_file(page, base_url, path):
    page.goto(f"{base_url}/uploads/new/")
    page.set_input_files("input[name=file]", str(path))
    page.click("#upload-form button[type=submit]")


def confirm_and_wait(page):
    page.click("#upload-confirm")
    page.wait_for_url("**/jobs/*/")
    status = page.locator("#job-status")
    expect(status).to_have_attribute(
        "data-status", re.compile(r"^(done|done_with_errors)$"), timeout=60_000
    )
    return status.get_attribute("data-status")


def stored(sandbox):
    found = {}
    for user_id, _, _ in PEOPLE:
        account = sandbox.account(user_id)
        found[user_id] = account and (account["Nick"], account.get("FaceUrl", ""))
    return found


def expected():
    return {user_id: (nick, face) for user_id, nick, face in PEOPLE}


def test_an_xlsx_file_is_previewed_and_imported(page, signed_in, sandbox, tmp_path):
    path = tmp_path / "people.xlsx"
    xlsx_write(path, [("UserID", "Nick", "FaceUrl"), *PEOPLE])
    upload_file(page, signed_in, path)
    page.wait_for_selector("#upload-counts")
    assert page.locator("#read-as").inner_text() == "Excel workbook (XLSX)"
    assert (count(page, "valid"), count(page, "to_send")) == (4, 4)
    sample = page.locator("#valid-rows tbody tr")
    assert sample.count() == 4
    assert "张三" in sample.nth(0).inner_text()
    screenshot(page, "upload-xlsx-preview")
    assert confirm_and_wait(page) == "done"
    assert stored(sandbox) == expected()


def test_a_semicolon_file_is_previewed_and_imported(page, signed_in, sandbox, tmp_path):
    lines = ["UserID;Nick;FaceUrl"]
    lines += [f'{u};"{n}";{f}' if ";" in n else f"{u};{n};{f}" for u, n, f in PEOPLE]
    path = tmp_path / "people.csv"
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    upload_file(page, signed_in, path)
    page.wait_for_selector("#upload-counts")
    assert page.locator("#delimiter").inner_text() == "semicolon"
    assert page.locator("#read-as").inner_text() == "GB18030 (Chinese Excel)"
    assert count(page, "valid") == 4
    assert "张三" in page.locator("#valid-rows tbody tr").nth(0).inner_text()
    assert confirm_and_wait(page) == "done"
    assert stored(sandbox) == expected()


@pytest.mark.slow
def test_a_2_000_000_row_file_answers_at_once_and_shows_its_progress(
    page, signed_in, tmp_path
):
    path = tmp_path / "two-million.csv"
    with open(path, "w", newline="") as out:
        out.write("UserID,Nick\n")
        for start in range(0, 2_000_000, 100_000):
            out.write(
                "".join(f"m{i:07d},N{i}\n" for i in range(start, start + 100_000))
            )
    page.goto(f"{signed_in}/uploads/new/")
    page.set_input_files("input[name=file]", str(path))
    started = time.monotonic()
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#preview-progress")
    answered = time.monotonic() - started
    upload = Upload.objects.get()
    # The request stored the file and returned: the worker reads it.
    assert upload.status == UploadStatus.PREVIEWING
    assert answered < 10, f"the upload took {answered:.1f} s to answer"
    box = page.locator("#preview-progress")
    expect(box).to_have_attribute("data-rows", re.compile(r"^[1-9]"), timeout=30_000)
    screenshot(page, "upload-preview-progress")
    seen = int(box.get_attribute("data-rows"))
    assert 0 < seen < 2_000_000
    page.wait_for_selector("#upload-counts", timeout=90_000)
    assert (count(page, "rows"), count(page, "valid")) == (2_000_000, 2_000_000)
    assert page.locator("#upload-confirm").inner_text() == (
        "Confirm: import 2,000,000 accounts"
    )
    assert not ImportJob.objects.exists()
