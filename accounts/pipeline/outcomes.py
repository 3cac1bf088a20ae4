"""Writing answers: calls, items, accounts, job counts and job effects, at once.

``record`` takes the answers of many units (each with its Decision) and writes
them in one transaction: an ApiCall row for every request sent, each item's
move (conditional on its claim), its account, the jobs' counters, and what
the answers mean for the jobs (wait for IM, pause, stop, end). A call's
record and its outcome are written together, and a transaction that cannot
be written (a database locked past the patience) is tried again later with
everything in it, so no record is ever lost with a failed write.
"""

import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.utils import timezone

from ..im.errors import describe
from ..models import AccountState, ItemState, JobKind, RemoteStatus
from . import db, lifecycle, sql
from .policy import (
    Fail,
    JobEffect,
    Outcome,
    Requeue,
    Succeed,
    counts_attempt,
    failure_sentence,
)


@dataclass
class Recorded:
    """What a ``record`` call changed, for the engine to act on."""

    touched: set = field(default_factory=set)  # job ids whose items moved
    stopped: set = field(default_factory=set)  # jobs stopped: sweep them
    paused: set = field(default_factory=set)
    waiting: set = field(default_factory=set)
    wait_over: set = field(default_factory=set)  # a probe answered: send again
    finished: set = field(default_factory=set)


def record(results, *, patience=20.0):
    """Write ``results``, a list of ``(unit, answer, decision)``; a Recorded.

    Raises db.StillLocked when the database stays locked for ``patience``
    seconds; nothing is written then, and the same call can be made again.
    """
    return db.in_transaction(lambda: _write(results), patience=patience)


def _write(results):
    recorded = Recorded()
    now, moment = time.time(), timezone.now()
    sql.calls_insert(
        [
            (unit.job_id, call, max(i.attempts for i in unit.items))
            for unit, answer, _ in results
            for call in answer.calls
        ]
    )
    counts = defaultdict(Counter)
    imported = defaultdict(list)  # an attempt counted or not -> (token, ids)
    for unit, _, decision in results:
        for transition in decision.transitions:
            if _plain_import(transition):
                # The common case by far: written for all the calls at once.
                ids = [item.id for item in transition.items]
                imported[_sent(unit)].append((unit.token, ids))
            else:
                _apply(unit, transition, counts[unit.job_id], now, moment)
    for sent, pairs in imported.items():
        rows = sql.items_succeed(pairs=pairs, updated=sql.stamp(moment))
        for job_id, _ in rows:
            counts[job_id]["succeeded"] += 1
        _imported([account for _, account in rows], moment, sent)
    _effects(results, recorded, now)
    for job_id, added in counts.items():
        row = sql.job_counts_add(job_id=job_id, **added)
        recorded.touched.add(job_id)
        if row and lifecycle.finish_if_complete(job_id, row):
            recorded.finished.add(job_id)
    return recorded


def _plain_import(transition):
    return (
        isinstance(transition, Succeed)
        and transition.outcome == Outcome.IMPORTED
        and transition.items
    )


def _sent(unit):
    """1 when the unit's call counts as a send of its accounts, else 0.

    An import's account counts the send once it is answered (a claim does not
    touch the account; an answer that gives the attempt back nets 0).
    """
    return int(
        unit.job_kind == JobKind.IMPORT and counts_attempt(unit.job_kind, unit.api)
    )


def _apply(unit, transition, counts, now, moment):
    """Write one transition of a unit: its items' move and their accounts."""
    ids = [item.id for item in transition.items]
    if not ids:
        return
    sent = _sent(unit)
    if isinstance(transition, Succeed):
        accounts = sql.items_move(
            ids=ids,
            token=unit.token,
            state=ItemState.SUCCEEDED,
            updated=sql.stamp(moment),
        )
        counts["succeeded"] += len(accounts)
        _succeeded(transition, unit, accounts, moment, sent)
    elif isinstance(transition, Requeue):
        _requeued(unit, transition, ids, now, moment, sent)
    elif isinstance(transition, Fail):
        accounts = _failed(unit, transition, ids, moment, sent)
        counts["invalid" if transition.invalid else "failed"] += len(accounts)


def _requeued(unit, transition, ids, now, moment, sent):
    message = describe(transition.code) if transition.code else ""
    accounts = sql.items_move(
        ids=ids,
        token=unit.token,
        state=ItemState.QUEUED,
        updated=sql.stamp(moment),
        code=transition.code,
        message=message,
        next_attempt_at=now + transition.delay,
        attempts=transition.attempts,
        needs_check=transition.needs_check,
        solo=transition.solo,
    )
    spent = sent + transition.attempts if sent else 0
    if unit.job_kind == JobKind.IMPORT and (transition.code or spent):
        errors = {"last_error_code": transition.code, "last_error": message}
        sql.accounts_update(
            ids=accounts,
            updated=moment,
            attempts=spent,
            **(errors if transition.code else {}),
        )


def _failed(unit, transition, ids, moment, sent):
    """Fail the items (invalid, or failed); the accounts the claim still held."""
    message = (describe if transition.invalid else failure_sentence)(transition.code)
    state = ItemState.INVALID if transition.invalid else ItemState.FAILED
    accounts = sql.items_move(
        ids=ids,
        token=unit.token,
        state=state,
        updated=sql.stamp(moment),
        code=transition.code,
        message=message,
    )
    changes = {"last_error_code": transition.code, "last_error": message[:500]}
    if unit.job_kind == JobKind.IMPORT:
        changes["state"] = (
            AccountState.INVALID if transition.invalid else AccountState.FAILED
        )
    sql.accounts_update(ids=accounts, updated=moment, attempts=sent, **changes)
    return accounts


def _imported(accounts, moment, sent):
    sql.accounts_update(
        ids=accounts,
        updated=moment,
        attempts=sent,
        state=AccountState.IMPORTED,
        imported_at=moment,
        remote_status=RemoteStatus.IMPORTED,
        checked_at=moment,
        last_error_code=None,
        last_error="",
    )


def _succeeded(transition, unit, accounts, moment, sent):
    clean = {"last_error_code": None, "last_error": ""}
    if transition.outcome == Outcome.IMPORTED:
        _imported(accounts, moment, sent)
    elif transition.outcome == Outcome.DELETED:
        sql.accounts_update(
            ids=accounts,
            updated=moment,
            state=AccountState.PENDING,
            imported_at=None,
            remote_status=RemoteStatus.NOT_IMPORTED,
            checked_at=moment,
            **clean,
        )
    else:
        owned = set(accounts)
        by_status = defaultdict(list)
        for item in transition.items:
            if item.account_id in owned:
                by_status[transition.statuses[item.user_id]].append(item.account_id)
        for status, ids in by_status.items():
            sql.accounts_update(
                ids=ids, updated=moment, remote_status=status, checked_at=moment
            )
        # An account whose import was in doubt is settled by IM's answer.
        there = by_status.get(RemoteStatus.IMPORTED, [])
        sql.accounts_imported_if_uncertain(ids=there, now=moment)


def _effects(results, recorded, now):
    """Apply what the answers say about their jobs, in the order they were sent."""
    max_wait = settings.IM_OUTAGE_MAX_WAIT_SECONDS
    ordered = sorted(results, key=lambda r: r[1].sent_at)
    for unit, _answer, decision in ordered:
        job_id, effect = unit.job_id, decision.effect
        if effect == JobEffect.STOP and lifecycle.stop(job_id, code=decision.code):
            recorded.stopped.add(job_id)
        elif effect == JobEffect.PAUSE:
            if lifecycle.pause(job_id, code=decision.code, reason=decision.reason):
                recorded.paused.add(job_id)
        elif effect == JobEffect.WAIT:
            lifecycle.wait_begin(
                job_id,
                code=decision.code,
                reason=decision.reason,
                probe=unit.probe,
                max_wait=max_wait,
                now=now,
            )
            recorded.waiting.add(job_id)
        elif effect != JobEffect.FAILED and unit.probe:
            if lifecycle.wait_end(job_id):
                recorded.wait_over.add(job_id)
