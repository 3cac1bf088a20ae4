"""An engine in every django-q2 worker process, started as the process starts.

Work is claimed from the database, not from broker tasks: a worker process
runs its engine beside the tasks django-q2 gives it, so a job is worked by
every live worker on every host, and a cluster that dies takes no job with
it (its claims expire and the others take them over). Broker tasks only wake
the engines up early (``wake``).

The engine stops gracefully when its process exits: django-q2 ends a worker
by returning from its loop, and multiprocessing then runs the finalizer
registered here, which lets the calls in flight finish and be recorded.
"""

import logging
import threading
import time
from multiprocessing import util

from django.conf import settings
from django.db import transaction

from .engine import Engine, wake_local

log = logging.getLogger(__name__)
RESTART_PAUSE = 5.0
_state = {"engine": None, "thread": None, "stopping": False}


def start_in_worker(sender=None, proc_name="", **kwargs):
    """django-q2's ``post_spawn`` receiver: start this process's engine once."""
    if not settings.IM_ENGINE or _state["thread"] is not None:
        return
    thread = threading.Thread(target=_run_forever, name="imadmin-engine", daemon=True)
    _state["thread"] = thread
    thread.start()
    util.Finalize(None, stop_in_worker, exitpriority=100)
    log.info("imadmin engine started in %s", proc_name)


def _run_forever():
    while not _state["stopping"]:
        engine = _state["engine"] = Engine()
        try:
            engine.run()
        except Exception:  # claims it held expire, and are taken over
            log.exception("imadmin engine failed; restarting in %ss", RESTART_PAUSE)
            time.sleep(RESTART_PAUSE)
        else:
            return


def stop_in_worker():
    """Stop this process's engine and wait for it (calls in flight are recorded)."""
    _state["stopping"] = True
    engine, thread = _state["engine"], _state["thread"]
    if engine is not None:
        engine.stop()
    if thread is not None:
        thread.join(settings.IM_CONNECT_TIMEOUT + settings.IM_READ_TIMEOUT + 15)


def wake():
    """Wake the engines once the current transaction commits: new work is there.

    This process's engines at once; every other process's through one small
    broker task, so work starts within moments rather than at the next poll.
    """

    def send():
        from django_q.tasks import async_task

        wake_local()
        try:
            async_task("accounts.tasks.engine_wake", group="wake", save=False)
        except Exception:  # the engines' own poll finds the work a moment later
            log.warning("could not queue a wake-up for the engines", exc_info=True)

    transaction.on_commit(send)
