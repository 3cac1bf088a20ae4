"""The engine: one per process, it claims, sends and records for every active job.

One coordinator thread owns the database: it claims units ahead of the
senders (several in one transaction), renews their leases, writes the
answers of many units in one transaction, and watches the jobs (stop,
cancel, pause, waiting for IM) a few times a second while it has work. A
pool of sender threads, each with its own HTTP session, takes units, waits
for its turn at the shared limiter and calls IM; a sender never touches the
database, so a slow write never holds a call back.

A sender that gets an answer about IM itself (network, 5xx, timeouts) marks
the job as waiting here at once, so its siblings stop sending that job's
units before the coordinator has even written the wait. With nothing to do,
the engine sleeps until the next due item, a wake-up (``wake``) or its idle
poll, and issues a query every couple of seconds at most.
"""

import itertools
import logging
import threading
import time
import weakref
from collections import deque
from dataclasses import dataclass

from django.conf import settings
from django.db import connection
from django.utils import timezone

from .. import conf
from ..models import ACTIVE_JOB_STATUSES, ImportJob, JobStatus
from ..ops.logs import job_context
from . import claims, db, lifecycle, limiter, outcomes, policy
from .senders import SenderSide
from .units import part_filled

log = logging.getLogger(__name__)

REFRESH_BUSY = 0.25  # seconds between looks at the jobs while working
REFRESH_IDLE = 2.0  # ... and while there is nothing to do
RECORD_DELAY = 0.1  # answers wait at most this long to be written together
RECORD_BATCH = 8  # ... or are written as soon as this many are in
HEARTBEAT_EVERY = 5.0
LOCKED_PAUSE = 1.0  # after a write the database refused: try again this much later
PART_FILLED_WAIT = 0.25  # a job still being read: look again for a full call's rows

_engines = weakref.WeakSet()


def wake_local():
    """Wake this process's engines: a job was created, resumed or given rows."""
    for engine in list(_engines):
        engine.wake()


@dataclass
class JobView:
    """What the engine knows of an unsettled job, refreshed every few moments."""

    id: int
    kind: str
    status: str
    preparing: bool
    wait_until: float | None
    next_look: float = 0.0  # do not claim before this (next due item)
    last_beat: float = 0.0

    @property
    def sendable(self):
        return self.status in ACTIVE_JOB_STATUSES


class Engine(SenderSide):
    """Works every active job (or ``only_jobs``) until stopped."""

    def __init__(self, *, senders=None, only_jobs=None, client_factory=None):
        self.senders = max(1, senders or settings.IM_CONCURRENCY)
        # Units kept claimed ahead of the senders: enough that a slow write
        # (a claim waits behind the answers' transaction) never leaves a
        # sender without work, few enough that leases stay short to renew.
        self.low_water = 2 * self.senders
        self.only_jobs = set(only_jobs) if only_jobs else None
        self._client_factory = client_factory or conf.im_client
        self._limiter = None
        self._cv = threading.Condition()
        self._ready = deque()  # claimed, not yet taken by a sender
        self._sending = {}  # id(unit) -> unit, taken by a sender
        self._answers = []  # (unit, answer, decision), not yet written
        self._unsent = []  # units a sender chose not to send: give them back
        self._jobs = {}
        self._local_wait = {}  # job id -> monotonic time the local hold ends
        self._streak = {}  # job id -> transient failures in a row
        self._stopping = False
        self._woken = False
        self._rotation = itertools.count()
        self._threads = []
        self._lease = claims.lease_seconds()
        self._next_refresh = self._next_renew = 0.0
        self._first_answer_at = None
        _engines.add(self)

    # -- control ----------------------------------------------------------------

    def wake(self):
        with self._cv:
            self._woken = True
            self._cv.notify_all()

    def stop(self):
        """Ask for a graceful stop: sent calls are recorded, unsent units given back."""
        with self._cv:
            self._stopping = True
            self._cv.notify_all()

    def run(self, *, until=None):
        """Work until ``stop()``, or until ``until()`` is true (looked at often)."""
        db.poll_for_locks()
        self._limiter = limiter.shared()
        self._start_senders()
        try:
            while not self._finished():
                self._tick(until)
        finally:
            self._shut_down()

    # -- the coordinator ------------------------------------------------------------

    def _tick(self, until):
        now = time.time()
        try:
            self._give_back_unsent()
            self._record(now)
            if now >= self._next_refresh or self._take_woken():
                self._refresh(now)
                if until is not None and until():
                    self.stop()
            if now >= self._next_renew:
                self._renew(now)
            if not self._stopping:
                self._top_up(now)
        except db.StillLocked as exc:
            log.warning("database locked, trying again shortly: %s", exc)
            self._nap(LOCKED_PAUSE)
            return
        except Exception:
            # Whatever it was, the held units stay held (and renewed): try again.
            log.exception("engine: a step failed; trying again shortly")
            self._nap(LOCKED_PAUSE)
            return
        self._nap(self._sleep_for(time.time()))

    def _finished(self):
        with self._cv:
            held = self._ready or self._sending or self._answers or self._unsent
            return self._stopping and not held

    def _take_woken(self):
        with self._cv:
            woken, self._woken = self._woken, False
            return woken

    def _nap(self, seconds):
        with self._cv:
            stop_now = self._stopping and not self._sending
            if self._woken or stop_now or len(self._answers) >= RECORD_BATCH:
                return
            self._cv.wait(max(0.001, seconds))

    def _sleep_for(self, now):
        deadlines = [self._next_refresh, self._next_renew]
        if self._first_answer_at is not None:
            deadlines.append(self._first_answer_at + RECORD_DELAY)
        if len(self._ready) < self.low_water:
            deadlines += [j.next_look for j in self._jobs.values() if j.sendable]
        return min(max(d - now, 0.001) for d in deadlines)

    # -- recording ------------------------------------------------------------------

    def _record(self, now):
        with self._cv:
            if not self._answers:
                return
            urgent = any(
                d.effect != policy.JobEffect.ANSWERED for *_, d in self._answers
            )
            due = self._first_answer_at is not None and (
                now - self._first_answer_at >= RECORD_DELAY
            )
            enough = len(self._answers) >= RECORD_BATCH
            if not (urgent or due or enough or self._stopping):
                return
            batch, self._answers = self._answers, []
            self._first_answer_at = None
        try:
            recorded = outcomes.record(batch)
        except Exception:
            with self._cv:  # nothing was written: keep every answer for the next try
                self._answers = batch + self._answers
                self._first_answer_at = now
            raise
        self._recorded(recorded)

    def _recorded(self, recorded):
        """Act on what a write changed: look again at the jobs it touched."""
        for job_id in recorded.touched | recorded.wait_over:
            if view := self._jobs.get(job_id):
                view.next_look = 0.0  # items went back, or a wait is over
                if job_id in recorded.wait_over:
                    view.wait_until = None
        for job_id in recorded.stopped:
            lifecycle.sweep(job_id)
        changed = recorded.stopped | recorded.paused | recorded.waiting
        if changed or recorded.wait_over or recorded.finished:
            self._next_refresh = 0.0

    def _give_back_unsent(self):
        with self._cv:
            units, self._unsent = self._unsent, []
        if units:
            try:
                claims.give_back(units)
            except Exception:
                with self._cv:
                    self._unsent = units + self._unsent
                raise

    # -- watching the jobs -----------------------------------------------------

    def _refresh(self, now):
        rows = db.retrying(lambda: lifecycle.unsettled_jobs(only=self.only_jobs))
        seen = {}
        for row in rows:
            view = self._jobs.get(row["id"]) or JobView(
                id=row["id"],
                kind=row["kind"],
                status=row["status"],
                preparing=False,
                wait_until=None,
            )
            if row["wait_until"] != view.wait_until:
                # A wait begun, lengthened or over: the job's next look was
                # set by the old one, so look again now.
                view.next_look = 0.0
            view.status, view.wait_until = row["status"], row["wait_until"]
            view.preparing = bool((row["options"] or {}).get("preparing"))
            seen[view.id] = view
            with job_context(view.id):
                self._watch(view, row, now)
        with self._cv:
            self._jobs = seen
        self._hand_back_held(now)
        # A job whose next item is due later is not work: the coordinator
        # wakes at its next_look anyway, and the claim checks its status.
        due = any(j.sendable and j.next_look <= now for j in seen.values())
        busy = self._ready or self._sending or self._answers or due
        self._next_refresh = now + (REFRESH_BUSY if busy else REFRESH_IDLE)

    def _watch(self, view, row, now):
        """Upkeep of one job: its heartbeat, and an ending nobody wrote yet."""
        done = row["succeeded"] + row["failed"] + row["invalid"] + row["cancelled"]
        if not view.sendable:
            if view.status != JobStatus.PAUSED and not self._holds(view.id):
                # Stopped or cancelled: what went back to the queue since the
                # sweep is swept too, and the job settled once nothing is open.
                lifecycle.sweep(view.id)
            return
        if done >= row["total"] and not view.preparing and not self._holds(view.id):
            problems = row["failed"] + row["invalid"]
            counts = (row["total"], done, row["status"], row["options"], problems, None)
            lifecycle.settle_if_complete(view.id, counts)
        if self._holds(view.id) and now - view.last_beat >= HEARTBEAT_EVERY:
            view.last_beat = now
            db.in_transaction(
                lambda: ImportJob.objects.filter(pk=view.id).update(
                    heartbeat_at=timezone.now()
                )
            )

    def _held(self):
        """Every unit this engine holds a claim on; call with the lock held."""
        return [
            *self._ready,
            *self._sending.values(),
            *(answer[0] for answer in self._answers),
            *self._unsent,
        ]

    def _holds(self, job_id):
        with self._cv:
            return any(unit.job_id == job_id for unit in self._held())

    def _hand_back_held(self, now):
        """Units of jobs that may not be sent now (stopped, paused, waiting) go back."""
        with self._cv:
            keep = deque()
            for unit in self._ready:
                if self._may_send(unit, now):
                    keep.append(unit)
                else:
                    self._unsent.append(unit)
            self._ready = keep

    # -- leases ---------------------------------------------------------------------

    def _renew(self, now):
        with self._cv:
            held = self._held()
        self._next_renew = now + self._lease / 4
        if held:
            claims.renew(held, now=now)

    # -- claiming -------------------------------------------------------------------

    def _top_up(self, now):
        views = [j for j in self._jobs.values() if j.sendable and j.next_look <= now]
        if not views:
            return
        start = next(self._rotation) % len(views)
        for view in views[start:] + views[:start]:
            if len(self._ready) >= self.low_water:
                return
            with job_context(view.id):
                self._claim_from(view, now)

    def _claim_from(self, view, now):
        if self._locally_waiting(view.id):
            view.next_look = now + 0.2
            return
        probe = view.wait_until is not None
        if probe and not self._probe_won(view, now):
            return
        want = 2 * self.low_water - len(self._ready)
        units = claims.claim(
            job_id=view.id, job_kind=view.kind, units=want, probe=probe
        )
        if units:
            self._hold(view, units, now)
            return
        if probe:
            db.in_transaction(lambda: lifecycle.probe_put_back(view.id))
        if view.preparing:
            view.next_look = now + 0.1  # a full call's rows are a moment away
            return
        due = claims.next_due(view.id)
        view.next_look = due if due is not None and due > now else now + 1.0

    def _probe_won(self, view, now):
        """Whether this engine may send the waiting job's one probe now."""
        if view.wait_until > now:
            view.next_look = view.wait_until
            return False
        hold = settings.IM_CONNECT_TIMEOUT + settings.IM_READ_TIMEOUT + 5
        if not lifecycle.probe_take(view.id, seen_until=view.wait_until, hold=hold):
            view.next_look = now + REFRESH_BUSY
            self._next_refresh = 0.0
            return False
        view.wait_until = now + hold
        return True

    def _hold(self, view, units, now):
        # Held before anything else can fail, so a claim is never lost here.
        wait = part_filled(units) if view.preparing else []
        waiting = {id(unit) for unit in wait}
        with self._cv:
            self._ready.extend(u for u in units if id(u) not in waiting)
            self._unsent.extend(wait)
            self._cv.notify_all()
        if view.status == JobStatus.QUEUED:
            db.in_transaction(lambda: lifecycle.started(view.id))
            view.status = JobStatus.RUNNING
        if len(wait) == len(units):
            view.next_look = now + PART_FILLED_WAIT

    def _locally_waiting(self, job_id):
        until = self._local_wait.get(job_id)
        return until is not None and time.monotonic() < until

    # -- stopping -------------------------------------------------------------------

    def _shut_down(self):
        self.stop()
        for thread in self._threads:
            thread.join(settings.IM_CONNECT_TIMEOUT + settings.IM_READ_TIMEOUT + 5)
        with self._cv:
            self._unsent.extend(self._ready)
            self._ready.clear()
        for attempt in range(3):
            try:
                self._give_back_unsent()
                self._record(time.time())
                break
            except Exception:
                log.exception("engine stop: not all written (try %s)", attempt + 1)
                time.sleep(LOCKED_PAUSE)
        _engines.discard(self)
        connection.close()
        if self._limiter:
            self._limiter.log_counts()
