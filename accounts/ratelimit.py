"""The one limiter every worker, process and host shares: a row per API in the database.

Each call reserves the next free slot (``next_at``) and waits for it, so calls
are spaced ``1 / (limit * IM_RATE_FRACTION)`` apart across all processes and
no burst follows an idle spell. Measured in shared/PLATFORM.md to hold its rate
exactly across 2 clusters x 4 workers.
"""

import time

from django.conf import settings
from django.db import transaction

from .im.client import RATE_LIMITS
from .models import RateSlot


def interval(api):
    """Seconds between two calls of ``api`` at the configured share of its limit."""
    return 1.0 / (RATE_LIMITS[api] * settings.IM_RATE_FRACTION)


def reserve(api, *, now=None):
    """Reserve the next slot for ``api``; return its unix time (may be past)."""
    try:
        return _reserve(api, now)
    except RateSlot.DoesNotExist:
        # The migration creates the rows; a flushed test database may not have them.
        RateSlot.objects.bulk_create([RateSlot(api=api)], ignore_conflicts=True)
        return _reserve(api, now)


def _reserve(api, now):
    step = interval(api)
    with transaction.atomic():
        slot = RateSlot.objects.select_for_update().get(api=api)
        now = time.time() if now is None else now
        at = max(now, slot.next_at)
        slot.next_at = at + step
        slot.save(update_fields=["next_at"])
    return at


def acquire(api):
    """Block until ``api`` may be called. Safe from any thread or process."""
    at = reserve(api)
    delay = at - time.time()
    if delay > 0:
        time.sleep(delay)
