"""The API's field rules, in one place for the client, the forms and the CSV reader.

UserID: 1-32 bytes of UTF-8. Tencent advises letters, digits, ``_`` and ``-``;
client SDKs accept printable ASCII, and non-ASCII IDs are reported as
unsupported. The safe reading is printable ASCII without spaces; change
``USERID_PATTERN`` to tighten or widen it.
"""

import re
from urllib.parse import urlsplit

from django.utils.translation import gettext_noop as _

from .translatable import TranslatableError

USERID_MAX_BYTES = 32
PROFILE_MAX_BYTES = 500
USERID_PATTERN = re.compile(r"[!-~]+")  # printable ASCII, no space
_WHITESPACE = re.compile(r"\s")
# An address urlsplit is sure to read as http(s) with a host, and that holds no
# whitespace: most avatar URLs. It passes without urlsplit, which was a third of
# the time of reading a large CSV; anything else takes the full check below.
_PLAIN_HTTP_URL = re.compile(
    r"https?://[A-Za-z0-9][A-Za-z0-9.-]*(?::[0-9]*)?(?:[/?#]\S*)?"
)


class FieldError(TranslatableError, ValueError):
    """A value the API would refuse; ``str()`` is a sentence for people, in
    English; ``for_people()`` says it in the active language."""

    def __init__(self, field, message, **values):
        super().__init__(message, field=field, **values)
        self.field = field


def byte_length(value):
    return len(value.encode("utf-8"))


def _utf8_size(field, value):
    # A lone surrogate (e.g. from surrogateescape decoding) cannot be sent.
    try:
        return byte_length(value)
    except UnicodeEncodeError:
        raise FieldError(field, _("%(field)s is not valid UTF-8 text.")) from None


def clean_user_id(value):
    """Return the UserID with surrounding whitespace trimmed, or raise FieldError."""
    if not isinstance(value, str):
        raise FieldError("UserID", _("UserID must be text."))
    value = value.strip()
    if not value:
        raise FieldError("UserID", _("UserID is empty."))
    size = _utf8_size("UserID", value)
    if size > USERID_MAX_BYTES:
        raise FieldError(
            "UserID",
            _("UserID is %(size)s bytes in UTF-8; IM allows at most %(most)s."),
            size=size,
            most=USERID_MAX_BYTES,
        )
    if not USERID_PATTERN.fullmatch(value):
        raise FieldError(
            "UserID",
            _(
                "UserID may contain only letters, digits and printable ASCII "
                "symbols, no spaces."
            ),
        )
    return value


def clean_nick(value):
    """Return the nickname (trimmed, may be empty) or raise FieldError."""
    return _clean_profile("Nick", value)


def clean_face_url(value):
    """Return the avatar URL (trimmed, may be empty) or raise FieldError."""
    value = _clean_profile("FaceUrl", value)
    if value and not _PLAIN_HTTP_URL.fullmatch(value):
        try:
            parts = urlsplit(value)
            host = parts.hostname
        except ValueError:  # e.g. an unclosed IPv6 bracket
            host = None
        if not host or parts.scheme not in ("http", "https"):
            raise FieldError(
                "FaceUrl", _("Avatar URL must be an http:// or https:// address.")
            )
        if _WHITESPACE.search(value):
            raise FieldError("FaceUrl", _("Avatar URL must not contain spaces."))
    return value


def _clean_profile(field, value):
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FieldError(field, _("%(field)s must be text."))
    value = value.strip()
    size = _utf8_size(field, value)
    if size > PROFILE_MAX_BYTES:
        raise FieldError(
            field,
            _("%(field)s is %(size)s bytes in UTF-8; IM allows at most %(most)s."),
            size=size,
            most=PROFILE_MAX_BYTES,
        )
    return value
