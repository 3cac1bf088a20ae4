"""One call to IM for one unit: HTTP and nothing else (no database).

The caller has already waited for the unit's turn at the limiter; ``send``
makes the request and returns an Answer holding every request's record. After
the account cap (70398) refused an import, it asks account_check which of the
accounts IM holds anyway (whether IM applies part of such a batch is not
documented), taking its own turn at the limiter for that.
"""

import logging
import time

from ..im import errors
from ..models import JobKind
from .units import Answer

log = logging.getLogger(__name__)


def entry(item):
    """The AccountList entry of an item: UserID, and Nick/FaceUrl when set."""
    found = {"UserID": item.user_id}
    if item.nick:
        found["Nick"] = item.nick
    if item.face_url:
        found["FaceUrl"] = item.face_url
    return found


def send(client, unit, *, acquire):
    """Call IM for ``unit``; an Answer. ``acquire(api)`` waits for a turn."""
    answer = Answer(sent_at=time.time())
    try:
        result = _call(client, unit)
    except errors.ImError as exc:
        answer.calls, answer.error = list(exc.calls), exc
        if isinstance(exc, errors.QuotaError) and _is_import_send(unit):
            answer.statuses = _statuses_after_quota(client, unit, answer, acquire)
        return answer
    except Exception as exc:  # a bug here must not lose the unit: treat as unanswered
        log.exception("sending %s for job %s failed", unit.api, unit.job_id)
        answer.error = errors.ReplyLostError(
            errors.TIMEOUT,
            f"unexpected {type(exc).__name__} while sending",
            api=unit.api,
        )
        return answer
    answer.calls = list(result.calls)
    if unit.api in ("account_check", "account_delete"):
        answer.results = result.by_user_id()
    else:
        answer.fail_accounts = frozenset(result.fail_accounts)
    return answer


def _call(client, unit):
    if unit.api == "multiaccount_import":
        return client.multiaccount_import([entry(i) for i in unit.items])
    if unit.api == "account_import":
        item = unit.items[0]
        return client.account_import(item.user_id, item.nick, item.face_url)
    if unit.api == "account_check":
        return client.account_check(unit.user_ids)
    return client.account_delete(unit.user_ids)


def _is_import_send(unit):
    return unit.job_kind == JobKind.IMPORT and unit.api != "account_check"


def _statuses_after_quota(client, unit, answer, acquire):
    acquire("account_check")
    try:
        result = client.account_check(unit.user_ids)
    except errors.ImError as exc:
        answer.calls += exc.calls
        return {}
    answer.calls += result.calls
    return {r.user_id: r.account_status for r in result.items if r.result_code == 0}
