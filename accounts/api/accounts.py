"""/api/v1/accounts: one account imported now, as the form does; one account read."""

from django.core.exceptions import ImproperlyConfigured
from django.http import Http404
from ninja import Router

from accounts import selectors, services
from accounts.api.auth import TokenAuth
from accounts.api.entries import accounts_checked
from accounts.api.errors import ApiError
from accounts.api.schemas import AccountIn, AccountOut, SingleImportOut, errors
from accounts.im.errors import ImError, describe
from accounts.models import TrackedAccount

IMPORT_SINGLE = "accounts.import_single"
VIEW_ACCOUNTS = "accounts.view_trackedaccount"
MAX_USER_ID = TrackedAccount._meta.get_field("user_id").max_length

router = Router(tags=["accounts"])


def error_of(code, message=""):
    """``{"code", "message"}`` for an IM error code (None for success)."""
    if not code:
        return {"code": "", "message": message} if message else None
    return {"code": str(code), "message": describe(code)}


def _iso(moment):
    return moment.isoformat() if moment else None


@router.post(
    "/accounts",
    response={
        200: SingleImportOut,
        **errors(400, 401, 403, 409, 413, 429, 502, 503),
    },
    auth=TokenAuth(IMPORT_SINGLE),
    summary="Import one account now",
)
def account_import(request, body: AccountIn):
    """Send one account to IM with account_import now, as the support form does."""
    rows, invalid = accounts_checked([body])
    if invalid:
        raise ApiError(400, "invalid_account", invalid[0]["reason"])
    try:
        result = services.account_import_now(
            **rows[0], user=request.user, request=request
        )
    except services.NothingToDo as exc:  # another job holds the account
        raise ApiError(409, "busy", services.single_import_problem(exc)) from None
    except ImproperlyConfigured as exc:
        message = services.single_import_problem(exc)
        raise ApiError(503, "not_configured", message) from None
    except ImError as exc:
        raise ApiError(502, "im_error", services.single_import_problem(exc)) from None
    account = result.account
    return {
        "user_id": account.user_id,
        "state": account.state,
        "remote_status": account.remote_status,
        "outcome": result.outcome,
        "job_id": result.job.pk,
        "error": error_of(result.item.error_code),
    }


@router.get(
    "/accounts/{path:user_id}",
    response={200: AccountOut, **errors(401, 403, 404, 429)},
    auth=TokenAuth(VIEW_ACCOUNTS),
    summary="One account: state, profile, IM status, last error, its jobs",
)
def account_read(request, user_id: str):
    """Any UserID: percent-encode what a URL path cannot hold (``?``, ``#``, ``%``)."""
    account = None
    if len(user_id) <= MAX_USER_ID and "\x00" not in user_id:
        account = TrackedAccount.objects.filter(user_id=user_id).first()
    if account is None:
        raise Http404(f"No account has the UserID {user_id[:64]!r}.")
    jobs = [
        {
            "id": item.job.pk,
            "kind": item.job.kind,
            "status": item.job.status,
            "item_state": item.state,
            "error": error_of(item.error_code, item.error_message),
        }
        for item in selectors.account_items(account)
    ]
    return {
        "user_id": account.user_id,
        "nick": account.nick,
        "face_url": account.face_url,
        "state": account.state,
        "remote_status": account.remote_status,
        "drifted": account.drifted,
        "checked_at": _iso(account.checked_at),
        "imported_at": _iso(account.imported_at),
        "error": error_of(account.last_error_code, account.last_error),
        "jobs": jobs,
    }
