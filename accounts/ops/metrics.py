"""What ``/metrics`` reports, in Prometheus' text format, from cheap queries.

At a million accounts every figure is an index range or a small table: the
account counts are the dashboard's (one statement of range counts, cached
15 s and shared with it), jobs are few, API calls are counted over the last
``CALL_WINDOW`` seconds on the ``created_at`` index (never the whole table,
which grows forever unless pruned), and the broker is asked for its length
(after a PING with a short timeout, so a dead Redis is a figure, not a 500).
"""

from datetime import timedelta

from django.db.models import Count, F, Sum
from django.utils import timezone
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from accounts.models import ACTIVE_JOB_STATUSES, ApiCall, ImportJob, JobStatus
from accounts.ops.readiness import broker_check
from accounts.selectors import (
    DRIFTED,
    account_summary,
    api_rate_use,
    job_pace,
    worker_status,
)

CALL_WINDOW = 300  # seconds of API calls counted by API and error code
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def metrics_text():
    """The exposition text of every imadmin metric (bytes)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Collector())
    return generate_latest(registry)


class _Collector:
    def collect(self):
        yield from _accounts()
        yield _jobs()
        yield _api_calls()
        yield from _limiter()
        yield from _queue()
        yield _job_rate()


def _gauge(name, documentation, labels, values):
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric([str(v) for v in label_values], value)
    return family


def _accounts():
    counts = account_summary()[0]["counts"]
    yield _gauge(
        "imadmin_accounts",
        "Tracked accounts by state.",
        ["state"],
        [((state,), n) for state, n in sorted(counts["state"].items())],
    )
    yield GaugeMetricFamily(
        "imadmin_accounts_drifted",
        "Accounts imported here that IM said it does not hold.",
        value=counts[DRIFTED],
    )


def _jobs():
    found = dict(
        ImportJob.objects.order_by()
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    return _gauge(
        "imadmin_jobs",
        "Jobs by status.",
        ["status"],
        [((status,), found.get(status, 0)) for status in JobStatus.values],
    )


def _api_calls():
    since = timezone.now() - timedelta(seconds=CALL_WINDOW)
    rows = (
        ApiCall.objects.filter(created_at__gte=since)
        .order_by()
        .values_list("api", "error_code")
        .annotate(n=Count("id"))
    )
    return _gauge(
        "imadmin_api_calls_recent",
        f"API calls of the last {CALL_WINDOW} s by API and error code "
        "(none: no answer).",
        ["api", "error_code"],
        [((api, "none" if code is None else code), n) for api, code, n in rows],
    )


def _limiter():
    uses = api_rate_use()
    yield _gauge(
        "imadmin_limiter_calls_per_second",
        "Calls a second over the last minute, by API (all workers).",
        ["api"],
        [((u.api,), u.average) for u in uses],
    )
    yield _gauge(
        "imadmin_limiter_peak_ratio",
        "The last minute's busiest second against the allowed rate, by API.",
        ["api"],
        [((u.api,), u.peak / u.limit if u.limit else 0.0) for u in uses],
    )
    yield _gauge(
        "imadmin_limiter_allowed_per_second",
        "Calls a second all workers together may make, by API.",
        ["api"],
        [((u.api,), u.limit) for u in uses],
    )


def _queue():
    from django_q.brokers import get_broker

    # A scrape still answers with Redis down: it says so instead of failing.
    up = broker_check().ok
    yield GaugeMetricFamily(
        "imadmin_broker_up", "1 if the django-q2 broker answers.", value=int(up)
    )
    remaining = ImportJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).aggregate(
        n=Sum(F("total") - F("succeeded") - F("failed") - F("invalid") - F("cancelled"))
    )["n"]
    yield GaugeMetricFamily(
        "imadmin_job_accounts_remaining",
        "Accounts not yet answered in queued and running jobs.",
        value=remaining or 0,
    )
    if not up:
        return
    yield GaugeMetricFamily(
        "imadmin_queue_tasks",
        "Tasks waiting in the django-q2 broker.",
        value=get_broker().queue_size() or 0,
    )
    clusters = worker_status()["clusters"]
    yield GaugeMetricFamily(
        "imadmin_worker_clusters",
        "django-q2 clusters that reported in the last seconds.",
        value=len(clusters or []),
    )


def _job_rate():
    jobs = ImportJob.objects.filter(status__in=ACTIVE_JOB_STATUSES).exclude(
        started_at=None
    )
    return _gauge(
        "imadmin_job_rate",
        "Accounts answered a second, by running job (the job page's rate).",
        ["job"],
        [((job.pk,), job_pace(job).rate or 0.0) for job in jobs],
    )
