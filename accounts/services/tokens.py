"""API tokens: made, revoked and recognised; each change audited.

A token reads ``ima_<prefix>_<secret>``: the prefix finds its row, the SHA-256
of the whole token is compared in constant time. The raw value exists only in
the return value of ``api_token_create``.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from accounts.audit.records import audit_record
from accounts.models import ApiToken, AuditAction

SCHEME = "ima"
PREFIX_BYTES = 6  # 12 hex digits: collisions are retried, never reused
SECRET_BYTES = 32
# last_used_at is written at most this often: not a write per request.
TOUCH_EVERY = timedelta(minutes=1)


def _hash(raw_token):
    return hashlib.sha256(raw_token.encode("utf-8")).hexdigest()


def api_token_create(*, user, label="", actor=None, request=None):
    """A new token for ``user``: returns (ApiToken, the raw token, shown once).

    Audited as TOKEN_CREATED by ``actor`` (default: the request's user, or
    none for a command) with the label and prefix. Each call makes a new one.
    """
    with transaction.atomic():
        prefix = secrets.token_hex(PREFIX_BYTES)
        while ApiToken.objects.filter(prefix=prefix).exists():
            prefix = secrets.token_hex(PREFIX_BYTES)
        raw_token = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(SECRET_BYTES)}"
        token = ApiToken.objects.create(
            user=user, label=label[:100], prefix=prefix, key_hash=_hash(raw_token)
        )
        _audit(AuditAction.TOKEN_CREATED, token, actor, request)
    return token, raw_token


def api_token_revoke(*, token, actor=None, request=None):
    """Revoke ``token``; True if this call did (a second call changes nothing).

    Audited as TOKEN_REVOKED either way (``result`` says which).
    """
    with transaction.atomic():
        revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
            revoked_at=timezone.now()
        )
        token.refresh_from_db()
        _audit(
            AuditAction.TOKEN_REVOKED,
            token,
            actor,
            request,
            result="ok" if revoked else "already_revoked",
        )
    return bool(revoked)


def _audit(action, token, actor, request, result="ok"):
    audit_record(
        action=action,
        request=request,
        actor=actor,
        object_type="api_token",
        object_id=token.pk,
        result=result,
        details={
            "label": token.label,
            "prefix": token.prefix,
            "user": token.user.get_username(),
        },
    )


def api_token_authenticate(*, raw_token):
    """The live token ``raw_token`` is, with its active user loaded; None otherwise.

    A revoked token, an unknown one, a wrong secret and an inactive user all
    give None. Records the use (at most once a minute).
    """
    parts = raw_token.split("_", 2) if isinstance(raw_token, str) else []
    if len(parts) != 3 or parts[0] != SCHEME:
        return None
    token = (
        ApiToken.objects.select_related("user")
        .filter(prefix=parts[1], revoked_at=None)
        .first()
    )
    if token is None or not hmac.compare_digest(token.key_hash, _hash(raw_token)):
        return None
    if not token.user.is_active:
        return None
    _touch(token)
    return token


def _touch(token):
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < TOUCH_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
