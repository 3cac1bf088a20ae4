"""Add a webhook endpoint that is POSTed a signed body when a job ends.

    python manage.py add_webhook https://app.example.com/hooks/imadmin \\
        --secret "$WEBHOOK_SECRET" [--events job.done job.stopped]

Without --events it gets every event. The secret signs each delivery (see
the README for how a receiver checks it); it is stored, never printed.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts.audit.records import audit_context
from accounts.models import JobEvent
from accounts.notifications import services


class Command(BaseCommand):
    help = "Add a webhook endpoint that is told when jobs end."

    def add_arguments(self, parser):
        parser.add_argument("url")
        parser.add_argument("--secret", required=True, help="Signs each delivery.")
        parser.add_argument(
            "--events",
            nargs="+",
            default=[],
            metavar="EVENT",
            help=f"Only these ({', '.join(JobEvent.values)}); default: every event.",
        )

    def handle(self, *args, url, secret, events, **options):
        try:
            with audit_context(via="manage.py add_webhook"):
                endpoint = services.webhook_create(
                    url=url, secret=secret, events=events
                )
        except services.WebhookInvalid as exc:
            raise CommandError(str(exc)) from None
        wanted = ", ".join(endpoint.events) or _("every event")
        self.stdout.write(
            _("Webhook #%(number)s added: %(url)s (%(events)s).")
            % {"number": endpoint.pk, "url": endpoint.url, "events": wanted}
        )
