"""The job and account pages say what is true (issue 11, items 4 and 5).

Each test pins one sentence or figure a person reads, against the database.
"""

import csv
import html
import io
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import selectors, services
from accounts.im import errors
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
    Upload,
    UploadStatus,
)
from tests.personas import IMPORTER, READER, signed_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def importer(client):
    signed_in(client, "importer", *IMPORTER)
    return client


def page(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def listed(body):
    return re.findall(r'<a href="/accounts/[^"]+/"><code>([^<]+)</code>', body)


def job_of(states, **fields):
    """A job with one account per (item state, code); accounts named j<pk>-<n>."""
    job = ImportJob.objects.create(source=JobSource.CSV, total=len(states), **fields)
    for n, (state, code) in enumerate(states):
        account = TrackedAccount.objects.create(
            user_id=f"j{job.pk}-{n}",
            job=job,
            state=AccountState.FAILED if state == ItemState.FAILED else "imported",
            last_error_code=code,
        )
        JobItem.objects.create(job=job, account=account, state=state, error_code=code)
    return job


# -- the progress of a job -------------------------------------------------------


def test_an_empty_bar_reads_reading_not_100_percent(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV, options={"preparing": True, "prepared_rows": 0}
    )
    body = page(importer, f"/jobs/{job.pk}/")
    assert '<span class="pct" id="job-percent">reading…</span>' in body
    assert "100.0%" not in body
    progress = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert (progress["percent"], progress["percent_text"]) == (None, "reading…")
    assert progress["phase"] == "reading"


def test_the_reading_box_says_rows_read_and_accounts_queued_then_ends(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        label="team.csv",
        options={"preparing": True, "prepared_rows": 1},
    )
    progress = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert progress["reading_text"] == (
        "Reading team.csv: 1 valid row read, 0 accounts queued so far; "
        "sending meanwhile."
    )
    services.job_cancel(job=job)
    progress = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert progress["reading_text"] == (
        "Reading stopped when the job was cancelled: 1 valid row read, "
        "0 accounts queued."
    )
    assert not progress["preparing"] and progress["phase"] == "ended"


def test_a_cancelled_job_shows_the_share_done_not_100_percent(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.CANCELLED,
        total=200,
        succeeded=50,
        cancelled=150,
        started_at=timezone.now() - timedelta(seconds=10),
        finished_at=timezone.now(),
    )
    listing = page(importer, "/jobs/")
    assert "25.0%" in listing and "100.0%" not in listing
    body = page(importer, f"/jobs/{job.pk}/")
    assert '<span class="pct" id="job-percent">25.0%</span>' in body
    # Settled: the rate is the job's overall one, and nothing is left.
    assert '<span class="n" id="job-rate">5.0</span>' in body
    assert '<span class="n" id="count-remaining">0</span>' in body
    assert '<span class="n" id="job-eta">—</span>' in body


def test_a_cancelled_job_still_answering_calls_says_in_flight(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.CANCELLED,
        total=300,
        succeeded=100,
        cancelled=100,
        started_at=timezone.now(),
    )
    progress = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert (progress["remaining"], progress["remaining_label"]) == (100, "in flight")
    assert progress["active"] and progress["phase"] == "ending"


def test_the_eta_comes_from_the_recent_rate(importer):
    now = timezone.now()
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.RUNNING,
        total=10_000,
        succeeded=2_000,
        started_at=now - timedelta(seconds=60),
    )
    ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=100,
        error_code=0,
        created_at=now - timedelta(seconds=5),
    )
    pace = selectors.job_pace(job)
    assert pace.eta_seconds
    body = page(importer, f"/jobs/{job.pk}/")
    eta = re.search(r'<span class="n" id="job-eta">([^<]+)</span>', body)[1]
    assert eta.startswith("about ") and "min" in eta
    progress = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert progress["eta_text"] == eta


# -- a job's accounts, its file, its downloads -----------------------------------


def test_a_jobs_failed_accounts_stay_listed_after_a_later_check(importer):
    job = job_of([(ItemState.FAILED, 70500), (ItemState.SUCCEEDED, None)])
    failed = TrackedAccount.objects.get(user_id=f"j{job.pk}-0")
    # The scheduled check touches the account: it is now another job's.
    check = services.job_start(
        kind=JobKind.CHECK,
        accounts=TrackedAccount.objects.filter(pk=failed.pk),
        source=JobSource.SCHEDULE,
    )
    failed.refresh_from_db()
    assert failed.job_id == check.pk
    body = page(importer, f"/accounts/?job={job.pk}&state=failed")
    assert listed(body) == [failed.user_id]
    assert listed(page(importer, f"/accounts/?job={job.pk}")) == [
        f"j{job.pk}-1",
        f"j{job.pk}-0",
    ]
    assert listed(page(importer, f"/accounts/?job={job.pk}&state=imported")) == [
        f"j{job.pk}-1"
    ]


def test_a_job_says_how_many_rows_of_its_file_were_invalid_and_links_it(
    importer, django_user_model
):
    job = ImportJob.objects.create(source=JobSource.CSV, label="people.csv")
    upload = Upload.objects.create(
        token="tok-123",
        file_name="people.csv",
        size=10,
        sha256="0" * 64,
        status=UploadStatus.CONFIRMED,
        summary={"rows": 27, "valid": 20, "invalid": 7},
        job=job,
    )
    job.options = {"upload": upload.pk}
    job.save()
    body = page(importer, f"/jobs/{job.pk}/")
    assert "7 invalid rows in the file, not sent" in body
    assert f'<a href="/uploads/{upload.token}/">people.csv</a>' in body
    assert "27 rows, 20 valid" in body


def test_the_failed_csv_does_not_promise_a_retry_for_failed_accounts(importer):
    job = job_of([(ItemState.FAILED, 70169), (ItemState.FAILED, errors.FAIL_ACCOUNTS)])
    response = importer.get(f"/jobs/{job.pk}/failed.csv?state=failed")
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))[1:]
    assert len(rows) == 2
    for row in rows:
        assert "will be retried" not in row[4]
        assert "not retried by itself" in row[4]
    assert rows[0][4].startswith("IM server timeout.")


def test_the_call_log_shows_a_partial_success_as_partial(importer):
    job = ImportJob.objects.create(source=JobSource.CSV, total=100)
    ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=100,
        error_code=0,
        fail_accounts=["a", "b", "c"],
        created_at=timezone.now(),
    )
    calls = re.search(
        r'id="calls">(.*?)</table>', page(importer, f"/jobs/{job.pk}/"), re.S
    )[1]
    assert "partly: 97 OK, 3 failed" in calls
    assert "0 OK" not in calls and "ok-text" not in calls


def test_messages_count_accounts_in_the_singular_too(importer):
    job = job_of([(ItemState.FAILED, 70500)], status=JobStatus.DONE_WITH_ERRORS)
    job.finished_at = timezone.now()
    job.save()
    response = importer.post(f"/jobs/{job.pk}/retry/", follow=True)
    text = html.unescape(response.content.decode())
    assert f"Retrying 1 failed account of job #{job.pk}" in text


# -- resuming what a cancel left ---------------------------------------------------


def test_a_cancelled_job_offers_to_import_the_remaining_accounts(importer, client):
    job = job_of(
        [(ItemState.SUCCEEDED, None), (ItemState.CANCELLED, None)],
        status=JobStatus.CANCELLED,
        kind=JobKind.IMPORT,
        succeeded=1,
        cancelled=1,
    )
    TrackedAccount.objects.filter(user_id=f"j{job.pk}-1").update(
        state=AccountState.PENDING
    )
    job.finished_at = timezone.now()
    job.save()
    body = page(importer, f"/jobs/{job.pk}/")
    assert "Import the remaining 1 account</button>" in body
    response = importer.post(f"/jobs/{job.pk}/continue/")
    resumed = ImportJob.objects.get(options__resume_of=job.pk)
    assert response["Location"] == f"/jobs/{resumed.pk}/"
    assert resumed.total == 1
    assert list(resumed.items.values_list("account__user_id", flat=True)) == [
        f"j{job.pk}-1"
    ]
    entry = AuditEvent.objects.get(action=AuditAction.JOB_RESUME, job_id=job.pk)
    assert entry.details == {"new_job": resumed.pk, "accounts": 1}
    # A reader sees no button and may not post.
    client.logout()
    signed_in(client, "reader", *READER)
    assert "Import the remaining" not in page(client, f"/jobs/{job.pk}/")
    assert client.post(f"/jobs/{job.pk}/continue/").status_code == 403


def test_a_running_job_cannot_be_resumed_as_remaining(importer):
    job = job_of([(ItemState.QUEUED, None)], status=JobStatus.RUNNING)
    response = importer.post(f"/jobs/{job.pk}/continue/", follow=True)
    assert "Only a cancelled or stopped import can be resumed." in (
        response.content.decode()
    )
    assert ImportJob.objects.count() == 1


# -- the account page's actions ----------------------------------------------------


@pytest.mark.parametrize(
    ("action", "kind"),
    [("retry", JobKind.IMPORT), ("check", JobKind.CHECK)],
)
def test_an_account_is_imported_again_or_checked_from_its_page(importer, action, kind):
    account = TrackedAccount.objects.create(user_id="a/b/../c", state="failed")
    body = page(importer, "/accounts/a%252Fb%252F..%252Fc/")
    assert f'action="/accounts/a%252Fb%252F..%252Fc/{action}/"' in body
    response = importer.post(f"/accounts/a%252Fb%252F..%252Fc/{action}/")
    assert response["Location"] == "/accounts/a%252Fb%252F..%252Fc/"
    job = ImportJob.objects.get()
    assert (job.kind, job.total) == (kind, 1)
    entry = AuditEvent.objects.get(action=AuditAction.ADMIN_ACTION)
    assert (entry.user_id, entry.job_id) == (account.user_id, job.pk)
    assert entry.details == {"action": f"account_{action}", "queued": 1}
    if kind == JobKind.IMPORT:  # queued now: a second click starts nothing
        again = importer.post("/accounts/a%252Fb%252F..%252Fc/retry/", follow=True)
        assert "is in a running job already" in again.content.decode()
        assert ImportJob.objects.count() == 1


def test_a_delete_from_im_needs_its_confirmation(importer):
    TrackedAccount.objects.create(user_id="x/./y", state="imported")
    url = "/accounts/x%252F.%252Fy/delete/"
    body = page(importer, url)
    assert "three months (error 70399)" in body
    assert "trial edition" in body
    assert importer.post(url, {}).status_code == 200  # no confirm: the page again
    assert not ImportJob.objects.exists()
    response = importer.post(url, {"confirm": "yes"})
    assert response.status_code == 302
    job = ImportJob.objects.get()
    assert (job.kind, job.total) == (JobKind.DELETE, 1)
    entry = AuditEvent.objects.get(action=AuditAction.ADMIN_ACTION)
    assert entry.details["action"] == "account_delete"


def test_readers_see_no_account_actions(client):
    TrackedAccount.objects.create(user_id="r1")
    signed_in(client, "reader", *READER)
    assert 'id="account-actions"' not in page(client, "/accounts/r1/")
    assert client.post("/accounts/r1/retry/").status_code == 403
    assert client.get("/accounts/r1/delete/").status_code == 403


# -- search and links --------------------------------------------------------------


def test_it_finds_accounts_by_the_beginning_of_their_nickname(importer):
    for user_id, nick in [("u1", "Alice Liddell"), ("u2", "alfred"), ("u3", "Bob")]:
        TrackedAccount.objects.create(user_id=user_id, nick=nick)
    assert listed(page(importer, "/accounts/?nick=al")) == ["u2", "u1"]
    assert listed(page(importer, "/accounts/?nick=ALICE")) == ["u1"]
    assert listed(page(importer, "/accounts/?nick=Bob&q=u")) == ["u3"]
    assert listed(page(importer, "/accounts/?nick=zz")) == []


USER_IDS = [
    "a/b/../c",
    "x/./y",
    ".",
    "..",
    "50%off",
    "100%25",
    "who?",
    "#1",
    "a b",
    "名字",
    "x" * 32,
    "/lead",
    "trail/",
    "a//b",
]


@pytest.mark.parametrize("user_id", USER_IDS)
def test_every_userid_links_to_its_own_page(importer, user_id):
    TrackedAccount.objects.create(user_id=user_id, nick="found")
    body = page(importer, "/accounts/")
    href = html.unescape(re.search(r'<a href="(/accounts/[^"]+/)"><code>', body)[1])
    # No "." or ".." segment a browser would resolve, no "?" or "#" it would cut.
    segments = href.split("/")
    assert len(segments) == 4 and segments[2] not in (".", "..")
    assert "?" not in href and "#" not in href
    response = importer.get(href)
    assert response.status_code == 200
    shown = re.search(r"<h1><code>([^<]*)</code>", response.content.decode())[1]
    assert html.unescape(shown) == user_id


def test_a_nickname_search_shows_its_first_page_and_asks_to_narrow(importer):
    TrackedAccount.objects.bulk_create(
        TrackedAccount(user_id=f"n{i:02d}", nick="Same Name") for i in range(51)
    )
    body = page(importer, "/accounts/?nick=same")
    assert listed(body) == [f"n{i:02d}" for i in range(50)]
    assert 'id="nick-capped"' in body and "after=" not in body


def test_a_stopped_job_resumes_what_its_stop_failed_and_never_sent():
    job = job_of(
        [
            (ItemState.SUCCEEDED, None),
            (ItemState.FAILED, 70398),
            (ItemState.CANCELLED, None),
        ],
        status=JobStatus.STOPPED,
        error_code=70398,
        succeeded=1,
        failed=1,
        cancelled=1,
        finished_at=timezone.now(),
    )
    TrackedAccount.objects.filter(user_id=f"j{job.pk}-2").update(
        state=AccountState.PENDING  # as the stop's sweep left it
    )
    assert services.job_unfinished_count(job) == 2
    resumed = services.job_resume_remaining(job=job)
    assert sorted(resumed.items.values_list("account__user_id", flat=True)) == [
        f"j{job.pk}-1",
        f"j{job.pk}-2",
    ]
