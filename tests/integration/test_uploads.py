"""The upload service: store, preview, confirm once, cancel, clean up, audit."""

import hashlib
import io
import os
import stat
import threading
from collections import Counter
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import maintenance, services, tasks
from accounts.models import (
    AccountState,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobItem,
    JobStatus,
    TrackedAccount,
    Upload,
    UploadStatus,
)
from accounts.pipeline import lifecycle
from accounts.services import preparation
from accounts.uploads import services as uploads

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02"
MIXED = (
    "UserID,Nick,FaceUrl,Email\r\n"
    "new1,New One,,a@example.com\r\n"  # 2 new
    "new2,,https://img.example/2.png,\r\n"  # 3 new
    "same,Same,,\r\n"  # 4 imported, same nick: unchanged
    "renamed,New Name,,\r\n"  # 5 imported, other nick: update
    "pending,,,\r\n"  # 6 known, not imported: resend
    "busy,,,\r\n"  # 7 queued in another job: busy
    ",No ID,,\r\n"  # 8 empty UserID
    "bad id,,,\r\n"  # 9 bad characters
    "用户用户用户用户用户用,,,\r\n"  # 10 33 bytes
    f"longnick,{'n' * 501},,\r\n"  # 11 profile too long
    "badurl,,ftp://img.example/x.png,\r\n"  # 12 bad URL
    "new1,Again,,\r\n"  # 13 duplicate of line 2
)


@pytest.fixture(autouse=True)
def upload_dir(settings, tmp_path):
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return settings.UPLOAD_DIR


@pytest.fixture
def admin(db):
    user = get_user_model().objects.create_user("uploader", password="x")
    user.user_permissions.add(Permission.objects.get(codename="run_bulk_jobs"))
    return user


@pytest.fixture
def known_accounts(db):
    for user_id, nick, state in [
        ("same", "Same", AccountState.IMPORTED),
        ("renamed", "Old Name", AccountState.IMPORTED),
        ("pending", "", AccountState.PENDING),
        ("busy", "", AccountState.QUEUED),
    ]:
        TrackedAccount.objects.create(user_id=user_id, nick=nick, state=state)


def csv_file(content, name="accounts.csv"):
    data = content.encode() if isinstance(content, str) else content
    return SimpleUploadedFile(name, data, content_type="text/csv")


def receive(user, content=MIXED, name="accounts.csv", encoding="auto"):
    return uploads.upload_receive(
        file=csv_file(content, name), encoding=encoding, user=user
    )


def stored_files(upload_dir):
    return sorted(p.name for p in upload_dir.iterdir()) if upload_dir.exists() else []


def actions():
    """The upload entries written so far (jobs write their own)."""
    events = AuditEvent.objects.filter(action__startswith="csv_").order_by("id")
    return list(events.values_list("action", flat=True))


def test_it_previews_what_a_mixed_file_holds_and_would_do(admin, known_accounts):
    upload = receive(admin)
    assert upload.status == UploadStatus.PREVIEWED
    assert upload.encoding == "utf-8"
    summary = upload.summary
    assert {k: summary[k] for k in uploads.COUNTS} == {
        "rows": 12,
        "valid": 6,
        "invalid": 6,
        "duplicates": 1,
        "skipped": 0,
        "headers": 0,
        "new": 2,
        "update": 1,
        "resend": 1,
        "unchanged": 1,
        "busy": 1,
    }
    assert summary["to_send"] == 4
    assert summary["columns"] == ["user_id", "nick", "face_url"]
    assert summary["unknown_columns"] == ["Email"]
    assert [(r["line"], r["error"][:20]) for r in summary["invalid_sample"]] == [
        (8, "UserID is empty."),
        (9, "UserID may contain o"),
        (10, "UserID is 33 bytes i"),
        (11, "Nick is 501 bytes in"),
        (12, "Avatar URL must be a"),
        (13, "Duplicate of line 2."),
    ]
    assert summary["invalid_sample"][3]["nick"] == "n" * 79 + "…"  # clipped
    assert TrackedAccount.objects.count() == 4  # a preview writes no account


def test_it_stores_the_file_privately_with_its_size_and_sha256(admin, upload_dir):
    upload = receive(admin, name="../../etc/passwd.csv")
    path = upload_dir / upload.stored_name
    assert path.read_bytes() == MIXED.encode()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(upload_dir.stat().st_mode) == 0o700
    assert upload.size == len(MIXED.encode())
    assert upload.sha256 == hashlib.sha256(MIXED.encode()).hexdigest()
    assert upload.file_name == "passwd.csv"  # Django keeps the base name only
    assert len(upload.token) == 32 and upload.token != upload.stored_name


def test_it_counts_gb18030_files(admin):
    upload = receive(admin, "UserID,Nick\nzhang,张三\n".encode("gb18030"))
    assert upload.encoding == "gb18030"
    assert (upload.summary["valid"], upload.summary["new"]) == (1, 1)


def test_it_looks_accounts_up_in_chunks_of_500(admin):
    rows = "".join(f"user{i:05d},Nick\n" for i in range(1200))
    with CaptureQueriesContext(connection) as queries:
        upload = receive(admin, "UserID,Nick\n" + rows)
    lookups = [q for q in queries if 'FROM "accounts_trackedaccount"' in q["sql"]]
    assert len(lookups) == 3
    assert upload.summary["new"] == 1200


def test_it_refuses_a_file_above_the_limit_and_keeps_nothing(
    admin, settings, upload_dir
):
    settings.UPLOAD_MAX_BYTES = 100
    with pytest.raises(uploads.UploadTooLarge, match="larger than the limit of 100"):
        receive(admin, MIXED)
    big = csv_file(MIXED)
    big.size = None  # a size not declared up front: refused while streaming
    with pytest.raises(uploads.UploadTooLarge):
        uploads.upload_receive(file=big, encoding="auto", user=admin)
    assert stored_files(upload_dir) == []
    assert set(Upload.objects.values_list("status", flat=True)) == {"rejected"}
    assert actions() == [AuditAction.CSV_REJECTED] * 2


@pytest.mark.parametrize(
    "content, reason",
    [
        (PNG + b"\x00" * 64, "This is not a CSV file: it holds binary data."),
        (b"", "The file is empty: it needs a header row with UserID."),
        (b"Name,Email\nx,y\n", "The header has no UserID column (found: Name, Email)."),
        (b"UserID\n\xff\xfe\n", "The file is neither UTF-8 nor GB18030 text"),
    ],
)
def test_it_rejects_an_unreadable_file_and_keeps_nothing(
    admin, upload_dir, content, reason
):
    with pytest.raises(uploads.UploadError) as caught:
        receive(admin, content, name="photo.png")
    assert str(caught.value).startswith(reason)
    assert stored_files(upload_dir) == []
    upload = Upload.objects.get()
    assert (upload.status, upload.stored_name) == (UploadStatus.REJECTED, "")
    assert upload.summary["error"].startswith(reason)
    event = AuditEvent.objects.get()
    assert (event.action, event.actor) == (AuditAction.CSV_REJECTED, admin)
    assert event.details["reason"].startswith(reason)
    assert event.details["file_name"] == "photo.png"


def test_it_rejects_a_file_over_the_row_limit(admin, settings, upload_dir):
    settings.UPLOAD_MAX_ROWS = 5
    with pytest.raises(uploads.UploadError, match="more than 5 rows"):
        receive(admin)
    assert stored_files(upload_dir) == []


def test_it_refuses_to_confirm_a_file_with_nothing_to_send(admin, upload_dir):
    TrackedAccount.objects.create(user_id="same", nick="Same", state="imported")
    upload = receive(admin, "UserID,Nick\nsame,Same\n")
    with pytest.raises(uploads.UploadError, match="Nothing to import"):
        uploads.upload_confirm(upload=upload, user=admin)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED and not ImportJob.objects.exists()


def test_it_refuses_to_confirm_a_header_only_file(admin, upload_dir):
    upload = receive(admin, "UserID,Nick\r\n")
    assert (upload.summary["rows"], upload.summary["valid"]) == (0, 0)
    with pytest.raises(uploads.UploadError, match="no valid rows"):
        uploads.upload_confirm(upload=upload, user=admin)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED
    assert ImportJob.objects.count() == 0


def test_it_lists_every_invalid_row_from_the_stored_file(admin, known_accounts):
    upload = receive(admin)
    rows = uploads.upload_invalid_rows(upload=upload)
    try:
        listed = [(r.line, r.user_id, r.error[:9]) for r in rows]
    finally:
        rows.close()
    assert listed == [
        (8, "", "UserID is"),
        (9, "bad id", "UserID ma"),
        (10, "用户用户用户用户用户用", "UserID is"),
        (11, "longnick", "Nick is 5"),
        (12, "badurl", "Avatar UR"),
        (13, "new1", "Duplicate"),
    ]


def test_it_cancels_once_and_leaves_nothing_behind(admin, upload_dir):
    upload = receive(admin)
    assert uploads.upload_cancel(upload=upload, user=admin) is True
    assert uploads.upload_cancel(upload=upload, user=admin) is False
    assert upload.status == UploadStatus.CANCELLED
    assert stored_files(upload_dir) == []
    assert ImportJob.objects.count() == 0
    assert TrackedAccount.objects.count() == 0
    assert actions() == [AuditAction.CSV_UPLOADED, AuditAction.CSV_CANCELLED]
    with pytest.raises(uploads.UploadError, match="cancelled"):
        uploads.upload_confirm(upload=upload, user=admin)
    with pytest.raises(uploads.UploadError, match="no longer kept"):
        uploads.upload_invalid_rows(upload=upload)


def test_it_audits_the_upload_with_its_counts(admin):
    upload = receive(admin)
    event = AuditEvent.objects.get(action=AuditAction.CSV_UPLOADED)
    assert (event.actor, event.object_type, event.object_id) == (
        admin,
        "upload",
        str(upload.pk),
    )
    assert event.details["file_name"] == "accounts.csv"
    assert event.details["sha256"] == upload.sha256
    assert event.details["size"] == upload.size
    assert (event.details["rows"], event.details["invalid"]) == (12, 6)


def test_cleanup_cancels_stale_previews_and_deletes_orphan_files(admin, upload_dir):
    stale, fresh = receive(admin), receive(admin)
    Upload.objects.filter(pk=stale.pk).update(
        created_at=timezone.now() - timedelta(hours=25)
    )
    old_orphan, new_orphan = upload_dir / "orphan-old", upload_dir / "orphan-new"
    old_orphan.write_bytes(b"x")
    new_orphan.write_bytes(b"x")
    day_ago = (timezone.now() - timedelta(hours=25)).timestamp()
    os.utime(old_orphan, (day_ago, day_ago))

    assert uploads.uploads_cleanup() == 2
    assert uploads.uploads_cleanup() == 0
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert (stale.status, fresh.status) == ("cancelled", "previewed")
    assert stored_files(upload_dir) == sorted([fresh.stored_name, "orphan-new"])
    event = AuditEvent.objects.get(action=AuditAction.CSV_CANCELLED)
    assert (event.actor, event.details["reason"]) == (None, "expired")


@pytest.mark.django_db(transaction=True)
def test_cleanup_keeps_the_file_of_an_upload_still_preparing(admin, upload_dir):
    upload = receive(admin)
    job = uploads.upload_confirm(upload=upload, user=admin)
    day_ago = (timezone.now() - timedelta(hours=25)).timestamp()
    os.utime(upload_dir / upload.stored_name, (day_ago, day_ago))
    assert uploads.uploads_cleanup() == 0
    assert stored_files(upload_dir) == [upload.stored_name]
    services.job_cancel(job=job)  # its task never ran: the file is an orphan now
    assert uploads.uploads_cleanup() == 1
    assert stored_files(upload_dir) == []


# -- confirming: a job at once, filled by a task, imported through the sandbox ------


def prepare(job):
    """What the worker's task does with a confirmed upload's job, run here."""
    tasks.job_prepare(job.pk)
    job.refresh_from_db()
    return job


@pytest.mark.django_db(transaction=True)
def test_it_confirms_once_when_confirmed_twice(
    admin, known_accounts, upload_dir, im_settings, sandbox, run_job
):
    upload = receive(admin)
    job = uploads.upload_confirm(upload=upload, user=admin)
    again = uploads.upload_confirm(upload=Upload.objects.get(pk=upload.pk), user=admin)
    assert again == job
    assert ImportJob.objects.count() == 1
    # Returned at once: queued, preparing, nothing read yet.
    assert (job.label, job.options, job.created_by) == (
        "accounts.csv",
        {"upload": upload.pk, "preparing": True, "prepared_rows": 0},
        admin,
    )
    assert (job.status, job.total) == (JobStatus.QUEUED, 0)
    upload.refresh_from_db()
    assert (upload.status, upload.job) == ("confirmed", job)
    assert stored_files(upload_dir) == [upload.stored_name]  # the task reads it
    assert actions() == [AuditAction.CSV_UPLOADED, AuditAction.CSV_CONFIRMED]
    confirmed = AuditEvent.objects.get(action=AuditAction.CSV_CONFIRMED)
    assert (confirmed.job_id, confirmed.details["to_send"]) == (job.pk, 4)
    assert not AuditEvent.objects.filter(action=AuditAction.JOB_STARTED).exists()

    job = prepare(job)
    assert job.total == 4  # new1, new2, renamed, pending
    assert "preparing" not in job.options and job.status == JobStatus.QUEUED
    upload.refresh_from_db()
    sent = {
        "new": 2,
        "updated": 1,
        "unchanged": 1,
        "busy": 1,
        "resend": 1,
        "duplicates": 1,  # the preview showed it as an invalid row too
    }
    assert (upload.stored_name, upload.summary["sent"]) == ("", sent)
    assert stored_files(upload_dir) == []
    started = AuditEvent.objects.get(action=AuditAction.JOB_STARTED)
    assert (started.job_id, started.details["total"]) == (job.pk, 4)

    job = run_job(job)
    assert job.status == JobStatus.DONE
    assert sandbox.account("new1")["Nick"] == "New One"
    assert sandbox.account("renamed")["Nick"] == "New Name"
    assert TrackedAccount.objects.get(user_id="busy").state == AccountState.QUEUED
    assert uploads.upload_cancel(upload=upload, user=admin) is False


@pytest.mark.django_db(transaction=True)
def test_two_confirms_at_once_start_one_job(admin, upload_dir):
    upload = receive(admin)
    results, start = [], threading.Barrier(2)

    def confirm():
        try:
            start.wait()
            copy = Upload.objects.get(pk=upload.pk)
            results.append(uploads.upload_confirm(upload=copy, user=admin))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert len(results) == 2 and results[0] == results[1] is not None
    assert ImportJob.objects.count() == 1
    assert AuditEvent.objects.filter(action=AuditAction.CSV_CONFIRMED).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_job_with_nothing_to_send_ends_done_once_prepared(admin, upload_dir):
    upload = receive(admin, "UserID,Nick\nsame,Same\n")
    # Imported elsewhere between the preview and the confirm.
    TrackedAccount.objects.create(user_id="same", nick="Same", state="imported")
    job = uploads.upload_confirm(upload=upload, user=admin)
    assert uploads.upload_confirm(upload=upload, user=admin) == job
    job = prepare(job)
    assert (job.status, job.total) == (JobStatus.DONE, 0)
    assert job.finished_at and not JobItem.objects.exists()
    upload.refresh_from_db()
    assert (upload.status, upload.job) == (UploadStatus.CONFIRMED, job)
    assert upload.summary["sent"]["unchanged"] == 1
    assert stored_files(upload_dir) == []
    ended = AuditEvent.objects.get(action=AuditAction.JOB_ENDED)
    assert (ended.job_id, ended.result) == (job.pk, JobStatus.DONE)


@pytest.mark.django_db(transaction=True)
def test_a_file_changed_after_its_preview_stops_the_job_with_nothing_written(
    admin, upload_dir
):
    rows = "".join(f"user{i:05d},Nick\n" for i in range(1200))
    upload = receive(admin, "UserID,Nick\n" + rows)
    # The tail goes bad after 1,200 good rows: the SHA-256 no longer matches
    # the preview's, so no row is written (not even the good ones before it).
    with open(upload_dir / upload.stored_name, "ab") as stored:
        stored.write(b"bad,caf\xe9\n")
    job = prepare(uploads.upload_confirm(upload=upload, user=admin))
    assert job.status == JobStatus.STOPPED
    assert "changed after its preview" in job.error_message
    assert "preparing" not in job.options
    assert TrackedAccount.objects.count() == 0
    assert JobItem.objects.count() == 0
    upload.refresh_from_db()
    assert (upload.status, upload.job) == (UploadStatus.REJECTED, job)
    assert "changed after its preview" in upload.summary["error"]
    assert stored_files(upload_dir) == []
    assert actions()[-1] == AuditAction.CSV_REJECTED
    with pytest.raises(uploads.UploadError, match="rejected"):
        uploads.upload_confirm(upload=upload, user=admin)


@pytest.mark.django_db(transaction=True)
def test_a_file_gone_at_confirm_time_is_rejected(admin, upload_dir):
    upload = receive(admin)
    (upload_dir / upload.stored_name).unlink()
    with pytest.raises(uploads.UploadError, match="can no longer be read"):
        uploads.upload_confirm(upload=upload, user=admin)
    assert upload.status == UploadStatus.REJECTED
    assert ImportJob.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_file_gone_before_its_preparation_stops_the_job_with_a_message(
    admin, upload_dir
):
    upload = receive(admin)
    job = uploads.upload_confirm(upload=upload, user=admin)
    (upload_dir / upload.stored_name).unlink()
    job = prepare(job)
    assert job.status == JobStatus.STOPPED
    assert job.error_code is None
    assert job.error_message == (
        "Stopped while reading accounts.csv: the stored file is gone. "
        "Nothing was sent to IM; upload the file again."
    )
    assert "preparing" not in job.options
    upload.refresh_from_db()
    assert (upload.status, upload.stored_name) == (UploadStatus.REJECTED, "")
    assert upload.summary["error"] == "the stored file is gone."
    rejected = AuditEvent.objects.get(action=AuditAction.CSV_REJECTED)
    assert (rejected.actor, rejected.job_id) == (admin, job.pk)
    ended = AuditEvent.objects.get(action=AuditAction.JOB_ENDED)
    assert ended.result == JobStatus.STOPPED
    # Nothing stuck: maintenance finds nothing to resume, nothing is open.
    assert maintenance.maintenance(reconcile=False) == ([], None)
    assert job.settled and not lifecycle.open_items(job).exists()


@pytest.mark.django_db(transaction=True)
def test_a_file_unreadable_half_way_stops_the_job_and_settles_its_items(
    admin, upload_dir, settings, monkeypatch
):
    monkeypatch.setattr(preparation, "PREPARE_CHUNK", 100)
    upload = receive(admin, "UserID\n" + "".join(f"u{i:04d}\n" for i in range(450)))
    job = uploads.upload_confirm(upload=upload, user=admin)
    settings.UPLOAD_MAX_ROWS = 250  # lowered since the preview: row 251 fails
    job = prepare(job)
    assert job.status == JobStatus.STOPPED
    assert "more than 250 rows" in job.error_message
    # The two chunks written before are settled, not left queued, and none of
    # their accounts is failed for it: they are pending, to be sent again.
    assert (job.total, job.cancelled, job.failed) == (200, 200, 0)
    assert job.settled and not lifecycle.open_items(job).exists()
    assert TrackedAccount.objects.filter(state=AccountState.PENDING).count() == 200
    upload.refresh_from_db()
    assert upload.status == UploadStatus.REJECTED
    assert stored_files(upload_dir) == []


# Every kind of row the import tells apart: (UserID, stored state and profile
# or None, the row's Nick and FaceUrl, what an import of the row does).
ROW_KINDS = [
    ("brand-new", None, ("Nick", ""), "new"),
    ("new-no-profile", None, ("", ""), "new"),
    (
        "same",
        (AccountState.IMPORTED, "Same", "https://a/1.png"),
        ("Same", ""),
        "unchanged",
    ),
    ("kept", (AccountState.IMPORTED, "Kept", ""), ("", ""), "unchanged"),
    ("renamed", (AccountState.IMPORTED, "Old", ""), ("New", ""), "update"),
    ("new-face", (AccountState.IMPORTED, "F", ""), ("", "https://a/2.png"), "update"),
    ("pending", (AccountState.PENDING, "", ""), ("", ""), "resend"),
    ("failed", (AccountState.FAILED, "x", ""), ("x", ""), "resend"),
    ("invalid", (AccountState.INVALID, "", ""), ("", ""), "resend"),
    ("failed-renamed", (AccountState.FAILED, "a", ""), ("b", ""), "update"),
    ("queued-elsewhere", (AccountState.QUEUED, "", ""), ("", ""), "busy"),
    ("importing", (AccountState.IMPORTING, "", ""), ("New", ""), "busy"),
]
SUMMARY_NAMES = {"update": "updated"}  # the import's summary says "updated"


def test_the_preview_and_the_import_agree_on_every_kind_of_row(admin, upload_dir):
    for user_id, stored, _, _ in ROW_KINDS:
        if stored:
            state, nick, face_url = stored
            TrackedAccount.objects.create(
                user_id=user_id, state=state, nick=nick, face_url=face_url
            )
    lines = [f"{u},{nick},{face}" for u, _, (nick, face), _ in ROW_KINDS]
    upload = receive(admin, "UserID,Nick,FaceUrl\n" + "\n".join(lines) + "\n")
    expected = Counter(kind for *_, kind in ROW_KINDS)
    preview = {k: upload.summary[k] for k in expected}
    assert preview == dict(expected)

    job = prepare(uploads.upload_confirm(upload=upload, user=admin))
    sent = job.options["summary"]
    assert {k: sent[SUMMARY_NAMES.get(k, k)] for k in expected} == preview
    queued = set(
        JobItem.objects.filter(job=job).values_list("account__user_id", flat=True)
    )
    to_send = {u for u, *_, kind in ROW_KINDS if kind in ("new", "update", "resend")}
    assert queued == to_send
    assert job.total == upload.summary["to_send"] == len(to_send)
    renamed = TrackedAccount.objects.get(user_id="failed-renamed")
    assert renamed.nick == "b"
    assert TrackedAccount.objects.get(user_id="kept").nick == "Kept"


# -- large files: previewed by a task, with progress ------------------------------


def big_csv(rows=5_000):
    return "UserID,Nick\n" + "".join(f"big{i:06d},Nick {i}\n" for i in range(rows))


def test_a_large_file_returns_at_once_and_the_task_previews_it(
    admin, settings, upload_dir, django_capture_on_commit_callbacks
):
    settings.UPLOAD_PREVIEW_SYNC_BYTES = 10_000
    with django_capture_on_commit_callbacks() as queued:
        upload = receive(admin, big_csv())
    assert upload.status == UploadStatus.PREVIEWING and len(queued) == 1
    assert upload.summary == {"progress": {"rows": 0, "fraction": 0.0}}
    assert actions() == []  # the entry waits for the counts
    with pytest.raises(uploads.UploadError, match="still being read"):
        uploads.upload_confirm(upload=upload, user=admin)
    tasks.upload_preview(upload.pk)  # what the worker runs
    upload.refresh_from_db()
    assert upload.status == UploadStatus.PREVIEWED
    assert (upload.summary["valid"], upload.summary["new"]) == (5_000, 5_000)
    assert actions() == ["csv_uploaded"]
    assert uploads.upload_preview_run(upload=upload) is False  # a second delivery


def test_the_preview_reports_its_progress_as_it_reads(admin, monkeypatch, upload_dir):
    from accounts.uploads import preview as preview_module

    monkeypatch.setattr(preview_module, "PROGRESS_EVERY_ROWS", 500)
    monkeypatch.setattr(preview_module, "PROGRESS_SECONDS", 0)
    upload = receive(admin, big_csv())
    seen = []
    preview_module.preview(upload.stored_name, "auto", lambda *p: seen.append(p))
    assert [rows for rows, _ in seen] == list(range(500, 5_001, 500))
    fractions = [fraction for _, fraction in seen]
    assert fractions == sorted(fractions) and 0 < fractions[-1] <= 1


def test_a_large_unreadable_file_is_rejected_by_the_task(admin, settings, upload_dir):
    settings.UPLOAD_PREVIEW_SYNC_BYTES = 10_000
    upload = receive(admin, big_csv() + 'bad,"unclosed\n')
    tasks.upload_preview(upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.REJECTED
    assert "is not valid CSV" in upload.summary["error"]
    assert stored_files(upload_dir) == []
    assert actions() == ["csv_rejected"]


def test_an_upload_cancelled_while_read_stays_cancelled(admin, settings, upload_dir):
    settings.UPLOAD_PREVIEW_SYNC_BYTES = 10_000
    upload = receive(admin, big_csv())
    assert uploads.upload_cancel(upload=upload, user=admin)
    assert stored_files(upload_dir) == []
    tasks.upload_preview(upload.pk)
    upload.refresh_from_db()
    assert upload.status == UploadStatus.CANCELLED


def test_an_xlsx_goes_to_the_worker_at_a_tenth_of_the_size(admin, settings):
    from accounts.uploads.xlsx_writer import xlsx_write

    book = io.BytesIO()
    xlsx_write(book, [("UserID",), *((f"x{i:05d}",) for i in range(3_000))])
    settings.UPLOAD_PREVIEW_SYNC_BYTES = len(book.getvalue()) * 5
    upload = receive(admin, book.getvalue(), name="people.xlsx")
    assert upload.status == UploadStatus.PREVIEWING
    tasks.upload_preview(upload.pk)
    upload.refresh_from_db()
    assert (upload.encoding, upload.summary["valid"]) == ("xlsx", 3_000)
