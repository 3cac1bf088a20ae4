"""After a full run, neither the IM secret key nor any UserSig is anywhere to be read.

The run: a single import through the form, a CSV upload confirmed and imported,
admin actions, a wrong IM key (the job stops) then the right one again,
exports and the audit pages. Then the database (dumpdata and every text
column of every table, encoded blobs decoded), the logs at DEBUG, the
sandbox's log and every page the personas can open are searched.
"""

import base64
import binascii
import io
import logging
import re
import zlib
from urllib.parse import quote, quote_plus

import pytest
from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection
from django.test import Client

from accounts import conf
from accounts.im.usersig import UserSigCache
from accounts.models import (
    ApiCall,
    AuditEvent,
    ImportJob,
    JobStatus,
    TrackedAccount,
    Upload,
)
from tests.integration.test_permission_matrix import ADMIN_EXPECTED, URLS, url_for
from tests.integration.test_roles import PASSWORD, user_with_role

# Runners work in threads with their own connections: data must be committed.
pytestmark = pytest.mark.django_db(transaction=True)
WRONG_KEY = "a-wrong-im-secret-key-0123456789abcdef"
BASE64 = re.compile(r"[A-Za-z0-9+/=_*-]{40,}")


@pytest.fixture
def usersigs(monkeypatch):
    """Every UserSig any client made during the test."""
    made = []
    original = UserSigCache.get

    def spy(self):
        sig = original(self)
        made.append(sig)
        return sig

    monkeypatch.setattr(UserSigCache, "get", spy)
    return made


class Browser:
    """Test clients per persona that keep every response body they receive."""

    def __init__(self, users):
        self.bodies, self.clients = [], {}
        for name, user in users.items():
            self.clients[name] = Client()
            self.clients[name].force_login(user)

    def get(self, persona, url):
        return self._keep(self.clients[persona].get(url))

    def post(self, persona, url, data=None):
        return self._keep(self.clients[persona].post(url, data or {}))

    def _keep(self, response):
        if response.streaming:
            content = b"".join(response.streaming_content)
        else:
            content = response.content
        self.bodies.append(content.decode("utf-8", "replace"))
        return response


def run_job_of(response, run_job):
    job = ImportJob.objects.order_by("-id").first()
    assert response.status_code in (200, 302), response
    return run_job(job)


def full_run(browser, run_job, settings):
    # The support form: one account, imported now through the sandbox.
    response = browser.post(
        "support", "/import/", {"user_id": "solo/1", "nick": "=1+1", "face_url": ""}
    )
    assert response.status_code == 200
    assert TrackedAccount.objects.get(user_id="solo/1").state == "imported"

    # A CSV: upload, preview, confirm, import.
    csv = "UserID,Nick\n" + "".join(f"csv-{n},Person {n}\n" for n in range(5))
    upload = browser.post(
        "importer",
        "/uploads/new/",
        {
            "file": SimpleUploadedFile("people.csv", csv.encode(), "text/csv"),
            "encoding": "auto",
        },
    )
    preview = upload["Location"]
    browser.get("importer", preview)
    job = run_job_of(browser.post("importer", preview + "confirm/"), run_job)
    assert job.status == JobStatus.DONE

    # Admin actions: check everything.
    ids = list(TrackedAccount.objects.values_list("pk", flat=True))
    admin_action(browser, "check_selected", ids, run_job)

    # A wrong IM key: the job pauses; the right key again and resumed: it works.
    settings.IM_SECRET_KEY = WRONG_KEY
    paused = admin_action(browser, "import_selected", ids[:3], run_job)
    assert paused.status == JobStatus.PAUSED and paused.error_code
    settings.IM_SECRET_KEY = ""
    browser.post("importer", f"/jobs/{paused.pk}/resume/")
    fixed = run_job(paused)
    assert fixed.status == JobStatus.DONE

    # Exports, the audit pages and every other page.
    for url in ("/audit/export.csv", "/audit/export.json"):
        browser.get("auditor", url)
    for job in ImportJob.objects.all():
        browser.get("auditor", f"/audit/jobs/{job.pk}/calls.csv")
    return paused


def admin_action(browser, action, ids, run_job):
    response = browser.post(
        "importer",
        "/admin/accounts/trackedaccount/",
        {"action": action, "_selected_action": ids, "confirm": "yes"},
    )
    return run_job_of(response, run_job)


def every_page(browser):
    token = Upload.objects.values_list("token", flat=True).first()
    accounts = TrackedAccount.objects.values_list("user_id", flat=True)
    for persona in browser.clients:
        for name, (_, pattern) in URLS.items():
            if name in ("logout",):
                continue
            for values in _parameter_sets(pattern, accounts, token):
                browser.get(persona, url_for(name, pattern, values))
        for url in ADMIN_EXPECTED:
            browser.get(persona, url)
        for model, pk in _admin_objects():
            browser.get(persona, f"/admin/accounts/{model}/{pk}/change/")


def _parameter_sets(pattern, accounts, token):
    names = set(pattern.pattern.converters)
    if "pk" in names:
        return [{"pk": pk} for pk in ImportJob.objects.values_list("pk", flat=True)]
    if "user_id" in names:
        return [{"user_id": user_id} for user_id in accounts]
    return [{"token": token, "uidb64": "MQ"}]


def _admin_objects():
    for model in (TrackedAccount, ImportJob, ApiCall, AuditEvent):
        for pk in model.objects.values_list("pk", flat=True)[:20]:
            yield model._meta.model_name, pk


def database_text():
    """Every value of every table as text, with encoded blobs decoded too."""
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    chunks = [out.getvalue()]
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                chunks.extend(_decoded(value) for value in row)
    for session in SessionStore.get_model_class().objects.all():
        chunks.append(str(SessionStore().decode(session.session_data)))
    return "\n".join(chunks)


def _decoded(value):
    if isinstance(value, memoryview):
        value = value.tobytes()
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value)
    for blob in BASE64.findall(text):
        try:
            raw = base64.urlsafe_b64decode(blob + "=" * (-len(blob) % 4))
        except (binascii.Error, ValueError):
            continue
        try:
            raw = zlib.decompress(raw)
        except zlib.error:
            pass
        text += "\n" + raw.decode("latin-1")
    return text


def leaks(secrets, text):
    found = []
    for secret in secrets:
        for form in {secret, quote(secret, safe=""), quote_plus(secret)}:
            if form in text:
                found.append(secret[:12] + "…")
    return found


def test_no_secret_in_the_database_logs_or_pages(
    settings, im_settings, sandbox, run_job, usersigs, caplog
):
    caplog.set_level(logging.DEBUG)
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    users = {role: user_with_role(role, f"{role}-x") for role in roles_used()}
    users["superuser"] = get_user_model().objects.create_superuser("boss", "", PASSWORD)
    browser = Browser(users)

    full_run(browser, run_job, settings)
    every_page(browser)

    secrets = {conf.secret_key(), WRONG_KEY, django_settings.SECRET_KEY, *usersigs}
    assert len(usersigs) >= 3  # the run really signed its calls
    assert leaks(secrets, f"?usersig={quote_plus(usersigs[0])}")  # the search works
    where = {
        "database": database_text(),
        "logs": caplog.text + "\n".join(str(r.__dict__) for r in caplog.records),
        "sandbox log": sandbox.log_text(),
        "pages": "\n".join(browser.bodies),
    }
    assert len(browser.bodies) > 100
    assert {place: leaks(secrets, text) for place, text in where.items()} == {
        place: [] for place in where
    }


def roles_used():
    return ("support", "importer", "auditor")
