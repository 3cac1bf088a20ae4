"""Every line a job writes names it; JSON lines; no UserSig or key in any line."""

import io
import json
import logging
import sys

import pytest

from accounts import conf, services
from accounts.im.client import UserSigRedactingFilter
from accounts.models import JobSource, JobStatus
from accounts.ops.logs import JobIdFilter, JsonFormatter, job_context

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def json_lines():
    """The console handler of LOG_FORMAT=json, on the root logger, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(JobIdFilter())
    handler.addFilter(UserSigRedactingFilter())
    root, urllib3 = logging.getLogger(), logging.getLogger("urllib3")
    levels = root.level, urllib3.level
    root.addHandler(handler)
    # urllib3 logs each request's URL, UserSig included, at DEBUG.
    root.setLevel(logging.DEBUG)
    urllib3.setLevel(logging.DEBUG)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.removeHandler(handler)
    root.setLevel(levels[0])
    urllib3.setLevel(levels[1])


def test_every_line_of_a_job_names_it_and_carries_no_secret(
    im_settings, run_job, json_lines
):
    job, _ = services.accounts_import_rows(
        rows=({"user_id": f"log{i:03d}"} for i in range(250)),
        source=JobSource.COMMAND,
    )
    job = run_job(job)
    assert job.status == JobStatus.DONE

    lines = json_lines()
    requests = [line for line in lines if line["logger"].startswith("urllib3")]
    transitions = [line for line in lines if line["logger"].endswith("lifecycle")]
    assert len(requests) >= 3  # one per call of 100 accounts at least
    assert {line["job_id"] for line in requests + transitions} == {job.pk}
    assert [line["message"] for line in transitions] == [
        "job started",
        "job ended: done",
    ]
    text = "\n".join(json.dumps(line) for line in lines)
    assert "usersig=[hidden]" in text
    assert conf.secret_key() not in text


def test_it_writes_a_line_as_one_json_object_with_its_job_and_exception():
    record = logging.LogRecord(
        "accounts.x", logging.ERROR, "f", 1, "boom %s", (1,), None
    )
    try:
        raise ValueError("inner")
    except ValueError:
        record.exc_info = sys.exc_info()
    with job_context(42):
        JobIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert (line["message"], line["job_id"], line["level"]) == ("boom 1", 42, "ERROR")
    assert "ValueError: inner" in line["exception"]


def test_a_line_outside_any_job_has_no_job_id():
    record = logging.LogRecord("accounts.x", logging.INFO, "f", 1, "idle", (), None)
    JobIdFilter().filter(record)
    assert (record.job_id, record.job) == (None, "")
