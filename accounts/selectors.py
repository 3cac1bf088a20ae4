"""The reads that pages, commands and exports need."""

import time

from .exports import ACCOUNT_FIELDS
from .models import ACTIVE_JOB_STATUSES, ImportJob, TrackedAccount

EXPORT_CHUNK = 2000


def account_export_rows(accounts=None):
    """Rows of ACCOUNT_FIELDS for ``accounts`` (default: all), read in chunks."""
    accounts = TrackedAccount.objects.all() if accounts is None else accounts
    return accounts.order_by("id").values_list(*ACCOUNT_FIELDS).iterator(
        chunk_size=EXPORT_CHUNK
    )


def job_counts(job):
    """A job's counts by outcome, named as the UI and commands show them."""
    names = {
        "import": "imported",
        "check": "checked",
        "delete": "deleted",
    }
    return {
        "total": job.total,
        names[job.kind]: job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
        "remaining": job.remaining,
    }


def job_wait(job, *, timeout=None, poll=0.5, on_progress=None):
    """Block until ``job`` leaves queued/running; return it refreshed.

    Raises TimeoutError after ``timeout`` seconds.
    """
    started = time.monotonic()
    while True:
        job.refresh_from_db()
        if job.status not in ACTIVE_JOB_STATUSES:
            return job
        if on_progress:
            on_progress(job)
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"job #{job.pk} still {job.status} after {timeout:.0f}s")
        time.sleep(poll)


def recent_jobs(limit=10):
    return ImportJob.objects.select_related("created_by").order_by("-id")[:limit]
