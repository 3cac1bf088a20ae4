"""The four kinds of 500 the security probe found, and the one parsing rule."""

import pytest
from django.contrib.auth import get_user_model
from django.http import QueryDict

from accounts.models import ImportJob, JobKind, JobSource, TrackedAccount
from accounts.params import BadParameter, parse_id, query_problem

ACCOUNTS = "/admin/accounts/trackedaccount/"


@pytest.fixture
def boss(client, db):
    user = get_user_model().objects.create_superuser("boss", "", "pw-long-enough-1")
    client.force_login(user)
    client.raise_request_exception = False
    return client


@pytest.fixture
def job(db):
    job = ImportJob.objects.create(kind=JobKind.IMPORT, source=JobSource.CSV)
    TrackedAccount.objects.create(user_id="in-job", job=job)
    TrackedAccount.objects.create(user_id="elsewhere")
    return job


@pytest.mark.parametrize("value", ["7", "9223372036854775807"])
def test_an_id_is_ascii_digits_within_a_bigint(value):
    assert parse_id(value) == int(value)
    assert parse_id("") is None


@pytest.mark.parametrize(
    "value", ["²", "١٢", "1_000", "+5", " 5", "-1", "0", "9223372036854775808", "1e3"]
)
def test_anything_else_is_refused(value):
    with pytest.raises(BadParameter):
        parse_id(value)


@pytest.mark.parametrize("url", ["/audit/?before=²", "/audit/jobs/{pk}/?after=²"])
def test_audit_pages_take_a_superscript_cursor(boss, job, url):
    response = boss.get(url.format(pk=job.pk))
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["9223372036854775808", "²"])
def test_the_admin_account_list_takes_any_job_value(boss, job, value):
    response = boss.get(ACCOUNTS, {"job": value})
    assert response.status_code == 200
    # A value that is no job filters nothing rather than failing.
    assert len(response.context["cl"].result_list) == 2


def test_the_admin_job_filter_still_filters(boss, job):
    response = boss.get(ACCOUNTS, {"job": str(job.pk)})
    assert [a.user_id for a in response.context["cl"].result_list] == ["in-job"]


def test_the_admins_show_counts_link_works(boss, job):
    # The job filter's choices were ints, and facets hand them back as values.
    response = boss.get(ACCOUNTS, {"_facets": "True"})
    assert response.status_code == 200
    response = boss.get(ACCOUNTS, {"_facets": "True", "job": str(job.pk)})
    assert response.status_code == 200


def test_a_50000_character_search_gets_a_clear_400(boss, job):
    for url in (ACCOUNTS, "/admin/auth/user/", "/accounts/"):
        response = boss.get(url, {"q": "a" * 50_000})
        assert response.status_code == 400
        assert b"longer than 2000 characters" in response.content


def test_an_admin_search_past_the_longest_field_finds_nothing(boss, job):
    response = boss.get(ACCOUNTS, {"q": "a" * 151}, follow=True)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == []
    assert b"Search for at most 150 characters" in response.content


def test_a_huge_year_in_the_admins_date_drill_down_is_a_400(boss, job):
    response = boss.get("/admin/accounts/auditevent/", {"at__year": "9" * 20})
    assert response.status_code == 400


def test_nul_characters_are_refused_before_any_view():
    assert "NUL" in query_problem(QueryDict("q=a%00b"))
    assert query_problem(QueryDict("q=ab&job=7&at__year=2026")) == ""
