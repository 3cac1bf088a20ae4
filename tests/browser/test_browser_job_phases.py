"""The job page while a CSV is read, while it is sent, when it is cancelled and
after: what it says equals what the database holds at each step.

A real qcluster reads the file and sends it to the sandbox, slowed down so
that each phase lasts a few seconds. The page is never reloaded by itself:
job.js keeps it true.
"""

import re

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from accounts import selectors
from accounts.models import (
    AccountState,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobStatus,
    TrackedAccount,
)
from tests.fixtures_browser import login, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

PASSWORD = "a-long-pass-phrase"
ROWS = 30_000
INVALID = 3


def people_csv():
    lines = ["UserID,Nick"] + [f"ph{i:05d},Nick {i}" for i in range(ROWS)]
    lines += ["bad id,x", ",nobody", "also bad!,y"][:INVALID]
    return ("\n".join(lines) + "\n").encode()


def number(text):
    return int(text.replace(",", ""))


def figures(page):
    """The reading box's two figures: (valid rows read, accounts queued)."""
    text = page.locator("#job-reading").inner_text()
    found = re.search(r"([\d,]+) valid rows? read, ([\d,]+) accounts? queued", text)
    assert found, text
    return number(found[1]), number(found[2])


def db(job):
    job.refresh_from_db()
    return job


def test_the_job_page_tells_each_phase_as_the_database_has_it(page, live_app, sandbox):
    get_user_model().objects.create_superuser("boss", "", PASSWORD)
    login(page, live_app, "boss", PASSWORD)
    sandbox.set_faults(latency_ms=800)
    job = upload_and_confirm(page, live_app)
    navigations = []
    page.on("framenavigated", lambda frame: navigations.append(frame.url))
    while_reading(page, job)
    while_sending(page, job)
    expected = after_cancel(page, job, navigations)
    assert navigations == []  # all of that without a reload
    # After: a fresh render says the same, and offers the rest.
    page.reload()
    for selector, text in expected.items():
        expect(page.locator(selector)).to_have_text(text)
    page.goto(f"{live_app}/jobs/")
    listing_row = page.locator(f"#jobs tr:has(a[href='/jobs/{job.pk}/'])")
    expect(listing_row.locator(".pct")).to_have_text(expected["#job-percent"])
    resume_from_the_page(page, live_app, job, sandbox)


def upload_and_confirm(page, live_app):
    page.goto(f"{live_app}/uploads/new/")
    page.set_input_files(
        "input[name=file]",
        files=[{"name": "phases.csv", "mimeType": "text/csv", "buffer": people_csv()}],
    )
    page.click("#upload-form button[type=submit]")
    page.click("#upload-confirm")
    page.wait_for_url("**/jobs/*/")
    invalid = page.locator("#job-file-invalid").inner_text()
    assert invalid.startswith(f"{INVALID} invalid rows in the file")
    assert page.locator("#job-percent").inner_text() != "100.0%"
    return ImportJob.objects.get()


def while_reading(page, job):
    """The box's figures move with the database's (polled each second)."""
    expect(page.locator("#job-phase")).to_have_attribute(
        "data-phase", "reading", timeout=15_000
    )
    before = db(job).options["prepared_rows"], job.total
    page.wait_for_timeout(1500)  # at least one poll after ``before``
    shown = figures(page)
    after = db(job).options["prepared_rows"], job.total
    assert before[0] <= shown[0] <= after[0] and before[1] <= shown[1] <= after[1]
    assert "so far" in page.locator("#job-reading").inner_text()
    screenshot(page, "job-reading")


def while_sending(page, job):
    """The file is read: the box says what it made, exactly; the ETA shows."""
    expect(page.locator("#job-phase")).to_have_attribute(
        "data-phase", "sending", timeout=60_000
    )
    job = db(job)
    assert not job.preparing and job.options["prepared_rows"] == ROWS
    expect(page.locator("#job-reading")).to_have_text(
        f"File read: {ROWS:,} valid rows read, {job.total:,} accounts queued."
    )
    expect(page.locator("#count-total")).to_have_text(f"{job.total:,}")
    expect(page.locator("#job-eta")).to_contain_text("about", timeout=10_000)
    # The live region said the new phase once; the counts' ticks say nothing.
    said = "Job status: running. Phase 2 of 2: the file is read; sending."
    expect(page.locator("#job-announce")).to_have_text(said)
    done_before = db(job).succeeded
    page.wait_for_timeout(1500)
    shown = number(page.locator("#count-succeeded").inner_text())
    assert done_before <= shown <= db(job).succeeded < job.total
    assert page.locator("#job-announce").inner_text() == said
    screenshot(page, "job-sending")


def after_cancel(page, job, navigations):
    """Cancel; once the calls in flight are recorded the page says the final
    counts, rate and share, as the job row and its audit entry have them."""
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("[data-while-active] button")
    page.wait_for_url(f"**/jobs/{job.pk}/")
    navigations.clear()
    expect(page.locator("#job-phase")).to_have_attribute(
        "data-phase", "ended", timeout=30_000
    )
    job = db(job)
    assert job.settled and job.status == JobStatus.CANCELLED
    assert 0 < job.cancelled and job.succeeded + job.cancelled == job.total
    answered = job.succeeded + job.failed + job.invalid
    expected = {
        "#job-status": "cancelled",
        "#count-succeeded": f"{job.succeeded:,}",
        "#count-cancelled": f"{job.cancelled:,}",
        "#count-remaining": "0",
        "#remaining-label": "remaining",
        "#job-percent": f"{100 * answered / job.total:.1f}%",
        "#job-rate": str(selectors.job_pace(job).rate),
        "#job-eta": "—",
    }
    for selector, text in expected.items():
        expect(page.locator(selector)).to_have_text(text)
    # Said once the counts are final, unless the page after Cancel was drawn
    # with them final already (nothing changed since then to announce).
    announced = page.locator("#job-announce").inner_text()
    assert announced in ("", "Job status: cancelled. Ended: these counts are final.")
    ended = AuditEvent.objects.get(job_id=job.pk, action=AuditAction.JOB_ENDED)
    assert {k: ended.details[k] for k in ("succeeded", "failed", "cancelled")} == {
        "succeeded": job.succeeded,
        "failed": job.failed,
        "cancelled": job.cancelled,
    }
    screenshot(page, "job-cancelled")
    return expected


def resume_from_the_page(page, live_app, job, sandbox):
    """ "Import the remaining N" imports what the cancel left, without the file."""
    page.goto(f"{live_app}/jobs/{job.pk}/")
    left = TrackedAccount.objects.filter(state=AccountState.PENDING).count()
    assert left == job.cancelled
    expect(page.locator("#job-continue button")).to_have_text(
        f"Import the remaining {left:,} accounts"
    )
    page.click("#job-continue button")
    page.wait_for_url(re.compile(rf".*/jobs/(?!{job.pk}/)\d+/$"))
    resumed = ImportJob.objects.get(options__resume_of=job.pk)
    assert resumed.total == left
    sandbox.set_faults(latency_ms=0)
    expect(page.locator("#job-status")).to_have_attribute(
        "data-status", "done", timeout=60_000
    )
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == (
        db(job).total
    )
    screenshot(page, "job-resumed")
