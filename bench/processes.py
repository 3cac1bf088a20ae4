"""Child processes on Linux: their trees and peak RSS from /proc, reaping, stopping."""

import os
import signal
import subprocess
import time

from console import log


def process_children():
    """{parent pid: [child pids]} of every process, from /proc/<pid>/stat."""
    children = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            fields = proc_stat(name)
            if fields:
                children.setdefault(int(fields[1]), []).append(int(name))
    return children


def process_start(pid):
    """(start time in clock ticks since boot, pid): spawn order."""
    fields = proc_stat(pid)
    return (int(fields[19]) if fields else 0, pid)


def proc_stat(pid):
    """The fields of /proc/<pid>/stat after the command name (state first)."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            data = stat.read()
    except OSError:
        return None
    return data[data.rindex(b")") + 2 :].split()


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None  # gone, or a zombie


def drain(stream):
    for _ in stream:
        pass


def wait_child(proc, timeout, sampler):
    """Reap ``proc`` within ``timeout`` s; True if it ended.

    Reaped with wait4 so its exact peak RSS (ru_maxrss) is recorded too.
    """
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            sampler.record(proc.pid, usage.ru_maxrss)
            return True
        time.sleep(0.05)
    return False


def stop_group(proc, grace):
    """SIGTERM (if ``grace``) then SIGKILL to the process group ``proc`` leads."""
    if grace and proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(grace)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            pass
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        log(f"process {proc.pid} survived SIGKILL")
