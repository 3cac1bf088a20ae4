"""The reads behind the pages, and that they stay cheap at scale."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count
from django.utils import timezone

from accounts import selectors
from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    JobSource,
    JobStatus,
    RemoteStatus,
    TrackedAccount,
)

pytestmark = pytest.mark.django_db


def make(n, prefix="a", **fields):
    return TrackedAccount.objects.bulk_create(
        [TrackedAccount(user_id=f"{prefix}{i:03d}", **fields) for i in range(n)]
    )


def test_keyset_pages_walk_forward_and_back_without_gaps():
    make(12)
    accounts = TrackedAccount.objects.all()
    pages, page = [], selectors.keyset_page(accounts, size=5)
    while True:
        pages.append([a.user_id for a in page.rows])
        if page.older is None:
            break
        page = selectors.keyset_page(accounts, after=page.older, size=5)
    assert sum(pages, []) == [f"a{i:03d}" for i in range(11, -1, -1)]
    assert len(pages) == 3
    back = selectors.keyset_page(accounts, before=page.newer, size=5)
    assert [a.user_id for a in back.rows] == pages[1]
    first = selectors.keyset_page(accounts, before=back.newer, size=5)
    assert [a.user_id for a in first.rows] == pages[0] and first.newer is None


def test_keyset_pages_can_run_in_ascending_order_on_another_key():
    make(7)
    accounts = TrackedAccount.objects.all()
    page = selectors.keyset_page(accounts, key="user_id", descending=False, size=3)
    assert [a.user_id for a in page.rows] == ["a000", "a001", "a002"]
    page = selectors.keyset_page(
        accounts, key="user_id", descending=False, size=3, after=page.older
    )
    assert [a.user_id for a in page.rows] == ["a003", "a004", "a005"]
    assert page.newer == "a003"


def test_account_counts_agree_with_a_group_by():
    make(5, "i", state=AccountState.IMPORTED, remote_status=RemoteStatus.IMPORTED)
    make(3, "d", state=AccountState.IMPORTED, remote_status=RemoteStatus.NOT_IMPORTED)
    make(2, "q", state=AccountState.QUEUED)
    make(4, "f", state=AccountState.FAILED, remote_status=RemoteStatus.NOT_IMPORTED)
    counts = selectors.account_counts()
    by_state = dict(TrackedAccount.objects.values_list("state").annotate(Count("id")))
    by_remote = dict(
        TrackedAccount.objects.values_list("remote_status").annotate(Count("id"))
    )
    assert counts["total"] == 14
    assert {k: v for k, v in counts["state"].items() if v} == by_state
    assert {k: v for k, v in counts["remote"].items() if v} == by_remote
    assert counts["drifted"] == 3


def test_account_counts_are_zero_on_an_empty_table():
    counts = selectors.account_counts()
    assert counts["total"] == 0
    assert set(counts["state"].values()) == {0}
    assert set(counts["remote"].values()) == {0}


def test_imports_per_day_counts_local_days(settings):
    settings.TIME_ZONE = "Asia/Shanghai"
    today = timezone.localdate()
    start = timezone.make_aware(
        timezone.datetime.combine(today, timezone.datetime.min.time())
    )
    make(2, "t", imported_at=start)  # local midnight: today
    make(1, "y", imported_at=start - timedelta(microseconds=1))  # yesterday
    make(1, "o", imported_at=start - timedelta(days=14))  # out of range
    days = selectors.imports_per_day()
    assert len(days) == 14
    assert days[-1] == (today, 2)
    assert days[-2] == (today - timedelta(days=1), 1)
    assert sum(n for _, n in days) == 3


def test_api_rate_use_finds_the_busiest_second():
    now = timezone.now().replace(microsecond=500_000)
    calls = [ApiCall(api="account_check", account_count=1, created_at=now)] * 4
    calls += [
        ApiCall(
            api="account_check", account_count=1, created_at=now - timedelta(seconds=2)
        )
    ] * 3
    ApiCall.objects.bulk_create(calls)
    use = {r.api: r for r in selectors.api_rate_use(now=now + timedelta(seconds=1))}
    assert (use["account_check"].calls, use["account_check"].peak) == (7, 4)
    assert use["account_import"].calls == 0


def test_account_calls_match_the_userid_exactly():
    job = ImportJob.objects.create(source=JobSource.CSV)
    (account,) = make(1, "Bob")
    for ids in (["Bob000"], ["BOB000", "x"], ["Bob0001"], ['say "Bob000"']):
        ApiCall.objects.create(
            job=job,
            api="multiaccount_import",
            account_count=len(ids),
            user_ids=ids,
            created_at=timezone.now(),
        )
    calls = selectors.account_calls(account, [job.pk])
    assert [c.user_ids for c in calls] == [["Bob000"]]


def test_account_calls_find_userids_with_quotes_and_backslashes():
    job = ImportJob.objects.create(source=JobSource.CSV)
    account = TrackedAccount.objects.create(user_id='a"b\\c%_')
    ApiCall.objects.create(
        job=job,
        api="account_import",
        account_count=1,
        user_ids=['a"b\\c%_'],
        created_at=timezone.now(),
    )
    ApiCall.objects.create(
        job=job,
        api="account_import",
        account_count=1,
        user_ids=['a"b\\cXY'],
        created_at=timezone.now(),
    )
    assert len(selectors.account_calls(account, [job.pk])) == 1


def test_job_progress_gives_shares_and_the_recent_rate():
    now = timezone.now()
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        total=200,
        succeeded=100,
        failed=20,
        invalid=10,
        cancelled=0,
        status=JobStatus.RUNNING,
        started_at=now - timedelta(seconds=100),
    )
    call(job, 100, now - timedelta(seconds=30))  # before the window: not counted
    call(job, 100, now - timedelta(seconds=10))
    call(job, 30, now - timedelta(seconds=5))
    call(job, 100, now - timedelta(seconds=2), error_code=70500)  # not answered OK
    progress = selectors.job_progress(job, now=now)
    assert progress["rate"] == round(130 / selectors.pace.RECENT_SECONDS, 1)
    assert progress["remaining"] == 70
    assert progress["eta_seconds"] == round(70 / (130 / selectors.pace.RECENT_SECONDS))
    assert [(s["x"], s["width"]) for s in progress["segments"]] == [
        (0, 50.0),
        (50.0, 10.0),
        (60.0, 5.0),
        (65.0, 0.0),
    ]
    empty = selectors.job_progress(ImportJob(total=0))
    # 0 of 0 is no share at all: not "100.0%".
    assert empty["rate"] is None and empty["percent"] is None
    assert empty["percent_text"] == "—"


def call(job, accounts, at, error_code=0):
    return ApiCall.objects.create(
        job=job,
        api="multiaccount_import",
        account_count=accounts,
        http_status=200,
        error_code=error_code,
        created_at=at,
    )


def test_no_eta_while_the_file_is_read_or_while_im_answers_nothing():
    now = timezone.now()
    job = ImportJob.objects.create(
        source=JobSource.CSV,
        total=500,
        succeeded=100,
        status=JobStatus.RUNNING,
        started_at=now - timedelta(seconds=60),
        options={"preparing": True},
    )
    call(job, 100, now - timedelta(seconds=3))
    pace = selectors.job_pace(job, now=now)
    assert pace.rate == 5.0 and pace.eta_seconds is None
    job.options = {}
    assert selectors.job_pace(job, now=now).eta_seconds == 80
    later = now + timedelta(seconds=60)
    assert selectors.job_pace(job, now=later) == selectors.Pace(None, None)


def test_a_settled_job_has_its_overall_rate_and_no_eta_cancelled_rows_not_counted():
    now = timezone.now()
    job = ImportJob(
        total=1000,
        succeeded=300,
        failed=100,
        cancelled=600,
        status=JobStatus.CANCELLED,
        started_at=now - timedelta(seconds=40),
        finished_at=now - timedelta(seconds=20),
    )
    assert selectors.job_pace(job, now=now) == selectors.Pace(20.0, None)
    body = selectors.job_json(job, now=now)
    assert body["rate"] == 20.0 and body["eta_seconds"] is None
    assert body["remaining"] == 0 and body["cancelled"] == 600
    assert body["finished_at"] == job.finished_at.isoformat()
    assert set(body) == {
        "id",
        "kind",
        "status",
        "total",
        "succeeded",
        "failed",
        "invalid",
        "cancelled",
        "remaining",
        "rate",
        "eta_seconds",
        "created_at",
        "started_at",
        "finished_at",
    }


def test_seed_refuses_a_second_run_over_the_same_prefix_unless_forced():
    call_command("seed_accounts", count=300, prefix="s", stdout=io.StringIO())
    assert TrackedAccount.objects.count() == 300
    with pytest.raises(CommandError, match="use --force"):
        call_command("seed_accounts", count=300, prefix="s", stdout=io.StringIO())
    call_command(
        "seed_accounts", count=200, prefix="s", force=True, stdout=io.StringIO()
    )
    assert TrackedAccount.objects.count() == 200
    assert ImportJob.objects.count() == 4
    counts = selectors.account_counts()
    assert counts["state"][AccountState.FAILED] == 14  # 7 in each 100
    assert counts["drifted"] == 2
    failed = ImportJob.objects.get(label="seeded s: trial app")
    assert failed.status == JobStatus.STOPPED and failed.failed == 8
    assert failed.items.count() == 8 and failed.calls.exists()
