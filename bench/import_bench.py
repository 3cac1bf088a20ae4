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

The parts live beside this entry point: bench_run.py (the run), clusters.py,
sandbox.py, import_command.py, plain_loop.py, postgres_stack.py, peak_rss.py,
processes.py, summary.py, report.py, checkout.py and console.py.
"""

import argparse
import os
import signal
import sys
from pathlib import Path

# A script run puts bench/ on sys.path, not the checkout; imsandbox lives there.
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

from bench_run import Bench
from console import BenchError, log
from report import report


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


if __name__ == "__main__":
    main()
