"""Password changes audited and throttled; a username locked out across addresses."""

import pytest
from django.contrib.auth import get_user_model

from accounts.models import AuditAction, AuditEvent
from tests.integration.test_audit_trail import sign_in
from tests.integration.test_roles import PASSWORD, user_with_role

pytestmark = pytest.mark.django_db
CHANGE = "/password_change/"
NEW = "a-brand-new-pass-phrase-7"


@pytest.fixture(autouse=True)
def limits(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.AXES_FAILURE_LIMIT = 5
    settings.SIGNIN_USERNAME_FAILURE_LIMIT = 8


@pytest.fixture
def ann(client):
    user = user_with_role("support", "ann")
    assert sign_in(client, "ann", PASSWORD).status_code == 302
    return user


def change(client, old, ip="127.0.0.1"):
    data = {"old_password": old, "new_password1": NEW, "new_password2": NEW}
    return client.post(CHANGE, data, REMOTE_ADDR=ip)


def entries(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def test_a_password_change_is_audited(client, ann):
    response = change(client, PASSWORD, ip="198.51.100.7")
    assert response.status_code == 302
    (entry,) = entries(AuditAction.PASSWORD_CHANGED)
    assert (entry.actor, entry.ip, entry.object_id) == (
        ann,
        "198.51.100.7",
        str(ann.pk),
    )
    ann.refresh_from_db()
    assert ann.check_password(NEW)
    assert NEW not in str(AuditEvent.objects.values())


def test_guesses_of_the_old_password_are_audited_and_locked_out(client, ann):
    statuses = [change(client, f"guess-{n}").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]  # the fifth locks out, as sign-in
    refused = entries(AuditAction.PASSWORD_REFUSED)
    assert [e.result for e in refused] == ["failed"] * 4 + ["locked_out"]
    assert refused[0].actor == ann
    (locked,) = entries(AuditAction.LOCKED_OUT)
    assert locked.object_id == "ann"
    # Even the right password is refused until the lock-out ends.
    response = change(client, PASSWORD)
    assert b"cannot be changed until the lock-out ends" in response.content
    ann.refresh_from_db()
    assert ann.check_password(PASSWORD)
    assert not entries(AuditAction.PASSWORD_CHANGED)


def test_the_admins_password_page_leads_to_the_throttled_one(client, ann):
    response = client.get("/admin/password_change/")
    assert (response.status_code, response["Location"]) == (302, CHANGE)


def test_a_username_is_locked_out_from_every_address_after_the_higher_limit(client):
    user_with_role("support", "ann")
    user_with_role("support", "bob")
    for n in range(7):  # one failure from each of seven addresses
        sign_in(client, "ann", "wrong", ip=f"203.0.113.{n}")
    assert sign_in(client, "ann", PASSWORD, ip="198.51.100.1").status_code == 302
    client.logout()
    for n in range(8):
        sign_in(client, "ann", "wrong", ip=f"192.0.2.{n}")
    response = sign_in(client, "ann", PASSWORD, ip="198.51.100.2")
    assert response.status_code == 429
    assert "from all addresses together" in response.content.decode()
    locked = entries(AuditAction.LOCKED_OUT)[-1]
    assert locked.details["from"] == "any address"
    assert sign_in(client, "bob", PASSWORD, ip="198.51.100.2").status_code == 302


def test_with_throttling_off_guesses_are_only_audited(client, ann, settings):
    settings.AXES_ENABLED = False
    statuses = [change(client, f"guess-{n}").status_code for n in range(6)]
    assert statuses == [200] * 6
    assert change(client, PASSWORD).status_code == 302
    assert len(entries(AuditAction.PASSWORD_REFUSED)) == 6


def test_a_superuser_setting_a_users_password_in_the_admin_is_audited(client, ann):
    boss = get_user_model().objects.create_superuser("boss", "", PASSWORD)
    client.force_login(boss)
    url = f"/admin/auth/user/{ann.pk}/password/"
    assert client.get(url).status_code == 200
    data = {"password1": NEW, "password2": NEW, "usable_password": "true"}
    response = client.post(url, data, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    (entry,) = entries(AuditAction.PASSWORD_CHANGED)
    assert (entry.actor, entry.ip, entry.object_id) == (
        boss,
        "203.0.113.9",
        str(ann.pk),
    )
    assert entry.details == {"username": "ann", "set_by_admin": True}
    ann.refresh_from_db()
    assert ann.check_password(NEW) and NEW not in str(AuditEvent.objects.values())
