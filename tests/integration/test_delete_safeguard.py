"""Deleting from IM: a typed count above a threshold or across all, a hard cap."""

import pytest

from accounts.models import (
    AccountState,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobKind,
    JobSource,
    TrackedAccount,
)
from accounts.services import (
    DeleteNotConfirmed,
    DeleteRefused,
    accounts_delete_from_im,
    delete_plan,
)

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/accounts/trackedaccount/"


@pytest.fixture
def limits(settings):
    settings.DELETE_CONFIRM_COUNT_ABOVE = 2
    settings.DELETE_MAX_ACCOUNTS = 4
    settings.DELETE_ALLOW_ABOVE_MAX = False
    return settings


def imported(n):
    return [
        TrackedAccount.objects.create(user_id=f"d{i}", state=AccountState.IMPORTED)
        for i in range(n)
    ]


def delete(client, picked, **extra):
    data = {
        "action": "delete_from_im",
        "_selected_action": [a.pk for a in picked],
        **extra,
    }
    return client.post(CHANGELIST, data, follow=True)


def test_the_plan_is_one_rule(limits):
    assert not delete_plan(count=2).typed_count_needed
    assert delete_plan(count=3).typed_count_needed
    assert delete_plan(count=1, select_across=True).typed_count_needed
    assert not delete_plan(count=4).refused
    assert "at most 4" in delete_plan(count=5).refused
    limits.DELETE_ALLOW_ABOVE_MAX = True
    assert not delete_plan(count=5).refused


def test_a_few_accounts_need_only_a_yes(admin_client, limits):
    picked = imported(2)
    page = delete(admin_client, picked)
    assert b'name="typed_count"' not in page.content
    assert "three months" in page.content.decode()
    assert not ImportJob.objects.exists()
    delete(admin_client, picked, confirm="yes")
    assert ImportJob.objects.get().kind == JobKind.DELETE


def test_more_than_the_threshold_needs_the_count_typed(admin_client, limits):
    picked = imported(3)
    page = delete(admin_client, picked)
    assert b'name="typed_count"' in page.content
    assert b"type the number of accounts to delete (3)" in page.content
    for typed in ("", "2", "³", "3 "):
        page = delete(admin_client, picked, confirm="yes", typed_count=typed)
        assert b"Type the number of accounts, 3, to confirm." in page.content
    assert not ImportJob.objects.exists()
    delete(admin_client, picked, confirm="yes", typed_count="3")
    job = ImportJob.objects.get()
    assert (job.kind, job.total) == (JobKind.DELETE, 3)


def test_select_across_all_always_needs_the_count_typed(admin_client, limits):
    picked = imported(1)
    page = delete(admin_client, picked, select_across="1")
    assert b'name="typed_count"' in page.content
    delete(admin_client, picked, select_across="1", confirm="yes")
    assert not ImportJob.objects.exists()
    delete(admin_client, picked, select_across="1", confirm="yes", typed_count="1")
    assert ImportJob.objects.get().total == 1


def test_above_the_cap_it_is_refused_and_audited(admin_client, limits):
    picked = imported(5)
    page = delete(admin_client, picked, confirm="yes", typed_count="5")
    assert b"at most 4 may be deleted in one go" in page.content
    assert not ImportJob.objects.exists()
    entry = AuditEvent.objects.get(action=AuditAction.ADMIN_ACTION)
    assert (entry.result, entry.details["action"]) == ("refused", "delete_from_im")


def test_a_setting_allows_more_than_the_cap(admin_client, limits):
    limits.DELETE_ALLOW_ABOVE_MAX = True
    picked = imported(5)
    delete(admin_client, picked, confirm="yes", typed_count="5")
    assert ImportJob.objects.get().total == 5


def test_the_service_refuses_without_the_entry_point(limits):
    imported(5)
    everyone = TrackedAccount.objects.all()
    with pytest.raises(DeleteRefused):
        accounts_delete_from_im(
            accounts=everyone, source=JobSource.ADMIN, confirmed=True, typed_count="5"
        )
    few = TrackedAccount.objects.filter(user_id__in=["d0", "d1", "d2"])
    with pytest.raises(DeleteNotConfirmed) as raised:
        accounts_delete_from_im(accounts=few, source=JobSource.ADMIN, confirmed=True)
    assert raised.value.plan.count == 3
    job = accounts_delete_from_im(
        accounts=few, source=JobSource.ADMIN, confirmed=True, typed_count="3"
    )
    assert job.total == 3
