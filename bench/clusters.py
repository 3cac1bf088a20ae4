"""One django-q2 cluster under test: its process, readiness, roles, tasks and stop."""

import re
import signal
import subprocess
import sys
import time

from checkout import MANAGE, ROOT
from console import BenchError, log, tail
from processes import process_children, process_start, stop_group

START_TIMEOUT = 60
STOP_TIMEOUT = 30


SLOT_KINDS = ("used", "lost_late", "lost_unused")


class Cluster:
    """One ``manage.py qcluster`` process (its own session) and its log."""

    def __init__(self, n, env, tmp, workers):
        self.n = n
        self.workers = workers
        self.log_path = tmp / f"qcluster-{n}.log"
        self._log = open(self.log_path, "wb")
        self.started = time.perf_counter()
        self.start_s = self.stop_s = self._stopping = None
        self.proc = subprocess.Popen(
            [sys.executable, MANAGE, "qcluster"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, sampler):
        """Wait until the log says the cluster runs with all its workers ready.

        Without those log lines (another LOG_LEVEL), wait until the sentinel has
        spawned its W workers, monitor and pusher.
        """
        sampler.watch(self.proc.pid, f"cluster {self.n} main")
        deadline = time.perf_counter() + START_TIMEOUT
        while time.perf_counter() < deadline:
            if self._ready():
                break
            time.sleep(0.1)
        else:
            raise BenchError(
                f"cluster {self.n} was not up after {START_TIMEOUT} s:\n"
                f"{tail(self.log_path)}"
            )
        self.start_s = time.perf_counter() - self.started
        self.label(sampler)

    def _ready(self):
        if self.proc.poll() is not None:
            raise BenchError(
                f"cluster {self.n} exited {self.proc.returncode} at start:\n"
                f"{tail(self.log_path)}"
            )
        text = self.log_path.read_text(errors="replace")
        ready = len(re.findall(r"ready for work at \d+", text))
        if "] running." in text and ready >= self.workers:
            return True
        return self._spawned() and time.perf_counter() - self.started > 5

    def _spawned(self):
        children = process_children()
        sentinels = children.get(self.proc.pid, [])
        return bool(sentinels) and len(children.get(sentinels[0], [])) >= (
            self.workers + 2
        )

    def label(self, sampler):
        """Name the cluster's processes: from the log, else by spawn order."""
        prefix = f"cluster {self.n}"
        children = process_children()
        for sentinel in children.get(self.proc.pid, []):
            sampler.name(sentinel, f"{prefix} sentinel")
            spawned = sorted(children.get(sentinel, []), key=process_start)
            # Sentinel.spawn_cluster: the workers, then the monitor, then the pusher.
            roles = [f"{prefix} worker {k}" for k in range(1, self.workers + 1)]
            roles += [f"{prefix} monitor", f"{prefix} pusher"]
            for pid, role in zip(spawned, roles, strict=False):
                sampler.name(pid, role)
        for pid, role in self._roles_from_log().values():
            sampler.name(pid, role)

    def _roles_from_log(self):
        """{process name: (pid, role)} from django-q2's start-up lines."""
        text = self.log_path.read_text(errors="replace")
        found, workers = {}, 0
        for name, kind, pid in re.findall(
            r"(Process-\w+) (ready for work|monitoring|pushing tasks) at (\d+)", text
        ):
            if kind == "ready for work":
                workers += 1
                role = f"cluster {self.n} worker {workers}"
            else:
                role = {"monitoring": "monitor", "pushing tasks": "pusher"}[kind]
                role = f"cluster {self.n} {role}"
            found[name] = (int(pid), role)
        return found

    def tasks_per_worker(self):
        """{worker role: tasks it started}, from the log ("... processing ...")."""
        roles = self._roles_from_log()
        counts = {role: 0 for _, role in roles.values() if " worker " in role}
        text = self.log_path.read_text(errors="replace")
        for name in re.findall(r"(Process-\w+) processing ", text):
            role = roles.get(name, (None, f"cluster {self.n} {name}"))[1]
            counts[role] = counts.get(role, 0) + 1
        return counts

    def limiter_slots(self):
        """{api: {used, lost_late, lost_unused}} summed over the cluster's engines.

        From the line each engine logs as it stops: slots used, lost to a
        sender that woke too late, lost unused (reserved, nobody took it).
        """
        line = re.compile(
            r"limiter slots (\w+): used (\d+), lost late (\d+), lost unused (\d+)"
        )
        found = {}
        for api, *numbers in line.findall(self.log_path.read_text(errors="replace")):
            counts = found.setdefault(api, dict.fromkeys(SLOT_KINDS, 0))
            for kind, number in zip(SLOT_KINDS, numbers, strict=True):
                counts[kind] += int(number)
        return found

    def terminate(self):
        """SIGTERM to the main process only (a graceful stop), once."""
        if self._stopping is None and self.proc.poll() is None:
            self._stopping = time.perf_counter()
            self.proc.send_signal(signal.SIGTERM)

    def stop(self):
        """Stop gracefully; SIGKILL the group 30 s after the SIGTERM."""
        self.terminate()
        if self._stopping is not None and self.stop_s is None:
            try:
                self.proc.wait(self._stopping + STOP_TIMEOUT - time.perf_counter())
            except subprocess.TimeoutExpired:
                log(f"cluster {self.n} ignored SIGTERM for {STOP_TIMEOUT} s: SIGKILL")
            self.stop_s = time.perf_counter() - self._stopping
        stop_group(self.proc, grace=0)  # and whatever it left behind
        self._log.close()
