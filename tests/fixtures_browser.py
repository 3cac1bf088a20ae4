"""Browser fixtures: Playwright driving Debian's Chromium against a live server.

- ``browser``: one headless Chromium for the session (skipped when it is
  missing, unless REQUIRE_BROWSER=1, which makes a missing browser an error).
- ``page``: a fresh context and page per test.
- ``live_app``: the live server wired to the sandbox and a real qcluster
  worker (sharing ``settings.UPLOAD_DIR``); returns its URL.
- ``login(page, user, password)``: signs in through the login form.
- ``screenshot(page, name)``: saves test-artifacts/screenshots/NAME.png.
"""

import os
import shutil
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts" / "screenshots"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not (Path(CHROMIUM).exists() or shutil.which(CHROMIUM)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def live_app(live_server, im_settings, qcluster, settings, tmp_path):
    """The live server, the sandbox and one real worker, ready for a browser.

    The server and the worker share an upload folder: the worker reads a
    confirmed upload's file into its job.
    """
    settings.UPLOAD_DIR = tmp_path / "uploads"
    qcluster(workers=2, UPLOAD_DIR=str(settings.UPLOAD_DIR))
    return live_server.url


def login(page, base_url, username, password):
    page.goto(f"{base_url}/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    # The sign-in form's button: the top bar's language switcher is a form too.
    page.click("form:has(input[name=password]) button[type=submit]")
    page.wait_for_load_state()


def screenshot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
