"""The engine's sender side: threads that take claimed units and call IM.

A mixin of ``Engine``: it shares the engine's lock (``_cv``) and its queues
(``_ready`` to take from, ``_sending`` while in flight, ``_answers`` and
``_unsent`` to hand back). A sender never touches the database, so a slow
write never holds a call back. A sender that gets an answer about IM itself
marks the job as waiting here at once (``_local_wait``), so its siblings stop
sending that job's units before the coordinator has even written the wait.
"""

import logging
import threading
import time

from django.conf import settings
from django.db import connection

from ..ops.logs import job_context
from . import policy, sending

log = logging.getLogger(__name__)

LOCAL_WAIT = 1.0  # a sender's "IM is failing" holds this engine until the record


class SenderSide:
    """The sender threads of an Engine (see the module)."""

    def _start_senders(self):
        for n in range(self.senders):
            thread = threading.Thread(
                target=self._sender, name=f"imadmin-sender-{n}", daemon=True
            )
            thread.start()
            self._threads.append(thread)

    def _sender(self):
        client = self._client_factory()
        try:
            while (unit := self._take()) is not None:
                with job_context(unit.job_id):
                    answer = self._send(client, unit)
                    self._answered(unit, answer)
        except Exception:
            log.exception("an engine sender failed")
        finally:
            client.close()
            connection.close()

    def _take(self):
        with self._cv:
            while not self._ready:
                if self._stopping:
                    return None
                self._cv.wait(1.0)
            unit = self._ready.popleft()
            self._sending[id(unit)] = unit
            self._cv.notify_all()
            return unit

    def _send(self, client, unit):
        if not self._may_send(unit, time.time()):
            return None
        self._limiter.acquire(unit.api)
        if not self._may_send(unit, time.time()):
            return None
        return sending.send(client, unit, acquire=self._limiter.acquire)

    def _may_send(self, unit, now):
        if self._stopping:
            return False
        view = self._jobs.get(unit.job_id)
        if view is None or not view.sendable:
            return False
        held_back = view.wait_until is not None or self._locally_waiting(unit.job_id)
        if held_back and not unit.probe:
            return False
        # Sent only with lease enough for the answer: a claim that could run
        # out mid-call might be taken over and sent twice.
        reply = settings.IM_CONNECT_TIMEOUT + settings.IM_READ_TIMEOUT + 2
        return unit.lease_until - now >= min(reply, self._lease / 2)

    def _answered(self, unit, answer):
        with self._cv:
            self._sending.pop(id(unit), None)
            if answer is None:
                self._unsent.append(unit)
            else:
                decision = self._decide(unit, answer)
                if decision.effect == policy.JobEffect.WAIT:
                    self._local_wait[unit.job_id] = time.monotonic() + LOCAL_WAIT
                self._answers.append((unit, answer, decision))
                if self._first_answer_at is None:
                    self._first_answer_at = time.time()
            self._cv.notify_all()

    def _decide(self, unit, answer):
        """The policy's Decision, knowing whether IM is failing as a whole.

        Call with the lock held: it counts the job's transient failures in a
        row, which any answer from IM ends.
        """
        job_id = unit.job_id
        failing = policy.about_im(answer)
        streak = self._streak.get(job_id, 0) + 1 if failing else 0
        self._streak[job_id] = streak
        view = self._jobs.get(job_id)
        waiting = self._locally_waiting(job_id) or (view and view.wait_until)
        outage = failing and policy.is_outage(
            streak, senders=self.senders, waiting=bool(waiting)
        )
        return policy.decide(
            unit, answer, max_attempts=settings.IM_MAX_ATTEMPTS, outage=outage
        )
