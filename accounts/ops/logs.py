"""Log lines that name their job, and JSON lines for a log collector.

The pipeline wraps the work it does for one job in ``job_context(job_id)``;
``JobIdFilter`` (on the console handler) copies that id onto every record
written meanwhile, whichever logger wrote it. Context variables are per
thread, so each sender thread names the job of the unit it is sending.

``JsonFormatter`` is a dozen lines of the standard library rather than a
dependency: the fields are fixed (time, level, logger, message, job_id,
exception) and a collector needs nothing more.
"""

import json
import logging
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

_job_id = ContextVar("imadmin_job_id", default=None)


@contextmanager
def job_context(job_id):
    """Mark every log line written inside as written for job ``job_id``."""
    token = _job_id.set(job_id)
    try:
        yield
    finally:
        _job_id.reset(token)


def current_job_id():
    """The job the current thread works for, or None."""
    return _job_id.get()


class JobIdFilter(logging.Filter):
    """Sets ``record.job_id`` (or None) and ``record.job`` (`` job=N`` or "")."""

    def filter(self, record):
        job_id = getattr(record, "job_id", None) or _job_id.get()
        record.job_id = job_id
        record.job = f" job={job_id}" if job_id is not None else ""
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, job_id, exception."""

    def format(self, record):
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "job_id": getattr(record, "job_id", None),
        }
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        return json.dumps(line, ensure_ascii=False, default=str)
