"""What ``/readyz`` checks: the database, the broker, a worker cluster, IM.

Each check answers a ``Check`` with its name, whether it passed and one
sentence for the person reading the answer; none raises. The broker is asked
with short timeouts of its own, and the workers and IM only after the
database and broker answered, so a dead dependency costs seconds, not the
minutes of a TCP connect timeout.
"""

import dataclasses
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection

from accounts import conf
from accounts.im import errors
from accounts.im.client import ImClient

BROKER_TIMEOUT = 2.0  # seconds for Redis to answer a PING


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


def readiness():
    """Every check, in order; a later one is failed unseen when it depends on
    an earlier one that failed (the workers report through the broker)."""
    database = database_check()
    broker = broker_check() if database.ok else _skipped("broker", database)
    workers = workers_check() if broker.ok else _skipped("workers", broker)
    return [database, broker, workers, im_check()]


def _skipped(name, cause):
    return Check(name, False, f"not checked: the {cause.name} check failed")


def database_check():
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError as exc:
        return Check("database", False, f"the database does not answer: {exc}")
    return Check("database", True, f"{connection.vendor} answers")


def broker_check():
    if not settings.REDIS_URL:
        return Check("broker", True, "the database is the broker (django-q2 ORM)")
    import redis

    client = redis.Redis.from_url(
        settings.REDIS_URL,
        socket_timeout=BROKER_TIMEOUT,
        socket_connect_timeout=BROKER_TIMEOUT,
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        return Check("broker", False, f"Redis does not answer: {exc}")
    finally:
        client.close()
    return Check("broker", True, "Redis answers")


def workers_check():
    from django_q.status import Stat

    try:
        alive = [s for s in Stat.get_all() if s.status != "Stopped"]
    except Exception as exc:  # the broker's or cache's own errors, whatever they are
        return Check("workers", False, f"cluster status unreadable: {exc}")
    if not alive:
        return Check(
            "workers", False, "no worker cluster reported in the last 3 seconds"
        )
    hosts = sorted({s.host for s in alive})
    return Check(
        "workers", True, f"{len(alive)} cluster(s) alive on {', '.join(hosts)}"
    )


def im_check():
    """One account_check of the admin identifier, with READYZ_IM_TIMEOUT."""
    try:
        config = dataclasses.replace(
            conf.im_config(),
            connect_timeout=settings.READYZ_IM_TIMEOUT,
            read_timeout=settings.READYZ_IM_TIMEOUT,
        )
    except ImproperlyConfigured as exc:
        return Check("im", False, f"IM is not configured: {exc}")
    client = ImClient(config)
    try:
        client.account_check([settings.IM_ADMIN_IDENTIFIER])
    except errors.ImError as exc:
        sentence = exc.sentence or exc.info
        return Check("im", False, f"IM answered error {exc.code}: {sentence}")
    finally:
        client.close()
    return Check("im", True, f"IM answers with valid credentials ({conf.base_url()})")
