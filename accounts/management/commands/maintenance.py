from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = (
        "Run the scheduled upkeep now: restart runners of stalled jobs (claims of a "
        "killed worker are released) and reconcile uncertain accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument("--no-reconcile", action="store_true")

    def handle(self, *args, no_reconcile, **options):
        resumed, check = services.maintenance(reconcile=not no_reconcile)
        self.stdout.write(f"resumed jobs: {resumed or 'none'}")
        if check:
            self.stdout.write(f"check job #{check.pk} queued ({check.total} accounts)")
