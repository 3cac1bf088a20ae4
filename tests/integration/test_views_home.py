"""The dashboard and the top bar every page shares."""

import re
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone

from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    JobSource,
    JobStatus,
    RemoteStatus,
    TrackedAccount,
)
from accounts.web import context_processors
from tests.personas import IMPORTER, PASSWORD, READER, SUPPORT, make_user, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_cache():
    # The dashboard shares its counts for 15 s; each test counts its own rows.
    cache.clear()
    context_processors._last_check["key"] = None


def accounts(n, prefix="a", **fields):
    TrackedAccount.objects.bulk_create(
        [TrackedAccount(user_id=f"{prefix}{i}", **fields) for i in range(n)]
    )


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_it_counts_accounts_per_state_remote_status_and_drift(admin_client):
    accounts(3, "i", state=AccountState.IMPORTED, remote_status=RemoteStatus.IMPORTED)
    accounts(
        2, "d", state=AccountState.IMPORTED, remote_status=RemoteStatus.NOT_IMPORTED
    )
    accounts(4, "f", state=AccountState.FAILED)
    accounts(1, "p")
    body = admin_client.get("/").content.decode()
    assert _cell(body, "state-imported") == "5"
    assert _cell(body, "state-failed") == "4"
    assert _cell(body, "state-pending") == "1"
    assert _cell(body, "remote-Imported") == "3"
    assert _cell(body, "remote-NotImported") == "2"
    assert _cell(body, "remote-unchecked") == "5"
    assert _cell(body, "remote-drifted") == "2"
    assert 'href="/accounts/?remote=drifted"' in body


def _cell(body, element_id):
    return re.search(rf'id="{element_id}">([^<]*)<', body)[1]


def test_it_draws_fourteen_days_of_imports_as_svg(admin_client):
    now = timezone.now()
    accounts(3, "t", state=AccountState.IMPORTED, imported_at=now)
    accounts(2, "y", state=AccountState.IMPORTED, imported_at=now - timedelta(days=1))
    accounts(7, "o", state=AccountState.IMPORTED, imported_at=now - timedelta(days=20))
    body = admin_client.get("/").content.decode()
    assert body.count('<rect class="bar"') == 14
    assert "5 accounts" in body  # 3 today and 2 yesterday; 20 days ago is out
    assert ": 3 imported</title>" in body


def test_it_shares_the_counts_for_a_while_and_says_when_they_were_taken(admin_client):
    accounts(2, "a", state=AccountState.FAILED)
    admin_client.get("/")
    accounts(3, "b", state=AccountState.FAILED)
    body = admin_client.get("/").content.decode()
    assert _cell(body, "state-failed") == "2"
    assert 'id="as-of"' in body
    cache.clear()
    assert _cell(admin_client.get("/").content.decode(), "state-failed") == "5"


def test_it_lists_recent_jobs_with_progress_bars(admin_client):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.RUNNING,
        label="<b>big.csv</b>",
        total=200,
        succeeded=100,
        failed=50,
    )
    body = admin_client.get("/").content.decode()
    assert f'href="/jobs/{job.pk}/"' in body
    assert "&lt;b&gt;big.csv&lt;/b&gt;" in body
    assert 'class="seg seg-succeeded" x="0.0" width="50.0"' in body
    assert 'class="seg seg-failed" x="50.0" width="25.0"' in body
    assert "75.0%" in body


def test_it_shows_each_apis_recent_rate_against_its_limit(admin_client, settings):
    settings.IM_RATE_FRACTION = 0.5
    now = timezone.now()
    ApiCall.objects.bulk_create(
        [ApiCall(api="multiaccount_import", account_count=100, created_at=now)] * 7
        + [
            ApiCall(
                api="multiaccount_import",
                account_count=100,
                created_at=now - timedelta(seconds=5),
            )
        ]
        * 2
        + [
            ApiCall(
                api="account_check",
                account_count=1,
                created_at=now - timedelta(minutes=5),
            )
        ]
    )
    body = admin_client.get("/").content.decode()
    row = re.search(r"<code>multiaccount_import</code>(.*?)</tr>", body, re.S)[1]
    cells = re.findall(r'<td class="num">([^<]*)</td>', row)
    assert cells == ["9", "0.2/s", "7/s", "50/s"]  # 9 calls / 60 s
    check = re.search(r"<code>account_check</code>(.*?)</tr>", body, re.S)[1]
    assert re.findall(r'<td class="num">([^<]*)</td>', check)[0] == "0"


def test_it_says_when_no_worker_is_running(admin_client):
    ImportJob.objects.create(source=JobSource.CSV, heartbeat_at=timezone.now())
    body = admin_client.get("/").content.decode()
    assert "No worker is running" in body
    assert "Newest job heartbeat: " + timezone.now().strftime("%Y-%m-%d") in body


def test_it_shows_the_endpoint_but_never_the_secret(admin_client, settings):
    settings.IM_SECRET_KEY = "do-not-show-this-secret"
    settings.IM_API_BASE_URL = "http://127.0.0.1:9/"
    body = admin_client.get("/").content.decode()
    assert "local sandbox (http://127.0.0.1:9)" in body
    assert "do-not-show-this-secret" not in body


def test_it_shows_only_what_the_user_may_see(client):
    signed_in(client, "nobody")
    body = client.get("/").content.decode()
    assert body.count("<h1>Dashboard</h1>") == 1
    assert 'id="account-counts"' not in body
    assert "Recent jobs" not in body
    assert "API rate" not in body


def test_it_links_pages_by_permission_and_signs_out_by_post(client):
    signed_in(client, "support", *SUPPORT)
    nav = _nav(client.get("/").content.decode())
    assert 'href="/import/"' in nav and 'href="/accounts/"' in nav
    assert 'href="/jobs/"' not in nav and "Admin" not in nav
    assert re.search(
        r'<form method="post" action="/logout/"', client.get("/").content.decode()
    )


def test_it_links_bulk_pages_for_importers_and_the_admin_for_staff(client):
    signed_in(client, "importer", *IMPORTER, staff=True)
    nav = _nav(client.get("/").content.decode())
    assert 'href="/jobs/"' in nav and 'href="/admin/"' in nav


def _nav(body):
    return re.search(r"<nav.*?</nav>", body, re.S)[0]


def test_it_warns_who_can_act_when_im_is_misconfigured(client, settings):
    settings.IM_SECRET_KEY = ""
    settings.IM_SECRET_KEY_FILE = "/nonexistent/imadmin-key"
    signed_in(client, "importer", *IMPORTER)
    body = client.get("/").content.decode()
    assert 'class="banner"' in body
    assert (
        "IM is not configured correctly: IM_SECRET_KEY_FILE /nonexistent/imadmin-key"
        in body
    )


def test_it_does_not_warn_readers_about_configuration(client, settings):
    settings.IM_SECRET_KEY = ""
    settings.IM_SECRET_KEY_FILE = "/nonexistent/imadmin-key"
    signed_in(client, "reader", *READER)
    assert 'class="banner"' not in client.get("/").content.decode()


def test_it_warns_when_the_last_job_stopped_on_the_account_cap(client):
    ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.DONE)
    job = ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.STOPPED, error_code=70398
    )
    signed_in(client, "importer", *IMPORTER)
    body = client.get("/accounts/").content.decode()
    assert (
        "stopped with IM error 70398: The app&#x27;s account limit is reached" in body
    )
    assert f'<a href="/jobs/{job.pk}/">Open job #{job.pk}</a>' in body


def test_it_does_not_warn_once_a_later_job_ended_well(client):
    ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.STOPPED, error_code=70009
    )
    ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.DONE)
    signed_in(client, "importer", *IMPORTER)
    assert 'class="banner"' not in client.get("/").content.decode()


def test_it_does_not_warn_about_a_job_stopped_by_a_transient_error(client):
    ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.STOPPED, error_code=70500
    )
    signed_in(client, "importer", *IMPORTER)
    assert 'class="banner"' not in client.get("/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/",
        "/import/",
        "/accounts/",
        "/accounts/x1/",
        "/jobs/",
        "/jobs/{job}/",
        "/login/",
    ],
)
def test_it_has_no_inline_script_or_style(admin_client, url):
    job = ImportJob.objects.create(source=JobSource.CSV, total=1)
    TrackedAccount.objects.create(user_id="x1", job=job)
    if url == "/login/":
        admin_client.logout()
    body = admin_client.get(url.format(job=job.pk)).content.decode()
    assert "<style" not in body
    assert not re.search(r"\sstyle=", body)
    assert not re.search(r"\son[a-z]+=", body)  # no inline event handlers
    for tag in re.findall(r"<script[^>]*>", body):
        assert 'src="/static/' in tag


@pytest.mark.parametrize(
    ("url", "current"),
    [
        ("/", "Home"),
        ("/import/", "Import one account"),
        ("/uploads/new/", "Upload CSV"),
        ("/accounts/", "Accounts"),
        ("/accounts/x1/", "Accounts"),
        ("/jobs/", "Jobs"),
        ("/jobs/{job}/", "Jobs"),
        ("/audit/", "Audit history"),
    ],
)
def test_the_top_bar_marks_the_current_page(admin_client, url, current):
    # The top bar compares namespaced view names ("web:job_detail"), one link each.
    job = ImportJob.objects.create(source=JobSource.CSV, total=1)
    TrackedAccount.objects.create(user_id="x1", job=job)
    body = admin_client.get(url.format(job=job.pk)).content.decode()
    marked = re.findall(r'<a href="[^"]*" aria-current="page">([^<]*)</a>', body)
    assert marked == [current]


def test_signing_in_lands_on_the_dashboard(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    make_user("ann", *SUPPORT)
    response = client.post("/login/", {"username": "ann", "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
