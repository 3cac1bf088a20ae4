"""Plain SQL for the hot paths, without the ORM's per-value cost.

Django prepares each value of an ``id__in`` list one by one; at 100 ids a
statement and several statements a batch, that was most of a worker's CPU time
(measured: 0.8 ms per ORM update against 0.16 ms raw). The ids are our own
integers, so they are inlined; every other value (UserIDs above all: they come
from users) is a parameter.
"""

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


def update_by_ids(model, ids, changes, *, where="", params=()):
    """Set ``changes`` (field name → value or INCREMENT) on rows whose id is in ``ids``.

    ``where`` adds SQL conditions (``AND …``) with ``params``. Returns the row count.
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
    sql = (
        f"UPDATE {table(model)} SET {', '.join(sets)}"
        f" WHERE id IN ({id_list(ids)}) {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        return cursor.rowcount


def insert_rows(model, fields, rows, *, return_ids=False):
    """INSERT ``rows`` (value tuples) of ``fields`` (field names), many a statement.

    Django's bulk_create prepares every value of every field through the model
    (measured ~170 µs a row); imports of a million rows need plain SQL. A
    multi-row VALUES list is also twice as fast as executemany on SQLite; on
    PostgreSQL one array a column (``unnest``) spares psycopg parsing thousands
    of placeholders. Values must already be database-ready, except those of
    DateTimeFields: each distinct datetime there is adapted once per call (a
    chunk usually shares one timestamp; adapting every value was 30% of an
    import's time).

    With ``return_ids``, returns the new rows' ids (in no particular order),
    or None on a database without INSERT … RETURNING (SQLite before 3.35).
    """
    meta = model._meta
    stamps = [
        index
        for index, name in enumerate(fields)
        if isinstance(meta.get_field(name), models.DateTimeField)
    ]
    rows = _adapt_columns(rows, stamps) if stamps else list(rows)
    returning = return_ids and connection.features.can_return_rows_from_bulk_insert
    tail = " RETURNING id" if returning else ""
    head = f"INSERT INTO {table(model)} ({columns(model, fields)})"
    if connection.vendor == "postgresql":
        arrays = ", ".join(
            f"%s::{meta.get_field(name).db_type(connection)}[]" for name in fields
        )
        statements = [(f"{head} SELECT * FROM unnest({arrays}){tail}", rows, True)]
    else:
        size = max(1, min(500, max_params() // len(fields)))
        mark = f"({', '.join(['%s'] * len(fields))})"
        statements = [
            (f"{head} VALUES {', '.join([mark] * len(part))}{tail}", part, False)
            for part in (rows[i : i + size] for i in range(0, len(rows), size))
        ]
    ids = []
    with connection.cursor() as cursor:
        for sql, part, by_column in statements:
            if by_column:
                params = [list(values) for values in zip(*part, strict=True)]
            else:
                params = [value for row in part for value in row]
            cursor.execute(sql, params)
            if returning:
                ids += [row[0] for row in cursor.fetchall()]
    return ids if returning else None


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


def select_in(sql, values, *, size=500):
    """Rows of ``sql`` for ``values``, where ``{in_values}`` in it stands for the test.

    E.g. ``SELECT id FROM t WHERE user_id {in_values}``. Each value is a
    parameter, never inlined: ``IN (%s, …)`` for ``size`` values at a time, or
    on PostgreSQL ``= ANY(%s)`` with all of them as one array. Cheaper than
    ``field__in`` in the ORM, which prepares every value through the field
    (measured ~10 µs a value).
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql.format(in_values="= ANY(%s)"), [list(values)])
            return cursor.fetchall()
    found = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), size):
            part = values[start : start + size]
            test = f"IN ({', '.join(['%s'] * len(part))})"
            cursor.execute(sql.format(in_values=test), part)
            found += cursor.fetchall()
    return found
