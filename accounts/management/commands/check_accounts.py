"""``manage.py check_accounts``: ask IM which tracked accounts it holds."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import JobSource

from ._jobs import add_wait_arguments, report


class Command(BaseCommand):
    help = (
        "Queue a reconciliation with account_check: uncertain accounts (failed, or "
        "importing with no live worker), or with --all every imported account too."
    )

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", dest="all_imported")
        add_wait_arguments(parser)

    def handle(self, *args, all_imported, **options):
        job = services.accounts_reconcile(
            all_imported=all_imported, source=JobSource.COMMAND
        )
        if job is None:
            self.stdout.write(_("Nothing to check, or a check job is already running."))
            return
        report(self, job, options)
