"""Verifying a UserSig as the service does (tls-sig-api-v2's documented format).

Decode and inflate, check SDKAppID, identifier and expiry, then recompute the
HMAC-SHA256 of the signed lines. A UserSig is valid until ``time + expire``
inclusive, in whole seconds. Whole UserSig strings are never compared: JSON
layout and zlib level differ between libraries.
"""

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass


class BadUserSig(Exception):
    """Why a UserSig was refused; ``code`` is the ErrorCode the service answers."""

    def __init__(self, code, reason):
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Claims:
    identifier: str
    sdkappid: int
    time: int
    expire: int

    def expired(self, now):
        """Past its last second: ``now`` is cut to whole seconds first."""
        return int(now) > self.time + self.expire


def _document(usersig):
    text = usersig.replace("*", "+").replace("-", "/").replace("_", "=")
    try:
        doc = json.loads(zlib.decompress(base64.b64decode(text, validate=True)))
    except (binascii.Error, zlib.error, ValueError):
        raise BadUserSig(70003, "UserSig cannot be decoded") from None
    if not isinstance(doc, dict):
        raise BadUserSig(70003, "UserSig is not a JSON object")
    return doc


def verify(usersig, *, sdkappid, secret_key, identifier, now):
    """The Claims of a valid UserSig, or BadUserSig with the service's code."""
    if not usersig:
        raise BadUserSig(70002, "UserSig is empty")
    doc = _document(usersig)
    try:
        claims = Claims(
            identifier=str(doc["TLS.identifier"]),
            sdkappid=int(doc["TLS.sdkappid"]),
            time=int(doc["TLS.time"]),
            expire=int(doc["TLS.expire"]),
        )
        signature = str(doc["TLS.sig"])
    except (KeyError, TypeError, ValueError):
        raise BadUserSig(70005, "UserSig lacks a field") from None
    if claims.sdkappid != int(sdkappid):
        raise BadUserSig(70014, "SDKAppID differs from the UserSig's")
    if claims.identifier != identifier:
        raise BadUserSig(70013, "identifier differs from the UserSig's")
    if claims.expired(now):
        raise BadUserSig(70001, "UserSig expired")
    signed = "".join(
        f"TLS.{name}:{value}\n"
        for name, value in (
            ("identifier", claims.identifier),
            ("sdkappid", claims.sdkappid),
            ("time", claims.time),
            ("expire", claims.expire),
        )
    )
    if "TLS.userbuf" in doc:
        signed += f"TLS.userbuf:{doc['TLS.userbuf']}\n"
    digest = hmac.new(secret_key.encode(), signed.encode(), hashlib.sha256).digest()
    if not hmac.compare_digest(base64.b64encode(digest).decode(), signature):
        raise BadUserSig(70009, "UserSig was not made with this app's key")
    return claims
