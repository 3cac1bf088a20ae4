"""The PostgreSQL grants that keep the audit history append-only for the app itself.

The trigger of migration 0004 refuses UPDATE, DELETE and TRUNCATE of the
audit table, but a table's owner may disable or drop its triggers. So the
tables belong to an owner role that only migrations use, and the application
connects as a role that owns nothing: it may read and write every table
except the audit table, where it may only read, append, and clear ``actor_id``
(what deleting a user does; the trigger allows that one change and nothing
else). Run these as the owner, after every ``migrate``; running them twice
changes nothing.
"""

from psycopg import sql

AUDIT_TABLE = "accounts_auditevent"


def app_role_grants(role, *, schema="public"):
    """The statements (text) granting ``role`` what the application needs."""
    names = {"role": sql.Identifier(role), "schema": sql.Identifier(schema)}
    names["audit"] = sql.Identifier(AUDIT_TABLE)
    statements = [
        "GRANT USAGE ON SCHEMA {schema} TO {role}",
        "GRANT SELECT, INSERT, UPDATE, DELETE"
        " ON ALL TABLES IN SCHEMA {schema} TO {role}",
        "GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {schema} TO {role}",
        # Tables and sequences later migrations create, as the owner runs them.
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
        " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {role}",
        "ALTER DEFAULT PRIVILEGES IN SCHEMA {schema}"
        " GRANT USAGE, SELECT ON SEQUENCES TO {role}",
        # The audit history: read and append; of updates, only clearing actor_id.
        "REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER"
        " ON {schema}.{audit} FROM {role}",
        "GRANT UPDATE (actor_id) ON {schema}.{audit} TO {role}",
    ]
    return [sql.SQL(s).format(**names).as_string() + ";" for s in statements]
