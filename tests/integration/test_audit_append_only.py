"""No code path, admin page or role can change or delete an audit entry."""

import pytest
from django.contrib.auth import get_user_model
from django.db import DatabaseError, connection, transaction

from accounts.audit.records import audit_record
from accounts.models import AuditAction, AuditEvent, AuditEventImmutable

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-9"
on_postgresql = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the trigger exists on PostgreSQL only"
)


@pytest.fixture
def entry():
    return audit_record(
        action=AuditAction.EXPORT, object_type="audit", details={"format": "csv"}
    )


def unchanged(entry):
    stored = AuditEvent.objects.get(pk=entry.pk)
    return (stored.result, stored.details, stored.action) == (
        "ok",
        {"format": "csv"},
        AuditAction.EXPORT,
    )


# -- the ORM --------------------------------------------------------------------


def test_it_refuses_to_save_a_stored_entry(entry):
    entry.result = "forged"
    with pytest.raises(AuditEventImmutable, match="cannot be updated"):
        entry.save()
    with pytest.raises(AuditEventImmutable):
        entry.save(update_fields=["result"])
    assert unchanged(entry)


def test_it_never_turns_a_save_into_an_update(entry):
    forged = AuditEvent(pk=entry.pk, action=AuditAction.EXPORT, result="forged")
    with pytest.raises(DatabaseError), transaction.atomic():
        forged.save()  # an INSERT with a taken id: refused by the primary key
    assert unchanged(entry)


def test_it_refuses_to_delete_an_entry(entry):
    with pytest.raises(AuditEventImmutable, match="cannot be deleted"):
        entry.delete()
    assert unchanged(entry)


def test_it_refuses_queryset_updates_and_deletes(entry):
    entries = AuditEvent.objects.filter(pk=entry.pk)
    with pytest.raises(AuditEventImmutable):
        entries.update(result="forged")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.all().delete()
    with pytest.raises(AuditEventImmutable):
        AuditEvent._base_manager.all().delete()
    entry.result = "forged"
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.bulk_update([entry], ["result"])
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.update_or_create(pk=entry.pk, defaults={"result": "x"})
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.bulk_create(
            [AuditEvent(pk=entry.pk, action=AuditAction.EXPORT, result="x")],
            update_conflicts=True,
            unique_fields=["id"],
            update_fields=["result"],
        )
    assert unchanged(entry)


def test_it_still_appends(entry):
    AuditEvent.objects.bulk_create([AuditEvent(action=AuditAction.EXPORT)])
    assert AuditEvent.objects.count() == 2


def test_it_only_lets_a_deleted_user_leave_their_name_behind(entry):
    user = get_user_model().objects.create_user("leaver", password=PASSWORD)
    kept = audit_record(action=AuditAction.SIGN_IN, actor=user)
    user.delete()
    kept = AuditEvent.objects.get(pk=kept.pk)
    assert (kept.actor_id, kept.actor_name) == (None, "leaver")
    with pytest.raises(AuditEventImmutable):
        AuditEvent.objects.filter(pk=kept.pk).update(actor=None, actor_name="")


# -- the admin, even for a superuser ---------------------------------------------


@pytest.fixture
def boss_client(client):
    client.force_login(get_user_model().objects.create_superuser("boss", "", PASSWORD))
    return client


def test_the_admin_lists_and_shows_entries_read_only(boss_client, entry):
    assert boss_client.get("/admin/accounts/auditevent/").status_code == 200
    page = boss_client.get(f"/admin/accounts/auditevent/{entry.pk}/change/")
    assert page.status_code == 200
    assert b'name="_save"' not in page.content  # no save button: a read-only view


def test_the_admin_refuses_add_change_and_delete(boss_client, entry):
    base = "/admin/accounts/auditevent/"
    assert boss_client.get(f"{base}add/").status_code == 403
    assert boss_client.post(f"{base}add/", {"action": "export"}).status_code == 403
    changed = boss_client.post(f"{base}{entry.pk}/change/", {"result": "forged"})
    assert changed.status_code == 403
    assert boss_client.get(f"{base}{entry.pk}/delete/").status_code == 403
    assert (
        boss_client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    assert unchanged(entry)


def test_the_admin_offers_no_bulk_delete(boss_client, entry):
    response = boss_client.post(
        "/admin/accounts/auditevent/",
        {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"},
    )
    assert response.status_code in (200, 302)
    assert unchanged(entry)
    page = boss_client.get("/admin/accounts/auditevent/")
    assert b"delete_selected" not in page.content


# -- the database (PostgreSQL) ---------------------------------------------------


def raw(sql):
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


@on_postgresql
def test_postgresql_refuses_a_raw_update(entry):
    with pytest.raises(DatabaseError, match="append-only: UPDATE refused"):
        raw(f"UPDATE accounts_auditevent SET result = 'forged' WHERE id = {entry.pk}")
    assert unchanged(entry)


@on_postgresql
def test_postgresql_refuses_a_raw_delete(entry):
    with pytest.raises(DatabaseError, match="append-only: DELETE refused"):
        raw(f"DELETE FROM accounts_auditevent WHERE id = {entry.pk}")
    assert unchanged(entry)


@on_postgresql
def test_postgresql_refuses_truncate(entry):
    # A test database allows TRUNCATE (the test runner empties tables between
    # tests); this session asks for the production behaviour.
    with pytest.raises(DatabaseError, match="append-only: TRUNCATE refused"):
        raw(
            "SET CONSTRAINTS ALL IMMEDIATE;"
            " SET LOCAL imadmin.audit_truncate = 'refuse';"
            " TRUNCATE accounts_auditevent"
        )
    assert unchanged(entry)


@on_postgresql
def test_postgresql_lets_only_the_actor_go_not_the_name():
    user = get_user_model().objects.create_user("leaver", password=PASSWORD)
    kept = audit_record(action=AuditAction.SIGN_IN, actor=user)
    with pytest.raises(DatabaseError, match="UPDATE refused"):
        raw(
            "UPDATE accounts_auditevent SET actor_id = NULL, actor_name = ''"
            f" WHERE id = {kept.pk}"
        )
    raw(f"UPDATE accounts_auditevent SET actor_id = NULL WHERE id = {kept.pk}")
    kept = AuditEvent.objects.get(pk=kept.pk)
    assert (kept.actor_id, kept.actor_name) == (None, "leaver")
