"""The audit history is append-only, in the database too (PostgreSQL).

UPDATE, DELETE and TRUNCATE of accounts_auditevent raise, whoever sends them.
Two exceptions: an UPDATE that only clears actor_id (Django does that when the
user who acted is deleted; actor_name keeps the name), and TRUNCATE in a Django
test database (named test_...), whose test runner empties every table between
tests, unless the session sets imadmin.audit_truncate to 'refuse'.

A later migration that must rewrite the table drops and re-creates the triggers.
"""

from django.db import migrations

CREATE = r"""
CREATE OR REPLACE FUNCTION accounts_auditevent_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.actor_id IS NULL
       AND to_jsonb(NEW) - 'actor_id' = to_jsonb(OLD) - 'actor_id' THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit history is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE OR REPLACE FUNCTION accounts_auditevent_no_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF current_database() LIKE 'test\_%'
       AND current_setting('imadmin.audit_truncate', true) IS DISTINCT FROM 'refuse' THEN
        RETURN NULL;
    END IF;
    RAISE EXCEPTION 'the audit history is append-only: TRUNCATE refused'
        USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER accounts_auditevent_append_only
    BEFORE UPDATE OR DELETE ON accounts_auditevent
    FOR EACH ROW EXECUTE FUNCTION accounts_auditevent_append_only();

CREATE TRIGGER accounts_auditevent_no_truncate
    BEFORE TRUNCATE ON accounts_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION accounts_auditevent_no_truncate();
"""

DROP = """
DROP TRIGGER IF EXISTS accounts_auditevent_append_only ON accounts_auditevent;
DROP TRIGGER IF EXISTS accounts_auditevent_no_truncate ON accounts_auditevent;
DROP FUNCTION IF EXISTS accounts_auditevent_append_only();
DROP FUNCTION IF EXISTS accounts_auditevent_no_truncate();
"""


def create_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def drop_triggers(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_roles")]
    operations = [
        migrations.AlterModelOptions(
            name="auditevent",
            options={
                "base_manager_name": "objects",
                "ordering": ["-id"],
                "permissions": [
                    ("export_audit", "Can export the audit history and records")
                ],
            },
        ),
        migrations.RunPython(create_triggers, drop_triggers),
    ]
