"""`make run` (run_local): ports first, banner once all answer, sandbox options."""

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from imsandbox import TOKEN_HEADER, token_path
from tests.fixtures_production import ROOT, free_port

pytestmark = pytest.mark.cluster


def run_local(tmp_path, *args, sandbox_port):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IM_")}
    env.pop("DATABASE_URL", None)  # its own SQLite file under the var folder
    env.pop("REDIS_URL", None)
    env.update(IMADMIN_VAR_DIR=str(tmp_path), IM_SANDBOX_PORT=str(sandbox_port))
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_local", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def read_banner(proc, timeout=120):
    """stdout's lines up to the one naming the log file (the banner's last)."""
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise AssertionError(f"run_local ended: {proc.stderr.read()}")
        lines.append(line.rstrip("\n"))
        if line.startswith("Logs of all three"):
            return lines
    raise AssertionError(f"no banner in {timeout}s: {lines}")


def test_it_prints_its_banner_once_everything_answers_with_sandbox_options(tmp_path):
    web, sandbox = free_port(), free_port()
    options = "--latency-ms 30 --fault-rate 0.1"
    proc = run_local(
        tmp_path,
        "--addr",
        f"127.0.0.1:{web}",
        "--sandbox",
        options,
        sandbox_port=sandbox,
    )
    try:
        banner = read_banner(proc)
        # Said after every service answered: each answers at once now.
        health = requests.get(f"http://127.0.0.1:{web}/healthz", timeout=2)
        token = token_path(tmp_path / "im-sandbox-state.sqlite3").read_text().strip()
        stats = requests.get(
            f"http://127.0.0.1:{sandbox}/sandbox/stats",
            headers={TOKEN_HEADER: token},
            timeout=2,
        ).json()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)

    assert banner[0] == f"imadmin is running: http://127.0.0.1:{web}/"
    assert banner[1].startswith("Sign in as 'admin' with password: ")
    assert banner[2] == f"IM endpoint: local IM sandbox with {options}."
    assert len(banner) == 4  # nothing of the children's output in between
    assert health.status_code == 200
    faults = stats["faults"]
    assert (faults["latency_ms"], faults["fault_rate"]) == (30, 0.1)
    assert "django-q" in (tmp_path / "run-local.log").read_text()
    assert out.strip() == "Stopped." and proc.returncode == 0, err


@pytest.mark.parametrize("which", ["web", "sandbox"])
def test_it_names_a_taken_port_before_anything_else(tmp_path, which):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        web, sandbox = (busy, free_port()) if which == "web" else (free_port(), busy)
        proc = run_local(tmp_path, "--addr", f"127.0.0.1:{web}", sandbox_port=sandbox)
        out, err = proc.communicate(timeout=60)

    assert proc.returncode == 1 and out == ""
    user = "the web server" if which == "web" else "the IM sandbox"
    assert f"port {busy} on 127.0.0.1 ({user}) already in use" in err
    assert "Traceback" not in err
    # Nothing started or migrated: the settings make the database file empty
    # and 0600 before SQLite would make it 0644, so an empty one may be there.
    database = tmp_path / "imadmin.sqlite3"
    assert not database.exists() or database.stat().st_size == 0


def test_it_refuses_unknown_sandbox_options_before_starting(tmp_path):
    proc = run_local(tmp_path, "--sandbox", "--latency-ms soon", sandbox_port=1)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 1 and out == ""
    assert "--sandbox: Error: argument --latency-ms: invalid int value" in err
