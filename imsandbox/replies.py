"""What the sandbox answers: a status, a body, and how long to hold it back."""

import json
from dataclasses import dataclass


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering
    error_code: int | None = None  # for the log line


def json_reply(status, payload, **kw):
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, body, **kw)


def answer(code, info="", **extra):
    """The service's answer document: ActionStatus, ErrorCode, ErrorInfo and more."""
    return {
        "ActionStatus": "FAIL" if code else "OK",
        "ErrorCode": code,
        "ErrorInfo": info,
        **extra,
    }
