"""Notifications and scheduled imports with real qcluster workers and loopback peers.

The workers send the webhooks (never the engine), so receivers that fail or
hang change nothing of a job's own timing; django-q2's own scheduler runs a
scheduled import, twice, and the second run sends only what changed.
"""

import json
import time

import pytest
from django.db import connection
from django.utils import timezone
from django_q.models import Schedule

from accounts import services
from accounts.models import (
    ApiCall,
    DeliveryState,
    JobSource,
    JobStatus,
    ScheduledImport,
    WebhookDelivery,
)
from accounts.notifications import services as notifications
from accounts.scheduled import services as scheduled
from accounts.selectors import job_wait
from tests.cluster.test_cluster import wait_until
from tests.http_peers import Receiver
from tests.personas import make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]
SECRET = "cluster-receiver-secret-0123"
HANG_SECONDS = 5
TIMEOUT_SECONDS = 2


def import_job(count, prefix):
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"{prefix}{i:06d}"} for i in range(count)),
        source=JobSource.COMMAND,
    )
    return job


def last_answer(job):
    """When the job's last call was answered (its start plus its duration)."""
    call = ApiCall.objects.filter(job=job).order_by("-created_at").first()
    return call.created_at.timestamp() + call.duration_ms / 1000


def test_workers_deliver_signed_webhooks_retry_and_never_hold_a_job_up(
    qcluster, sandbox, im_settings
):
    im_settings.OUTBOUND_HTTP_LOOPBACK = True
    with (
        Receiver(secret=SECRET) as steady,
        Receiver(secret=SECRET, fail_first=2) as flaky,
        Receiver(secret=SECRET, delay=HANG_SECONDS) as hanging,
    ):
        for receiver in (steady, flaky, hanging):
            notifications.webhook_create(url=receiver.url + "/hook", secret=SECRET)
        cluster = qcluster(
            workers=2,
            OUTBOUND_HTTP_LOOPBACK=1,
            WEBHOOK_BACKOFF_SECONDS=0.2,
            WEBHOOK_MAX_ATTEMPTS=3,
            WEBHOOK_TIMEOUT_SECONDS=TIMEOUT_SECONDS,
        )
        first = job_wait(import_job(2000, "w"), timeout=90)
        # While the first job's hanging deliveries hold a worker's task, a
        # second job runs on the same workers' engines.
        wait_until(lambda: len(hanging.received) >= 1, 30, "the hanging receiver")
        second = job_wait(import_job(2000, "x"), timeout=90)
        assert (first.status, second.status) == (JobStatus.DONE, JobStatus.DONE)
        wait_until(
            lambda: (
                len(steady.received) == 2
                and len(flaky.received) == 6  # each job: 500, 500, then 200
                and len(hanging.received) == 6
            ),
            60,
            "every delivery: " + cluster.log_text()[-2000:],
        )
        time.sleep(1)  # nothing more arrives
    assert len(steady.received) == 2 and len(hanging.received) == 6
    everything = steady.received + flaky.received + hanging.received
    assert all(got.signature_ok for got in everything)
    delivered = sorted(json.loads(got.body)["job"]["id"] for got in steady.received)
    assert delivered == [first.pk, second.pk]  # one delivery per job end
    for job in (first, second):
        # Settled within moments of its last answer, though every delivery of
        # the first job was still being tried (or hanging) long after that.
        assert job.finished_at.timestamp() - last_answer(job) < 2.0
    assert min(got.at for got in hanging.received) >= first.finished_at.timestamp()
    _attempts_check(first, steady, flaky, hanging)
    _timing_print(first, second, steady, flaky)


def _attempts_check(job, steady, flaky, hanging):
    def states(receiver):
        attempts = WebhookDelivery.objects.filter(
            endpoint__url=receiver.url + "/hook", job=job
        )
        return list(attempts.order_by("attempt").values_list("state", "status_code"))

    assert states(steady) == [(DeliveryState.DELIVERED, 200)]
    assert states(flaky) == [
        (DeliveryState.FAILED, 500),
        (DeliveryState.FAILED, 500),
        (DeliveryState.DELIVERED, 200),
    ]
    assert states(hanging) == [
        (DeliveryState.FAILED, None),
        (DeliveryState.FAILED, None),
        (DeliveryState.GAVE_UP, None),
    ]
    hung = WebhookDelivery.objects.filter(endpoint__url=hanging.url + "/hook").first()
    assert hung.error == f"no answer within {TIMEOUT_SECONDS:g} s"


def _timing_print(first, second, steady, flaky):
    settled = first.finished_at.timestamp()
    flaky_first = sorted(
        g.at for g in flaky.received if json.loads(g.body)["job"]["id"] == first.pk
    )
    figures = {
        "database": connection.vendor,
        "settled_after_last_answer_s": [
            round(j.finished_at.timestamp() - last_answer(j), 3)
            for j in (first, second)
        ],
        "first_delivery_after_settle_s": round(
            min(g.at for g in steady.received) - settled, 3
        ),
        "third_attempt_after_settle_s": round(flaky_first[2] - settled, 3),
    }
    print("NOTIFY timing", json.dumps(figures))


def test_djangoq_runs_a_scheduled_import_and_its_second_run_sends_the_changes(
    qcluster, sandbox, im_settings, tmp_path
):
    folder = tmp_path / "imports"
    folder.mkdir()
    im_settings.SCHEDULED_IMPORT_DIR = folder
    im_settings.UPLOAD_DIR = tmp_path / "uploads"
    export = folder / "users.csv"
    rows = [f"d{i:05d},Nick {i}" for i in range(400)]
    export.write_text("UserID,Nick\n" + "\n".join(rows) + "\n")
    owner = make_user("owner")
    item = ScheduledImport(name="nightly", source="users.csv", created_by=owner)
    scheduled.scheduled_import_save(scheduled=item, user=owner, created=True)
    qcluster(
        workers=2,
        SCHEDULED_IMPORT_DIR=str(folder),
        UPLOAD_DIR=str(tmp_path / "uploads"),
    )
    # django-q2's scheduler looks at its schedules every 30 s.
    first = _next_run(item, after=None)
    assert (first.source, first.status, first.succeeded) == (
        JobSource.SCHEDULE,
        JobStatus.DONE,
        400,
    )
    received = sandbox.stats()["apis"]["multiaccount_import"]["accounts_received"]
    assert received == 400

    sandbox.reset()  # counters only
    rows[7], rows[300] = "d00007,Renamed 7", "d00300,Renamed 300"
    export.write_text("UserID,Nick\n" + "\n".join([*rows, "d99999,New"]) + "\n")
    # As the next daily tick would: the schedule is due again now.
    Schedule.objects.filter(name=scheduled.schedule_name(item)).update(
        next_run=timezone.now()
    )
    second = _next_run(item, after=first)
    assert (second.status, second.total, second.succeeded) == (JobStatus.DONE, 3, 3)
    stats = sandbox.stats()["apis"]["multiaccount_import"]
    assert (stats["calls"], stats["accounts_received"]) == (1, 3)
    assert sandbox.account("d00300")["Nick"] == "Renamed 300"


def _next_run(item, *, after):
    def ran():
        item.refresh_from_db()
        return item.last_job_id is not None and item.last_job_id != (
            after.pk if after else None
        )

    wait_until(ran, 75, "the scheduled run")
    return job_wait(item.last_job, timeout=60)
