"""UserSig: made with Tencent's ``tls-sig-api-v2``, cached, renewed early; and verified.

Verification follows the official Go library: decode, inflate, check sdkappid,
identifier and expiry, then recompute the HMAC. Whole UserSig strings are never
compared, since JSON layout and zlib level differ between libraries.
"""

import base64
import binascii
import hashlib
import hmac
import json
import threading
import time
import zlib
from dataclasses import dataclass

from TLSSigAPIv2 import TLSSigAPIv2


class UserSigCache:
    """Hands out the admin's UserSig, making a new one once half its life is gone.

    Thread-safe: a runner's worker threads share one instance.
    """

    def __init__(self, sdkappid, secret_key, identifier, ttl=86400, clock=time.time):
        self._api = TLSSigAPIv2(int(sdkappid), secret_key)
        self._identifier = identifier
        self._ttl = int(ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._sig = None
        self._renew_at = 0.0

    def __repr__(self):
        return f"<UserSigCache identifier={self._identifier!r}>"

    def get(self):
        with self._lock:
            now = self._clock()
            if self._sig is None or now >= self._renew_at:
                self._sig = self._api.gen_sig(self._identifier, self._ttl)
                # Renew well before expiry so a clock skew or a long job
                # never sends a signature on its last second.
                self._renew_at = now + self._ttl / 2
            return self._sig

    def invalidate(self):
        with self._lock:
            self._sig = None


class UserSigInvalid(Exception):
    """Why a UserSig was refused; ``code`` is the API's ErrorCode for it."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class UserSigClaims:
    identifier: str
    sdkappid: int
    time: int
    expire: int


def _decode(usersig):
    text = usersig.replace("*", "+").replace("-", "/").replace("_", "=")
    try:
        raw = zlib.decompress(base64.b64decode(text, validate=True))
        doc = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        raise UserSigInvalid(70003, "UserSig cannot be decoded") from None
    if not isinstance(doc, dict):
        raise UserSigInvalid(70003, "UserSig is not a JSON object")
    return doc


def verify_usersig(usersig, *, sdkappid, secret_key, identifier, now=None):
    """Return a valid UserSig's claims or raise UserSigInvalid with the API's code."""
    if not usersig:
        raise UserSigInvalid(70002, "UserSig is empty")
    doc = _decode(usersig)
    try:
        claims = UserSigClaims(
            identifier=str(doc["TLS.identifier"]),
            sdkappid=int(doc["TLS.sdkappid"]),
            time=int(doc["TLS.time"]),
            expire=int(doc["TLS.expire"]),
        )
        signature = str(doc["TLS.sig"])
    except (KeyError, TypeError, ValueError):
        raise UserSigInvalid(70005, "UserSig lacks a field") from None
    if claims.sdkappid != int(sdkappid):
        raise UserSigInvalid(70014, "SDKAppID differs from the UserSig's")
    if claims.identifier != identifier:
        raise UserSigInvalid(70013, "identifier differs from the UserSig's")
    now = time.time() if now is None else now
    if now > claims.time + claims.expire:
        raise UserSigInvalid(70001, "UserSig expired")
    content = (
        f"TLS.identifier:{claims.identifier}\n"
        f"TLS.sdkappid:{claims.sdkappid}\n"
        f"TLS.time:{claims.time}\n"
        f"TLS.expire:{claims.expire}\n"
    )
    if "TLS.userbuf" in doc:
        content += f"TLS.userbuf:{doc['TLS.userbuf']}\n"
    expected = base64.b64encode(
        hmac.new(secret_key.encode(), content.encode(), hashlib.sha256).digest()
    ).decode()
    if not hmac.compare_digest(expected, signature):
        raise UserSigInvalid(70009, "UserSig was not made with this app's key")
    return claims
