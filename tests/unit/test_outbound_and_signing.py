"""The URL rules of outbound requests, and the webhook signature (no database)."""

import hashlib
import hmac
from types import SimpleNamespace

import pytest

from accounts.notifications.signing import signature, signature_valid, signed_headers
from accounts.outbound import OutboundRefused, fetch_check, url_check
from accounts.scheduled.fetch import _Download


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body():
    body = b'{"event":"job.done"}'
    expected = hmac.new(b"s3cret", b"1767225600." + body, hashlib.sha256).hexdigest()
    assert signature("s3cret", 1767225600, body) == "sha256=" + expected
    assert signature_valid("s3cret", 1767225600, body, "sha256=" + expected)
    assert not signature_valid("s3cret", 1767225601, body, "sha256=" + expected)
    assert not signature_valid("other", 1767225600, body, "sha256=" + expected)
    assert not signature_valid("s3cret", 1767225600, body, None)


def test_the_headers_name_the_event_and_the_signed_timestamp():
    headers = signed_headers(secret="k", event="job.stopped", timestamp=5, body=b"{}")
    assert headers["X-Imadmin-Event"] == "job.stopped"
    assert headers["X-Imadmin-Timestamp"] == "5"
    assert headers["X-Imadmin-Signature"] == signature("k", 5, b"{}")
    assert "k" not in headers.values()


@pytest.mark.parametrize(
    "url, port",
    [("https://hooks.example.com/a", 443), ("https://hooks.example.com:8443/", 8443)],
)
def test_https_is_accepted_anywhere(settings, url, port):
    settings.OUTBOUND_HTTP_LOOPBACK = False
    assert url_check(url) == ("hooks.example.com", port)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000/x", "http://localhost/x", "http://[::1]:9/"]
)
def test_plain_http_only_to_loopback_and_only_when_allowed(settings, url):
    settings.OUTBOUND_HTTP_LOOPBACK = True
    url_check(url)
    settings.OUTBOUND_HTTP_LOOPBACK = False
    with pytest.raises(OutboundRefused, match="must use https://"):
        url_check(url)


@pytest.mark.parametrize(
    "url",
    ["http://10.0.0.5/x", "http://example.com/", "file:///etc/passwd", "https:///x"],
)
def test_anything_else_is_refused(settings, url):
    settings.OUTBOUND_HTTP_LOOPBACK = True
    with pytest.raises(OutboundRefused):
        url_check(url)


@pytest.mark.parametrize(
    "url, listed, says",
    [
        ("https://127.0.0.1/u.csv", ["files.example.com"], "not in SCHEDULED"),
        ("https://localhost/u.csv", ["localhost"], "internal address"),
        ("https://10.1.2.3/u.csv", ["10.1.2.3"], None),  # the address itself
        ("https://169.254.169.254/", ["169.254.169.254"], None),
        ("https://[::1]/u.csv", ["::1"], None),
    ],
)
def test_a_fetch_needs_a_listed_host_and_names_its_internal_addresses(
    settings, url, listed, says
):
    settings.OUTBOUND_HTTP_LOOPBACK = False
    if says is None:
        fetch_check(url, listed)
        return
    with pytest.raises(OutboundRefused, match=says):
        fetch_check(url, listed)


def test_a_listed_network_admits_the_names_that_resolve_into_it(settings):
    fetch_check("https://localhost/u.csv", ["localhost", "127.0.0.0/8", "::1"])


def test_the_readmes_receiver_snippet_verifies_a_signed_body():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    after = readme.split("A receiver checks it like this", 1)[1]
    snippet = after.split("```python\n", 1)[1].split("```", 1)[0]
    namespace = {}
    exec(snippet, namespace)  # the README's own code, as a receiver would run it
    body = b'{"event":"job.done","job":{"id":1}}'
    headers = signed_headers(secret="k" * 20, event="job.done", timestamp=9, body=body)
    assert namespace["verified"]("k" * 20, headers, body)
    assert not namespace["verified"]("k" * 20, headers, body + b" ")


@pytest.mark.parametrize(
    "length, size", [("1234", 1234), ("²", None), ("-5", None), ("", None)]
)
def test_a_downloads_size_is_read_strictly_from_its_content_length(length, size):
    response = SimpleNamespace(headers={"Content-Length": length})
    assert _Download(response, "users.csv").size == size
