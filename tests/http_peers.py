"""Real HTTP peers on loopback for the tests: a webhook receiver and a file server.

Each runs a ThreadingHTTPServer in a thread of the test process; use them as
context managers. The receiver verifies each delivery's signature the way the
README tells a receiver to.
"""

import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def signature_ok(secret, headers, body):
    """The README's check: HMAC-SHA256 of "<timestamp>.<body>" with the secret."""
    timestamp = headers.get("X-Imadmin-Timestamp", "")
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(
        "sha256=" + expected, headers.get("X-Imadmin-Signature", "")
    )


@dataclass
class Received:
    at: float  # time.time() when the request arrived
    headers: dict
    body: bytes
    signature_ok: bool


@dataclass
class _Peer:
    server: ThreadingHTTPServer = None
    thread: threading.Thread = None

    @property
    def url(self):
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


@dataclass
class Receiver(_Peer):
    """Answers POSTs with ``statuses`` in turn (then 200), after ``delay`` seconds.

    With ``fail_first``, the first that many deliveries of each job get 500.
    """

    secret: str = ""
    statuses: list = field(default_factory=list)
    delay: float = 0.0
    fail_first: int = 0
    received: list = field(default_factory=list)

    def _status(self, body):
        if self.statuses:
            return self.statuses.pop(0)
        if self.fail_first:
            job_id = json.loads(body)["job"]["id"]
            seen = sum(json.loads(r.body)["job"]["id"] == job_id for r in self.received)
            return 500 if seen <= self.fail_first else 200
        return 200

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                arrived = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = dict(self.headers.items())
                ok = signature_ok(peer.secret, headers, body)
                peer.received.append(Received(arrived, headers, body, ok))
                status = peer._status(body)
                time.sleep(peer.delay)
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        return Handler


@dataclass
class FileServer(_Peer):
    """Serves ``files`` (path → bytes) to GETs; ``redirects`` (path → URL) as 302."""

    files: dict = field(default_factory=dict)
    redirects: dict = field(default_factory=dict)
    requests: list = field(default_factory=list)

    def _handler(self):
        peer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                peer.requests.append(self.path)
                if self.path in peer.redirects:
                    self.send_response(302)
                    self.send_header("Location", peer.redirects[self.path])
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = peer.files.get(self.path)
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        return Handler
