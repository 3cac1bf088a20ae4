"""Scheduled imports: kept in step with django-q2's Schedule, run through the upload
path against the sandbox over HTTP, fetched only from allowed places.

The runs are called here as the scheduled task would be; tests/cluster has
django-q2's own scheduler run them in a real cluster.
"""

import pytest
from django_q.models import Schedule

from accounts.models import (
    AuditAction,
    AuditEvent,
    Frequency,
    JobSource,
    JobStatus,
    ScheduledImport,
    TrackedAccount,
    Upload,
    UploadStatus,
)
from accounts.scheduled import services as scheduled
from tests.http_peers import FileServer
from tests.personas import make_user

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def import_settings(im_settings, tmp_path):
    im_settings.UPLOAD_DIR = tmp_path / "uploads"
    im_settings.SCHEDULED_IMPORT_DIR = tmp_path / "imports"
    im_settings.SCHEDULED_IMPORT_DIR.mkdir()
    im_settings.SCHEDULED_IMPORT_HOSTS = ["127.0.0.1"]
    im_settings.OUTBOUND_HTTP_LOOPBACK = True
    return im_settings


def export_csv(count, changed=(), extra=0):
    """A full export of ``count`` users; ``changed`` get a new nickname."""
    lines = ["UserID,Nick"]
    for i in range(count + extra):
        nick = f"Nick {i} v2" if i in changed else f"Nick {i}"
        lines.append(f"s{i:05d},{nick}")
    return ("\n".join(lines) + "\n").encode()


def new_schedule(owner, source, **fields):
    item = ScheduledImport(name=fields.pop("name", "nightly"), source=source, **fields)
    item.created_by = owner
    return scheduled.scheduled_import_save(scheduled=item, user=owner, created=True)


def test_a_second_run_sends_only_the_changed_and_new_rows(
    import_settings, sandbox, run_job
):
    owner = make_user("owner")
    path = import_settings.SCHEDULED_IMPORT_DIR / "users.csv"
    path.write_bytes(export_csv(250))
    item = new_schedule(owner, "users.csv")
    first = run_job(scheduled.scheduled_import_run(scheduled_id=item.pk))
    assert (first.source, first.status, first.succeeded) == (
        JobSource.SCHEDULE,
        JobStatus.DONE,
        250,
    )
    assert sandbox.stats()["apis"]["multiaccount_import"]["accounts_received"] == 250

    sandbox.reset()  # counters only: the accounts stay
    path.write_bytes(export_csv(250, changed={3, 50, 249}, extra=2))
    second = run_job(scheduled.scheduled_import_run(scheduled_id=item.pk))
    assert (second.status, second.total, second.succeeded) == (JobStatus.DONE, 5, 5)
    received = sandbox.stats()["apis"]["multiaccount_import"]
    assert (received["calls"], received["accounts_received"]) == (1, 5)
    assert sandbox.account("s00050")["Nick"] == "Nick 50 v2"
    assert TrackedAccount.objects.count() == 252
    item.refresh_from_db()
    assert (item.last_job, item.last_error) == (second, "")
    # Audited as the schedule's owner, like an upload of the same file.
    for action in (AuditAction.CSV_UPLOADED, AuditAction.JOB_STARTED):
        entries = AuditEvent.objects.filter(action=action)
        assert entries.count() == 2 and {e.actor for e in entries} == {owner}

    sandbox.reset()
    third = run_job(scheduled.scheduled_import_run(scheduled_id=item.pk))
    assert (third.status, third.total) == (JobStatus.DONE, 0)  # nothing changed
    assert sandbox.stats()["apis"]["multiaccount_import"]["calls"] == 0


def test_a_file_above_the_background_preview_size_is_previewed_by_the_run_itself(
    import_settings, sandbox, run_job
):
    import_settings.UPLOAD_PREVIEW_SYNC_BYTES = 100  # the file is ~4 KB
    owner = make_user("owner")
    (import_settings.SCHEDULED_IMPORT_DIR / "users.csv").write_bytes(export_csv(300))
    item = new_schedule(owner, "users.csv")
    job = run_job(scheduled.scheduled_import_run(scheduled_id=item.pk))
    assert (job.status, job.succeeded) == (JobStatus.DONE, 300)
    assert Upload.objects.get(job=job).status == UploadStatus.CONFIRMED


def test_a_run_fetches_an_allowed_url_streamed(import_settings, sandbox, run_job):
    owner = make_user("owner")
    with FileServer(files={"/export/users.csv": export_csv(30)}) as files:
        item = new_schedule(owner, files.url + "/export/users.csv")
        job = run_job(scheduled.scheduled_import_run(scheduled_id=item.pk))
    assert (job.status, job.succeeded, job.label) == (JobStatus.DONE, 30, "users.csv")
    assert Upload.objects.get(job=job).status == UploadStatus.CONFIRMED


@pytest.mark.parametrize(
    "path, hosts, says",
    [
        ("/moved", ["127.0.0.1"], "answered 302 (redirects are not followed)"),
        ("/missing.csv", ["127.0.0.1"], "answered 404"),
        ("/export/users.csv", [], "not in SCHEDULED_IMPORT_HOSTS"),
        ("/export/users.csv", ["localhost"], "not in SCHEDULED_IMPORT_HOSTS"),
    ],
)
def test_a_fetch_that_is_refused_records_why_and_starts_no_job(
    import_settings, sandbox, path, hosts, says
):
    owner = make_user("owner")
    with FileServer(
        files={"/export/users.csv": export_csv(3)},
        redirects={"/moved": "http://169.254.169.254/latest/meta-data/"},
    ) as files:
        item = new_schedule(owner, files.url + path)
        import_settings.SCHEDULED_IMPORT_HOSTS = hosts
        assert scheduled.scheduled_import_run(scheduled_id=item.pk) is None
    item.refresh_from_db()
    assert says in item.last_error
    assert item.last_run_at is not None and item.last_job is None
    if not hosts:
        assert files.requests == []  # refused before any request


def test_a_listed_name_that_resolves_inside_is_refused(import_settings, sandbox):
    owner = make_user("owner")
    with FileServer(files={"/u.csv": export_csv(3)}) as files:
        port = files.server.server_address[1]
        import_settings.SCHEDULED_IMPORT_HOSTS = ["localhost"]
        item = new_schedule(owner, f"http://localhost:{port}/u.csv")
        assert scheduled.scheduled_import_run(scheduled_id=item.pk) is None
    item.refresh_from_db()
    assert "an internal address that SCHEDULED_IMPORT_HOSTS does not name" in (
        item.last_error
    )
    assert files.requests == []


def test_a_download_over_the_upload_limit_is_refused(import_settings, sandbox):
    import_settings.UPLOAD_MAX_BYTES = 1000
    owner = make_user("owner")
    with FileServer(files={"/big.csv": export_csv(200)}) as files:
        item = new_schedule(owner, files.url + "/big.csv")
        assert scheduled.scheduled_import_run(scheduled_id=item.pk) is None
    item.refresh_from_db()
    assert "larger than the limit" in item.last_error
    assert Upload.objects.get().status == UploadStatus.REJECTED


def test_a_file_without_valid_rows_is_cancelled_with_its_reason(
    import_settings, sandbox
):
    owner = make_user("owner")
    (import_settings.SCHEDULED_IMPORT_DIR / "bad.csv").write_bytes(b"UserID\nbad id!\n")
    item = new_schedule(owner, "bad.csv")
    assert scheduled.scheduled_import_run(scheduled_id=item.pk) is None
    item.refresh_from_db()
    assert "no valid rows" in item.last_error
    upload = Upload.objects.get()
    assert (upload.status, upload.stored_name) == (UploadStatus.CANCELLED, "")


def test_a_missing_file_is_a_sentence_not_a_crash(import_settings, sandbox):
    item = new_schedule(make_user("owner"), "gone.csv")
    assert scheduled.scheduled_import_run(scheduled_id=item.pk) is None
    item.refresh_from_db()
    assert "gone.csv cannot be read: No such file or directory" in item.last_error


# -- saving keeps django-q2's Schedule in step ----------------------------------------


def test_saving_creates_updates_and_removes_its_schedule(import_settings):
    owner = make_user("owner")
    item = new_schedule(owner, "users.csv", frequency=Frequency.HOURLY)
    schedule = Schedule.objects.get(name=scheduled.schedule_name(item))
    assert (schedule.func, schedule.args, schedule.schedule_type) == (
        "accounts.tasks.scheduled_import_run",
        str(item.pk),
        Schedule.HOURLY,
    )
    item.frequency, item.cron = Frequency.CRON, "30 2 * * *"
    scheduled.scheduled_import_save(scheduled=item, user=owner)
    schedule.refresh_from_db()
    assert (schedule.schedule_type, schedule.cron) == (Schedule.CRON, "30 2 * * *")
    assert (schedule.next_run.hour, schedule.next_run.minute) == (2, 30)
    item.active = False
    scheduled.scheduled_import_save(scheduled=item, user=owner)
    assert not Schedule.objects.filter(name=scheduled.schedule_name(item)).exists()
    item.active = True
    scheduled.scheduled_import_save(scheduled=item, user=owner)
    scheduled.scheduled_import_delete(scheduled=item, user=owner)
    assert not Schedule.objects.filter(func=scheduled.TASK).exists()
    actions = list(
        AuditEvent.objects.filter(object_type="schedule")
        .order_by("id")
        .values_list("action", "result")
    )
    assert actions == [
        (AuditAction.SCHEDULE_SAVED, "created"),
        (AuditAction.SCHEDULE_SAVED, "ok"),
        (AuditAction.SCHEDULE_SAVED, "ok"),
        (AuditAction.SCHEDULE_SAVED, "ok"),
        (AuditAction.SCHEDULE_DELETED, "ok"),
    ]


@pytest.mark.parametrize(
    "source, frequency, cron, says",
    [
        ("../etc/passwd", Frequency.DAILY, "", "without “..”"),
        ("/etc/passwd", Frequency.DAILY, "", "inside SCHEDULED_IMPORT_DIR"),
        ("https://files.example.com/u.csv", Frequency.DAILY, "", "not in SCHEDULED"),
        ("http://files.example.com/u.csv", Frequency.DAILY, "", "must use https://"),
        ("users.csv", Frequency.CRON, "every night", "is not a cron expression"),
    ],
)
def test_saving_refuses_what_cannot_run(import_settings, source, frequency, cron, says):
    owner = make_user("owner")
    item = ScheduledImport(name="x", source=source, frequency=frequency, cron=cron)
    with pytest.raises(scheduled.ScheduleInvalid, match=says):
        scheduled.scheduled_import_save(scheduled=item, user=owner)
    assert not ScheduledImport.objects.exists()
    assert not Schedule.objects.filter(func=scheduled.TASK).exists()


def test_the_admin_saves_through_the_service(admin_client, admin_user, import_settings):
    response = admin_client.post(
        "/admin/accounts/scheduledimport/add/",
        {
            "name": "nightly export",
            "source": "users.csv",
            "frequency": "daily",
            "cron": "",
            "active": "on",
            "created_by": "",
        },
    )
    assert response.status_code == 302, response.content[:3000]
    item = ScheduledImport.objects.get()
    assert item.created_by == admin_user
    assert Schedule.objects.get(name=scheduled.schedule_name(item)).schedule_type == (
        Schedule.DAILY
    )
    refused = admin_client.post(
        "/admin/accounts/scheduledimport/add/",
        {"name": "b", "source": "../x.csv", "frequency": "daily", "active": "on"},
    )
    assert refused.status_code == 200 and "without “..”" in refused.content.decode()


def test_each_connection_is_checked_before_a_request_is_sent(import_settings):
    # As if the listed name had resolved elsewhere by the time of the
    # connection (DNS rebinding): the peer itself is checked.
    from accounts.outbound import OutboundRefused, fetch_session

    with FileServer(files={"/u.csv": b"UserID\na\n"}) as files:
        with fetch_session(["files.example.com"]) as session:
            with pytest.raises(OutboundRefused, match="internal address"):
                session.get(files.url + "/u.csv", timeout=5)
        with fetch_session(["127.0.0.1"]) as session:
            assert (
                session.get(files.url + "/u.csv", timeout=5).content == b"UserID\na\n"
            )
    assert files.requests == ["/u.csv"]  # only the allowed one reached it
