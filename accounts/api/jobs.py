"""/api/v1/jobs: start an import, check or delete; read, page, retry, cancel."""

from django.http import Http404
from ninja import Header, Query, Router, Status

from accounts import selectors, services
from accounts.api.accounts import VIEW_ACCOUNTS, error_of
from accounts.api.auth import TokenAuth
from accounts.api.entries import (
    accounts_checked,
    fingerprint,
    user_ids_checked,
)
from accounts.api.errors import ApiError
from accounts.api.schemas import (
    MAX_ENTRIES,
    CancelOut,
    JobAccountsPage,
    JobCreatedOut,
    JobIn,
    JobOut,
    RetryOut,
    errors,
)
from accounts.models import ImportJob, ItemState, JobKind, JobSource

RUN_BULK = "accounts.run_bulk_jobs"
VIEW_JOBS = "accounts.view_importjob"
UNTRACKED = "No account with this UserID is tracked here: import it first."
PAGE_MOST = 1000

router = Router(tags=["jobs"])


def _job(job_id):
    job = ImportJob.objects.filter(pk=job_id).first() if job_id < 2**62 else None
    if job is None:
        raise Http404(f"No job #{job_id}.")
    return job


def _entries(body):
    """``(valid, invalid)``: rows or UserIDs to send, and the refused entries."""
    valid, invalid = _checked(body)
    if not valid:
        first = invalid[0]
        raise ApiError(
            400,
            "no_valid_entries",
            f"No entry can be sent: index {first['index']}: {first['reason']}",
        )
    return valid, invalid


def _checked(body):
    """``body``'s entries by the field rules; a check or delete needs them tracked."""
    listed = body.accounts if body.kind == JobKind.IMPORT else body.user_ids
    field = "accounts" if body.kind == JobKind.IMPORT else "user_ids"
    if not listed:
        raise ApiError(400, "invalid_request", f"A {body.kind} job needs {field}.")
    if len(listed) > MAX_ENTRIES:
        raise ApiError(
            413,
            "too_many_entries",
            f"{len(listed):,} {field} in one request; at most {MAX_ENTRIES:,}.",
        )
    if body.kind == JobKind.IMPORT:
        return accounts_checked(listed)
    valid, invalid = user_ids_checked(listed)
    untracked = services.untracked_user_ids(valid.values())
    invalid += [
        {"index": index, "user_id": user_id, "reason": UNTRACKED}
        for index, user_id in valid.items()
        if user_id in untracked
    ]
    invalid.sort(key=lambda entry: entry["index"])
    return [u for u in valid.values() if u not in untracked], invalid


def _starter(kind, valid, user):
    """What makes the job (called at most once, inside the key's transaction)."""
    if kind == JobKind.IMPORT:
        return lambda: services.job_import_listed(rows=valid, user=user)
    return lambda: services.job_start_listed(kind=kind, user_ids=valid, user=user)


@router.post(
    "/jobs",
    response={202: JobCreatedOut, **errors(400, 401, 403, 409, 413, 429)},
    auth=TokenAuth(RUN_BULK),
    summary="Start an import, check or delete job",
)
def job_create(
    request,
    body: JobIn,
    idempotency_key: str | None = Header(
        None,
        alias="Idempotency-Key",
        description="a repeated request with the same key returns the first job",
        max_length=255,
    ),
):
    """Up to 10,000 accounts or UserIDs; the invalid ones are listed, the rest go."""
    valid, invalid = _entries(body)
    try:
        job, invalid, _ = services.job_start_once(
            user=request.user,
            key=idempotency_key,
            fingerprint=fingerprint(body.dict()),
            invalid=invalid,
            start=_starter(body.kind, valid, request.user),
        )
    except services.KeyReused as exc:
        raise ApiError(409, "idempotency_key_reused", str(exc)) from None
    except services.NothingToDo as exc:
        raise ApiError(409, "nothing_to_do", str(exc)) from None
    except services.DeleteRefused as exc:
        raise ApiError(403, "delete_refused", str(exc)) from None
    return Status(202, {"job": selectors.job_json(job), "invalid": invalid})


@router.get(
    "/jobs/{int:job_id}",
    response={200: JobOut, **errors(401, 403, 404, 429)},
    auth=TokenAuth(VIEW_JOBS),
    summary="A job's status, counts, rate and ETA",
)
def job_read(request, job_id: int):
    return selectors.job_json(_job(job_id))


@router.get(
    "/jobs/{int:job_id}/accounts",
    response={200: JobAccountsPage, **errors(400, 401, 403, 404, 429)},
    auth=TokenAuth(VIEW_JOBS, VIEW_ACCOUNTS),
    summary="A job's accounts, by state, a page at a time",
)
def job_accounts(
    request,
    job_id: int,
    state: ItemState | None = Query(None, description="e.g. failed"),
    cursor: int | None = Query(None, ge=0, description="next_cursor of a page"),
    limit: int = Query(100, ge=1, le=PAGE_MOST),
):
    page = selectors.keyset_page(
        selectors.job_items_filtered(_job(job_id), state=state or ""),
        descending=False,
        after=cursor,
        size=limit,
    )
    rows = [
        {
            "user_id": item.account.user_id,
            "nick": item.account.nick,
            "face_url": item.account.face_url,
            "state": item.state,
            "attempts": item.attempts,
            "error": error_of(item.error_code, item.error_message),
        }
        for item in page.rows
    ]
    return {"accounts": rows, "next_cursor": page.older}


@router.post(
    "/jobs/{int:job_id}/retry",
    response={202: RetryOut, **errors(401, 403, 404, 409, 429)},
    auth=TokenAuth(RUN_BULK),
    summary="A new import job with the job's accounts that are still failed",
)
def job_retry(request, job_id: int):
    job = _job(job_id)
    try:
        retry = services.job_retry_failed(
            job=job, user=request.user, source=JobSource.API, request=request
        )
    except services.NothingToDo as exc:
        raise ApiError(409, "nothing_to_do", str(exc)) from None
    except services.DeleteRefused as exc:
        raise ApiError(403, "delete_refused", str(exc)) from None
    return Status(202, {"retry_of": job.pk, "job": selectors.job_json(retry)})


@router.post(
    "/jobs/{int:job_id}/cancel",
    response={200: CancelOut, **errors(401, 403, 404, 429)},
    auth=TokenAuth(RUN_BULK),
    summary="Cancel a job; its queued accounts go back to pending",
)
def job_cancel(request, job_id: int):
    job = _job(job_id)
    cancelled = services.job_cancel(job=job, user=request.user, request=request)
    return {"cancelled": cancelled, "job": selectors.job_json(job)}
