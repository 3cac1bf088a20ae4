"""The auditor's pages: the history with filters and paging, a job's story, exports."""

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.audit.selectors import CALL_FIELDS, EVENT_FIELDS
from accounts.models import (
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobKind,
    JobSource,
    JobStatus,
)
from tests.integration.test_roles import user_with_role

pytestmark = pytest.mark.django_db
FORMULA = '=HYPERLINK("http://x","y")'


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def auditor(client):
    user = user_with_role("auditor", "aud")
    client.force_login(user)
    return user


def body(response):
    return b"".join(response.streaming_content).decode()


def csv_rows(response):
    return list(csv.DictReader(io.StringIO(body(response))))


@pytest.fixture
def job():
    owner = user_with_role("importer", "imp")
    job = ImportJob.objects.create(
        kind=JobKind.IMPORT,
        source=JobSource.CSV,
        status=JobStatus.DONE_WITH_ERRORS,
        created_by=owner,
        label="people.csv",
        total=3,
        succeeded=2,
        failed=1,
    )
    now = timezone.now()
    ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=2,
        user_ids=["a/1", "=b"],
        http_status=200,
        error_code=0,
        fail_accounts=["=b"],
        created_at=now,
    )
    ApiCall.objects.create(
        job=job,
        api="account_import",
        account_count=1,
        user_ids=["=b"],
        http_status=200,
        error_code=70169,
        error_info="<b>bad</b>",
        attempt=2,
        created_at=now,
    )
    audit_record(
        action=AuditAction.JOB_STARTED,
        actor=owner,
        object_type="job",
        object_id=job.pk,
        job_id=job.pk,
        details={"total": 3},
    )
    return job


# -- the history --------------------------------------------------------------------


def test_it_shows_every_column_of_an_entry(client, auditor):
    audit_record(
        action=AuditAction.SINGLE_IMPORT,
        actor=auditor,
        object_type="account",
        object_id="a/1",
        user_id="a/1",
        job_id=41,
        result="imported",
        details={"nick": "<script>alert(1)</script>"},
    )
    page = client.get("/audit/").content.decode()
    for text in ("aud", "single import", "a/1", "imported", "job #41"):
        assert text in page
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_it_filters_by_action_who_userid_job_and_dates(client, auditor):
    audit_record(action=AuditAction.SIGN_IN, actor=auditor)
    audit_record(
        action=AuditAction.SIGN_IN_FAILED,
        object_id="mallory",
        object_type="user",
        details={"username": "mallory"},
    )
    audit_record(action=AuditAction.SINGLE_IMPORT, actor=auditor, user_id="u-7")
    audit_record(action=AuditAction.JOB_STARTED, job_id=99)

    def shown(query):
        return client.get("/audit/?" + query).context["entries"]

    assert {e.action for e in shown("action=sign_in")} == {"sign_in"}
    assert {e.action for e in shown("who=mallory")} == {"sign_in_failed"}
    assert {e.action for e in shown("who=aud")} == {"sign_in", "single_import"}
    assert [e.user_id for e in shown("user_id=u-7")] == ["u-7"]
    assert [e.job_id for e in shown("job=99")] == [99]
    today = timezone.localdate()
    assert len(shown(f"date_from={today}&date_to={today}")) == 5  # + force_login
    tomorrow = today + timedelta(days=1)
    assert shown(f"date_from={tomorrow}") == []


def test_it_explains_bad_filters(client, auditor):
    response = client.get("/audit/?date_from=2026-02-02&date_to=2026-01-01&job=x")
    assert response.status_code == 200
    page = response.content.decode()
    assert "is after" in page and "Enter a whole number" in page


def test_it_pages_newest_first(client, auditor):
    AuditEvent.objects.bulk_create(
        [AuditEvent(action=AuditAction.EXPORT, object_id=str(n)) for n in range(120)]
    )
    first = client.get("/audit/?action=export")
    ids = [e.id for e in first.context["entries"]]
    assert len(ids) == 50 and ids == sorted(ids, reverse=True)
    older = first.context["older"]
    assert f"?action=export&amp;before={older}" in first.content.decode()
    second = client.get(f"/audit/?action=export&before={older}").context["entries"]
    assert second[0].id < ids[-1] and len(second) == 50
    third = client.get(f"/audit/?action=export&before={second[-1].id}")
    assert len(third.context["entries"]) == 20 and third.context["older"] is None


def test_it_refuses_people_without_the_permission(client):
    client.force_login(user_with_role("importer", "imp"))
    assert client.get("/audit/").status_code == 403
    assert client.get("/audit/export.csv").status_code == 403


# -- exports -----------------------------------------------------------------------


def test_it_exports_the_filtered_view_as_csv(client, auditor):
    audit_record(action=AuditAction.SIGN_IN, actor=auditor)
    audit_record(
        action=AuditAction.SINGLE_IMPORT,
        actor=auditor,
        user_id="a/1",
        details={"nick": "Zoë"},
    )
    response = client.get("/audit/export.csv?action=single_import")
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    (row,) = csv_rows(response)
    assert list(row) == EVENT_FIELDS
    assert (row["action"], row["user_id"], row["actor_name"]) == (
        "single_import",
        "a/1",
        "aud",
    )
    assert json.loads(row["details"]) == {"nick": "Zoë"}


def test_it_exports_the_filtered_view_as_json(client, auditor):
    audit_record(
        action=AuditAction.SINGLE_IMPORT,
        actor=auditor,
        user_id="a/1",
        details={"nick": FORMULA},
    )
    response = client.get("/audit/export.json?user_id=a/1")
    assert response["Content-Type"] == "application/json"
    (row,) = json.loads(body(response))
    assert row["details"] == {"nick": FORMULA}  # JSON keeps the text as it is
    assert row["action"] == "single_import"


def test_an_exported_formula_opens_as_text(client, auditor):
    # A stranger's sign-in attempt is the easiest way to plant text in the history.
    client.post("/login/", {"username": FORMULA, "password": "x"})
    audit_record(
        action=AuditAction.SINGLE_IMPORT,
        actor=auditor,
        object_id="+cmd",
        details={"nick": "@SUM(1+1)"},
    )
    rows = csv_rows(client.get("/audit/export.csv"))
    failed = next(r for r in rows if r["action"] == "sign_in_failed")
    assert failed["object_id"] == "'" + FORMULA[:63]
    imported = next(r for r in rows if r["action"] == "single_import")
    assert imported["object_id"] == "'+cmd"
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))


def test_it_refuses_bad_export_filters(client, auditor):
    assert client.get("/audit/export.csv?job=abc").status_code == 400


def test_it_needs_the_export_permission_to_export(client):
    user = user_with_role("auditor", "aud2")
    user.groups.first().permissions.remove(
        *user.groups.first().permissions.filter(codename="export_audit")
    )
    client.force_login(user)
    assert client.get("/audit/").status_code == 200
    assert b"export.csv" not in client.get("/audit/").content
    assert client.get("/audit/export.csv").status_code == 403


# -- a job's story -------------------------------------------------------------------


def test_it_tells_a_jobs_story(client, auditor, job):
    response = client.get(f"/audit/jobs/{job.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "Started by</dt><dd>imp" in page
    assert "people.csv" in page and "done with errors" in page
    assert [c.api for c in response.context["calls"]] == [
        "multiaccount_import",
        "account_import",
    ]
    assert "70169" in page and "&lt;b&gt;bad&lt;/b&gt;" in page
    assert response.context["counts"]["imported"] == 2
    assert [e.action for e in response.context["entries"]] == ["job_started"]


def test_it_pages_a_jobs_calls(client, auditor, job):
    ApiCall.objects.bulk_create(
        [
            ApiCall(
                job=job, api="account_check", account_count=1, created_at=timezone.now()
            )
            for _ in range(150)
        ]
    )
    first = client.get(f"/audit/jobs/{job.pk}/")
    assert len(first.context["calls"]) == 100
    after = first.context["more_after"]
    second = client.get(f"/audit/jobs/{job.pk}/?after={after}")
    assert len(second.context["calls"]) == 52 and second.context["more_after"] is None


def test_it_answers_404_for_an_unknown_job(client, auditor):
    assert client.get("/audit/jobs/999999/").status_code == 404
    assert client.get("/audit/jobs/999999/calls.csv").status_code == 404


def test_it_exports_a_jobs_api_calls(client, auditor, job):
    response = client.get(f"/audit/jobs/{job.pk}/calls.csv")
    rows = csv_rows(response)
    assert list(rows[0]) == CALL_FIELDS
    assert [r["api"] for r in rows] == ["multiaccount_import", "account_import"]
    assert json.loads(rows[0]["user_ids"]) == ["a/1", "=b"]
    assert rows[1]["error_info"] == "<b>bad</b>"
    (entry,) = AuditEvent.objects.filter(action=AuditAction.EXPORT)
    assert (entry.job_id, entry.details) == (
        job.pk,
        {"format": "csv", "records": "api_calls"},
    )
