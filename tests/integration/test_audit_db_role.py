"""On PostgreSQL the application's role cannot disable, drop or skip the audit trigger.

The test creates a role as the grants in accounts.db_roles (and the README)
make it, connects as that role, and tries every way around the trigger.
"""

import os

import psycopg
import pytest
from django.db import connection

from accounts.audit.records import audit_record
from accounts.db_roles import app_role_grants
from accounts.models import AuditAction, AuditEvent, TrackedAccount

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL roles and grants"
    ),
]
TABLE = "accounts_auditevent"
TRIGGER = "accounts_auditevent_append_only"
REFUSED = [
    f"ALTER TABLE {TABLE} DISABLE TRIGGER {TRIGGER}",
    f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
    f"DROP TRIGGER {TRIGGER} ON {TABLE}",
    "CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger"
    " LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$",
    "SET session_replication_role = replica",  # would skip every trigger
    f"UPDATE {TABLE} SET result = 'forged'",
    f"DELETE FROM {TABLE}",
    f"TRUNCATE {TABLE}",
    f"ALTER TABLE {TABLE} OWNER TO CURRENT_USER",
]


@pytest.fixture
def app_role():
    """A login role granted exactly what the documented grants give; dropped after."""
    role = f"imadmin_app_test_{os.getpid()}"
    with connection.cursor() as cursor:
        cursor.execute(f'DROP ROLE IF EXISTS "{role}"')
        cursor.execute(f'CREATE ROLE "{role}" LOGIN')
        for statement in app_role_grants(role):
            cursor.execute(statement)
    settings = connection.settings_dict
    app = psycopg.connect(
        host=settings["HOST"] or "127.0.0.1",
        port=settings["PORT"] or 5432,
        dbname=settings["NAME"],
        user=role,
        autocommit=True,
    )
    try:
        yield app
    finally:
        app.close()
        with connection.cursor() as cursor:
            cursor.execute(f'DROP OWNED BY "{role}"')
            cursor.execute(f'DROP ROLE "{role}"')


def test_the_app_role_can_do_its_work(app_role):
    TrackedAccount.objects.create(user_id="kept")
    app_role.execute(
        f"INSERT INTO {TABLE} (at, actor_name, action, object_type, object_id,"
        " user_id, result, details) VALUES (now(), 'app', 'export', '', '', '',"
        " 'ok', '{}')"
    )
    (count,) = app_role.execute(f"SELECT count(*) FROM {TABLE}").fetchone()
    assert count == 1
    app_role.execute("UPDATE accounts_trackedaccount SET nick = 'n'")
    app_role.execute("DELETE FROM accounts_trackedaccount")
    assert not TrackedAccount.objects.exists()


@pytest.mark.parametrize("statement", REFUSED)
def test_the_app_role_cannot_get_around_the_trigger(app_role, statement):
    entry = audit_record(action=AuditAction.EXPORT, details={"format": "csv"})
    with pytest.raises(psycopg.errors.InsufficientPrivilege) as refused:
        app_role.execute(statement)
    # Refused for want of the privilege, not by the trigger it would disable.
    assert "append-only" not in str(refused.value)
    stored = AuditEvent.objects.get(pk=entry.pk)
    assert (stored.result, stored.details) == ("ok", {"format": "csv"})
    with connection.cursor() as cursor:
        cursor.execute("SELECT tgenabled FROM pg_trigger WHERE tgname = %s", [TRIGGER])
        assert cursor.fetchone() == ("O",)  # still there, still enabled


def test_the_app_role_may_only_clear_a_deleted_users_actor(app_role):
    entry = audit_record(action=AuditAction.EXPORT, details={"format": "csv"})
    app_role.execute(f"UPDATE {TABLE} SET actor_id = NULL WHERE id = {entry.pk}")
    with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only"):
        app_role.execute(f"UPDATE {TABLE} SET actor_id = 1 WHERE id = {entry.pk}")
