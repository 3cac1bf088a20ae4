"""One webhook POST: bytes out, the status code, duration and error back. No models."""

import time
from dataclasses import dataclass

import requests

CONNECT_TIMEOUT_MOST = 5.0


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, or an error sentence (never both None)."""

    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self):
        return self.status_code is not None and 200 <= self.status_code < 300


def post(url, *, headers, body, timeout):
    """POST ``body`` to ``url``; never raises for what the receiver does.

    Redirects are not followed: the receiver is the URL configured, and a
    redirect could lead a signed body somewhere else. The answer's body is
    not read.
    """
    started = time.monotonic()
    try:
        response = requests.post(
            url,
            data=body,
            headers=headers,
            timeout=(min(timeout, CONNECT_TIMEOUT_MOST), timeout),
            allow_redirects=False,
            stream=True,
        )
    except requests.Timeout:
        return Answer(None, _ms(started), f"no answer within {timeout:g} s")
    except requests.ConnectionError as exc:
        return Answer(None, _ms(started), f"could not connect: {_reason(exc)}")
    except requests.RequestException as exc:
        return Answer(None, _ms(started), f"request failed: {_reason(exc)}")
    response.close()
    error = "" if 200 <= response.status_code < 300 else _status_error(response)
    return Answer(response.status_code, _ms(started), error)


def _ms(started):
    return round((time.monotonic() - started) * 1000)


def _reason(exc):
    return str(exc.__context__ or exc)[:300]


def _status_error(response):
    if 300 <= response.status_code < 400:
        return f"answered {response.status_code} (redirects are not followed)"
    return f"answered {response.status_code}"
