"""The API's docs page (ninja's Swagger UI) in Chromium, under the site's CSP."""

import pytest

from tests.browser.test_browser_audit import csp_violations
from tests.fixtures_browser import login, screenshot
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_the_docs_page_lists_every_endpoint_with_local_assets_under_the_csp(
    page, live_server
):
    user_with_role("support", "sam")
    violations = csp_violations(page)
    outside = []
    page.on(
        "request",
        lambda request: (
            outside.append(request.url)
            if not request.url.startswith((live_server.url, "data:"))
            else None
        ),
    )
    login(page, live_server.url, "sam", PASSWORD)
    page.goto(f"{live_server.url}/api/v1/docs")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert {path.replace("\u200b", "") for path in paths} == {
        "/api/v1/accounts",
        "/api/v1/accounts/{user_id}",
        "/api/v1/jobs",
        "/api/v1/jobs/{job_id}",
        "/api/v1/jobs/{job_id}/accounts",
        "/api/v1/jobs/{job_id}/retry",
        "/api/v1/jobs/{job_id}/cancel",
    }
    assert "imadmin API" in page.locator(".info .title").inner_text()
    screenshot(page, "api-docs")
    assert violations == [] and outside == []
