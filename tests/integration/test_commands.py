"""The management commands, run as scripts would run them."""

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction

from accounts import services
from accounts.models import (
    AccountState,
    AuditEvent,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobStatus,
    TrackedAccount,
)
from accounts.selectors import job_wait
from accounts.services import preparation
from accounts.uploads.preview import COUNTS, preview_stream
from accounts.uploads.xlsx_writer import xlsx_write
from tests.fixtures_pipeline import database_url

pytestmark = pytest.mark.django_db(transaction=True)
ROOT = Path(__file__).resolve().parents[2]


def write_csv(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return str(path)


def run(*args):
    out, err = io.StringIO(), io.StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_accounts_queues_one_job_and_reports_bad_rows(tmp_path):
    path = write_csv(
        tmp_path / "a.csv",
        "\ufeffuserid,NICK,FaceUrl,extra\r\n"
        "alice,Alice,https://x.test/a.png,1\r\n"
        ",empty,,\r\n"
        "bob,Bob,javascript:alert(1),\r\n"
        "alice,again,,\r\n"
        "carol,,,\r\n",
    )
    out, err = run("import_accounts", path, "--json")
    result = json.loads(out)
    assert result["total"] == 2 and result["invalid_rows"] == 3
    assert "line 3: UserID is empty." in err
    assert "line 4: Avatar URL" in err
    assert "line 5: Duplicate of line 2." in err
    assert "ignored columns: extra" in err
    assert ImportJob.objects.get().kind == JobKind.IMPORT
    assert TrackedAccount.objects.get(user_id="alice").nick == "Alice"
    assert set(TrackedAccount.objects.values_list("state", flat=True)) == {
        AccountState.QUEUED
    }


def test_import_accounts_refuses_an_unreadable_file_with_a_message(tmp_path):
    with pytest.raises(CommandError, match="Cannot read"):
        run("import_accounts", str(tmp_path / "missing.csv"))
    png = tmp_path / "x.csv"
    png.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(CommandError, match="binary data"):
        run("import_accounts", str(png))
    no_header = write_csv(tmp_path / "h.csv", "name,nick\nx,y\n")
    with pytest.raises(CommandError, match="no UserID column"):
        run("import_accounts", no_header)
    assert not ImportJob.objects.exists()
    assert not TrackedAccount.objects.exists()


def test_import_accounts_rolls_back_when_the_file_breaks_half_way(tmp_path):
    path = tmp_path / "broken.csv"
    rows = "".join(f"user{i},Nick {i}\n" for i in range(3000))
    path.write_bytes(b"UserID,Nick\n" + rows.encode() + b"late,\xff\xfe bad\n")
    with pytest.raises(CommandError, match="not valid UTF-8"):
        run("import_accounts", str(path), "--encoding", "utf-8")
    assert not TrackedAccount.objects.exists()
    assert not ImportJob.objects.exists()


def test_import_accounts_writes_in_chunks_and_stops_its_job_when_interrupted(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(preparation, "PREPARE_CHUNK", 1000)
    path = write_csv(
        tmp_path / "a.csv", "UserID\n" + "".join(f"k{i}\n" for i in range(3500))
    )
    real_items_add, calls = preparation.items_add, []

    def interrupted_in_third_chunk(job, ids, *rest):
        calls.append(job.pk)
        if len(calls) == 3:
            raise KeyboardInterrupt
        return real_items_add(job, ids, *rest)

    monkeypatch.setattr(preparation, "items_add", interrupted_in_third_chunk)
    with pytest.raises(KeyboardInterrupt):
        run("import_accounts", path)
    job = ImportJob.objects.get()
    assert job.status == JobStatus.STOPPED
    assert "import_accounts stopped before it had read all of" in job.error_message
    assert "it was interrupted" in job.error_message
    assert "preparing" not in job.options
    # The two chunks committed before Ctrl-C are settled, nothing left queued,
    # and no account is failed for the interruption: they are pending again.
    assert (job.total, job.cancelled, job.failed) == (2000, 2000, 0)
    assert job.settled
    assert not JobItem.objects.filter(job=job, state=ItemState.QUEUED).exists()
    assert TrackedAccount.objects.filter(state=AccountState.PENDING).count() == 2000


def test_import_accounts_killed_by_sigterm_leaves_no_job_preparing(tmp_path):
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["UserID", "Nick"])
        writer.writerows([f"t{i:07d}", f"Nick {i}"] for i in range(300_000))
    env = dict(os.environ, DATABASE_URL=database_url())
    command = subprocess.Popen(
        [sys.executable, "manage.py", "import_accounts", str(path)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            job = ImportJob.objects.first()
            if job and job.total:
                break
            time.sleep(0.05)
        else:
            raise AssertionError("the command queued nothing in 60 s")
        command.send_signal(signal.SIGTERM)
        _, err = command.communicate(timeout=30)
    finally:
        command.kill()
    assert command.returncode != 0
    job.refresh_from_db()
    assert job.status == JobStatus.STOPPED, err[-2000:]
    assert "it was interrupted" in job.error_message
    assert 0 < job.total == job.cancelled < 300_000 and job.failed == 0
    assert not JobItem.objects.filter(state=ItemState.QUEUED).exists()


def test_import_accounts_says_when_nothing_needs_importing(tmp_path):
    TrackedAccount.objects.create(user_id="same", state=AccountState.IMPORTED)
    path = write_csv(tmp_path / "a.csv", "UserID\nsame\n")
    out, _ = run("import_accounts", path)
    assert "Nothing to import" in out
    job = ImportJob.objects.get()
    assert (job.status, job.total) == (JobStatus.DONE, 0)


def test_import_accounts_reads_gb18030(tmp_path):
    path = write_csv(tmp_path / "gb.csv", "UserID,Nick\nzhang,张三\n", "gb18030")
    out, _ = run("import_accounts", path, "--json")
    assert json.loads(out)["total"] == 1
    assert TrackedAccount.objects.get().nick == "张三"


def test_import_accounts_waits_for_a_real_worker(tmp_path, qcluster, sandbox):
    qcluster(workers=2)
    path = tmp_path / "big.csv"
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["UserID"])
        writer.writerows([f"w{i:05d}"] for i in range(1500))
    out, _ = run("import_accounts", str(path), "--wait", "--json", "--timeout", "90")
    result = json.loads(out)
    assert (result["status"], result["imported"], result["remaining"]) == (
        "done",
        1500,
        0,
    )
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == 1500


def test_check_accounts_queues_a_reconciliation(im_settings, sandbox, run_job):
    TrackedAccount.objects.create(user_id="f1", state=AccountState.FAILED)
    out, _ = run("check_accounts", "--json")
    job = ImportJob.objects.get(kind=JobKind.CHECK)
    assert json.loads(out)["job"] == job.pk
    again, _ = run("check_accounts")
    assert "already running" in again
    assert ImportJob.objects.count() == 1
    run_job(job)
    assert TrackedAccount.objects.get().remote_status == "NotImported"


def test_export_accounts_streams_csv_and_json(tmp_path):
    TrackedAccount.objects.create(user_id="a1", nick='=HYPERLINK("http://x")')
    TrackedAccount.objects.create(user_id="a2", nick="Zoë", state=AccountState.IMPORTED)
    target = tmp_path / "out.csv"
    run("export_accounts", "--format", "csv", "--output", str(target))
    rows = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["user_id"] for r in rows] == ["a1", "a2"]
    assert rows[0]["nick"].startswith("'=")
    assert {
        "state",
        "remote_status",
        "last_error_code",
        "attempts",
        "imported_at",
        "checked_at",
    } <= set(rows[0])
    out, _ = run("export_accounts", "--format", "json")
    data = json.loads(out)
    assert data[1]["nick"] == "Zoë" and data[1]["state"] == "imported"


def test_export_accounts_exits_non_zero_for_an_unwritable_path():
    with pytest.raises(CommandError, match="Cannot write"):
        run("export_accounts", "--output", "/nonexistent-dir/x.csv")


def test_commands_run_as_subprocesses_with_exit_codes(tmp_path):
    bad = subprocess.run(
        [sys.executable, "manage.py", "import_accounts", str(tmp_path / "nope.csv")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0
    assert "Cannot read" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_the_status_checker_schedule_exists():
    from django_q.models import Schedule

    from accounts.schedules import MAINTENANCE_NAME

    schedule = Schedule.objects.get(name=MAINTENANCE_NAME)
    assert schedule.func == "accounts.tasks.maintenance"
    assert schedule.minutes == 10


def test_job_wait_gives_up_after_its_timeout():
    job = ImportJob.objects.create(kind=JobKind.IMPORT, source="command")
    with pytest.raises(TimeoutError):
        job_wait(job, timeout=0.2, poll=0.05)


def test_import_accounts_says_so_when_its_job_is_cancelled_while_reading(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(preparation, "PREPARE_CHUNK", 100)
    path = write_csv(
        tmp_path / "a.csv", "UserID\n" + "".join(f"c{i}\n" for i in range(300))
    )
    real_items_add = preparation.items_add

    def cancelled_after_first_chunk(job, ids, *rest):
        added = real_items_add(job, ids, *rest)
        if not job.total:
            transaction.on_commit(lambda: services.job_cancel(job=job))
        return added

    monkeypatch.setattr(preparation, "items_add", cancelled_after_first_chunk)
    with pytest.raises(CommandError, match=r"Job #\d+ was cancelled while"):
        run("import_accounts", path)
    job = ImportJob.objects.get()
    assert (job.status, job.total, job.cancelled) == ("cancelled", 100, 100)


def test_import_accounts_finds_duplicates_across_chunks_with_their_first_line(
    tmp_path, monkeypatch
):
    # The job's own items tell a later duplicate, so the reader keeps no set
    # of every UserID seen (memory stays flat however long the file).
    monkeypatch.setattr(preparation, "PREPARE_CHUNK", 100)
    lines = [f"d{i:04d},Nick {i}" for i in range(350)]
    lines[300] = "d0007,Again"  # file line 302 repeats line 9
    lines[301] = "d0299,Again"  # file line 303 repeats line 301, same chunk
    path = write_csv(tmp_path / "d.csv", "UserID,Nick\n" + "\n".join(lines) + "\n")
    out, err = run("import_accounts", path, "--json")
    result = json.loads(out)
    assert result["invalid_rows"] == 2 and result["total"] == 348
    assert "line 302: Duplicate of line 9." in err
    assert "line 303: Duplicate of line 301." in err
    assert TrackedAccount.objects.get(user_id="d0007").nick == "Nick 7"
    job = ImportJob.objects.get()
    assert job.options["summary"]["duplicates"] == 2
    assert JobItem.objects.get(job=job, account__user_id="d0007").line == 9


def test_import_accounts_dry_run_prints_the_pages_counts_and_changes_nothing(
    tmp_path,
):
    TrackedAccount.objects.create(user_id="same", nick="Same", state="imported")
    path = write_csv(
        tmp_path / "dry.csv", "UserID;Nick\nnew1;N\nsame;Same\nbad id;x\nnew1;again\n"
    )
    before = (ImportJob.objects.count(), AuditEvent.objects.count())
    out, _ = run("import_accounts", path, "--dry-run", "--json")
    printed = json.loads(out)
    with open(path, "rb") as stream:
        _, summary = preview_stream(stream, "auto")
    assert printed == {
        "read_as": "utf-8",
        **{name: summary[name] for name in (*COUNTS, "to_send")},
    }
    assert (printed["valid"], printed["new"], printed["unchanged"]) == (2, 1, 1)
    assert (printed["invalid"], printed["duplicates"]) == (2, 1)
    assert (ImportJob.objects.count(), AuditEvent.objects.count()) == before
    assert TrackedAccount.objects.count() == 1


def test_import_accounts_reads_an_xlsx(tmp_path):
    path = tmp_path / "people.xlsx"
    xlsx_write(path, [("UserID", "Nick"), ("x1", "张三"), ("x2", "")])
    out, _ = run("import_accounts", str(path), "--json")
    assert json.loads(out)["total"] == 2
    assert TrackedAccount.objects.get(user_id="x1").nick == "张三"
