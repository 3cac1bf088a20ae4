"""``manage.py resume_job ID``: send a paused job again once its settings are fixed."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from accounts import services
from accounts.models import ImportJob, JobStatus

from ._jobs import add_wait_arguments, report


class Command(BaseCommand):
    help = (
        "Send a paused job again, once what paused it (the IM settings or key) is "
        "fixed. Its queued accounts go out as usual; with --wait, prints its counts "
        "once it has ended."
    )

    def add_arguments(self, parser):
        parser.add_argument("job", type=int, help="the job's number")
        add_wait_arguments(parser)

    def handle(self, *args, job, **options):
        found = ImportJob.objects.filter(pk=job).first()
        if found is None:
            raise CommandError(_("There is no job #%(job)s.") % {"job": job})
        if found.status != JobStatus.PAUSED:
            raise CommandError(
                _("Job #%(job)s is %(status)s, not paused: there is nothing to resume.")
                % {"job": job, "status": found.get_status_display()}
            )
        services.job_resume(job=found)
        report(self, found, options)
