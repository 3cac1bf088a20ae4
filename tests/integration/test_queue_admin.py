"""django-q2's admin is read-only, for superusers too: no schedule, no task by hand."""

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule

pytestmark = pytest.mark.django_db
BASE = "/admin/django_q/"


@pytest.fixture
def boss(client):
    user = get_user_model().objects.create_superuser("boss", "", "pw-long-enough-1")
    client.force_login(user)
    return client


@pytest.fixture
def failure():
    now = timezone.now()
    return Failure.objects.create(
        id="a" * 32,
        name="failed-task",
        func="accounts.tasks.maintenance",
        started=now,
        stopped=now,
        success=False,
        result="boom",
    )


SHELL = {
    "name": "side-door",
    "func": "os.system",
    "args": "'touch /tmp/pwned'",
    "schedule_type": "O",
    "repeats": "-1",
    "next_run_0": "2026-01-01",
    "next_run_1": "00:00:00",
}


def test_a_superuser_cannot_add_a_schedule(boss):
    before = Schedule.objects.count()
    assert boss.get(f"{BASE}schedule/add/").status_code == 403
    assert boss.post(f"{BASE}schedule/add/", SHELL).status_code == 403
    assert Schedule.objects.count() == before
    assert not Schedule.objects.filter(func="os.system").exists()


def test_a_superuser_cannot_change_or_delete_a_schedule(boss):
    schedule = Schedule.objects.create(
        name="kept", func="accounts.tasks.maintenance", schedule_type="I", minutes=5
    )
    change = f"{BASE}schedule/{schedule.pk}/change/"
    page = boss.get(change)
    assert page.status_code == 200  # shown, read-only
    assert b'name="_save"' not in page.content
    assert boss.post(change, {**SHELL, "_save": "Save"}).status_code == 403
    assert (
        boss.post(f"{BASE}schedule/{schedule.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    schedule.refresh_from_db()
    assert schedule.func == "accounts.tasks.maintenance"


def test_a_superuser_cannot_resubmit_a_failed_task(boss, failure):
    listing = boss.get(f"{BASE}failure/")
    assert listing.status_code == 200
    assert b"resubmit_task" not in listing.content
    boss.post(
        f"{BASE}failure/",
        {"action": "resubmit_task", "_selected_action": [failure.pk]},
    )
    assert Failure.objects.filter(pk=failure.pk).exists()  # resubmit deletes it
    assert not OrmQ.objects.exists()  # and nothing was queued
    assert boss.get(f"{BASE}failure/{failure.pk}/delete/").status_code == 403


def test_a_superuser_cannot_add_or_edit_a_queued_task(boss):
    # The queue's page exists with the ORM broker only (404 with Redis).
    queued = OrmQ.objects.create(key="imadmin", payload="x", lock=None)
    assert boss.get(f"{BASE}ormq/add/").status_code in (403, 404)
    changed = boss.post(
        f"{BASE}ormq/{queued.pk}/change/", {"key": "other", "_save": "Save"}
    )
    assert changed.status_code in (403, 404)
    queued.refresh_from_db()
    assert queued.key == "imadmin"
    assert boss.get(f"{BASE}success/add/").status_code == 403
