"""The sandbox over HTTP: a threading server on loopback, one log line a call."""

import logging
import re
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from .replies import json_reply
from .service import Sandbox

MAX_BODY_BYTES = 1 << 20  # 100 accounts with 500-byte profiles fit ten times over
_USERSIG = re.compile(r"(usersig=)[^&\s]+", re.IGNORECASE)


class RedactUserSig(logging.Filter):
    """Keeps a UserSig out of the log: every ``usersig=`` value is starred out."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: the handler reports it
            return True
        if "usersig=" in message.lower():
            record.msg, record.args = _USERSIG.sub(r"\1***", message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = _USERSIG.sub(r"\1***", text)
        return True


log = logging.getLogger(__name__)
log.addFilter(RedactUserSig())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: every answer has a Content-Length
    disable_nagle_algorithm = True  # headers and body leave as two small writes
    timeout = 120  # an idle keep-alive connection frees its thread after this
    server_version = "im-sandbox"
    sys_version = ""

    def _serve(self):
        started = time.monotonic()
        reply = self._reply()
        if reply.delay:
            time.sleep(reply.delay)
        if self._send(reply):
            self._log_call(reply, started)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def _reply(self):
        length = self.headers.get("Content-Length")
        if length is None and self.command == "POST":
            # A chunked body is not supported, and its unread rest would be
            # taken for the next request: answer, then close.
            self.close_connection = True
            return json_reply(411, {"error": "Content-Length is required"})
        length = length or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            return json_reply(413, {"error": f"at most {MAX_BODY_BYTES} bytes"})
        body = self.rfile.read(int(length))
        try:
            return self.server.sandbox.handle(
                self.command, self.path, body, self.headers
            )
        except Exception:
            log.exception("%s %s failed", self.command, self.path)
            return json_reply(500, {"error": "sandbox error, see its log"})

    def _send(self, reply):
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            self.wfile.write(reply.body)
            return True
        except OSError:  # the client gave up first, e.g. on a late reply
            self.close_connection = True
            log.info("%s %s: the client left before the reply", self.command, self.path)
            return False

    def _log_call(self, reply, started):
        level = logging.DEBUG if self.path.startswith("/sandbox/") else logging.INFO
        if log.isEnabledFor(level):
            code = "" if reply.error_code is None else f" ErrorCode {reply.error_code}"
            ms = (time.monotonic() - started) * 1000
            log.log(
                level,
                "%s %s %s%s %.0f ms",
                self.command,
                self.path,
                reply.status,
                code,
                ms,
            )

    def log_request(self, code="-", size="-"):
        pass  # _log_call logs each call once, with its ErrorCode

    def log_message(self, format, *args):
        log.info("%s %s", self.address_string(), format % args)


class SandboxServer(ThreadingHTTPServer):
    """The HTTP server; one daemon thread per connection."""

    daemon_threads = True
    request_queue_size = 128  # many workers connect at once when a job starts

    def __init__(self, address, sandbox):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)
        self.sandbox = sandbox

    @property
    def url(self):
        host, port = self.server_address[:2]
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{port}"

    def handle_error(self, request, client_address):
        log.exception("error serving %s", client_address)

    def server_close(self):
        super().server_close()
        self.sandbox.close()


def make_server(config, host="127.0.0.1", port=0):
    """A bound SandboxServer (port 0: a free one); call ``serve_forever``."""
    return SandboxServer((host, port), Sandbox(config))
