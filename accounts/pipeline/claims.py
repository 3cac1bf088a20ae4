"""Taking due items of a job under a lease; renewing, giving back, releasing leases.

A claim is one transaction: the items get a fresh token and a lease (they
stay ``queued``; their accounts are only read). Every later write about them
is conditional on that token, so a claim another worker took over after its
lease ran out changes nothing when it reports. Leases are renewed for as long
as a worker holds the units; a worker that dies stops renewing, and its items
are due again once their lease ends, an import's waiting for a settling check
first (IM may have applied a call it never answered).
"""

import secrets
import time

from django.conf import settings
from django.utils import timezone

from ..im.client import MAX_ITEMS_PER_CALL
from ..models import JobKind
from . import db, sql
from .policy import counts_attempt
from .units import Item, units_of


def lease_seconds():
    """How long a claim lasts unless renewed (IM_CLAIM_LEASE_SECONDS)."""
    return float(settings.IM_CLAIM_LEASE_SECONDS)


def claim(*, job_id, job_kind, units=1, probe=False, now=None):
    """Claim due items of a job for up to ``units`` calls; a list of Units.

    Empty when nothing is due, or the job is not queued or running. With
    ``probe``, a single unit is claimed and marked as the job's probe. Safe
    from any number of workers at once: no item is ever in two claims.
    """
    now = time.time() if now is None else now
    token = secrets.token_hex(8)
    lease_until = now + lease_seconds()
    limit = MAX_ITEMS_PER_CALL * (1 if probe else max(1, units))

    items = db.in_transaction(
        lambda: _claim_items(job_id, job_kind, token, lease_until, now, limit)
    )
    found = units_of(
        job_id=job_id,
        job_kind=job_kind,
        token=token,
        lease_until=lease_until,
        items=items,
        probe=probe,
    )
    if probe:
        # Only the first unit is the probe; the rest (rarely any) go back.
        give_back(found[1:])
        found = found[:1]
    return found


def _claim_items(job_id, job_kind, token, lease_until, now, limit):
    # An import's claim counts no attempt (its answer does); a check's or a
    # delete's counts one.
    rows = sql.items_claim(
        job_id=job_id,
        token=token,
        lease_until=lease_until,
        now=now,
        limit=limit,
        checks_count=0 if job_kind == JobKind.IMPORT else 1,
        updated=sql.stamp(timezone.now()),
    )
    return [
        Item(r[0], r[1], r[6], r[7], r[8], r[2], r[3], r[4], r[5]) for r in sorted(rows)
    ]


def renew(units, *, now=None):
    """Extend the leases of ``units`` (held by this worker); returns the new end.

    One statement for all of them. Raises db.StillLocked if the database stays
    locked; the units keep their old lease then.
    """
    now = time.time() if now is None else now
    lease_until = now + lease_seconds()
    held = {}
    for unit in units:
        held.setdefault(unit.token, []).extend(unit.item_ids)
    db.in_transaction(
        lambda: sql.items_lease_renew(held=held, lease_until=lease_until),
        patience=lease_seconds() / 4,
    )
    for unit in units:
        unit.lease_until = lease_until
    return lease_until


def give_back(units):
    """Return claimed units that were never sent: queued again, unspent."""
    if not units:
        return

    def work():
        now, updated = time.time(), sql.stamp(timezone.now())
        for unit in units:
            refund = -1 if counts_attempt(unit.job_kind, unit.api) else 0
            sql.items_move(
                ids=unit.item_ids,
                token=unit.token,
                state="queued",
                updated=updated,
                keep_error=True,
                next_attempt_at=now,
                attempts=refund,
            )

    db.in_transaction(work)


def next_due(job_id):
    """Unix time the next queued item of ``job_id`` is due, or None."""
    return db.retrying(lambda: sql.items_next_due(job_id))
