"""Sending a job's units in the calling thread: the single-import form's answer."""

from django.conf import settings

from ..ops.logs import job_context
from . import claims, lifecycle, limiter, outcomes, policy, sending


def send_now(job, client):
    """Claim and send ``job``'s due units in this thread, recording each answer.

    For the single-import form, answered within its request. A unit whose
    answer says IM is failing leaves the job waiting; the engines retry it.
    """
    shared = limiter.shared()
    with job_context(job.pk):
        for unit in claims.claim(job_id=job.pk, job_kind=job.kind, units=1):
            shared.acquire(unit.api)
            answer = sending.send(client, unit, acquire=shared.acquire)
            max_attempts = settings.IM_MAX_ATTEMPTS
            decision = policy.decide(unit, answer, max_attempts=max_attempts)
            recorded = outcomes.record([(unit, answer, decision)])
            for job_id in recorded.stopped:
                lifecycle.sweep(job_id)
