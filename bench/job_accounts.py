"""Benchmark of the accounts list filtered by a job's items and by nickname.

Seeds COUNT accounts (``seed_accounts``, as bench/pages.py does) and one
settled job with an item for every one of them, one in a thousand failed;
then times the list pages that read through JobItem (``?job=``) and the
nickname search (``?nick=``), and what account_nick_lower_idx costs an
INSERT of fresh accounts. Usage:

    python bench/job_accounts.py [--count 1000000] [--runs 20] [--database-url URL]
"""

import argparse
import time

from pages import PREFIX, measure, prepare, report, setup_django

BIG_JOB_LABEL = f"seeded {PREFIX}: every account"
FRESH = 200_000  # accounts inserted to time the nickname index's cost


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--var-dir", required=True, help="reuse (or keep) this folder")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    setup_django(args.var_dir, args.database_url)
    client, _ = prepare(args.count)
    job = big_job()
    results = [measure(client, name, url, args.runs, False) for name, url in pages(job)]
    report(args, results)
    print(index_cost())


def big_job():
    """The job with an item per seeded account (made once), one in 1,000 failed."""
    from django.db import connection

    from accounts.models import ImportJob, JobItem, JobSource, JobStatus, TrackedAccount

    job = ImportJob.objects.filter(label=BIG_JOB_LABEL).first()
    if job:
        return job
    job = ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.DONE_WITH_ERRORS, label=BIG_JOB_LABEL
    )
    items = connection.ops.quote_name(JobItem._meta.db_table)
    accounts = connection.ops.quote_name(TrackedAccount._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {items} (job_id, account_id, state, attempts,"
            " next_attempt_at, claim_token, solo, needs_check, error_message,"
            " updated_at) SELECT %s, id, CASE WHEN id %% 1000 = 0 THEN 'failed'"
            f" ELSE 'succeeded' END, 1, 0, '', false, false, '', created_at"
            f" FROM {accounts}",
            [job.pk],
        )
        cursor.execute("ANALYZE")
    return job


def pages(job):
    from accounts.models import JobItem

    failed = JobItem.objects.filter(job=job, state="failed").order_by("account_id")
    deep = failed.values_list("account_id", flat=True)[failed.count() // 2]
    return [
        ("job's failed accounts", f"/accounts/?job={job.pk}&state=failed"),
        (
            "job's failed accounts, deep page",
            f"/accounts/?job={job.pk}&state=failed&after={deep}",
        ),
        ("job's accounts", f"/accounts/?job={job.pk}"),
        ("job's imported accounts", f"/accounts/?job={job.pk}&state=imported"),
        ("nickname prefix (1,111 matches)", "/accounts/?nick=seed+user+1000"),
        ("nickname prefix (every account)", "/accounts/?nick=Seed"),
        ("nickname prefix (no match)", "/accounts/?nick=zzz"),
    ]


def index_cost():
    """Seconds to INSERT FRESH accounts with and without the nickname index."""
    from django.db import connection

    from accounts.management.commands.seed_accounts import unseed
    from accounts.models import TrackedAccount

    table = connection.ops.quote_name(TrackedAccount._meta.db_table)
    found = {}
    for with_index in (True, False, True):
        if not with_index:
            with connection.cursor() as cursor:
                cursor.execute("DROP INDEX account_nick_lower_idx")
        started = time.perf_counter()
        from django.core.management import call_command

        call_command("seed_accounts", count=FRESH, prefix="fresh", verbosity=0)
        found.setdefault(with_index, []).append(time.perf_counter() - started)
        unseed("fresh")
        if not with_index:
            with connection.cursor() as cursor:
                cursor.execute(
                    f"CREATE INDEX account_nick_lower_idx ON {table} (LOWER(nick))"
                )
    return (
        f"seed_accounts --count {FRESH:,} into {TrackedAccount.objects.count():,}:"
        f" with the nickname index {min(found[True]):.2f} s,"
        f" without {min(found[False]):.2f} s"
    )


if __name__ == "__main__":
    main()
