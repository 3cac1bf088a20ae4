"""Filling an import job from rows: accounts upserted and items added, chunk by chunk.

Each chunk of ``PREPARE_CHUNK`` rows is one short transaction, which also
records how far the job got (``options["prepared_rows"]``) and what it found so
far (``options["summary"]``). So:

- other writers (workers, sign-ins) wait at most one chunk for SQLite's lock;
- a preparation that died is resumed after its last chunk: the rows before it
  are read again (the duplicate check needs them) but not written again;
- two preparations of one job never both write a chunk: a chunk is written only
  if the recorded progress is where its reader expects it, checked with the job
  row locked.

Besides, items are inserted with ON CONFLICT DO NOTHING and an account already
queued in this same job is not "busy", so a chunk written twice would still add
nothing twice. Runners are started by the caller once every row is in.
"""

import time
from dataclasses import asdict, dataclass, fields
from typing import NamedTuple

from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.bulk_sql import insert_rows, select_in, table
from accounts.models import (
    ACTIVE_JOB_STATUSES,
    AccountState,
    ImportJob,
    JobItem,
    JobStatus,
    TrackedAccount,
)
from accounts.pipeline import db
from accounts.pipeline.worker import wake
from accounts.services.items import accounts_queue, items_add
from accounts.services.rows import RowOutcome, new_profile, row_outcome

CHUNK = 500  # rows per statement: under SQLite's parameter cap, cheap in memory
# Rows per transaction: ~50 ms (at most ~0.1 s) of SQLite write lock, measured.
PREPARE_CHUNK = 2000
# Rows a preparation keeps ready ahead of the calls (about 2 s of sending at
# the API's rate): reading further ahead would only take CPU and write-lock
# time from the sending, which is what bounds an import.
PREPARE_LEAD = 20_000
LEAD_WAIT_MOST = 1.0  # seconds a chunk waits for the calls to catch up
PREPARING_STATUSES = (*ACTIVE_JOB_STATUSES, JobStatus.PAUSED)
LOCK_PATIENCE = 120.0  # seconds a chunk waits for a locked database


class PreparationEnded(Exception):
    """The job is no longer this preparation's to fill.

    It was cancelled or stopped, it is prepared already, or another preparation
    of it wrote the chunk this one was about to write.
    """


@dataclass
class RowsSummary:
    """What an upsert of rows found: new accounts, changed profiles, and skips."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0  # already imported, same profile: not sent again
    busy: int = 0  # queued or importing in another job: left to that job
    resend: int = 0  # known, not imported yet (pending, failed, invalid)
    duplicates: int = 0  # a UserID already on an earlier line: left out

    @property
    def queued(self):
        return self.new + self.updated + self.resend

    def __add__(self, other):
        names = [f.name for f in fields(self)]
        return RowsSummary(
            **{name: getattr(self, name) + getattr(other, name) for name in names}
        )


# -- one job, chunk by chunk ----------------------------------------------------


def job_fill(job, rows, *, deadline=None, chunk_rows=None, on_duplicate=None):
    """Add ``rows`` to the preparing ``job``, resuming after the rows it has.

    ``rows`` yields validated account dicts (see ``accounts_upsert``) and must be
    the same sequence on every call for one job (the same file, read again).
    A row whose UserID came on an earlier line is left out, counted in the
    summary's ``duplicates`` and passed to ``on_duplicate(row, first_line)``:
    found through the job's own items, so memory stays flat however long the
    file. Returns True once every row is in, False when ``deadline`` (a
    ``time.monotonic()`` value) passed first: call again to go on. Raises
    PreparationEnded (see there). Safe to repeat and to run after a crash.
    """
    chunk_rows = chunk_rows or PREPARE_CHUNK
    done = job.options.get("prepared_rows", 0)
    summary = RowsSummary(**job.options.get("summary", {}))
    position, chunk = 0, []
    for row in rows:
        position += 1
        if position <= done:
            continue  # written by an earlier run
        chunk.append(row)
        if len(chunk) == chunk_rows:
            done, summary = _chunk_write(job, chunk, done, summary, on_duplicate)
            chunk = []
            _keep_pace(job)
            if deadline is not None and time.monotonic() > deadline:
                return False
    if chunk:
        _chunk_write(job, chunk, done, summary, on_duplicate)
    return True


def _keep_pace(job):
    """Wait (a little) while the rows ready to send are far ahead of the calls."""
    if connection.in_atomic_block:
        return  # the one-transaction path: nothing is sent until it commits
    waited = 0.0
    while waited < LEAD_WAIT_MOST:
        row = (
            ImportJob.objects.filter(pk=job.pk)
            .values_list("status", "wait_until", "succeeded", "failed", "invalid")
            .first()
        )
        if row is None or row[0] != JobStatus.RUNNING or row[1] is not None:
            return  # not being sent now: read on
        if job.total - sum(row[2:]) <= PREPARE_LEAD:
            return
        time.sleep(0.05)
        waited += 0.05


def _chunk_write(job, rows, done, summary, on_duplicate=None):
    """Upsert ``rows`` and queue them in ``job`` with its progress: one transaction.

    Waits out a locked database (a chunk is written whole or not at all). The
    first chunk with items wakes the engines: sending begins while the rest
    of the file is read.
    """
    unique, repeated = _first_of_each(rows)

    def write():
        return _chunk_rows_write(job, unique, repeated, done, done + len(rows), summary)

    if connection.in_atomic_block:
        options, added, found, duplicates = write()
    else:
        result = db.in_transaction(write, patience=LOCK_PATIENCE)
        options, added, found, duplicates = result
    job.options = options
    job.total += added
    for row, first_line in duplicates:
        if on_duplicate is not None:
            on_duplicate(row, first_line)
    return done + len(rows), summary + found


def _chunk_rows_write(job, unique, repeated, done, prepared, summary):
    """The chunk's writes, inside its transaction: (options, added, found, dups)."""
    if connection.vendor == "postgresql":
        # A chunk need not wait for its WAL to reach the disk: one lost in
        # a crash is written again on resume (progress commits with it),
        # and any later commit that builds on it (a claim) flushes it.
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")
    locked_options(job, prepared_rows=done, lock=False)  # a cheap early look
    found = RowsSummary(duplicates=len(repeated))
    created, known, earlier = accounts_upsert(rows=unique, job=job, summary=found)
    lines = {pk: line for pk, line in [*created, *known]}
    added = items_add(job, list(lines), lines)
    accounts_queue(job, [pk for pk, _ in known])
    duplicates = [*repeated, *_first_lines(job, earlier)]
    # The job row is locked only now, for the moment until commit: the
    # engines add their counts to the same row all the time.
    options = locked_options(job, prepared_rows=done)
    options.update(prepared_rows=prepared, summary=asdict(summary + found))
    ImportJob.objects.filter(pk=job.pk).update(
        total=F("total") + added, heartbeat_at=timezone.now(), options=options
    )
    if added and not job.total:
        wake()
    return options, added, found, duplicates


def _first_of_each(rows):
    """``(rows with their first UserID, [(later row, first row's line)])``."""
    first, unique, repeated = {}, [], []
    for row in rows:
        seen = first.get(row["user_id"])
        if seen is None:
            first[row["user_id"]] = row
            unique.append(row)
        else:
            repeated.append((row, seen.get("line")))
    return unique, repeated


def _first_lines(job, earlier):
    """``[(row, line)]`` for rows whose UserID an earlier chunk put in ``job``.

    ``earlier`` holds ``(row, account id)``; the line is that of the item.
    """
    if not earlier:
        return []
    lines = dict(
        JobItem.objects.filter(
            job=job, account_id__in=[pk for _, pk in earlier]
        ).values_list("account_id", "line")
    )
    return [(row, lines.get(pk)) for row, pk in earlier]


def locked_options(job, *, prepared_rows=None, lock=True):
    """The options of ``job`` while it is preparing, its row locked until commit.

    Raises PreparationEnded when it has ended or is no longer preparing, or
    when ``prepared_rows`` is given and the recorded progress differs from it.
    Call inside a transaction (SQLite's IMMEDIATE ones hold the lock already);
    without ``lock`` it only reads.
    """
    jobs = ImportJob.objects.select_for_update() if lock else ImportJob.objects
    current = jobs.filter(pk=job.pk).values_list("status", "options").first()
    if current is None:
        raise PreparationEnded(f"job #{job.pk} is gone")
    status, options = current
    if status not in PREPARING_STATUSES or not options.get("preparing"):
        raise PreparationEnded(f"job #{job.pk} is {status}, not preparing")
    if prepared_rows is not None and options.get("prepared_rows", 0) != prepared_rows:
        raise PreparationEnded(f"job #{job.pk} is being prepared elsewhere")
    return options


# -- accounts from rows --------------------------------------------------------


def accounts_upsert(*, rows, job, summary):
    """Create or update tracked accounts from validated rows for the import ``job``.

    ``rows`` is a list of dicts with ``user_id``, optional ``nick``,
    ``face_url`` and ``line``, validated, each UserID once. An empty nick or
    avatar leaves the stored one as it is, as IM does when the field is left
    out. Accounts queued or importing in another job are left to it; those in
    ``job`` are not. Adds what it found to ``summary`` (a RowsSummary).

    Returns ``(created, known, earlier)``: ``(account id, line)`` of the
    accounts created (already queued in ``job``) and of the known accounts to
    send (for ``accounts_queue``), neither with items yet; and ``(row,
    account id)`` of rows whose account ``job`` already holds (a UserID an
    earlier chunk of the same file had: a duplicate, left out).
    """
    created, known, earlier = [], [], []
    # SQLite caps a statement's parameters; PostgreSQL takes a chunk at once.
    part = len(rows) or 1 if connection.vendor == "postgresql" else CHUNK
    for start in range(0, len(rows), part):
        new, send, again = _upsert_part(rows[start : start + part], job, summary)
        created += new
        known += send
        earlier += again
    return created, known, earlier


class Known(NamedTuple):
    """What the import rule needs to know of a tracked account."""

    id: int
    nick: str
    face_url: str
    state: str
    job_id: int | None


def accounts_known(user_ids):
    """The tracked accounts with these UserIDs, as Known by UserID.

    The UserIDs are parameters, never inlined: they come from users.
    """
    names = ("user_id", "id", "nick", "face_url", "state", "job")
    rows = select_in(
        TrackedAccount, names, key="user_id", values=list(user_ids), size=CHUNK
    )
    return {row[0]: Known(*row[1:]) for row in rows}


def _upsert_part(rows, job, summary):
    known = accounts_known(r["user_id"] for r in rows)
    reimport = job.options.get("reimport", False)
    new, changed, send, earlier = [], [], [], []
    for row in rows:
        account = known.get(row["user_id"])
        nick, face_url = row.get("nick"), row.get("face_url")
        outcome = row_outcome(account, nick, face_url, job_id=job.pk, reimport=reimport)
        if outcome == RowOutcome.NEW:
            new.append(row)
        elif outcome == RowOutcome.DUPLICATE:
            earlier.append((row, account.id))
            summary.duplicates += 1
        elif outcome == RowOutcome.BUSY:
            summary.busy += 1
        elif outcome == RowOutcome.UPDATE:
            profile = new_profile(account.nick, account.face_url, nick, face_url)
            changed.append((*profile, account.id, row.get("line")))
        elif outcome == RowOutcome.RESEND:
            send.append((account.id, row.get("line")))
            summary.resend += 1
        else:
            summary.unchanged += 1
    now = timezone.now()
    created = _accounts_create(new, job, now)
    if changed:
        stamp = connection.ops.adapt_datetimefield_value(now)
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table(TrackedAccount)} SET nick = %s, face_url = %s,"
                " updated_at = %s WHERE id = %s",
                [(nick, face, stamp, pk) for nick, face, pk, _ in changed],
            )
    summary.new += len(created)
    summary.busy += len(new) - len(created)  # created by another job meanwhile
    summary.updated += len(changed)
    return created, [*((pk, line) for *_, pk, line in changed), *send], earlier


ACCOUNT_INSERT_FIELDS = [
    "user_id",
    "nick",
    "face_url",
    "source",
    "state",
    "job",
    "attempts",
    "remote_status",
    "last_error",
    "created_at",
    "updated_at",
]


def _accounts_create(rows, job, now):
    """Insert new accounts, queued in ``job``; ``(id, line)`` of those it created.

    Queued from the start: setting it afterwards cost as much as the insert.
    A UserID another job created meanwhile (its transaction committed since
    this one looked) is left to that job: it is not in the ids returned.
    """
    if not rows:
        return []
    queued = AccountState.QUEUED
    lines = {r["user_id"]: r.get("line") for r in rows}
    created = insert_rows(
        TrackedAccount,
        ACCOUNT_INSERT_FIELDS,
        [
            (
                r["user_id"],
                r.get("nick") or "",
                r.get("face_url") or "",
                job.source,
                queued,
                job.pk,
                0,
                "",
                "",
                now,
                now,
            )
            for r in rows
        ],
        returning=("id", "user_id"),
        skip_conflicts=True,
    )
    return [(pk, lines[user_id]) for pk, user_id in created]
