"""Make an API token for a user; the token is printed once, as the last line.

    python manage.py create_api_token alice --label "sign-up service"

Only its hash is kept: a lost token cannot be shown again; revoke it in the
admin and make a new one. The creation is in the audit history.
"""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import roles, services
from accounts.audit.records import audit_context


class Command(BaseCommand):
    help = "Make an API token acting as USERNAME, with that user's role."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--label", default="", help="What the token is for.")

    def handle(self, *args, username, label, **options):
        User = get_user_model()
        user = User.objects.filter(**{User.USERNAME_FIELD: username}).first()
        if user is None:
            raise CommandError(
                _(
                    "No user %(name)r: create one with "
                    "'manage.py create_user NAME --role ROLE' first."
                )
                % {"name": username}
            )
        if not user.is_active:
            raise CommandError(
                _("User %(name)r is inactive: a token would not work.")
                % {"name": username}
            )
        with audit_context(via="manage.py create_api_token"):
            token, raw_token = services.api_token_create(user=user, label=label)
        role = ", ".join(roles.role_names(user.pk)) or "no role"
        self.stdout.write(
            _(
                "Token %(prefix)s (%(label)s) acts as %(name)s (%(role)s). "
                "It is shown only now; keep it secret:"
            )
            % {
                "prefix": token.prefix,
                "label": label or _("no label"),
                "name": username,
                "role": role,
            }
        )
        self.stdout.write(raw_token)
