"""The API end to end: a token made by the command, the live server, real workers.

The requests go over HTTP to pytest-django's live server; a real qcluster
sends the jobs to the sandbox over HTTP; the sandbox refuses a share of the
accounts (FailAccounts) so some fail, and a retry through the API imports them.
"""

import io
import time

import pytest
import requests
from django.core.management import call_command

from accounts.im import errors
from accounts.models import AccountState, AuditAction, AuditEvent, TrackedAccount
from tests.integration.test_roles import user_with_role

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]
ACCOUNTS = 5000


class Api:
    """requests against the live server with one token."""

    def __init__(self, base, raw):
        self.base = f"{base}/api/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {raw}"

    def get(self, path, **params):
        response = self.http.get(self.base + path, params=params, timeout=30)
        assert response.status_code == 200, response.text
        return response.json()

    def post(self, path, body=None, status=202, **headers):
        response = self.http.post(
            self.base + path, json=body, headers=headers, timeout=120
        )
        assert response.status_code == status, response.text
        return response.json()

    def settled(self, job_id, timeout=180):
        """Poll the job until its counts are final; returns its last body."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(f"/jobs/{job_id}")
            if job["finished_at"]:
                return job
            time.sleep(0.5)
        raise AssertionError(f"job {job_id} did not settle in {timeout}s: {job}")

    def accounts(self, job_id, state):
        rows, cursor = [], None
        while True:
            params = {"state": state, "limit": 100}
            if cursor:
                params["cursor"] = cursor
            page = self.get(f"/jobs/{job_id}/accounts", **params)
            rows += page["accounts"]
            cursor = page["next_cursor"]
            if cursor is None:
                return rows


def bulk_import_with_failures(api, qcluster, sandbox):
    """A 5,000-account job through the API, polled until settled, some failed.

    Returns the job's last body and its failed accounts, read page by page.
    """
    cluster = qcluster(workers=2, IM_MAX_ATTEMPTS=2)
    sandbox.set_faults(fail_accounts_rate=0.2)  # ~4% fail both attempts
    accounts = [{"user_id": f"bulk-{i:05d}", "nick": f"N{i}"} for i in range(ACCOUNTS)]
    body = {"kind": "import", "accounts": accounts}
    started = api.post("/jobs", body, **{"Idempotency-Key": "e2e"})
    assert started["invalid"] == [] and started["job"]["total"] == ACCOUNTS
    job = api.settled(started["job"]["id"])
    assert job["status"] == "done_with_errors", cluster.log_text()[-3000:]
    assert job["succeeded"] + job["failed"] == ACCOUNTS and job["failed"] > 0
    assert job["remaining"] == 0 and job["eta_seconds"] is None and job["rate"] > 0
    failed = api.accounts(job["id"], "failed")
    assert len(failed) == job["failed"]
    assert {row["error"]["code"] for row in failed} == {str(errors.FAIL_ACCOUNTS)}
    assert failed[0]["error"]["message"] == errors.describe(errors.FAIL_ACCOUNTS)
    again = api.post("/jobs", body, **{"Idempotency-Key": "e2e"})
    assert again["job"]["id"] == job["id"]  # the same job, not a second one
    return job, failed


def test_a_token_imports_one_account_then_a_5000_account_job_and_retries_its_failures(
    live_server, qcluster, sandbox
):
    user_with_role("importer", "ivy")
    out = io.StringIO()
    call_command("create_api_token", "ivy", "--label", "backend", stdout=out)
    api = Api(live_server.url, out.getvalue().strip().splitlines()[-1])

    one = api.post("/accounts", {"user_id": "solo/1", "nick": "Solo"}, status=200)
    assert (one["outcome"], one["state"], one["error"]) == (
        "imported",
        "imported",
        None,
    )
    assert sandbox.account("solo/1")["Nick"] == "Solo"

    job, failed = bulk_import_with_failures(api, qcluster, sandbox)
    sandbox.set_faults(fail_accounts_rate=0.0)
    retry = api.post(f"/jobs/{job['id']}/retry")
    assert retry["retry_of"] == job["id"] and retry["job"]["total"] == len(failed)
    done = api.settled(retry["job"]["id"])
    assert (done["status"], done["succeeded"]) == ("done", len(failed))
    assert TrackedAccount.objects.filter(state=AccountState.IMPORTED).count() == (
        ACCOUNTS + 1
    )
    assert sandbox.account(failed[0]["user_id"]) is not None
    retried = AuditEvent.objects.get(action=AuditAction.JOB_RETRY)
    assert retried.details["via"] == "api"
    assert retried.details["api_token"]["label"] == "backend"
