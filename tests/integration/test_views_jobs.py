"""The jobs list, the job page, its live progress, retry, cancel and CSV download."""

import csv
import io
import re

import pytest
from django.utils import timezone

from accounts import services
from accounts.models import (
    FINAL_JOB_STATUSES,
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
)
from tests.personas import IMPORTER, READER, signed_in

pytestmark = pytest.mark.django_db


def job_with_items(states, **fields):
    """A job with one account per entry of ``states`` (item state, error code).

    A job given a final status is settled too (``finished_at``), as jobs are.
    """
    if fields.get("status") in FINAL_JOB_STATUSES:
        fields.setdefault("finished_at", timezone.now())
    job = ImportJob.objects.create(source=JobSource.CSV, total=len(states), **fields)
    for n, (state, code) in enumerate(states):
        account_state = {
            ItemState.FAILED: AccountState.FAILED,
            ItemState.INVALID: AccountState.INVALID,
        }.get(state, AccountState.IMPORTED)
        account = TrackedAccount.objects.create(
            user_id=f"j{job.pk}-{n}",
            nick=f"Nick {n}",
            job=job,
            state=account_state,
            last_error_code=code,
        )
        JobItem.objects.create(job=job, account=account, state=state, error_code=code)
    return job


@pytest.fixture
def importer(client):
    signed_in(client, "importer", *IMPORTER)
    return client


def test_it_sends_anonymous_visitors_to_sign_in(client):
    job = ImportJob.objects.create(source=JobSource.CSV)
    for url in (
        "/jobs/",
        f"/jobs/{job.pk}/",
        f"/jobs/{job.pk}/progress.json",
        f"/jobs/{job.pk}/failed.csv",
    ):
        assert client.get(url).status_code == 302
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 302
    assert ImportJob.objects.get().status == JobStatus.QUEUED


def test_it_refuses_people_without_the_right(client):
    job = ImportJob.objects.create(source=JobSource.CSV)
    signed_in(client, "support", "view_trackedaccount", "import_single")
    for url in (
        "/jobs/",
        f"/jobs/{job.pk}/",
        f"/jobs/{job.pk}/progress.json",
        f"/jobs/{job.pk}/failed.csv",
    ):
        assert client.get(url).status_code == 403


def test_it_lets_only_bulk_runners_retry_or_cancel(client):
    job = ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.RUNNING)
    signed_in(client, "reader", *READER)
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert client.post(f"/jobs/{job.pk}/retry/").status_code == 403
    body = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Cancel job" not in body and "Retry failed" not in body
    assert ImportJob.objects.get().status == JobStatus.RUNNING


def test_it_changes_nothing_on_get(importer):
    job = ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.RUNNING)
    assert importer.get(f"/jobs/{job.pk}/cancel/").status_code == 405
    assert importer.get(f"/jobs/{job.pk}/retry/").status_code == 405
    assert ImportJob.objects.get().status == JobStatus.RUNNING


def test_it_needs_the_csrf_token_to_change_a_job(client):
    job = ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.RUNNING)
    client.handler.enforce_csrf_checks = True
    signed_in(client, "importer", *IMPORTER)
    assert client.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert ImportJob.objects.get().status == JobStatus.RUNNING


@pytest.mark.parametrize(
    "url",
    [
        "/jobs/999/",
        "/jobs/999/progress.json",
        "/jobs/999/failed.csv",
        "/jobs/99999999999999999999/",
        "/jobs/abc/",
        "/jobs/-1/",
    ],
)
def test_it_answers_404_for_an_unknown_job(importer, url):
    assert importer.get(url).status_code == 404


@pytest.mark.parametrize("url", ["/jobs/999/retry/", "/jobs/999/cancel/"])
def test_it_answers_404_when_changing_an_unknown_job(importer, url):
    assert importer.post(url).status_code == 404


def test_it_lists_jobs_newest_first_with_their_progress(importer):
    old = ImportJob.objects.create(source=JobSource.CSV, label="old.csv")
    new = ImportJob.objects.create(
        source=JobSource.CSV,
        label="<i>new</i>.csv",
        status=JobStatus.STOPPED,
        error_code=70398,
        total=10,
        succeeded=4,
        failed=6,
    )
    body = importer.get("/jobs/").content.decode()
    assert body.index(f'href="/jobs/{new.pk}/"') < body.index(f'href="/jobs/{old.pk}/"')
    assert "&lt;i&gt;new&lt;/i&gt;.csv" in body
    assert "The app&#x27;s account limit is reached" in body
    stopped = importer.get("/jobs/?status=stopped").content.decode()
    table = re.search(r'id="jobs">(.*?)</table>', stopped, re.S)[1]
    assert re.findall(r'<td><a href="/jobs/(\d+)/">', table) == [str(new.pk)]


@pytest.mark.parametrize("query", ["after=abc", "before=1x", "status=nope"])
def test_it_explains_a_bad_jobs_query(importer, query):
    response = importer.get(f"/jobs/?{query}")
    assert response.status_code == 200
    assert 'class="form-errors"' in response.content.decode()


def test_it_shows_a_job_with_counts_rate_and_call_log(importer):
    job = job_with_items(
        [(ItemState.SUCCEEDED, None)] * 3 + [(ItemState.FAILED, 70500)],
        status=JobStatus.DONE_WITH_ERRORS,
        succeeded=3,
        failed=1,
    )
    ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=4,
        http_status=200,
        error_code=70500,
        error_info="<internal>",
        fail_accounts=["x"],
        duration_ms=12.3,
        attempt=2,
        created_at=job.created_at,
    )
    body = importer.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        'id="job-status" class="badge status-done_with_errors" data-status='
        '"done_with_errors"' in body
    )
    assert '<span class="n" id="count-succeeded">3</span>' in body
    assert '<span class="n" id="count-failed">1</span>' in body
    assert '<span class="n" id="count-remaining">0</span>' in body
    calls = re.search(r'id="calls">(.*?)</table>', body, re.S)[1]
    assert "<code>70500</code>" in calls and "IM internal server error" in calls
    assert "IM: &lt;internal&gt;" in calls
    assert 'data-active="false"' in body
    assert "/static/imadmin/job.js" in body


def test_it_pages_the_call_log(importer):
    job = ImportJob.objects.create(source=JobSource.CSV)
    ApiCall.objects.bulk_create(
        [
            ApiCall(
                job=job,
                api="account_check",
                account_count=n % 100 + 1,
                error_code=0,
                created_at=job.created_at,
            )
            for n in range(60)
        ]
    )
    first = importer.get(f"/jobs/{job.pk}/").content.decode()
    older = re.search(r'href="\?calls_after=(\d+)" rel="next"', first)[1]
    second = importer.get(f"/jobs/{job.pk}/?calls_after={older}").content.decode()
    assert re.search(r'id="calls">(.*?)</table>', second, re.S)[1].count("<tr>") == 11
    broken = importer.get(f"/jobs/{job.pk}/?calls_after=x").content.decode()
    assert "This page link is not valid." in broken


def test_it_reports_progress_as_json(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.RUNNING,
        total=10,
        succeeded=4,
        failed=1,
        invalid=1,
    )
    data = importer.get(f"/jobs/{job.pk}/progress.json").json()
    assert data["status"] == "running" and data["active"] is True
    assert (data["succeeded"], data["failed"], data["invalid"], data["remaining"]) == (
        4,
        1,
        1,
        4,
    )
    assert data["percent"] == 60.0
    assert [s["width"] for s in data["segments"]] == [40.0, 10.0, 10.0, 0.0]


def test_it_cancels_a_running_job_and_records_who(importer):
    job = job_with_items([(ItemState.QUEUED, None)] * 3, status=JobStatus.RUNNING)
    response = importer.post(f"/jobs/{job.pk}/cancel/")
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    job.refresh_from_db()
    assert job.status == JobStatus.CANCELLED and job.cancelled == 3
    event = AuditEvent.objects.get(action=AuditAction.JOB_CANCEL)
    assert (event.actor_name, event.job_id, event.result) == ("importer", job.pk, "ok")
    again = importer.post(f"/jobs/{job.pk}/cancel/", follow=True).content.decode()
    assert "had already ended: nothing to cancel" in again


def test_it_retries_the_failed_accounts_as_a_new_job(importer):
    job = job_with_items(
        [
            (ItemState.SUCCEEDED, None),
            (ItemState.FAILED, 70398),
            (ItemState.FAILED, 70398),
        ],
        status=JobStatus.STOPPED,
        error_code=70398,
        succeeded=1,
        failed=2,
    )
    response = importer.post(f"/jobs/{job.pk}/retry/")
    retry = ImportJob.objects.latest("id")
    assert response["Location"] == f"/jobs/{retry.pk}/"
    assert retry.total == 2 and retry.options == {"retry_of": job.pk}
    event = AuditEvent.objects.get(action=AuditAction.JOB_RETRY)
    assert event.details == {"new_job": retry.pk, "accounts": 2}
    body = importer.get(response["Location"]).content.decode()
    assert f"Retrying 2 failed accounts of job #{job.pk} as job #{retry.pk}." in body


def test_it_says_when_there_is_nothing_to_retry(importer):
    job = job_with_items([(ItemState.SUCCEEDED, None)], status=JobStatus.DONE)
    body = importer.post(f"/jobs/{job.pk}/retry/", follow=True).content.decode()
    assert "No account to work on" in body
    assert ImportJob.objects.count() == 1
    assert (
        AuditEvent.objects.get(action=AuditAction.JOB_RETRY).result == "nothing_to_do"
    )


def test_it_retries_only_import_jobs(importer):
    job = ImportJob.objects.create(source=JobSource.ADMIN, kind=JobKind.CHECK, failed=1)
    body = importer.post(f"/jobs/{job.pk}/retry/", follow=True).content.decode()
    assert "Only an import job" in body
    assert ImportJob.objects.count() == 1


def test_it_downloads_failed_accounts_ready_to_upload_again(importer):
    job = job_with_items(
        [
            (ItemState.SUCCEEDED, None),
            (ItemState.FAILED, 70398),
            (ItemState.INVALID, 70402),
        ]
    )
    TrackedAccount.objects.filter(user_id=f"j{job.pk}-1").update(
        nick='=HYPERLINK("http://evil")', face_url="https://e.com/1.png"
    )
    response = importer.get(f"/jobs/{job.pk}/failed.csv?state=failed")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert f'filename="job-{job.pk}-failed.csv"' in response["Content-Disposition"]
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == ["UserID", "Nick", "FaceUrl", "ErrorCode", "Error"]
    assert rows[1][:4] == [
        f"j{job.pk}-1",
        '\'=HYPERLINK("http://evil")',
        "https://e.com/1.png",
        "70398",
    ]
    assert "account limit is reached" in rows[1][4]
    assert len(rows) == 2
    invalid = importer.get(f"/jobs/{job.pk}/failed.csv?state=invalid")
    rows = list(csv.reader(io.StringIO(b"".join(invalid.streaming_content).decode())))
    assert rows[1][0] == f"j{job.pk}-2" and rows[1][3] == "70402"
    assert (
        AuditEvent.objects.filter(action=AuditAction.EXPORT, job_id=job.pk).count() == 2
    )


def test_it_answers_404_for_a_download_of_another_state(importer):
    job = job_with_items([(ItemState.FAILED, 70398)])
    assert importer.get(f"/jobs/{job.pk}/failed.csv?state=succeeded").status_code == 404


def test_it_shows_buttons_for_what_can_be_done_now(importer):
    running = ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.RUNNING)
    body = importer.get(f"/jobs/{running.pk}/").content.decode()
    assert re.search(r'action="/jobs/\d+/cancel/"[^>]*data-while-active>', body)
    assert re.search(r'action="/jobs/\d+/retry/" data-when-failed hidden>', body)
    ended = job_with_items(
        [(ItemState.FAILED, 70500)], status=JobStatus.DONE_WITH_ERRORS, failed=1
    )
    body = importer.get(f"/jobs/{ended.pk}/").content.decode()
    assert re.search(r"data-while-active hidden>", body)
    assert re.search(r'action="/jobs/\d+/retry/" data-when-failed>', body)


def test_it_shows_a_job_cancelled_through_the_service(importer):
    job, _ = services.accounts_import_rows(
        rows=[{"user_id": "r1"}, {"user_id": "r2"}], source=JobSource.COMMAND
    )
    services.job_cancel(job=job)
    body = importer.get(f"/jobs/{job.pk}/").content.decode()
    assert '<span class="n" id="count-cancelled">2</span>' in body


def test_it_says_a_job_is_still_reading_its_file(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        label="team.csv",
        total=4000,
        options={"preparing": True, "prepared_rows": 4000},
    )
    text = importer.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        "Reading team.csv: 4,000 valid rows read, 4,000 accounts queued so far" in text
    )


def test_it_shows_why_a_job_stopped_without_an_im_code(importer):
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        status=JobStatus.STOPPED,
        error_message="The uploaded file <x> changed since its preview.",
    )
    text = importer.get(f"/jobs/{job.pk}/").content.decode()
    assert "Stopped: The uploaded file &lt;x&gt; changed since its preview." in text
