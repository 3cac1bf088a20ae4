"""UPDATE … WHERE id IN (…) for the batch hot path, without the ORM's per-value cost.

Django prepares each value of an ``id__in`` list one by one; at 100 ids a
statement and several statements a batch, that was most of a worker's CPU time
(measured: 0.8 ms per ORM update against 0.16 ms raw). The ids are our own
integers, so they are inlined; every other value is a parameter.
"""

from datetime import datetime

from django.db import connection


class Increment:
    """A column's value plus one."""


INCREMENT = Increment()


def _adapt(value):
    if isinstance(value, datetime):
        return connection.ops.adapt_datetimefield_value(value)
    return value


def id_list(ids):
    return ",".join(str(int(i)) for i in ids)


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
        f"UPDATE {quote(meta.db_table)} SET {', '.join(sets)}"
        f" WHERE id IN ({id_list(ids)}) {where}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*values, *params])
        return cursor.rowcount


def insert_rows(model, fields, rows):
    """INSERT many rows of ``fields`` (field names) at once; ``rows`` are value tuples.

    Django's bulk_create prepares every value of every field through the model
    (measured ~170 µs a row); imports of a million rows need a plain executemany.
    Values must already be database-ready except datetimes.
    """
    meta, quote = model._meta, connection.ops.quote_name
    columns = ", ".join(quote(meta.get_field(name).column) for name in fields)
    marks = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({marks})"
    with connection.cursor() as cursor:
        cursor.executemany(sql, [[_adapt(v) for v in row] for row in rows])
