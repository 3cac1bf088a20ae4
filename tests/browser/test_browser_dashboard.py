"""An importer's day in a browser: dashboard, one import, a live job, a download."""

import csv
import re

import pytest
from playwright.sync_api import expect

from accounts import services
from accounts.models import ImportJob, JobSource, JobStatus
from tests.fixtures_browser import login, screenshot
from tests.personas import IMPORTER, PASSWORD, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def rows(count, prefix):
    return [
        {"user_id": f"{prefix}{i:05d}", "nick": f"Person {i}"} for i in range(count)
    ]


def test_it_imports_one_account_then_follows_a_job_live(page, live_app, sandbox):
    user = make_user("ines", *IMPORTER, staff=True)
    login(page, live_app, "ines", PASSWORD)
    expect(page.locator("h1")).to_have_text("Dashboard")
    screenshot(page, "dashboard")

    page.click("nav >> text=Import one account")
    page.fill("input[name=user_id]", "browser-1")
    page.fill("input[name=nick]", "Ana <b>Browser</b>")
    page.fill("input[name=face_url]", "https://img.example/ana.png")
    page.click("form.stacked button[type=submit]")
    result = page.locator("#import-result")
    expect(result).to_have_attribute("data-outcome", "imported")
    expect(result).to_contain_text("browser-1 is now in IM.")
    screenshot(page, "import-result")
    assert sandbox.account("browser-1")["Nick"] == "Ana <b>Browser</b>"

    sandbox.set_faults(latency_ms=900)  # 30 batches: a job that runs a few seconds
    job, _ = services.accounts_import_rows(
        rows=rows(3000, "live"), source=JobSource.CSV, user=user, label="team.csv"
    )
    page.goto(f"{live_app}/jobs/{job.pk}/")
    status = page.locator("#job-status")
    assert status.get_attribute("data-status") in ("queued", "running")
    page.evaluate("window.__marker = 1")
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    expect(page.locator("#count-remaining")).not_to_have_text("3,000", timeout=30_000)
    screenshot(page, "job-running")
    expect(status).to_have_attribute("data-status", "done", timeout=60_000)
    expect(page.locator("#count-succeeded")).to_have_text("3,000")
    expect(page.locator("#count-remaining")).to_have_text("0")
    expect(page.locator("#job-percent")).to_have_text("100.0%")
    assert page.evaluate("window.__marker") == 1  # the same document: never reloaded
    assert navigations == []
    assert page.locator("[data-while-active]").is_hidden()
    screenshot(page, "job-done")

    page.goto(f"{live_app}/accounts/?q=live0001")
    expect(page.locator("#accounts tbody tr")).to_have_count(10)
    expect(page.locator("#accounts tbody tr").first).to_contain_text("live00010")
    page.goto(f"{live_app}/accounts/?state=imported")
    expect(page.locator("#accounts tbody tr")).to_have_count(50)
    expect(page.locator("#accounts tbody tr").first).to_contain_text("live02999")
    screenshot(page, "accounts-list")
    page.goto(f"{live_app}/accounts/browser-1/")
    expect(page.locator("#account-state")).to_have_text("imported")
    expect(page.locator("#account-calls tbody tr")).to_have_count(1)
    expect(page.locator("main")).to_contain_text("Ana <b>Browser</b>")
    screenshot(page, "account-page")


def test_it_downloads_the_failed_accounts_of_a_stopped_job(
    page, live_server, im_settings, sandbox_factory, run_job, tmp_path
):
    make_user("ines", *IMPORTER)
    capped = sandbox_factory("--account-limit", "100")
    im_settings.IM_API_BASE_URL = capped.url
    job, _ = services.accounts_import_rows(
        rows=rows(160, "cap"), source=JobSource.CSV, label="too-many.csv"
    )
    job = run_job(job)
    assert job.status == JobStatus.STOPPED and job.failed >= 60

    login(page, live_server.url, "ines", PASSWORD)
    banner = page.locator(".banner")
    expect(banner).to_contain_text("stopped with IM error 70398")
    banner.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/jobs/{job.pk}/$"))
    expect(page.locator("#job-error")).to_contain_text("account limit is reached")
    expect(page.locator("[data-when-failed]")).to_be_visible()
    screenshot(page, "job-stopped")

    with page.expect_download() as download_info:
        page.click("#download-failed")
    download = download_info.value
    assert download.suggested_filename == f"job-{job.pk}-failed.csv"
    with open(download.path(), encoding="utf-8-sig", newline="") as stream:
        table = list(csv.reader(stream))
    assert table[0] == ["UserID", "Nick", "FaceUrl", "ErrorCode", "Error"]
    assert len(table) - 1 == ImportJob.objects.get(pk=job.pk).failed
    assert {row[3] for row in table[1:]} == {"70398"}
    assert all(
        row[0].startswith("cap") and row[1].startswith("Person") for row in table[1:]
    )
