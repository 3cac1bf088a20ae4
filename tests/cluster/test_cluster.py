"""The pipeline with real django-q2 cluster processes, the sandbox and the test DB."""

import itertools
import json
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone

from accounts import maintenance, services
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
from accounts.pipeline import db
from accounts.selectors import job_wait
from accounts.uploads import services as uploads

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


def test_two_clusters_never_have_one_userid_in_two_calls_at_once(
    qcluster, sandbox, im_settings
):
    # Two clusters of two workers, each engine with several senders, on one
    # job with retries (502s, FailAccounts): every call's span (its start and
    # duration) is recorded, and a UserID's spans never overlap.
    sandbox.set_faults(latency_ms=100, http_502_rate=0.05, fail_accounts_rate=0.02)
    qcluster(workers=2)
    qcluster(workers=2)
    job = job_wait(start_import(6000), timeout=180)
    assert (job.status, job.succeeded) == (JobStatus.DONE, 6000)
    spans = defaultdict(list)
    calls = ApiCall.objects.filter(job=job).values_list(
        "created_at", "duration_ms", "user_ids"
    )
    for started, duration_ms, user_ids in calls:
        begin = started.timestamp()
        for user_id in user_ids:
            spans[user_id].append((begin, begin + duration_ms / 1000))
    assert len(spans) == 6000
    resent = 0
    for user_id, found in spans.items():
        found.sort()
        resent += len(found) > 1
        for (_, end), (begin, _) in itertools.pairwise(found):
            assert begin >= end, (user_id, found)
    assert resent > 0  # retries happened: the check had something to check


def test_a_cluster_killed_mid_job_is_taken_over_with_no_manual_step(
    qcluster, sandbox, im_settings
):
    im_settings.IM_CLAIM_LEASE_SECONDS = 6
    sandbox.set_faults(latency_ms=400)
    first = qcluster(workers=2)
    qcluster(workers=2)
    job = start_import(20_000)
    wait_until(
        lambda: (
            JobItem.objects.filter(job=job, state=ItemState.SUCCEEDED).count() > 2000
        ),
        60,
        "the job to be under way",
    )
    first.kill()
    killed_at = timezone.now()
    # Claims the dead cluster held, under leases nobody renews any more.
    assert JobItem.objects.filter(
        job=job, state=ItemState.QUEUED, claimed_until__isnull=False
    ).exists()
    job = job_wait(job, timeout=120)
    assert job.status == JobStatus.DONE
    assert job.succeeded == 20_000
    assert (
        not JobItem.objects.filter(job=job).exclude(state=ItemState.SUCCEEDED).exists()
    )
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 20_000
    assert sandbox.stats()["accounts"] == 20_000
    after = ApiCall.objects.filter(job=job, created_at__gt=killed_at)
    first_after = after.order_by("created_at").first()
    assert (first_after.created_at - killed_at).total_seconds() < 60
    # The dead cluster's claims were taken over once their lease ran out:
    # checked first (IM may have applied them), then sent if need be.
    checks = after.filter(api="account_check").order_by("created_at")
    assert checks.exists()

    def since(moment):
        return round((moment - killed_at).total_seconds(), 2)

    print(
        "RELIABILITY cluster_kill",
        json.dumps(
            {
                "database": connection.vendor,
                "lease_s": im_settings.IM_CLAIM_LEASE_SECONDS,
                "kill_to_next_call_s": since(first_after.created_at),
                "kill_to_first_check_s": since(checks.first().created_at),
                "kill_to_done_s": since(job.finished_at),
                "account_checks": checks.count(),
                "calls_after_kill": after.count(),
            }
        ),
    )


@pytest.fixture
def shared_uploads(settings, tmp_path):
    """An upload folder the test and the cluster's processes share."""
    settings.UPLOAD_DIR = tmp_path / "uploads"
    return {"UPLOAD_DIR": str(settings.UPLOAD_DIR)}


def confirmed_upload(count, prefix):
    text = "UserID,Nick\n" + "".join(f"{prefix}{i:07d},N{i}\n" for i in range(count))
    upload = uploads.upload_receive(
        file=SimpleUploadedFile(f"{prefix}.csv", text.encode()),
        encoding="auto",
        user=None,
    )
    return upload, uploads.upload_confirm(upload=upload, user=None)


def test_a_confirmed_upload_is_prepared_and_imported_by_a_real_cluster(
    qcluster, sandbox, shared_uploads
):
    cluster = qcluster(workers=2, **shared_uploads)
    upload, job = confirmed_upload(2500, "up")
    assert (job.status, job.total, job.options["preparing"]) == ("queued", 0, True)
    job = job_wait(job, timeout=90)
    assert job.status == JobStatus.DONE, cluster.log_text()[-3000:]
    assert (job.total, job.succeeded) == (2500, 2500)
    upload.refresh_from_db()
    assert (upload.stored_name, upload.summary["sent"]["new"]) == ("", 2500)
    assert sandbox.stats()["accounts"] == 2500


def test_a_worker_killed_mid_preparation_resumes_to_exact_totals(
    qcluster, sandbox, im_settings, shared_uploads
):
    count = 60_000  # ~2 s of preparation on SQLite, ~10 s on PostgreSQL here
    first = qcluster(workers=2, **shared_uploads)
    upload, job = confirmed_upload(count, "kp")

    def half_prepared():
        job.refresh_from_db()
        return job.options.get("preparing") and job.options["prepared_rows"] >= 6000

    wait_until(half_prepared, 60, "the preparation to be under way")
    first.kill()
    job.refresh_from_db()
    assert job.options.get("preparing"), "the preparation ended before the kill"
    assert 0 < job.total < count
    assert job.total == JobItem.objects.filter(job=job).count()
    second = qcluster(workers=2, **shared_uploads)
    # What the schedule does once the heartbeat is stale, done now.
    stale = timezone.now() - timedelta(seconds=3 * im_settings.IM_CLAIM_LEASE_SECONDS)
    # Seen twice in CI: the SQLite file stayed write-locked for over the 20 s
    # busy timeout right after the kill (not yet explained; the job still
    # ended exact). Waited out as the engines do, so the test checks the resume.
    db.retrying(
        lambda: ImportJob.objects.filter(pk=job.pk).update(heartbeat_at=stale),
        patience=120,
    )
    resumed, _ = db.retrying(
        lambda: maintenance.maintenance(reconcile=False), patience=120
    )
    assert job.pk in resumed
    job = job_wait(job, timeout=240)
    assert job.status == JobStatus.DONE, second.log_text()[-3000:]
    assert job.total == count == job.succeeded
    assert JobItem.objects.filter(job=job).count() == count
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == count
    assert sandbox.stats()["accounts"] == count
    upload.refresh_from_db()
    assert upload.summary["sent"]["new"] == count
