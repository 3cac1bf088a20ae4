"""One account imported within the request: the support form's plain answer."""

from dataclasses import dataclass

from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from accounts import conf
from accounts.audit.records import audit_job_started, audit_record
from accounts.im.errors import ImError, sentence_for_people
from accounts.models import (
    AccountState,
    AuditAction,
    ImportJob,
    ItemState,
    JobItem,
    JobKind,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import direct
from accounts.pipeline.worker import wake
from accounts.services import items
from accounts.services.jobs import NothingToDo, job_create
from accounts.services.rows import RowOutcome, new_profile, row_outcome


def _items_add_ids(job, account_ids):
    added = items.items_add(job, account_ids)
    items.accounts_queue(job, account_ids)
    ImportJob.objects.filter(pk=job.pk).update(total=added)
    job.total = added


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


def account_import_now(
    *, user_id, nick="", face_url="", user=None, client=None, request=None
):
    """Import one validated account synchronously with account_import.

    Returns a SingleImport. A transient failure leaves the account queued for a
    background retry (outcome ``retrying``). Raises ImproperlyConfigured (IM
    not set up: nothing is written), NothingToDo (another job holds the
    account) or ImError. Every attempt is audited, whatever its end. Safe to
    repeat.
    """
    audit = {"user_id": user_id, "user": user, "request": request}
    try:
        conf.im_config()  # before anything is written: no job left waiting
        result = _import_now(user_id, nick, face_url, user, client)
    except ImproperlyConfigured as exc:
        _audit_single(**audit, outcome="not_configured", details={"message": str(exc)})
        raise
    except NothingToDo as exc:
        _audit_single(**audit, outcome="busy", details={"message": str(exc)})
        raise
    except ImError as exc:
        _audit_single(**audit, outcome="error", details={"error_code": exc.code})
        raise
    details = {"error_code": result.item.error_code, "nick": nick, "face_url": face_url}
    _audit_single(
        **audit,
        outcome=result.outcome,
        details=details,
        account=result.account,
        job=result.job,
    )
    return result


def single_import_problem(exc):
    """The sentence the form and the API give for what account_import_now raised.

    For ImproperlyConfigured, NothingToDo and ImError; anything else is re-raised.
    """
    if isinstance(exc, ImproperlyConfigured):
        text = gettext(
            "Nothing was sent: IM is not configured (%(problem)s). Ask an "
            "administrator."
        )
        return text % {"problem": exc}
    if isinstance(exc, NothingToDo):
        return exc.for_people()
    if isinstance(exc, ImError):
        text = gettext("IM answered error %(code)s: %(sentence)s")
        return text % {"code": exc.code, "sentence": sentence_for_people(exc.code)}
    raise exc


def _import_now(user_id, nick, face_url, user, client):
    with transaction.atomic():
        account = TrackedAccount.objects.filter(user_id=user_id).first()
        existed = bool(account and account.state == AccountState.IMPORTED)
        account = _account_for_form(account, user_id, nick, face_url)
        job = job_create(
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


def _audit_single(*, user_id, user, request, outcome, details, account=None, job=None):
    audit_record(
        action=AuditAction.SINGLE_IMPORT,
        request=request,
        actor=user,
        object_type="account",
        object_id=account.pk if account else "",
        user_id=user_id,
        job_id=job.pk if job else None,
        result=outcome,
        details=details,
    )


def _account_for_form(account, user_id, nick, face_url):
    """The account to send, created or updated by the row's rule."""
    # The form always sends: a support person asked for this account now.
    outcome = row_outcome(account, nick, face_url, reimport=True)
    if outcome == RowOutcome.BUSY:
        raise NothingToDo(
            gettext_noop(
                "%(user_id)s is already queued in job #%(pk)s; wait for it to finish."
            ),
            user_id=user_id,
            pk=account.job_id,
        )
    if outcome == RowOutcome.NEW:
        row = {"user_id": user_id, "nick": nick, "face_url": face_url}
        return TrackedAccount.objects.create(**_fields(row), source=JobSource.FORM)
    if outcome == RowOutcome.UPDATE:
        profile = new_profile(account.nick, account.face_url, nick, face_url)
        account.nick, account.face_url = profile
        account.save(update_fields=["nick", "face_url", "updated_at"])
    return account


def _fields(row):
    return {"user_id": row["user_id"], "nick": row["nick"], "face_url": row["face_url"]}


def _work_now(job, client):
    own = client is None
    client = client or conf.im_client()
    try:
        direct.send_now(job, client)
    finally:
        if own:
            client.close()
    job.refresh_from_db()
    if not job.settled:
        wake()  # a retry is due later: the engines take it from here


# -- reconciliation and upkeep --------------------------------------------------
