"""A job cancelled while calls are in flight: its "job ended" entry, its counts
and its pages agree once it is settled, and what it left can be resumed.

Transactional: the engine's threads use their own database connections.
"""

import threading
import time

import pytest

from accounts import selectors, services
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    AuditEvent,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline.engine import Engine

pytestmark = pytest.mark.django_db(transaction=True)


def start_import(count):
    rows = [{"user_id": f"c{i:05d}", "nick": ""} for i in range(count)]
    job, _ = services.accounts_import_rows(
        rows=rows, source=JobSource.COMMAND, label="test"
    )
    return job


def run_until(job, until, timeout=60):
    deadline = time.monotonic() + timeout
    engine = Engine(only_jobs=[job.pk])
    thread = threading.Thread(
        target=engine.run,
        kwargs={"until": lambda: until() or time.monotonic() > deadline},
    )
    thread.start()
    return thread


def test_a_cancel_in_flight_ends_with_counts_the_audit_entry_repeats(
    im_settings, sandbox
):
    sandbox.set_faults(latency_ms=400)  # calls stay in flight across the cancel
    job = start_import(3000)
    settled = threading.Event()

    def ended():
        job.refresh_from_db()
        return settled.is_set() and job.settled

    thread = run_until(job, ended)
    deadline = time.monotonic() + 30
    while not ApiCall.objects.filter(job=job).exists():
        assert time.monotonic() < deadline, "no call was answered"
        time.sleep(0.05)
    assert services.job_cancel(job=job)
    settled.set()
    thread.join(60)
    job.refresh_from_db()
    assert job.settled and job.status == JobStatus.CANCELLED
    assert 0 < job.succeeded < 3000 and job.cancelled > 0
    assert job.succeeded + job.cancelled == job.total == 3000
    entry = AuditEvent.objects.get(job_id=job.pk, action=AuditAction.JOB_ENDED)
    counts = {k: entry.details[k] for k in ("succeeded", "failed", "cancelled")}
    assert counts == {
        "succeeded": job.succeeded,
        "failed": job.failed,
        "cancelled": job.cancelled,
    }
    progress = selectors.job_progress(job)
    assert progress["remaining"] == 0 and progress["eta_seconds"] is None
    assert progress["percent"] == round(100 * job.succeeded / 3000, 1) < 100
    assert progress["phase"] == "ended"

    resume_what_the_cancel_left(job)


def resume_what_the_cancel_left(job):
    """A new job imports what the cancel left, without the file; once."""
    left = job.cancelled
    resumed = services.job_resume_remaining(job=job)
    assert resumed.total == left and resumed.options["resume_of"] == job.pk
    thread = run_until(resumed, lambda: resumed.refresh_from_db() or resumed.settled)
    thread.join(60)
    resumed.refresh_from_db()
    assert (resumed.status, resumed.succeeded) == (JobStatus.DONE, left)
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 3000
    with pytest.raises(services.NothingToDo):
        services.job_resume_remaining(job=job)
    results = AuditEvent.objects.filter(
        job_id=job.pk, action=AuditAction.JOB_RESUME
    ).values_list("result", flat=True)
    assert sorted(results) == ["nothing_to_do", "ok"]
