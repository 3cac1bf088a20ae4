"""/readyz names what is wrong: wrong IM credentials, a stopped worker cluster,
a stopped Redis, each in turn, with gunicorn, a real cluster and a private
redis-server (never the shared one)."""

import os
import time

import pytest
import requests

from tests.fixtures_pipeline import database_url

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def web_env(sandbox, redis_url, **overrides):
    env = {k: v for k, v in os.environ.items() if not k.startswith("IM_")}
    env.update(
        DATABASE_URL=database_url(),
        REDIS_URL=redis_url,
        IM_API_BASE_URL=sandbox.url,
        IM_READ_TIMEOUT="5",
    )
    env.update(overrides)
    return env


def readyz(server):
    answer = requests.get(f"{server.url}/readyz", timeout=30)
    checks = answer.json()["checks"]
    return answer.status_code, {name: c["status"] for name, c in checks.items()}, checks


def wait_for(server, expected, timeout=30):
    """Poll /readyz until its checks' statuses are ``expected``."""
    deadline = time.monotonic() + timeout
    while True:
        status, found, checks = readyz(server)
        if found == expected or time.monotonic() > deadline:
            return status, found, checks
        time.sleep(0.5)


ALL_OK = {"database": "ok", "broker": "ok", "workers": "ok", "im": "ok"}


def test_it_names_wrong_credentials_a_stopped_cluster_and_a_stopped_redis(
    sandbox, qcluster, redis_server, web_server
):
    redis = redis_server()
    cluster = qcluster(workers=1, REDIS_URL=redis.url)
    web = web_server(web_env(sandbox, redis.url))
    assert wait_for(web, ALL_OK)[:2] == (200, ALL_OK), cluster.log_text()

    wrong = web_server(web_env(sandbox, redis.url, IM_SECRET_KEY="not-the-key"))
    status, found, checks = wait_for(wrong, {**ALL_OK, "im": "failed"})
    assert (status, found) == (503, {**ALL_OK, "im": "failed"})
    assert checks["im"]["detail"].startswith("IM answered error 70009")
    assert "not-the-key" not in str(checks)

    cluster.stop()
    status, found, checks = wait_for(web, {**ALL_OK, "workers": "failed"})
    assert (status, found) == (503, {**ALL_OK, "workers": "failed"})
    assert "no worker cluster" in checks["workers"]["detail"]

    redis.stop()
    broken = {**ALL_OK, "broker": "failed", "workers": "failed"}
    status, found, checks = wait_for(web, broken)
    assert (status, found) == (503, broken)
    assert checks["broker"]["detail"].startswith("Redis does not answer")
    assert checks["workers"]["detail"] == "not checked: the broker check failed"
