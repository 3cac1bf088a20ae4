"""Plain SQL for the hot paths, without the ORM's per-value cost.

Django prepares each value of an ``id__in`` list one by one; at 100 ids a
statement and several statements a batch, that was most of a worker's CPU time
(measured: 0.8 ms per ORM update against 0.16 ms raw). The ids are our own
integers, so they are inlined; every other value (UserIDs above all: they come
from users) is a parameter; on PostgreSQL many values go as one JSON document
parameter, which psycopg sends far faster than a list.
"""

import json
from datetime import datetime

from django.db import connection, models


class Increment:
    """A column's value plus one."""


INCREMENT = Increment()


def _adapt(value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def id_list(ids):
    return ",".join(str(int(i)) for i in ids)


def table(model):
    """The model's table name, quoted for this database."""
    return connection.ops.quote_name(model._meta.db_table)


def columns(model, fields):
    """Quoted column names of ``fields`` (field names), comma-separated."""
    quote, meta = connection.ops.quote_name, model._meta
    return ", ".join(quote(meta.get_field(name).column) for name in fields)


def update_by_ids(model, ids, changes):
    """Set ``changes`` (field name → value or INCREMENT) on rows whose id is in ``ids``.

    ``ids`` are ints (inlined after a check); values are parameters. Returns
    the row count.
    """
    if not ids:
        return 0
    meta, quote = model._meta, connection.ops.quote_name
    sets, values = [], []
    for name, value in changes.items():
        column = quote(meta.get_field(name).column)
        if value is INCREMENT:
            sets.append(f"{column} = {column} + 1")
        else:
            sets.append(f"{column} = %s")
            values.append(_adapt(value))
    sql = f"UPDATE {table(model)} SET {', '.join(sets)} WHERE id IN ({id_list(ids)})"
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        return cursor.rowcount


def insert_rows(model, fields, rows, *, returning=(), skip_conflicts=False):
    """INSERT ``rows`` (value tuples) of ``fields`` (field names), many a statement.

    Django's bulk_create prepares every value of every field through the model
    (measured ~170 µs a row); imports of a million rows need plain SQL. A
    multi-row VALUES list is also twice as fast as executemany on SQLite; on
    PostgreSQL all rows go as one JSON parameter. Values must already be
    database-ready, except those of DateTimeFields: each distinct datetime
    there is adapted once per call (a chunk usually shares one timestamp;
    adapting every value was 30% of an import's time).

    Returns the ``returning`` columns (field names) of the rows inserted, as
    tuples, in no particular order (INSERT … RETURNING: SQLite 3.35 or later).
    With ``skip_conflicts``, a row that would break a unique constraint is
    left out (ON CONFLICT DO NOTHING), and from what is returned.
    """
    meta = model._meta
    stamps = [
        index
        for index, name in enumerate(fields)
        if isinstance(meta.get_field(name), models.DateTimeField)
    ]
    tail = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    if returning:
        tail += f" RETURNING {columns(model, returning)}"
    head = f"INSERT INTO {table(model)} ({columns(model, fields)})"
    insert = _insert_json if connection.vendor == "postgresql" else _insert_values
    return insert(head, tail, meta, fields, rows, stamps, bool(returning))


def _insert_json(head, tail, meta, fields, rows, stamps, returning):
    # The rows as one JSON document: json.dumps is C and the server parses
    # it fast, where psycopg dumps Python lists value by value (measured:
    # a third of a 2,000-row chunk's time).
    casts = ", ".join(
        f"(r->>{n})::{meta.get_field(name).db_type(connection)}"
        for n, name in enumerate(fields)
    )
    sql = f"{head} SELECT {casts} FROM json_array_elements(%s::json) r{tail}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [_json_rows(rows, stamps)])
        return cursor.fetchall() if returning else []


def _insert_values(head, tail, meta, fields, rows, stamps, returning):
    # A multi-row VALUES list per statement, under SQLite's parameter cap.
    rows = _adapt_columns(rows, stamps) if stamps else list(rows)
    size = max(1, min(500, max_params() // len(fields)))
    mark = f"({', '.join(['%s'] * len(fields))})"
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            part = rows[start : start + size]
            cursor.execute(
                f"{head} VALUES {', '.join([mark] * len(part))}{tail}",
                [value for row in part for value in row],
            )
            if returning:
                found += cursor.fetchall()
    return found


def _json_rows(rows, stamps):
    """``rows`` as a JSON array of arrays, datetimes in ISO 8601."""
    texts = {}

    def text(value):
        if value not in texts:
            texts[value] = None if value is None else value.isoformat()
        return texts[value]

    if stamps:
        rows = (
            [text(v) if n in stamps else v for n, v in enumerate(row)] for row in rows
        )
    return json.dumps(list(rows), ensure_ascii=False)


def _adapt_columns(rows, indexes):
    adapted, result = {}, []
    for row in rows:
        row = list(row)
        for index in indexes:
            value = row[index]
            if value not in adapted:
                adapted[value] = _adapt(value)
            row[index] = adapted[value]
        result.append(row)
    return result


def max_params():
    """How many parameters one statement may hold on this database."""
    if connection.vendor == "sqlite":
        # Django says 999, the limit of SQLite before 3.32; ask the library.
        import sqlite3

        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    return connection.features.max_query_params or 65535


def select_in(model, fields, *, key, values, size=500):
    """Rows of ``fields`` (field names) of ``model`` whose ``key`` is in ``values``.

    Each value is a parameter, never inlined: ``IN (%s, …)`` for ``size``
    values at a time, or on PostgreSQL ``= ANY(…)`` with all of them as one
    JSON array parameter. Cheaper than ``field__in`` in the ORM, which
    prepares every value through the field (measured ~10 µs a value).
    """
    head = (
        f"SELECT {columns(model, fields)} FROM {table(model)}"
        f" WHERE {columns(model, [key])} "
    )
    if connection.vendor == "postgresql":
        # One JSON array: far cheaper for psycopg to send than a list (see
        # insert_rows), and still a single parameter.
        test = "= ANY(ARRAY(SELECT json_array_elements_text(%s::json)))"
        with connection.cursor() as cursor:
            cursor.execute(head + test, [json.dumps(list(values))])
            return cursor.fetchall()
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            part = values[start : start + size]
            cursor.execute(head + f"IN ({', '.join(['%s'] * len(part))})", part)
            found += cursor.fetchall()
    return found
