"""An admin uploads a CSV, reads the preview, confirms and watches the job finish."""

import csv
import io
import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts.models import ImportJob, TrackedAccount, Upload, UploadStatus
from tests.fixtures_browser import login, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "a-long-pass-phrase"
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"


def accounts_csv():
    lines = ["UserID,Nick,FaceUrl,Team"]
    lines += [f"web{i:03d},Nick {i},https://img.example/{i}.png,a" for i in range(250)]
    lines += [
        "zhang,张三,,b",
        "bad id,Space,,c",  # line 253
        ",Nobody,,c",  # line 254
        "web001,Again,,d",  # line 255: duplicate of line 3
        "badurl,,ftp://img.example/x.png,e",  # line 256
    ]
    return ("\r\n".join(lines) + "\r\n").encode()


@pytest.fixture
def signed_in(page, live_app):
    get_user_model().objects.create_superuser("boss", "", PASSWORD)
    login(page, live_app, "boss", PASSWORD)
    return live_app


def count(page, name):
    return int(page.locator(f'[data-count="{name}"]').inner_text())


def test_it_uploads_previews_confirms_and_follows_the_job(page, signed_in, sandbox):
    sandbox.set_faults(latency_ms=1500)  # a job slow enough to watch it move
    page.goto(f"{signed_in}/uploads/new/")
    screenshot(page, "upload-form")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "team.csv", "mimeType": "text/csv", "buffer": accounts_csv()}],
    )
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#upload-counts")
    assert "/uploads/" in page.url and Upload.objects.get().token in page.url
    assert page.locator("h1").inner_text() == "Preview of team.csv"
    assert [count(page, n) for n in ("rows", "valid", "invalid", "duplicates")] == [
        255,
        251,
        4,
        1,
    ]
    assert (count(page, "new"), count(page, "to_send")) == (251, 251)
    assert page.locator("#unknown-columns").inner_text() == "Team"
    assert page.locator("#invalid-rows tbody tr").count() == 4
    screenshot(page, "upload-preview")

    with page.expect_download() as download_info:
        page.click("#invalid-download")
    download = download_info.value
    assert download.suggested_filename.startswith("invalid-rows-")
    text = open(download.path(), encoding="utf-8-sig").read()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["Line", "UserID", "Nick", "FaceUrl", "Error", "Skip"]
    assert [(r[0], r[1]) for r in rows[1:]] == [
        ("253", "bad id"),
        ("254", ""),
        ("255", "web001"),
        ("256", "badurl"),
    ]
    assert rows[3][4] == rows[3][5] == "Duplicate of line 3."

    page.click("#upload-confirm")
    page.wait_for_url("**/jobs/*/")
    job = ImportJob.objects.get()
    assert page.url.endswith(f"/jobs/{job.pk}/")
    # The confirm returned at once; a worker reads the file into the job.
    assert "is reading its 251 valid rows" in page.locator(".messages").inner_text()
    status = page.locator("#job-status")
    assert status.get_attribute("data-status") in ("queued", "running")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    # The job page updates itself: no reload from here on. (A locator, not
    # wait_for_function: the page's CSP forbids the eval that one needs.)
    expect(status).to_have_attribute(
        "data-status", re.compile(r"^(done|done_with_errors)$"), timeout=60_000
    )
    assert status.get_attribute("data-status") == "done"
    assert navigations == []
    assert TrackedAccount.objects.filter(state="imported").count() == 251
    upload = Upload.objects.get()
    assert (upload.status, upload.job_id) == (UploadStatus.CONFIRMED, job.pk)

    page.go_back()  # the preview again, now confirmed: no second job
    page.goto(f"{signed_in}/uploads/{upload.token}/")
    assert page.locator("#upload-status").get_attribute("data-status") == "confirmed"
    assert page.locator("#upload-confirm").count() == 0
    assert ImportJob.objects.count() == 1


def test_it_refuses_a_png_with_a_clear_message(page, signed_in):
    page.goto(f"{signed_in}/uploads/new/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "photo.png", "mimeType": "image/png", "buffer": PNG * 20}],
    )
    with page.expect_response("**/uploads/new/") as response_info:
        page.click("#upload-form button[type=submit]")
    assert response_info.value.status == 400
    page.wait_for_selector("#upload-error")
    assert (
        "This is not a CSV file: it holds binary data."
        in page.locator("#upload-error").inner_text()
    )
    screenshot(page, "upload-error")
    assert not Upload.objects.filter(status=UploadStatus.PREVIEWED).exists()
