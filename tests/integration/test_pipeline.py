"""The import pipeline against the IM sandbox over HTTP, worked in this process.

Transactional: the runner's threads use their own database connections.
"""

import threading
import time

import pytest
import requests
from django.db import connection

from accounts import maintenance, services
from accounts.im import errors
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    RemoteStatus,
    TrackedAccount,
)
from accounts.pipeline import claims, lifecycle, policy

pytestmark = pytest.mark.django_db(transaction=True)


def rows(count, prefix="u", nick=False):
    return [
        {"user_id": f"{prefix}{i:06d}", "nick": f"Nick {i}" if nick else ""}
        for i in range(count)
    ]


def start_import(count, **kw):
    job, _ = services.accounts_import_rows(
        rows=rows(count, **kw), source=JobSource.COMMAND, label="test"
    )
    return job


def test_it_imports_every_account_in_batches_of_100(im_settings, sandbox, run_job):
    job = start_import(1050, nick=True)
    assert job.total == 1050
    job = run_job(job)
    assert job.status == JobStatus.DONE
    assert job.succeeded == 1050
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 1050
    calls = list(ApiCall.objects.filter(job=job))
    assert len(calls) == 11
    assert max(c.account_count for c in calls) == 100
    assert {c.api for c in calls} == {"multiaccount_import"}
    assert sandbox.stats()["accounts"] >= 1050
    assert sandbox.account("u000007")["Nick"] == "Nick 7"
    started, ended = (
        AuditEvent.objects.get(job_id=job.pk, action=action)
        for action in (AuditAction.JOB_STARTED, AuditAction.JOB_ENDED)
    )
    assert started.details["total"] == 1050
    assert ended.result == JobStatus.DONE
    assert ended.details["succeeded"] == 1050


def test_it_imports_everything_through_every_fault_at_once(
    im_settings, sandbox, run_job
):
    # A third of the calls go wrong; with 12 attempts the chance that one of
    # 5,000 accounts fails all of them is under 1%, and each fault class shows
    # is all but certain to show up in the ~75 calls.
    im_settings.IM_READ_TIMEOUT = 0.6
    im_settings.IM_MAX_ATTEMPTS = 12
    sandbox.set_faults(
        fault_rate=0.1,
        http_502_rate=0.1,
        late_reply_rate=0.1,
        late_reply_ms=1000,
        fail_accounts_rate=0.05,
    )
    job = start_import(5000)
    job = run_job(job, timeout=240)
    assert job.status == JobStatus.DONE, (job.status, job.failed, job.error_code)
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 5000
    # Attempts are bounded: the sends, plus at most one settling check.
    assert (
        max(JobItem.objects.values_list("attempts", flat=True))
        <= im_settings.IM_MAX_ATTEMPTS + 1
    )
    codes = set(ApiCall.objects.filter(job=job).values_list("error_code", flat=True))
    assert {errors.HTTP_ERROR, errors.TIMEOUT} <= codes
    assert codes & {70169, 70202, 70500}
    assert ApiCall.objects.filter(job=job, api="account_check").exists()


def test_it_stops_on_the_account_cap_and_fails_the_rest_with_70398(
    im_settings, sandbox_factory, run_job
):
    capped = sandbox_factory("--account-limit", "250")
    im_settings.IM_API_BASE_URL = capped.url
    job = run_job(start_import(600))
    assert job.status == JobStatus.STOPPED
    assert job.error_code == 70398
    assert job.succeeded + job.failed == 600
    assert job.succeeded <= 250
    failed = TrackedAccount.objects.filter(state=AccountState.FAILED)
    assert failed.count() == 600 - job.succeeded
    assert set(failed.values_list("last_error_code", flat=True)) == {70398}
    assert "account limit" in failed.first().last_error


def test_a_configuration_error_pauses_the_job_and_fails_no_account(
    im_settings, sandbox, run_job
):
    im_settings.IM_SECRET_KEY = "not-the-key"
    job = run_job(start_import(300))
    assert job.status == JobStatus.PAUSED
    assert job.error_code == 70009
    assert (job.failed, job.succeeded) == (0, 0)
    assert not TrackedAccount.objects.filter(state=AccountState.FAILED).exists()
    assert set(JobItem.objects.values_list("state", flat=True)) == {ItemState.QUEUED}
    assert ApiCall.objects.filter(job=job).count() <= 2 * im_settings.IM_CONCURRENCY
    im_settings.IM_SECRET_KEY = ""  # fixed
    assert services.job_resume(job=job)
    job = run_job(job)
    assert (job.status, job.succeeded) == (JobStatus.DONE, 300)
    assert AuditEvent.objects.filter(job_id=job.pk, action=AuditAction.JOB_RESUME)


def test_reconciliation_finds_accounts_deleted_in_im(im_settings, sandbox, run_job):
    run_job(start_import(300))
    gone = [f"u{i:06d}" for i in range(0, 300, 6)]
    sandbox.drop_accounts(gone)
    check = services.accounts_reconcile(all_imported=True)
    assert check.kind == JobKind.CHECK and check.total == 300
    check = run_job(check)
    assert check.status == JobStatus.DONE
    drifted = TrackedAccount.objects.filter(
        state=AccountState.IMPORTED, remote_status=RemoteStatus.NOT_IMPORTED
    )
    assert sorted(drifted.values_list("user_id", flat=True)) == gone
    assert drifted.first().drifted


def test_a_deleted_account_is_isolated_and_marked_invalid_with_70399(
    im_settings, sandbox, run_job
):
    run_job(start_import(10))
    delete = services.job_start(
        kind=JobKind.DELETE,
        accounts=TrackedAccount.objects.filter(user_id="u000003"),
        source=JobSource.ADMIN,
    )
    assert run_job(delete).status == JobStatus.DONE
    account = TrackedAccount.objects.get(user_id="u000003")
    assert account.state == AccountState.PENDING
    assert account.remote_status == RemoteStatus.NOT_IMPORTED
    job = services.job_start(
        kind=JobKind.IMPORT,
        accounts=TrackedAccount.objects.all(),
        source=JobSource.ADMIN,
    )
    job = run_job(job)
    assert job.status == JobStatus.DONE_WITH_ERRORS
    assert (job.succeeded, job.invalid) == (9, 1)
    account.refresh_from_db()
    assert account.state == AccountState.INVALID
    assert account.last_error_code == 70399


def test_retry_failed_starts_a_new_job_with_the_failed_accounts(
    im_settings, sandbox, run_job
):
    im_settings.IM_MAX_ATTEMPTS = 2
    sandbox.set_faults(fail_accounts_rate=1.0)  # IM refuses every account
    first = run_job(start_import(120))
    assert (first.status, first.failed) == (JobStatus.DONE_WITH_ERRORS, 120)
    assert set(first.items.values_list("error_code", flat=True)) == {
        errors.FAIL_ACCOUNTS
    }
    sandbox.set_faults(fail_accounts_rate=0.0)
    retry = run_job(services.job_retry_failed(job=first))
    assert retry.total == 120 and retry.status == JobStatus.DONE
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 120


def test_cancel_sends_queued_accounts_back_to_pending(im_settings, sandbox):
    job = start_import(500)
    assert services.job_cancel(job=job)
    assert not services.job_cancel(job=job)
    assert job.status == JobStatus.CANCELLED
    assert job.cancelled == 500
    assert TrackedAccount.objects.filter(state=AccountState.PENDING).count() == 500
    assert job.settled and not lifecycle.open_items(job).exists()
    assert ApiCall.objects.count() == 0
    ended = AuditEvent.objects.get(job_id=job.pk, action=AuditAction.JOB_ENDED)
    assert (ended.result, ended.details["cancelled"]) == (JobStatus.CANCELLED, 500)


def test_an_expired_claim_is_settled_by_a_check_not_resent(
    im_settings, sandbox, run_job
):
    job = start_import(100)
    # A claim that expired long ago: its worker sent the call and died, so
    # IM has the accounts and we never heard.
    (unit,) = claims.claim(job_id=job.pk, job_kind=job.kind, now=0)
    assert len(unit.items) == 100
    _raw_call(sandbox, "multiaccount_import", {"Accounts": unit.user_ids})
    job = run_job(job)
    assert job.status == JobStatus.DONE and job.succeeded == 100
    apis = list(ApiCall.objects.filter(job=job).values_list("api", flat=True))
    assert apis == ["account_check"]


def test_single_import_answers_now(im_settings, sandbox):
    result = services.account_import_now(user_id="solo-1", nick="Solo")
    assert result.outcome == "imported"
    again = services.account_import_now(user_id="solo-1", nick="Solo 2")
    assert again.outcome == "updated"
    assert again.account.nick == "Solo 2"
    assert ApiCall.objects.filter(api="account_import").count() == 2


def test_single_import_reports_a_permanent_refusal(im_settings, sandbox):
    services.account_import_now(user_id="gone-1")
    _raw_call(sandbox, "account_delete", {"DeleteItem": [{"UserID": "gone-1"}]})
    result = services.account_import_now(user_id="gone-1")
    assert result.outcome == ItemState.INVALID
    assert result.item.error_code == 70399
    assert "3 months" in result.item.error_sentence


def test_unchanged_imported_accounts_are_not_sent_again(im_settings, sandbox, run_job):
    run_job(start_import(50))
    job, summary = services.accounts_import_rows(
        rows=rows(60), source=JobSource.COMMAND
    )
    assert (summary.new, summary.unchanged) == (10, 50)
    assert job.total == 10


def _raw_call(sandbox, api, body):
    """Call the sandbox behind the pipeline's back, as another tool would."""
    from accounts import conf

    client = conf.im_client()
    url = client.url(api).replace(client.config.base_url, sandbox.url)
    client.close()
    answer = requests.post(url, json=body, timeout=10).json()
    assert answer["ErrorCode"] == 0, answer
    return answer


def test_maintenance_settles_items_left_open_in_a_stopped_job(im_settings, sandbox):
    job = start_import(150)
    # A worker holds 100 under a live lease: the sweep leaves them to it.
    (unit,) = claims.claim(job_id=job.pk, job_kind=job.kind)
    lifecycle.stop(job.pk, code=70398)
    lifecycle.sweep(job.pk)
    job.refresh_from_db()
    assert (job.status, job.failed, job.settled) == (JobStatus.STOPPED, 50, False)
    held = JobItem.objects.filter(job=job, claimed_until__isnull=False)
    assert held.count() == 100 and not held.exclude(state=ItemState.QUEUED).exists()
    held.update(claimed_until=1.0)  # the worker died: its lease ran out
    maintenance.maintenance(reconcile=False)
    job.refresh_from_db()
    assert (job.failed, job.settled) == (150, True)
    assert not lifecycle.open_items(job).exists()
    assert len(unit.items) == 100
    assert set(TrackedAccount.objects.values_list("state", flat=True)) == {
        AccountState.FAILED
    }


def test_an_outage_makes_the_job_wait_and_fails_no_account(
    im_settings, sandbox, run_job
):
    # IM answers 502 to everything for 4 s from the first call: the job waits
    # (one probe at a time), spends no attempt, and goes on once IM answers.
    im_settings.IM_RATE_FRACTION = 0.2
    sandbox.set_faults(http_502_rate=1.0, latency_ms=20)
    seen = {}

    def outage():
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not seen:
                waiting = ImportJob.objects.filter(pk=job.pk).exclude(wait_until=None)
                if row := waiting.values("wait_code", "wait_reason").first():
                    seen.update(row, calls=sandbox_calls())
                time.sleep(0.05)
            time.sleep(4)
            seen["calls_at_end"] = sandbox_calls()
            sandbox.set_faults(http_502_rate=0.0)
        finally:
            connection.close()

    def sandbox_calls():
        return ApiCall.objects.filter(job=job).count()

    job = start_import(2000)
    thread = threading.Thread(target=outage)
    thread.start()
    job = run_job(job, timeout=90)
    thread.join()
    assert seen["wait_code"] == errors.HTTP_ERROR
    assert "502" in seen["wait_reason"]
    # A wait of 1, 2, then 4 s: a probe each, not a call per batch.
    assert seen["calls_at_end"] - seen["calls"] <= 4
    assert (job.status, job.succeeded, job.failed) == (JobStatus.DONE, 2000, 0)
    assert job.wait_until is None and job.wait_failures == 0
    # Only the calls that failed before the failures made an outage spent an
    # attempt (a lone failure is retried like any); the probes' did not.
    spent = JobItem.objects.filter(attempts__gt=1)
    assert set(spent.values_list("attempts", flat=True)) <= {2}
    assert spent.count() <= (policy.OUTAGE_AFTER - 1) * 100
    failed_calls = ApiCall.objects.filter(job=job, http_status=502).count()
    assert 1 <= failed_calls <= seen["calls_at_end"]
