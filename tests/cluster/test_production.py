"""The production layout, end to end: `.ci/prod-local` as the README runs it.

gunicorn (WhiteNoise serving the collected static files), two qcluster
processes and the sandbox on PostgreSQL and Redis; a person signs in over
HTTP, uploads a CSV, confirms it, and the workers import it into the sandbox.
"""

import os
import re
import secrets
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.db import connection

from imsandbox import TOKEN_HEADER, token_path
from tests.fixtures_pipeline import _purge_broker, database_url
from tests.fixtures_production import (
    csrf_token,
    free_port,
    http_wait,
    signed_in_session,
)
from tests.integration.test_roles import user_with_role
from tests.personas import PASSWORD

ROOT = Path(__file__).resolve().parent.parent.parent
pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.cluster,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql" or not settings.REDIS_URL,
        reason="the production layout runs on PostgreSQL and Redis",
    ),
]
HASHED_CSS = re.compile(r'href="(/static/imadmin/site\.[0-9a-f]{12}\.css)"')


@pytest.fixture
def layout(tmp_path):
    """`.ci/prod-local` on the test database; stopped with SIGTERM after the test."""
    _purge_broker()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IM_")}
    port, sandbox_port = free_port(), free_port()
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=settings.REDIS_URL,
        IMADMIN_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SECRET_KEY=secrets.token_hex(32),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        PROD_BIND=f"127.0.0.1:{port}",
        IM_SANDBOX_PORT=str(sandbox_port),
        PROD_CLUSTERS="2",
        Q_WORKERS="1",
    )
    log = tmp_path / "prod-local.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(ROOT / ".ci" / "prod-local")],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, proc, log)
        yield {"url": base, "var": tmp_path / "var", "sandbox_port": sandbox_port}
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


def _wait_ready(base, proc, log, timeout=90):
    http_wait(f"{base}/healthz", timeout=timeout, proc=proc, log=log)
    deadline = time.monotonic() + timeout
    while requests.get(f"{base}/readyz", timeout=10).status_code != 200:
        assert time.monotonic() < deadline, requests.get(f"{base}/readyz").text
        time.sleep(0.5)


def _sandbox_account(var, sandbox_port, user_id):
    token = token_path(var / "im-sandbox-state.sqlite3").read_text().strip()
    answer = requests.get(
        f"http://127.0.0.1:{sandbox_port}/sandbox/accounts/{user_id}",
        headers={TOKEN_HEADER: token},
        timeout=10,
    )
    return answer.json() if answer.status_code == 200 else None


def _server_side_password(user):
    # The tests hash with MD5 (conftest); the server knows only the real hashers.
    user.password = PBKDF2PasswordHasher().encode(PASSWORD, "prodsalt", 1000)
    user.save(update_fields=["password"])


def _upload_and_confirm(session, base, rows):
    token = csrf_token(session, f"{base}/uploads/new/")
    csv = "UserID,Nick\n" + "".join(f"{u},{n}\n" for u, n in rows)
    preview = session.post(
        f"{base}/uploads/new/",
        data={"encoding": "auto", "csrfmiddlewaretoken": token},
        files={"file": ("people.csv", csv.encode(), "text/csv")},
        timeout=30,
    )
    assert preview.status_code == 200 and "/uploads/" in preview.url, preview.text
    confirm = f"{preview.url.rstrip('/')}/confirm/"
    token = csrf_token(session, preview.url)
    job_page = session.post(confirm, data={"csrfmiddlewaretoken": token}, timeout=30)
    match = re.search(r"/jobs/(\d+)/$", job_page.url)
    assert match, job_page.url
    return int(match[1])


def _wait_settled(session, base, job_id, timeout=90):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        progress = session.get(f"{base}/jobs/{job_id}/progress.json", timeout=10)
        if progress.json()["settled"]:
            return progress.json()
        time.sleep(0.5)
    raise AssertionError(f"job {job_id} not settled: {progress.json()}")


def test_it_imports_a_csv_through_gunicorn_and_qclusters_and_serves_static(layout):
    base = layout["url"]
    # The importer role as a deployment has it (its group's permissions).
    _server_side_password(user_with_role("importer", "ops-importer"))
    session = signed_in_session(base, "ops-importer", PASSWORD)
    rows = [(f"prod{i:04d}", f"Person {i}") for i in range(250)]

    job_id = _upload_and_confirm(session, base, rows)
    progress = _wait_settled(session, base, job_id)

    assert (progress["status"], progress["succeeded"]) == ("done", 250), progress
    held = _sandbox_account(layout["var"], layout["sandbox_port"], "prod0249")
    assert held["Nick"] == "Person 249"
    _assert_hashed_static_files_served(base)


def _assert_hashed_static_files_served(base):
    login = requests.get(f"{base}/login/", timeout=10).text
    path = HASHED_CSS.search(login)[1]
    plain = requests.get(base + path, headers={"Accept-Encoding": "identity"})
    packed = requests.get(base + path, headers={"Accept-Encoding": "gzip"}, stream=True)
    assert plain.status_code == packed.status_code == 200
    assert "immutable" in plain.headers["Cache-Control"]
    assert packed.headers["Content-Encoding"] == "gzip"
    assert int(packed.headers["Content-Length"]) < len(plain.content)
