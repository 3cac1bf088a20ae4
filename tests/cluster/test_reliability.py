"""Reliability on the real path: faults injected mid-job, every account still imported.

Each test runs real ``manage.py qcluster`` processes on the test database, the
IM sandbox over HTTP and (where it says so) real ``manage.py`` commands as
subprocesses, injects one fault while a job runs, and checks the outcome a
person would check: every account imported (or, when stopped, counts that
match the items), the job saying what it waits for, every call recorded.

Each test prints its figures as one ``RELIABILITY <name> {json}`` line (run
with ``-s``) and appends them to ``test-artifacts/reliability.jsonl``; the
figures in docs/RELIABILITY.md come from those lines::

    pytest -m reliability -s                 # SQLite, the ORM broker
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/test \\
    REDIS_URL=redis://127.0.0.1:6379/0 pytest -m reliability -s
"""

import json
import os
import re
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from accounts import services
from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    ItemState,
    JobItem,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.selectors import job_wait
from tests.fixtures_pipeline import database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.cluster,
    pytest.mark.reliability,
]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
ACCOUNTS = 20_000
# The limiter's share of the 100 calls/s the sandbox allows multiaccount_import:
# 0.2 makes 20 calls (2,000 accounts) a second, so a 20,000-account job lasts
# about 10 s of sending, long enough to be interrupted on purpose.
SLOW_RATE = 0.2
WAITING_NOTICE = re.compile(r'<div class="notice" id="job-waiting"([^>]*)>([^<]*)')


# -- helpers ---------------------------------------------------------------------


def wait_until(predicate, timeout, what, poll=0.1):
    """Poll ``predicate`` until it is true; AssertionError naming ``what`` if not."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(poll)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def moment(unix_time):
    return datetime.fromtimestamp(unix_time, tz=UTC)


def unix(dt):
    return dt.timestamp()


def write_csv(path, count, prefix):
    with open(path, "w", newline="") as stream:
        stream.write("UserID\n")
        stream.writelines(f"{prefix}{i:07d}\n" for i in range(count))
    return str(path)


def sandbox_calls(stats):
    """Requests the sandbox took, summed over its APIs."""
    return sum(api["calls"] for api in stats["apis"].values())


def figures(name, **values):
    """Print a test's figures and keep them in test-artifacts/reliability.jsonl."""
    record = {
        "test": name,
        "database": connection.vendor,
        "broker": "redis" if settings.REDIS_URL else "orm",
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        **values,
    }
    line = json.dumps(record, default=str)
    print(f"\nRELIABILITY {name} {line}")
    ARTIFACTS.mkdir(exist_ok=True)
    with open(ARTIFACTS / "reliability.jsonl", "a") as stream:
        stream.write(line + "\n")
    return record


class Command:
    """A ``manage.py`` subprocess on the test database; its output goes to files."""

    def __init__(self, tmp_path, name, *args, env=None):
        self.out_path = tmp_path / f"{name}.stdout"
        self.err_path = tmp_path / f"{name}.stderr"
        self._files = [open(self.out_path, "wb"), open(self.err_path, "wb")]
        self.proc = subprocess.Popen(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env={**os.environ, "DATABASE_URL": database_url(), **(env or {})},
            stdout=self._files[0],
            stderr=self._files[1],
        )

    @property
    def stdout(self):
        return self.out_path.read_text(errors="replace")

    @property
    def stderr(self):
        return self.err_path.read_text(errors="replace")

    def wait(self, timeout):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(
                f"{self.proc.args[2]} still running after {timeout:.0f} s:\n"
                f"{self.stderr[-3000:]}"
            ) from None

    def result(self):
        """The JSON a ``--json`` run printed last on stdout."""
        lines = [line for line in self.stdout.splitlines() if line.startswith("{")]
        assert lines, f"no JSON on stdout:\n{self.stdout}\n{self.stderr[-3000:]}"
        return json.loads(lines[-1])

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)

    def close(self):
        self.kill()
        for stream in self._files:
            stream.close()


@pytest.fixture
def commands(tmp_path):
    """Start ``manage.py`` subprocesses: ``commands(name, *args)``; killed after."""
    started = []

    def start(name, *args, env=None):
        command = Command(tmp_path, name, *args, env=env)
        started.append(command)
        return command

    yield start
    for command in started:
        command.close()


def command_job():
    """The job an ``import_accounts`` subprocess created (None until it has)."""
    return ImportJob.objects.filter(source=JobSource.COMMAND).order_by("-id").first()


def succeeded_at_least(job, count):
    def check():
        job.refresh_from_db()
        return job.succeeded >= count

    return check


def waiting_notice(html):
    """The text of the page's "waiting for IM" notice, or "" if it is hidden."""
    match = WAITING_NOTICE.search(html)
    if not match or "hidden" in match[1]:
        return ""
    return match[2].strip()


def watch_outage(client, job, until):
    """Look at the job until ``until`` (unix time): what it showed while IM was out.

    The job row's wait, and what the job page and progress.json said, read
    through the real views.
    """
    seen = {"first_wait_at": None, "wait_failures": 0, "json": "", "page": ""}
    progress_url = reverse("web:job_progress", args=[job.pk])
    page_url = reverse("web:job_detail", args=[job.pk])
    while time.time() < until:
        job.refresh_from_db()
        if job.wait_until is not None:
            seen["first_wait_at"] = seen["first_wait_at"] or time.time()
            seen["wait_failures"] = max(seen["wait_failures"], job.wait_failures)
            if not seen["json"]:
                seen["json"] = client.get(progress_url).json()["waiting"]
            if not seen["page"]:
                seen["page"] = waiting_notice(client.get(page_url).content.decode())
        time.sleep(max(0.0, min(0.5, until - time.time())))
    return seen


def wait_cleared(job, timeout):
    """The unix time the job's wait for IM is seen over (polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        job.refresh_from_db()
        if job.wait_until is None:
            return time.time()
        time.sleep(0.05)
    raise AssertionError(f"job #{job.pk} still waits for IM {timeout:.0f} s later")


def resumed_figures(job, cleared):
    """How soon calls went out again once the job's wait was over."""
    after = sorted(
        unix(c)
        for c in ApiCall.objects.filter(
            job=job, created_at__gt=moment(cleared)
        ).values_list("created_at", flat=True)
    )
    return {
        "wait_cleared_to_next_call_s": round(after[0] - cleared, 2) if after else None,
        "calls_in_3_s_after_wait_cleared": sum(t < cleared + 3 for t in after),
    }


def outage_figures(job, start, end):
    """What the calls of ``job`` did around an outage from ``start`` to ``end``."""
    calls = list(
        ApiCall.objects.filter(job=job).values(
            "api", "created_at", "duration_ms", "http_status", "error_code"
        )
    )
    during = [c for c in calls if start <= unix(c["created_at"]) <= end]
    after = sorted(unix(c["created_at"]) for c in calls if unix(c["created_at"]) > end)

    def answered_at(call):
        return unix(call["created_at"]) + call["duration_ms"] / 1000

    ok_after = sorted(
        answered_at(c)
        for c in calls
        if c["error_code"] == 0 and c["http_status"] == 200 and answered_at(c) > end
    )
    job.refresh_from_db()
    per_second = Counter(int(t - end) for t in after)
    return {
        "calls_per_second_after_recovery": [
            per_second.get(s, 0) for s in range(max(per_second, default=-1) + 1)
        ],
        "calls_total": len(calls),
        "calls_during_outage": len(during),
        "calls_during_outage_by_answer": dict(
            Counter(
                f"{c['api']} http {c['http_status']} code {c['error_code']}"
                for c in during
            )
        ),
        "recovery_to_next_call_s": round(after[0] - end, 1) if after else None,
        "recovery_to_first_answer_s": (
            round(ok_after[0] - end, 1) if ok_after else None
        ),
        "recovery_to_done_s": round(unix(job.finished_at) - end, 1),
    }


def calls_by_answer(job):
    calls = ApiCall.objects.filter(job=job)
    return dict(
        Counter(
            f"{api} http {status} code {code}"
            for api, status, code in calls.values_list(
                "api", "http_status", "error_code"
            )
        )
    )


def assert_all_imported(job, sandbox, count):
    job.refresh_from_db()
    assert job.status == JobStatus.DONE, (job.status, job.error_message)
    assert (job.total, job.succeeded, job.failed, job.invalid) == (count, count, 0, 0)
    assert job.settled
    assert JobItem.objects.filter(job=job, state=ItemState.SUCCEEDED).count() == count
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == count
    assert sandbox.stats()["accounts"] == count


def engine_tracebacks(log):
    """The logger lines (and uncaught thread errors) a traceback in ``log`` follows.

    Returns (from the engine or our code, from django-q2 or elsewhere).
    """
    ours, theirs = [], []
    last = ""
    for line in log.splitlines():
        if line.startswith("Exception in thread"):
            ours.append(line)
        if line.startswith("Traceback"):
            (ours if " accounts." in last else theirs).append(last)
        elif re.match(r"\d{4}-\d\d-\d\d ", line):
            last = line
    return ours, theirs


def final_states(job):
    job.refresh_from_db()
    return {
        "status": job.status,
        "total": job.total,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
    }


# -- 1. HTTP 502 for 60 s --------------------------------------------------------


def waited_figures(seen, started, job, result):
    """What an outage scenario reports of the wait it saw, and how it ended."""
    first = seen["first_wait_at"]
    return {
        "waiting_seen_after_s": round(first - started, 1) if first else None,
        "most_failed_probes": seen["wait_failures"],
        "progress_json_waiting": seen["json"],
        "job_page_notice": seen["page"],
        "command_result": result,
        "calls_by_answer": calls_by_answer(job),
        "final": final_states(job),
    }


def assert_waited_and_resumed(seen, job, command, numbers):
    """The job showed its wait everywhere, made few calls, and went on at once."""
    assert seen["first_wait_at"] is not None, "the job never showed a wait"
    assert seen["json"].startswith("waiting for IM: "), seen
    assert seen["page"].startswith("Waiting for IM: "), seen
    assert f"Job #{job.pk}: waiting for IM: " in command.stderr, command.stderr
    assert numbers["calls_during_outage"] < 50, numbers
    # Once a probe is answered the wait is over: the engines send again at once.
    assert numbers["wait_cleared_to_next_call_s"] < 3.0, numbers


def test_an_endpoint_answering_502_for_60_s_holds_the_job_and_loses_nothing(
    qcluster, sandbox, im_settings, commands, tmp_path, admin_client
):
    outage = 60.0
    im_settings.IM_RATE_FRACTION = SLOW_RATE
    sandbox.set_faults(latency_ms=20)
    cluster = qcluster(workers=2)
    path = write_csv(tmp_path / "502.csv", ACCOUNTS, "h")
    command = commands(
        "import", "import_accounts", path, "--wait", "--json", "--timeout", "600"
    )
    wait_until(lambda: command_job() is not None, 60, "import_accounts to make its job")
    job = command_job()
    wait_until(succeeded_at_least(job, 2000), 90, "the first accounts to be imported")
    before = sandbox.stats()
    started = time.time()
    sandbox.set_faults(http_502_rate=1.0)
    succeeded_at_start = job.succeeded

    seen = watch_outage(admin_client, job, started + outage)

    sandbox.set_faults(http_502_rate=0.0)
    ended = time.time()
    after = sandbox.stats()
    cleared = wait_cleared(job, 150)
    assert command.wait(240) == 0, command.stderr[-3000:]
    result = command.result()
    job.refresh_from_db()

    numbers = outage_figures(job, started, ended)
    numbers["wait_cleared_after_recovery_s"] = round(cleared - ended, 1)
    numbers.update(resumed_figures(job, cleared))
    sandbox_during = sandbox_calls(after) - sandbox_calls(before)
    figures(
        "http_502",
        accounts=ACCOUNTS,
        fault=f"HTTP 502 on every call for {ended - started:.1f} s",
        imported_before_fault=succeeded_at_start,
        sandbox_calls_during_outage=sandbox_during,
        sandbox_502s=sum(a["http_502"] for a in after["apis"].values()),
        **waited_figures(seen, started, job, result),
        **numbers,
    )
    assert_waited_and_resumed(seen, job, command, numbers)
    assert sandbox_during < 50
    assert (result["status"], result["imported"], result["failed"]) == (
        "done",
        ACCOUNTS,
        0,
    )
    assert_all_imported(job, sandbox, ACCOUNTS)
    assert not engine_tracebacks(cluster.log_text())[0], cluster.log_text()[-5000:]


# -- 2. No answer for 45 s (the sandbox frozen) ------------------------------------


def test_an_endpoint_not_answering_for_45_s_holds_the_job_and_loses_nothing(
    qcluster, sandbox, im_settings, commands, tmp_path, admin_client
):
    freeze = 45.0
    assert im_settings.IM_READ_TIMEOUT <= 5.0  # calls give up in ~5 s, not 10
    im_settings.IM_RATE_FRACTION = SLOW_RATE
    sandbox.set_faults(latency_ms=20)
    cluster = qcluster(workers=2)
    path = write_csv(tmp_path / "frozen.csv", ACCOUNTS, "f")
    command = commands(
        "import", "import_accounts", path, "--wait", "--json", "--timeout", "600"
    )
    wait_until(lambda: command_job() is not None, 60, "import_accounts to make its job")
    job = command_job()
    wait_until(succeeded_at_least(job, 2000), 90, "the first accounts to be imported")
    before = sandbox.stats()
    started = time.time()
    sandbox.pause()
    succeeded_at_start = job.succeeded
    try:
        seen = watch_outage(admin_client, job, started + freeze)
    finally:
        sandbox.resume()
    ended = time.time()
    cleared = wait_cleared(job, 150)
    assert command.wait(240) == 0, command.stderr[-3000:]
    result = command.result()
    after = sandbox.stats()
    job.refresh_from_db()

    numbers = outage_figures(job, started, ended)
    numbers["wait_cleared_after_recovery_s"] = round(cleared - ended, 1)
    numbers.update(resumed_figures(job, cleared))
    figures(
        "no_answer",
        accounts=ACCOUNTS,
        fault=f"sandbox SIGSTOPped for {ended - started:.1f} s (read timeout "
        f"{im_settings.IM_READ_TIMEOUT:g} s)",
        imported_before_fault=succeeded_at_start,
        # Requests the frozen sandbox had queued are counted once it runs again.
        sandbox_calls_from_freeze_to_done=sandbox_calls(after) - sandbox_calls(before),
        account_checks=ApiCall.objects.filter(job=job, api="account_check").count(),
        **waited_figures(seen, started, job, result),
        **numbers,
    )
    assert_waited_and_resumed(seen, job, command, numbers)
    assert (result["status"], result["imported"], result["failed"]) == (
        "done",
        ACCOUNTS,
        0,
    )
    assert_all_imported(job, sandbox, ACCOUNTS)
    assert not engine_tracebacks(cluster.log_text())[0], cluster.log_text()[-5000:]


# -- 3. import_accounts SIGKILLed while reading, then run again ------------------------


def test_a_rerun_after_import_accounts_was_killed_while_reading_imports_every_row(
    qcluster, sandbox, commands, tmp_path
):
    rows = 200_000
    cluster = qcluster(workers=2)
    path = write_csv(tmp_path / "big.csv", rows, "k")
    first = commands("first", "import_accounts", path, "--wait", "--json")

    def reading_and_sending():
        # Killed mid-read, with accounts already sent and claims in flight.
        job = command_job()
        return bool(
            job
            and job.options.get("preparing")
            and job.total >= 10_000
            and job.succeeded > 0
        )

    wait_until(reading_and_sending, 90, "the first run to be under way", poll=0.02)
    first.proc.kill()
    killed = time.time()
    first.proc.wait(10)
    job = command_job()
    assert job.options.get("preparing"), "the first run read the whole file already"
    at_kill = {
        "total": job.total,
        "prepared_rows": job.options["prepared_rows"],
        "succeeded": job.succeeded,
    }
    assert 0 < job.total < rows

    second = commands(
        "second", "import_accounts", path, "--wait", "--json", "--timeout", "600"
    )
    assert second.wait(280) == 0, second.stderr[-3000:]
    result = second.result()
    job.refresh_from_db()
    figures(
        "killed_while_reading",
        accounts=rows,
        fault="import_accounts SIGKILLed while reading its file, then run again",
        at_kill=at_kill,
        rerun_to_done_s=round(unix(job.finished_at) - killed, 1),
        calls_total=ApiCall.objects.filter(job=job).count(),
        calls_by_answer=calls_by_answer(job),
        accounts_sent=sum(
            ApiCall.objects.filter(job=job).values_list("account_count", flat=True)
        ),
        second_run_result=result,
        second_run_stderr=second.stderr.strip().splitlines(),
        jobs=ImportJob.objects.count(),
        final=final_states(job),
    )
    assert f"Continuing job #{job.pk}" in second.stderr, second.stderr
    assert ImportJob.objects.count() == 1
    assert result["job"] == job.pk
    assert (result["status"], result["total"], result["imported"]) == (
        "done",
        rows,
        rows,
    )
    assert (result["busy"], result["failed"], result["invalid"]) == (0, 0, 0)
    assert result["remaining"] == 0
    assert JobItem.objects.filter(job=job).count() == rows
    # Reading kept pace with sending, yet no call went out part-filled: each
    # carried 100 accounts (a fault-free job of whole hundreds).
    counts = set(
        ApiCall.objects.filter(job=job).values_list("account_count", flat=True)
    )
    assert counts == {100}, counts
    assert_all_imported(job, sandbox, rows)
    assert not engine_tracebacks(cluster.log_text())[0], cluster.log_text()[-5000:]


# -- 4. The key changes mid-job ----------------------------------------------------


def test_a_wrong_key_mid_job_pauses_it_and_a_resume_with_the_right_key_finishes_it(
    qcluster, sandbox, im_settings, commands
):
    im_settings.IM_RATE_FRACTION = 0.1  # 1,000 accounts a second
    good = qcluster(workers=2)
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"key{i:07d}"} for i in range(ACCOUNTS)),
        source=JobSource.COMMAND,
    )
    wait_until(succeeded_at_least(job, 2000), 90, "the first accounts to be imported")
    good.stop()
    job.refresh_from_db()
    assert job.succeeded < ACCOUNTS, "the job ended before the key changed"
    imported_with_good_key = job.succeeded
    changed = time.time()
    wrong = qcluster(workers=2, IM_SECRET_KEY="a-key-the-service-does-not-know")

    def paused():
        job.refresh_from_db()
        return job.status == JobStatus.PAUSED

    wait_until(paused, 90, "the job to pause")
    paused_after = time.time() - changed
    time.sleep(3)  # the wrong-key cluster keeps running: nothing more may go
    job.refresh_from_db()
    wrong_key_calls = ApiCall.objects.filter(job=job, error_code=70009).count()
    at_pause = {**final_states(job), "error_message": job.error_message}
    assert job.status == JobStatus.PAUSED
    assert job.error_code == 70009, (job.error_code, job.error_message)
    assert (job.failed, job.invalid, job.cancelled) == (0, 0, 0)
    assert (
        not JobItem.objects.filter(job=job)
        .exclude(state__in=(ItemState.SUCCEEDED, ItemState.QUEUED))
        .exists()
    )
    assert job.succeeded == imported_with_good_key
    wrong.stop()

    qcluster(workers=2)  # the key fixed
    resumed = time.time()
    resume = commands("resume", "resume_job", str(job.pk), "--wait", "--json")
    assert resume.wait(180) == 0, resume.stderr[-3000:]
    result = resume.result()
    job.refresh_from_db()
    figures(
        "key_change",
        accounts=ACCOUNTS,
        fault="the cluster restarted mid-job with a wrong IM_SECRET_KEY",
        imported_before_key_change=imported_with_good_key,
        paused_after_s=round(paused_after, 1),
        calls_answered_70009=wrong_key_calls,
        at_pause=at_pause,
        resume_to_done_s=round(unix(job.finished_at) - resumed, 1),
        resume_result=result,
        calls_by_answer=calls_by_answer(job),
        final=final_states(job),
    )
    assert wrong_key_calls <= 2 * im_settings.IM_CONCURRENCY  # one per sender
    assert (result["status"], result["imported"], result["failed"]) == (
        "done",
        ACCOUNTS,
        0,
    )
    assert job.error_code is None
    assert AuditEvent.objects.filter(
        action=AuditAction.JOB_RESUME, job_id=job.pk, result="ok"
    ).exists()
    assert_all_imported(job, sandbox, ACCOUNTS)


# -- 5. SQLite locked for 25 s ---------------------------------------------------------


@pytest.mark.skipif(
    connection.vendor != "sqlite", reason="the write lock of an SQLite file"
)
def test_a_25_s_exclusive_lock_on_sqlite_loses_no_call_and_crashes_no_thread(
    qcluster, sandbox, im_settings
):
    hold = 25.0
    im_settings.IM_RATE_FRACTION = SLOW_RATE
    sandbox.set_faults(latency_ms=20)
    cluster = qcluster(workers=2)
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"lock{i:07d}"} for i in range(ACCOUNTS)),
        source=JobSource.COMMAND,
    )
    wait_until(succeeded_at_least(job, 2000), 90, "the first accounts to be imported")
    locker = sqlite3.connect(
        connection.settings_dict["NAME"], timeout=60, isolation_level=None
    )
    asked = time.time()
    locker.execute("BEGIN EXCLUSIVE")
    locked = time.time()
    succeeded_at_lock = job.succeeded
    try:
        time.sleep(hold)
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    released = time.time()
    job = job_wait(job, timeout=180)
    numbers = outage_figures(job, locked, released)
    stats = sandbox.stats()
    recorded = ApiCall.objects.filter(job=job).count()
    ours, theirs = engine_tracebacks(cluster.log_text())
    lock_warnings = cluster.log_text().count("database locked, trying again shortly")
    figures(
        "sqlite_locked",
        accounts=ACCOUNTS,
        fault=f"BEGIN EXCLUSIVE on the database file for {released - locked:.1f} s",
        lock_waited_s=round(locked - asked, 2),
        imported_before_lock=succeeded_at_lock,
        calls_sent_while_locked=numbers["calls_during_outage"],
        calls_sent_while_locked_by_answer=numbers["calls_during_outage_by_answer"],
        release_to_done_s=numbers["recovery_to_done_s"],
        api_calls_recorded=recorded,
        sandbox_calls=sandbox_calls(stats),
        engine_lock_warnings=lock_warnings,
        tracebacks_from_our_code=ours,
        tracebacks_from_others=theirs,
        calls_by_answer=calls_by_answer(job),
        final=final_states(job),
    )
    assert_all_imported(job, sandbox, ACCOUNTS)
    assert recorded == sandbox_calls(stats)
    assert not ours, cluster.log_text()[-5000:]


# -- a stopped job's counts ---------------------------------------------------------


def test_a_job_cancelled_mid_run_ends_with_counts_equal_to_its_items(
    qcluster, sandbox, im_settings
):
    im_settings.IM_RATE_FRACTION = SLOW_RATE
    qcluster(workers=2)
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"cx{i:07d}"} for i in range(ACCOUNTS)),
        source=JobSource.COMMAND,
    )
    wait_until(succeeded_at_least(job, 2000), 90, "the first accounts to be imported")
    cancelled = time.time()
    assert services.job_cancel(job=job)
    job = job_wait(job, timeout=120)
    states = dict(
        Counter(JobItem.objects.filter(job=job).values_list("state", flat=True))
    )
    ended = AuditEvent.objects.filter(action=AuditAction.JOB_ENDED, job_id=job.pk)
    figures(
        "cancel_counts",
        accounts=ACCOUNTS,
        fault="the job cancelled mid-run",
        cancel_to_settled_s=round(unix(job.finished_at) - cancelled, 1),
        items_by_state=states,
        audit_details=ended.first().details if ended.exists() else None,
        sandbox_accounts=sandbox.stats()["accounts"],
        final=final_states(job),
    )
    assert job.status == JobStatus.CANCELLED and job.settled
    assert 0 < job.succeeded < ACCOUNTS and job.cancelled > 0
    assert states == {
        state: count
        for state, count in (
            (ItemState.SUCCEEDED, job.succeeded),
            (ItemState.FAILED, job.failed),
            (ItemState.INVALID, job.invalid),
            (ItemState.CANCELLED, job.cancelled),
        )
        if count
    }
    assert job.succeeded + job.failed + job.invalid + job.cancelled == job.total
    assert ended.count() == 1
    assert ended.get().result == JobStatus.CANCELLED
    assert ended.get().details == {
        "kind": "import",
        "total": ACCOUNTS,
        "succeeded": job.succeeded,
        "failed": job.failed,
        "invalid": job.invalid,
        "cancelled": job.cancelled,
        "error_code": None,
    }
    imported = TrackedAccount.objects.filter(state=AccountState.IMPORTED).count()
    pending = TrackedAccount.objects.filter(state=AccountState.PENDING).count()
    assert (imported, pending) == (job.succeeded, job.cancelled)
    assert sandbox.stats()["accounts"] == job.succeeded
