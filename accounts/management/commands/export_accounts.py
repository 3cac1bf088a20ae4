"""``manage.py export_accounts``: the tracked accounts as CSV or JSON lines."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import selectors
from accounts.exports import ACCOUNT_FIELDS, FORMATS


class Command(BaseCommand):
    help = "Write every tracked account as CSV or JSON, streamed in constant memory."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=list(FORMATS), default="csv")
        parser.add_argument("--output", help="file to write (default: standard output)")

    def handle(self, *args, format, output, **options):
        lines = FORMATS[format](ACCOUNT_FIELDS, selectors.account_export_rows())
        if not output:
            for line in lines:
                self.stdout.write(line, ending="")
            return
        try:
            with open(output, "w", encoding="utf-8", newline="") as out:
                for line in lines:
                    out.write(line)
        except OSError as exc:
            raise CommandError(
                _("Cannot write %(path)s: %(why)s.")
                % {"path": output, "why": exc.strerror}
            ) from None
