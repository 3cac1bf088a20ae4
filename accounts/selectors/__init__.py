"""The reads that pages, commands and exports need; none of them writes.

This package's modules: ``accounts`` (lists, filters, an account's page,
exports), ``jobs`` (counts, progress, waiting, calls, problem rows),
``pace`` (rate, ETA and a job as JSON), ``items`` (a job's items),
``dashboard`` (counts by state, imports per day, rate use, workers) and
``paging`` (keyset pages). The names below are the public API.
"""

from accounts.selectors.accounts import (
    DRIFTED,
    UNCHECKED,
    account_calls,
    account_export_rows,
    account_items,
    account_page,
    accounts_filtered,
)
from accounts.selectors.dashboard import (
    account_counts,
    account_summary,
    api_rate_use,
    cached,
    imports_per_day,
    worker_status,
)
from accounts.selectors.items import job_items_filtered
from accounts.selectors.jobs import (
    grouped,
    job_calls_page,
    job_counts,
    job_phase,
    job_problem_rows,
    job_progress,
    job_upload,
    job_wait,
    job_waiting_text,
    jobs_filtered,
    last_finished_job,
    paused_jobs,
    recent_jobs,
)
from accounts.selectors.pace import Pace, job_json, job_pace
from accounts.selectors.paging import PAGE_SIZE, Page, keyset_page

__all__ = [
    "DRIFTED",
    "PAGE_SIZE",
    "UNCHECKED",
    "Pace",
    "Page",
    "account_calls",
    "account_counts",
    "account_export_rows",
    "account_items",
    "account_page",
    "account_summary",
    "accounts_filtered",
    "api_rate_use",
    "cached",
    "imports_per_day",
    "job_calls_page",
    "job_counts",
    "job_items_filtered",
    "job_json",
    "job_pace",
    "job_problem_rows",
    "job_phase",
    "job_progress",
    "job_upload",
    "job_wait",
    "job_waiting_text",
    "jobs_filtered",
    "keyset_page",
    "last_finished_job",
    "paused_jobs",
    "grouped",
    "recent_jobs",
    "worker_status",
]
