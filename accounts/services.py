"""Every write and state change of accounts and jobs; queueing happens on commit.

Views, admin actions, commands and tasks call these; none of them writes models
directly. Services take keyword-only arguments and are named ``<entity>_<action>``.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone
from django_q.tasks import async_task

from . import batches, conf, runner
from .audit import audit_job_ended, audit_job_started
from .bulk_sql import insert_rows, update_by_ids
from .models import (
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

CHUNK = 500  # rows per statement: under SQLite's parameter cap, cheap in memory
BUSY_STATES = (AccountState.QUEUED, AccountState.IMPORTING)


class NothingToDo(Exception):
    """The request selects no account a job could work on; ``str()`` says why."""


# -- queueing ----------------------------------------------------------------


def job_enqueue(*, job_id, runners=None):
    """Queue ``runners`` django-q2 tasks for ``job_id`` once the transaction commits."""
    count = runners or settings.Q_WORKERS

    def send():
        for _ in range(count):
            async_task(
                "accounts.tasks.job_run",
                job_id,
                task_name=f"job-{job_id}",
                group="jobs",
            )

    transaction.on_commit(send)


# -- creating jobs -----------------------------------------------------------


def _job_create(*, kind, source, user, label="", options=None):
    return ImportJob.objects.create(
        kind=kind,
        source=source,
        created_by=user if user and user.is_authenticated else None,
        label=label[:255],
        options=options or {},
    )


def _items_add(job, accounts):
    """Insert a queued item for each account of the queryset in one INSERT … SELECT."""
    sql, params = accounts.order_by().values("id").query.sql_with_params()
    table, now = JobItem._meta.db_table, timezone.now()
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (job_id, account_id, state, attempts,"
            " next_attempt_at,"
            " claim_token, solo, needs_check, error_message, updated_at)"
            f" SELECT %s, sub.id, %s, 0, 0, '', %s, false, '', %s FROM ({sql}) sub",
            [job.pk, ItemState.QUEUED, job.options.get("solo", False), now, *params],
        )
        added = cursor.rowcount
    changes = {"job": job, "updated_at": now}
    if job.kind == JobKind.IMPORT:
        changes["state"] = AccountState.QUEUED
    TrackedAccount.objects.filter(job_items__job=job).update(**changes)
    ImportJob.objects.filter(pk=job.pk).update(total=added)
    job.total = added
    return added


def job_start(
    *, kind, accounts, source, user=None, label="", options=None, exclude_busy=True
):
    """Create a job over ``accounts`` (a queryset) and queue its runners.

    Accounts already queued or importing in another job are left out. Returns
    the job; raises NothingToDo when no account is left. The whole change is
    one transaction: a job exists with all its items, or not at all.
    """
    with transaction.atomic():
        eligible = accounts.exclude(state__in=BUSY_STATES) if exclude_busy else accounts
        job = _job_create(
            kind=kind, source=source, user=user, label=label, options=options
        )
        if not _items_add(job, eligible):
            transaction.set_rollback(True)
            raise NothingToDo(
                "No account to work on: the selection is empty or already in a "
                "running job."
            )
        audit_job_started(job)
        job_enqueue(job_id=job.pk)
    return job


def job_retry_failed(*, job, user=None, source=JobSource.ADMIN):
    """Start a new import job with ``job``'s accounts that are still failed."""
    failed = TrackedAccount.objects.filter(
        job_items__job=job,
        job_items__state=ItemState.FAILED,
        state=AccountState.FAILED,
    )
    return job_start(
        kind=JobKind.IMPORT,
        accounts=failed,
        source=source,
        user=user,
        label=f"retry of job #{job.pk}",
        options={"retry_of": job.pk},
    )


def job_cancel(*, job, user=None):
    """Cancel a queued or running job; its queued accounts go back to pending.

    Batches already sent finish and are recorded. Returns False if the job had
    already ended (a second call is harmless).
    """
    with transaction.atomic():
        cancelled = ImportJob.objects.filter(
            pk=job.pk, status__in=ACTIVE_JOB_STATUSES
        ).update(status=JobStatus.CANCELLED, finished_at=timezone.now())
        if cancelled:
            batches.sweep_open_items(job)
            audit_job_ended(job)
    job.refresh_from_db()
    return bool(cancelled)


# -- accounts from rows (CSV, command) ----------------------------------------


@dataclass
class RowsSummary:
    """What an upsert of rows found: new accounts, changed profiles, and skips."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0  # already imported, same profile: not sent again
    busy: int = 0  # queued or importing in another job: left to that job

    @property
    def queued(self):
        return self.new + self.updated + self.resend

    resend: int = 0  # known, not imported yet (pending, failed, invalid)


def accounts_upsert(*, rows, source, reimport=False):
    """Create or update tracked accounts from validated rows.

    ``rows`` yields dicts with ``user_id`` and optional ``nick``/``face_url``,
    already validated and without duplicates. An empty nick or avatar leaves the
    stored one as it is, as IM does when the field is left out. Returns the ids
    of the accounts to send and a RowsSummary.
    """
    ids, summary, chunk = [], RowsSummary(), []
    for row in rows:
        chunk.append(row)
        if len(chunk) == CHUNK:
            ids += _upsert_chunk(chunk, source, summary, reimport)
            chunk = []
    if chunk:
        ids += _upsert_chunk(chunk, source, summary, reimport)
    return ids, summary


def _upsert_chunk(rows, source, summary, reimport):
    known = {
        values[0]: values
        for values in TrackedAccount.objects.filter(
            user_id__in=[r["user_id"] for r in rows]
        ).values_list("user_id", "id", "nick", "face_url", "state")
    }
    new, changed, send = [], [], []
    for row in rows:
        account = known.get(row["user_id"])
        if account is None:
            new.append(row)
            continue
        _, pk, nick, face_url, state = account
        profile = _new_profile(nick, face_url, row)
        if state in BUSY_STATES:
            summary.busy += 1
        elif profile:
            changed.append((*profile, pk))
        elif state != AccountState.IMPORTED or reimport:
            send.append(pk)
            summary.resend += 1
        else:
            summary.unchanged += 1
    now = timezone.now()
    created = _accounts_create(new, source, now)
    if changed:
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {TrackedAccount._meta.db_table} SET nick = %s, face_url = %s,"
                " updated_at = %s WHERE id = %s",
                [
                    (nick, face, connection.ops.adapt_datetimefield_value(now), pk)
                    for nick, face, pk in changed
                ],
            )
    summary.new += len(created)
    summary.updated += len(changed)
    return [*created, *(pk for *_, pk in changed), *send]


def _accounts_create(rows, source, now):
    """Insert new accounts in one executemany; return their ids."""
    if not rows:
        return []
    fields = [
        "user_id",
        "nick",
        "face_url",
        "source",
        "state",
        "attempts",
        "remote_status",
        "last_error",
        "created_at",
        "updated_at",
    ]
    insert_rows(
        TrackedAccount,
        fields,
        [
            (
                r["user_id"],
                r.get("nick") or "",
                r.get("face_url") or "",
                source,
                AccountState.PENDING,
                0,
                "",
                "",
                now,
                now,
            )
            for r in rows
        ],
    )
    return list(
        TrackedAccount.objects.filter(
            user_id__in=[r["user_id"] for r in rows]
        ).values_list("id", flat=True)
    )


def _new_profile(nick, face_url, row):
    """(nick, face_url) if the row changes the stored profile, else None.

    An empty value in the row leaves the stored one, as IM does with a field
    that is left out.
    """
    new_nick = row.get("nick") or nick
    new_face = row.get("face_url") or face_url
    if (new_nick, new_face) == (nick, face_url):
        return None
    return new_nick, new_face


def _apply_profile(account, row):
    profile = _new_profile(account.nick, account.face_url, row)
    if profile:
        account.nick, account.face_url = profile
    return bool(profile)


def _items_add_ids(job, account_ids):
    now = timezone.now()
    solo = job.options.get("solo", False)
    fields = [
        "job",
        "account",
        "state",
        "attempts",
        "next_attempt_at",
        "claim_token",
        "solo",
        "needs_check",
        "error_message",
        "updated_at",
    ]
    queued = {"job_id": job.pk, "state": AccountState.QUEUED, "updated_at": now}
    for start in range(0, len(account_ids), CHUNK):
        part = account_ids[start : start + CHUNK]
        insert_rows(
            JobItem,
            fields,
            [
                (job.pk, pk, ItemState.QUEUED, 0, 0.0, "", solo, False, "", now)
                for pk in part
            ],
        )
        update_by_ids(TrackedAccount, part, queued)
    ImportJob.objects.filter(pk=job.pk).update(total=len(account_ids))
    job.total = len(account_ids)


def accounts_import_rows(*, rows, source, user=None, label="", options=None):
    """Upsert ``rows`` and start one import job with them. Returns (job, RowsSummary).

    Unless ``options["reimport"]``, accounts already imported whose profile did
    not change are not sent again. Raises NothingToDo when nothing is left to
    send; the accounts are still created or updated then. One transaction.
    """
    options = dict(options or {})
    with transaction.atomic():
        ids, summary = accounts_upsert(
            rows=rows, source=source, reimport=options.get("reimport", False)
        )
        if not ids:
            return None, summary
        job = _job_create(
            kind=JobKind.IMPORT, source=source, user=user, label=label, options=options
        )
        _items_add_ids(job, ids)
        audit_job_started(job)
        job_enqueue(job_id=job.pk)
    return job, summary


# -- one account, now (the support form) ----------------------------------------


@dataclass
class SingleImport:
    """The plain answer to a single import: what happened, and the records behind it."""

    account: TrackedAccount
    job: ImportJob
    item: JobItem
    existed: bool  # the account was already imported before this call

    @property
    def outcome(self):
        if self.item.state == ItemState.SUCCEEDED:
            return "updated" if self.existed else "imported"
        if self.item.state == ItemState.QUEUED:
            return "retrying"
        return self.item.state  # failed or invalid


def account_import_now(*, user_id, nick="", face_url="", user=None, client=None):
    """Import one validated account synchronously with account_import.

    Returns a SingleImport. A transient failure leaves the account queued for a
    background retry (outcome ``retrying``). Safe to repeat.
    """
    row = {"user_id": user_id, "nick": nick, "face_url": face_url}
    with transaction.atomic():
        account = TrackedAccount.objects.filter(user_id=user_id).first()
        existed = bool(account and account.state == AccountState.IMPORTED)
        if account and account.state in BUSY_STATES:
            raise NothingToDo(
                f"{user_id} is already queued in job #{account.job_id}; "
                "wait for it to finish."
            )
        if account is None:
            account = TrackedAccount.objects.create(
                **_fields(row), source=JobSource.FORM
            )
        elif _apply_profile(account, row):
            account.save(update_fields=["nick", "face_url", "updated_at"])
        job = _job_create(
            kind=JobKind.IMPORT,
            source=JobSource.FORM,
            user=user,
            label=user_id,
            options={"solo": True},
        )
        _items_add_ids(job, [account.pk])
        ImportJob.objects.filter(pk=job.pk).update(
            status=JobStatus.RUNNING, started_at=timezone.now()
        )
        audit_job_started(job)
    job.refresh_from_db()
    _work_now(job, client)
    item = JobItem.objects.get(job=job)
    account.refresh_from_db()
    job.refresh_from_db()
    return SingleImport(account=account, job=job, item=item, existed=existed)


def _fields(row):
    return {"user_id": row["user_id"], "nick": row["nick"], "face_url": row["face_url"]}


def _work_now(job, client):
    own = client is None
    client = client or conf.im_client()
    try:
        batch = batches.claim(job)
        if batch:
            runner.PROCESSORS[job.kind](client, batch)
    finally:
        if own:
            client.close()
    if not batches.finish_if_done(job):
        job.refresh_from_db()
        if job.status == JobStatus.RUNNING:
            job_enqueue(job_id=job.pk, runners=1)


# -- reconciliation and upkeep --------------------------------------------------


def uncertain_accounts():
    """Accounts whose standing in IM is in doubt: failed, or importing unattended."""
    stale = timezone.now() - timedelta(seconds=2 * settings.IM_CLAIM_LEASE_SECONDS)
    return TrackedAccount.objects.filter(
        Q(state=AccountState.FAILED)
        | Q(state=AccountState.IMPORTING, updated_at__lt=stale)
    )


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
        job = _job_create(
            kind=JobKind.CHECK,
            source=source,
            user=user,
            label="all imported accounts" if all_imported else "uncertain accounts",
        )
        if not _items_add(job, accounts.distinct()):
            transaction.set_rollback(True)
            return None
        audit_job_started(job)
        job_enqueue(job_id=job.pk)
    return job


def maintenance(*, reconcile=True):
    """The scheduled upkeep: restart stalled jobs, drop stale uploads, reconcile.

    Returns (ids of resumed jobs, the check job started or None). Safe to run
    at any time and any number of times.
    """
    resumed = runner.resume_stale_jobs()
    for job_id in resumed:
        job_enqueue(job_id=job_id, runners=1)
    runner.settle_abandoned_items()
    from .uploads import uploads_cleanup  # uploads builds on this module

    uploads_cleanup()
    check = accounts_reconcile(source=JobSource.SCHEDULE) if reconcile else None
    return resumed, check
