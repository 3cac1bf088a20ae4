"""A person signs in and sees the dashboard, in a real browser."""

import pytest
from django.contrib.auth import get_user_model

from tests.fixtures_browser import login, screenshot

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_it_signs_in_and_shows_the_dashboard(page, live_server, im_settings):
    get_user_model().objects.create_superuser("boss", "", "a-long-pass-phrase")
    page.goto(f"{live_server.url}/")
    assert "/login/" in page.url
    login(page, live_server.url, "boss", "a-long-pass-phrase")
    assert page.url.rstrip("/") == live_server.url
    assert page.locator("h1").inner_text() == "Dashboard"
    screenshot(page, "home")
