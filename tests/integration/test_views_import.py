"""The single import form: validated first, then one account_import, told in words."""

import pytest

from accounts.models import (
    AccountState,
    ApiCall,
    AuditAction,
    AuditEvent,
    ImportJob,
    JobSource,
    TrackedAccount,
)
from tests.personas import READER, SUPPORT, signed_in


@pytest.fixture
def support(client):
    signed_in(client, "support", *SUPPORT)
    return client


def post(client, user_id="", nick="", face_url=""):
    return client.post(
        "/import/", {"user_id": user_id, "nick": nick, "face_url": face_url}
    )


@pytest.mark.django_db
def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.post("/import/", {"user_id": "x"})
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


@pytest.mark.django_db
def test_it_refuses_people_without_the_right(client):
    signed_in(client, "reader", *READER)
    assert client.get("/import/").status_code == 403
    assert post(client, "x").status_code == 403
    assert not TrackedAccount.objects.exists()


@pytest.mark.django_db
def test_it_shows_the_form(support):
    body = support.get("/import/").content.decode()
    assert (
        'name="user_id"' in body and 'name="nick"' in body and 'name="face_url"' in body
    )
    assert "csrfmiddlewaretoken" in body


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"user_id": ""}, "This field is required."),
        ({"user_id": "   "}, "This field is required."),
        ({"user_id": "u" * 33}, "UserID is 33 bytes in UTF-8; IM allows at most 32."),
        (
            {"user_id": "é" * 16 + "a"},
            "UserID is 33 bytes in UTF-8; IM allows at most 32.",
        ),
        (
            {"user_id": "has space"},
            "UserID may contain only letters, digits and printable",
        ),
        (
            {"user_id": "ok", "nick": "n" * 501},
            "Nick is 501 bytes in UTF-8; IM allows at most 500.",
        ),
        (
            {"user_id": "ok", "face_url": "javascript:alert(1)"},
            "Avatar URL must be an http:// or https:// address.",
        ),
    ],
)
def test_it_explains_what_ims_rules_refuse_before_any_call(support, data, message):
    response = post(support, **data)
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportJob.objects.exists()
    assert not ApiCall.objects.exists()


@pytest.mark.django_db
def test_it_says_im_is_not_configured_without_starting_a_job(support, settings):
    settings.IM_SECRET_KEY = ""
    settings.IM_SECRET_KEY_FILE = ""
    response = post(support, "nobody-1")
    assert response.status_code == 200
    assert "Nothing was sent: IM is not configured" in response.content.decode()
    assert not ImportJob.objects.exists()
    event = AuditEvent.objects.get(action=AuditAction.SINGLE_IMPORT)
    assert (event.user_id, event.result) == ("nobody-1", "not_configured")


@pytest.mark.django_db
def test_it_says_when_the_account_is_busy_in_another_job(support, im_settings):
    job = ImportJob.objects.create(source=JobSource.CSV)
    TrackedAccount.objects.create(user_id="busy-1", state=AccountState.QUEUED, job=job)
    body = post(support, "busy-1").content.decode()
    assert f"busy-1 is already queued in job #{job.pk}; wait for it to finish." in body
    assert ImportJob.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_it_imports_then_updates_through_the_sandbox(support, im_settings, sandbox):
    first = post(
        support, "solo-1", "Solo", "https://example.com/a.png"
    ).content.decode()
    assert 'data-outcome="imported"' in first
    assert "<strong>solo-1</strong> is now in IM." in first
    assert 'href="/accounts/solo-1/"' in first
    assert sandbox.account("solo-1")["Nick"] == "Solo"
    second = post(support, "solo-1", "Solo <2>").content.decode()
    assert 'data-outcome="updated"' in second
    assert sandbox.account("solo-1")["Nick"] == "Solo <2>"
    events = AuditEvent.objects.filter(action=AuditAction.SINGLE_IMPORT).order_by("id")
    assert [e.result for e in events] == ["imported", "updated"]
    assert events[0].user_id == "solo-1"
    assert events[0].job_id == ImportJob.objects.order_by("id").first().pk
    assert events[1].details["nick"] == "Solo <2>"


@pytest.mark.django_db(transaction=True)
def test_it_explains_a_userid_deleted_in_im(support, im_settings, sandbox, im_client):
    post(support, "gone-1")
    im_client.account_delete(["gone-1"])
    body = post(support, "gone-1").content.decode()
    assert 'data-outcome="invalid"' in body
    assert "<code>70399</code>" in body
    assert "deleted less than 3 months ago and cannot be imported again yet" in body


@pytest.mark.django_db(transaction=True)
def test_it_says_a_transient_failure_will_be_retried(support, im_settings, sandbox):
    sandbox.set_faults(fault_rate=1.0, fault_codes=[70500])
    body = post(support, "later-1").content.decode()
    assert 'data-outcome="retrying"' in body
    assert "will retry in the background" in body
    assert "IM internal server error" in body


@pytest.mark.django_db(transaction=True)
def test_it_keeps_the_fields_after_a_refusal(support, im_settings, sandbox, im_client):
    post(support, "kept-1")
    im_client.account_delete(["kept-1"])
    body = post(support, "kept-1", "Kept <1>", "https://img.example/k.png")
    body = body.content.decode()
    assert 'data-outcome="invalid"' in body  # 70399: change the data, then try again
    assert 'name="user_id" value="kept-1"' in body
    assert 'value="Kept &lt;1&gt;"' in body
    assert 'value="https://img.example/k.png"' in body
    # A success empties the form for the next account.
    done = post(support, "kept-2", "Two").content.decode()
    assert 'data-outcome="imported"' in done and 'value="kept-2"' not in done
