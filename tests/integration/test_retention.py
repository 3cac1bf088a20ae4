"""prune: expired uploads, sessions and (when set) API calls go, in chunks;
the audit history, jobs and accounts stay; a person's run is audited."""

import io
from datetime import timedelta

import pytest
from django.contrib.sessions.backends.db import SessionStore
from django.contrib.sessions.models import Session
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_q.models import Schedule

from accounts import retention, tasks
from accounts.audit.records import audit_record
from accounts.models import (
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobSource,
    JobStatus,
    Upload,
    UploadStatus,
)
from accounts.schedules import PRUNE_NAME
from accounts.uploads.files import upload_dir

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)


@pytest.fixture
def upload_settings(settings, tmp_path):
    settings.UPLOAD_DIR = str(tmp_path / "uploads")
    settings.UPLOAD_RETENTION_DAYS = 30
    return settings


def calls(*ages_in_days):
    now = timezone.now()
    return ApiCall.objects.bulk_create(
        ApiCall(api="account_check", account_count=1, created_at=now - age * DAY)
        for age in ages_in_days
    )


def upload(status, age_days, *, job=None, with_file=True):
    name = ""
    if with_file:
        name = f"f{Upload.objects.count()}"
        (upload_dir() / name).write_text("UserID\na\n")
    made = Upload.objects.create(
        token=f"t{Upload.objects.count()}",
        file_name="people.csv",
        size=10,
        sha256="0" * 64,
        stored_name=name,
        status=status,
        job=job,
    )
    old = timezone.now() - age_days * DAY
    Upload.objects.filter(pk=made.pk).update(created_at=old)
    return made


def test_it_keeps_api_calls_forever_by_default(settings):
    assert settings.API_CALL_RETENTION_DAYS == 0
    calls(1000, 1)
    assert retention.records_prune().api_calls == 0
    assert ApiCall.objects.count() == 2


def test_it_deletes_api_calls_older_than_the_setting_in_chunks(settings):
    settings.API_CALL_RETENTION_DAYS = 90
    kept = calls(10, 89)
    calls(91, 200, 365, 400, 1000)

    with CaptureQueriesContext(connection) as queries:
        pruned = retention.records_prune(chunk=2)

    assert pruned.api_calls == 5
    assert set(ApiCall.objects.values_list("pk", flat=True)) == {c.pk for c in kept}
    deletes = [
        q for q in queries if q["sql"].startswith("DELETE") and "apicall" in q["sql"]
    ]
    assert len(deletes) == 3  # 2 + 2 + 1


def test_it_deletes_decided_uploads_and_their_files_after_the_retention(
    upload_settings,
):
    preparing = ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.QUEUED, options={"preparing": True}
    )
    gone = [
        upload(UploadStatus.CANCELLED, 31, with_file=False),
        upload(UploadStatus.REJECTED, 40, with_file=False),
        upload(UploadStatus.CONFIRMED, 60),  # its job done, a file left by a crash
    ]
    kept = [
        upload(UploadStatus.CANCELLED, 29, with_file=False),
        upload(UploadStatus.PREVIEWED, 60),  # not decided: maintenance cancels it
        upload(UploadStatus.CONFIRMED, 60, job=preparing),  # still being read
    ]

    assert retention.records_prune().uploads == 3

    assert set(Upload.objects.values_list("pk", flat=True)) == {u.pk for u in kept}
    assert not (upload_dir() / gone[2].stored_name).exists()
    assert (upload_dir() / kept[1].stored_name).exists()
    assert (upload_dir() / kept[2].stored_name).exists()


def test_it_deletes_expired_sessions_only():
    live, expired = SessionStore(), SessionStore()
    live.create()
    expired.set_expiry(-60)
    expired.create()
    assert retention.records_prune().sessions == 1
    assert list(Session.objects.values_list("session_key", flat=True)) == [
        live.session_key
    ]


def test_it_never_prunes_the_audit_history(settings):
    settings.API_CALL_RETENTION_DAYS = 1
    settings.UPLOAD_RETENTION_DAYS = 1
    entries = [audit_record(action=AuditAction.EXPORT) for _ in range(3)]
    AuditEvent.objects.bulk_create(
        [AuditEvent(action=AuditAction.SIGN_IN, details={"old": True})]
    )
    # Entries from years ago look no different to prune: it never reads them.
    before = list(AuditEvent.objects.values_list("pk", "action", "details"))
    calls(5000)

    call_command("prune", stdout=io.StringIO())
    tasks.prune()

    after = list(AuditEvent.objects.exclude(action=AuditAction.PRUNE))
    assert [(e.pk, e.action, e.details) for e in after] == before
    assert entries[0].pk in {e.pk for e in after}


def test_a_person_running_prune_is_audited_with_the_counts(settings, capsys):
    settings.API_CALL_RETENTION_DAYS = 30
    calls(31, 32)

    call_command("prune")

    assert (
        "deleted: 0 uploads, 2 API calls, 0 expired sessions" in capsys.readouterr().out
    )
    entry = AuditEvent.objects.get(action=AuditAction.PRUNE)
    assert entry.details["api_calls"] == 2
    assert entry.details["by"].endswith("(manage.py prune)")
    assert entry.details["api_call_retention_days"] == 30
    assert entry.at > timezone.now() - timedelta(minutes=1)


def test_the_schedules_run_is_logged_not_audited(settings):
    assert tasks.prune() == {"uploads": 0, "api_calls": 0, "sessions": 0}
    assert not AuditEvent.objects.filter(action=AuditAction.PRUNE).exists()


def test_migrate_creates_the_daily_prune_schedule():
    schedule = Schedule.objects.get(name=PRUNE_NAME)
    assert (schedule.func, schedule.schedule_type) == ("accounts.tasks.prune", "D")
