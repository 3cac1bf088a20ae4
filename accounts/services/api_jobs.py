"""Jobs the JSON API starts: from listed accounts or UserIDs, once per Idempotency-Key.

The entries arrive validated (accounts.im.validation, by the API); the rules of
what a job does with them are those of every other job (``accounts_import_rows``
for imports, ``job_start`` for checks and deletes).
"""

from django.db import IntegrityError, transaction

from accounts.models import IdempotencyKey, JobKind, JobSource, TrackedAccount
from accounts.services.deleting import DeleteRefused, delete_plan
from accounts.services.jobs import job_start
from accounts.services.preparation import accounts_known
from accounts.services.preparing import accounts_import_rows


class KeyReused(Exception):
    """The Idempotency-Key came before with a different request; ``str()`` says so."""


def job_import_listed(*, rows, user, label="API request"):
    """An import job of ``rows`` (validated account dicts, each UserID once).

    Returns the job, done at once when nothing needed sending (every account
    unchanged or busy elsewhere). One transaction.
    """
    job, _ = accounts_import_rows(
        rows=rows, source=JobSource.API, user=user, label=label, keep_empty=True
    )
    return job


def untracked_user_ids(user_ids):
    """The UserIDs among ``user_ids`` that no tracked account has (a set)."""
    return set(user_ids) - set(accounts_known(user_ids))


def job_start_listed(*, kind, user_ids, user, label="API request"):
    """A check or delete job of the tracked accounts with these UserIDs.

    Accounts in another running job are left out, as everywhere. Raises
    NothingToDo when none is left, DeleteRefused when a deletion is over the
    cap (the request itself is the confirmation, so no count is typed).
    """
    if kind not in (JobKind.CHECK, JobKind.DELETE):
        raise ValueError(f"not a check or delete: {kind!r}")
    accounts = TrackedAccount.objects.filter(user_id__in=list(user_ids))
    if kind == JobKind.DELETE:
        refused = delete_plan(count=accounts.count()).refused
        if refused:
            raise DeleteRefused(refused)
    return job_start(
        kind=kind,
        accounts=accounts,
        source=JobSource.API,
        user=user,
        label=label,
    )


def job_start_once(*, user, key, fingerprint, invalid, start):
    """``start()``'s job, or the job an earlier request with ``key`` made.

    Returns (job, invalid entries of the request that made it, True if this
    call made it). The key's row and the job are one transaction, and the key
    is unique per user, so of two concurrent requests one makes the job and the
    other waits for it and returns it. Raises KeyReused when ``fingerprint``
    differs from the first request's. Without a key, always a new job.
    """
    if not key:
        return start(), invalid, True
    earlier = _earlier(user, key, fingerprint)
    if earlier is not None:
        return earlier
    try:
        with transaction.atomic():
            record = IdempotencyKey.objects.create(
                user=user, key=key, fingerprint=fingerprint, invalid=invalid
            )
            record.job = start()
            record.save(update_fields=["job"])
    except IntegrityError:
        earlier = _earlier(user, key, fingerprint)
        if earlier is None:
            raise
        return earlier
    return record.job, invalid, True


def _earlier(user, key, fingerprint):
    record = (
        IdempotencyKey.objects.select_related("job").filter(user=user, key=key).first()
    )
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise KeyReused(
            "This Idempotency-Key was already used with a different request; "
            "use a new key for a new request."
        )
    return record.job, record.invalid, False
