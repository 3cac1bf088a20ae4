"""Notifications of a job's end: signed webhooks to a real loopback receiver, email.

The job runs against the sandbox over HTTP; the notification tasks are called
here as a worker would (tests/cluster has them run by real qcluster workers).
"""

import json
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from accounts import services
from accounts.models import (
    AuditAction,
    AuditEvent,
    DeliveryState,
    JobEmail,
    JobSource,
    WebhookDelivery,
    WebhookEndpoint,
)
from accounts.notifications import services as notifications
from accounts.selectors.pace import job_json
from tests.http_peers import Receiver
from tests.personas import make_user

pytestmark = pytest.mark.django_db(transaction=True)
SECRET = "a-receiver-secret-0123456789"


@pytest.fixture
def notify_settings(im_settings):
    im_settings.OUTBOUND_HTTP_LOOPBACK = True
    im_settings.WEBHOOK_BACKOFF_SECONDS = 0.05
    im_settings.WEBHOOK_MAX_ATTEMPTS = 3
    im_settings.WEBHOOK_TIMEOUT_SECONDS = 2
    im_settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return im_settings


def settled_job(run_job, count=3, user=None, source=JobSource.COMMAND):
    job, _ = services.accounts_import_rows(
        rows=[{"user_id": f"n{i:04d}"} for i in range(count)],
        source=source,
        user=user,
        label="people.csv",
    )
    return run_job(job)


def deliver_all(job):
    for attempt in WebhookDelivery.objects.filter(job=job, attempt=1):
        notifications.webhook_deliver(delivery_id=attempt.pk)


def test_it_posts_one_signed_delivery_per_job_end(notify_settings, sandbox, run_job):
    with Receiver(secret=SECRET) as receiver:
        notifications.webhook_create(url=receiver.url + "/hook", secret=SECRET)
        job = settled_job(run_job)
        assert notifications.job_notify(job_id=job.pk) == 1
        assert notifications.job_notify(job_id=job.pk) == 0  # a rerun sends nothing
        deliver_all(job)
    [got] = receiver.received
    assert got.signature_ok
    assert got.headers["X-Imadmin-Event"] == "job.done"
    body = json.loads(got.body)
    job.refresh_from_db()
    assert body == {"event": "job.done", "job": job_json(job)}
    assert body["job"]["succeeded"] == 3
    delivery = WebhookDelivery.objects.get(job=job)
    assert (delivery.state, delivery.status_code) == (DeliveryState.DELIVERED, 200)
    assert delivery.delivered_at is not None and delivery.duration_ms is not None


def test_a_receiver_that_fails_twice_gets_the_third_attempt(
    notify_settings, sandbox, run_job
):
    with Receiver(secret=SECRET, statuses=[500, 500]) as receiver:
        notifications.webhook_create(url=receiver.url, secret=SECRET)
        job = settled_job(run_job)
        notifications.job_notify(job_id=job.pk)
        deliver_all(job)
    assert len(receiver.received) == 3
    assert all(r.signature_ok for r in receiver.received)
    attempts = list(WebhookDelivery.objects.filter(job=job).order_by("attempt"))
    assert [(a.attempt, a.state, a.status_code) for a in attempts] == [
        (1, DeliveryState.FAILED, 500),
        (2, DeliveryState.FAILED, 500),
        (3, DeliveryState.DELIVERED, 200),
    ]
    assert attempts[0].error == "answered 500"
    assert attempts[0].next_attempt_at == attempts[1].due_at
    # Backoff doubles: 0.05 s after the first failure, 0.1 s after the second.
    first_wait = (attempts[1].due_at - attempts[0].started_at).total_seconds()
    second_wait = (attempts[2].due_at - attempts[1].started_at).total_seconds()
    assert 0.05 <= first_wait < second_wait


def test_it_gives_up_after_the_last_attempt_and_says_why(
    notify_settings, sandbox, run_job
):
    with Receiver(secret=SECRET, statuses=[503, 503, 503, 503]) as receiver:
        notifications.webhook_create(url=receiver.url, secret=SECRET)
        job = settled_job(run_job)
        notifications.job_notify(job_id=job.pk)
        deliver_all(job)
    states = list(
        WebhookDelivery.objects.filter(job=job)
        .order_by("attempt")
        .values_list("state", flat=True)
    )
    assert states == [DeliveryState.FAILED, DeliveryState.FAILED, DeliveryState.GAVE_UP]
    assert len(receiver.received) == 3


def test_a_retry_due_later_is_left_for_the_sweep(notify_settings, sandbox, run_job):
    notify_settings.WEBHOOK_BACKOFF_SECONDS = 3600
    with Receiver(secret=SECRET, statuses=[500]) as receiver:
        notifications.webhook_create(url=receiver.url, secret=SECRET)
        job = settled_job(run_job)
        notifications.job_notify(job_id=job.pk)
        deliver_all(job)  # returns at once: the retry is an hour away
        assert len(receiver.received) == 1
        pending = WebhookDelivery.objects.get(job=job, attempt=2)
        assert notifications.webhook_retries_due() == []
        due = notifications.webhook_retries_due(now=pending.due_at)
        assert due == [pending.pk]
        notifications.webhook_deliver(delivery_id=pending.pk)
    assert len(receiver.received) == 2
    pending.refresh_from_db()
    assert pending.state == DeliveryState.DELIVERED


def test_an_endpoint_gets_only_the_events_it_asked_for(
    notify_settings, sandbox, run_job
):
    with Receiver(secret=SECRET) as receiver:
        notifications.webhook_create(
            url=receiver.url, secret=SECRET, events=["job.stopped"]
        )
        job = settled_job(run_job)
        assert notifications.job_notify(job_id=job.pk) == 0
    assert receiver.received == []


def test_an_unreachable_receiver_is_an_attempt_with_its_reason(
    notify_settings, sandbox, run_job
):
    with Receiver() as gone:
        url = gone.url  # nothing listens there once it is closed
    notify_settings.WEBHOOK_MAX_ATTEMPTS = 1
    notifications.webhook_create(url=url, secret=SECRET)
    job = settled_job(run_job)
    notifications.job_notify(job_id=job.pk)
    deliver_all(job)
    attempt = WebhookDelivery.objects.get(job=job)
    assert attempt.state == DeliveryState.GAVE_UP
    assert attempt.status_code is None
    assert attempt.error.startswith("could not connect")


# -- endpoints: the command and the rules ---------------------------------------


def test_add_webhook_adds_an_audited_endpoint(notify_settings, capsys):
    call_command(
        "add_webhook",
        "https://hooks.example.com/imadmin",
        "--secret",
        SECRET,
        "--events",
        "job.done",
        "job.stopped",
    )
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.events == ["job.done", "job.stopped"]
    out = capsys.readouterr().out
    assert "Webhook #" in out and SECRET not in out
    entry = AuditEvent.objects.get(action=AuditAction.WEBHOOK_SAVED)
    assert entry.details["url"] == "https://hooks.example.com/imadmin"
    assert SECRET not in json.dumps(entry.details)


@pytest.mark.parametrize(
    "url, secret, events, says",
    [
        ("http://hooks.example.com/x", SECRET, [], "must use https://"),
        ("ftp://hooks.example.com/x", SECRET, [], "must start with https://"),
        ("https://user:pw@hooks.example.com/", SECRET, [], "user name or password"),
        ("https://hooks.example.com/x", "short", [], "at least 16"),
        ("https://hooks.example.com/x", SECRET, ["job.lost"], "Unknown event"),
    ],
)
def test_add_webhook_refuses_what_cannot_be_sent_to(
    notify_settings, url, secret, events, says
):
    notify_settings.OUTBOUND_HTTP_LOOPBACK = False
    args = [url, "--secret", secret] + (["--events", *events] if events else [])
    with pytest.raises(CommandError, match=says):
        call_command("add_webhook", *args)
    assert not WebhookEndpoint.objects.exists()


def test_plain_http_to_loopback_only_while_the_setting_is_on(notify_settings):
    notifications.webhook_validate(url="http://127.0.0.1:9/x", secret=SECRET, events=[])
    notify_settings.OUTBOUND_HTTP_LOOPBACK = False
    with pytest.raises(notifications.WebhookInvalid):
        notifications.webhook_validate(
            url="http://127.0.0.1:9/x", secret=SECRET, events=[]
        )


# -- email ------------------------------------------------------------------------


def test_the_starter_gets_one_email_when_the_job_ends(
    notify_settings, sandbox, run_job
):
    starter = make_user("starter")
    starter.email = "starter@example.com"
    starter.save()
    job = settled_job(run_job, user=starter)
    notifications.job_notify(job_id=job.pk)
    notifications.job_notify(job_id=job.pk)  # a rerun sends nothing more
    [sent] = mail.outbox
    assert sent.to == ["starter@example.com"]
    assert f"job #{job.pk} is done" in sent.subject
    assert "Succeeded: 3" in sent.body
    assert JobEmail.objects.get(job=job).sent_at is not None


def test_no_email_when_the_starter_opted_out(notify_settings, sandbox, run_job):
    starter = make_user("quiet")
    starter.email = "quiet@example.com"
    starter.save()
    notifications.notification_preference_set(user=starter, email_on_job_end=False)
    job = settled_job(run_job, user=starter)
    notifications.job_notify(job_id=job.pk)
    assert mail.outbox == []
    assert not JobEmail.objects.exists()


def test_no_email_for_the_single_import_form(notify_settings, sandbox, run_job):
    starter = make_user("support", "import_single")
    starter.email = "support@example.com"
    starter.save()
    job = settled_job(run_job, count=1, user=starter, source=JobSource.FORM)
    notifications.job_notify(job_id=job.pk)
    assert mail.outbox == []


def test_the_notifications_page_sets_the_choice_and_audits_it(client):
    user = make_user("reader")
    client.force_login(user)
    page = client.get("/notifications/")
    assert page.status_code == 200
    assert b'name="email_on_job_end"' in page.content and b"checked" in page.content
    response = client.post("/notifications/", {})
    assert response.status_code == 302
    assert not notifications.notification_preference(user=user).email_on_job_end
    entry = AuditEvent.objects.get(action=AuditAction.NOTIFY_PREFS_SET)
    assert entry.actor == user and entry.details["email_on_job_end"] is False
    client.post("/notifications/", {"email_on_job_end": "on"})
    assert notifications.notification_preference(user=user).email_on_job_end
    # Saving the same choice again writes nothing.
    client.post("/notifications/", {"email_on_job_end": "on"})
    assert AuditEvent.objects.filter(action=AuditAction.NOTIFY_PREFS_SET).count() == 2


# -- the admin: the secret is write-only ---------------------------------------


def test_the_admin_takes_the_secret_and_never_shows_it(admin_client, notify_settings):
    response = admin_client.post(
        "/admin/accounts/webhookendpoint/add/",
        {
            "url": "https://hooks.example.com/a",
            "secret": SECRET,
            "events": ["job.done"],
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content[:2000]
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.secret == SECRET
    page = admin_client.get(f"/admin/accounts/webhookendpoint/{endpoint.pk}/change/")
    assert page.status_code == 200 and SECRET.encode() not in page.content
    # Saved again with the secret left empty: it is kept.
    admin_client.post(
        f"/admin/accounts/webhookendpoint/{endpoint.pk}/change/",
        {
            "url": "https://hooks.example.com/b",
            "secret": "",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    endpoint.refresh_from_db()
    assert (endpoint.url, endpoint.secret) == ("https://hooks.example.com/b", SECRET)
    assert AuditEvent.objects.filter(action=AuditAction.WEBHOOK_SAVED).count() == 2
    listing = admin_client.get("/admin/accounts/webhookendpoint/")
    assert SECRET.encode() not in listing.content


def test_the_admin_refuses_a_short_secret_with_a_message(admin_client, notify_settings):
    response = admin_client.post(
        "/admin/accounts/webhookendpoint/add/",
        {
            "url": "https://hooks.example.com/a",
            "secret": "short",
            "active": "on",
            "deliveries-TOTAL_FORMS": "0",
            "deliveries-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert b"at least 16 characters" in response.content
    assert not WebhookEndpoint.objects.exists()


def test_the_admin_lists_every_attempt_email_and_choice(
    admin_client, notify_settings, sandbox, run_job
):
    starter = make_user("lister")
    starter.email = "lister@example.com"
    starter.save()
    with Receiver(secret=SECRET, statuses=[500]) as receiver:
        endpoint = notifications.webhook_create(url=receiver.url, secret=SECRET)
        job = settled_job(run_job, user=starter)
        notifications.job_notify(job_id=job.pk)
        deliver_all(job)
    notifications.notification_preference_set(user=starter, email_on_job_end=False)
    for path in (
        "/admin/accounts/webhookdelivery/",
        f"/admin/accounts/webhookendpoint/{endpoint.pk}/change/",
        "/admin/accounts/jobemail/",
        "/admin/accounts/notificationpreference/",
    ):
        page = admin_client.get(path)
        assert page.status_code == 200, path
        assert SECRET.encode() not in page.content
    attempts = admin_client.get("/admin/accounts/webhookdelivery/").content.decode()
    assert "answered 500" in attempts and "delivered" in attempts


def test_a_job_whose_announcement_was_lost_is_announced_by_the_sweep(
    notify_settings, sandbox, run_job
):
    with Receiver(secret=SECRET) as receiver:
        notifications.webhook_create(url=receiver.url + "/hook", secret=SECRET)
        lost = settled_job(run_job)  # its own job_notify task never runs
        announced = settled_job(run_job, count=5)  # n0003, n0004 are new
        notifications.job_notify(job_id=announced.pk)
        lost.refresh_from_db()
        assert lost.notified_at is None
        soon = lost.finished_at + timedelta(seconds=10)
        assert notifications.jobs_unannounced(now=soon) == []  # its task may yet run
        later = lost.finished_at + timedelta(
            seconds=notifications.ANNOUNCE_GRACE_SECONDS + 1
        )
        with mock.patch.object(notifications, "async_task") as queue:
            assert notifications.jobs_unannounced(now=later) == [lost.pk]
        queue.assert_called_once_with(
            "accounts.tasks.job_notify", lost.pk, group="notify"
        )
        assert notifications.job_notify(job_id=lost.pk) == 1
        deliver_all(lost)
        assert notifications.jobs_unannounced(now=later) == []
    assert sorted(json.loads(r.body)["job"]["id"] for r in receiver.received) == [
        lost.pk
    ]
