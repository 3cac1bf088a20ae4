"""How fast a job goes and when it will end: the one rule for rate and ETA.

The job page, ``progress.json``, the API and notifications all show these
figures, so they are decided here only.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Sum
from django.utils import timezone

from accounts.models import ApiCall

# Long enough to smooth over the limiter's one-second blocks, short enough
# that an outage shows as "no ETA" within a few polls.
RECENT_SECONDS = 20


@dataclass(frozen=True)
class Pace:
    """``rate``: accounts answered per second (None before any answer).

    ``eta_seconds``: seconds until the last queued account is answered at the
    recent rate; None once the job is settled, while its file is still read
    (the total is not known yet), and while IM answers nothing.
    """

    rate: float | None
    eta_seconds: int | None


def job_pace(job, *, now=None):
    """The rate and ETA of ``job``: recent while it runs, overall once it ends."""
    now = now or timezone.now()
    if not job.started_at:
        return Pace(rate=None, eta_seconds=None)
    # Cancelled and invalid rows were never sent, so they are no measure of speed.
    answered = job.succeeded + job.failed
    if job.settled:
        seconds = ((job.finished_at or now) - job.started_at).total_seconds()
        rate = answered / seconds if seconds > 0 and answered else None
        return Pace(rate=_rounded(rate), eta_seconds=None)
    rate = _recent_rate(job, now)
    eta = None
    if rate and not job.preparing and job.remaining:
        eta = round(job.remaining / rate)
    return Pace(rate=_rounded(rate), eta_seconds=eta)


def _recent_rate(job, now):
    """Accounts in the job's calls answered OK over the last RECENT_SECONDS."""
    since = max(job.started_at, now - timedelta(seconds=RECENT_SECONDS))
    seconds = (now - since).total_seconds()
    if seconds <= 0:
        return None
    sent = ApiCall.objects.filter(
        job=job, created_at__gte=since, error_code=0
    ).aggregate(n=Sum("account_count"))["n"]
    return sent / seconds if sent else None


def _rounded(rate):
    return round(rate, 1) if rate is not None else None


def job_json(job, *, now=None):
    """A job as the API answers it and webhooks deliver it (plain JSON types)."""
    pace = job_pace(job, now=now)
    return {
        "id": job.pk,
        "kind": job.kind,
        "status": job.status,
        "total": job.total,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
        "remaining": job.remaining,
        "rate": pace.rate,
        "eta_seconds": pace.eta_seconds,
        "created_at": _iso(job.created_at),
        "started_at": _iso(job.started_at),
        "finished_at": _iso(job.finished_at),
    }


def _iso(moment):
    return moment.isoformat() if moment else None
