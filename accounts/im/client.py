"""HTTP client for Tencent IM's account REST API (v4/im_open_login_svc).

One private ``_post`` owns the query string, the session, the timeouts and the
mapping of outcomes; the public methods carry the endpoints' names. The client
never retries (the pipeline decides, by error class) except to renew an expired
UserSig once. It never puts the secret key or a UserSig into a message or log.
"""

import json
import logging
import secrets
import time
from dataclasses import dataclass, field

import requests

from . import errors
from .usersig import UserSigCache
from .validation import FieldError, clean_user_id

log = logging.getLogger(__name__)


class UserSigRedactingFilter(logging.Filter):
    """Hides ``usersig=`` values in a log record's message and traceback."""

    def filter(self, record):
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a bad format: the handler reports it
            return True
        if "usersig=" in message.lower():
            record.msg, record.args = errors.redact(message), None
        if record.exc_info and not record.exc_text:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = errors.redact(text)
        return True


# urllib3 logs request URLs at DEBUG ('"POST /v4/...?usersig=..." 200'), and
# its Retry logs them too. A logger's filters miss records propagated from its
# children, so each module's logger gets one.
for _name in (
    "urllib3",
    "urllib3.connectionpool",
    "urllib3.connection",
    "urllib3.poolmanager",
    "urllib3.response",
    "urllib3.util.retry",
):
    logging.getLogger(_name).addFilter(UserSigRedactingFilter())

MAX_ITEMS_PER_CALL = 100
API_PATH = "v4/im_open_login_svc"
RATE_LIMITS = {  # calls per second, from the API pages
    "account_import": 200,
    "multiaccount_import": 100,
    "account_check": 100,
    "account_delete": 100,
}
REGION_DOMAINS = {
    "china": "console.tim.qq.com",
    "singapore": "adminapisgp.im.qcloud.com",
    "seoul": "adminapikr.im.qcloud.com",
    "tokyo": "adminapijpn.im.qcloud.com",
    "frankfurt": "adminapiger.im.qcloud.com",
    "mumbai": "adminapiind.im.qcloud.com",
    "siliconvalley": "adminapiusa.im.qcloud.com",
    "jakarta": "adminapiidn.im.qcloud.com",
}


def region_base_url(region):
    return f"https://{REGION_DOMAINS[region]}"


@dataclass(frozen=True)
class ImConfig:
    sdkappid: int
    secret_key: str = field(repr=False)
    identifier: str
    base_url: str
    connect_timeout: float = 3.05
    read_timeout: float = 10.0
    usersig_ttl: int = 86400


@dataclass
class CallRecord:
    """What one request did, for the audit trail: never the URL or the UserSig."""

    api: str
    user_ids: list
    http_status: int | None = None
    error_code: int | None = None
    error_info: str = ""
    fail_accounts: list = field(default_factory=list)
    duration_ms: float = 0.0
    started_at: float = 0.0


@dataclass
class ImportResult:
    fail_accounts: list
    calls: list  # every request this call took: one, or two after a renewal

    @property
    def call(self):
        """The request that got the answer."""
        return self.calls[-1]

    @property
    def ok(self):
        return not self.fail_accounts


@dataclass
class ItemResult:
    user_id: str
    result_code: int
    result_info: str
    account_status: str = ""  # account_check only: Imported / NotImported


@dataclass
class ItemsResult:
    items: list
    calls: list  # every request this call took: one, or two after a renewal

    @property
    def call(self):
        """The request that got the answer."""
        return self.calls[-1]

    def by_user_id(self):
        return {item.user_id: item for item in self.items}


def _check_count(api, count):
    if not 1 <= count <= MAX_ITEMS_PER_CALL:
        raise ValueError(
            f"{api} takes 1 to {MAX_ITEMS_PER_CALL} accounts a call, not {count}"
        )


def _user_ids(values):
    try:
        return [clean_user_id(v) for v in values]
    except FieldError as exc:
        raise errors.InvalidRequestError(70402, exc.message) from None


class ImClient:
    """One instance per process or thread pool: it reuses one HTTP session."""

    def __init__(self, config, *, session=None):
        self.config = config
        self._sig = UserSigCache(
            config.sdkappid, config.secret_key, config.identifier, config.usersig_ttl
        )
        if session is None:
            session = requests.Session()
            # Read proxy settings from the environment once, not on every call
            # (requests re-reads them per request: measured 0.6 ms a call).
            session.proxies.update(requests.utils.get_environ_proxies(config.base_url))
            session.trust_env = False
        self._session = session
        self._session.headers["Content-Type"] = "application/json"

    def __repr__(self):
        return f"<ImClient {self.config.base_url} sdkappid={self.config.sdkappid}>"

    def close(self):
        self._session.close()

    def url(self, api):
        """The request URL, with a fresh 32-bit unsigned ``random`` each time."""
        params = requests.models.RequestEncodingMixin._encode_params(
            {
                "sdkappid": self.config.sdkappid,
                "identifier": self.config.identifier,
                "usersig": self._sig.get(),
                "random": secrets.randbelow(2**32),
                "contenttype": "json",
            }
        )
        return f"{self.config.base_url.rstrip('/')}/{API_PATH}/{api}?{params}"

    # -- endpoints ---------------------------------------------------------

    def account_import(self, user_id, nick="", face_url=""):
        """Import one account (account_import page). Raises ImError subclasses."""
        body = {"UserID": _user_ids([user_id])[0]}
        if nick:
            body["Nick"] = nick
        if face_url:
            body["FaceUrl"] = face_url
        data, calls = self._post("account_import", body, [body["UserID"]])
        return ImportResult([], calls)

    def multiaccount_import(self, accounts):
        """Import 1-100 accounts (multiaccount_import page, the AccountList form).

        ``accounts`` holds dicts with UserID and optional Nick/FaceUrl, or plain
        UserIDs. Returns an ImportResult whose ``fail_accounts`` lists the
        UserIDs IM did not import (partial success is data, not an error).
        """
        items = [a if isinstance(a, dict) else {"UserID": a} for a in accounts]
        _check_count("multiaccount_import", len(items))
        ids = _user_ids(item["UserID"] for item in items)
        pairs = zip(items, ids, strict=True)
        body = {"AccountList": [_account_entry(i, u) for i, u in pairs]}
        data, calls = self._post("multiaccount_import", body, ids)
        fail = [str(u) for u in data.get("FailAccounts") or []]
        calls[-1].fail_accounts = fail
        return ImportResult(fail, calls)

    def account_check(self, user_ids):
        """Query 1-100 accounts' AccountStatus (account_check page)."""
        ids = _user_ids(user_ids)
        _check_count("account_check", len(ids))
        body = {"CheckItem": [{"UserID": u} for u in ids]}
        data, calls = self._post("account_check", body, ids)
        return ItemsResult(_items(data, with_status=True), calls)

    def account_delete(self, user_ids):
        """Delete 1-100 accounts (account_delete page); unknown ones answer 70107."""
        ids = _user_ids(user_ids)
        _check_count("account_delete", len(ids))
        body = {"DeleteItem": [{"UserID": u} for u in ids]}
        data, calls = self._post("account_delete", body, ids)
        return ItemsResult(_items(data, with_status=False), calls)

    # -- transport ---------------------------------------------------------

    def _post(self, api, body, user_ids):
        """``(data, [CallRecord, ...])``: the answer and every request it took.

        Errors carry the same list in ``calls``, so no request goes unrecorded.
        """
        try:
            data, call = self._post_once(api, body, user_ids)
            return data, [call]
        except errors.ConfigurationError as exc:
            if exc.code not in errors.RENEWABLE_SIGNATURE_CODES:
                raise
            first = exc.call
        # An expired or invalidated UserSig: make a new one and send once more.
        self._sig.invalidate()
        try:
            data, call = self._post_once(api, body, user_ids)
        except errors.ImError as exc:
            exc.calls = [first, *exc.calls]
            raise
        return data, [first, call]

    def _post_once(self, api, body, user_ids):
        call = CallRecord(api=api, user_ids=list(user_ids), started_at=time.time())
        started = time.monotonic()
        failure = None
        try:
            response = self._session.post(
                self.url(api),
                data=json.dumps(body, ensure_ascii=False).encode(),
                timeout=(self.config.connect_timeout, self.config.read_timeout),
            )
        except requests.RequestException as exc:
            failure = _network_error(exc, api, call)
        call.duration_ms = (time.monotonic() - started) * 1000
        if failure:
            # Raised outside the except block so that the requests exception,
            # which holds the URL and its UserSig, is not kept as __context__.
            raise failure
        call.http_status = response.status_code
        if response.status_code != 200:
            call.error_code = errors.HTTP_ERROR
            call.error_info = f"HTTP {response.status_code}"
            raise errors.TransientError(
                errors.HTTP_ERROR, call.error_info, api=api, call=call
            )
        try:
            data = response.json()
            code = int(data.get("ErrorCode", -4))
        except (ValueError, AttributeError, TypeError):
            call.error_code = errors.BAD_RESPONSE
            call.error_info = "response is not JSON"
            raise errors.TransientError(
                errors.BAD_RESPONSE, call.error_info, api=api, call=call
            ) from None
        call.error_code = code
        call.error_info = errors.redact(data.get("ErrorInfo", ""))
        if code != 0:
            raise errors.exception_for(code, call.error_info, api=api, call=call)
        return data, call


def _account_entry(item, user_id):
    entry = {"UserID": user_id}
    for key in ("Nick", "FaceUrl"):
        if item.get(key):
            entry[key] = item[key]
    return entry


def _items(data, *, with_status):
    result = []
    for raw in data.get("ResultItem") or []:
        result.append(
            ItemResult(
                user_id=str(raw.get("UserID", "")),
                result_code=int(raw.get("ResultCode", 0)),
                result_info=str(raw.get("ResultInfo", "")),
                account_status=str(raw.get("AccountStatus", "")) if with_status else "",
            )
        )
    return result


_BROKEN_REPLY = (
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


def _network_error(exc, api, call):
    # requests' messages embed the request URL, and with it the UserSig:
    # report the kind of failure only; the caller drops the original.
    if isinstance(exc, requests.ReadTimeout):
        info = "no reply before the read timeout"
    elif isinstance(exc, _BROKEN_REPLY):
        # The status line came back, then the body broke off: the request
        # was received and may have been applied.
        info = "reply broken off or undecodable"
    elif isinstance(exc, requests.ConnectionError) and _reply_lost(exc):
        info = "connection closed before the reply"
    else:
        call.error_code = errors.NETWORK_ERROR
        call.error_info = f"{type(exc).__name__} before the request was sent"
        return errors.NetworkError(
            errors.NETWORK_ERROR, call.error_info, api=api, call=call
        )
    call.error_code, call.error_info = errors.TIMEOUT, info
    return errors.ReplyLostError(errors.TIMEOUT, info, api=api, call=call)


def _reply_lost(exc):
    """True when the connection broke after the request was sent."""
    text = str(exc)
    return "RemoteDisconnected" in text or "Connection aborted" in text
