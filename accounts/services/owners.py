"""Which process reads a file into a job, and whether that process still lives.

A command that fills a job records itself (host, pid and the process's start
time, so a recycled pid is not mistaken for it). A later run can then tell at
once that the earlier one is gone, on the same host; from another host it
can only tell by a heartbeat gone stale.
"""

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.utils import timezone


def _start_time(pid):
    """The kernel's start time of ``pid`` (clock ticks since boot), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            # The command name (field 2) may hold spaces: split after its ")".
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[19])
    except (OSError, IndexError, ValueError):
        return None


def owner_record():
    """This process, as a job's ``options["owner"]`` records it."""
    return {
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "start": _start_time(os.getpid()),
    }


def owner_gone(owner, heartbeat_at):
    """True when the process ``owner`` describes is certainly or probably gone."""
    here = owner and owner.get("host") == socket.gethostname()
    if here and owner.get("start") is not None:
        return _start_time(owner.get("pid")) != owner["start"]
    stale = timedelta(seconds=2 * settings.IM_CLAIM_LEASE_SECONDS)
    return heartbeat_at is None or heartbeat_at < timezone.now() - stale
