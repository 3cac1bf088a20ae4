"""django-q2 entry points: ids in, load, call a service. Nothing else lives here."""

from . import runner, services


def job_run(job_id):
    """Work a job for one slice, then queue the next slice if work remains."""
    if runner.job_run(job_id):
        services.job_enqueue(job_id=job_id, runners=1)


def maintenance():
    """Scheduled upkeep: resume stalled jobs and reconcile uncertain accounts."""
    resumed, check = services.maintenance()
    return {"resumed": resumed, "check_job": check.pk if check else None}
