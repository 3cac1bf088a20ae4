"""The three roles as Django groups: what each may do, and how a user gets one.

ROLES is the one table of role → permissions. Migration 0003 holds a copy
(migrations must not import code that changes); tests check the two agree.
Superusers keep Django's meaning: every permission, whatever their groups.
"""

from dataclasses import dataclass

from django.contrib.auth.models import Group, Permission
from django.db import transaction


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    permissions: tuple  # "app_label.codename"
    staff: bool  # may open the Django admin (importers' actions, auditors' browsing)


SUPPORT = Role(
    name="support",
    description="imports single users and reads accounts",
    permissions=("accounts.import_single", "accounts.view_trackedaccount"),
    staff=False,
)
IMPORTER = Role(
    name="importer",
    description=(
        "support's rights, plus CSV uploads, bulk jobs, admin actions (import, "
        "check, delete from IM), retry and cancel"
    ),
    permissions=(
        *SUPPORT.permissions,
        "accounts.run_bulk_jobs",
        "accounts.view_importjob",
        "accounts.view_jobitem",
        "accounts.view_apicall",
        "accounts.view_upload",
    ),
    staff=True,
)
AUDITOR = Role(
    name="auditor",
    description=(
        "reads everything (accounts, jobs, API calls, uploads, the audit history, "
        "users and roles) and exports it; changes nothing"
    ),
    permissions=(
        "accounts.view_trackedaccount",
        "accounts.view_importjob",
        "accounts.view_jobitem",
        "accounts.view_apicall",
        "accounts.view_upload",
        "accounts.view_auditevent",
        "accounts.export_audit",
        "auth.view_user",
        "auth.view_group",
    ),
    staff=True,
)
ROLES = {role.name: role for role in (SUPPORT, IMPORTER, AUDITOR)}


def roles_granting(permissions):
    """The names of the roles that hold every one of ``permissions``, in ROLES order."""
    needed = set(permissions)
    return [role.name for role in ROLES.values() if needed <= set(role.permissions)]


def role_names(user_pk):
    """The names of the groups a user belongs to, sorted (roles and any other)."""
    return sorted(Group.objects.filter(user__pk=user_pk).values_list("name", flat=True))


def role_group(role):
    """The group for ``role`` (a Role), made with its permissions if missing."""
    group, created = Group.objects.get_or_create(name=role.name)
    if created:
        group.permissions.set(_permissions(role.permissions))
    return group


def _permissions(names):
    found = []
    for name in names:
        app_label, codename = name.split(".")
        found.append(
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
        )
    return found


def user_role_set(*, user, role, staff=False):
    """Give a saved ``user`` exactly one role, removing the other roles' groups.

    ``is_staff`` follows the role (``staff`` adds it; superusers keep it).
    Returns (group names before, group names after). The m2m_changed receiver
    in signals.py writes the ROLE_CHANGED entry. A second call changes nothing.
    """
    spec = ROLES[role]
    with transaction.atomic():
        group = role_group(spec)
        before = role_names(user.pk)
        others = Group.objects.filter(name__in=ROLES).exclude(pk=group.pk)
        user.groups.remove(*others)
        user.groups.add(group)
        is_staff = spec.staff or staff or user.is_superuser
        if user.is_staff != is_staff:
            user.is_staff = is_staff
            user.save(update_fields=["is_staff"])
    return before, role_names(user.pk)
