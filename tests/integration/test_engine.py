"""The send engine: what it costs while idle, its senders, the limiter, the records.

Transactional: the engines under test work in threads with their own
database connections.
"""

import math
import threading
import time
from collections import Counter
from datetime import datetime, timedelta

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.models import Schedule, Success, Task
from django_q.tasks import async_task

from accounts import conf, schedules, services
from accounts.im.client import ImClient
from accounts.im.usersig import UserSigCache
from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    ItemState,
    JobItem,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import claims, limiter, outcomes, policy, sending
from accounts.pipeline.engine import Engine

pytestmark = pytest.mark.django_db(transaction=True)


def start_import(count, prefix="e"):
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"{prefix}{i:06d}"} for i in range(count)),
        source=JobSource.COMMAND,
    )
    return job


def settled(job_id, deadline):
    """An engine's ``until``: the job is settled, or the deadline went by."""

    def check():
        if time.monotonic() > deadline:
            return True
        return ImportJob.objects.filter(pk=job_id, finished_at__isnull=False).exists()

    return check


@pytest.fixture
def engine_thread():
    """``engine_thread(engine, until=…)`` runs it in a thread; stopped at teardown."""
    started = []

    def start(engine, *, until=None, name="engine-under-test"):
        thread = threading.Thread(
            target=engine.run, kwargs={"until": until}, name=name, daemon=True
        )
        started.append((engine, thread))
        thread.start()
        return thread

    yield start
    for engine, _ in started:
        engine.stop()
    for _, thread in started:
        thread.join(30)


def wait_for(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


# -- idle ------------------------------------------------------------------------------


@pytest.fixture
def queries_by_thread(monkeypatch):
    """Every statement run through Django, from any thread: (thread name, time, sql)."""
    seen = []
    execute, executemany = CursorWrapper.execute, CursorWrapper.executemany

    def counted_execute(self, sql, params=None):
        seen.append((threading.current_thread().name, time.monotonic(), sql))
        return execute(self, sql, params)

    def counted_executemany(self, sql, param_list):
        seen.append((threading.current_thread().name, time.monotonic(), sql))
        return executemany(self, sql, param_list)

    monkeypatch.setattr(CursorWrapper, "execute", counted_execute)
    monkeypatch.setattr(CursorWrapper, "executemany", counted_executemany)
    return seen


def test_an_engine_with_nothing_due_issues_only_a_handful_of_queries(
    im_settings, sandbox, queries_by_thread, engine_thread
):
    job = start_import(250)
    due_at = time.time() + 6
    JobItem.objects.filter(job=job).update(next_attempt_at=due_at)
    engine = Engine(only_jobs=[job.pk])

    def engine_queries(until):
        return [
            sql
            for name, at, sql in queries_by_thread
            if name.startswith(("engine-under-test", "imadmin-sender")) and at < until
        ]

    started = time.monotonic()
    thread = engine_thread(engine)  # stopped from here: its own queries only
    time.sleep(4)
    idle = engine_queries(until=started + 4)
    kinds = Counter(" ".join(sql.split()[:4])[:60] for sql in idle)
    assert len(idle) <= 10, kinds
    assert not ApiCall.objects.exists()
    assert sandbox.stats()["apis"]["multiaccount_import"]["calls"] == 0
    # Once the items are due, the engine sends them without being woken.
    wait_for(settled(job.pk, math.inf), 30, "the job to be sent once due")
    engine.stop()
    thread.join(30)
    job.refresh_from_db()
    assert (job.status, job.succeeded) == (JobStatus.DONE, 250)
    first_call = ApiCall.objects.filter(job=job).order_by("created_at").first()
    assert first_call.created_at.timestamp() >= due_at
    assert first_call.created_at.timestamp() - due_at < 3


# -- senders ---------------------------------------------------------------------------


class RecordedClient(ImClient):
    """An ImClient that notes the thread that made it and whether it was closed."""

    def __init__(self, config):
        super().__init__(config)
        self.thread = threading.current_thread().name
        self.closed = False

    def close(self):
        self.closed = True
        super().close()


def test_each_sender_thread_has_its_own_client_and_http_session(
    im_settings, engine_thread
):
    made = []
    lock = threading.Lock()

    def factory():
        client = RecordedClient(conf.im_config())
        with lock:
            made.append(client)
        return client

    engine = Engine(senders=4, only_jobs=[-1], client_factory=factory)
    thread = engine_thread(engine)
    wait_for(lambda: len(made) >= 4, 10, "the senders to start")
    engine.stop()
    thread.join(30)
    assert not thread.is_alive()
    assert len(made) == 4
    assert len({client.thread for client in made}) == 4
    assert all(client.thread.startswith("imadmin-sender") for client in made)
    assert len({id(client._session) for client in made}) == 4
    assert all(client.closed for client in made)


# -- the limiter -----------------------------------------------------------------------


class MemorySchedule:
    """The shared schedule in memory: the Redis script's arithmetic, one clock."""

    def __init__(self, free_at=0.0):
        self.lock = threading.Lock()
        self.free_at = free_at
        self.counts = []

    def reserve(self, api, count, gap):
        with self.lock:
            now = time.monotonic()
            first = max(now, self.free_at)
            self.free_at = first + count * gap
            self.counts.append(count)
            return first - now

    def close(self):
        pass


def slots_handed_out(shared):
    """Wrap ``shared._slot`` to note every slot it hands out."""
    handed = []
    take = shared._slot

    def noted(api):
        slot = take(api)
        handed.append(slot)
        return slot

    shared._slot = noted
    return handed


def acquire_from_threads(shared, api, *, threads, total):
    left, lock, sent = [total], threading.Lock(), []

    def work():
        while True:
            with lock:
                if left[0] <= 0:
                    return
                left[0] -= 1
            shared.acquire(api)
            sent.append(time.monotonic())

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return sorted(sent)


def test_the_limiter_reserves_slots_in_blocks_spaced_a_step_apart():
    api, threads, total = "account_import", 8, 160
    store = MemorySchedule()
    shared = limiter.Limiter(store)
    handed = slots_handed_out(shared)
    sent = acquire_from_threads(shared, api, threads=threads, total=total)
    assert len(sent) == total
    step = limiter.step(api)
    gaps = [b - a for a, b in zip(sorted(handed), sorted(handed)[1:], strict=False)]
    # Each reservation converts the store's time to this clock: a few
    # microseconds of rounding between blocks.
    assert min(gaps) >= step - 1e-4, (min(gaps), step)
    limit = limiter.per_second(api)
    busiest = max(
        sum(1 for t in sent[i:] if t < start + 1.0) for i, start in enumerate(sent)
    )
    assert busiest <= limit
    # One round trip to the shared schedule hands out up to BLOCK slots.
    assert shared.reservations == len(store.counts)
    assert sum(store.counts) >= total
    assert shared.reservations <= 2 * math.ceil(total / limiter.BLOCK), store.counts


class LateOnce:
    """Stands in for the limiter's ``time``: its first sleep runs 50 ms over."""

    def __init__(self):
        self.overslept = False

    def sleep(self, seconds):
        extra = 0.0 if self.overslept else 0.05
        self.overslept = True
        time.sleep(seconds + extra)

    monotonic = staticmethod(time.monotonic)
    time = staticmethod(time.time)


def test_a_thread_that_wakes_late_gives_its_slot_up_and_takes_a_fresh_one(
    monkeypatch,
):
    api = "multiaccount_import"
    store = MemorySchedule(free_at=time.monotonic() + 0.02)
    shared = limiter.Limiter(store)
    handed = slots_handed_out(shared)
    monkeypatch.setattr(limiter, "time", LateOnce())
    lateness = shared.acquire(api)
    returned = time.monotonic()
    assert lateness <= limiter.LATE
    # The first slot went by while the thread slept; it was not used.
    assert len(handed) == 2 and shared.reservations == 2
    first, second = handed
    assert second >= first + limiter.step(api)
    assert returned - first > limiter.LATE
    assert 0 <= returned - second <= limiter.LATE + 0.005
    # Counted, for the benchmarks: one slot lost to a late wake-up, one used.
    assert shared.counts[api] == {"used": 1, "lost_late": 1}


# -- the records -----------------------------------------------------------------------


class FirstSigExpired(UserSigCache):
    """Hands out a UserSig that expired a minute ago, then real ones."""

    def __init__(self, config):
        super().__init__(config.sdkappid, config.secret_key, config.identifier)
        stale = UserSigCache(
            config.sdkappid, config.secret_key, config.identifier, ttl=-60
        )
        self._expired = stale.get()

    def get(self):
        expired, self._expired = self._expired, None
        return expired or super().get()


class StaleSigClient(ImClient):
    def __init__(self, config):
        super().__init__(config)
        self._sig = FirstSigExpired(config)


def test_both_requests_of_a_usersig_renewal_have_their_api_call_row(
    im_settings, sandbox
):
    job = start_import(1, prefix="sig")
    engine = Engine(
        senders=1,
        only_jobs=[job.pk],
        client_factory=lambda: StaleSigClient(conf.im_config()),
    )
    engine.run(until=settled(job.pk, time.monotonic() + 30))
    job.refresh_from_db()
    assert (job.status, job.succeeded) == (JobStatus.DONE, 1)
    calls = list(ApiCall.objects.filter(job=job).order_by("id"))
    assert [(c.api, c.error_code) for c in calls] == [
        ("multiaccount_import", 70001),
        ("multiaccount_import", 0),
    ]
    assert [c.user_ids for c in calls] == [["sig000000"], ["sig000000"]]
    assert sandbox.stats()["apis"]["multiaccount_import"]["calls"] == 2


def test_items_and_accounts_record_when_they_were_claimed_and_answered(
    im_settings, sandbox
):
    job = start_import(5, prefix="upd")
    long_ago = timezone.make_aware(datetime(2020, 1, 1))
    JobItem.objects.filter(job=job).update(updated_at=long_ago)
    TrackedAccount.objects.update(updated_at=long_ago)

    before_claim = timezone.now()
    (unit,) = claims.claim(job_id=job.pk, job_kind=job.kind)
    items = list(JobItem.objects.filter(job=job))
    assert len(items) == 5
    assert all(item.updated_at >= before_claim for item in items)

    before_answer = timezone.now()
    client = conf.im_client()
    try:
        answer = sending.send(client, unit, acquire=limiter.shared().acquire)
    finally:
        client.close()
    decision = policy.decide(unit, answer, max_attempts=settings.IM_MAX_ATTEMPTS)
    outcomes.record([(unit, answer, decision)])
    items = list(JobItem.objects.filter(job=job))
    assert {i.state for i in items} == {ItemState.SUCCEEDED}
    assert all(item.updated_at >= before_answer for item in items)
    accounts = list(TrackedAccount.objects.all())
    assert len(accounts) == 5
    assert {a.state for a in accounts} == {AccountState.IMPORTED}
    assert all(account.updated_at >= before_answer for account in accounts)
    assert all(
        account.updated_at - before_answer < timedelta(minutes=1)
        for account in accounts
    )


# -- what migrate readies --------------------------------------------------------------


def test_migrate_alone_creates_the_cache_table_and_the_maintenance_schedule(settings):
    database_cache = settings.CACHES["default"]["BACKEND"].endswith("DatabaseCache")
    tables = connection.introspection.table_names()
    # The test database was readied by migrate alone.
    if database_cache:
        assert "imadmin_cache" in tables
    schedule = Schedule.objects.get(name=schedules.MAINTENANCE_NAME)
    assert schedule.func == "accounts.tasks.maintenance"
    assert (schedule.schedule_type, schedule.repeats) == (Schedule.MINUTES, -1)
    assert schedule.minutes == settings.CHECK_INTERVAL_MINUTES

    # Again from nothing, with the database cache configured (as without Redis).
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "imadmin_cache",
        }
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS imadmin_cache")
    Schedule.objects.all().delete()
    assert "imadmin_cache" not in connection.introspection.table_names()
    try:
        call_command("migrate", interactive=False, verbosity=0)
        assert "imadmin_cache" in connection.introspection.table_names()
        assert Schedule.objects.filter(name=schedules.MAINTENANCE_NAME).count() == 1
        caches["default"].set("ready", "yes")
        assert caches["default"].get("ready") == "yes"
    finally:
        if not database_cache:  # leave the database as this stack's migrate made it
            with connection.cursor() as cursor:
                cursor.execute("DROP TABLE IF EXISTS imadmin_cache")


def test_django_q_is_set_to_keep_no_successful_task():
    assert settings.Q_CLUSTER["save_limit"] == -1


@pytest.mark.cluster
def test_a_real_cluster_keeps_no_row_of_a_successful_task(qcluster):
    qcluster(workers=1)  # one worker: the tasks run in the order they were queued
    async_task("accounts.tasks.engine_wake")
    # A failing task after it: failures are kept, so its row says the cluster
    # has run (and recorded) both.
    async_task("math.sqrt", -1)
    wait_for(
        lambda: Task.objects.filter(func="math.sqrt").exists(),
        60,
        "the cluster to run the tasks",
    )
    failed = Task.objects.get(func="math.sqrt")
    assert not failed.success
    assert not Task.objects.filter(func="accounts.tasks.engine_wake").exists()
    assert not Success.objects.exists()
    assert get_broker().queue_size() == 0  # both were taken off the queue
