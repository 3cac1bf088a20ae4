"""django-q2 entry points: ids in, load, call a service. Nothing else lives here.

Jobs are sent by the engine in each worker process (``pipeline.worker``), not
by tasks: ``engine_wake`` only tells it that new work is there.
"""

from django.conf import settings

from accounts import maintenance as upkeep
from accounts import retention, services
from accounts.uploads import services as uploads

from .models import ImportJob
from .ops.logs import job_context
from .pipeline.engine import wake_local


def engine_wake():
    """New work was queued: let this process's engine look at once."""
    wake_local()


def job_prepare(job_id):
    """Read a confirmed upload into its job for one slice; queue the next if needed.

    Sending begins as soon as the first rows are in.
    """
    with job_context(job_id):
        job = ImportJob.objects.filter(pk=job_id).first()
        seconds = settings.PREPARE_SLICE_SECONDS
        if job and uploads.upload_prepare(job=job, seconds=seconds):
            services.job_prepare_enqueue(job_id=job_id)


def maintenance():
    """Scheduled upkeep: resume stalled preparations, reconcile uncertain accounts."""
    resumed, check = upkeep.maintenance()
    return {"resumed": resumed, "check_job": check.pk if check else None}


def prune():
    """Scheduled retention: delete expired uploads, sessions (and API calls if set)."""
    return retention.records_prune().as_json()
