"""Every URL of the site, admin too, with hostile values of each parameter it reads.

The URLs come from the URL configuration (the admin's from each registered
model admin, with a real object id), so a new page is walked without being
listed. The parameters a page reads are recorded while it answers a plain GET
(every ``request.GET`` lookup), plus the admin lists' own (search, order,
page, facets, each list filter's). Each is then sent alone with each hostile
value, signed in as a superuser and as each role: no answer may be a 500.
"""

import os
from contextlib import contextmanager
from unittest import mock

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.admin import site
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.http import QueryDict
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from django_q.models import Failure, OrmQ, Schedule, Success

from accounts.audit.records import audit_record
from accounts.models import (
    ApiCall,
    ApiToken,
    AuditAction,
    ImportJob,
    JobEmail,
    JobItem,
    NotificationPreference,
    ScheduledImport,
    TrackedAccount,
    Upload,
    WebhookDelivery,
    WebhookEndpoint,
)
from tests.integration.test_roles import user_with_role

pytestmark = pytest.mark.django_db
ROLES = ("support", "importer", "auditor")
HOSTILE = [
    "²",
    "١٢",
    "9223372036854775808",
    "99999999999999999999999999999",
    "-1",
    "-9223372036854775809",
    "0",
    "1e3",
    " 7",
    "\x00",
    "1\x00",
    "ŝ😀ß\u202e",
    "a" * 1999,
    "%_" * 999,
    "a" * 50_000,
    "'\"<>",
    "True",
]
# The walk of every role (slow) sends HOSTILE; the quick one sends these.
QUICK = ["²", "9223372036854775808", "1\x00", "%_" * 999, "a" * 50_000]
# Read by the admin's lists through request.GET.items(), not by name.
ADMIN_LIST_PARAMS = ("q", "o", "p", "all", "_facets", "e", "_popup", "_to_field")
ADMIN_PAGE_PARAMS = ("_changelist_filters", "_popup", "_to_field")


@pytest.fixture
def world():
    """One object of every model an admin page or URL names, and a value per kwarg."""
    now = timezone.now()
    importer = user_with_role("importer", "importer-h")
    job = ImportJob.objects.create(
        kind="import", source="csv", status="done_with_errors", created_by=importer
    )
    account = TrackedAccount.objects.create(
        user_id="team/alice", state="failed", job=job
    )
    JobItem.objects.create(job=job, account=account, state="failed")
    ApiCall.objects.create(
        job=job, api="multiaccount_import", account_count=1, created_at=now
    )
    audit_record(action=AuditAction.EXPORT, job_id=job.pk, user_id="team/alice")
    upload = Upload.objects.create(
        token="t" * 32, created_by=importer, file_name="x.csv", size=1
    )
    Schedule.objects.create(name="s", func="accounts.tasks.maintenance")
    ApiToken.objects.create(user=importer, prefix="p" * 8, key_hash="0" * 64)
    endpoint = WebhookEndpoint.objects.create(
        url="https://hooks.example/x", secret="s" * 20, created_by=importer
    )
    WebhookDelivery.objects.create(
        endpoint=endpoint, job=job, event="job.done", due_at=now
    )
    JobEmail.objects.create(job=job, recipient="a@example.com", event="job.done")
    NotificationPreference.objects.create(user=importer)
    ScheduledImport.objects.create(name="nightly", source="x.csv", created_by=importer)
    for model, success in ((Success, True), (Failure, False)):
        model.objects.create(
            id=("s" if success else "f") * 32,
            name=f"t{success}",
            func="x",
            started=now,
            stopped=now,
            success=success,
        )
    OrmQ.objects.create(key="imadmin", payload="x")
    AccessAttempt.objects.create(
        username="x", ip_address="127.0.0.1", failures_since_start=1, attempt_time=now
    )
    AccessLog.objects.create(username="x", ip_address="127.0.0.1", attempt_time=now)
    AccessFailureLog.objects.create(
        username="x", ip_address="127.0.0.1", attempt_time=now
    )
    Group.objects.get_or_create(name="extra")
    users = {
        role: user_with_role(role, f"{role}-h") for role in ROLES if role != "importer"
    }
    users["importer"] = importer
    users["superuser"] = get_user_model().objects.create_superuser(
        "boss-h", "", "x-pass-word-9"
    )
    values = {
        "pk": job.pk,
        "job_id": job.pk,
        "user_id": account.user_id,
        "token": upload.token,
        "app_label": "accounts",
        "content_type_id": ContentType.objects.get_for_model(TrackedAccount).pk,
        "fmt": None,
    }
    return users, values


def site_urls(patterns=None, namespace="", model=None):
    """(view name, pattern, model in scope) of every named URL, the admin's too."""
    patterns = get_resolver().url_patterns if patterns is None else patterns
    models = {f"{m._meta.app_label}/{m._meta.model_name}/": m for m in site._registry}
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            scope = models.get(str(entry.pattern), model)
            yield from site_urls(entry.url_patterns, inner, scope)
        elif isinstance(entry, URLPattern) and entry.name:
            yield namespace + entry.name, entry, model


def url_for(name, pattern, model, values):
    kwargs = {}
    for key in pattern.pattern.regex.groupindex:
        if key in ("object_id", "id"):
            instance = (model or TrackedAccount).objects.order_by("pk").first()
            kwargs[key] = str(instance.pk)
        elif values[key] is not None:
            kwargs[key] = values[key]
    return reverse(name, kwargs=kwargs)


@contextmanager
def reads_recorded():
    """The names looked up in any QueryDict (request.GET, POST) while inside."""
    names = set()
    methods = ("__getitem__", "get", "getlist", "__contains__", "pop")
    originals = {m: getattr(QueryDict, m) for m in methods}

    def recording(method):
        def lookup(self, key, *args, **kwargs):
            names.add(key)
            return originals[method](self, key, *args, **kwargs)

        return lookup

    with mock.patch.multiple(QueryDict, **{m: recording(m) for m in methods}):
        yield names


def parameters_read(client, url):
    """What ``url`` reads from its query string, by name."""
    with reads_recorded() as names:
        response = client.get(url)
    assert response.status_code < 500 or url in NOT_READY_ANSWERS, url
    if response.context and "cl" in response.context:  # an admin list
        names.update(ADMIN_LIST_PARAMS)
        for spec in response.context["cl"].filter_specs:
            names.update(spec.expected_parameters())
        if hierarchy := response.context["cl"].date_hierarchy:
            names.update(f"{hierarchy}__{part}" for part in ("year", "month", "day"))
    elif url.startswith("/admin/"):
        names.update(ADMIN_PAGE_PARAMS)
    return sorted(n for n in names if isinstance(n, str))


def walk(client, values, hostile):
    """(url, parameter, value, status) for every URL × parameter × hostile value."""
    for name, pattern, model in site_urls():
        if name in SKIPPED:
            continue
        url = url_for(name, pattern, model, values)
        for parameter in parameters_read(client, url):
            for value in hostile:
                response = client.get(url, {parameter: value})
                yield url, parameter, value, response.status_code


# Sign-out ends the session the walk runs in.
SKIPPED = {"logout", "admin:logout"}
# Its 503 is its answer (no worker cluster runs here), not a failure.
NOT_READY_ANSWERS = {"/readyz"}


def server_errors(user, values, hostile):
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return [
        (url, parameter, value[:20], status)
        for url, parameter, value, status in walk(client, values, hostile)
        if status >= 500 and not (status == 503 and url in NOT_READY_ANSWERS)
    ]


def test_no_url_answers_500_to_a_superuser_with_hostile_parameters(world):
    users, values = world
    errors = server_errors(users["superuser"], values, QUICK)
    assert not errors, "\n".join(map(repr, errors))


# The full walk takes minutes a persona, so each stack's suite walks half of
# them (both walk every URL); the quick walk above runs on both stacks.
ON_POSTGRESQL = os.environ.get("DATABASE_URL", "").startswith("postgres")
WALKED_HERE = ["importer", "auditor"] if ON_POSTGRESQL else ["superuser", "support"]


@pytest.mark.slow
@pytest.mark.parametrize("persona", WALKED_HERE)
def test_no_url_answers_500_to_any_role_with_any_hostile_value(world, persona):
    users, values = world
    errors = server_errors(users[persona], values, HOSTILE)
    assert not errors, "\n".join(map(repr, errors))
