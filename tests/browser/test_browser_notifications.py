"""A person turns job emails off from the top bar's Notifications page."""

import pytest

from accounts.notifications import services as notifications
from tests.fixtures_browser import login, screenshot
from tests.personas import PASSWORD, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_it_turns_job_emails_off_and_on_from_the_top_bar(page, live_server):
    user = make_user("importer", "run_bulk_jobs")
    user.email = "importer@example.com"
    user.save()
    login(page, live_server.url, "importer", PASSWORD)
    page.get_by_role("link", name="Notifications").click()
    assert page.locator("h1").inner_text() == "Notifications"
    assert "importer@example.com" in page.locator("main").inner_text()
    box = page.get_by_label("Email me when a job I started ends")
    assert box.is_checked()
    box.uncheck()
    page.get_by_role("button", name="Save").click()
    assert (
        "Your notification choice is saved." in page.locator(".messages").inner_text()
    )
    assert not page.get_by_label("Email me when a job I started ends").is_checked()
    assert not notifications.notification_preference(user=user).email_on_job_end
    screenshot(page, "notifications")
    page.get_by_label("Email me when a job I started ends").check()
    page.get_by_role("button", name="Save").click()
    assert notifications.notification_preference(user=user).email_on_job_end
