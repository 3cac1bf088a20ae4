"""Every API operation × a request without a token and each role's token.

The operations come from the OpenAPI document, so a new endpoint cannot be
forgotten: one missing from EXPECTED fails. A token gets exactly its user's
role's rights (accounts/roles.py), the pages' rights:

- support: import one account, read accounts;
- importer: support's, plus bulk jobs (import, check, delete), reading jobs,
  their accounts, retry and cancel;
- auditor: reads accounts and jobs; changes nothing (403 on every write).

Each cell is the status of one real request with a valid body, so 200/202
means the write happened (the sandbox answers the single import).
"""

import json

import pytest
from django.test import Client

from accounts import services
from accounts.api.app import api
from accounts.models import ImportJob, JobItem, TrackedAccount
from tests.integration.test_roles import user_with_role

pytestmark = pytest.mark.django_db
PERSONAS = ("none", "support", "importer", "auditor")

# (method, OpenAPI path): "none support importer auditor"
EXPECTED = {
    ("post", "/api/v1/accounts"): "401 200 200 403",
    ("get", "/api/v1/accounts/{user_id}"): "401 200 200 200",
    ("post", "/api/v1/jobs"): "401 403 202 403",
    ("get", "/api/v1/jobs/{job_id}"): "401 403 200 200",
    ("get", "/api/v1/jobs/{job_id}/accounts"): "401 403 200 200",
    ("post", "/api/v1/jobs/{job_id}/retry"): "401 403 202 403",
    ("post", "/api/v1/jobs/{job_id}/cancel"): "401 403 200 403",
}


def operations():
    paths = api.get_openapi_schema(path_prefix="/api/v1")["paths"]
    return {(method, path) for path, ops in paths.items() for method in ops}


@pytest.fixture
def samples(im_settings):
    tokens = {"none": None}
    for role in PERSONAS[1:]:
        user = user_with_role(role, f"{role}-api")
        tokens[role] = services.api_token_create(user=user, label=role)[1]
    job = ImportJob.objects.create(
        kind="import", source="api", status="done_with_errors", total=1, failed=1
    )
    account = TrackedAccount.objects.create(
        user_id="team/alice", state="failed", job=job
    )
    JobItem.objects.create(job=job, account=account, state="failed")
    running = ImportJob.objects.create(kind="check", source="api", status="running")
    return tokens, {"job": job.pk, "running": running.pk}


def request_for(method, path, ids):
    """The URL and JSON body of a valid request to the operation."""
    job = ids["running"] if path.endswith("/cancel") else ids["job"]
    url = path.replace("{user_id}", "team/alice").replace("{job_id}", str(job))
    bodies = {
        "/api/v1/accounts": {"user_id": "matrix-one", "nick": "One"},
        "/api/v1/jobs": {"kind": "import", "accounts": [{"user_id": "matrix-bulk"}]},
    }
    return url, bodies.get(path)


def status_of(method, path, raw, ids):
    """The status one request gets with the token ``raw`` (None: no token)."""
    headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"} if raw else {}
    url, body = request_for(method, path, ids)
    if method == "get":
        return Client().get(url, **headers).status_code
    data = json.dumps(body) if body is not None else ""
    response = Client().post(url, data, content_type="application/json", **headers)
    return response.status_code


def statuses(method, path, tokens, ids):
    return " ".join(
        str(status_of(method, path, tokens[persona], ids)) for persona in PERSONAS
    )


def test_every_operation_has_expectations_and_every_expectation_an_operation():
    assert sorted(operations() - set(EXPECTED)) == [], "operations with no row"
    assert sorted(set(EXPECTED) - operations()) == [], "rows for no operation"


@pytest.mark.parametrize("operation", sorted(EXPECTED))
def test_each_roles_token_gets_exactly_its_roles_rights(operation, samples):
    tokens, ids = samples
    method, path = operation
    assert statuses(method, path, tokens, ids) == EXPECTED[operation], path


def test_a_superusers_token_may_do_everything(samples):
    _, ids = samples
    boss = user_with_role(None, "boss-api", is_superuser=True)
    raw = services.api_token_create(user=boss)[1]
    for method, path in sorted(EXPECTED):
        found = status_of(method, path, raw, ids)
        assert found in (200, 202), (method, path, found)
