"""The accounts list (search, filters, keyset pages) and the account page."""

import html
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    ItemState,
    JobItem,
    JobSource,
    RemoteStatus,
    TrackedAccount,
)
from tests.personas import signed_in

pytestmark = pytest.mark.django_db


def make(user_id, **fields):
    return TrackedAccount.objects.create(user_id=user_id, **fields)


def listed(response):
    assert response.status_code == 200
    return re.findall(
        r'<a href="/accounts/[^"]+/"><code>([^<]+)</code>', response.content.decode()
    )


def test_it_sends_anonymous_visitors_to_sign_in(client):
    assert client.get("/accounts/")["Location"] == "/login/?next=/accounts/"
    assert client.get("/accounts/a/").status_code == 302


def test_it_refuses_people_without_the_right(client):
    signed_in(client, "jobs-only", "view_importjob")
    make("a")
    assert client.get("/accounts/").status_code == 403
    assert client.get("/accounts/a/").status_code == 403


def test_it_lists_newest_first(admin_client):
    for user_id in ("old", "mid", "new"):
        make(user_id)
    assert listed(admin_client.get("/accounts/")) == ["new", "mid", "old"]


def test_it_pages_by_keyset_without_counting(
    admin_client, django_assert_max_num_queries
):
    accounts = [make(f"u{i:03d}") for i in range(120)]
    first = admin_client.get("/accounts/")
    assert listed(first)[:2] == ["u119", "u118"] and len(listed(first)) == 50
    older = re.search(r'href="\?after=(\d+)" rel="next"', first.content.decode())[1]
    assert int(older) == accounts[70].pk
    with django_assert_max_num_queries(6) as queries:
        second = admin_client.get(f"/accounts/?after={older}")
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)
    assert listed(second)[0] == "u069"
    newer = re.search(r'href="\?before=(\d+)" rel="prev"', second.content.decode())[1]
    assert listed(admin_client.get(f"/accounts/?before={newer}")) == listed(first)
    last = admin_client.get(f"/accounts/?after={accounts[20].pk}")
    assert listed(last)[-1] == "u000"
    assert 'rel="next"' not in last.content.decode()


@pytest.mark.parametrize(
    "cursor", ["abc", "-1", "1e5", "９", "99999999999999999999999"]
)
def test_it_explains_a_broken_page_link(admin_client, cursor):
    make("a")
    response = admin_client.get(f"/accounts/?after={cursor}")
    assert response.status_code == 200
    assert "This page link is not valid" in response.content.decode()


def test_it_finds_the_exact_userid_first_then_the_prefix(admin_client):
    for user_id in ("seed10", "seed1", "seed2", "seed1a", "xseed1"):
        make(user_id)
    assert listed(admin_client.get("/accounts/?q=seed1")) == [
        "seed1",
        "seed10",
        "seed1a",
    ]
    assert listed(admin_client.get("/accounts/?q=seed1a")) == ["seed1a"]
    assert listed(admin_client.get("/accounts/?q=nothing")) == []


def test_it_pages_search_results_by_userid(admin_client):
    for i in range(60):
        make(f"p/{i:02d}")
    first = admin_client.get("/accounts/?q=p/")
    assert listed(first)[0] == "p/00"
    link = re.search(
        r'href="\?q=p%2F&amp;after=([^"]+)" rel="next"', first.content.decode()
    )[1]
    assert link == "p%2F49"
    second = admin_client.get(f"/accounts/?q=p/&after={link}")
    assert listed(second) == [f"p/{i}" for i in range(50, 60)]


def test_it_filters_by_state_remote_status_drift_job_and_source(admin_client):
    job = ImportJob.objects.create(source=JobSource.CSV)
    ok = make(
        "ok",
        state=AccountState.IMPORTED,
        remote_status=RemoteStatus.IMPORTED,
        source=JobSource.CSV,
        job=job,
    )
    JobItem.objects.create(job=job, account=ok, state=ItemState.SUCCEEDED)
    make(
        "drift",
        state=AccountState.IMPORTED,
        remote_status=RemoteStatus.NOT_IMPORTED,
        source=JobSource.FORM,
    )
    make("gone", state=AccountState.PENDING, remote_status=RemoteStatus.NOT_IMPORTED)
    make("bad", state=AccountState.FAILED, source=JobSource.CSV, last_error_code=70398)
    get = admin_client.get
    assert listed(get("/accounts/?state=failed")) == ["bad"]
    assert listed(get("/accounts/?remote=NotImported")) == ["gone", "drift"]
    assert listed(get("/accounts/?remote=drifted")) == ["drift"]
    assert listed(get("/accounts/?remote=unchecked")) == ["bad"]
    assert listed(get(f"/accounts/?job={job.pk}")) == ["ok"]
    assert listed(get("/accounts/?source=csv")) == ["bad", "ok"]
    assert listed(get("/accounts/?source=csv&state=imported")) == ["ok"]
    body = get("/accounts/?state=failed").content.decode()
    assert "<code>70398</code>" in body and "account limit is reached" in body


@pytest.mark.parametrize(
    "query",
    ["state=nope", "remote=maybe", "job=abc", "job=-3", "source=<x>", "q=" + "x" * 40],
)
def test_it_explains_a_bad_filter(admin_client, query):
    response = admin_client.get(f"/accounts/?{query}")
    assert response.status_code == 200
    assert 'class="form-errors"' in response.content.decode()


def test_it_escapes_what_users_typed(admin_client):
    make("x<1>", nick="<script>alert(1)</script>", face_url='https://e.com/"><b>')
    body = admin_client.get("/accounts/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    page = admin_client.get("/accounts/x%3C1%3E/").content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<b>" not in page.split('<main id="main"')[1]


@pytest.mark.parametrize(
    "user_id", ["a/b", "a/b/", "50%off", "who?", "#1", "x&y=z", "~u"]
)
def test_it_opens_the_page_of_any_printable_userid(admin_client, user_id):
    make(user_id, nick="found")
    body = admin_client.get("/accounts/").content.decode()
    href = html.unescape(re.search(r'<a href="(/accounts/[^"]+/)"><code>', body)[1])
    response = admin_client.get(href)
    assert response.status_code == 200
    assert f"<code>{user_id.replace('&', '&amp;')}</code>" in response.content.decode()


def test_it_answers_404_for_an_unknown_userid(admin_client):
    assert admin_client.get("/accounts/nobody/").status_code == 404
    assert admin_client.get("/accounts/" + "x" * 300 + "/").status_code == 404
    assert admin_client.get("/accounts/a%00b/").status_code == 404


def test_it_shows_the_account_with_its_error_drift_items_and_calls(admin_client):
    earlier = ImportJob.objects.create(source=JobSource.CSV, label="first.csv")
    later = ImportJob.objects.create(source=JobSource.ADMIN)
    account = make(
        "carol",
        nick="Carol",
        state=AccountState.IMPORTED,
        remote_status=RemoteStatus.NOT_IMPORTED,
        job=later,
        checked_at=timezone.now(),
        last_error_code=70500,
    )
    JobItem.objects.create(
        job=earlier,
        account=account,
        state=ItemState.FAILED,
        attempts=5,
        error_code=70500,
    )
    JobItem.objects.create(
        job=later, account=account, state=ItemState.SUCCEEDED, attempts=1
    )
    now = timezone.now()
    ApiCall.objects.create(
        job=earlier,
        api="multiaccount_import",
        account_count=2,
        user_ids=["Carol", "carol"],
        error_code=70500,
        fail_accounts=["carol"],
        created_at=now - timedelta(minutes=5),
    )
    ApiCall.objects.create(
        job=earlier,
        api="multiaccount_import",
        account_count=1,
        user_ids=["CAROL"],
        error_code=0,
        created_at=now,
    )
    ApiCall.objects.create(
        job=later,
        api="multiaccount_import",
        account_count=1,
        user_ids=["carol"],
        error_code=0,
        http_status=200,
        created_at=now,
    )
    body = admin_client.get("/accounts/carol/").content.decode()
    assert "Drifted: imported here, but IM said <strong>NotImported</strong>" in body
    assert "IM internal server error. It will be retried." in body
    items = re.search(r'id="account-items">(.*?)</table>', body, re.S)[1]
    assert items.index(f"#{later.pk}") < items.index(f"#{earlier.pk}")
    calls = re.search(r'id="account-calls">(.*?)</table>', body, re.S)[1]
    assert calls.count("<tr>") == 3  # the header and the two calls that carried carol
    assert '<span class="ok-text">1 OK</span>' in calls
    assert "<code>70500</code>" in calls
    # Failed for good in its first job: no retry is promised there.
    assert "IM internal server error. Its attempts are spent" in items
    assert '<span class="badge item-failed">yes</span>' in calls


def test_it_leaves_out_the_calls_for_people_who_may_not_see_them(client):
    signed_in(client, "support", "view_trackedaccount")
    make("dave")
    body = client.get("/accounts/dave/").content.decode()
    assert "API calls that carried it" not in body
