"""What a person does to one account from its page: import again, check, delete.

Each starts a job of that one account (the engines send it within a moment),
and each is audited as the person's action, whether it started a job or not.
"""

from django.utils.translation import gettext_noop

from accounts.audit.records import audit_record
from accounts.models import AuditAction, JobKind, JobSource, TrackedAccount
from accounts.services.jobs import NothingToDo, job_start

# action name (in the audit entry) -> (job kind, verb of the job's label)
ACCOUNT_ACTIONS = {
    "account_retry": (JobKind.IMPORT, "import again"),
    "account_check": (JobKind.CHECK, "check in IM"),
    "account_delete": (JobKind.DELETE, "delete from IM"),
}


def account_retry(*, account, user=None, request=None):
    """Import ``account`` again now, as a job of one; returns the job.

    Raises NothingToDo when the account is already in a running job (a
    second call while the first job runs starts nothing). Audited.
    """
    return _account_job(account, "account_retry", user, request)


def account_check(*, account, user=None, request=None):
    """Ask IM whether ``account`` is imported (account_check); returns the job.

    Raises NothingToDo when the account is busy in another job. Audited.
    """
    return _account_job(account, "account_check", user, request)


def account_delete(*, account, user=None, request=None):
    """Delete ``account`` from IM (account_delete); returns the job.

    The caller has had the person confirm it: IM cannot undo a delete.
    Raises NothingToDo when the account is busy in another job. Audited.
    """
    return _account_job(account, "account_delete", user, request)


def _account_job(account, action, user, request):
    kind, verb = ACCOUNT_ACTIONS[action]
    try:
        job = job_start(
            kind=kind,
            accounts=TrackedAccount.objects.filter(pk=account.pk),
            source=JobSource.ADMIN,
            user=user,
            label=f"{verb}: {account.user_id}",
        )
    except NothingToDo:
        _audit(action, account, user, request, None)
        raise NothingToDo(
            gettext_noop(
                "%(user_id)s is in a running job already: nothing was started."
            ),
            user_id=account.user_id,
        ) from None
    _audit(action, account, user, request, job)
    return job


def _audit(action, account, user, request, job):
    audit_record(
        action=AuditAction.ADMIN_ACTION,
        request=request,
        actor=user,
        object_type="account",
        object_id=account.pk,
        user_id=account.user_id,
        job_id=job.pk if job else None,
        result="ok" if job else "nothing_to_do",
        details={"action": action, "queued": job.total if job else 0},
    )
