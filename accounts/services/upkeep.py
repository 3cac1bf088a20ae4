"""Settling what a crash left in doubt: uncertain accounts, abandoned items."""

import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.audit.records import audit_job_started
from accounts.models import (
    ACTIVE_JOB_STATUSES,
    AccountState,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import lifecycle
from accounts.pipeline.worker import wake
from accounts.services.items import items_add_matching
from accounts.services.jobs import job_create


def uncertain_accounts():
    """Accounts whose standing in IM is in doubt: failed, or importing unattended.

    An account held by a running item is left out: its call is in flight.
    """
    stale = timezone.now() - timedelta(seconds=2 * settings.IM_CLAIM_LEASE_SECONDS)
    held = JobItem.objects.filter(
        state=ItemState.QUEUED, claimed_until__gte=time.time()
    ).values("account_id")
    return TrackedAccount.objects.filter(
        Q(state=AccountState.FAILED)
        | Q(state=AccountState.IMPORTING, updated_at__lt=stale)
    ).exclude(pk__in=held)


def accounts_reconcile(*, all_imported=False, source=JobSource.COMMAND, user=None):
    """Start a check job over uncertain accounts (and every imported one if asked).

    Returns the job, or None when there is nothing to check or a check job is
    already running (a second call is harmless).
    """
    if ImportJob.objects.filter(
        kind=JobKind.CHECK, status__in=ACTIVE_JOB_STATUSES
    ).exists():
        return None
    accounts = uncertain_accounts()
    if all_imported:
        accounts = accounts | TrackedAccount.objects.filter(state=AccountState.IMPORTED)
    # The stale-importing accounts are busy by state, but no worker holds them.
    with transaction.atomic():
        job = job_create(
            kind=JobKind.CHECK,
            source=source,
            user=user,
            label="all imported accounts" if all_imported else "uncertain accounts",
        )
        if not items_add_matching(job, accounts.distinct()):
            transaction.set_rollback(True)
            return None
        audit_job_started(job)
        wake()
    return job


def settle_abandoned_items():
    """Settle stopped or cancelled jobs whose own process died mid-stop.

    Queued items (and those whose lease ran out) are swept, and the job settled
    (its end written to the audit history) once nothing is open. Returns the
    ids of the jobs it touched; harmless to run at any time.
    """
    jobs = ImportJob.objects.filter(
        status__in=(JobStatus.STOPPED, JobStatus.CANCELLED), finished_at=None
    )
    touched = []
    for job in jobs:
        lifecycle.sweep(job.pk)
        touched.append(job.pk)
    return touched
