"""The imadmin side of the run: the CSV, ``import_accounts --wait`` and its job."""

import csv
import subprocess
import sys

from checkout import MANAGE, ROOT, manage
from console import BenchError, last_json_object, log, tail
from processes import stop_group

# Run in ``manage.py shell``: the job's timestamps, counts and API calls as JSON.
READ_JOB = """
import json
from django.db.models import Count, Max, Min
from accounts.models import ApiCall, ImportJob
job = ImportJob.objects.get(pk={job})
calls = ApiCall.objects.filter(job=job)
span = calls.aggregate(first=Min("created_at"), last=Max("created_at"))
def seconds(a, b):
    return (b - a).total_seconds() if a and b else None
print(json.dumps({{
    "status": job.status,
    "started_at": job.started_at and job.started_at.isoformat(),
    "finished_at": job.finished_at and job.finished_at.isoformat(),
    "first_call_at": span["first"] and span["first"].isoformat(),
    "last_call_at": span["last"] and span["last"].isoformat(),
    "created_at": job.created_at.isoformat(),
    "job_s": seconds(job.started_at, job.finished_at),
    "first_call_to_done_s": seconds(span["first"], job.finished_at),
    "calls_per_api": dict(
        calls.order_by().values_list("api").annotate(n=Count("id"))
    ),
    "counts": {{
        name: getattr(job, name)
        for name in ("total", "succeeded", "failed", "invalid", "cancelled")
    }},
}}))
"""


def write_csv(path, count, prefix):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["UserID", "Nick"])
        for i in range(count):
            writer.writerow([f"{prefix}{i:08d}", f"Bench user {i}"])
    return path


def start_import(env, csv_path, stdout, stderr):
    """``import_accounts CSV --wait --json`` in its own session."""
    return subprocess.Popen(
        [sys.executable, MANAGE, "import_accounts", str(csv_path)]
        + ["--wait", "--json"],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=stderr,
        start_new_session=True,
    )


def log_progress(err):
    """Pass on the command's progress lines (the last 40 of them)."""
    progress = err.read_text(errors="replace").splitlines()
    if progress:
        shown = progress[-40:]
        skipped = len(progress) - len(shown)
        log(
            f"import_accounts stderr ({len(progress)} lines"
            + (f", the last {len(shown)}" if skipped else "")
            + "):\n  "
            + "\n  ".join(shown)
        )


def import_result(proc, finished, timeout, out, err):
    """The command's JSON result; BenchError if it hung, failed or said nothing."""
    if not finished:
        stop_group(proc, grace=10)
        raise BenchError(
            f"import_accounts did not finish within {timeout:.0f} s; it was stopped"
        )
    if proc.returncode:
        raise BenchError(
            f"import_accounts exited {proc.returncode}:\n{tail(out)}\n{tail(err)}"
        )
    result = last_json_object(out.read_text(errors="replace"))
    if result is None:
        raise BenchError(f"no JSON result from import_accounts:\n{tail(out)}")
    return result


def read_job(env, job_id):
    out = manage(env, "shell", "-c", READ_JOB.format(job=int(job_id)))
    found = last_json_object(out)
    if found is None:
        raise BenchError(f"could not read job #{job_id} back:\n{out[-2000:]}")
    if not found["job_s"]:
        raise BenchError(f"job #{job_id} has no start or end time: {found}")
    return found
