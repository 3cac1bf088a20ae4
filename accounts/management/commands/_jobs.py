"""What the job commands share: waiting for a job and printing its counts."""

import json

from django.core.management.base import CommandError

from accounts import selectors
from accounts.models import JobStatus


def add_wait_arguments(parser):
    parser.add_argument("--wait", action="store_true", help="block until the job ends")
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (with --wait)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="give up waiting after N seconds"
    )


def report(command, job, options, extra=None):
    """Print the job's id, then (with --wait) its final counts; JSON with --json.

    While waiting, a job that waits for IM says so (once per change) on stderr.
    A job that is paused (its settings need fixing) ends the wait with exit
    code 3 and a sentence saying what to do.
    """
    if options["wait"]:
        job = _wait(command, job, options["timeout"])
    result = {"job": job.pk, "kind": job.kind, "status": job.status}
    result.update(selectors.job_counts(job))
    if job.error_code:
        result["error_code"] = job.error_code
        result["error"] = job.error_message
    result.update(extra or {})
    if options["json"]:
        command.stdout.write(json.dumps(result))
    else:
        command.stdout.write(f"Job #{job.pk} ({job.kind}): {job.status}")
        for key, value in result.items():
            if key not in ("job", "kind", "status"):
                command.stdout.write(f"  {key}: {value}")
    if options["wait"] and job.status == JobStatus.PAUSED:
        raise CommandError(
            f"Job #{job.pk} is paused: {job.error_sentence or job.error_message} "
            f"Fix it, then run: manage.py resume_job {job.pk} --wait",
            returncode=3,
        )


def _wait(command, job, timeout):
    """The job once settled (or paused), saying on stderr when it waits for IM."""
    said = {"text": ""}

    def progress(current):
        text = selectors.job_waiting_text(current)
        if text != said["text"]:
            said["text"] = text
            command.stderr.write(f"Job #{current.pk}: {text or 'sending again'}")

    try:
        return selectors.job_wait(job, timeout=timeout, on_progress=progress)
    except TimeoutError as exc:
        raise CommandError(
            f"{exc}; is a worker running (manage.py qcluster)?"
        ) from None
