"""Roles as groups (made by migration 0003), the create_user command, and role audit."""

import importlib
import io

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import CommandError, call_command

from accounts import roles
from accounts.models import AuditAction, AuditEvent

pytestmark = pytest.mark.django_db
PASSWORD = "correct-horse-battery-9"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    # PBKDF2 takes half a second a hash; these tests sign in many times.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def user_with_role(role, username=None, *, password=PASSWORD, **fields):
    """A saved user with ``role`` (or none, for ``role=None``) and ``password``."""
    User = get_user_model()
    user = User.objects.create_user(username or f"{role or 'nobody'}-user", **fields)
    user.set_password(password)
    user.save()
    if role:
        roles.user_role_set(user=user, role=role)
    return user


def permission_names(group):
    return {
        f"{p.content_type.app_label}.{p.codename}"
        for p in group.permissions.select_related("content_type")
    }


def run(*args):
    out = io.StringIO()
    call_command("create_user", *args, stdout=out)
    return out.getvalue()


@pytest.fixture
def password_env(monkeypatch):
    monkeypatch.setenv("IMADMIN_PASSWORD", PASSWORD)


def role_entries():
    return list(
        AuditEvent.objects.filter(action=AuditAction.ROLE_CHANGED).order_by("id")
    )


# -- the groups ---------------------------------------------------------------


def test_it_makes_each_role_a_group_with_exactly_its_permissions():
    for role in roles.ROLES.values():
        assert permission_names(Group.objects.get(name=role.name)) == set(
            role.permissions
        )


def test_the_migrations_copy_of_the_table_matches_roles_py():
    migration = importlib.import_module("accounts.migrations.0003_roles")
    assert {name: set(p) for name, p in migration.ROLES.items()} == {
        name: set(role.permissions) for name, role in roles.ROLES.items()
    }


def test_it_gives_auditors_nothing_that_changes_anything():
    granted = roles.AUDITOR.permissions
    assert not [
        p for p in granted if not p.split(".")[1].startswith(("view_", "export_"))
    ]


def test_it_gives_importers_everything_support_has():
    assert set(roles.SUPPORT.permissions) <= set(roles.IMPORTER.permissions)


def test_it_grants_the_permissions_through_the_group():
    support, importer = user_with_role("support"), user_with_role("importer")
    auditor = user_with_role("auditor")
    assert support.has_perm("accounts.import_single")
    assert not support.has_perm("accounts.run_bulk_jobs")
    assert importer.has_perm("accounts.run_bulk_jobs")
    assert not importer.has_perm("accounts.view_auditevent")
    assert auditor.has_perm("accounts.export_audit")
    assert not auditor.has_perm("accounts.import_single")
    assert not auditor.has_perm("accounts.run_bulk_jobs")
    assert (support.is_staff, importer.is_staff, auditor.is_staff) == (
        False,
        True,
        True,
    )


# -- create_user ------------------------------------------------------------------


def test_it_creates_a_user_with_the_password_from_the_environment(
    password_env, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        out = run("alice", "--role", "support")
    alice = get_user_model().objects.get(username="alice")
    assert alice.check_password(PASSWORD)
    assert roles.role_names(alice.pk) == ["support"]
    assert not alice.is_staff
    assert "Created alice with role support" in out
    (entry,) = role_entries()
    assert entry.details == {
        "username": "alice",
        "old": [],
        "new": ["support"],
        "via": "manage.py create_user",
    }
    assert (entry.object_type, entry.object_id) == ("user", str(alice.pk))


def test_it_changes_a_role_and_records_old_and_new(
    password_env, django_capture_on_commit_callbacks
):
    user = user_with_role("importer", "bob")
    before = len(role_entries())
    with django_capture_on_commit_callbacks(execute=True):
        out = run("bob", "--role", "auditor")
    assert roles.role_names(user.pk) == ["auditor"]
    assert "bob: role importer → auditor" in out
    entries = role_entries()[before:]
    assert len(entries) == 1
    assert (entries[0].details["old"], entries[0].details["new"]) == (
        ["importer"],
        ["auditor"],
    )


def test_it_writes_no_entry_when_the_role_stays(
    monkeypatch, django_capture_on_commit_callbacks
):
    user_with_role("support", "carol")
    before = len(role_entries())
    with django_capture_on_commit_callbacks(execute=True):
        out = run("carol", "--role", "support")
    assert "carol already has role support" in out
    assert len(role_entries()) == before


def test_it_keeps_an_existing_users_password_unless_asked(monkeypatch):
    user = user_with_role("support", "dave")
    monkeypatch.delenv("IMADMIN_PASSWORD", raising=False)
    run("dave", "--role", "importer")
    user.refresh_from_db()
    assert user.check_password(PASSWORD)


def test_it_prompts_twice_for_the_password(monkeypatch):
    monkeypatch.delenv("IMADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["Tr0ub4dor&3-long", "Tr0ub4dor&3-long"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    run("erin", "--role", "auditor", "--email", "erin@example.com")
    erin = get_user_model().objects.get(username="erin")
    assert erin.check_password("Tr0ub4dor&3-long")
    assert erin.is_staff and erin.email == "erin@example.com"


def test_it_refuses_two_different_passwords(monkeypatch):
    monkeypatch.delenv("IMADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    answers = iter(["Tr0ub4dor&3-long", "something-else-42"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    with pytest.raises(CommandError, match="differ"):
        run("frank", "--role", "support")
    assert not get_user_model().objects.filter(username="frank").exists()


def test_it_applies_the_password_validators(monkeypatch):
    monkeypatch.setenv("IMADMIN_PASSWORD", "12345")
    with pytest.raises(CommandError, match="Password refused: .*too short"):
        run("gina", "--role", "support")
    assert not get_user_model().objects.filter(username="gina").exists()


def test_it_says_how_to_give_a_password_without_a_terminal(monkeypatch):
    monkeypatch.delenv("IMADMIN_PASSWORD", raising=False)
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    with pytest.raises(CommandError, match="IMADMIN_PASSWORD"):
        run("hank", "--role", "support")


def test_it_refuses_an_unknown_role(password_env):
    with pytest.raises(CommandError, match="invalid choice"):
        run("ivan", "--role", "owner")


def test_it_gives_admin_access_to_support_only_with_staff(password_env):
    run("judy", "--role", "support", "--staff")
    assert get_user_model().objects.get(username="judy").is_staff


def test_it_leaves_a_superuser_a_superuser(password_env):
    boss = get_user_model().objects.create_superuser("boss", "", PASSWORD)
    run("boss", "--role", "support")
    boss.refresh_from_db()
    assert boss.is_superuser and boss.is_staff


# -- role changes in the Django admin ----------------------------------------------


def test_it_records_a_role_change_made_in_the_admin(
    client, django_capture_on_commit_callbacks
):
    boss = get_user_model().objects.create_superuser("boss", "", PASSWORD)
    user = user_with_role("support", "kim")
    client.force_login(boss)
    before = len(role_entries())
    importer = roles.role_group(roles.IMPORTER)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            f"/admin/auth/user/{user.pk}/change/",
            {
                "username": "kim",
                "is_active": "on",
                "groups": [importer.pk],
                "date_joined_0": "2026-01-01",
                "date_joined_1": "00:00:00",
                "initial-date_joined_0": "2026-01-01",
                "initial-date_joined_1": "00:00:00",
            },
            REMOTE_ADDR="192.0.2.7",
        )
    assert response.status_code == 302, response.content[:2000]
    entries = role_entries()[before:]
    assert len(entries) == 1
    entry = entries[0]
    assert (entry.actor, entry.actor_name, entry.ip) == (boss, "boss", "192.0.2.7")
    assert (entry.details["old"], entry.details["new"]) == (["support"], ["importer"])
    assert entry.object_id == str(user.pk)


@pytest.mark.django_db(transaction=True)
def test_it_records_each_step_of_a_change_made_outside_a_transaction():
    user = user_with_role(None, "liam")
    before = len(role_entries())
    user.groups.add(roles.role_group(roles.AUDITOR))
    entries = role_entries()[before:]
    assert len(entries) == 1 and entries[0].details["new"] == ["auditor"]
