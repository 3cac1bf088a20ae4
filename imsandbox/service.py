"""The service without HTTP: authentication, limits, faults and the four APIs.

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
  a value of the wrong JSON type 60015; a UserID that is not 1-32 bytes of
  printable ASCII 70402; Nick or FaceUrl over 500 bytes of UTF-8 40601.
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
"""

import random
import threading
import time
from urllib.parse import parse_qsl

from .control import Control, control_token
from .counters import RateCounter, Stats
from .faults import rate_limit
from .parsing import (
    ApiError,
    json_object,
    parse_account_check,
    parse_account_delete,
    parse_account_import,
    parse_multiaccount_import,
)
from .replies import Reply, json_reply
from .replies import answer as answer_of
from .rules import API_PATH, MAX_RANDOM
from .store import AccountStore
from .usersig import BadUserSig
from .usersig import verify as usersig_verify

API_PREFIX = f"/{API_PATH}/"
VERIFIED_SIGS_KEPT = 256
BAD_GATEWAY_HTML = (
    b"<html><head><title>502 Bad Gateway</title></head><body>"
    b"<center><h1>502 Bad Gateway</h1></center></body></html>"
)


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
        self.control = Control(self, token=control_token(config.state_path))
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

    def now(self):
        """The sandbox's clock (a test may give it its own)."""
        return self._clock()

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

    def handle(self, method, target, body, headers=None):
        """The Reply to one request; ``headers`` (a mapping) matter to /sandbox/."""
        path, _, query = target.partition("?")
        if path.startswith("/sandbox/"):
            return self.control.handle(method, path, body, headers or {})
        api = path.removeprefix(API_PREFIX)
        if api in self._endpoints:
            return self._api(method, api, query, body)
        if path.startswith("/v4/"):
            return json_reply(200, answer_of(60009, "no such API"), error_code=60009)
        return json_reply(404, {"error": "not found"})

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
        document = answer_of(code, info, **extra)
        return json_reply(200, document, delay=delay, error_code=code)

    def _accept(self, method, api, query, body, faults):
        """The parsed request once the call may proceed, else ApiError."""
        if method != "POST":
            raise ApiError(60002, "API calls must be POST")
        self._authenticate(query)
        limit = rate_limit(api, faults)
        if not self.rates.admit(api, limit, self._clock()):
            raise ApiError(60007, f"over {limit} calls a second to {api}")
        return self._endpoints[api][0](json_object(body))

    def _fault(self, api, probability, faults):
        if api not in faults.fault_apis or probability <= 0:
            return False
        return self._random.random() < probability

    def _account_import(self, entries, faults):
        self._import(entries, faults)
        return {}

    def _multiaccount_import(self, entries, faults):
        api = "multiaccount_import"
        self.stats.add(api, "accounts_received", len(entries))
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
                claims = usersig_verify(
                    usersig,
                    sdkappid=self.config.sdkappid,
                    secret_key=self.config.secret_key,
                    identifier=identifier,
                    now=now,
                )
            except BadUserSig as exc:
                raise ApiError(exc.code, exc.reason) from None
            if len(self._verified) >= VERIFIED_SIGS_KEPT:
                self._verified.clear()
            self._verified[(usersig, identifier)] = claims
        elif claims.expired(now):
            raise ApiError(70001, "UserSig expired")

    def snapshot(self):
        """Counters, peaks per second, the account count and the current faults."""
        now = self._clock()
        self.rates.flush(now)
        apis = self.stats.snapshot()
        peaks, per_second = self.rates.snapshot()
        for api, (calls, refused) in peaks.items():
            apis[api]["max_calls_in_any_second"] = calls
            apis[api]["max_refused_in_any_second"] = refused
            apis[api]["rate_limit"] = rate_limit(api, self._faults)
        since = now - self._faults.delete_block_seconds
        return {
            "apis": apis,
            "accounts": self.store.count,
            "blocked": self.store.blocked_count(since),
            "faults": self._faults.as_json(),
            "per_second": per_second,
        }


def _check_random(value):
    if value is None or not value.isdigit() or int(value) > MAX_RANDOM:
        raise ApiError(60025, f"random must be a whole number from 0 to {MAX_RANDOM}")
