"""The live job page in Chinese: job.js takes its words from the page and the
server in the page's language, groups numbers as that language does, and its
live region speaks only when the status or the phase changes."""

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import ImportJob, JobStatus
from tests.a11y import Variant
from tests.fixtures_browser import login, screenshot
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_live_job_page_speaks_chinese_and_does_not_chatter(
    page, live_server, im_settings
):
    job = ImportJob.objects.create(
        kind="import",
        source="form",
        status=JobStatus.RUNNING,
        total=12345,
        succeeded=1000,
        started_at=timezone.now(),
    )
    user_with_role("auditor", "auditor-live")
    login(page, live_server.url, "auditor-live", PASSWORD)
    Variant("zh-hans", "light", "desktop").apply(page)
    page.goto(f"{live_server.url}/jobs/{job.pk}/")
    expect(page.locator("#job-phase")).to_have_text("正在发送。")
    ImportJob.objects.filter(pk=job.pk).update(succeeded=2345)
    expect(page.locator("#count-succeeded")).to_have_text("2,345")
    expect(page.locator("#count-remaining")).to_have_text("10,000")
    assert page.locator("#job-announce").inner_text() == ""  # counts: silent
    ImportJob.objects.filter(pk=job.pk).update(
        status=JobStatus.STOPPED, error_code=70398, finished_at=timezone.now()
    )
    expect(page.locator("#job-announce")).to_have_text(
        "任务状态：已停止。已结束：以下计数为最终结果。"
    )
    expect(page.locator("#job-error-verb")).to_have_text("已停止")
    expect(page.locator("#job-error-sentence")).to_contain_text("账号数量上限")
    expect(page.locator("#job-status")).to_have_text("已停止")
    screenshot(page, "job-live-stopped-zh-hans")
