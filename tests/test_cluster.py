"""The pipeline with real django-q2 cluster processes, the sandbox and the test DB."""

import time

import pytest

from accounts import services
from accounts.models import (
    AccountState,
    ItemState,
    JobItem,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.selectors import job_wait

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def start_import(count, prefix="c"):
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"{prefix}{i:07d}"} for i in range(count)),
        source=JobSource.COMMAND,
    )
    return job


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_real_cluster_imports_a_job(qcluster, sandbox):
    cluster = qcluster(workers=2)
    job = job_wait(start_import(3000), timeout=90)
    assert job.status == JobStatus.DONE, cluster.log_text()[-3000:]
    assert job.succeeded == 3000
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 3000


def test_several_workers_never_exceed_the_rate_limit(qcluster, sandbox, im_settings):
    # Limits scaled down so the senders could easily outrun them: the sandbox
    # allows 25 multiaccount_import calls/s, the limiter aims at 20.
    im_settings.IM_RATE_FRACTION = 0.2
    sandbox.set_faults(rate_scale=0.25)
    qcluster(workers=2)
    qcluster(workers=2)
    job = job_wait(start_import(8000), timeout=120)
    assert job.status == JobStatus.DONE
    api = sandbox.stats()["apis"]["multiaccount_import"]
    assert api["refused_rate_limit"] == 0
    assert api["calls"] == 80
    assert api["max_calls_in_any_second"] <= 20 + 1
    # Four runners, four batches in flight each, and still near the target.
    assert api["max_calls_in_any_second"] >= 14


def test_a_worker_killed_mid_job_leaves_nothing_stuck(qcluster, sandbox, im_settings):
    im_settings.IM_CLAIM_LEASE_SECONDS = 3
    sandbox.set_faults(latency_ms=400)
    first = qcluster(workers=2)
    job = start_import(4000)
    wait_until(
        lambda: (
            JobItem.objects.filter(job=job, state=ItemState.SUCCEEDED).exists()
            and JobItem.objects.filter(job=job, state=ItemState.RUNNING).exists()
        ),
        60,
        "the job to be half done",
    )
    first.kill()
    assert JobItem.objects.filter(job=job, state=ItemState.RUNNING).exists()
    sandbox.set_faults(latency_ms=0)
    qcluster(workers=2)
    time.sleep(im_settings.IM_CLAIM_LEASE_SECONDS * 2 + 1)
    # What the schedule runs every few minutes, run now.
    resumed, _ = services.maintenance(reconcile=False)
    assert job.pk in resumed
    job = job_wait(job, timeout=120)
    assert job.status == JobStatus.DONE
    assert job.succeeded == 4000
    assert (
        not JobItem.objects.filter(job=job).exclude(state=ItemState.SUCCEEDED).exists()
    )
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 4000
    assert sandbox.stats()["accounts"] == 4000
