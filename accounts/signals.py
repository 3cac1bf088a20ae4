"""Audit entries for sign-ins, sign-outs, lock-outs and role changes.

Connected by AccountsConfig.ready(). These receivers only record; they never
decide anything.
"""

from functools import partial

from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import (
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db import connection, transaction
from django.db.models.signals import m2m_changed
from django.dispatch import receiver

from accounts.audit.records import audit_record, current_context

from .models import AuditAction
from .roles import role_names

User = get_user_model()


@receiver(user_logged_in, dispatch_uid="audit_sign_in")
def audit_sign_in(sender, request, user, **kwargs):
    audit_record(
        action=AuditAction.SIGN_IN,
        request=request,
        actor=user,
        object_type="user",
        object_id=user.pk,
    )


@receiver(user_login_failed, dispatch_uid="audit_sign_in_failed")
def audit_sign_in_failed(sender, credentials, request=None, **kwargs):
    # Django has already replaced the password in ``credentials``; only the
    # username is kept, and it may be anything a stranger typed.
    username = str(credentials.get(User.USERNAME_FIELD) or "")
    refused = getattr(request, "imadmin_locked_out", False)
    audit_record(
        action=AuditAction.SIGN_IN_FAILED,
        request=request,
        object_type="user",
        object_id=username,
        result="locked_out" if refused else "failed",
        details={"username": username[:150]},
    )


@receiver(user_logged_out, dispatch_uid="audit_sign_out")
def audit_sign_out(sender, request, user, **kwargs):
    if user is None:  # signing out without being signed in
        return
    audit_record(
        action=AuditAction.SIGN_OUT,
        request=request,
        actor=user,
        object_type="user",
        object_id=user.pk,
    )


@receiver(user_locked_out, dispatch_uid="audit_locked_out")
def audit_locked_out(sender, request, username, ip_address, **kwargs):
    # axes signals again for each attempt refused during a lock-out; those
    # are recorded as failed sign-ins with result "locked_out" instead.
    if getattr(request, "imadmin_locked_out", False):
        return
    username = str(username or "")
    audit_record(
        action=AuditAction.LOCKED_OUT,
        request=request,
        object_type="user",
        object_id=username,
        result="locked_out",
        details={
            "username": username[:150],
            **_limit(request),
            "minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
        },
    )


def _limit(request):
    """The limit that was reached: per address, or the username's from all."""
    if getattr(request, "imadmin_lockout_scope", "") == "username":
        return {
            "failures": settings.SIGNIN_USERNAME_FAILURE_LIMIT,
            "from": "any address",
        }
    return {"failures": settings.AXES_FAILURE_LIMIT}


# -- role changes ---------------------------------------------------------------
# A change of groups arrives as several m2m_changed signals (``set()`` removes,
# then adds). The groups before the first one are kept on the instance, and
# one entry per user is written when the transaction commits, or right after
# each step when there is no transaction.


@receiver(m2m_changed, sender=User.groups.through, dispatch_uid="audit_role_change")
def audit_role_change(sender, instance, action, reverse, pk_set, **kwargs):
    before = instance.__dict__.setdefault("_audit_groups_before", {})
    if action.startswith("pre_"):
        new = [
            pk for pk in _affected_users(instance, reverse, pk_set) if pk not in before
        ]
        for pk in new:
            before[pk] = role_names(pk)
        if new and connection.in_atomic_block:
            # Who and where are those of now, not of whenever the commit runs.
            context = current_context()
            transaction.on_commit(partial(_record_role_changes, before, new, context))
    elif not connection.in_atomic_block:
        _record_role_changes(before, list(before), current_context())


def _affected_users(instance, reverse, pk_set):
    if not reverse:
        return [instance.pk]
    if pk_set is None:  # group.user_set.clear()
        return list(instance.user_set.values_list("pk", flat=True))
    return list(pk_set)


def _record_role_changes(before, user_pks, context):
    for pk in user_pks:
        old = before.pop(pk, None)
        new = role_names(pk)
        if old is None or old == new:
            continue
        details = {
            "username": User.objects.filter(pk=pk)
            .values_list(User.USERNAME_FIELD, flat=True)
            .first(),
            "old": old,
            "new": new,
        }
        if context.get("via"):
            details["via"] = context["via"]
        audit_record(
            action=AuditAction.ROLE_CHANGED,
            request=context.get("request"),
            object_type="user",
            object_id=pk,
            details=details,
        )
