"""django-q2 entry points: ids in, load, call a service. Nothing else lives here."""

from django.conf import settings

from . import runner, services, uploads
from .models import ImportJob


def job_run(job_id):
    """Work a job for one slice, then queue the next slice if work remains."""
    if runner.job_run(job_id):
        services.job_enqueue(job_id=job_id, runners=1)


def job_prepare(job_id):
    """Read a confirmed upload into its job for one slice; queue the next if needed.

    The job starts its runners itself once every row is in.
    """
    job = ImportJob.objects.filter(pk=job_id).first()
    if job and uploads.upload_prepare(job=job, seconds=settings.IMPORT_SLICE_SECONDS):
        services.job_prepare_enqueue(job_id=job_id)


def maintenance():
    """Scheduled upkeep: resume stalled jobs and reconcile uncertain accounts."""
    resumed, check = services.maintenance()
    return {"resumed": resumed, "check_job": check.pk if check else None}
