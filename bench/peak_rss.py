"""The peak RSS sampler: VmHWM of every process in the trees the bench watches."""

import threading

from processes import process_children, vm_hwm_kb

SAMPLE_SECONDS = 0.2


class RssSampler:
    """Reads VmHWM (a process's own peak RSS) of every process in watched trees.

    Every ``interval`` seconds, for each watched root and all its descendants;
    the last value seen per pid is kept (VmHWM only grows).
    """

    def __init__(self, interval):
        self.interval = interval
        self.roots = {}  # root pid -> role
        self.roles = {}  # pid -> role given by name()
        self.root_of = {}  # pid -> the root it was found under
        self.peaks_kb = {}  # pid -> last VmHWM seen
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()

    def stop(self):
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join()
            self.sample()

    def watch(self, pid, role):
        with self._lock:
            self.roots[pid] = role
            self.roles[pid] = role
        self.sample()

    def name(self, pid, role):
        with self._lock:
            self.roles[pid] = role

    def record(self, pid, kb):
        with self._lock:
            self.peaks_kb[pid] = max(kb, self.peaks_kb.get(pid, 0))

    def _loop(self):
        while not self._stop.wait(self.interval):
            self.sample()

    def sample(self):
        with self._lock:
            roots = list(self.roots)
        children = process_children()  # one scan of /proc for every tree
        for root in roots:
            pending = [root]  # breadth first: parents before children
            for pid in pending:
                pending.extend(sorted(children.get(pid, ())))
                kb = vm_hwm_kb(pid)
                if kb is not None:
                    with self._lock:
                        self.root_of.setdefault(pid, root)
                        self.peaks_kb[pid] = kb

    def by_role(self):
        """{role: MB}, in the order processes were first seen."""
        with self._lock:
            result = {}
            for pid, kb in self.peaks_kb.items():
                role = self.roles.get(pid)
                if role is None:
                    root_role = self.roots.get(self.root_of.get(pid), "unknown")
                    role = f"{root_role} child"
                if role in result:
                    role = f"{role} (pid {pid})"
                result[role] = round(kb / 1024, 1)
            return result
