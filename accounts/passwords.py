"""Changing one's own password: guesses of the old one throttled, every outcome audited.

Guessing the current password on the change page is a sign-in attempt by
other means (a session left open, a stolen cookie), so a wrong one counts
against the same lock-out as a failed sign-in, and a locked-out user cannot
change their password until it ends.
"""

from django.contrib.auth.forms import AdminPasswordChangeForm, PasswordChangeForm
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from accounts import security
from accounts.audit.records import audit_record, current_context
from accounts.models import AuditAction

LOCKED = _(
    "Too many wrong passwords: the password cannot be changed until the lock-out ends."
)


class ThrottledPasswordChangeForm(PasswordChangeForm):
    """Django's form, refusing while locked out and counting wrong old passwords."""

    def clean_old_password(self):
        # The request in flight, as the audit context names it (the form gets none).
        request = current_context().get("request")
        username = self.user.get_username()
        if request is not None and security.guesses_locked(request, username):
            self._audit(AuditAction.PASSWORD_REFUSED, request, "locked_out")
            raise ValidationError(LOCKED, code="locked_out")
        try:
            return super().clean_old_password()
        except ValidationError:
            locked = request is not None and security.guess_failed(request, username)
            result = "locked_out" if locked else "failed"
            self._audit(AuditAction.PASSWORD_REFUSED, request, result)
            raise

    def save(self, commit=True):
        user = super().save(commit=commit)
        self._audit(AuditAction.PASSWORD_CHANGED, current_context().get("request"))
        return user

    def _audit(self, action, request, result="ok"):
        audit_record(
            action=action,
            request=request,
            actor=self.user,
            object_type="user",
            object_id=self.user.pk,
            result=result,
            details={"username": self.user.get_username()},
        )


class AuditedAdminPasswordChangeForm(AdminPasswordChangeForm):
    """The admin's "set password" of another user, audited as a password change.

    No old password is asked there (a superuser sets it), so nothing is
    throttled; the entry names who set it and whose it is.
    """

    def save(self, commit=True):
        user = super().save(commit=commit)
        request = current_context().get("request")
        audit_record(
            action=AuditAction.PASSWORD_CHANGED,
            request=request,
            actor=getattr(request, "user", None),
            object_type="user",
            object_id=user.pk,
            details={"username": user.get_username(), "set_by_admin": True},
        )
        return user
