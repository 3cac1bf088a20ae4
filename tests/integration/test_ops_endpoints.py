"""/healthz, /readyz and /metrics in process: access, shape, figures."""

import json
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from accounts.models import (
    AccountState,
    ApiCall,
    ImportJob,
    JobSource,
    JobStatus,
    TrackedAccount,
)
from tests.fixtures_production import free_port
from tests.integration.test_security import manage, production_env

pytestmark = pytest.mark.django_db
TOKEN = "metrics-token-for-tests"


@pytest.fixture
def metrics_settings(settings):
    settings.METRICS_TOKEN = TOKEN
    settings.METRICS_ALLOWED_ADDRESSES = []
    return settings


def samples(response):
    """{(metric name, frozenset of labels): value} of a /metrics answer."""
    found = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def test_it_answers_healthz_without_touching_the_database(
    client, django_assert_num_queries
):
    with django_assert_num_queries(0):
        answer = client.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})


def test_it_names_wrong_im_credentials_in_readyz(client, settings, im_settings):
    settings.IM_SECRET_KEY = "not-the-key"
    answer = client.get("/readyz")
    assert answer.status_code == 503
    checks = answer.json()["checks"]
    assert list(checks) == ["database", "broker", "workers", "im"]
    assert checks["database"]["status"] == "ok"
    assert checks["im"]["status"] == "failed"
    assert "70009" in checks["im"]["detail"]
    assert "not-the-key" not in answer.content.decode()


def test_it_answers_ready_im_with_the_right_credentials(client, im_settings):
    checks = client.get("/readyz").json()["checks"]
    assert checks["im"] == {
        "status": "ok",
        "detail": f"IM answers with valid credentials ({im_settings.IM_API_BASE_URL})",
    }


@pytest.mark.parametrize(
    "headers",
    [{}, {"HTTP_AUTHORIZATION": "Bearer wrong"}, {"HTTP_AUTHORIZATION": TOKEN}],
)
def test_it_hides_metrics_without_the_token(client, metrics_settings, headers):
    assert client.get("/metrics", **headers).status_code == 404


def test_it_hides_metrics_when_no_token_is_set(client, metrics_settings):
    metrics_settings.METRICS_TOKEN = ""
    answer = client.get("/metrics", HTTP_AUTHORIZATION="Bearer ")
    assert answer.status_code == 404


def test_it_shows_metrics_to_an_allowed_network(client, metrics_settings):
    metrics_settings.METRICS_ALLOWED_ADDRESSES = ["127.0.0.0/8"]
    assert client.get("/metrics").status_code == 200
    other = client.get("/metrics", REMOTE_ADDR="10.1.2.3")
    assert other.status_code == 404


def test_it_reports_accounts_jobs_and_calls_that_prometheus_can_parse(
    client, metrics_settings
):
    started = timezone.now() - timedelta(seconds=10)
    job = ImportJob.objects.create(
        source=JobSource.CSV, status=JobStatus.RUNNING, started_at=started
    )
    ImportJob.objects.create(source=JobSource.CSV, status=JobStatus.DONE)
    TrackedAccount.objects.bulk_create(
        [TrackedAccount(user_id=f"m{i}", state=AccountState.IMPORTED) for i in range(3)]
        + [TrackedAccount(user_id="f1", state=AccountState.FAILED)]
    )
    for code in (0, 0, 70169, None):
        ApiCall.objects.create(
            job=job,
            api="multiaccount_import",
            account_count=100,
            error_code=code,
            created_at=timezone.now(),
        )

    # The counts are the dashboard's, cached 15 s (in Redis, across tests).
    cache.delete("imadmin:account-summary")
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")

    assert answer.status_code == 200
    found = samples(answer)
    assert found[("imadmin_accounts", frozenset({("state", "imported")}))] == 3
    assert found[("imadmin_accounts", frozenset({("state", "failed")}))] == 1
    assert found[("imadmin_jobs", frozenset({("status", "running")}))] == 1
    assert found[("imadmin_jobs", frozenset({("status", "done")}))] == 1

    def calls(code):
        labels = {("api", "multiaccount_import"), ("error_code", code)}
        return found[("imadmin_api_calls_recent", frozenset(labels))]

    assert (calls("0"), calls("70169"), calls("none")) == (2, 1, 1)
    peak = frozenset({("api", "multiaccount_import")})
    assert found[("imadmin_limiter_peak_ratio", peak)] == pytest.approx(4 / 90)
    assert found[("imadmin_queue_tasks", frozenset())] >= 0
    # The job page's rate: 200 accounts answered OK in its 10 s.
    rate = found[("imadmin_job_rate", frozenset({("job", str(job.pk))}))]
    assert rate == pytest.approx(20, rel=0.05)


def test_check_deploy_passes_with_the_production_layouts_settings():
    env = production_env(
        LOG_FORMAT="json",
        METRICS_TOKEN="a-long-random-token",
        METRICS_ALLOWED_ADDRESSES="10.0.0.0/8,192.0.2.7",
        REDIS_URL="redis://127.0.0.1:6379/5",
    )
    result = manage("check", "--deploy", "--fail-level", "WARNING", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_log_format_json_writes_one_json_object_a_line_without_usersigs():
    code = (
        "import logging; logging.getLogger('accounts.x').warning("
        "'GET /v4/x?usersig=eJwsecret&random=1')"
    )
    result = manage("shell", "-c", code, LOG_FORMAT="json")
    lines = [json.loads(line) for line in result.stderr.splitlines() if line]
    assert [(line["level"], line["logger"]) for line in lines] == [
        ("WARNING", "accounts.x")
    ], result.stderr
    assert "eJwsecret" not in result.stderr
    assert lines[0]["job_id"] is None and "usersig=" in lines[0]["message"]


def test_it_refuses_a_malformed_allowed_address_at_start():
    env = {"METRICS_ALLOWED_ADDRESSES": "10.0.0.0/8,not-an-address"}
    result = manage("check", **env)
    assert result.returncode != 0
    assert "METRICS_ALLOWED_ADDRESSES: 'not-an-address'" in result.stderr


def test_it_still_answers_metrics_with_the_broker_down(client, metrics_settings):
    metrics_settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"
    answer = client.get("/metrics", HTTP_AUTHORIZATION=f"Bearer {TOKEN}")
    found = samples(answer)
    assert answer.status_code == 200
    assert found[("imadmin_broker_up", frozenset())] == 0
    assert ("imadmin_queue_tasks", frozenset()) not in found
