"""Page benchmark: how fast the dashboard and the accounts pages answer at scale.

Seeds COUNT accounts with ``seed_accounts`` into a database of its own, then
requests each page RUNS times with Django's test client, signed in as a
superuser, and prints the median and 95th percentile in milliseconds (plus a
Markdown table for docs/BENCHMARKS.md). Usage:

    python bench/pages.py [--count 1000000] [--runs 30] [--var-dir DIR]

Without --var-dir everything lives in a temporary folder that is removed at
the end; with it, a folder seeded by an earlier run is reused (seeding a
million accounts takes ~20 s). The checkout's var/ is never touched.
"""

import argparse
import io
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "bench"


def main():
    args = parse_args()
    var_dir = (
        Path(args.var_dir)
        if args.var_dir
        else Path(tempfile.mkdtemp(prefix="imadmin-pages-"))
    )
    try:
        setup_django(var_dir, args.database_url)
        client, job_ids = prepare(args.count)
        results = [
            measure(client, name, url, args.runs, cold)
            for name, url, cold in pages(job_ids)
        ]
    finally:
        if not args.var_dir:
            shutil.rmtree(var_dir, ignore_errors=True)
    report(args, results)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--var-dir", default="", help="reuse (or keep) this folder")
    parser.add_argument(
        "--database-url", default="", help="default: SQLite in the folder"
    )
    return parser.parse_args()


def setup_django(var_dir, database_url):
    os.environ["IMADMIN_VAR_DIR"] = str(var_dir)
    os.environ.pop("DATABASE_URL", None)
    if database_url:
        os.environ["DATABASE_URL"] = database_url
    os.environ["DJANGO_ALLOWED_HOSTS"] = "testserver"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "imadmin.settings")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()


def prepare(count):
    """Migrate, seed (unless already seeded), and sign in a superuser."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.test import Client

    from accounts.management.commands.seed_accounts import seeded
    from accounts.models import ImportJob

    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)
    if not seeded(PREFIX).exists():
        out = io.StringIO()
        call_command("seed_accounts", count=count, prefix=PREFIX, stdout=out)
        print(out.getvalue().strip())
    users = get_user_model().objects
    user = users.filter(username="bench").first() or users.create_superuser(
        "bench", "", None
    )
    client = Client()
    client.force_login(user)
    job_ids = list(
        ImportJob.objects.filter(label__startswith=f"seeded {PREFIX}:")
        .order_by("id")
        .values_list("id", flat=True)
    )
    return client, job_ids


def pages(job_ids):
    """(name, URL, clear the cache before each run) for every page measured."""
    from accounts.models import AccountState, TrackedAccount

    middle = (
        TrackedAccount.objects.filter(state=AccountState.FAILED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    deep = middle[middle.count() // 2]
    stopped = job_ids[-1]
    return [
        ("home (counts shared for 15 s)", "/", False),
        ("home (counted on every view)", "/", True),
        ("accounts, newest", "/accounts/", False),
        ("accounts ?state=failed", "/accounts/?state=failed", False),
        (
            "accounts ?state=failed, deep page",
            f"/accounts/?state=failed&after={deep}",
            False,
        ),
        ("accounts ?remote=NotImported", "/accounts/?remote=NotImported", False),
        ("accounts ?remote=drifted", "/accounts/?remote=drifted", False),
        ("accounts ?q= prefix (1,000 matches)", f"/accounts/?q={PREFIX}0001", False),
        ("accounts ?q= prefix (every account)", f"/accounts/?q={PREFIX}", False),
        ("accounts ?q= exact", f"/accounts/?q={PREFIX}0000081", False),
        ("account page", f"/accounts/{PREFIX}0000081/", False),
        ("jobs", "/jobs/", False),
        ("job page", f"/jobs/{stopped}/", False),
        ("job progress.json", f"/jobs/{stopped}/progress.json", False),
    ]


def measure(client, name, url, runs, cold):
    from django.core.cache import cache

    times = []
    for n in range(runs + 1):
        if cold:
            cache.clear()
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status_code != 200:
            raise SystemExit(f"{url} answered {response.status_code}")
        if n:  # the first request warms connections and template caches
            times.append(elapsed)
    return name, url, statistics.median(times), percentile(times, 95), max(times)


def percentile(values, pct):
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def report(args, results):
    width = max(len(name) for name, *_ in results)
    print(
        f"\n{args.count:,} accounts, {args.runs} runs per page, {os.cpu_count()} CPUs"
    )
    print(f"{'page'.ljust(width)}  median ms  p95 ms  max ms")
    for name, _url, median, p95, worst in results:
        print(f"{name.ljust(width)}  {median:9.1f}  {p95:6.1f}  {worst:6.1f}")
    print("\n| Page | URL | median ms | p95 ms |\n|---|---|---:|---:|")
    for name, url, median, p95, _worst in results:
        print(f"| {name} | `{url}` | {median:.0f} | {p95:.0f} |")


if __name__ == "__main__":
    main()
