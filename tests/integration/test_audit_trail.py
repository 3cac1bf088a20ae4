"""Each audited action leaves exactly one entry, with who, where, what and result."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import AuditAction, AuditEvent, JobKind, TrackedAccount
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db
LOGIN = "/login/"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def entries():
    """Entries written after this fixture ran, oldest first."""
    start = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0

    def new(action=None):
        found = AuditEvent.objects.filter(id__gt=start).order_by("id")
        return list(found.filter(action=action) if action else found)

    return new


def sign_in(client, username, password, ip="127.0.0.1"):
    return client.post(
        LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip
    )


def test_it_records_a_sign_in(client, entries):
    user = user_with_role("support", "ann")
    response = sign_in(client, "ann", PASSWORD, ip="198.51.100.4")
    assert response.status_code == 302
    (entry,) = entries()
    assert entry.action == AuditAction.SIGN_IN
    assert (entry.actor, entry.actor_name, entry.ip) == (user, "ann", "198.51.100.4")
    assert (entry.object_type, entry.object_id, entry.result) == (
        "user",
        str(user.pk),
        "ok",
    )


def test_it_records_a_failed_sign_in_with_the_username_but_not_the_password(
    client, entries
):
    user_with_role("support", "ann")
    response = sign_in(client, "ann", "not-my-password-77", ip="198.51.100.5")
    assert response.status_code == 200
    (entry,) = entries()
    assert entry.action == AuditAction.SIGN_IN_FAILED
    assert (entry.actor, entry.actor_name, entry.ip) == (None, "", "198.51.100.5")
    assert (entry.object_id, entry.result) == ("ann", "failed")
    assert entry.details == {"username": "ann"}
    assert "not-my-password-77" not in str(AuditEvent.objects.values())


def test_it_records_a_sign_out(client, entries):
    user = user_with_role("auditor", "ann")
    sign_in(client, "ann", PASSWORD)
    response = client.post("/logout/", REMOTE_ADDR="127.0.0.1")
    assert response.status_code == 302
    entry = entries(AuditAction.SIGN_OUT)
    assert len(entry) == 1
    assert (entry[0].actor, entry[0].ip) == (user, "127.0.0.1")


def test_it_refuses_sign_out_by_get(client):
    user_with_role("auditor", "ann")
    sign_in(client, "ann", PASSWORD)
    assert client.get("/logout/").status_code == 405


def test_it_locks_out_after_five_failures_and_records_it_once(client, entries):
    user_with_role("support", "ann")
    statuses = [sign_in(client, "ann", f"wrong-{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    (locked,) = entries(AuditAction.LOCKED_OUT)
    assert (locked.object_id, locked.ip, locked.result) == (
        "ann",
        "127.0.0.1",
        "locked_out",
    )
    assert locked.details == {"username": "ann", "failures": 5, "minutes": 15}
    assert len(entries(AuditAction.SIGN_IN_FAILED)) == 5

    # The right password is refused during the lock-out, with a clear page.
    response = sign_in(client, "ann", PASSWORD)
    assert response.status_code == 429
    text = response.content.decode()
    assert "Too many failed sign-ins" in text and "Try again in 15 minutes" in text
    assert len(entries(AuditAction.LOCKED_OUT)) == 1
    refused = entries(AuditAction.SIGN_IN_FAILED)[-1]
    assert refused.result == "locked_out"
    assert not entries(AuditAction.SIGN_IN)


def test_it_locks_out_a_username_from_one_address_only(client, entries):
    user_with_role("support", "ann")
    for n in range(5):
        sign_in(client, "ann", f"wrong-{n}", ip="203.0.113.9")
    assert sign_in(client, "ann", PASSWORD, ip="203.0.113.10").status_code == 302
    assert len(entries(AuditAction.SIGN_IN)) == 1


def test_it_forgets_failures_after_a_successful_sign_in(client):
    user_with_role("support", "ann")
    for n in range(4):
        sign_in(client, "ann", f"wrong-{n}")
    assert sign_in(client, "ann", PASSWORD).status_code == 302
    client.post("/logout/")
    for n in range(4):
        assert sign_in(client, "ann", f"wrong-{n}").status_code == 200


def test_it_keeps_the_test_clients_login_working(client):
    user_with_role("support", "ann")
    assert client.login(username="ann", password=PASSWORD)
    assert not client.login(username="ann", password="nope")


def test_it_records_an_admin_action_with_the_selected_count(client, entries):
    importer = user_with_role("importer", "ivy")
    accounts = TrackedAccount.objects.bulk_create(
        [TrackedAccount(user_id=f"admin-{n}") for n in range(3)]
    )
    client.force_login(importer)
    response = client.post(
        "/admin/accounts/trackedaccount/",
        {
            "action": "check_selected",
            "_selected_action": [a.pk for a in accounts[:2]],
        },
        REMOTE_ADDR="192.0.2.33",
    )
    assert response.status_code == 302
    (entry,) = entries(AuditAction.ADMIN_ACTION)
    assert (entry.actor, entry.ip, entry.result) == (importer, "192.0.2.33", "ok")
    assert sorted(entry.details.pop("user_ids")) == ["admin-0", "admin-1"]
    assert entry.details == {"action": "check_selected", "selected": 2, "queued": 2}
    assert entry.job_id and entry.object_id == str(entry.job_id)
    (started,) = entries(AuditAction.JOB_STARTED)
    assert started.job_id == entry.job_id
    assert started.details["kind"] == JobKind.CHECK


def test_it_records_an_admin_action_that_found_nothing_to_do(client, entries):
    importer = user_with_role("importer", "ivy")
    account = TrackedAccount.objects.create(user_id="admin-x", state="imported")
    client.force_login(importer)
    client.post(
        "/admin/accounts/trackedaccount/",
        {"action": "retry_failed", "_selected_action": [account.pk]},
    )
    (entry,) = entries(AuditAction.ADMIN_ACTION)
    assert entry.result == "nothing_to_do"
    assert entry.details == {"action": "retry_failed", "selected": 1, "queued": 0}


def test_it_records_nothing_until_a_delete_is_confirmed(client, entries):
    importer = user_with_role("importer", "ivy")
    account = TrackedAccount.objects.create(user_id="admin-del")
    client.force_login(importer)
    form = {"action": "delete_from_im", "_selected_action": [account.pk]}
    response = client.post("/admin/accounts/trackedaccount/", form)
    assert response.status_code == 200 and not entries(AuditAction.ADMIN_ACTION)
    client.post("/admin/accounts/trackedaccount/", {**form, "confirm": "yes"})
    (entry,) = entries(AuditAction.ADMIN_ACTION)
    assert entry.details["action"] == "delete_from_im"


def test_it_records_an_export_with_its_filters(client, entries):
    auditor = user_with_role("auditor", "aud")
    client.force_login(auditor)
    response = client.get(
        "/audit/export.csv?action=sign_in&user_id=u%2F1&date_from=2026-01-02",
        REMOTE_ADDR="192.0.2.50",
    )
    assert response.status_code == 200
    b"".join(response.streaming_content)
    (entry,) = entries(AuditAction.EXPORT)
    assert (entry.actor, entry.ip, entry.object_type) == (
        auditor,
        "192.0.2.50",
        "audit",
    )
    assert entry.details == {
        "format": "csv",
        "filters": {"action": "sign_in", "user_id": "u/1", "date_from": "2026-01-02"},
    }


def test_it_keeps_entries_and_names_when_a_user_is_deleted(client):
    user = user_with_role("support", "gone")
    sign_in(client, "gone", PASSWORD)
    get_user_model().objects.filter(pk=user.pk).delete()
    entry = AuditEvent.objects.filter(action=AuditAction.SIGN_IN).get()
    assert (entry.actor, entry.actor_name) == (None, "gone")


# -- the other pages' actions ----------------------------------------------------


def _csv(text, name="people.csv"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, text.encode(), content_type="text/csv")


def test_it_records_a_single_import(client, entries, im_settings):
    support = user_with_role("support", "sue")
    client.force_login(support)
    response = client.post(
        "/import/",
        {"user_id": "solo/7", "nick": "Seven", "face_url": ""},
        REMOTE_ADDR="192.0.2.70",
    )
    assert response.status_code == 200
    (entry,) = entries(AuditAction.SINGLE_IMPORT)
    account = TrackedAccount.objects.get(user_id="solo/7")
    assert (entry.actor, entry.ip, entry.user_id, entry.result) == (
        support,
        "192.0.2.70",
        "solo/7",
        "imported",
    )
    assert (entry.object_type, entry.object_id) == ("account", str(account.pk))
    assert entry.job_id == account.job_id
    assert entry.details["nick"] == "Seven"


def test_it_records_a_csv_uploaded_confirmed_and_another_cancelled(client, entries):
    importer = user_with_role("importer", "ivy")
    client.force_login(importer)
    text = "UserID,Nick\ncsv-1,One\ncsv-2,Two\nbad id!,x\n"
    response = client.post(
        "/uploads/new/",
        {"file": _csv(text), "encoding": "auto"},
        REMOTE_ADDR="192.0.2.8",
    )
    preview = response["Location"]
    (uploaded,) = entries(AuditAction.CSV_UPLOADED)
    assert (uploaded.actor, uploaded.ip, uploaded.object_type) == (
        importer,
        "192.0.2.8",
        "upload",
    )
    details = uploaded.details
    assert (details["file_name"], details["size"]) == ("people.csv", len(text))
    assert len(details["sha256"]) == 64
    assert (details["valid"], details["invalid"]) == (2, 1)

    client.post(preview + "confirm/")
    client.post(preview + "confirm/")  # a double click starts nothing more
    (confirmed,) = entries(AuditAction.CSV_CONFIRMED)
    assert confirmed.job_id and confirmed.object_id == uploaded.object_id
    assert confirmed.details["file_name"] == "people.csv"

    second = client.post("/uploads/new/", {"file": _csv(text), "encoding": "auto"})
    client.post(second["Location"] + "cancel/")
    (cancelled,) = entries(AuditAction.CSV_CANCELLED)
    assert cancelled.actor == importer and cancelled.object_type == "upload"


def test_it_records_a_retry_and_a_cancel(client, entries):
    from accounts.models import ImportJob, JobItem

    importer = user_with_role("importer", "ivy")
    job = ImportJob.objects.create(
        kind="import", source="csv", status="done_with_errors", total=1, failed=1
    )
    account = TrackedAccount.objects.create(user_id="r-1", state="failed", job=job)
    JobItem.objects.create(job=job, account=account, state="failed")
    client.force_login(importer)
    client.post(f"/jobs/{job.pk}/retry/", REMOTE_ADDR="192.0.2.9")
    (retry,) = entries(AuditAction.JOB_RETRY)
    assert (retry.actor, retry.ip, retry.job_id, retry.result) == (
        importer,
        "192.0.2.9",
        job.pk,
        "ok",
    )
    new_job = ImportJob.objects.exclude(pk=job.pk).get()
    client.post(f"/jobs/{new_job.pk}/cancel/")
    (cancel,) = entries(AuditAction.JOB_CANCEL)
    assert (cancel.actor, cancel.job_id, cancel.result) == (importer, new_job.pk, "ok")
    (ended,) = entries(AuditAction.JOB_ENDED)
    assert (ended.job_id, ended.result) == (new_job.pk, "cancelled")


def test_behind_a_proxy_it_records_and_throttles_the_address_the_proxy_saw(
    client, entries, settings
):
    settings.CLIENT_IP_HEADER = "X-Forwarded-For"
    user_with_role("support", "ann")
    proxy = {"REMOTE_ADDR": "10.0.0.1"}

    def attempt(password, forwarded):
        return client.post(
            LOGIN,
            {"username": "ann", "password": password},
            HTTP_X_FORWARDED_FOR=forwarded,
            **proxy,
        )

    # The client may send its own X-Forwarded-For; the proxy's entry is last.
    for n in range(5):
        attempt(f"wrong-{n}", f"192.0.2.{n}, 203.0.113.5")
    assert {e.ip for e in entries(AuditAction.SIGN_IN_FAILED)} == {"203.0.113.5"}
    assert attempt(PASSWORD, "203.0.113.5").status_code == 429
    assert attempt(PASSWORD, "203.0.113.6").status_code == 302
    assert attempt("wrong", "not-an-address").status_code == 200
    assert entries(AuditAction.SIGN_IN_FAILED)[-1].ip is None


def test_services_audit_their_actions_whatever_the_entry_point(entries):
    # A command or a task calls the same services as a page: the same entries.
    from accounts import services
    from accounts.models import AccountState, ImportJob, JobSource, JobStatus

    job = ImportJob.objects.create(kind=JobKind.IMPORT, status=JobStatus.DONE)
    with pytest.raises(services.NothingToDo):
        services.job_retry_failed(job=job, source=JobSource.COMMAND)
    check = ImportJob.objects.create(kind=JobKind.CHECK, status=JobStatus.DONE)
    with pytest.raises(services.NothingToDo, match="Only an import job"):
        services.job_retry_failed(job=check)
    running = ImportJob.objects.create(kind=JobKind.IMPORT, status=JobStatus.RUNNING)
    assert services.job_cancel(job=running) is True
    assert services.job_cancel(job=running) is False
    TrackedAccount.objects.create(user_id="held", state=AccountState.QUEUED)
    with pytest.raises(services.NothingToDo):
        services.account_import_now(user_id="held")
    found = [
        (e.action, e.job_id, e.result, e.actor_id)
        for e in entries()
        if e.action != AuditAction.JOB_ENDED  # the cancelled job's end: its own
    ]
    assert found == [
        (AuditAction.JOB_RETRY, job.pk, "nothing_to_do", None),
        (AuditAction.JOB_RETRY, check.pk, "nothing_to_do", None),
        (AuditAction.JOB_CANCEL, running.pk, "ok", None),
        (AuditAction.JOB_CANCEL, running.pk, "had_ended", None),
        (AuditAction.SINGLE_IMPORT, None, "busy", None),
    ]
