"""Every URL of the project × anonymous, support, importer, auditor.

The URLs come from the URL configuration, so a new view cannot be forgotten:
one missing from EXPECTED fails. Each cell is the status of a GET and of an
empty POST (CSRF is checked separately below). The policy in one line each:

- anonymous: the sign-in pages only; everything else redirects to sign-in;
- support: the dashboard, the single import form and the accounts;
- importer: support's, plus jobs, retry, cancel, resume, CSV uploads, admin
  actions, and an account's retry, check and delete (after a confirmation);
- auditor: reads everything, the audit history and uploads included, and
  exports it; changes nothing (403 on the import form, uploading, confirm,
  cancel, retry).
"""

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from accounts.models import AuditAction, AuditEvent, ImportJob, JobItem, TrackedAccount
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db
PERSONAS = ("anonymous", "support", "importer", "auditor")

# view name: {method: "anonymous support importer auditor"}
EXPECTED = {
    # django.contrib.auth.urls
    "login": {"GET": "200 200 200 200", "POST": "200 200 200 200"},
    "logout": {"GET": "302 405 405 405", "POST": "302 302 302 302"},
    "password_change": {"GET": "302 200 200 200", "POST": "302 200 200 200"},
    "password_change_done": {"GET": "302 200 200 200", "POST": "302 405 405 405"},
    # the language switcher: open to all, as the sign-in page has it
    "set_language": {"GET": "302 302 302 302", "POST": "302 302 302 302"},
    # the admin's own password page sends everyone to the throttled one above
    "admin_password_change": {"GET": "302 302 302 302", "POST": "302 302 302 302"},
    # dashboard
    "web:home": {"GET": "302 200 200 200", "POST": "302 405 405 405"},
    "web:import_single": {"GET": "302 200 200 403", "POST": "302 200 200 403"},
    "web:account_list": {"GET": "302 200 200 200", "POST": "302 405 405 405"},
    "web:account_detail": {"GET": "302 200 200 200", "POST": "302 405 405 405"},
    "web:account_retry": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    "web:account_check": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    # The confirmation page; an empty POST (no confirm=yes) shows it again.
    "web:account_delete": {"GET": "302 403 200 403", "POST": "302 403 200 403"},
    "web:job_list": {"GET": "302 403 200 200", "POST": "302 405 405 405"},
    "web:job_detail": {"GET": "302 403 200 200", "POST": "302 405 405 405"},
    "web:job_progress": {"GET": "302 403 200 200", "POST": "302 405 405 405"},
    "web:job_failed_csv": {"GET": "302 403 200 200", "POST": "302 405 405 405"},
    "web:job_retry": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    "web:job_cancel": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    "web:job_resume": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    "web:job_continue": {"GET": "302 405 405 405", "POST": "302 403 302 403"},
    # uploads (the sample upload is the importer's own); auditors read them
    "uploads:list": {"GET": "302 403 200 200", "POST": "302 403 405 405"},
    "uploads:new": {"GET": "302 403 200 403", "POST": "302 403 400 403"},
    "uploads:template_csv": {"GET": "302 403 200 403", "POST": "302 403 405 403"},
    "uploads:template_xlsx": {"GET": "302 403 200 403", "POST": "302 403 405 403"},
    "uploads:preview": {"GET": "302 403 200 200", "POST": "302 403 405 405"},
    "uploads:progress": {"GET": "302 403 200 200", "POST": "302 403 405 405"},
    "uploads:confirm": {"GET": "302 403 405 403", "POST": "302 403 302 403"},
    "uploads:cancel": {"GET": "302 403 405 403", "POST": "302 403 302 403"},
    "uploads:invalid_csv": {"GET": "302 403 200 200", "POST": "302 403 405 405"},
    # the audit history
    "audit:list": {"GET": "302 403 403 200", "POST": "302 405 405 405"},
    "audit:export_csv": {"GET": "302 403 403 200", "POST": "302 405 405 405"},
    "audit:export_json": {"GET": "302 403 403 200", "POST": "302 405 405 405"},
    "audit:job": {"GET": "302 403 403 200", "POST": "302 405 405 405"},
    "audit:job_calls_csv": {"GET": "302 403 403 200", "POST": "302 405 405 405"},
    # each person's own notification choice (an empty POST turns email off)
    "notifications:preferences": {"GET": "302 200 200 200", "POST": "302 302 302 302"},
    # probes and Prometheus: no sign-in; /readyz fails here (no worker cluster),
    # /metrics is hidden from anyone without METRICS_TOKEN or an allowed address
    "ops:healthz": {"GET": "200 200 200 200", "POST": "405 405 405 405"},
    "ops:readyz": {"GET": "503 503 503 503", "POST": "405 405 405 405"},
    "ops:metrics": {"GET": "404 404 404 404", "POST": "405 405 405 405"},
}
# The admin: its index and the changelists of this project's records.
# Support users are not staff: the admin sends them to its sign-in page.
ADMIN_EXPECTED = {
    "/admin/": "302 302 200 200",
    "/admin/accounts/trackedaccount/": "302 302 200 200",
    "/admin/accounts/importjob/": "302 302 200 200",
    "/admin/accounts/jobitem/": "302 302 200 200",
    "/admin/accounts/apicall/": "302 302 200 200",
    "/admin/accounts/auditevent/": "302 302 403 200",
    "/admin/auth/user/": "302 302 403 200",
    "/admin/auth/group/": "302 302 403 200",
    "/admin/accounts/trackedaccount/add/": "302 302 403 403",
    # webhooks and scheduled imports: superusers only
    "/admin/accounts/webhookendpoint/": "302 302 403 403",
    "/admin/accounts/webhookdelivery/": "302 302 403 403",
    "/admin/accounts/scheduledimport/": "302 302 403 403",
}


def project_urls(patterns=None, prefix="", namespace=""):
    """(view name, route, pattern) for every URL outside the admin, walked recursively.

    The view name is what reverse() takes: "namespace:name" inside an app's URLs.
    """
    patterns = get_resolver().url_patterns if patterns is None else patterns
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace == "admin":
                continue  # ADMIN_EXPECTED covers it
            if entry.namespace == "api":
                continue  # Bearer tokens, not sessions: test_api_permission_matrix
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from project_urls(
                entry.url_patterns, prefix + str(entry.pattern), inner
            )
        elif isinstance(entry, URLPattern):
            route = prefix + str(entry.pattern)
            yield (namespace + entry.name if entry.name else route), route, entry


URLS = {name: (route, pattern) for name, route, pattern in project_urls()}


@pytest.fixture
def samples(client, settings):
    """A persona per role, and objects to fill every URL parameter."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {role: user_with_role(role, f"{role}-m") for role in PERSONAS[1:]}
    job = ImportJob.objects.create(
        kind="import",
        source="csv",
        status="done_with_errors",
        total=1,
        failed=1,
        created_by=users["importer"],
    )
    account = TrackedAccount.objects.create(
        user_id="team/alice", state="failed", job=job
    )
    JobItem.objects.create(job=job, account=account, state="failed")
    client.force_login(users["importer"])
    response = client.post(
        "/uploads/new/",
        {
            "file": _csv_file("UserID,Nick\nteam/bob,Bob\nbad id!,x\n"),
            "encoding": "auto",
        },
    )
    assert response.status_code == 302, response.content[:500]
    token = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    client.logout()
    values = {
        "pk": job.pk,
        "user_id": account.user_id,
        "token": token,
        "uidb64": "MQ",
        "fmt": None,
    }
    return users, values


def _csv_file(text):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("people.csv", text.encode(), content_type="text/csv")


def url_for(name, pattern, values):
    kwargs = {k: values[k] for k in pattern.pattern.converters}
    return reverse(name, kwargs=kwargs)


def statuses(url, users, method):
    found = []
    for persona in PERSONAS:
        client = Client()
        if persona != "anonymous":
            client.force_login(users[persona])
        response = client.get(url) if method == "GET" else client.post(url, {})
        found.append(str(response.status_code))
    return " ".join(found)


def test_every_url_has_expectations_and_every_expectation_a_url():
    assert sorted(set(URLS) - set(EXPECTED)) == [], "URLs with no expected statuses"
    assert sorted(set(EXPECTED) - set(URLS)) == [], "expectations for no URL"


@pytest.mark.parametrize("name", sorted(URLS))
def test_each_persona_gets_the_expected_status(name, samples):
    users, values = samples
    if name not in EXPECTED:
        pytest.fail(f"{name} ({URLS[name][0]}) has no row in EXPECTED")
    url = url_for(name, URLS[name][1], values)
    found = {method: statuses(url, users, method) for method in EXPECTED[name]}
    assert found == EXPECTED[name], url


@pytest.mark.parametrize("url", sorted(ADMIN_EXPECTED))
def test_each_persona_gets_the_expected_status_in_the_admin(url, samples):
    users, _ = samples
    assert statuses(url, users, "GET") == ADMIN_EXPECTED[url]


def test_each_apps_urls_have_their_own_namespace():
    namespaces = {name.rpartition(":")[0] for name in URLS}
    # Sign-in, password and language pages stay un-namespaced, as Django names them.
    assert namespaces == {"", "web", "uploads", "audit", "notifications", "ops"}
    assert {name for name in URLS if ":" not in name} == {
        "login",
        "logout",
        "password_change",
        "password_change_done",
        "set_language",
        "admin_password_change",
    }
    assert reverse("web:home") == "/"
    assert reverse("uploads:new") == "/uploads/new/"
    assert reverse("audit:list") == "/audit/"
    assert reverse("notifications:preferences") == "/notifications/"


def test_a_userid_with_a_slash_reaches_its_account(samples, client):
    users, values = samples
    client.force_login(users["support"])
    # One path segment, so no browser or proxy resolves "." or ".." in it.
    assert reverse("web:account_detail", kwargs={"user_id": "team/alice"}) == (
        "/accounts/team%252Falice/"
    )
    assert client.get("/accounts/team%252Falice/").status_code == 200
    assert client.get("/accounts/team%252Fnobody/").status_code == 404


def test_another_importer_reads_an_upload_but_cannot_decide_it(samples, client):
    _, values = samples
    client.force_login(user_with_role("importer", "other-importer"))
    token = values["token"]
    assert client.get(f"/uploads/{token}/").status_code == 200
    assert client.get(f"/uploads/{token}/invalid.csv").status_code == 200
    assert client.post(f"/uploads/{token}/confirm/").status_code == 404
    assert client.post(f"/uploads/{token}/cancel/").status_code == 404


def test_an_auditor_sees_every_upload_with_its_invalid_rows(samples, client):
    users, values = samples
    client.force_login(users["auditor"])
    html = client.get("/uploads/").content.decode()
    assert f'href="/uploads/{values["token"]}/"' in html
    assert '<td class="num" data-count="invalid">1</td>' in html
    preview = client.get(f"/uploads/{values['token']}/").content.decode()
    assert 'id="upload-confirm"' not in preview and 'id="upload-cancel"' not in preview


def test_an_auditor_cannot_run_admin_actions(samples, client):
    users, _ = samples
    client.force_login(users["auditor"])
    jobs = ImportJob.objects.count()
    account = TrackedAccount.objects.get(user_id="team/alice")
    for action in (
        "import_selected",
        "check_selected",
        "retry_failed",
        "delete_from_im",
    ):
        client.post(
            "/admin/accounts/trackedaccount/",
            {"action": action, "_selected_action": [account.pk], "confirm": "yes"},
        )
    assert ImportJob.objects.count() == jobs
    assert not AuditEvent.objects.filter(action=AuditAction.ADMIN_ACTION).exists()


@pytest.mark.parametrize(
    "url",
    [
        "/import/",
        "/jobs/{pk}/retry/",
        "/jobs/{pk}/cancel/",
        "/jobs/{pk}/continue/",
        "/accounts/team%252Falice/retry/",
        "/accounts/team%252Falice/check/",
        "/accounts/team%252Falice/delete/",
        "/uploads/{token}/confirm/",
        "/uploads/{token}/cancel/",
        "/uploads/new/",
        "/logout/",
    ],
)
def test_state_changes_need_the_csrf_token(url, samples):
    users, values = samples
    client = Client(enforce_csrf_checks=True)
    client.force_login(users["importer"])
    response = client.post(url.format(**values), {"user_id": "x"})
    assert response.status_code == 403
    assert b"CSRF" in response.content


def test_signing_in_needs_the_csrf_token(samples):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/login/", {"username": "support-m", "password": PASSWORD})
    assert response.status_code == 403
