"""The test aids under /sandbox/: counters, faults, reset, drift behind the app's back.

They take no signature, so they answer only a request that names a loopback
host in its Host header (a page in a browser cannot reach them through a
rebound DNS name) and carries the token kept beside the state file
(``X-Sandbox-Token``), which only the sandbox's own user can read.

GET /sandbox/stats, GET /sandbox/accounts/{user_id} (404 if absent),
POST /sandbox/faults {field: value...}, POST /sandbox/reset {"accounts": bool},
POST /sandbox/delete {"UserIDs": [...]} (no re-import block).
"""

import hmac
import ipaddress
import json
import os
import secrets
from pathlib import Path
from urllib.parse import unquote, urlsplit

from .replies import json_reply

TOKEN_HEADER = "X-Sandbox-Token"


def token_path(state_path):
    """Where the control token of the sandbox on ``state_path`` is kept."""
    return Path(f"{state_path}.token")


def control_token(state_path):
    """The token for ``state_path``: the one already kept, or a new one (mode 0600)."""
    path = token_path(state_path)
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    token = secrets.token_urlsafe(24)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as stream:
        stream.write(token + "\n")
    return token


def loopback_host(value):
    """True when a Host header names a loopback host (any port)."""
    try:
        host = urlsplit(f"//{value}").hostname if value else None
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


class Control:
    """The /sandbox/ routes of one Sandbox."""

    def __init__(self, sandbox, *, token):
        self._sandbox = sandbox
        self._token = token

    def handle(self, method, path, body, headers):
        if not loopback_host(headers.get("Host")):
            return json_reply(403, {"error": "the Host header must be a loopback host"})
        given = headers.get(TOKEN_HEADER) or ""
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            return json_reply(
                403, {"error": f"{TOKEN_HEADER} must hold the sandbox's token"}
            )
        try:
            return self._route(method, path, body)
        except ValueError as exc:
            return json_reply(400, {"error": str(exc)})

    def _route(self, method, path, body):
        sandbox = self._sandbox
        if method == "GET" and path == "/sandbox/stats":
            return json_reply(200, sandbox.snapshot())
        if method == "GET" and path.startswith("/sandbox/accounts/"):
            user_id = unquote(path.removeprefix("/sandbox/accounts/"))
            account = sandbox.store.get(user_id)
            return json_reply(
                200 if account else 404, account or {"error": "not found"}
            )
        action = {
            "/sandbox/faults": self._faults,
            "/sandbox/reset": self._reset,
            "/sandbox/delete": self._delete,
        }.get(path)
        if action is None:
            return json_reply(404, {"error": "not found"})
        if method != "POST":
            return json_reply(405, {"error": "method not allowed"})
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        return json_reply(200, action(payload))

    def _faults(self, payload):
        return self._sandbox.set_faults(payload).as_json()

    def _reset(self, payload):
        self._sandbox.reset(accounts=bool(payload.get("accounts")))
        return self._sandbox.faults.as_json()

    def _delete(self, payload):
        ids = payload.get("UserIDs")
        if not isinstance(ids, list) or not all(isinstance(u, str) for u in ids):
            raise ValueError("UserIDs must be a list of strings")
        deleted = self._sandbox.store.delete_accounts(
            ids, now=self._sandbox.now(), block=False
        )
        return {"deleted": sorted(deleted)}
