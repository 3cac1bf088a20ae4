"""django-q2 entry points: ids in, load, call a service. Nothing else lives here.

Jobs are sent by the engine in each worker process (``pipeline.worker``), not
by tasks: ``engine_wake`` only tells it that new work is there.
"""

from django.conf import settings

from accounts import maintenance as upkeep
from accounts import retention, services
from accounts.notifications import services as notifications
from accounts.scheduled import services as scheduled
from accounts.uploads import services as uploads

from .models import ImportJob, Upload
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


def upload_preview(upload_id):
    """Preview a large upload in the background; its page shows the progress."""
    upload = Upload.objects.filter(pk=upload_id).first()
    if upload:
        uploads.upload_preview_run(upload=upload)


def maintenance():
    """Scheduled upkeep: resume stalled preparations, reconcile uncertain accounts."""
    resumed, check = upkeep.maintenance()
    return {"resumed": resumed, "check_job": check.pk if check else None}


def job_notify(job_id):
    """A job was settled: queue its webhook deliveries and email its starter."""
    return notifications.job_notify(job_id=job_id)


def webhook_deliver(delivery_id):
    """Make one webhook attempt (and the retries due within moments of it)."""
    return notifications.webhook_deliver(delivery_id=delivery_id)


def webhook_retries_due():
    """Scheduled: queue the webhook attempts due, and announce jobs never announced."""
    notifications.jobs_unannounced()
    return len(notifications.webhook_retries_due())


def scheduled_import_run(scheduled_id):
    """Scheduled: run one scheduled import; the id of the job it started."""
    job = scheduled.scheduled_import_run(scheduled_id=scheduled_id)
    return job.pk if job else None


def prune():
    """Scheduled retention: delete expired uploads, sessions (and API calls if set)."""
    return retention.records_prune().as_json()
