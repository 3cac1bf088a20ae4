"""Import benchmark: ``import_accounts --wait`` with real clusters and the sandbox.

Measured in one run, against one IM sandbox with an added latency per call:

- imadmin: a CSV of N accounts (UserID, Nick) -> ``manage.py import_accounts
  --wait --json`` -> C django-q2 clusters (``manage.py qcluster``) of W workers
  each -> 100-account ``multiaccount_import`` batches. Timed end to end (the
  command's wall clock, CSV read included) and as the job alone (the job's
  finished_at - started_at in the database);
- the plain loop, ``bench/sequential_import.py``: one 100-account call after
  another with requests, as someone would write without imadmin (only the
  accounts IM accepted count).

Both are compared with the API's ceiling of 100 calls/s x 100 accounts =
10,000 accounts/s. Also reported: the API calls imadmin recorded per API, the
busiest second the sandbox saw per API, the calls it refused for rate (60007),
and the peak RSS (VmHWM, sampled every 0.2 s; MB = MiB) of every process: the
sandbox, the command and each cluster's main, sentinel, workers, monitor and
pusher. Forked cluster processes count the pages they share with their parent.

Stacks: ``embedded`` is SQLite in a fresh temporary IMADMIN_VAR_DIR with the
ORM broker; ``postgres`` is a fresh database ``imadmin_bench_<pid>`` on
postgres://postgres@127.0.0.1:5432 (C collation) with the Redis broker on
redis://127.0.0.1:6379/15 (flushed first). Keys and sandbox state always live in
the temporary folder; it and the database are removed at the end (``--keep``
keeps them). Nothing touches the checkout's var/.

    python bench/import_bench.py [--stack embedded|postgres] [--accounts 100000]
        [--latency-ms 20] [--workers 2] [--clusters C] [--concurrency T]
        [--json PATH] [--keep] [--timeout 1200]

Prints progress to stderr, then a JSON summary, a Markdown table row and
"all imported: yes/no" to stdout. Exits 1 when the run failed.
"""

import argparse
import csv
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

import requests

from imsandbox import TOKEN_HEADER, token_path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = str(ROOT / "manage.py")
API_CEILING = 100 * 100  # multiaccount_import: 100 calls/s x 100 accounts
SANDBOX_SDKAPPID = 1400000000
PG_SERVER = "postgres://postgres@127.0.0.1:5432"
BENCH_REDIS_URL = "redis://127.0.0.1:6379/15"
SAMPLE_SECONDS = 0.2
START_TIMEOUT = 60
STOP_TIMEOUT = 30
# Settings that would point the bench at the real service or another database.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "IM_SDKAPPID",
    "IM_SECRET_KEY",
    "IM_SECRET_KEY_FILE",
    "IM_REGION",
    "IM_API_BASE_URL",
)
TABLE_HEADER = (
    "| stack | accounts | latency | clusters x workers "
    "| imadmin end to end | imadmin job alone | plain loop "
    "| end to end / loop | job / loop | busiest second per API (limit) "
    "| calls refused for rate: imadmin / loop | max peak RSS |\n"
    "|---|---:|---:|---|---|---|---|---:|---:|---|---|---|"
)


class BenchError(Exception):
    """The run failed; the message says where and why."""


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, _interrupt)  # clean up on SIGTERM too
    bench = Bench(args)
    try:
        summary = bench.run()
    except BenchError as exc:
        log(f"FAILED: {exc}")
        summary = None
    except KeyboardInterrupt:
        log("interrupted")
        summary = None
    finally:
        bench.cleanup()
    if summary is None:
        sys.exit(1)
    report(summary, args.json)
    sys.exit(0 if summary["all_imported"] else 1)


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", choices=("embedded", "postgres"), default="embedded")
    # --count: the old name, still used by `make bench`.
    parser.add_argument("--accounts", "--count", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=20)
    parser.add_argument(
        "--workers",
        type=int,
        default=int(os.environ.get("Q_WORKERS", 2)),
        help="django-q2 worker processes per cluster (default: Q_WORKERS or 2)",
    )
    parser.add_argument(
        "--clusters",
        type=int,
        help="qcluster processes (default 1 for embedded, 2 for postgres)",
    )
    parser.add_argument(
        "--concurrency", type=int, help="IM_CONCURRENCY for the clusters"
    )
    parser.add_argument("--json", help="also write the summary JSON to this file")
    parser.add_argument(
        "--keep", action="store_true", help="keep the temp folder and database"
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=1200,
        help="seconds the import (and the plain loop) may take (default 1200)",
    )
    args = parser.parse_args()
    if args.clusters is None:
        args.clusters = 1 if args.stack == "embedded" else 2
    if args.accounts < 1 or args.workers < 1 or args.clusters < 1:
        parser.error("--accounts, --workers and --clusters must be at least 1")
    return args


def log(message):
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Bench:
    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.database = None
        self.sandbox = None
        self.url = None
        self.clusters = []
        self.command = None
        self.sampler = RssSampler(SAMPLE_SECONDS)
        self.log_files = []

    # -- the run ----------------------------------------------------------------

    def run(self):
        args = self.args
        self.tmp = Path(tempfile.mkdtemp(prefix="imadmin-bench-"))
        self.env = self._base_env()
        log(f"{args.stack} stack, {args.accounts:,} accounts, temp folder {self.tmp}")
        if args.stack == "postgres":
            self._create_database()
        manage(self.env, "migrate", "-v", "0")
        manage(self.env, "createcachetable")  # harmless when migrate made it
        self._start_sandbox()
        self.sampler.start()
        csv_path = write_csv(self.tmp / "accounts.csv", args.accounts, "bench")

        # Every process sees Q_WORKERS, as in a deployment: the command reads it too.
        self.env["Q_WORKERS"] = str(args.workers)
        cluster_env = dict(self.env)
        cluster_env.setdefault("LOG_LEVEL", "INFO")  # its lines name the processes
        if args.concurrency is not None:
            cluster_env["IM_CONCURRENCY"] = str(args.concurrency)
        for n in range(1, args.clusters + 1):
            self.clusters.append(Cluster(n, cluster_env, self.tmp, args.workers))
        for cluster in self.clusters:
            cluster.wait_ready(self.sampler)
            log(f"cluster {cluster.n} up in {cluster.start_s:.1f} s")

        imadmin = self._run_import(csv_path)
        imadmin["db"] = read_job(self.env, imadmin["result"]["job"])
        imadmin["sandbox"] = sandbox_stats(self.url, self.control_headers)
        for cluster in self.clusters:
            cluster.terminate()  # all at once, then wait for each
        for cluster in self.clusters:
            cluster.stop()
            log(f"cluster {cluster.n} stopped in {cluster.stop_s:.1f} s")
        for cluster in self.clusters:
            cluster.label(self.sampler)
            log(f"cluster {cluster.n} tasks per worker: {cluster.tasks_per_worker()}")
        self.sampler.stop()

        requests.post(
            f"{self.url}/sandbox/reset",
            json={"accounts": True},
            headers=self.control_headers,
            timeout=10,
        )
        loop = self._run_loop()
        loop["sandbox"] = sandbox_stats(self.url, self.control_headers)
        return summarize(args, imadmin, loop, self.clusters, self.sampler, self.env)

    def _base_env(self):
        env = {**os.environ, "IMADMIN_VAR_DIR": str(self.tmp)}
        for name in SCRUBBED_ENV:
            env.pop(name, None)
        return env

    def _create_database(self):
        import psycopg
        import redis
        from psycopg import sql

        name = f"imadmin_bench_{os.getpid()}"
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
            ident = sql.Identifier(name)
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(ident)
            )
            conn.execute(
                sql.SQL(
                    "CREATE DATABASE {} TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'"
                ).format(ident)
            )
        self.database = name
        redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
        self.env["DATABASE_URL"] = f"{PG_SERVER}/{name}"
        self.env["REDIS_URL"] = BENCH_REDIS_URL
        log(f"database {name}, Redis db 15 flushed")

    def _start_sandbox(self):
        stderr = self._log_file("sandbox.log")
        self.sandbox = subprocess.Popen(
            [
                sys.executable,
                MANAGE,
                "im_sandbox",
                "--port",
                "0",
                "--state",
                str(self.tmp / "sandbox.sqlite3"),
                "--latency-ms",
                str(self.args.latency_ms),
                "-v",
                "0",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            start_new_session=True,
        )
        line = self.sandbox.stdout.readline()
        found = re.search(r"(http://\S+)", line)
        if not found:
            raise BenchError(
                f"the sandbox did not start: {line!r}\n{tail(self.tmp / 'sandbox.log')}"
            )
        self.url = found[1]
        # Nothing more is expected on stdout; drain it so the sandbox never blocks.
        threading.Thread(target=drain, args=(self.sandbox.stdout,), daemon=True).start()
        self.env["IM_API_BASE_URL"] = self.url
        token = token_path(self.tmp / "sandbox.sqlite3").read_text().strip()
        self.control_headers = {TOKEN_HEADER: token}
        self.sampler.watch(self.sandbox.pid, "sandbox")
        log(f"sandbox at {self.url}, {self.args.latency_ms} ms a call")

    def _run_import(self, csv_path):
        out, err = self.tmp / "import.out", self.tmp / "import.err"
        log("import_accounts --wait started")
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            started = time.perf_counter()
            self.command_started_at = time.time()
            self.command = subprocess.Popen(
                [sys.executable, MANAGE, "import_accounts", str(csv_path)]
                + ["--wait", "--json"],
                cwd=ROOT,
                env=self.env,
                stdout=stdout,
                stderr=stderr,
                start_new_session=True,
            )
            self.sampler.watch(self.command.pid, "command")
            finished = wait_child(self.command, self.args.timeout, self.sampler)
            wall = time.perf_counter() - started
        progress = err.read_text(errors="replace").splitlines()
        if progress:
            shown = progress[-40:]
            skipped = len(progress) - len(shown)
            log(
                f"import_accounts stderr ({len(progress)} lines"
                + (f", the last {len(shown)}" if skipped else "")
                + "):\n  "
                + "\n  ".join(shown)
            )
        if not finished:
            stop_group(self.command, grace=10)
            raise BenchError(
                f"import_accounts did not finish within {self.args.timeout:.0f} s; "
                "it was stopped"
            )
        if self.command.returncode:
            raise BenchError(
                f"import_accounts exited {self.command.returncode}:\n"
                f"{tail(out)}\n{tail(err)}"
            )
        result = last_json_object(out.read_text(errors="replace"))
        if result is None:
            raise BenchError(f"no JSON result from import_accounts:\n{tail(out)}")
        log(f"import_accounts done in {wall:.1f} s: {json.dumps(result)}")
        return {
            "end_to_end_s": wall,
            "result": result,
            "command_started_at": self.command_started_at,
        }

    def _run_loop(self):
        log("plain sequential loop started")
        key_file = self.tmp / "im-sandbox-secret.key"
        try:
            done = subprocess.run(
                [
                    sys.executable,
                    str(ROOT / "bench" / "sequential_import.py"),
                    "--url",
                    self.url,
                    "--sdkappid",
                    str(SANDBOX_SDKAPPID),
                    "--key-file",
                    str(key_file),
                    "--count",
                    str(self.args.accounts),
                ],
                capture_output=True,
                text=True,
                timeout=self.args.timeout,
            )
        except subprocess.TimeoutExpired:
            raise BenchError(
                f"the plain loop did not finish within {self.args.timeout:.0f} s"
            ) from None
        result = last_json_object(done.stdout)
        if done.returncode or result is None:
            raise BenchError(f"the plain loop failed:\n{done.stdout}\n{done.stderr}")
        log(f"plain loop done in {result['seconds']:.1f} s")
        return result

    def _log_file(self, name):
        handle = open(self.tmp / name, "wb")
        self.log_files.append(handle)
        return handle

    # -- cleanup ----------------------------------------------------------------

    def cleanup(self):
        """Stop whatever still runs, drop the database, remove the temp folder."""
        self.sampler.stop()
        if self.command is not None and self.command.poll() is None:
            stop_group(self.command, grace=10)
        for cluster in self.clusters:
            try:
                cluster.stop()
            except Exception as exc:  # keep cleaning up the rest
                log(f"stopping cluster {cluster.n}: {exc}")
        if self.sandbox is not None:
            stop_group(self.sandbox, grace=10)
            self.sandbox.stdout.close()
        for handle in self.log_files:
            handle.close()
        if self.database:
            if self.args.keep:
                log(f"kept database {self.env['DATABASE_URL']}")
            else:
                self._drop_database()
        if self.tmp is not None:
            if self.args.keep:
                log(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _drop_database(self):
        import psycopg
        import redis
        from psycopg import sql

        try:
            with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as conn:
                conn.execute(
                    sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                        sql.Identifier(self.database)
                    )
                )
            redis.Redis.from_url(BENCH_REDIS_URL).flushdb()
        except Exception as exc:
            log(f"could not drop database {self.database}: {exc}")


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
            if self.proc.poll() is not None:
                raise BenchError(
                    f"cluster {self.n} exited {self.proc.returncode} at start:\n"
                    f"{tail(self.log_path)}"
                )
            text = self.log_path.read_text(errors="replace")
            ready = len(re.findall(r"ready for work at \d+", text))
            if "] running." in text and ready >= self.workers:
                break
            if self._spawned() and time.perf_counter() - self.started > 5:
                break
            time.sleep(0.1)
        else:
            raise BenchError(
                f"cluster {self.n} was not up after {START_TIMEOUT} s:\n"
                f"{tail(self.log_path)}"
            )
        self.start_s = time.perf_counter() - self.started
        self.label(sampler)

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


def drain(stream):
    for _ in stream:
        pass


def vm_hwm_kb(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None  # gone, or a zombie


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


def manage(env, *argv):
    done = subprocess.run(
        [sys.executable, MANAGE, *argv],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode:
        raise BenchError(
            f"manage.py {' '.join(argv)[:80]} exited {done.returncode}:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return done.stdout


def write_csv(path, count, prefix):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["UserID", "Nick"])
        for i in range(count):
            writer.writerow([f"{prefix}{i:08d}", f"Bench user {i}"])
    return path


READ_JOB = """
import json
from django.db.models import Count, Max, Min
from accounts.models import ApiCall, ImportJob
job = ImportJob.objects.get(pk={job})
calls = ApiCall.objects.filter(job=job)
span = calls.aggregate(first=Min("created_at"), last=Max("created_at"))
def seconds(a, b):
    return (b - a).total_seconds() if a and b else None
print(json.dumps({{
    "status": job.status,
    "started_at": job.started_at and job.started_at.isoformat(),
    "finished_at": job.finished_at and job.finished_at.isoformat(),
    "first_call_at": span["first"] and span["first"].isoformat(),
    "last_call_at": span["last"] and span["last"].isoformat(),
    "created_at": job.created_at.isoformat(),
    "job_s": seconds(job.started_at, job.finished_at),
    "first_call_to_done_s": seconds(span["first"], job.finished_at),
    "calls_per_api": dict(
        calls.order_by().values_list("api").annotate(n=Count("id"))
    ),
    "counts": {{
        name: getattr(job, name)
        for name in ("total", "succeeded", "failed", "invalid", "cancelled")
    }},
}}))
"""


def read_job(env, job_id):
    out = manage(env, "shell", "-c", READ_JOB.format(job=int(job_id)))
    found = last_json_object(out)
    if found is None:
        raise BenchError(f"could not read job #{job_id} back:\n{out[-2000:]}")
    if not found["job_s"]:
        raise BenchError(f"job #{job_id} has no start or end time: {found}")
    return found


def sandbox_stats(url, headers):
    """Per API that was called: calls, refusals for rate, the busiest second."""
    stats = requests.get(f"{url}/sandbox/stats", headers=headers, timeout=10).json()
    apis = {
        name: {
            "calls": api["calls"],
            "refused_rate_limit": api["refused_rate_limit"],
            "max_calls_in_any_second": api["max_calls_in_any_second"],
            "rate_limit": api.get("rate_limit"),
        }
        for name, api in stats["apis"].items()
        if api["calls"]
    }
    return {
        "apis": apis,
        "refused_rate_limit": sum(a["refused_rate_limit"] for a in apis.values()),
        "accounts": stats["accounts"],
    }


def last_json_object(text):
    for line in reversed(text.strip().splitlines()):
        try:
            found = json.loads(line)
        except ValueError:
            continue
        if isinstance(found, dict):
            return found
    return None


def tail(path, lines=30):
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def per_s(count, seconds):
    return count / seconds if seconds else 0.0


def ratio(a, b):
    return round(a / b, 2) if b else None


def summarize(args, imadmin, loop, clusters, sampler, env):
    result, db = imadmin["result"], imadmin["db"]
    imported = result.get("imported", db["counts"]["succeeded"])
    end_to_end = per_s(imported, imadmin["end_to_end_s"])
    job = per_s(imported, db["job_s"])
    loop_rate = per_s(loop["accepted"], loop["seconds"])
    rss = sampler.by_role()
    tasks = {k: v for c in clusters for k, v in c.tasks_per_worker().items()}
    busy = sum(1 for n in tasks.values() if n)
    peak_role = max(rss, key=rss.get) if rss else None
    return {
        "stack": args.stack,
        "accounts": args.accounts,
        "latency_ms": args.latency_ms,
        "clusters": args.clusters,
        "workers": args.workers,
        "im_concurrency": env_concurrency(args, env),
        "imadmin": {
            "result": result,
            "end_to_end_s": round(imadmin["end_to_end_s"], 2),
            "job_s": round(db["job_s"], 2),
            "first_call_to_done_s": db["first_call_to_done_s"],
            "accounts_per_s_end_to_end": round(end_to_end),
            "share_of_ceiling_end_to_end": round(end_to_end / API_CEILING, 3),
            "accounts_per_s_job": round(job),
            "share_of_ceiling_job": round(job / API_CEILING, 3),
            "job": db,
            "timeline_s": timeline(imadmin, db),
            "sandbox": imadmin["sandbox"],
            "cluster_start_s": [round(c.start_s, 2) for c in clusters],
            "cluster_stop_s": [c.stop_s and round(c.stop_s, 2) for c in clusters],
            "tasks_per_worker": tasks,
            "workers_that_ran_a_task": f"{busy} of {len(tasks)}",
        },
        "loop": {
            "seconds": round(loop["seconds"], 2),
            "accepted": loop["accepted"],
            "refused_accounts": loop["refused"],
            "accounts_per_s": round(loop_rate),
            "share_of_ceiling": round(loop_rate / API_CEILING, 3),
            "own_busiest_second": loop.get("max_calls_in_any_second"),
            "sandbox": loop["sandbox"],
        },
        "end_to_end_vs_loop": ratio(end_to_end, loop_rate),
        "job_vs_loop": ratio(job, loop_rate),
        "peak_rss_mb": rss,
        "max_peak_rss": {"process": peak_role, "mb": rss.get(peak_role)},
        "all_imported": (
            imadmin["sandbox"]["accounts"] == args.accounts
            and result.get("status") == "done"
        ),
    }


def timeline(imadmin, db):
    """Seconds from the command's start to each step of the job (its clock)."""
    start = imadmin["command_started_at"]
    steps = {
        "job created": db.get("created_at"),
        "first claim (started)": db.get("started_at"),
        "first call": db.get("first_call_at"),
        "last call": db.get("last_call_at"),
        "settled": db.get("finished_at"),
    }
    found = {
        name: round(datetime.fromisoformat(at).timestamp() - start, 3)
        for name, at in steps.items()
        if at
    }
    found["command returned"] = round(imadmin["end_to_end_s"], 3)
    return found


def env_concurrency(args, env):
    if args.concurrency is not None:
        return args.concurrency
    return env.get("IM_CONCURRENCY", "default")


def report(summary, json_path):
    text = json.dumps(summary, indent=2)
    print(text)
    if json_path:
        Path(json_path).write_text(text + "\n")
    print()
    print(TABLE_HEADER)
    print(table_row(summary))
    print(f"all imported: {'yes' if summary['all_imported'] else 'no'}")


def table_row(s):
    imadmin, loop = s["imadmin"], s["loop"]
    busiest = ", ".join(
        f"{name} {api['max_calls_in_any_second']}/s ({api['rate_limit']})"
        for name, api in imadmin["sandbox"]["apis"].items()
    )
    ratios = [s["end_to_end_vs_loop"], s["job_vs_loop"]]
    ratios = [f"{r:.2f}x" if r is not None else "—" for r in ratios]
    peak = s["max_peak_rss"]
    cells = [
        s["stack"],
        f"{s['accounts']:,}",
        f"{s['latency_ms']} ms",
        f"{s['clusters']} x {s['workers']}",
        f"{imadmin['accounts_per_s_end_to_end']:,}/s "
        f"({imadmin['share_of_ceiling_end_to_end']:.0%})",
        f"{imadmin['accounts_per_s_job']:,}/s ({imadmin['share_of_ceiling_job']:.0%})",
        f"{loop['accounts_per_s']:,}/s ({loop['share_of_ceiling']:.0%})",
        *ratios,
        busiest or "—",
        f"{imadmin['sandbox']['refused_rate_limit']} "
        f"/ {loop['sandbox']['refused_rate_limit']}",
        f"{peak['mb']} MB ({peak['process']})",
    ]
    return "| " + " | ".join(cells) + " |"


if __name__ == "__main__":
    main()
