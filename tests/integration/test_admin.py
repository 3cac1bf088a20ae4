"""Django admin: account actions queue jobs; jobs and API calls are read-only."""

import pytest

from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    JobKind,
    JobSource,
    TrackedAccount,
)

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/accounts/trackedaccount/"


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
