"""What the job commands share: waiting for a job and printing its counts."""

import json

from django.core.management.base import CommandError

from accounts import selectors


def add_wait_arguments(parser):
    parser.add_argument("--wait", action="store_true", help="block until the job ends")
    parser.add_argument(
        "--json", action="store_true", help="print the result as JSON (with --wait)"
    )
    parser.add_argument(
        "--timeout", type=float, default=None, help="give up waiting after N seconds"
    )


def report(command, job, options, extra=None):
    """Print the job's id, then (with --wait) its final counts; JSON with --json."""
    if options["wait"]:
        try:
            job = selectors.job_wait(job, timeout=options["timeout"])
        except TimeoutError as exc:
            raise CommandError(
                f"{exc}; is a worker running (manage.py qcluster)?"
            ) from None
    result = {"job": job.pk, "kind": job.kind, "status": job.status}
    result.update(selectors.job_counts(job))
    if job.error_code:
        result["error_code"] = job.error_code
        result["error"] = job.error_message
    result.update(extra or {})
    if options["json"]:
        command.stdout.write(json.dumps(result))
        return
    command.stdout.write(f"Job #{job.pk} ({job.kind}): {job.status}")
    for key, value in result.items():
        if key not in ("job", "kind", "status"):
            command.stdout.write(f"  {key}: {value}")
