"""The documented service's limits, written from Tencent's reference pages.

Kept apart from imadmin's client on purpose: a stand-in that borrowed the
client's rules could not catch the client's mistakes.
"""

API_PATH = "v4/im_open_login_svc"
# Calls a second each API admits (the reference's frequency limits).
RATE_LIMITS = {
    "account_import": 200,
    "multiaccount_import": 100,
    "account_check": 100,
    "account_delete": 100,
}
API_NAMES = tuple(RATE_LIMITS)
MAX_ITEMS = 100  # accounts in one batch call
USERID_MAX_BYTES = 32  # UTF-8 bytes
PROFILE_MAX_BYTES = 500  # Nick, FaceUrl
MAX_RANDOM = 2**32 - 1


def user_id_problem(value):
    """Why ``value`` (a str) is not a UserID the service takes, or None.

    The reference pages count 1-32 bytes of UTF-8; client SDKs accept
    printable ASCII and non-ASCII IDs are reported as unsupported, so the
    sandbox takes printable ASCII (space to tilde) only.
    """
    if not value.isascii() or not value.isprintable():
        return "UserID must be printable ASCII"
    if not 1 <= len(value) <= USERID_MAX_BYTES:
        return f"UserID must be 1 to {USERID_MAX_BYTES} bytes"
    return None


def utf8_length(value):
    """Bytes of ``value`` in UTF-8; UnicodeEncodeError for a lone surrogate."""
    return len(value) if value.isascii() else len(value.encode("utf-8"))
