"""The JSON API through Django's full request path: tokens, errors, jobs, audit."""

import io
import json
import logging
import threading

import pytest
import requests
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client
from openapi_spec_validator import validate

from accounts import services
from accounts.api.app import api
from accounts.models import (
    ApiToken,
    AuditAction,
    AuditEvent,
    IdempotencyKey,
    ImportJob,
    JobItem,
    JobKind,
    TrackedAccount,
)
from tests.integration.test_roles import user_with_role
from tests.integration.test_secrets_never_leak import database_text, leaks

pytestmark = pytest.mark.django_db


def token_for(role, username=None, label=""):
    user = user_with_role(role, username or f"{role}-t")
    return services.api_token_create(user=user, label=label)


def call(raw, method, url, body=None, **headers):
    if raw:
        headers["HTTP_AUTHORIZATION"] = f"Bearer {raw}"
    client = Client()
    if method == "GET":
        return client.get(url, **headers)
    data = body if isinstance(body, str) else json.dumps(body or {})
    return client.post(url, data, content_type="application/json", **headers)


def error_of(response):
    return response.json()["error"]


# -- tokens -------------------------------------------------------------------


def test_the_command_prints_the_token_last_and_stores_only_its_hash():
    user_with_role("importer", "ivy")
    out = io.StringIO()
    call_command("create_api_token", "ivy", "--label", "sign-up", stdout=out)
    raw = out.getvalue().strip().splitlines()[-1]
    token = ApiToken.objects.get()
    assert raw.startswith(f"ima_{token.prefix}_") and token.label == "sign-up"
    assert raw not in json.dumps(list(ApiToken.objects.values()), default=str)
    entry = AuditEvent.objects.get(action=AuditAction.TOKEN_CREATED)
    assert entry.details == {"label": "sign-up", "prefix": token.prefix, "user": "ivy"}
    assert raw not in json.dumps(entry.details)
    assert call(raw, "GET", "/api/v1/accounts/nobody").status_code == 404


def test_the_command_refuses_an_unknown_user():
    with pytest.raises(Exception, match="No user 'ghost'"):
        call_command("create_api_token", "ghost", stdout=io.StringIO())
    assert not ApiToken.objects.exists()


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Bearer nonsense",
        "Basic aXZ5OnB3",
        "Bearer ima_000000000000_wrong",
    ],
)
def test_a_missing_or_invalid_token_gets_401(header):
    headers = {"HTTP_AUTHORIZATION": header} if header else {}
    response = Client().get("/api/v1/jobs/1", **headers)
    assert response.status_code == 401
    assert error_of(response)["code"] == "unauthorized"


def test_a_right_prefix_with_a_wrong_secret_gets_401():
    token, raw = token_for("importer")
    forged = raw[:-4] + ("AAAA" if not raw.endswith("AAAA") else "BBBB")
    assert call(forged, "GET", "/api/v1/jobs/1").status_code == 401
    assert call(raw, "GET", "/api/v1/jobs/1").status_code == 404


def test_a_revoked_token_gets_401_and_the_revocation_is_audited(client):
    token, raw = token_for("importer", label="nightly")
    assert call(raw, "GET", "/api/v1/jobs/1").status_code == 404
    boss = user_with_role(None, "boss", is_superuser=True, is_staff=True)
    client.force_login(boss)
    listing = client.get("/admin/accounts/apitoken/")
    assert listing.status_code == 200 and token.prefix in listing.text
    assert raw not in listing.text
    page = client.get(f"/admin/accounts/apitoken/{token.pk}/change/")
    assert page.status_code == 200 and raw not in page.text
    assert 'name="_save"' not in page.text  # read-only
    assert token.key_hash not in page.text
    response = client.post(
        "/admin/accounts/apitoken/",
        {"action": "revoke_selected", "_selected_action": [token.pk]},
    )
    assert response.status_code == 302
    assert call(raw, "GET", "/api/v1/jobs/1").status_code == 401
    entry = AuditEvent.objects.get(action=AuditAction.TOKEN_REVOKED)
    assert (entry.actor, entry.details["prefix"]) == (boss, token.prefix)
    assert client.get("/admin/accounts/apitoken/add/").status_code == 403


def test_an_inactive_users_token_gets_401():
    token, raw = token_for("importer")
    token.user.is_active = False
    token.user.save()
    assert call(raw, "GET", "/api/v1/jobs/1").status_code == 401


def test_last_use_is_written_at_most_once_a_minute():
    token, raw = token_for("auditor")
    call(raw, "GET", "/api/v1/jobs/1")
    token.refresh_from_db()
    first = token.last_used_at
    assert first is not None
    call(raw, "GET", "/api/v1/jobs/1")
    token.refresh_from_db()
    assert token.last_used_at == first


def test_too_many_requests_get_429_with_retry_after(settings):
    settings.API_RATE_LIMIT = 3
    _, raw = token_for("auditor")
    _, other = token_for("auditor", "auditor-2")
    found = [call(raw, "GET", "/api/v1/jobs/1").status_code for _ in range(4)]
    assert found == [404, 404, 404, 429]
    response = call(raw, "GET", "/api/v1/jobs/1")
    assert response.status_code == 429 and error_of(response)["code"] == "rate_limited"
    assert 1 <= int(response["Retry-After"]) <= settings.API_RATE_WINDOW_SECONDS
    assert call(other, "GET", "/api/v1/jobs/1").status_code == 404  # its own count


# -- errors -------------------------------------------------------------------


def test_errors_are_json_with_a_code_and_a_message(settings):
    _, raw = token_for("importer")
    cases = [
        (call(raw, "POST", "/api/v1/jobs", "{not json"), 400, "invalid_json"),
        (call(raw, "POST", "/api/v1/jobs", {"kind": "merge"}), 400, "invalid_request"),
        (call(raw, "POST", "/api/v1/jobs", {"kind": "import"}), 400, "invalid_request"),
        (
            call(raw, "POST", "/api/v1/jobs", {"kind": "check", "user_ids": ["a b"]}),
            400,
            "no_valid_entries",
        ),
        (call(raw, "GET", "/api/v1/jobs/999"), 404, "not_found"),
        (
            call(raw, "GET", "/api/v1/jobs/1/accounts?state=lost"),
            400,
            "invalid_request",
        ),
        (call(raw, "GET", "/api/v1/jobs/1/accounts?cursor=x"), 400, "invalid_request"),
        (call(raw, "POST", "/api/v1/jobs/999/retry"), 404, "not_found"),
        (call(raw, "GET", "/api/v1/jobs/abc"), 404, "not_found"),
        (call(raw, "GET", "/api/v1/nothing/here"), 404, "not_found"),
        (call(None, "GET", "/api/v1/nothing"), 404, "not_found"),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.content
        assert error_of(response)["code"] == code
        assert error_of(response)["message"].endswith((".", ")"))


def test_a_body_over_the_limit_gets_413(settings):
    settings.API_MAX_BODY_BYTES = 1000
    _, raw = token_for("importer")
    accounts = [{"user_id": f"big{i}", "nick": "x" * 50} for i in range(40)]
    response = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": accounts}
    )
    assert response.status_code == 413 and error_of(response)["code"] == "too_large"
    assert not ImportJob.objects.exists()


def test_more_than_10000_entries_get_413():
    _, raw = token_for("importer")
    ids = [f"u{i}" for i in range(10_001)]
    response = call(raw, "POST", "/api/v1/jobs", {"kind": "check", "user_ids": ids})
    assert response.status_code == 413
    assert error_of(response)["code"] == "too_many_entries"


def test_a_body_above_the_pages_limit_is_read_under_the_apis(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # the forms' limit, not the API's
    _, raw = token_for("importer")
    accounts = [{"user_id": f"many{i}", "nick": "x" * 50} for i in range(100)]
    response = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": accounts}
    )
    assert response.status_code == 202
    assert response.json()["job"]["total"] == 100


# -- jobs ---------------------------------------------------------------------


def test_invalid_entries_come_back_with_index_and_reason_and_the_rest_go():
    _, raw = token_for("importer")
    accounts = [
        {"user_id": "ok-1", "nick": "One"},
        {"user_id": "has space"},
        {"user_id": "ok-2", "face_url": "ftp://nope"},
        {"user_id": "ok-1"},
        {"user_id": "x" * 33},
        {"user_id": "ok-3", "face_url": "https://example.com/a.png"},
    ]
    response = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": accounts}
    )
    assert response.status_code == 202
    body = response.json()
    assert [e["index"] for e in body["invalid"]] == [1, 2, 3, 4]
    assert "printable ASCII" in body["invalid"][0]["reason"]
    assert "http:// or https://" in body["invalid"][1]["reason"]
    assert "index 0" in body["invalid"][2]["reason"]
    assert "33 bytes" in body["invalid"][3]["reason"]
    job = ImportJob.objects.get(pk=body["job"]["id"])
    assert (job.total, job.source, job.kind) == (2, "api", "import")
    assert set(job.items.values_list("account__user_id", flat=True)) == {"ok-1", "ok-3"}
    assert body["job"]["total"] == 2 and body["job"]["status"] in ("queued", "running")


def test_a_check_or_delete_lists_untracked_userids_as_invalid():
    _, raw = token_for("importer")
    for user_id in ("known/1", "known%2"):
        TrackedAccount.objects.create(user_id=user_id, state="imported")
    body = {"kind": "delete", "user_ids": ["known/1", "stranger", "known%2", ""]}
    response = call(raw, "POST", "/api/v1/jobs", body)
    assert response.status_code == 202
    invalid = response.json()["invalid"]
    assert [(e["index"], e["user_id"]) for e in invalid] == [(1, "stranger"), (3, "")]
    assert "tracked" in invalid[0]["reason"] and "empty" in invalid[1]["reason"]
    job = ImportJob.objects.get(pk=response.json()["job"]["id"])
    assert (job.kind, job.total) == (JobKind.DELETE, 2)


def test_a_deletion_over_the_cap_is_refused_with_403_and_starts_nothing(settings):
    settings.DELETE_MAX_ACCOUNTS = 2
    _, raw = token_for("importer")
    ids = ["d1", "d2", "d3"]
    TrackedAccount.objects.bulk_create(
        [TrackedAccount(user_id=i, state="imported") for i in ids]
    )
    response = call(raw, "POST", "/api/v1/jobs", {"kind": "delete", "user_ids": ids})
    assert response.status_code == 403
    assert error_of(response)["code"] == "delete_refused"
    assert "at most 2" in error_of(response)["message"]
    assert not ImportJob.objects.exists()
    under = call(raw, "POST", "/api/v1/jobs", {"kind": "delete", "user_ids": ids[:2]})
    assert under.status_code == 202


def test_accounts_busy_in_another_job_make_a_409():
    _, raw = token_for("importer")
    TrackedAccount.objects.create(user_id="busy", state="queued")
    response = call(
        raw, "POST", "/api/v1/jobs", {"kind": "check", "user_ids": ["busy"]}
    )
    assert response.status_code == 409 and error_of(response)["code"] == "nothing_to_do"
    assert not ImportJob.objects.exists()


def test_an_import_of_unchanged_accounts_is_a_job_done_at_once():
    _, raw = token_for("importer")
    TrackedAccount.objects.create(user_id="same", state="imported")
    response = call(
        raw,
        "POST",
        "/api/v1/jobs",
        {"kind": "import", "accounts": [{"user_id": "same"}]},
    )
    assert response.status_code == 202
    assert response.json()["job"]["status"] == "done"
    assert response.json()["job"]["total"] == 0


def test_a_repeated_idempotency_key_returns_the_first_job():
    _, raw = token_for("importer")
    body = {"kind": "import", "accounts": [{"user_id": "once"}, {"user_id": "b d"}]}
    first = call(raw, "POST", "/api/v1/jobs", body, HTTP_IDEMPOTENCY_KEY="k-1")
    again = call(raw, "POST", "/api/v1/jobs", body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 202
    assert first.json()["job"]["id"] == again.json()["job"]["id"]
    assert again.json()["invalid"] == first.json()["invalid"] != []
    assert ImportJob.objects.count() == 1
    other = call(raw, "POST", "/api/v1/jobs", body, HTTP_IDEMPOTENCY_KEY="k-2")
    # A new key is a new job; "once" stays with the first job, which holds it.
    assert other.status_code == 202 and other.json()["job"]["total"] == 0
    changed = {"kind": "import", "accounts": [{"user_id": "twice"}]}
    reused = call(raw, "POST", "/api/v1/jobs", changed, HTTP_IDEMPOTENCY_KEY="k-1")
    assert reused.status_code == 409
    assert error_of(reused)["code"] == "idempotency_key_reused"
    assert ImportJob.objects.count() == 2


def test_keys_belong_to_their_user():
    _, raw = token_for("importer")
    _, other = token_for("importer", "importer-2")
    body = {"kind": "import", "accounts": [{"user_id": "mine"}]}
    call(raw, "POST", "/api/v1/jobs", body, HTTP_IDEMPOTENCY_KEY="same")
    body = {"kind": "import", "accounts": [{"user_id": "theirs"}]}
    response = call(other, "POST", "/api/v1/jobs", body, HTTP_IDEMPOTENCY_KEY="same")
    assert response.status_code == 202
    assert IdempotencyKey.objects.count() == ImportJob.objects.count() == 2


def test_a_jobs_accounts_come_in_cursor_pages_by_state():
    _, raw = token_for("importer")
    accounts = [{"user_id": f"p{i:03d}"} for i in range(25)]
    job_id = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": accounts}
    ).json()["job"]["id"]
    JobItem.objects.filter(job_id=job_id, account__user_id__lt="p010").update(
        state="failed", error_code=20003
    )
    seen, cursor = [], None
    while True:
        url = f"/api/v1/jobs/{job_id}/accounts?state=failed&limit=4"
        page = call(raw, "GET", url + (f"&cursor={cursor}" if cursor else "")).json()
        seen += page["accounts"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert [a["user_id"] for a in seen] == [f"p{i:03d}" for i in range(10)]
    assert seen[0]["error"]["code"] == "20003" and seen[0]["error"]["message"]
    everything = call(raw, "GET", f"/api/v1/jobs/{job_id}/accounts?limit=100").json()
    assert len(everything["accounts"]) == 25 and everything["next_cursor"] is None


def test_retry_with_nothing_failed_is_409_and_cancel_is_harmless_twice():
    _, raw = token_for("importer")
    job_id = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": [{"user_id": "c"}]}
    ).json()["job"]["id"]
    retry = call(raw, "POST", f"/api/v1/jobs/{job_id}/retry")
    assert retry.status_code == 409 and error_of(retry)["code"] == "nothing_to_do"
    first = call(raw, "POST", f"/api/v1/jobs/{job_id}/cancel")
    assert first.status_code == 200 and first.json()["cancelled"] is True
    assert first.json()["job"]["status"] == "cancelled"
    again = call(raw, "POST", f"/api/v1/jobs/{job_id}/cancel")
    assert again.status_code == 200 and again.json()["cancelled"] is False
    assert TrackedAccount.objects.get(user_id="c").state == "pending"


# -- accounts -----------------------------------------------------------------


@pytest.mark.parametrize(
    "user_id, path",
    [
        ("team/alice", "team/alice"),
        ("a%b", "a%25b"),
        ("odd?#&=+", "odd%3F%23&=+"),
        ("/lead", "/lead"),
        # Clients collapse "." and ".." segments, so their slashes go encoded.
        ("a/b/../c", "a%2Fb%2F..%2Fc"),
        ("x/./y", "x%2F.%2Fy"),
    ],
)
def test_any_valid_userid_reaches_its_account(user_id, path):
    _, raw = token_for("support")
    TrackedAccount.objects.create(
        user_id=user_id, nick="N", state="failed", last_error_code=70402
    )
    response = call(raw, "GET", f"/api/v1/accounts/{path}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["user_id"], body["nick"], body["state"]) == (user_id, "N", "failed")
    assert body["error"]["code"] == "70402" and body["error"]["message"]


def test_unknown_and_unicode_userids_are_404_not_500():
    _, raw = token_for("support")
    for path in ("nobody", "%E7%94%A8%E6%88%B7", "x" * 200, "a%00b"):
        response = call(raw, "GET", f"/api/v1/accounts/{path}")
        assert response.status_code == 404, path
        assert error_of(response)["code"] == "not_found"


def test_one_import_now_answers_as_the_form_does(im_settings, sandbox):
    token, raw = token_for("support", label="sign-up service")
    body = {"user_id": "now/1", "nick": "Now", "face_url": "https://x.test/a.png"}
    response = call(raw, "POST", "/api/v1/accounts", body)
    assert response.status_code == 200, response.content
    assert response.json() == {
        "user_id": "now/1",
        "state": "imported",
        "remote_status": response.json()["remote_status"],
        "outcome": "imported",
        "job_id": response.json()["job_id"],
        "error": None,
    }
    assert sandbox.account("now/1")["Nick"] == "Now"
    again = call(raw, "POST", "/api/v1/accounts", body).json()
    assert again["outcome"] == "updated"
    bad = call(raw, "POST", "/api/v1/accounts", {"user_id": "no space"})
    assert bad.status_code == 400
    assert "printable ASCII" in error_of(bad)["message"]
    account = TrackedAccount.objects.get(user_id="now/1")
    read = call(raw, "GET", "/api/v1/accounts/now/1").json()
    assert read["state"] == "imported" and read["imported_at"]
    assert [j["item_state"] for j in read["jobs"]] == ["succeeded", "succeeded"]
    assert account.source == "form"


def test_a_busy_account_gets_the_forms_sentence_as_409(im_settings, client):
    _, raw = token_for("support")
    job = ImportJob.objects.create(kind="import", source="csv", status="running")
    TrackedAccount.objects.create(user_id="held", state="queued", job=job)
    response = call(raw, "POST", "/api/v1/accounts", {"user_id": "held"})
    assert response.status_code == 409
    message = error_of(response)["message"]
    assert message == f"held is already queued in job #{job.pk}; wait for it to finish."
    client.force_login(user_with_role("support", "form-user"))
    page = client.post("/import/", {"user_id": "held"})
    assert message in page.text


def test_every_write_made_with_a_token_is_audited_with_its_label_not_its_value(
    im_settings, sandbox
):
    token, raw = token_for("importer", label="backend")
    call(raw, "POST", "/api/v1/accounts", {"user_id": "aud-1"})
    job_id = call(
        raw, "POST", "/api/v1/jobs", {"kind": "import", "accounts": [{"user_id": "a2"}]}
    ).json()["job"]["id"]
    call(raw, "POST", f"/api/v1/jobs/{job_id}/cancel")
    entries = AuditEvent.objects.exclude(action=AuditAction.TOKEN_CREATED)
    actions = set(entries.values_list("action", flat=True))
    assert {
        AuditAction.SINGLE_IMPORT,
        AuditAction.JOB_STARTED,
        AuditAction.JOB_CANCEL,
    } <= actions
    for entry in entries.filter(
        action__in=[AuditAction.SINGLE_IMPORT, AuditAction.JOB_CANCEL]
    ):
        assert entry.actor == token.user
        assert entry.details["via"] == "api"
        assert entry.details["api_token"] == {
            "label": "backend",
            "prefix": token.prefix,
        }
    started = entries.filter(action=AuditAction.JOB_STARTED, job_id=job_id).get()
    assert started.details["api_token"]["prefix"] == token.prefix
    everything = json.dumps(list(AuditEvent.objects.values("details")), default=str)
    assert raw not in everything and token.key_hash not in everything


# -- the OpenAPI document and the docs page --------------------------------------


def test_the_openapi_document_validates_and_lists_every_endpoint():
    _, raw = token_for("auditor")
    response = call(raw, "GET", "/api/v1/openapi.json")
    assert response.status_code == 200
    document = response.json()
    validate(document)
    operations = {
        (method.upper(), path)
        for path, ops in document["paths"].items()
        for method in ops
    }
    assert operations == {
        ("POST", "/api/v1/accounts"),
        ("GET", "/api/v1/accounts/{user_id}"),
        ("POST", "/api/v1/jobs"),
        ("GET", "/api/v1/jobs/{job_id}"),
        ("GET", "/api/v1/jobs/{job_id}/accounts"),
        ("POST", "/api/v1/jobs/{job_id}/retry"),
        ("POST", "/api/v1/jobs/{job_id}/cancel"),
    }
    schemes = document["components"]["securitySchemes"]
    assert {s["scheme"] for s in schemes.values()} == {"bearer"}
    assert api.get_openapi_schema(path_prefix="/api/v1")["paths"].keys() == (
        document["paths"].keys()
    )


def test_the_document_and_docs_need_a_token_or_a_session(client):
    assert Client().get("/api/v1/openapi.json").status_code == 401
    docs = Client().get("/api/v1/docs")
    assert docs.status_code == 302 and docs["Location"].startswith("/login/")
    client.force_login(user_with_role("support", "reader"))
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    assert "/static/ninja/swagger-ui-bundle.js" in page.text
    # Swagger UI from our own static files: no CDN (there is no internet).
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css"):
        assert finders.find(f"ninja/{asset}"), asset  # collectstatic gathers it
    assert "script-src 'self'" in page["Content-Security-Policy"]
    assert client.get("/api/v1/openapi.json").status_code == 200


# -- two requests at once ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_requests_with_one_key_make_one_job(live_server):
    _, raw = token_for("importer")
    body = {
        "kind": "import",
        "accounts": [{"user_id": f"race{i}"} for i in range(2000)],
    }
    start = threading.Barrier(2)
    answers = []

    def post():
        start.wait()
        response = requests.post(
            f"{live_server.url}/api/v1/jobs",
            json=body,
            headers={"Authorization": f"Bearer {raw}", "Idempotency-Key": "race"},
            timeout=60,
        )
        answers.append((response.status_code, response.json()))

    threads = [threading.Thread(target=post) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [status for status, _ in answers] == [202, 202], answers
    assert answers[0][1]["job"]["id"] == answers[1][1]["job"]["id"]
    assert ImportJob.objects.count() == 1 and IdempotencyKey.objects.count() == 1
    assert JobItem.objects.count() == 2000


def test_a_token_needs_no_csrf_token_and_a_session_is_not_a_token(client):
    _, raw = token_for("importer")
    strict = Client(enforce_csrf_checks=True)
    body = json.dumps({"kind": "import", "accounts": [{"user_id": "nocsrf"}]})
    response = strict.post(
        "/api/v1/jobs",
        body,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {raw}",
    )
    assert response.status_code == 202
    client.force_login(user_with_role("importer", "signed-in"))
    response = client.post("/api/v1/jobs", body, content_type="application/json")
    assert response.status_code == 401
    assert client.get("/api/v1/jobs/1").status_code == 401


def test_a_tokens_value_is_in_no_table_log_or_page(
    im_settings, sandbox, caplog, client
):
    caplog.set_level(logging.DEBUG)
    user_with_role("importer", "leaky")
    out = io.StringIO()
    call_command("create_api_token", "leaky", "--label", "l", stdout=out)
    *said, raw = out.getvalue().strip().splitlines()
    call(raw, "POST", "/api/v1/accounts", {"user_id": "leak/1"})
    body = {"kind": "import", "accounts": [{"user_id": "leak/2"}, {"user_id": "x y"}]}
    job_id = call(raw, "POST", "/api/v1/jobs", body).json()["job"]["id"]
    call(raw, "POST", f"/api/v1/jobs/{job_id}/cancel")
    call(raw + "x", "GET", f"/api/v1/jobs/{job_id}")
    call(raw, "GET", "/api/v1/jobs/999")
    client.force_login(user_with_role(None, "root", is_superuser=True, is_staff=True))
    token = ApiToken.objects.get()
    pages = [
        client.get(url).text
        for url in (
            "/admin/accounts/apitoken/",
            f"/admin/accounts/apitoken/{token.pk}/change/",
            "/admin/accounts/auditevent/",
            "/audit/",
        )
    ]
    secrets = {raw, raw.split("_", 2)[2]}
    where = {
        "database": database_text(),
        "logs": caplog.text + "\n".join(str(r.__dict__) for r in caplog.records),
        "pages": "\n".join(pages),
        "command's other lines": "\n".join(said),
    }
    assert token.prefix in where["pages"]  # the search looks where the token is named
    assert {place: leaks(secrets, text) for place, text in where.items()} == {
        place: [] for place in where
    }
