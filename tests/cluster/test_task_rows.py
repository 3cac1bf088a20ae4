"""django-q2 keeps no row of a successful task (save_limit -1) and every failed one."""

import time

import pytest
from django_q.models import Failure, Success
from django_q.tasks import async_task

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.cluster]


def test_a_real_cluster_keeps_failed_tasks_only(qcluster):
    cluster = qcluster(workers=1)
    for _ in range(3):
        async_task("math.floor", 1.5)
    async_task("math.sqrt", -1)  # ValueError: math domain error
    deadline = time.monotonic() + 60
    while not Failure.objects.exists():
        assert time.monotonic() < deadline, cluster.log_text()
        time.sleep(0.2)
    time.sleep(1)  # the monitor saves results in order: the successes came first

    assert Success.objects.count() == 0
    failed = Failure.objects.get()
    assert (failed.func, "math domain error" in failed.result) == ("math.sqrt", True)
    assert cluster.log_text().count("Processed 'math.floor'") == 3
