"""``manage.py maintenance``: the scheduled upkeep, run by hand."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from accounts import maintenance


class Command(BaseCommand):
    help = (
        "Run the scheduled upkeep now: resume stalled preparations of uploads, end "
        "those of a command that died, settle stopped jobs, drop stale uploads and "
        "reconcile uncertain accounts. (Jobs themselves need no restart: every "
        "worker takes over a dead one's claims once they expire.)"
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-reconcile", action="store_true")

    def handle(self, *args, no_reconcile, **options):
        resumed, check = maintenance.maintenance(reconcile=not no_reconcile)
        self.stdout.write(
            _("resumed preparations: %(jobs)s") % {"jobs": resumed or _("none")}
        )
        if check:
            self.stdout.write(
                _("check job #%(job)s queued (%(count)s accounts)")
                % {"job": check.pk, "count": check.total}
            )
