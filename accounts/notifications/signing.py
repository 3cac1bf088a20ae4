"""The signature of a webhook body: what a receiver checks (README shows how).

``X-Imadmin-Signature: sha256=<hex>`` is the HMAC-SHA256, keyed with the
endpoint's secret, of ``"<timestamp>.<body>"``; the timestamp (unix seconds,
also sent as ``X-Imadmin-Timestamp``) is signed so an old body cannot be
replayed as new.
"""

import hashlib
import hmac

SCHEME = "sha256="


def signature(secret, timestamp, body):
    """The X-Imadmin-Signature value of ``body`` (bytes) sent at ``timestamp``."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return SCHEME + digest


def signature_valid(secret, timestamp, body, header):
    """Whether ``header`` is the signature of ``body`` at ``timestamp``."""
    return hmac.compare_digest(signature(secret, timestamp, body), header or "")


def signed_headers(*, secret, event, timestamp, body):
    """The headers of one delivery."""
    return {
        "Content-Type": "application/json",
        "User-Agent": "imadmin-webhooks",
        "X-Imadmin-Event": event,
        "X-Imadmin-Timestamp": str(timestamp),
        "X-Imadmin-Signature": signature(secret, timestamp, body),
    }
