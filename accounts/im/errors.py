"""The API's error classes and the one table of codes, each with a sentence for people.

The table is the single source for the client (which exception to raise), the
pipeline (what to do next) and the UI (what to tell a person).

Sentences are kept in English, as data: the pipeline stores them on rows and
the audit history and exports carry them. They are only marked for
translation here (``_`` is ``gettext_noop``, the name makemessages looks
for); ``sentence_for_people`` translates one where a person reads it.
"""

import enum
import re
from dataclasses import dataclass

from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_noop as _


class ErrorClass(enum.StrEnum):
    TRANSIENT = "transient"  # try again later, with backoff
    RATE_LIMITED = "rate_limited"  # transient, and our limiter should have prevented it
    QUOTA = "quota"  # the app's account cap: stop the job
    CONFIGURATION = "configuration"  # our settings or signature: stop and tell admins
    INVALID_REQUEST = "invalid_request"  # the data: will not succeed as it is
    ACCOUNT_PERMANENT = "account_permanent"  # this account cannot be imported now
    ACCOUNT_MISSING = "account_missing"  # delete of an account IM does not have
    UNKNOWN = "unknown"  # a code not in the table: retried a bounded number of times


@dataclass(frozen=True)
class CodeInfo:
    code: int
    error_class: ErrorClass
    sentence: str


_T, _R, _Q = ErrorClass.TRANSIENT, ErrorClass.RATE_LIMITED, ErrorClass.QUOTA
_C, _I = ErrorClass.CONFIGURATION, ErrorClass.INVALID_REQUEST
_P, _M = ErrorClass.ACCOUNT_PERMANENT, ErrorClass.ACCOUNT_MISSING

# Codes the network layer reports itself; they never come from Tencent.
NETWORK_ERROR = -1
TIMEOUT = -2
HTTP_ERROR = -3
BAD_RESPONSE = -4
FAIL_ACCOUNTS = -5  # listed in multiaccount_import's FailAccounts
ACCOUNT_MISSING = 70107

# One row per code: code, class, then the sentence, continued under itself.
# fmt: off
_TABLE = [
    (NETWORK_ERROR, _T, _("Could not reach the IM service (network error). It will be "
                          "retried.")),
    (TIMEOUT, _T, _("IM did not answer in time; whether the request was applied is "
                    "checked before any retry.")),
    (HTTP_ERROR, _T, _("The IM service answered with an HTTP error (e.g. 502). It "
                       "will be retried.")),
    (BAD_RESPONSE, _T, _("The IM service answered with something that is not its "
                         "JSON. It will be retried.")),
    (FAIL_ACCOUNTS, _T, _("IM listed the account in FailAccounts on every attempt and "
                          "account_check says it is not imported.")),
    (60002, _I, _("IM could not parse the HTTP request.")),
    (60003, _I, _("IM could not parse the request's JSON.")),
    (60004, _C, _("The admin account or signature in the request URL is wrong. Check "
                  "IM_ADMIN_IDENTIFIER and IM_SECRET_KEY.")),
    (60005, _C, _("The admin account or signature in the request is wrong. Check "
                  "IM_ADMIN_IDENTIFIER and IM_SECRET_KEY.")),
    (60006, _C, _("The SDKAppID is invalid or disabled. Check IM_SDKAPPID and the app "
                  "in the IM console.")),
    (60007, _R, _("Too many calls per second to this API. It will be retried more "
                  "slowly.")),
    (60008, _T, _("The IM service timed out. It will be retried.")),
    (60009, _I, _("Wrong API path.")),
    (60010, _C, _("The identifier is not an app admin. Set IM_ADMIN_IDENTIFIER to an "
                  "admin account.")),
    (60011, _R, _("Too many calls per second for this app. It will be retried more "
                  "slowly.")),
    (60012, _C, _("The SDKAppID is missing from the request. Check IM_SDKAPPID.")),
    (60015, _I, _("A field has the wrong type (UserID must be a string).")),
    (60016, _C, _("This request is disabled for the app in the IM console.")),
    (60017, _C, _("This request is disabled for the app in the IM console.")),
    (60018, _R, _("Too many calls per second to this API. It will be retried more "
                  "slowly.")),
    (60019, _R, _("Too many calls per second to this API. It will be retried more "
                  "slowly.")),
    (60020, _C, _("The app's IM plan has expired. Renew it in the IM console.")),
    (60021, _C, _("This server's IP address is not allowed to call the API. Allow "
                  "it in the IM console.")),
    (60025, _C, _("The request URL's parameters are wrong. Check IM_SDKAPPID and "
                  "IM_ADMIN_IDENTIFIER.")),
    (60026, _C, _("The domain does not match the app's region. Check IM_REGION or "
                  "IM_API_BASE_URL.")),
    (70001, _C, _("The UserSig has expired. A new one is made automatically; if this "
                  "persists, check the server clock.")),
    (70002, _C, _("The UserSig is empty. Check IM_SECRET_KEY.")),
    (70003, _C, _("The UserSig is malformed. Check IM_SECRET_KEY.")),
    (70005, _C, _("The UserSig is malformed. Check IM_SECRET_KEY.")),
    (70009, _C, _("The UserSig was made with another key. Check IM_SECRET_KEY against "
                  "the IM console.")),
    (70013, _C, _("The identifier differs from the UserSig's. Check "
                  "IM_ADMIN_IDENTIFIER.")),
    (70014, _C, _("The SDKAppID differs from the UserSig's. Check IM_SDKAPPID.")),
    (70016, _C, _("No key is set for this app in this region. Check IM_REGION and "
                  "IM_SECRET_KEY.")),
    (70020, _C, _("The SDKAppID is not found in this region. Check IM_REGION or "
                  "IM_API_BASE_URL.")),
    (70050, _C, _("Too many bad signatures: IM locked the admin for about 60 seconds. "
                  "Fix IM_SECRET_KEY, then retry.")),
    (70052, _C, _("The UserSig was invalidated. A new one is made automatically.")),
    (70107, _M, _("The account does not exist in IM.")),
    (70169, _T, _("IM server timeout. It will be retried.")),
    (70202, _T, _("IM server timeout. It will be retried.")),
    (70206, _I, _("Invalid batch count: a call must carry 1 to 100 accounts.")),
    (70398, _Q, _("The app's account limit is reached (trial apps allow 100). "
                  "Upgrade the app's edition in the IM console, then retry the "
                  "failed accounts.")),
    (70399, _P, _("This UserID was deleted less than 3 months ago and cannot be "
                  "imported again yet.")),
    (70402, _I, _("IM refused the parameters: check the UserID, nickname and avatar "
                  "URL.")),
    (70403, _C, _("The request needs app admin rights. Set IM_ADMIN_IDENTIFIER to an "
                  "admin account.")),
    (70500, _T, _("IM internal server error. It will be retried.")),
    (71000, _C, _("Deleting accounts is not enabled for this app's edition. Enable it "
                  "in the IM console.")),
    (40006, _T, _("IM internal error while saving the profile. It will be retried.")),
    (40601, _I, _("A nickname or avatar URL is longer than IM's 500 bytes.")),
    (30006, _T, _("IM internal error. It will be retried.")),
    (30007, _T, _("IM write conflict. It will be retried.")),
    (30008, _T, _("IM write conflict. It will be retried.")),
]
# fmt: on
CODES = {code: CodeInfo(code, cls, sentence) for code, cls, sentence in _TABLE}
RENEWABLE_SIGNATURE_CODES = frozenset({70001, 70052})


_UNLISTED = _("IM answered an unlisted error code %(code)s.")


def code_info(code):
    """The table's entry for ``code``; unknown codes get a generic sentence."""
    if code in CODES:
        return CODES[code]
    sentence = _UNLISTED % {"code": code}
    return CodeInfo(code, ErrorClass.UNKNOWN, sentence)


def describe(code):
    """The English sentence about ``code``, as stored (None or 0 means success)."""
    if not code:
        return ""
    return code_info(code).sentence


def sentence_for_people(code):
    """``describe(code)`` in the active language, for a page a person reads."""
    if not code:
        return ""
    if code in CODES:
        return gettext(CODES[code].sentence)
    return gettext(_UNLISTED) % {"code": code}


# The part of a sentence that promises a retry, by language: in English "It
# will be retried (more slowly)." or "; whether ... is checked before any
# retry."; the Chinese catalogue ends such a sentence with "，将会重试。",
# "，将放慢速度重试。" or "；重试前会先查询…。".
_RETRY_PROMISE = {
    "en": (re.compile(r"\s*It will be retried[^.]*\.$|;[^;]*\bretry\.$"), "."),
    "zh": (re.compile(r"[，；][^，；]*重试[^，；]*。$"), "。"),
}


def _without_retry_promise(sentence, language):
    pattern, stop = _RETRY_PROMISE.get(language[:2], _RETRY_PROMISE["en"])
    cut = pattern.sub("", sentence)
    return cut if cut.endswith(stop) else cut + stop


def describe_cause(code):
    """``describe(code)`` without its promise of a retry: what happened, only."""
    return _without_retry_promise(describe(code), "en")


def cause_for_people(code):
    """``describe_cause(code)`` in the active language, for a page."""
    return _without_retry_promise(sentence_for_people(code), get_language() or "en")


_USERSIG_IN_TEXT = re.compile(r"(usersig=)[^&\s'\"]+", re.IGNORECASE)


def redact(text):
    """``text`` with any ``usersig=`` query value replaced, for messages and logs."""
    return _USERSIG_IN_TEXT.sub(r"\1[hidden]", str(text))


class ImError(Exception):
    """Any failed call. ``code`` is the API's ErrorCode (or a negative local one)."""

    error_class = ErrorClass.UNKNOWN

    def __init__(self, code, info="", *, api="", call=None):
        self.code = code
        self.info = redact(info)
        self.api = api
        # The CallRecords of the requests, for the audit trail: one, or two
        # when a renewed UserSig was tried after the first was refused.
        self.calls = [call] if call is not None else []
        super().__init__(f"{api}: {code} {self.info}".strip())

    @property
    def call(self):
        """The record of the request that got this answer, or None."""
        return self.calls[-1] if self.calls else None

    @property
    def sentence(self):
        return describe(self.code)


class TransientError(ImError):
    """Try again later; importing twice is harmless."""

    error_class = ErrorClass.TRANSIENT


class RateLimitedError(TransientError):
    error_class = ErrorClass.RATE_LIMITED


class NetworkError(TransientError):
    """The request may not have left: nothing was applied that we know of."""


class ReplyLostError(TransientError):
    """The request left but no answer came: it may have been applied."""


class QuotaError(ImError):
    error_class = ErrorClass.QUOTA


class ConfigurationError(ImError):
    """Settings or signature: retrying will not help until someone fixes them."""

    error_class = ErrorClass.CONFIGURATION


class InvalidRequestError(ImError):
    error_class = ErrorClass.INVALID_REQUEST


class AccountPermanentError(ImError):
    error_class = ErrorClass.ACCOUNT_PERMANENT


class AccountMissingError(InvalidRequestError):
    """The account is not in IM (account_delete); nothing is left to delete."""

    error_class = ErrorClass.ACCOUNT_MISSING


class UnknownCodeError(ImError):
    error_class = ErrorClass.UNKNOWN


_EXCEPTION_FOR_CLASS = {
    ErrorClass.TRANSIENT: TransientError,
    ErrorClass.RATE_LIMITED: RateLimitedError,
    ErrorClass.QUOTA: QuotaError,
    ErrorClass.CONFIGURATION: ConfigurationError,
    ErrorClass.INVALID_REQUEST: InvalidRequestError,
    ErrorClass.ACCOUNT_PERMANENT: AccountPermanentError,
    ErrorClass.ACCOUNT_MISSING: AccountMissingError,
    ErrorClass.UNKNOWN: UnknownCodeError,
}


def exception_for(code, info="", *, api="", call=None):
    """The typed exception for a whole-call ErrorCode, chosen through the table."""
    cls = _EXCEPTION_FOR_CLASS[code_info(code).error_class]
    return cls(code, info, api=api, call=call)
