"""Reads of jobs: counts, progress, waiting, their calls and problem rows."""

import time
from datetime import datetime

from django.utils import formats, timezone
from django.utils.translation import gettext, gettext_lazy, ngettext, pgettext

from accounts.im.errors import describe, sentence_for_people
from accounts.models import (
    ApiCall,
    ImportJob,
    ItemState,
    JobItem,
    JobStatus,
    Upload,
)
from accounts.pipeline.policy import failure_sentence
from accounts.selectors.pace import job_pace
from accounts.selectors.paging import EXPORT_CHUNK, PAGE_SIZE, keyset_page


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


def job_wait(job, *, timeout=None, poll=0.1, on_progress=None):
    """Block until ``job`` is settled (its counts final) or paused; return it.

    A paused job needs a person, so waiting for it would never end. Raises
    TimeoutError after ``timeout`` seconds.
    """
    started = time.monotonic()
    while True:
        job.refresh_from_db()
        if job.settled or job.status == JobStatus.PAUSED:
            return job
        if on_progress:
            on_progress(job)
        if timeout is not None and time.monotonic() - started > timeout:
            raise TimeoutError(f"job #{job.pk} still {job.status} after {timeout:.0f}s")
        time.sleep(poll)


def recent_jobs(limit=10):
    """The ``limit`` newest jobs, newest first."""
    return ImportJob.objects.select_related("created_by").order_by("-id")[:limit]


FINISHED_JOB_STATUSES = (
    JobStatus.DONE,
    JobStatus.DONE_WITH_ERRORS,
    JobStatus.STOPPED,
    JobStatus.CANCELLED,
)


def paused_jobs(limit=3):
    """The newest jobs paused on an error of the settings (a person must act)."""
    return list(
        ImportJob.objects.filter(status=JobStatus.PAUSED).order_by("-id")[:limit]
    )


def last_finished_job():
    """The job that ended most recently (by id among ended jobs), or None."""
    return (
        ImportJob.objects.filter(status__in=FINISHED_JOB_STATUSES)
        .order_by("-id")
        .first()
    )


def jobs_filtered(*, status=""):
    """Jobs with ``status`` (all if empty), as a queryset for ``keyset_page``."""
    jobs = ImportJob.objects.select_related("created_by")
    return jobs.filter(status=status) if status else jobs


def job_calls_page(job, *, after=None, before=None, size=PAGE_SIZE):
    """A page of ``job``'s call log, newest first (the (job, id) index)."""
    calls = ApiCall.objects.filter(job=job).defer("user_ids")
    return keyset_page(calls, after=after, before=before, size=size)


def job_waiting_text(job):
    """ "waiting for IM: <reason>, next try at <time>" for a waiting job, else "".

    In the active language; the reason is the pipeline's, stored in English.
    """
    if not job.waiting:
        return ""
    at = timezone.localtime(
        datetime.fromtimestamp(job.wait_until, tz=timezone.get_current_timezone())
    )
    values = {"reason": job.wait_reason, "at": f"{at:%H:%M:%S}"}
    if job.wait_failures > 1:
        values["tries"] = job.wait_failures
        text = gettext(
            "waiting for IM: %(reason)s (%(tries)d tries failed), next try at %(at)s"
        )
        return text % values
    return gettext("waiting for IM: %(reason)s, next try at %(at)s") % values


def job_waiting_sentence(job):
    """The page's notice of a waiting job: its waiting text and what that means."""
    waiting = job_waiting_text(job)
    if not waiting:
        return ""
    return gettext(
        "%(waiting)s. No account is failed while IM is not answering; the job "
        "goes on by itself once it answers."
    ) % {"waiting": waiting[:1].upper() + waiting[1:]}


def job_progress(job, *, now=None):
    """What a progress bar and the live page show of ``job``: counts, shares, rate."""
    now = now or timezone.now()
    pace = job_pace(job, now=now)
    counts = {
        "succeeded": job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
    }
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        # Kept live until the counts are final, which comes a moment after a
        # stop or a cancel, once the calls in flight are answered.
        "active": not job.settled,
        "paused": job.status == JobStatus.PAUSED,
        "prepared_rows": job.options.get("prepared_rows", 0),
        "total": job.total,
        **counts,
        "remaining": job.remaining,
        "percent": job.percent,
        "rate": pace.rate,
        "eta_seconds": pace.eta_seconds,
        "error_code": job.error_code,
        "error_sentence": sentence_for_people(job.error_code),
        "preparing": job.preparing,
        "settled": job.settled,
        "segments": _segments(counts, job.total),
        "started_at": _local_text(job.started_at),
        "finished_at": _local_text(job.finished_at),
        "heartbeat_at": _local_text(job.heartbeat_at),
        **_progress_texts(job, pace),
    }


def _progress_texts(job, pace):
    """Every sentence the page shows of the job's progress, made here only, so
    the first render and the live updates (job.js) say the same."""
    return {
        "phase": job_phase(job),
        "phase_text": _phase_text(job),
        "reading_text": job_reading_text(job),
        # After a stop or cancel, what is left is only the calls in flight.
        "remaining_label": (
            pgettext("job count", "in flight")
            if _ending(job)
            else pgettext("job count", "remaining")
        ),
        "percent_text": _percent_text(job, job.percent),
        "eta_text": duration_text(pace.eta_seconds),
        "waiting": job_waiting_text(job),
        "waiting_sentence": job_waiting_sentence(job),
    }


def _ending(job):
    return job.status in FINISHED_JOB_STATUSES and not job.settled


PHASE_TEXT = {
    "reading": gettext_lazy(
        "Phase 1 of 2: reading the file; its first accounts are sent meanwhile."
    ),
    "sending": gettext_lazy("Phase 2 of 2: the file is read; sending."),
    "ending": gettext_lazy(
        "Ended: the calls already sent are being answered and recorded."
    ),
    "ended": gettext_lazy("Ended: these counts are final."),
}


def _phase_text(job):
    phase = job_phase(job)
    if phase == "sending" and "prepared_rows" not in job.options:
        return gettext("Sending.")  # no file: one phase only
    return str(PHASE_TEXT[phase])


def job_phase(job):
    """``reading`` (its file is still read, sending meanwhile), ``sending``,
    ``ending`` (stopped or cancelled, calls in flight) or ``ended`` (settled)."""
    if job.settled:
        return "ended"
    if _ending(job):
        return "ending"
    return "reading" if job.preparing else "sending"


def job_reading_text(job):
    """The reading phase of a job filled from a file, in one sentence ("" if none).

    "valid rows read" counts the rows handed to the job; "accounts queued" the
    items they made (a UserID already imported unchanged, or busy in another
    job, is read but not queued).
    """
    if "prepared_rows" not in job.options:
        return ""
    rows = job.options["prepared_rows"]
    counts = {
        "read": ngettext("%(n)s valid row read", "%(n)s valid rows read", rows)
        % {"n": grouped(rows)},
        "queued": ngettext("%(n)s account queued", "%(n)s accounts queued", job.total)
        % {"n": grouped(job.total)},
    }
    if job.preparing:
        name = job.label or gettext("the file")
        return gettext(
            "Reading %(name)s: %(read)s, %(queued)s so far; sending meanwhile."
        ) % {"name": name, **counts}
    if job.options.get("reading_cut"):
        return (
            gettext("Reading stopped when the job was cancelled: %(read)s, %(queued)s.")
            % counts
        )
    return gettext("File read: %(read)s, %(queued)s.") % counts


def grouped(count):
    """1000 → "1,000", grouped as the active language groups digits."""
    return formats.number_format(count, force_grouping=True)


def _percent_text(job, percent):
    if percent is not None:
        return f"{percent:.1f}%"
    return gettext("reading…") if job.preparing else "—"


def duration_text(seconds):
    """ "about 2 h 5 min", "about 3 min 20 s", "about 40 s"; "" for None."""
    if seconds is None:
        return ""
    hours, rest = divmod(int(seconds), 3600)
    minutes, secs = divmod(rest, 60)
    values = {"h": hours, "min": minutes, "s": secs}
    if hours:
        return gettext("about %(h)d h %(min)d min") % values
    if minutes:
        return gettext("about %(min)d min %(s)d s") % values
    return gettext("about %(s)d s") % values


def _segments(counts, total):
    """The progress bar's parts: one per count, its start and width in percent."""
    segments, x = [], 0.0
    for name, count in counts.items():
        width = 100 * count / total if total else 0
        segments.append({"name": name, "x": round(x, 3), "width": round(width, 3)})
        x += width
    return segments


def _local_text(moment):
    """A time as the pages print it ("Y-m-d H:i:s", local), or "—"."""
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S") if moment else "—"


def job_problem_rows(job, state):
    """(UserID, Nick, FaceUrl, ErrorCode, Error) of ``job``'s items in ``state``.

    Read in chunks in item order, for a CSV that can be fixed and uploaded again.
    """
    rows = (
        JobItem.objects.filter(job=job, state=state)
        .order_by("id")
        .values_list(
            "account__user_id", "account__nick", "account__face_url", "error_code"
        )
        .iterator(chunk_size=EXPORT_CHUNK)
    )
    sentence = failure_sentence if state == ItemState.FAILED else describe
    for user_id, nick, face_url, code in rows:
        yield user_id, nick, face_url, code, sentence(code)


def job_upload(job):
    """The upload ``job`` was made from, or None (a form, command or admin job)."""
    upload_id = job.options.get("upload")
    if upload_id is None:
        return None
    return Upload.objects.filter(pk=upload_id, job=job).first()
