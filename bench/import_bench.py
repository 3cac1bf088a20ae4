"""Import benchmark: ``import_accounts --wait`` with a real worker and the sandbox.

Measured in the same run, against the same sandbox settings:
- imadmin: CSV → job → django-q2 cluster → multiaccount_import batches;
- a plain sequential script: one loop sending 100-account batches one after
  another with requests, as someone would write without imadmin.

Prints a JSON summary and a Markdown table row. Usage:

    python bench/import_bench.py [--count 100000] [--latency-ms 0] [--workers 2]

Everything runs in a temporary folder (its own SQLite database and sandbox
state); nothing touches the checkout's var/.
"""

import argparse
import csv
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
API_CEILING = 100 * 100  # multiaccount_import: 100 calls/s x 100 accounts
SANDBOX_SDKAPPID = 1400000000


def main():
    args = parse_args()
    with tempfile.TemporaryDirectory(prefix="imadmin-bench-") as tmp:
        tmp = Path(tmp)
        env = {
            **os.environ,
            "IMADMIN_VAR_DIR": str(tmp),
            "Q_WORKERS": str(args.workers),
        }
        env.pop("DATABASE_URL", None)
        if args.database_url:
            env["DATABASE_URL"] = args.database_url
        manage(env, "migrate", "-v0")
        manage(env, "createcachetable")
        sandbox, url = start_sandbox(env, tmp, args.latency_ms)
        env["IM_API_BASE_URL"] = url
        try:
            csv_path = write_csv(tmp / "accounts.csv", args.count, "bench")
            imadmin = run_imadmin(env, csv_path, args)
            stats_imadmin = sandbox_stats(url)
            requests.post(f"{url}/sandbox/reset", json={"accounts": True}, timeout=10)
            sequential = run_sequential(env, url, args.count)
            stats_sequential = sandbox_stats(url)
        finally:
            sandbox.terminate()
            sandbox.wait(10)
    report(args, imadmin, sequential, stats_imadmin, stats_sequential)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database-url", default="")
    return parser.parse_args()


def manage(env, *argv, **kw):
    return subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *argv],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        **kw,
    )


def start_sandbox(env, tmp, latency_ms):
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "im_sandbox",
            "--port",
            "0",
            "--state",
            str(tmp / "sandbox.sqlite3"),
            "--latency-ms",
            str(latency_ms),
            "-v",
            "0",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    line = proc.stdout.readline()
    return proc, re.search(r"(http://\S+)", line)[1]


def write_csv(path, count, prefix):
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["UserID", "Nick"])
        for i in range(count):
            writer.writerow([f"{prefix}{i:08d}", f"Bench user {i}"])
    return path


def run_imadmin(env, csv_path, args):
    cluster = subprocess.Popen(
        [sys.executable, str(ROOT / "manage.py"), "qcluster"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        time.sleep(2)  # let the workers start, as they would be in production
        started = time.perf_counter()
        out = manage(env, "import_accounts", str(csv_path), "--wait", "--json").stdout
        wall = time.perf_counter() - started
    finally:
        cluster.terminate()
        cluster.wait(30)
    result = json.loads(out.strip().splitlines()[-1])
    job_seconds = job_run_seconds(env, result["job"])
    return {"wall_s": wall, "job_s": job_seconds, **result}


def job_run_seconds(env, job_id):
    code = (
        "from accounts.models import ImportJob;"
        f"j=ImportJob.objects.get(pk={job_id});"
        "print((j.finished_at-j.started_at).total_seconds())"
    )
    return float(manage(env, "shell", "-c", code).stdout.strip().splitlines()[-1])


def run_sequential(env, url, count):
    """bench/sequential_import.py: one batch after another, nothing else."""
    key_file = Path(env["IMADMIN_VAR_DIR"]) / "im-sandbox-secret.key"
    out = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "sequential_import.py"),
            "--url",
            url,
            "--sdkappid",
            str(SANDBOX_SDKAPPID),
            "--key-file",
            str(key_file),
            "--count",
            str(count),
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    result = json.loads(out)
    return {"wall_s": result["seconds"], "refused_accounts": result["refused"]}


def sandbox_stats(url):
    api = requests.get(f"{url}/sandbox/stats", timeout=10).json()["apis"]
    multi = api["multiaccount_import"]
    return {
        "calls": multi["calls"],
        "refused_rate_limit": multi["refused_rate_limit"],
        "max_calls_in_any_second": multi["max_calls_in_any_second"],
        "accounts": requests.get(f"{url}/sandbox/stats", timeout=10).json()["accounts"],
    }


def report(args, imadmin, sequential, stats_imadmin, stats_sequential):
    rate = args.count / imadmin["wall_s"]
    job_rate = args.count / imadmin["job_s"]
    # Only what IM accepted counts: the plain script ignores the rate limit.
    seq_rate = (args.count - sequential["refused_accounts"]) / sequential["wall_s"]
    summary = {
        "count": args.count,
        "latency_ms": args.latency_ms,
        "workers": args.workers,
        "imadmin": imadmin,
        "imadmin_accounts_per_s_end_to_end": round(rate),
        "imadmin_accounts_per_s_job": round(job_rate),
        "sequential_accounts_per_s": round(seq_rate),
        "vs_api_ceiling_end_to_end": round(rate / API_CEILING, 3),
        "vs_api_ceiling_job": round(job_rate / API_CEILING, 3),
        "vs_sequential_job": round(job_rate / seq_rate, 2),
        "sandbox_imadmin": stats_imadmin,
        "sandbox_sequential": stats_sequential,
    }
    print(json.dumps(summary, indent=2))
    print(
        f"| {args.count:,} | {args.latency_ms} ms | {args.workers} "
        f"| {rate:,.0f}/s ({rate / API_CEILING:.0%}) "
        f"| {job_rate:,.0f}/s ({job_rate / API_CEILING:.0%}) "
        f"| {seq_rate:,.0f}/s | {job_rate / seq_rate:.1f}x "
        f"| {stats_imadmin['max_calls_in_any_second']} "
        f"| {stats_imadmin['refused_rate_limit']} "
        f"/ {stats_sequential['refused_rate_limit']} |"
    )


if __name__ == "__main__":
    main()
