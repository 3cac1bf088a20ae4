"""Fixtures for the production layout: real gunicorn, qclusters, Redis, over HTTP.

- ``free_port()``: a TCP port nobody listens on right now.
- ``redis_server``: a factory of private ``redis-server`` processes on free
  ports (never the shared one), stopped after the test.
- ``web_server``: a factory of ``gunicorn imadmin.wsgi`` processes (the
  README's command) on free ports with the test database; stopped after.
- ``http_wait(url)``: polls until the URL answers at all.
- ``signed_in_session(base_url, username, password)``: a requests session
  signed in through the login form, CSRF token and all.
"""

import os
import re
import shutil
import socket
import sys
import time
from pathlib import Path

import pytest
import requests

from tests.fixtures_pipeline import Managed

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).with_name("gunicorn")
CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_wait(url, *, timeout=60, proc=None, log=None):
    """Poll ``url`` until it answers (any status); the last response."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{url}: the process exited\n{_tail(log)}")
        try:
            return requests.get(url, timeout=5)
        except (requests.ConnectionError, requests.Timeout):
            time.sleep(0.2)  # not listening yet, or its workers still booting
    raise AssertionError(f"{url} did not answer in {timeout}s\n{_tail(log)}")


def _tail(log):
    return Path(log).read_text(errors="replace")[-4000:] if log else ""


def signed_in_session(base_url, username, password):
    """A requests.Session signed in through /login/ as a browser would."""
    session = requests.Session()
    page = session.get(f"{base_url}/login/", timeout=10)
    token = CSRF_FIELD.search(page.text)[1]
    answer = session.post(
        f"{base_url}/login/",
        data={"username": username, "password": password, "csrfmiddlewaretoken": token},
        timeout=10,
    )
    assert "sessionid" in session.cookies, answer.text[:2000]
    return session


def csrf_token(session, url):
    """The CSRF token of the form on the page at ``url``."""
    return CSRF_FIELD.search(session.get(url, timeout=10).text)[1]


def _wait_for_port(port, server, timeout=10):
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            assert time.monotonic() < deadline, server.log_text()
            time.sleep(0.05)


@pytest.fixture
def redis_server(tmp_path):
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is not installed")
    started = []

    def start():
        port = free_port()
        argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)]
        server = Managed(argv, env=dict(os.environ), log_path=tmp_path / "redis.log")
        server.url = f"redis://127.0.0.1:{port}/0"
        _wait_for_port(port, server)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def web_server(tmp_path):
    started = []

    def start(env):
        port = free_port()
        argv = [str(GUNICORN), "imadmin.wsgi", "--bind", f"127.0.0.1:{port}"]
        argv += ["--workers", "1", "--access-logfile", "-", "--no-control-socket"]
        log = tmp_path / f"gunicorn-{len(started)}.log"
        server = Managed(argv, env=env, log_path=log)
        server.url = f"http://127.0.0.1:{port}"
        http_wait(f"{server.url}/healthz", proc=server.proc, log=log)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
