"""What each answer of IM means for the items of a unit and for their job.

The one table of the pipeline's policy. An answer is either about the
accounts (FailAccounts, a per-account ResultCode, IM refusing the request's
data) or about IM itself (the network, timeouts, 5xx, frequency limits, our
settings). Only answers about the accounts spend an account's attempts:

- about IM, transient, once it is an outage (see ``is_outage``): the job
  **waits for IM** (one probe call at a time, with a growing pause); the
  items go back unspent. A lone
  transient error amid answers is retried like an answer about the accounts;
- about IM, our settings or signature: the job is **paused** until a person
  resumes it; the items go back unspent, none is failed;
- the app's account cap (70398): the job **stops**; its accounts fail with it;
- IM refused the data: the batch is **split**, and the account IM refuses on
  its own is invalid;
- about an account: it is **retried** with backoff while it has attempts;
  then an import is settled by account_check, a check or delete fails.

``decide`` turns a unit and its answer into a Decision; it reads no database
and writes none (``outcomes`` applies it).
"""

import enum
import random
from dataclasses import dataclass, field

from django.utils.translation import gettext, gettext_noop

from ..im import errors
from ..im.errors import ErrorClass
from ..models import JobKind, RemoteStatus

CHECK_STATUSES = (RemoteStatus.IMPORTED, RemoteStatus.NOT_IMPORTED)
OUTAGE_AFTER = 5  # transient failures in a row that make an outage
ITEM_BACKOFF_BASE = 0.5
ITEM_BACKOFF_CAP = 30.0


class Action(enum.StrEnum):
    """What a class of error calls for."""

    WAIT = "wait for IM"
    PAUSE = "pause the job"
    STOP = "stop the job"
    SPLIT = "send each account alone"
    RETRY = "retry the accounts"
    FAIL = "fail the accounts"


# What a whole call's error means, by the class of its code.
WHOLE_CALL = {
    ErrorClass.TRANSIENT: Action.WAIT,
    ErrorClass.RATE_LIMITED: Action.WAIT,
    ErrorClass.CONFIGURATION: Action.PAUSE,
    ErrorClass.QUOTA: Action.STOP,
    ErrorClass.INVALID_REQUEST: Action.SPLIT,
    ErrorClass.ACCOUNT_PERMANENT: Action.SPLIT,
    ErrorClass.ACCOUNT_MISSING: Action.SPLIT,
    ErrorClass.UNKNOWN: Action.RETRY,
}
# What one account's ResultCode (account_check, account_delete) means.
PER_ACCOUNT = {
    ErrorClass.TRANSIENT: Action.RETRY,
    ErrorClass.RATE_LIMITED: Action.RETRY,
    ErrorClass.UNKNOWN: Action.RETRY,
}


class JobEffect(enum.StrEnum):
    """What an answer means for its whole job."""

    ANSWERED = "answered"  # IM answered: a probe that did so ends the wait
    FAILED = "failed"  # a lone transient failure: one more in a row
    WAIT = "wait"
    PAUSE = "pause"
    STOP = "stop"


class Outcome(enum.StrEnum):
    """What a successful call did to its accounts."""

    IMPORTED = "imported"
    CHECKED = "checked"
    DELETED = "deleted"


@dataclass(frozen=True)
class Succeed:
    """Items whose call succeeded, with what it did (and statuses for a check)."""

    items: list
    outcome: Outcome
    statuses: dict = field(default_factory=dict)  # UserID -> RemoteStatus


@dataclass(frozen=True)
class Requeue:
    """Items to send again later, with how their attempts and flags change."""

    items: list
    code: int | None
    delay: float = 0.0
    needs_check: bool | None = None  # None: leave as it is
    solo: bool | None = None
    attempts: int = 0  # added to each item's attempts (-1: this claim's is given back)


@dataclass(frozen=True)
class Fail:
    """Items that end failed (or invalid) with ``code``."""

    items: list
    code: int
    invalid: bool = False


@dataclass
class Decision:
    """A unit's transitions and what the answer means for its job."""

    transitions: list
    effect: JobEffect
    code: int | None = None  # the whole call's code, for WAIT, PAUSE and STOP
    reason: str = ""


def is_retried(code):
    """Whether an answer with ``code`` is sent again while attempts remain."""
    error_class = errors.code_info(code).error_class
    actions = (WHOLE_CALL.get(error_class), PER_ACCOUNT.get(error_class))
    return Action.RETRY in actions or Action.WAIT in actions


_SPENT = gettext_noop(
    "%(cause)s Its attempts are spent, so it is not retried by itself: retry it "
    "from its job or its page."
)


def failure_sentence(code, *, for_people=False):
    """The sentence for an account that failed for good with ``code``.

    A code this table retries fails an account only once ``retry`` finds its
    attempts spent, so the code's own promise of a retry no longer holds.
    English as stored, or ``for_people`` in the active language.
    """
    if for_people:
        sentence, cause, words = (
            errors.sentence_for_people,
            errors.cause_for_people,
            gettext,
        )
    else:
        sentence, cause, words = errors.describe, errors.describe_cause, str
    if not code or not is_retried(code):
        return sentence(code)
    return words(_SPENT) % {"cause": cause(code)}


def counts_attempt(job_kind, api):
    """Whether a claim for ``api`` counts as an attempt: every call but a check
    made to settle an import, which asks about an account and sends nothing."""
    return not (job_kind == JobKind.IMPORT and api == "account_check")


def item_backoff(attempts):
    """Seconds before an account is sent again: ~0.5 s, 1 s, 2 s ... at most 30 s."""
    base = min(ITEM_BACKOFF_CAP, ITEM_BACKOFF_BASE * 2 ** max(attempts - 1, 0))
    return base * random.uniform(0.5, 1.0)


def wait_backoff(failures, cap):
    """Seconds a job waits for IM after ``failures`` failed rounds: 1, 2, 4 ... cap."""
    return min(float(cap), 2.0 ** max(failures - 1, 0))


def is_outage(streak, *, senders, waiting):
    """Whether ``streak`` transient failures in a row mean IM is out.

    ``OUTAGE_AFTER`` in a row, or as many as the engine has senders (every
    call it had in flight failed together), or any while the job waits.
    """
    return waiting or streak >= min(OUTAGE_AFTER, max(2, senders))


def about_im(answer):
    """True when the answer is a transient failure of IM, not about the accounts."""
    error = answer.error
    return error is not None and WHOLE_CALL[error.error_class] == Action.WAIT


def decide(unit, answer, *, max_attempts, outage=False):
    """The Decision for ``unit`` given its ``answer``.

    ``outage``: IM is failing as a whole (see ``is_outage``), so a transient
    failure holds the job instead of spending the accounts' attempts.
    """
    if answer.error is not None:
        return _whole_call(unit, answer, max_attempts, outage)
    if unit.api == "account_check":
        return _checked(unit, answer, max_attempts)
    if unit.api == "account_delete":
        return _deleted(unit, answer, max_attempts)
    return _imported(unit, answer, max_attempts)


def retry(unit, items, code, max_attempts):
    """The attempts rule: back off while attempts remain, then settle.

    An import is settled by account_check (it may be in IM after all); a check
    or a delete fails with ``code``.
    """
    rest = [i for i in items if i.attempts < max_attempts]
    spent = [i for i in items if i.attempts >= max_attempts]
    found = []
    if rest:
        delay = item_backoff(max(i.attempts for i in rest))
        found.append(Requeue(rest, code, delay=delay))
    if spent and unit.job_kind == JobKind.IMPORT:
        found.append(Requeue(spent, code, needs_check=True))
    elif spent:
        found.append(Fail(spent, code))
    return found


def _imported(unit, answer, max_attempts):
    refused = answer.fail_accounts
    done = [i for i in unit.items if i.user_id not in refused]
    again = [i for i in unit.items if i.user_id in refused]
    found = [Succeed(done, Outcome.IMPORTED)] if done else []
    found += retry(unit, again, errors.FAIL_ACCOUNTS, max_attempts)
    return Decision(found, JobEffect.ANSWERED)


def _checked(unit, answer, max_attempts):
    statuses, trouble = _per_account(unit, answer, CHECK_STATUSES)
    found = []
    if unit.job_kind == JobKind.IMPORT:
        found += _settle_imports(unit, statuses, max_attempts)
    elif statuses:
        answered = [i for i in unit.items if i.user_id in statuses]
        found.append(Succeed(answered, Outcome.CHECKED, statuses))
    found += _account_trouble(unit, trouble, max_attempts)
    return Decision(found, JobEffect.ANSWERED)


def _settle_imports(unit, statuses, max_attempts):
    """An import's check: in IM means imported; not in IM means send (or fail)."""
    found = []
    there = [i for i in unit.items if statuses.get(i.user_id) == RemoteStatus.IMPORTED]
    if there:
        found.append(Succeed(there, Outcome.IMPORTED))
    missing = [
        i for i in unit.items if statuses.get(i.user_id) == RemoteStatus.NOT_IMPORTED
    ]
    send = [i for i in missing if i.attempts < max_attempts]
    if send:
        found.append(Requeue(send, _last_code(send), needs_check=False))
    spent = [i for i in missing if i.attempts >= max_attempts]
    for code in sorted({_last_code([i]) for i in spent}):
        found.append(Fail([i for i in spent if _last_code([i]) == code], code))
    return found


def _last_code(items):
    return items[0].error_code or errors.FAIL_ACCOUNTS


def _deleted(unit, answer, max_attempts):
    gone, trouble = _per_account(unit, answer, None, ok=(0, errors.ACCOUNT_MISSING))
    found = []
    if gone:
        done = [i for i in unit.items if i.user_id in gone]
        found.append(Succeed(done, Outcome.DELETED))
    found += _account_trouble(unit, trouble, max_attempts)
    return Decision(found, JobEffect.ANSWERED)


def _per_account(unit, answer, statuses, ok=(0,)):
    """Split per-account answers: ({UserID: status} answered, {code: [items]})."""
    answered, trouble = {}, {}
    results = answer.results or {}
    for item in unit.items:
        result = results.get(item.user_id)
        code = result.result_code if result else errors.BAD_RESPONSE
        status = result.account_status if result else ""
        if code in ok and (statuses is None or status in statuses):
            answered[item.user_id] = RemoteStatus(status) if statuses else code
        else:
            trouble.setdefault(code or errors.BAD_RESPONSE, []).append(item)
    return answered, trouble


def _account_trouble(unit, trouble, max_attempts):
    """Accounts a check or delete answered with a ResultCode of their own."""
    found = []
    for code, items in trouble.items():
        action = PER_ACCOUNT.get(errors.code_info(code).error_class, Action.FAIL)
        if action == Action.FAIL:
            found.append(Fail(items, code))
        elif counts_attempt(unit.job_kind, unit.api):
            found += retry(unit, items, code, max_attempts)
        else:
            found += _check_again(items, code, max_attempts)
    return found


def _check_again(items, code, max_attempts):
    """A settling check that could not answer about an account: it counts, then."""
    rest = [i for i in items if i.attempts + 1 < max_attempts]
    spent = [i for i in items if i.attempts + 1 >= max_attempts]
    found = []
    if rest:
        delay = item_backoff(max(i.attempts for i in rest) + 1)
        found.append(Requeue(rest, code, delay=delay, attempts=1))
    if spent:
        found.append(Fail(spent, code))
    return found


def _whole_call(unit, answer, max_attempts, outage):
    exc = answer.error
    action = WHOLE_CALL[exc.error_class]
    refund = -1 if counts_attempt(unit.job_kind, unit.api) else 0
    items = unit.items
    if action == Action.WAIT:
        # A request that left without an answer may have been applied: an
        # import is then checked before it is sent again.
        lost = isinstance(exc, errors.ReplyLostError)
        check = True if lost and unit.job_kind == JobKind.IMPORT and refund else None
        reason = exc.info or exc.sentence
        if outage:
            found = [Requeue(items, exc.code, needs_check=check, attempts=refund)]
            return Decision(found, JobEffect.WAIT, exc.code, reason)
        if check:
            found = [Requeue(items, exc.code, delay=item_backoff(1), needs_check=True)]
        else:
            found = retry(unit, items, exc.code, max_attempts)
        return Decision(found, JobEffect.FAILED, exc.code, reason)
    if action == Action.PAUSE:
        found = [Requeue(items, exc.code, attempts=refund)]
        return Decision(found, JobEffect.PAUSE, exc.code, exc.info or exc.sentence)
    if action == Action.STOP:
        return Decision(_stopped(unit, answer, exc.code), JobEffect.STOP, exc.code)
    if action == Action.SPLIT:
        if len(items) > 1:
            found = [Requeue(items, exc.code, solo=True, attempts=refund)]
        else:
            found = [Fail(items, exc.code, invalid=True)]
        return Decision(found, JobEffect.ANSWERED)
    return Decision(retry(unit, items, exc.code, max_attempts), JobEffect.ANSWERED)


def _stopped(unit, answer, code):
    """70398: whether IM took part of the batch is undocumented; a check says."""
    statuses = answer.statuses or {}
    there = [i for i in unit.items if statuses.get(i.user_id) == RemoteStatus.IMPORTED]
    rest = [i for i in unit.items if i not in there]
    found = [Succeed(there, Outcome.IMPORTED)] if there else []
    return found + ([Fail(rest, code)] if rest else [])
