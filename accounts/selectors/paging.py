"""Keyset pages: newest first by id, as fast on page 700 as on page 1."""

from dataclasses import dataclass
from datetime import datetime
from datetime import time as datetime_time

from django.utils import timezone

PAGE_SIZE = 50
EXPORT_CHUNK = 2000  # rows a round trip when a whole list is read
PREFIX_END = "\uffff"  # sorts after every character a UserID may hold


@dataclass
class Page:
    """One page of a keyset-paginated list: rows, and cursors to its neighbours."""

    rows: list
    older: object = None  # pass as ``after`` for the next page
    newer: object = None  # pass as ``before`` for the previous page
    capped: bool = False  # more matched than one page shows, and none follows


def keyset_page(
    queryset, *, key="id", descending=True, after=None, before=None, size=PAGE_SIZE
):
    """A page of ``queryset`` ordered by the unique ``key``, without any COUNT.

    ``after`` continues past a key in display order; ``before`` goes back. Each
    page is one index range read of ``size + 1`` rows, however deep it is.
    """
    forward, back = ("lt", "gt") if descending else ("gt", "lt")
    order = f"-{key}" if descending else key
    reverse = key if descending else f"-{key}"
    if before is not None:
        rows = list(
            queryset.filter(**{f"{key}__{back}": before}).order_by(reverse)[: size + 1]
        )
        more_newer = len(rows) > size
        rows = rows[:size][::-1]
        return Page(
            rows,
            older=_key(rows[-1], key) if rows else before,
            newer=_key(rows[0], key) if more_newer else None,
        )
    if after is not None:
        queryset = queryset.filter(**{f"{key}__{forward}": after})
    rows = list(queryset.order_by(order)[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    return Page(
        rows,
        older=_key(rows[-1], key) if more_older else None,
        newer=_key(rows[0], key) if after is not None and rows else None,
    )


def _key(row, key):
    return row[key] if isinstance(row, dict) else getattr(row, key)


# (group, column, its values, the common value counted as the total less the rest)


def day_start(day):
    """The first moment of the calendar ``day`` in the current time zone."""
    return timezone.make_aware(datetime.combine(day, datetime_time.min))
