"""An auditor filters the history, downloads an export and reads a job's story,
in a real browser, under the Content-Security-Policy (the admin included)."""

import csv
import io

import pytest
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.models import ApiCall, AuditAction, ImportJob
from tests.fixtures_browser import login, screenshot
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture
def story(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    importer = user_with_role("importer", "imogen")
    job = ImportJob.objects.create(
        kind="import",
        source="form",
        status="done_with_errors",
        label="team/alice",
        created_by=importer,
        total=1,
        failed=1,
    )
    ApiCall.objects.create(
        job=job,
        api="account_import",
        account_count=1,
        user_ids=["team/alice"],
        http_status=200,
        error_code=70169,
        error_info="busy",
        created_at=timezone.now(),
    )
    for user_id, nick in (("team/alice", FORMULA), ("bob", "Bob")):
        audit_record(
            action=AuditAction.SINGLE_IMPORT,
            actor=importer,
            object_type="account",
            object_id=user_id,
            user_id=user_id,
            job_id=job.pk,
            result="failed",
            details={"nick": nick},
        )
    user_with_role("auditor", "audrey")
    return job


def csp_violations(page):
    found = []
    page.on(
        "console",
        lambda message: (
            found.append(message.text)
            if "Content Security Policy" in message.text
            else None
        ),
    )
    return found


def test_an_auditor_filters_the_history_and_downloads_it(
    page, live_server, im_settings, story
):
    violations = csp_violations(page)
    base = live_server.url
    login(page, base, "audrey", PASSWORD)
    page.click("nav >> text=Audit history")
    assert page.locator("h1").inner_text() == "Audit history"

    page.fill("#id_user_id", "team/alice")
    page.select_option("#id_action", "single_import")
    page.click("#audit-filters button[type=submit]")
    rows = page.locator("#audit tbody tr")
    assert rows.count() == 1
    assert "team/alice" in rows.first.inner_text()
    assert FORMULA in rows.first.inner_text()  # shown as text, not run
    screenshot(page, "audit-history")

    with page.expect_download() as download:
        page.click("#export-csv")
    exported = io.StringIO(open(download.value.path(), encoding="utf-8").read())
    (row,) = list(csv.DictReader(exported))
    assert (row["action"], row["user_id"], row["actor_name"]) == (
        "single_import",
        "team/alice",
        "imogen",
    )
    assert '"nick": "=HYPERLINK' in row["details"]

    page.click(f"a[href='/audit/jobs/{story.pk}/']")
    assert page.locator("h1").inner_text() == f"The story of import job #{story.pk}"
    assert "imogen" in page.locator("dl.facts").inner_text()
    assert "70169" in page.locator("#calls").inner_text()
    screenshot(page, "audit-job-story")
    assert violations == []


def test_the_admin_works_under_the_csp(page, live_server, im_settings, story):
    violations = csp_violations(page)
    login(page, live_server.url, "audrey", PASSWORD)
    page.goto(f"{live_server.url}/admin/accounts/auditevent/")
    assert "Select audit event to view" in page.locator("#content h1").inner_text()
    page.click("#changelist-filter >> text=single import")
    assert page.locator("#result_list tbody tr").count() == 2
    page.locator("#result_list tbody tr th a").first.click()
    assert page.locator("input[name=_save]").count() == 0
    screenshot(page, "admin-audit-entry")
    assert violations == []
