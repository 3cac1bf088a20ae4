"""Bulk actions' audit entries are found by the UserIDs they affected, at any size."""

import json

import pytest
from django.contrib.auth import get_user_model

from accounts.audit.selectors import audit_events
from accounts.models import (
    AccountState,
    AuditAction,
    AuditEvent,
    ImportJob,
    ItemState,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.services import job_start
from tests.integration.test_admin import job_with_items, post_action, post_job_action

pytestmark = pytest.mark.django_db


def actions_about(user_id):
    return sorted(
        (e.action, e.details.get("action", "")) for e in audit_events(user_id=user_id)
    )


@pytest.fixture
def auditor_client(client):
    user = get_user_model().objects.create_superuser("aud", "", "pw-long-enough-1")
    client.force_login(user)
    return client


def test_who_deleted_an_account_is_found_by_its_userid(admin_client):
    picked = [
        TrackedAccount.objects.create(user_id=f"gone{n}", state=AccountState.IMPORTED)
        for n in range(2)
    ]
    TrackedAccount.objects.create(user_id="kept", state=AccountState.IMPORTED)
    post_action(admin_client, "delete_from_im", picked, confirm="yes")
    expected = [
        (AuditAction.ADMIN_ACTION, "delete_from_im"),
        (AuditAction.JOB_STARTED, ""),
    ]
    assert actions_about("gone0") == expected
    assert actions_about("gone1") == expected
    assert actions_about("kept") == []
    entry = AuditEvent.objects.get(action=AuditAction.ADMIN_ACTION)
    assert sorted(entry.details["user_ids"]) == ["gone0", "gone1"]
    assert entry.actor_name == "admin"


def test_the_audit_page_and_the_admin_search_find_it(admin_client, auditor_client):
    picked = [TrackedAccount.objects.create(user_id="zed", state="imported")]
    post_action(admin_client, "check_selected", picked)
    page = auditor_client.get("/audit/", {"user_id": "zed"})
    assert "check_selected" in page.content.decode()
    found = auditor_client.get("/admin/accounts/auditevent/", {"q": "zed"})
    actions = {e.action for e in found.context["cl"].result_list}
    assert actions == {AuditAction.ADMIN_ACTION, AuditAction.JOB_STARTED}


def test_retry_and_cancel_of_jobs_are_found_by_their_accounts(admin_client):
    done = job_with_items(
        [ItemState.FAILED, ItemState.SUCCEEDED],
        status=JobStatus.DONE_WITH_ERRORS,
        kind=JobKind.IMPORT,
    )
    post_job_action(admin_client, "retry_failed", [done])
    retry = ImportJob.objects.exclude(pk=done.pk).get()
    post_job_action(admin_client, "cancel_selected", [retry])
    failed_one = f"j{done.pk}-0"
    actions = {action for action, _ in actions_about(failed_one)}
    assert {AuditAction.JOB_RETRY, AuditAction.JOB_CANCEL} <= actions


def test_a_big_selection_keeps_the_entry_small_and_still_found():
    TrackedAccount.objects.bulk_create(
        TrackedAccount(user_id=f"big{n:05}", state=AccountState.PENDING)
        for n in range(5000)
    )
    job = job_start(
        kind=JobKind.CHECK,
        accounts=TrackedAccount.objects.all(),
        source=JobSource.ADMIN,
    )
    started = AuditEvent.objects.get(action=AuditAction.JOB_STARTED, job_id=job.pk)
    assert len(json.dumps(started.details)) < 500
    assert [e.pk for e in audit_events(user_id="big04999")] == [started.pk]
    assert [e.pk for e in audit_events(user_id="big00000")] == [started.pk]
