"""Pytest fixtures that run the IM sandbox (``manage.py im_sandbox``) as a subprocess.

Fixtures (loaded by tests/conftest.py):

- ``sandbox``: function-scoped; the session's shared sandbox process, reset before
  each test (faults back to the start-up values, counters cleared, accounts and
  deletion blocks wiped). Change faults with ``sandbox.set_faults(...)``.
- ``sandbox_factory``: ``sandbox_factory("--account-limit", "3", state=path,
  env={...})`` starts a private process (own state file unless ``state`` is
  given); every process it made is stopped after the test.
- ``im_config``: an ``ImConfig`` pointed at ``sandbox``.
- ``im_client``: an ``ImClient`` for ``sandbox``, closed after the test.
- ``im_sandbox``: session-scoped, the shared process itself (prefer ``sandbox``).

Helpers: ``SandboxProcess`` (``.url``, ``.stats()``, ``.set_faults(**kw)``,
``.reset(accounts=True)``, ``.account(user_id)``, ``.drop_accounts(ids)``,
``.pause()``, ``.resume()``, ``.log_text()``, ``.stop()``) and
``im_config_for(sandbox, **overrides)``.
"""

import dataclasses
import itertools
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import quote

import pytest
import requests
from django.conf import settings

from accounts import conf
from accounts.im.client import ImClient, ImConfig
from imsandbox import TOKEN_HEADER, token_path

REPO_ROOT = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"IM sandbox listening on (http://\S+)")
START_TIMEOUT = 30
_numbers = itertools.count(1)


class SandboxProcess:
    """One ``manage.py im_sandbox --port 0`` subprocess and its control API."""

    def __init__(self, workdir, *args, state=None, env=None):
        workdir = Path(workdir)
        number = next(_numbers)
        self.state = Path(state) if state else workdir / f"im-sandbox-{number}.sqlite3"
        self.log_path = workdir / f"im-sandbox-{number}.log"
        command = [sys.executable, "manage.py", "im_sandbox", "--port", "0"]
        command += ["--state", str(self.state), *args]
        self._log = open(self.log_path, "wb")  # closed by stop()
        self._process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=subprocess.PIPE,
            stderr=self._log,
            text=True,
        )
        self._http = requests.Session()
        self.url = self._wait_for_url()

    def __repr__(self):
        return f"<SandboxProcess {getattr(self, 'url', '?')}>"

    def _wait_for_url(self):
        found = {}
        ready = threading.Event()

        def read_stdout():
            # Keep reading after the line so the pipe never fills up.
            for line in self._process.stdout:
                match = LISTENING.search(line)
                if match and "url" not in found:
                    found["url"] = match[1]
                    ready.set()
            ready.set()

        threading.Thread(target=read_stdout, daemon=True).start()
        ready.wait(START_TIMEOUT)
        if "url" not in found:
            self.stop()
            raise RuntimeError(f"the IM sandbox did not start:\n{self.log_text()}")
        return found["url"]

    @property
    def alive(self):
        return self._process.poll() is None

    @property
    def control_headers(self):
        """What the /sandbox/ test aids need: the token kept beside the state."""
        return {TOKEN_HEADER: token_path(self.state).read_text().strip()}

    def _call(self, method, path, payload=None):
        response = self._http.request(
            method,
            self.url + path,
            json=payload,
            headers=self.control_headers,
            timeout=10,
        )
        if response.status_code == 404 and path.startswith("/sandbox/accounts/"):
            return None
        response.raise_for_status()
        return response.json()

    def stats(self):
        """The sandbox's counters: see ``Sandbox.snapshot``."""
        return self._call("GET", "/sandbox/stats")

    def set_faults(self, **changes):
        """Change faults, limits or the account cap at runtime; returns all of them."""
        return self._call("POST", "/sandbox/faults", changes)

    def reset(self, *, accounts=False):
        """Faults back to the command line's, counters cleared; ``accounts`` wipes."""
        return self._call("POST", "/sandbox/reset", {"accounts": accounts})

    def account(self, user_id):
        """The stored account (UserID, Nick, FaceUrl, imported_at) or None."""
        return self._call("GET", "/sandbox/accounts/" + quote(user_id, safe=""))

    def drop_accounts(self, user_ids):
        """Delete accounts behind the app's back (no re-import block): drift."""
        return self._call("POST", "/sandbox/delete", {"UserIDs": list(user_ids)})

    def pause(self):
        """SIGSTOP the process: it stops answering (the kernel still queues
        connections, so calls connect and then time out). Undo with ``resume``."""
        self._process.send_signal(signal.SIGSTOP)

    def resume(self):
        """SIGCONT after ``pause``: it answers again (the queued requests first)."""
        if self._process.poll() is None:
            self._process.send_signal(signal.SIGCONT)

    def log_text(self):
        """Everything the process wrote to stderr so far."""
        return self.log_path.read_text(errors="replace")

    def stop(self):
        """SIGTERM, then wait; returns the exit code. Safe to call twice."""
        if self._process.poll() is None:
            self.resume()  # a paused process would not see the SIGTERM
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(10)
        self._http.close()
        self._log.close()
        return self._process.returncode


def im_config_for(sandbox, **overrides):
    """An ImConfig with the project's credentials, pointed at ``sandbox``."""
    config = ImConfig(
        sdkappid=conf.sdkappid(),
        secret_key=conf.secret_key(),
        identifier=settings.IM_ADMIN_IDENTIFIER,
        base_url=sandbox.url,
    )
    return dataclasses.replace(config, **overrides)


@pytest.fixture(scope="session")
def im_sandbox(tmp_path_factory):
    process = SandboxProcess(tmp_path_factory.mktemp("im-sandbox"))
    yield process
    process.stop()


@pytest.fixture
def sandbox(im_sandbox):
    im_sandbox.resume()  # harmless when running; a test that paused it may have failed
    if not im_sandbox.alive:
        pytest.fail(f"the shared IM sandbox has stopped:\n{im_sandbox.log_text()}")
    im_sandbox.reset(accounts=True)
    return im_sandbox


@pytest.fixture
def sandbox_factory(tmp_path):
    started = []

    def start(*args, state=None, env=None):
        process = SandboxProcess(tmp_path, *args, state=state, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def im_config(sandbox):
    return im_config_for(sandbox)


@pytest.fixture
def im_client(im_config):
    client = ImClient(im_config)
    yield client
    client.close()
