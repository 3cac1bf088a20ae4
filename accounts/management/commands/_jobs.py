"""What the job commands share: waiting for a job and printing its counts."""

import json

from django.core.management.base import CommandError
from django.utils.translation import gettext as _

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
            _(
                "Job #%(job)s is paused: %(why)s "
                "Fix it, then run: manage.py resume_job %(job)s --wait"
            )
            % {"job": job.pk, "why": job.error_sentence or job.error_message},
            returncode=3,
        )


def _wait(command, job, timeout):
    """The job once settled (or paused), saying on stderr when it waits for IM."""
    said = {"text": ""}

    def progress(current):
        text = selectors.job_waiting_text(current)
        if text != said["text"]:
            said["text"] = text
            command.stderr.write(
                _("Job #%(job)s: %(text)s")
                % {"job": current.pk, "text": text or _("sending again")}
            )

    try:
        return selectors.job_wait(job, timeout=timeout, on_progress=progress)
    except TimeoutError as exc:
        raise CommandError(
            _("%(problem)s; is a worker running (manage.py qcluster)?")
            % {"problem": exc}
        ) from None
