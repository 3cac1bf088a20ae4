"""Pages at 1366 and 375 px, light and dark, English and Chinese: no sideways
scroll, the declared language, and no serious or critical axe-core violation.

PAGES lists, per role, what is checked (literal paths, as the view tests use).
``scope`` limits axe to a part of the page: "header" where only the top bar
is converted so far; "html" checks the whole page. "{job}" in a path is the
job that ``history`` makes, "{upload}" the token of the upload ``upload`` makes.
"""

import pytest
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    ImportJob,
    TrackedAccount,
)
from tests.a11y import VARIANTS, Variant, check_page, with_axe
from tests.fixtures_browser import login, screenshot
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# role: [(path, scope, screenshot name)]; "anonymous" is signed out.
PAGES = {
    "anonymous": [("/login/", "html", "login")],
    "support": [
        ("/", "html", "home-support"),
        ("/accounts/", "html", "account-list"),
        ("/accounts/a11y-0/", "html", "account-detail-support"),
        ("/import/", "html", "import-single"),
        ("/jobs/", "html", "error-403"),
        ("/no-such-page/", "html", "error-404"),
        ("/password_change/", "html", "password-change"),
        ("/password_change/done/", "html", "password-changed"),
    ],
    "importer": [
        ("/", "html", "home-importer"),
        ("/jobs/", "html", "job-list"),
        ("/jobs/{job}/", "html", "job-detail-importer"),
        ("/accounts/a11y-0/", "html", "account-detail-importer"),
        ("/accounts/a11y-0/delete/", "html", "account-delete"),
        ("/uploads/new/", "html", "upload-new"),
        ("/uploads/{upload}/", "html", "upload-preview"),
        ("/uploads/", "html", "upload-list"),
    ],
    "auditor": [
        ("/", "html", "home-auditor"),
        ("/audit/", "html", "audit-list"),
        ("/audit/?job=x&date_from=2026-12-02&date_to=2026-12-01", "html", "audit-bad"),
        ("/audit/jobs/{job}/", "html", "audit-job"),
        ("/jobs/{job}/", "html", "job-detail-auditor"),
        ("/accounts/?job=x", "html", "account-list-bad"),
        ("/uploads/", "html", "upload-list-auditor"),
        ("/uploads/{upload}/", "html", "upload-preview-auditor"),
    ],
}


@pytest.fixture
def history():
    """A finished job with an API call, an audit entry and imported accounts,
    so the pages show their tables, chart and figures."""
    now = timezone.now()
    job = ImportJob.objects.create(
        kind="import",
        source="csv",
        status="done_with_errors",
        label="people.csv",
        total=1200,
        succeeded=1199,
        failed=1,
        created_at=now,
        finished_at=now,
    )
    ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=100,
        user_ids=[f"u{n}" for n in range(100)],
        http_status=200,
        error_code=70169,
        fail_accounts=["u7"],
        duration_ms=120,
        created_at=now,
    )
    audit_record(
        action=AuditAction.JOB_STARTED,
        actor=None,
        object_type="job",
        object_id=str(job.pk),
        job_id=job.pk,
        result="ok",
        details={"label": "people.csv"},
    )
    TrackedAccount.objects.bulk_create(
        TrackedAccount(
            user_id=f"a11y-{n}",
            state=AccountState.IMPORTED,
            imported_at=now,
            job=job,
        )
        for n in range(3)
    )
    return job


@pytest.fixture
def upload(settings, tmp_path):
    """A previewed upload with valid, invalid and duplicate rows."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from accounts.uploads.services import upload_receive

    settings.UPLOAD_DIR = tmp_path / "uploads"
    rows = "".join(f"u-{n},Nick {n}\r\n" for n in range(1500))
    content = f"UserID,Nick,Phone\r\n{rows}bad id,x\r\nu-1,again\r\n".encode()
    file = SimpleUploadedFile("people.csv", content, content_type="text/csv")
    owner = user_with_role("importer", "uploader-a11y")
    return upload_receive(file=file, encoding="auto", user=owner, background=False)


def _signed_in_page(page, base_url, role):
    with_axe(page)
    if role != "anonymous":
        user_with_role(role, f"{role}-a11y")
        login(page, base_url, f"{role}-a11y", PASSWORD)
    return page


@pytest.mark.parametrize("role", sorted(PAGES))
def test_each_page_passes_in_every_language_theme_and_width(
    page, live_server, im_settings, history, upload, role
):
    _signed_in_page(page, live_server.url, role)
    problems = [
        problem
        for path, scope, name in PAGES[role]
        for variant in VARIANTS
        for problem in check_page(
            page,
            live_server.url + path.format(job=history.pk, upload=upload.token),
            variant,
            scope=scope,
            name=name,
        )
    ]
    assert problems == [], "\n".join(problems)


def test_the_400_and_500_pages_pass_too(page, live_server, im_settings, settings):
    settings.ROOT_URLCONF = "tests.integration.urls_failing"
    with_axe(page)
    problems = [
        problem
        for path, name in (("/refuse/", "error-400"), ("/fail/", "error-500"))
        for variant in VARIANTS
        for problem in check_page(page, live_server.url + path, variant, name=name)
    ]
    assert problems == [], "\n".join(problems)


def test_the_top_bar_folds_into_a_menu_on_a_phone(page, live_server, im_settings):
    _signed_in_page(page, live_server.url, "importer")
    Variant("zh-hans", "dark", "phone").apply(page)
    page.goto(live_server.url + "/")
    toggle = page.get_by_role("button", name="菜单")
    nav = page.get_by_role("navigation", name="主导航")
    assert toggle.get_attribute("aria-expanded") == "false"
    assert not nav.is_visible()
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert nav.is_visible()
    links = nav.get_by_role("link").all_inner_texts()
    assert links == [
        "首页",
        "导入单个账号",
        "上传 CSV",
        "账号",
        "任务",
        "上传记录",
        "管理后台",
    ]
    screenshot(page, "home-menu-open-zh-hans-dark-phone")


def test_the_switcher_changes_the_language_and_remembers_it(
    page, live_server, im_settings
):
    _signed_in_page(page, live_server.url, "support")
    Variant("en", "light", "desktop").apply(page)
    page.goto(live_server.url + "/accounts/")
    page.get_by_role("button", name="简体中文").click()
    page.wait_for_load_state()
    assert page.url == live_server.url + "/accounts/"
    assert page.get_attribute("html", "lang") == "zh-hans"
    page.goto(live_server.url + "/")  # the cookie outranks Accept-Language: en
    assert page.get_by_role("button", name="退出登录").is_visible()


def test_the_skip_link_moves_focus_to_the_content(page, live_server, im_settings):
    _signed_in_page(page, live_server.url, "support")
    Variant("en", "light", "desktop").apply(page)
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the page's content")
    assert skip.evaluate("link => link === document.activeElement")
    assert skip.is_visible()
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"


def test_the_checks_catch_what_they_look_for(page, live_server):
    broken = (
        '<!doctype html><html lang="en"><body><img src="/x.png">'
        '<header><nav><a href="/">Home</a></nav></header>'
        '<div style="width:2000px">wide</div>'
        '<input aria-describedby="nowhere"></body></html>'
    )
    page.route(
        f"{live_server.url}/broken",
        lambda route: route.fulfill(body=broken, content_type="text/html"),
    )
    with_axe(page)
    problems = check_page(
        page,
        f"{live_server.url}/broken",
        Variant("zh-hans", "light", "phone"),
        name="broken",
    )
    assert any("image-alt (critical)" in p for p in problems), problems
    assert any("px wide in 375px" in p for p in problems), problems
    assert any("no element for aria-describedby=nowhere" in p for p in problems)
    assert any('"Home" in English' in p for p in problems), problems
    assert any('html lang is "en"' in p for p in problems), problems
