"""The per-token request limit: a count per fixed window in Django's cache.

The cache is Redis on the scale-out stack and the database cache otherwise,
so every web process counts into the same key.
"""

import math
import time

from django.conf import settings
from django.core.cache import cache


def retry_after(token, *, now=None):
    """Count this request; None if allowed, else seconds until the next window."""
    limit = settings.API_RATE_LIMIT
    if limit <= 0:
        return None
    window = max(settings.API_RATE_WINDOW_SECONDS, 1)
    now = time.time() if now is None else now
    bucket = int(now // window)
    key = f"api-rate:{token.prefix}:{bucket}"
    # add() creates the counter only if missing; incr() is atomic on Redis.
    cache.add(key, 0, timeout=window * 2)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls: this is its first request
        cache.add(key, 1, timeout=window * 2)
        count = 1
    if count <= limit:
        return None
    return max(1, math.ceil((bucket + 1) * window - now))
