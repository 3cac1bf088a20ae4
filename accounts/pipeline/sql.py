"""The raw statements of the send path, one typed function each, per database.

The ORM prepares every value of an ``id__in`` list one by one, which at 100
ids a statement and several statements a call was most of a worker's CPU.
Here ids go in as one value: inlined integers on SQLite (``int()`` of each,
so nothing else can get in), one ``bigint[]`` parameter on PostgreSQL. Every
other value is a parameter; callers pass values, never SQL.
"""

import json
import time
from datetime import UTC, datetime

from django.db import connection

from ..models import ApiCall, ImportJob, JobItem, TrackedAccount

ITEMS = JobItem._meta.db_table
ACCOUNTS = TrackedAccount._meta.db_table
JOBS = ImportJob._meta.db_table
CALLS = ApiCall._meta.db_table
CLAIMED_COLUMNS = (
    "id, account_id, attempts, solo, needs_check, error_code"  # of the item
)


def _postgres():
    return connection.vendor == "postgresql"


def ids_test(ids):
    """``(SQL, params)`` testing ``id`` against ``ids``: ``IN (…)`` or ``= ANY(…)``."""
    if _postgres():
        return "= ANY(%s::bigint[])", ["{" + ",".join(str(int(i)) for i in ids) + "}"]
    return "IN (" + ",".join(str(int(i)) for i in ids) + ")", []


def stamp(moment):
    """A datetime as this database stores it."""
    return connection.ops.adapt_datetimefield_value(moment)


def _rows(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _count(sql, params):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


# -- claims ------------------------------------------------------------------


def items_claim(*, job_id, token, lease_until, now, limit, checks_count, updated):
    """Take up to ``limit`` due items of ``job_id``; their claimed rows.

    A claim is a lease written on the item, not a change of its state: the
    item stays ``queued`` with ``claim_token`` and ``claimed_until`` set. No
    indexed column changes, so the write is cheap (a HOT update on
    PostgreSQL), and a lease that ran out needs no release: the item is due
    again as it stands. Such an item was sent once and never answered, so for
    an import (``checks_count`` 0) it waits for a settling check
    (``needs_check``); otherwise a claim counts one attempt.

    Due means queued, ``next_attempt_at <= now`` and no live lease; items are
    taken in that order, then by id, the order of item_claim_idx. Only items
    of a queued or running job are taken. On PostgreSQL the rows are locked
    with SKIP LOCKED, so concurrent claimers take different rows without
    waiting on each other; SQLite's write lock serialises them. Returns
    ``(id, account_id, attempts, solo, needs_check, error_code, user_id, nick,
    face_url)`` rows, the last three from the item's account.
    """
    chosen = [job_id, now, now, job_id, limit]
    expire_checks = checks_count == 0  # an import: an unanswered send is checked
    changed = [token, lease_until, expire_checks, expire_checks, checks_count, updated]
    if _postgres():
        return _claim_with_accounts(chosen, changed)
    rows = _rows(
        f"UPDATE {ITEMS} SET {_claim_changes('')} WHERE id IN ({_DUE})"
        f" RETURNING {CLAIMED_COLUMNS}",
        [*changed, *chosen],
    )
    if not rows:
        return []
    accounts = accounts_for_claim([row[1] for row in rows])
    return [(*row, *accounts[row[1]]) for row in rows]


# The due items of a job (parameters: job, now, now, job, limit), in the order
# of item_claim_idx, while the job is queued or running.
_DUE = (
    f"SELECT id FROM {ITEMS} WHERE job_id = %s AND state = 'queued'"
    " AND next_attempt_at <= %s"
    " AND (claimed_until IS NULL OR claimed_until < %s)"
    f" AND EXISTS (SELECT 1 FROM {JOBS} j WHERE j.id = %s"
    " AND j.status IN ('queued', 'running'))"
    " ORDER BY next_attempt_at, id LIMIT %s"
)


def _claim_with_accounts(chosen, changed):
    # The accounts come in the same statement: a separate lookup of a few
    # hundred ids was planned as a scan of the whole accounts table.
    returned = ", ".join(f"i.{c}" for c in CLAIMED_COLUMNS.split(", "))
    return _rows(
        f"WITH due AS ({_DUE} FOR UPDATE SKIP LOCKED)"
        f" UPDATE {ITEMS} AS i SET {_claim_changes('i.')}"
        f" FROM due, {ACCOUNTS} AS a WHERE i.id = due.id AND a.id = i.account_id"
        f" RETURNING {returned}, a.user_id, a.nick, a.face_url",
        [*chosen, *changed],
    )


def _claim_changes(alias):
    # Every expression sees the row as it was: a ``claimed_until`` already set
    # is an earlier lease that ran out unanswered.
    checking = f"({alias}needs_check OR ({alias}claimed_until IS NOT NULL AND %s))"
    return (
        "claim_token = %s, claimed_until = %s,"
        f" needs_check = {checking},"
        f" attempts = {alias}attempts + CASE WHEN {checking} THEN %s ELSE 1 END,"
        " updated_at = %s"
    )


def accounts_for_claim(account_ids):
    """``{account id: (user_id, nick, face_url)}`` of claimed items' accounts.

    Only read: an account stays queued while its call is in flight (marking
    it at each claim was a second write of every account, with all its
    indexes, for a state that lasts a fraction of a second).
    """
    test, params = ids_test(account_ids)
    rows = _rows(
        f"SELECT id, user_id, nick, face_url FROM {ACCOUNTS} WHERE id {test}", params
    )
    return {row[0]: row[1:] for row in rows}


def items_lease_renew(*, held, lease_until):
    """Extend the leases of claimed items; ``held`` maps claim tokens to item ids.

    Found by id (an index), only where the token still matches. Returns the
    row count.
    """
    renewed = 0
    for token, ids in held.items():
        test, params = ids_test(ids)
        renewed += _count(
            f"UPDATE {ITEMS} SET claimed_until = %s WHERE id {test}"
            " AND claim_token = %s AND state = 'queued'",
            [lease_until, *params, token],
        )
    return renewed


def items_next_due(job_id):
    """Unix time the next queued item of ``job_id`` is due, or None.

    Leased items count too (a lease's end is not looked at): close enough for
    a sleep, and one index read.
    """
    rows = _rows(
        f"SELECT next_attempt_at FROM {ITEMS} WHERE job_id = %s AND state = 'queued'"
        " ORDER BY next_attempt_at LIMIT 1",
        [job_id],
    )
    return rows[0][0] if rows else None


# -- outcomes ---------------------------------------------------------------


_MOVABLE = ("next_attempt_at", "needs_check", "solo")


def items_move(*, ids, token, state, updated, attempts=0, keep_error=False, **changes):
    """Move the items this claim (``token``) still holds; their account ids.

    An answer that comes after its lease ran out still counts, unless another
    claim took the item meanwhile (its token then differs): those are left
    alone. ``state`` is the new ItemState. The item's error becomes ``code``
    and ``message`` unless ``keep_error``; ``attempts`` is added to its count;
    ``next_attempt_at`` (when a queued item is due), ``needs_check`` and
    ``solo`` are set unless None.
    """
    code, message = changes.pop("code", None), changes.pop("message", "")
    if set(changes) - set(_MOVABLE):
        raise TypeError(f"items_move: unknown {sorted(set(changes) - set(_MOVABLE))}")
    columns = {"state": state, "claimed_until": None, "updated_at": updated}
    if not keep_error:
        columns.update(error_code=code, error_message=message[:500])
    columns.update({k: v for k, v in changes.items() if v is not None})
    sets = [f"{column} = %s" for column in columns]
    params = list(columns.values())
    if attempts:
        sets.append("attempts = attempts + %s")
        params.append(attempts)
    test, id_params = ids_test(ids)
    rows = _rows(
        f"UPDATE {ITEMS} SET {', '.join(sets)} WHERE id {test}"
        " AND claim_token = %s AND state = 'queued' AND claimed_until IS NOT NULL"
        " RETURNING account_id",
        [*params, *id_params, token],
    )
    return [row[0] for row in rows]


def items_succeed(*, pairs, updated):
    """Mark succeeded the items claims still hold; ``(job_id, account_id)`` rows.

    ``pairs`` holds ``(token, item ids)`` of many claims: on PostgreSQL one
    statement for all of them (each statement is parsed and planned anew, and
    a flush of several calls made that most of its cost), on SQLite one each.
    """
    done = "state = 'succeeded', claimed_until = NULL, error_code = NULL,"
    done += " error_message = '', updated_at = %s"
    if _postgres():
        ids = [int(i) for _, part in pairs for i in part]
        tokens = [_token(t) for t, part in pairs for _ in part]
        return _rows(
            f"UPDATE {ITEMS} AS i SET {done}"
            " FROM unnest(%s::bigint[], %s::text[]) AS v(id, token)"
            " WHERE i.id = v.id AND i.claim_token = v.token"
            " AND i.state = 'queued' AND i.claimed_until IS NOT NULL"
            " RETURNING i.job_id, i.account_id",
            [
                updated,
                "{" + ",".join(map(str, ids)) + "}",
                "{" + ",".join(tokens) + "}",
            ],
        )
    rows = []
    for token, part in pairs:
        test, params = ids_test(part)
        rows += _rows(
            f"UPDATE {ITEMS} SET {done} WHERE id {test}"
            " AND claim_token = %s AND state = 'queued' AND claimed_until IS NOT NULL"
            " RETURNING job_id, account_id",
            [updated, *params, token],
        )
    return rows


def _token(token):
    """A claim token, checked to be what ``secrets.token_hex`` makes (so it can
    be written into an array literal as it is)."""
    if not token.isalnum() or not token.isascii():
        raise ValueError(f"not a claim token: {token!r}")
    return token


# What an account's row may be given by an outcome: field name -> column.
ACCOUNT_COLUMNS = {
    "state": "state",
    "imported_at": "imported_at",
    "remote_status": "remote_status",
    "checked_at": "checked_at",
    "last_error_code": "last_error_code",
    "last_error": "last_error",
}


def accounts_update(*, ids, updated, attempts=0, **values):
    """Set ``values`` (keys of ACCOUNT_COLUMNS) on the accounts ``ids``; row count."""
    if not ids:
        return 0
    sets, params = ["updated_at = %s"], [stamp(updated)]
    for name, value in values.items():
        sets.append(f"{ACCOUNT_COLUMNS[name]} = %s")
        params.append(stamp(value) if isinstance(value, datetime) else value)
    if attempts:
        sets.append("attempts = attempts + %s")
        params.append(attempts)
    test, id_params = ids_test(ids)
    return _count(
        f"UPDATE {ACCOUNTS} SET {', '.join(sets)} WHERE id {test}",
        [*params, *id_params],
    )


def accounts_imported_if_uncertain(*, ids, now):
    """Mark imported the accounts among ``ids`` whose import was in doubt.

    For a check job's answer "Imported": failed, pending or importing accounts
    that no live claim holds (no call in flight). Returns the row count.
    """
    if not ids:
        return 0
    test, params = ids_test(ids)
    moment = stamp(now)
    return _count(
        f"UPDATE {ACCOUNTS} SET state = 'imported', imported_at = %s,"
        " last_error_code = NULL, last_error = '', updated_at = %s"
        f" WHERE id {test} AND state IN ('failed', 'importing', 'pending')"
        f" AND NOT EXISTS (SELECT 1 FROM {ITEMS} i WHERE i.account_id = "
        f"{ACCOUNTS}.id AND i.state = 'queued' AND i.claimed_until >= %s)",
        [moment, moment, *params, time.time()],
    )


JOB_COUNTS = (
    "total, succeeded + failed + invalid + cancelled, status, options,"
    " failed + invalid, finished_at"
)


def job_counts(job_id):
    """The job's ``job_counts_add`` row as it stands, or None if it is gone."""
    rows = _rows(f"SELECT {JOB_COUNTS} FROM {JOBS} WHERE id = %s", [job_id])
    return rows[0] if rows else None


def job_counts_add(*, job_id, succeeded=0, failed=0, invalid=0, cancelled=0):
    """Add to a job's counters; the row afterwards, or None if the job is gone.

    ``(total, done, status, options, failed + invalid, finished_at)``.
    """
    rows = _rows(
        f"UPDATE {JOBS} SET succeeded = succeeded + %s, failed = failed + %s,"
        " invalid = invalid + %s, cancelled = cancelled + %s WHERE id = %s"
        f" RETURNING {JOB_COUNTS}",
        [succeeded, failed, invalid, cancelled, job_id],
    )
    return rows[0] if rows else None


CALL_FIELDS = (
    "job_id",
    "api",
    "account_count",
    "user_ids",
    "http_status",
    "error_code",
    "error_info",
    "fail_accounts",
    "duration_ms",
    "attempt",
    "created_at",
)


JSON_FIELDS = ("user_ids", "fail_accounts")


def calls_insert(rows):
    """Insert ApiCall rows: ``(job_id, CallRecord, attempt)`` tuples."""
    if not rows:
        return
    values = []
    for job_id, call, attempt in rows:
        started = datetime.fromtimestamp(call.started_at or 0, tz=UTC)
        values.append(
            (
                job_id,
                call.api,
                len(call.user_ids),
                json.dumps(call.user_ids, ensure_ascii=False),
                call.http_status,
                call.error_code,
                (call.error_info or "")[:500],
                json.dumps(call.fail_accounts, ensure_ascii=False),
                round(call.duration_ms, 2),
                attempt,
                stamp(started),
            )
        )
    # The two JSON columns are jsonb on PostgreSQL, text on SQLite.
    json_value = "%s::jsonb" if _postgres() else "%s"
    marks = [json_value if name in JSON_FIELDS else "%s" for name in CALL_FIELDS]
    mark = "(" + ", ".join(marks) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(values), 50):
            part = values[start : start + 50]
            cursor.execute(
                f"INSERT INTO {CALLS} ({', '.join(CALL_FIELDS)})"
                f" VALUES {', '.join([mark] * len(part))}",
                [value for row in part for value in row],
            )
