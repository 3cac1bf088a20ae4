"""The benchmark run: set up a stack, time imadmin then the plain loop, clean up."""

import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from checkout import manage
from clusters import Cluster
from console import log
from import_command import (
    import_result,
    log_progress,
    read_job,
    start_import,
    write_csv,
)
from peak_rss import SAMPLE_SECONDS, RssSampler
from plain_loop import run_loop
from postgres_stack import (
    BENCH_REDIS_URL,
    create_database,
    database_url,
    drop_database,
    flush_redis,
)
from processes import stop_group, wait_child
from sandbox import Sandbox
from summary import summarize

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


class Bench:
    """One run with the options of ``bench/import_bench.py``; ``cleanup`` always."""

    def __init__(self, args):
        self.args = args
        self.tmp = None
        self.env = None
        self.database = None
        self.sandbox = None
        self.clusters = []
        self.command = None
        self.sampler = RssSampler(SAMPLE_SECONDS)
        self.log_files = []

    def run(self):
        """The summary of one run (see summary.summarize); BenchError if it failed."""
        self._prepare()
        csv_path = write_csv(self.tmp / "accounts.csv", self.args.accounts, "bench")
        self._start_clusters()
        imadmin = self._run_import(csv_path)
        imadmin["db"] = read_job(self.env, imadmin["result"]["job"])
        imadmin["sandbox"] = self.sandbox.stats()
        self._stop_clusters()
        self.sampler.stop()
        self.sandbox.reset_accounts()
        key_file = self.tmp / "im-sandbox-secret.key"
        args = self.args
        loop = run_loop(self.sandbox.url, key_file, args.accounts, args.timeout)
        loop["sandbox"] = self.sandbox.stats()
        return summarize(args, imadmin, loop, self.clusters, self.sampler, self.env)

    def _prepare(self):
        """A temp folder, a migrated database and the sandbox; sampling starts."""
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

    def _base_env(self):
        env = {**os.environ, "IMADMIN_VAR_DIR": str(self.tmp)}
        for name in SCRUBBED_ENV:
            env.pop(name, None)
        return env

    def _create_database(self):
        name = f"imadmin_bench_{os.getpid()}"
        create_database(name)
        self.database = name
        flush_redis()
        self.env["DATABASE_URL"] = database_url(name)
        self.env["REDIS_URL"] = BENCH_REDIS_URL
        log(f"database {name}, Redis db 15 flushed")

    def _start_sandbox(self):
        stderr = self._log_file("sandbox.log")
        self.sandbox = Sandbox(self.env, self.tmp, self.args.latency_ms, stderr)
        self.sandbox.connect()
        self.env["IM_API_BASE_URL"] = self.sandbox.url
        self.sampler.watch(self.sandbox.proc.pid, "sandbox")
        log(f"sandbox at {self.sandbox.url}, {self.args.latency_ms} ms a call")

    def _start_clusters(self):
        args = self.args
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

    def _run_import(self, csv_path):
        out, err = self.tmp / "import.out", self.tmp / "import.err"
        log("import_accounts --wait started")
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            started = time.perf_counter()
            started_at = time.time()
            self.command = start_import(self.env, csv_path, stdout, stderr)
            self.sampler.watch(self.command.pid, "command")
            finished = wait_child(self.command, self.args.timeout, self.sampler)
            wall = time.perf_counter() - started
        log_progress(err)
        result = import_result(self.command, finished, self.args.timeout, out, err)
        log(f"import_accounts done in {wall:.1f} s: {json.dumps(result)}")
        return {
            "end_to_end_s": wall,
            "result": result,
            "command_started_at": started_at,
        }

    def _stop_clusters(self):
        # SIGTERM to every cluster first, so they stop side by side, not in turn.
        for cluster in self.clusters:
            cluster.terminate()
        for cluster in self.clusters:
            cluster.stop()
            log(f"cluster {cluster.n} stopped in {cluster.stop_s:.1f} s")
        for cluster in self.clusters:
            cluster.label(self.sampler)
            log(f"cluster {cluster.n} tasks per worker: {cluster.tasks_per_worker()}")

    def _log_file(self, name):
        handle = open(self.tmp / name, "wb")
        self.log_files.append(handle)
        return handle

    def cleanup(self):
        """Stop whatever still runs, drop the database, remove the temp folder."""
        self._stop_processes()
        for handle in self.log_files:
            handle.close()
        if self.database:
            if self.args.keep:
                log(f"kept database {self.env['DATABASE_URL']}")
            else:
                drop_database(self.database)
        if self.tmp is not None:
            if self.args.keep:
                log(f"kept {self.tmp}")
            else:
                shutil.rmtree(self.tmp, ignore_errors=True)

    def _stop_processes(self):
        self.sampler.stop()
        if self.command is not None and self.command.poll() is None:
            stop_group(self.command, grace=10)
        for cluster in self.clusters:
            try:
                cluster.stop()
            except Exception as exc:  # keep cleaning up the rest
                log(f"stopping cluster {cluster.n}: {exc}")
        if self.sandbox is not None:
            self.sandbox.stop()
