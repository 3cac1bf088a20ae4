"""Django admin: account and job actions queue or stop jobs; records are read-only."""

from datetime import UTC, datetime
from unittest import mock

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.messages import constants
from django.utils import timezone

from accounts import roles
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
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/trackedaccount/"
JOBS = "/admin/accounts/importjob/"
AUDIT = "/admin/accounts/auditevent/"


def accounts(*states):
    return [
        TrackedAccount.objects.create(user_id=f"a{i}", state=state)
        for i, state in enumerate(states)
    ]


def post_action(client, action, selected, **extra):
    data = {"action": action, "_selected_action": [a.pk for a in selected], **extra}
    return client.post(CHANGELIST, data, follow=True)


def test_import_selected_queues_a_job_and_links_to_it(admin_client):
    picked = accounts(AccountState.PENDING, AccountState.FAILED, AccountState.PENDING)
    response = post_action(admin_client, "import_selected", picked[:2])
    job = ImportJob.objects.get()
    assert (job.kind, job.source, job.total) == (JobKind.IMPORT, JobSource.ADMIN, 2)
    text = response.content.decode()
    assert f"/admin/accounts/importjob/{job.pk}/change/" in text
    assert "Importing 2 accounts" in text
    assert TrackedAccount.objects.filter(state=AccountState.QUEUED).count() == 2


def test_check_and_retry_failed_queue_the_right_kind(admin_client):
    picked = accounts(AccountState.FAILED, AccountState.IMPORTED)
    post_action(admin_client, "check_selected", picked)
    assert ImportJob.objects.get().kind == JobKind.CHECK
    ImportJob.objects.all().delete()
    post_action(admin_client, "retry_failed", picked)
    job = ImportJob.objects.get()
    assert (job.kind, job.total) == (JobKind.IMPORT, 1)


def test_delete_from_im_asks_for_confirmation_first(admin_client):
    picked = accounts(AccountState.IMPORTED, AccountState.IMPORTED)
    response = post_action(admin_client, "delete_from_im", picked)
    assert b"cannot be undone" in response.content
    assert b"70399" in response.content
    assert not ImportJob.objects.exists()
    post_action(admin_client, "delete_from_im", picked, confirm="yes")
    job = ImportJob.objects.get()
    assert (job.kind, job.total) == (JobKind.DELETE, 2)


def test_an_action_on_busy_accounts_says_so(admin_client):
    picked = accounts(AccountState.QUEUED)
    response = post_action(admin_client, "import_selected", picked)
    assert b"already in a running job" in response.content
    assert not ImportJob.objects.exists()


def test_jobs_and_calls_cannot_be_changed_or_deleted(admin_client):
    job = ImportJob.objects.create(kind=JobKind.IMPORT, source=JobSource.FORM)
    call = ApiCall.objects.create(
        job=job, api="account_import", account_count=1, created_at=job.created_at
    )
    for url in (
        f"/admin/accounts/importjob/{job.pk}/delete/",
        f"/admin/accounts/apicall/{call.pk}/delete/",
        "/admin/accounts/importjob/add/",
    ):
        assert admin_client.get(url).status_code == 403
    page = admin_client.get(f"/admin/accounts/importjob/{job.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content


def test_the_changelist_searches_by_userid_prefix_and_filters(admin_client):
    accounts(AccountState.FAILED, AccountState.IMPORTED)
    TrackedAccount.objects.create(user_id="zeta-1", state=AccountState.FAILED)
    response = admin_client.get(CHANGELIST, {"q": "zeta", "state__exact": "failed"})
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    assert [a.user_id for a in rows] == ["zeta-1"]


# -- job actions ---------------------------------------------------------------


def user_with_role(role, username, **fields):
    user = get_user_model().objects.create_user(username, **fields)
    if role:
        roles.user_role_set(user=user, role=role)
    return user


def job_with_items(item_states, **fields):
    """A CSV import job with an account and an item per entry of ``item_states``."""
    job = ImportJob.objects.create(
        source=JobSource.CSV, total=len(item_states), **fields
    )
    for n, state in enumerate(item_states):
        failed = state == ItemState.FAILED
        account = TrackedAccount.objects.create(
            user_id=f"j{job.pk}-{n}",
            job=job,
            state=AccountState.FAILED if failed else AccountState.IMPORTED,
        )
        JobItem.objects.create(job=job, account=account, state=state)
    return job


@pytest.fixture
def importer(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(user_with_role("importer", "ivy"))
    return client


def post_job_action(client, action, jobs):
    data = {"action": action, "_selected_action": [j.pk for j in jobs]}
    response = client.post(JOBS, data, follow=True)
    assert response.status_code == 200
    return response, [(m.level, str(m)) for m in response.context["messages"]]


def failed_import_job(failed=2):
    return job_with_items(
        [ItemState.SUCCEEDED] + [ItemState.FAILED] * failed,
        status=JobStatus.DONE_WITH_ERRORS,
        succeeded=1,
        failed=failed,
    )


def test_the_job_changelist_offers_retry_and_cancel_to_importers(importer):
    failed_import_job()
    actions = importer.get(JOBS).context["action_form"].fields["action"].choices
    assert [name for name, _ in actions] == ["", "retry_failed", "cancel_selected"]


def test_retry_failed_starts_a_retry_job_and_links_to_it(importer):
    job = failed_import_job()
    response, found = post_job_action(importer, "retry_failed", [job])
    retry = ImportJob.objects.exclude(pk=job.pk).get()
    assert (retry.kind, retry.source, retry.total) == (JobKind.IMPORT, "admin", 2)
    assert retry.options == {"retry_of": job.pk}
    assert retry.created_by.username == "ivy"
    assert found == [
        (
            constants.SUCCESS,
            f"Retrying 2 failed accounts of job #{job.pk} as "
            f'<a href="/admin/accounts/importjob/{retry.pk}/change/">{retry}</a>.',
        )
    ]
    assert f'href="/admin/accounts/importjob/{retry.pk}/change/"' in (
        response.content.decode()
    )
    event = AuditEvent.objects.get(action=AuditAction.JOB_RETRY)
    assert (event.actor_name, event.job_id, event.result) == ("ivy", job.pk, "ok")
    assert event.details == {"new_job": retry.pk, "accounts": 2}


def test_retry_failed_says_which_jobs_it_could_not_retry(importer):
    check = ImportJob.objects.create(
        source=JobSource.ADMIN, kind=JobKind.CHECK, failed=1
    )
    clean = job_with_items([ItemState.SUCCEEDED], status=JobStatus.DONE)
    failed = failed_import_job(failed=1)
    _, found = post_job_action(importer, "retry_failed", [check, clean, failed])
    retry = ImportJob.objects.latest("id")
    assert retry.options == {"retry_of": failed.pk}
    assert [level for level, _ in found] == [
        constants.SUCCESS,
        constants.WARNING,
        constants.WARNING,
    ]
    assert found[1][1] == (
        f"Job #{check.pk}: Only an import job's failed accounts can be retried."
    )
    assert found[2][1] == (
        f"Job #{clean.pk}: No account to work on: the selection is empty or "
        "already in a running job."
    )
    results = AuditEvent.objects.filter(action=AuditAction.JOB_RETRY)
    assert sorted(results.values_list("job_id", "result")) == [
        (check.pk, "nothing_to_do"),
        (clean.pk, "nothing_to_do"),
        (failed.pk, "ok"),
    ]


def test_retry_failed_twice_finds_the_accounts_already_queued(importer):
    job = failed_import_job()
    post_job_action(importer, "retry_failed", [job])
    _, found = post_job_action(importer, "retry_failed", [job])
    assert ImportJob.objects.count() == 2
    assert found == [
        (
            constants.WARNING,
            f"Job #{job.pk}: No account to work on: the selection is empty or "
            "already in a running job.",
        )
    ]


def test_cancel_selected_cancels_running_jobs_and_says_which_had_ended(importer):
    running = [
        job_with_items([ItemState.QUEUED] * 2, status=JobStatus.RUNNING)
        for _ in range(2)
    ]
    done = job_with_items([ItemState.SUCCEEDED], status=JobStatus.DONE)
    _, found = post_job_action(importer, "cancel_selected", [*running, done])
    for job in running:
        job.refresh_from_db()
        assert (job.status, job.cancelled) == (JobStatus.CANCELLED, 2)
    done.refresh_from_db()
    assert done.status == JobStatus.DONE
    first, second = (j.pk for j in running)
    assert found == [
        (
            constants.SUCCESS,
            f"Cancelled jobs #{first} and #{second}: queued accounts go back to "
            "pending; batches already sent finish and are recorded.",
        ),
        (constants.INFO, f"Job #{done.pk} had already ended: nothing to cancel."),
    ]
    events = AuditEvent.objects.filter(action=AuditAction.JOB_CANCEL)
    assert sorted(events.values_list("job_id", "result", "actor_name")) == [
        (first, "ok", "ivy"),
        (second, "ok", "ivy"),
        (done.pk, "had_ended", "ivy"),
    ]
    assert events.get(job_id=first).details == {"cancelled": 2}


def test_cancel_selected_names_a_long_selection_briefly(importer):
    jobs = [ImportJob.objects.create(source=JobSource.CSV) for _ in range(12)]
    _, found = post_job_action(importer, "cancel_selected", jobs)
    numbers = ", ".join(f"#{j.pk}" for j in jobs[:10])
    assert found[0][1].startswith(f"Cancelled jobs {numbers} and 2 more: ")
    assert ImportJob.objects.filter(status=JobStatus.CANCELLED).count() == 12


@pytest.mark.parametrize("role", ["auditor", "reader"])
def test_job_actions_need_the_bulk_jobs_permission(client, settings, role):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    if role == "auditor":
        user = user_with_role("auditor", "aud")
    else:  # staff who may see jobs, and nothing more
        user = user_with_role(None, "viewer", is_staff=True)
        user.user_permissions.add(Permission.objects.get(codename="view_importjob"))
    client.force_login(user)
    failed = failed_import_job()
    running = job_with_items([ItemState.QUEUED], status=JobStatus.RUNNING)
    page = client.get(JOBS)
    assert page.status_code == 200 and page.context["action_form"] is None
    for action, job in (("retry_failed", failed), ("cancel_selected", running)):
        response = client.post(
            JOBS, {"action": action, "_selected_action": [job.pk]}, follow=True
        )
        assert response.status_code == 200
    assert ImportJob.objects.count() == 2
    running.refresh_from_db()
    assert running.status == JobStatus.RUNNING
    assert not AuditEvent.objects.filter(
        action__in=[AuditAction.JOB_RETRY, AuditAction.JOB_CANCEL]
    ).exists()


# -- the audit history ---------------------------------------------------------


def test_the_audit_history_is_browsed_by_date(client, settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    client.force_login(user_with_role("auditor", "aud"))
    long_ago = datetime(2024, 3, 5, 12, tzinfo=UTC)
    with mock.patch("django.utils.timezone.now", return_value=long_ago):
        old = AuditEvent.objects.create(action=AuditAction.EXPORT, actor_name="x")
    response = client.get(AUDIT)
    assert response.status_code == 200
    assert response.context["cl"].date_hierarchy == "at"
    assert b'<nav class="toplinks">' in response.content
    assert b'href="?at__year=2024"' in response.content

    def shown(**query):
        return list(client.get(AUDIT, query).context["cl"].result_list)

    assert shown(at__year=2024) == [old]
    assert shown(at__year=2024, at__month=3, at__day=5) == [old]
    assert shown(at__year=2024, at__month=4) == []
    assert old not in shown(at__year=timezone.now().year)
