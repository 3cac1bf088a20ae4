"""A local stand-in for Tencent IM's account API, for tests, benches and laptops.

It serves ``POST /v4/im_open_login_svc/{api}`` for account_import,
multiaccount_import, account_check and account_delete over plain HTTP on
loopback, checks the query string and the UserSig as the service does, enforces
the documented per-second limits, keeps accounts in a SQLite file and injects
faults on demand. It knows nothing of Django: ``manage.py im_sandbox`` builds a
``SandboxConfig`` and calls ``make_server``.

Where the real service is undocumented, the sandbox chooses (change it here):

- A URL ``sdkappid`` other than the one app it holds answers 70020 ("SDKAppID
  not found in this region"). A missing ``sdkappid`` answers 60012; a non-numeric
  one, a missing ``identifier``, a ``random`` outside 0..4294967295 or a
  ``contenttype`` other than ``json`` answer 60025. A missing ``usersig`` is 70002.
- The UserSig is verified against the URL's identifier (70013) and SDKAppID
  (70014); a valid UserSig of an identifier that is not the admin answers 70403.
  The 70050 lock after many bad signatures is not simulated.
- A method other than POST on an API path answers 60002; another path under
  /v4/ answers 60009.
- Only calls that pass those checks count toward the limits; a call over its
  API's limit for the current wall-clock second answers 60007, unapplied.
- A batch count of 0 or over 100 answers 70206; a missing list or UserID 70402;
  a value of the wrong JSON type 60015; a UserID that is not 1-32 bytes of UTF-8
  70402 (any characters: the service's charset is undocumented); Nick or
  FaceUrl over 500 bytes 40601.
- A multiaccount_import naming a UserID deleted within the block period fails
  whole with 70399 and applies nothing; the pipeline isolates such accounts by
  sending them one by one.
- With an account limit, a batch whose new accounts would cross it fails whole
  with 70398 and applies nothing; the pipeline settles it with account_check.
- account_import of an existing account updates the Nick/FaceUrl it carries,
  as the new multiaccount_import form does; the old ``Accounts`` form changes no
  profile. In a batch, a repeated UserID counts once and its last entry wins.
- Faults are drawn after a call is authenticated, admitted and validated, so a
  refused or invalid call always answers its own code.

One process owns a state file: two sandboxes on the same file are unsupported.
"""

import json
import logging
import random
import socket
import sqlite3
import threading
import time
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple
from urllib.parse import parse_qsl, unquote

from .client import API_PATH, MAX_ITEMS_PER_CALL, RATE_LIMITS, UserSigRedactingFilter
from .usersig import UserSigInvalid, verify_usersig
from .validation import PROFILE_MAX_BYTES, USERID_MAX_BYTES, byte_length

log = logging.getLogger(__name__)
log.addFilter(UserSigRedactingFilter())

API_NAMES = tuple(RATE_LIMITS)
API_PREFIX = f"/{API_PATH}/"
MAX_BODY_BYTES = 1 << 20  # 100 accounts with 500-byte profiles fit ten times over
MAX_RANDOM = 2**32 - 1
VERIFIED_SIGS_KEPT = 256
RATE_HISTORY_KEPT = 600
BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center></body></html>"
)


@dataclass(frozen=True)
class Faults:
    """The knobs that can change at runtime: faults, the account cap, the limits."""

    latency_ms: int = 0
    fault_rate: float = 0.0
    fault_codes: tuple = (70169, 70202, 70500)
    http_502_rate: float = 0.0
    late_reply_rate: float = 0.0
    late_reply_ms: int = 15000
    fail_accounts_rate: float = 0.0
    fault_apis: tuple = API_NAMES  # the APIs the random faults apply to
    account_limit: int | None = None
    delete_block_seconds: int = 90 * 86400
    rate_scale: float = 1.0  # a testing aid: multiplies the documented limits

    def updated(self, changes):
        """A copy with ``changes`` (a dict) applied; ValueError names a bad one."""
        known = {f.name for f in fields(self)}
        clean = {}
        for name, value in changes.items():
            if name not in known:
                raise ValueError(f"unknown setting {name!r}")
            try:
                clean[name] = _FAULT_CHECKS[name](value)
            except (TypeError, ValueError, OverflowError) as exc:
                raise ValueError(f"{name}: {exc}") from None
        return replace(self, **clean)

    def as_json(self):
        return asdict(self)


def _probability(value):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError("must be between 0 and 1")
    return value


def _count(value):
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError("must be a whole number, 0 or more")
    return int(value)


def _codes(value):
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of codes")
    codes = tuple(int(code) for code in value)
    if not codes:
        raise ValueError("must list at least one code")
    return codes


def _apis(value):
    if not isinstance(value, list | tuple):
        raise ValueError("must be a list of API names")
    apis = tuple(value)
    if not set(apis) <= set(API_NAMES):
        raise ValueError(f"must be among {', '.join(API_NAMES)}")
    return apis


def _scale(value):
    value = float(value)
    if not 0 < value <= 1000:
        raise ValueError("must be above 0 and at most 1000")
    return value


_FAULT_CHECKS = {
    "latency_ms": _count,
    "fault_rate": _probability,
    "fault_codes": _codes,
    "http_502_rate": _probability,
    "late_reply_rate": _probability,
    "late_reply_ms": _count,
    "fail_accounts_rate": _probability,
    "fault_apis": _apis,
    "account_limit": lambda v: None if v is None else _count(v),
    "delete_block_seconds": _count,
    "rate_scale": _scale,
}


@dataclass(frozen=True)
class SandboxConfig:
    sdkappid: int
    secret_key: str = field(repr=False)
    identifier: str
    state_path: str
    faults: Faults = Faults()
    rate_log_path: str | None = None
    seed: int | None = None


class ApiError(Exception):
    """A whole-call failure: the answer's ErrorCode and ErrorInfo."""

    def __init__(self, code, info):
        super().__init__(f"{code} {info}")
        self.code = code
        self.info = info


class Entry(NamedTuple):
    user_id: str
    nick: str | None = None  # None: leave the stored value as it is
    face_url: str | None = None


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    delay: float = 0.0  # seconds to wait before answering
    error_code: int | None = None  # for the log line


# -- request parsing ----------------------------------------------------------


def _json_object(body):
    try:
        payload = json.loads(body)
    except ValueError:  # also UnicodeDecodeError
        raise ApiError(60003, "the request body is not JSON") from None
    if not isinstance(payload, dict):
        raise ApiError(60015, "the request body must be a JSON object")
    return payload


def _size(value, name):
    if not isinstance(value, str):
        raise ApiError(60015, f"{name} must be a string")
    if value.isascii():  # the common case, and O(1) to know
        return len(value)
    try:
        return byte_length(value)
    except UnicodeEncodeError:  # a lone surrogate from a \\ud800 escape
        raise ApiError(70402, f"{name} is not valid UTF-8") from None


def _user_id(value):
    if not 1 <= _size(value, "UserID") <= USERID_MAX_BYTES:
        raise ApiError(70402, f"UserID must be 1 to {USERID_MAX_BYTES} bytes")
    return value


def _profile(item, name):
    value = item.get(name)
    if value is None:
        return None
    if _size(value, name) > PROFILE_MAX_BYTES:
        raise ApiError(40601, f"{name} is over {PROFILE_MAX_BYTES} bytes")
    return value


def _batch(payload, key):
    if key not in payload:
        raise ApiError(70402, f"{key} is required")
    items = payload[key]
    if not isinstance(items, list):
        raise ApiError(60015, f"{key} must be an array")
    if not 1 <= len(items) <= MAX_ITEMS_PER_CALL:
        raise ApiError(
            70206, f"{key} must hold 1 to {MAX_ITEMS_PER_CALL} items, not {len(items)}"
        )
    return items


def _account(item):
    if not isinstance(item, dict):
        raise ApiError(60015, "each account must be a JSON object")
    if "UserID" not in item:
        raise ApiError(70402, "UserID is required")
    return Entry(
        _user_id(item["UserID"]), _profile(item, "Nick"), _profile(item, "FaceUrl")
    )


def _unique(entries):
    return list({entry.user_id: entry for entry in entries}.values())


def parse_account_import(payload):
    return [_account(payload)]


def parse_multiaccount_import(payload):
    if "AccountList" in payload:
        return _unique(_account(item) for item in _batch(payload, "AccountList"))
    if "Accounts" in payload:
        return _unique(Entry(_user_id(u)) for u in _batch(payload, "Accounts"))
    raise ApiError(70402, "Accounts or AccountList is required")


def _user_id_items(payload, key):
    return [_account(item).user_id for item in _batch(payload, key)]


def parse_account_check(payload):
    return _user_id_items(payload, "CheckItem")


def parse_account_delete(payload):
    return _user_id_items(payload, "DeleteItem")


# -- state ----------------------------------------------------------------------


_SCHEMA = """
CREATE TABLE IF NOT EXISTS accounts (
    user_id TEXT PRIMARY KEY, nick TEXT NOT NULL, face_url TEXT NOT NULL,
    imported_at REAL NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS deletion_blocks (
    user_id TEXT PRIMARY KEY, deleted_at REAL NOT NULL) WITHOUT ROWID;
"""
# A NULL profile value means "not sent": keep what is stored.
_UPSERT = """
INSERT INTO accounts (user_id, nick, face_url, imported_at)
VALUES (?1, COALESCE(?2, ''), COALESCE(?3, ''), ?4)
ON CONFLICT (user_id) DO UPDATE SET
    nick = COALESCE(?2, nick), face_url = COALESCE(?3, face_url)
"""


def _marks(values):
    return ",".join("?" * len(values))


class AccountStore:
    """Accounts and deletion blocks in one SQLite file; one connection, one lock.

    Every write is one transaction, so a batch is applied whole or not at all.
    """

    def __init__(self, path):
        self._lock = threading.Lock()
        self._conn = sqlite3.connect(
            path, isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # WAL with NORMAL loses at most the last commits on power loss: fine here.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self._recount()

    def _recount(self):
        self._count = self._scalar("SELECT COUNT(*) FROM accounts")
        self._block_rows = self._scalar("SELECT COUNT(*) FROM deletion_blocks")

    def close(self):
        with self._lock:
            self._conn.close()

    @property
    def count(self):
        return self._count

    @contextmanager
    def _transaction(self):
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._conn.execute("ROLLBACK")
                self._recount()
                raise
            self._conn.execute("COMMIT")

    def _scalar(self, sql, *params):
        return self._conn.execute(sql, params).fetchone()[0]

    def _ids(self, sql, ids, *params):
        rows = self._conn.execute(sql.format(marks=_marks(ids)), [*ids, *params])
        return {row[0] for row in rows}

    def import_accounts(self, entries, *, now, blocked_since, limit):
        """Upsert all ``entries`` or none of them.

        Returns ``(blocked, over_limit)``: the UserIDs deleted after
        ``blocked_since``, and whether the new accounts would cross ``limit``.
        Nothing is written unless both are empty/False.
        """
        ids = [entry.user_id for entry in entries]
        if not ids:
            return set(), False
        with self._transaction():
            blocked = self._blocked(ids, blocked_since)
            if blocked:
                return blocked, False
            existing = self._ids(
                "SELECT user_id FROM accounts WHERE user_id IN ({marks})", ids
            )
            new = len(ids) - len(existing)
            if limit is not None and self._count + new > limit:
                return set(), True
            self._conn.executemany(_UPSERT, [(*entry, now) for entry in entries])
            self._count += new
        return set(), False

    def _blocked(self, ids, since):
        if not self._block_rows:  # the usual case: skip the query
            return set()
        sql = "SELECT user_id FROM deletion_blocks WHERE user_id IN ({marks})"
        return self._ids(sql + " AND deleted_at > ?", ids, since)

    def existing(self, ids):
        """The subset of ``ids`` that is imported."""
        with self._lock:
            return self._ids(
                "SELECT user_id FROM accounts WHERE user_id IN ({marks})", ids
            )

    def delete_accounts(self, ids, *, now, block):
        """Delete ``ids``, return those that existed; ``block`` records blocks."""
        with self._transaction():
            deleted = self._ids(
                "DELETE FROM accounts WHERE user_id IN ({marks}) RETURNING user_id", ids
            )
            if block and deleted:
                self._conn.executemany(
                    "INSERT OR REPLACE INTO deletion_blocks VALUES (?, ?)",
                    [(user_id, now) for user_id in deleted],
                )
                self._block_rows = self._scalar("SELECT COUNT(*) FROM deletion_blocks")
            self._count -= len(deleted)
        return deleted

    def get(self, user_id):
        """The stored account as a dict, or None."""
        with self._lock:
            row = self._conn.execute(
                "SELECT user_id, nick, face_url, imported_at FROM accounts"
                " WHERE user_id = ?",
                (user_id,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("UserID", "Nick", "FaceUrl", "imported_at"), row, strict=True))

    def blocked_count(self, since):
        with self._lock:
            return self._scalar(
                "SELECT COUNT(*) FROM deletion_blocks WHERE deleted_at > ?", since
            )

    def wipe(self):
        with self._transaction():
            self._conn.execute("DELETE FROM accounts")
            self._conn.execute("DELETE FROM deletion_blocks")
            self._count = self._block_rows = 0


# -- counters -------------------------------------------------------------------


class RateCounter:
    """Admits calls per API per wall-clock second (``int(time)``), up to a limit.

    Finished seconds go to a bounded history and, with a log path, one JSON line
    per API and second: ``{"second", "api", "calls", "refused"}``.
    """

    def __init__(self, log_path=None):
        self._lock = threading.Lock()
        self._log = (
            open(log_path, "a", buffering=1, encoding="utf-8") if log_path else None
        )
        self._current = {}  # api -> [second, calls, refused]
        self._history = deque(maxlen=RATE_HISTORY_KEPT)
        self._max = {api: [0, 0] for api in API_NAMES}

    def admit(self, api, limit, now):
        """True if the call is within ``limit`` for the current second."""
        second = int(now)
        with self._lock:
            current = self._current.get(api)
            if current is None or current[0] != second:
                if current is not None:
                    self._finish(api, current)
                current = self._current[api] = [second, 0, 0]
            admitted = current[1] < limit
            current[1 if admitted else 2] += 1
            peak = self._max[api]
            peak[0], peak[1] = max(peak[0], current[1]), max(peak[1], current[2])
            return admitted

    def flush(self, now):
        """Close the seconds before ``now``, so the log follows the clock."""
        with self._lock:
            for api, current in list(self._current.items()):
                if current[0] < int(now):
                    self._finish(api, current)
                    del self._current[api]

    def _finish(self, api, current):
        record = {
            "second": current[0],
            "api": api,
            "calls": current[1],
            "refused": current[2],
        }
        self._history.append(record)
        if self._log:
            self._log.write(json.dumps(record) + "\n")

    def snapshot(self):
        with self._lock:
            live = [
                {"second": c[0], "api": api, "calls": c[1], "refused": c[2]}
                for api, c in self._current.items()
            ]
            return {api: tuple(peak) for api, peak in self._max.items()}, [
                *self._history,
                *live,
            ]

    def reset(self, now):
        self.flush(now + 1)  # the calls happened: log them before forgetting
        with self._lock:
            self._history.clear()
            self._max = {api: [0, 0] for api in API_NAMES}

    def close(self, now):
        self.flush(now + 1)
        if self._log:
            self._log.close()


class Stats:
    """Per-API totals: calls, outcomes by ErrorCode and fault counts."""

    def __init__(self):
        self._lock = threading.Lock()
        self.reset()

    def reset(self):
        with self._lock:
            self._counts = {api: Counter() for api in API_NAMES}
            self._codes = {api: Counter() for api in API_NAMES}

    def add(self, api, key, n=1):
        with self._lock:
            self._counts[api][key] += n

    def answered(self, api, code):
        with self._lock:
            self._codes[api][code] += 1

    def snapshot(self):
        with self._lock:
            result = {}
            for api in API_NAMES:
                counts, codes = self._counts[api], self._codes[api]
                result[api] = {
                    "calls": counts["calls"],
                    "ok": codes[0],
                    "refused_rate_limit": codes[60007],
                    "errors": {str(c): n for c, n in sorted(codes.items()) if c},
                    "http_502": counts["http_502"],
                    "late_replies": counts["late_replies"],
                    "fail_accounts": counts["fail_accounts"],
                }
            return result


# -- the service ----------------------------------------------------------------


def _json_reply(status, payload, **kw):
    body = json.dumps(payload, ensure_ascii=False).encode()
    return Reply(status, body, **kw)


def _answer(code, info="", **extra):
    return {
        "ActionStatus": "FAIL" if code else "OK",
        "ErrorCode": code,
        "ErrorInfo": info,
        **extra,
    }


class Sandbox:
    """The service without HTTP: ``handle(method, target, body)`` returns a Reply."""

    def __init__(self, config, *, clock=time.time):
        self.config = config
        self._clock = clock
        self._faults = config.faults
        self._random = random.Random(config.seed)
        self._verified = {}  # (usersig, identifier) -> claims
        self.store = AccountStore(config.state_path)
        self.rates = RateCounter(config.rate_log_path)
        self.stats = Stats()
        self._closed = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="rate-log", daemon=True)
        self._ticker.start()
        self._endpoints = {
            "account_import": (parse_account_import, self._account_import),
            "multiaccount_import": (
                parse_multiaccount_import,
                self._multiaccount_import,
            ),
            "account_check": (parse_account_check, self._account_check),
            "account_delete": (parse_account_delete, self._account_delete),
        }

    def _tick(self):
        while not self._closed.wait(0.5):
            self.rates.flush(self._clock())

    def close(self):
        self._closed.set()
        self.rates.close(self._clock())
        self.store.close()

    @property
    def faults(self):
        return self._faults

    def set_faults(self, changes):
        """Apply runtime changes (dict); ValueError if one is unknown or invalid."""
        self._faults = self._faults.updated(changes)
        return self._faults

    def reset(self, *, accounts=False):
        """Back to the start-up faults, counters cleared; ``accounts`` wipes state."""
        self._faults = self.config.faults
        self._random.seed(self.config.seed)
        self.rates.reset(self._clock())
        self.stats.reset()
        if accounts:
            self.store.wipe()

    def handle(self, method, target, body):
        path, _, query = target.partition("?")
        if path.startswith("/sandbox/"):
            return self._control(method, path, body)
        api = path.removeprefix(API_PREFIX)
        if api in self._endpoints:
            return self._api(method, api, query, body)
        if path.startswith("/v4/"):
            return _json_reply(200, _answer(60009, "no such API"), error_code=60009)
        return _json_reply(404, {"error": "not found"})

    # -- the four APIs ----------------------------------------------------------

    def _api(self, method, api, query, body):
        faults = self._faults  # one snapshot a call: a change applies to the next
        self.stats.add(api, "calls")
        delay = faults.latency_ms / 1000
        try:
            request = self._accept(method, api, query, body, faults)
            if self._fault(api, faults.http_502_rate, faults):
                self.stats.add(api, "http_502")
                return Reply(502, BAD_GATEWAY_HTML, "text/html", delay, 502)
            if self._fault(api, faults.fault_rate, faults):
                code = self._random.choice(faults.fault_codes)
                raise ApiError(code, "injected fault: try again later")
            extra = self._endpoints[api][1](request, faults)
            if self._fault(api, faults.late_reply_rate, faults):
                self.stats.add(api, "late_replies")
                delay += faults.late_reply_ms / 1000
            code, info = 0, ""
        except ApiError as exc:
            code, info, extra = exc.code, exc.info, {}
        self.stats.answered(api, code)
        answer = _answer(code, info, **extra)
        return _json_reply(200, answer, delay=delay, error_code=code)

    def _accept(self, method, api, query, body, faults):
        """The parsed request once the call may proceed, else ApiError."""
        if method != "POST":
            raise ApiError(60002, "API calls must be POST")
        self._authenticate(query)
        limit = _limit(api, faults)
        if not self.rates.admit(api, limit, self._clock()):
            raise ApiError(60007, f"over {limit} calls a second to {api}")
        return self._endpoints[api][0](_json_object(body))

    def _fault(self, api, probability, faults):
        if api not in faults.fault_apis or probability <= 0:
            return False
        return self._random.random() < probability

    def _account_import(self, entries, faults):
        self._import(entries, faults)
        return {}

    def _multiaccount_import(self, entries, faults):
        api = "multiaccount_import"
        rate = faults.fail_accounts_rate
        failed = [e.user_id for e in entries if self._fault(api, rate, faults)]
        if failed:
            self.stats.add(api, "fail_accounts", len(failed))
            failed_set = set(failed)
            entries = [e for e in entries if e.user_id not in failed_set]
        self._import(entries, faults)
        return {"FailAccounts": failed}

    def _import(self, entries, faults):
        now = self._clock()
        blocked, over_limit = self.store.import_accounts(
            entries,
            now=now,
            blocked_since=now - faults.delete_block_seconds,
            limit=faults.account_limit,
        )
        if blocked:
            days = faults.delete_block_seconds / 86400
            ids = ", ".join(sorted(blocked))
            raise ApiError(70399, f"deleted less than {days:g} days ago: {ids}")
        if over_limit:
            raise ApiError(70398, f"the app's limit of {faults.account_limit} accounts")

    def _account_check(self, ids, faults):
        existing = self.store.existing(ids)
        items = [
            {
                "UserID": user_id,
                "ResultCode": 0,
                "ResultInfo": "",
                "AccountStatus": "Imported" if user_id in existing else "NotImported",
            }
            for user_id in ids
        ]
        return {"ResultItem": items}

    def _account_delete(self, ids, faults):
        deleted = self.store.delete_accounts(ids, now=self._clock(), block=True)
        items = []
        for user_id in ids:
            if user_id in deleted:
                items.append({"UserID": user_id, "ResultCode": 0, "ResultInfo": ""})
            else:
                info = "Err_TLS_PT_Open_Login_Account_Not_Exist"
                items.append(
                    {"UserID": user_id, "ResultCode": 70107, "ResultInfo": info}
                )
        return {"ResultItem": items}

    # -- authentication ---------------------------------------------------------

    def _authenticate(self, query):
        params = dict(parse_qsl(query, keep_blank_values=True))
        sdkappid = params.get("sdkappid")
        if not sdkappid:
            raise ApiError(60012, "sdkappid is missing")
        if not sdkappid.isdigit():
            raise ApiError(60025, "sdkappid must be a number")
        if int(sdkappid) != self.config.sdkappid:
            raise ApiError(70020, "this SDKAppID is not found in this region")
        identifier = params.get("identifier")
        if not identifier:
            raise ApiError(60025, "identifier is missing")
        _check_random(params.get("random"))
        if params.get("contenttype") != "json":
            raise ApiError(60025, "contenttype must be json")
        self._verify(params.get("usersig", ""), identifier)
        if identifier != self.config.identifier:
            raise ApiError(70403, "the identifier is not an app admin")

    def _verify(self, usersig, identifier):
        # Decoding and the HMAC are the costly part of a call: cache the
        # claims of good signatures, but check the expiry on every use.
        now = self._clock()
        claims = self._verified.get((usersig, identifier))
        if claims is None:
            try:
                claims = verify_usersig(
                    usersig,
                    sdkappid=self.config.sdkappid,
                    secret_key=self.config.secret_key,
                    identifier=identifier,
                    now=now,
                )
            except UserSigInvalid as exc:
                raise ApiError(exc.code, exc.reason) from None
            if len(self._verified) >= VERIFIED_SIGS_KEPT:
                self._verified.clear()
            self._verified[(usersig, identifier)] = claims
        elif now > claims.time + claims.expire:
            raise ApiError(70001, "UserSig expired")

    # -- control endpoints --------------------------------------------------------

    def _control(self, method, path, body):
        try:
            return self._route_control(method, path, body)
        except ValueError as exc:
            return _json_reply(400, {"error": str(exc)})

    def _route_control(self, method, path, body):
        """The test aids; they need no signature, which is why loopback only.

        GET /sandbox/stats, GET /sandbox/accounts/{user_id} (404 if absent),
        POST /sandbox/faults {field: value...}, POST /sandbox/reset
        {"accounts": bool}, POST /sandbox/delete {"UserIDs": [...]} (no block).
        """
        if method == "GET" and path == "/sandbox/stats":
            return _json_reply(200, self.snapshot())
        if method == "GET" and path.startswith("/sandbox/accounts/"):
            account = self.store.get(unquote(path.removeprefix("/sandbox/accounts/")))
            return _json_reply(
                200 if account else 404, account or {"error": "not found"}
            )
        action = {
            "/sandbox/faults": self._post_faults,
            "/sandbox/reset": self._post_reset,
            "/sandbox/delete": self._post_delete,
        }.get(path)
        if action is None:
            return _json_reply(404, {"error": "not found"})
        if method != "POST":
            return _json_reply(405, {"error": "method not allowed"})
        payload = json.loads(body or b"{}")
        if not isinstance(payload, dict):
            raise ValueError("the body must be a JSON object")
        return _json_reply(200, action(payload))

    def _post_faults(self, payload):
        return self.set_faults(payload).as_json()

    def _post_reset(self, payload):
        self.reset(accounts=bool(payload.get("accounts")))
        return self._faults.as_json()

    def _post_delete(self, payload):
        ids = payload.get("UserIDs")
        if not isinstance(ids, list) or not all(isinstance(u, str) for u in ids):
            raise ValueError("UserIDs must be a list of strings")
        deleted = self.store.delete_accounts(ids, now=self._clock(), block=False)
        return {"deleted": sorted(deleted)}

    def snapshot(self):
        """Counters, peaks per second, the account count and the current faults."""
        now = self._clock()
        self.rates.flush(now)
        apis = self.stats.snapshot()
        peaks, per_second = self.rates.snapshot()
        for api, (calls, refused) in peaks.items():
            apis[api]["max_calls_in_any_second"] = calls
            apis[api]["max_refused_in_any_second"] = refused
            apis[api]["rate_limit"] = _limit(api, self._faults)
        since = now - self._faults.delete_block_seconds
        return {
            "apis": apis,
            "accounts": self.store.count,
            "blocked": self.store.blocked_count(since),
            "faults": self._faults.as_json(),
            "per_second": per_second,
        }


def _limit(api, faults):
    return max(1, int(RATE_LIMITS[api] * faults.rate_scale))


def _check_random(value):
    if value is None or not value.isdigit() or int(value) > MAX_RANDOM:
        raise ApiError(60025, f"random must be a whole number from 0 to {MAX_RANDOM}")


# -- HTTP -------------------------------------------------------------------------


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
            return _json_reply(411, {"error": "Content-Length is required"})
        length = length or "0"
        if not length.isdigit() or int(length) > MAX_BODY_BYTES:
            self.close_connection = True
            return _json_reply(413, {"error": f"at most {MAX_BODY_BYTES} bytes"})
        body = self.rfile.read(int(length))
        try:
            return self.server.sandbox.handle(self.command, self.path, body)
        except Exception:
            log.exception("%s %s failed", self.command, self.path)
            return _json_reply(500, {"error": "sandbox error, see its log"})

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
