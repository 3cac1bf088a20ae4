"""Create a user with one role, or change an existing user's role.

    python manage.py create_user alice --role support
    IMADMIN_PASSWORD=... python manage.py create_user bob --role importer

A new user's password is asked twice (or read from IMADMIN_PASSWORD, for
scripts); an existing user keeps theirs unless --set-password is given or
IMADMIN_PASSWORD is set. A change of role leaves a ROLE_CHANGED audit entry.
"""

import getpass
import os
import sys

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts import roles
from accounts.audit.records import audit_context

PASSWORD_ENV = "IMADMIN_PASSWORD"


class Command(BaseCommand):
    help = "Create a user or change a user's role (support, importer or auditor)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=sorted(roles.ROLES))
        parser.add_argument(
            "--staff",
            action="store_true",
            help="Let the user open the Django admin even if the role does not.",
        )
        parser.add_argument("--email", help="The user's email address.")
        parser.add_argument(
            "--set-password",
            action="store_true",
            help="Ask for a new password for an existing user.",
        )

    def handle(self, *args, username, role, staff, email, set_password, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        created = user is None
        if created:
            user = User(**{User.USERNAME_FIELD: username})
        if email is not None:
            user.email = email
        password = None
        if created or set_password or os.environ.get(PASSWORD_ENV):
            password = self._password(user)
        with audit_context(via="manage.py create_user"), transaction.atomic():
            if password is not None:
                user.set_password(password)
            user.save()
            before, after = roles.user_role_set(user=user, role=role, staff=staff)
        self.stdout.write(self._summary(user, created, before, after, password))

    def _password(self, user):
        password = os.environ.get(PASSWORD_ENV)
        if not password:
            password = self._prompt()
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise CommandError(
                _("Password refused: %(why)s") % {"why": " ".join(exc.messages)}
            ) from None
        return password

    def _prompt(self):
        if not sys.stdin.isatty():
            raise CommandError(
                _("No password: run this in a terminal, or set %(env)s.")
                % {"env": PASSWORD_ENV}
            )
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError(_("The two passwords differ; nothing was changed."))
        if not password:
            raise CommandError(_("The password is empty; nothing was changed."))
        return password

    def _summary(self, user, created, before, after, password):
        name = user.get_username()
        admin = _("may open the admin") if user.is_staff else _("no admin access")
        said = {
            "name": name,
            "before": ", ".join(before) or _("none"),
            "after": ", ".join(after) or _("none"),
            "admin": admin,
        }
        if created:
            return _("Created %(name)s with role %(after)s (%(admin)s).") % said
        line = _("%(name)s: role %(before)s → %(after)s (%(admin)s)") % said
        if before == after:
            line = _("%(name)s already has role %(after)s (%(admin)s)") % said
        return line + (_("; password changed.") if password else ".")
