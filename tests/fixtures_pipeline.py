"""Fixtures for the pipeline: settings aimed at a sandbox, running jobs, real workers.

- ``im_settings``: Django settings pointed at the function's ``sandbox``.
- ``run_job(job, timeout=…)``: works a job with an engine in this process until
  it is settled (or paused); an upload's job still preparing is first
  prepared, as the worker's task would.
- ``qcluster``: a factory starting real ``manage.py qcluster`` processes that
  share the test database and the sandbox; stopped (or killed) after the test.
- ``Managed``: any subprocess in a session of its own with its output in a
  log file (``QCluster`` is one; tests/fixtures_production.py starts others).
"""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from accounts import tasks
from accounts.models import JobStatus
from accounts.pipeline.engine import Engine

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def im_settings(settings, sandbox):
    settings.IM_API_BASE_URL = sandbox.url
    settings.IM_READ_TIMEOUT = 5.0
    settings.IM_CLAIM_LEASE_SECONDS = 30
    settings.IM_MAX_ATTEMPTS = 5
    settings.IM_CONCURRENCY = 4
    return settings


def job_ended(job):
    job.refresh_from_db()
    return job.settled or job.status == JobStatus.PAUSED


@pytest.fixture
def run_job():
    def run(job, *, timeout=120):
        deadline = time.monotonic() + timeout
        job.refresh_from_db()
        while job.preparing and "upload" in job.options:
            if time.monotonic() > deadline:
                break
            tasks.job_prepare(job.pk)
            job.refresh_from_db()
        Engine(only_jobs=[job.pk]).run(
            until=lambda: job_ended(job) or time.monotonic() > deadline
        )
        if not job_ended(job):
            raise AssertionError(
                f"job #{job.pk} did not end in {timeout}s: {job.status}"
            )
        return job

    return run


def database_url():
    """A URL for the database the tests use (the test database, not the dev one)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    user = db.get("USER") or "postgres"
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


class Managed:
    """A subprocess in a session of its own, its output appended to ``log_path``."""

    def __init__(self, argv, *, env, log_path):
        self.log_path = log_path
        self._log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def stop(self, timeout=20):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the main process only
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()

    def kill(self):
        """SIGKILL to the whole process group: workers die mid-batch."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait(10)

    def log_text(self):
        return Path(self.log_path).read_text(errors="replace")


class QCluster(Managed):
    """A real django-q2 cluster process sharing the test database and sandbox."""

    def __init__(self, env, log_path):
        argv = [sys.executable, str(ROOT / "manage.py"), "qcluster"]
        super().__init__(argv, env=env, log_path=log_path)


@pytest.fixture
def qcluster(im_settings, sandbox, tmp_path):
    started = []
    _purge_broker()

    def start(workers=2, **env_overrides):
        env = dict(os.environ)
        env.update(
            DATABASE_URL=database_url(),
            IM_API_BASE_URL=sandbox.url,
            Q_WORKERS=str(workers),
            IM_CONCURRENCY=str(im_settings.IM_CONCURRENCY),
            IM_CLAIM_LEASE_SECONDS=str(im_settings.IM_CLAIM_LEASE_SECONDS),
            IM_READ_TIMEOUT=str(im_settings.IM_READ_TIMEOUT),
            IM_RATE_FRACTION=str(im_settings.IM_RATE_FRACTION),
        )
        env.update({k: str(v) for k, v in env_overrides.items()})
        cluster = QCluster(env, tmp_path / f"qcluster-{len(started)}.log")
        started.append(cluster)
        return cluster

    yield start
    for cluster in started:
        cluster.stop()


def _purge_broker():
    # Redis keeps tasks between runs; a leftover task must not meet a new test DB.
    from django_q.brokers import get_broker

    get_broker().purge_queue()
