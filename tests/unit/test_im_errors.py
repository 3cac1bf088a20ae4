"""The error table: every documented code lands in the right class, with a sentence."""

import pytest

from accounts.im import errors
from accounts.im.errors import (
    AccountMissingError,
    AccountPermanentError,
    ConfigurationError,
    ErrorClass,
    ImError,
    InvalidRequestError,
    QuotaError,
    RateLimitedError,
    TransientError,
    UnknownCodeError,
)

TRANSIENT = [70169, 70202, 70500, 40006, 30006, 30007, 30008, 60008]
RATE_LIMITED = [60007, 60011, 60018, 60019]
QUOTA = [70398]
CONFIGURATION = [
    70403,
    60004,
    60005,
    60006,
    60010,
    60012,
    60016,
    60017,
    60020,
    60021,
    60025,
    60026,
    70001,
    70002,
    70003,
    70005,
    70009,
    70013,
    70014,
    70016,
    70020,
    70050,
    70052,
    71000,
]
INVALID = [70402, 40601, 60002, 60003, 60009, 60015, 70206]
ACCOUNT_PERMANENT = [70399]
ACCOUNT_MISSING = [70107]

# The reference's table, code by code, with the exception each must raise.
EXPECTED = (
    [(code, TransientError) for code in TRANSIENT]
    + [(code, RateLimitedError) for code in RATE_LIMITED]
    + [(code, QuotaError) for code in QUOTA]
    + [(code, ConfigurationError) for code in CONFIGURATION]
    + [(code, InvalidRequestError) for code in INVALID]
    + [(code, AccountPermanentError) for code in ACCOUNT_PERMANENT]
    + [(code, AccountMissingError) for code in ACCOUNT_MISSING]
)
DOCUMENTED = sorted(code for code, _ in EXPECTED)


def test_it_lists_each_documented_code_once():
    assert len(DOCUMENTED) == len(set(DOCUMENTED))


@pytest.mark.parametrize(("code", "expected"), EXPECTED)
def test_it_raises_the_documented_class_for_each_code(code, expected):
    exc = errors.exception_for(code, "info", api="multiaccount_import")
    assert type(exc) is expected
    assert exc.code == code
    assert exc.api == "multiaccount_import"


@pytest.mark.parametrize("code", DOCUMENTED)
def test_it_has_a_table_entry_for_each_documented_code(code):
    assert code in errors.CODES


def test_it_has_no_positive_code_the_reference_does_not_list():
    positive = {code for code in errors.CODES if code > 0}
    assert positive == set(DOCUMENTED)


@pytest.mark.parametrize("code", sorted(errors.CODES))
def test_its_exception_class_agrees_with_the_table(code):
    exc = errors.exception_for(code)
    assert exc.error_class == errors.code_info(code).error_class


@pytest.mark.parametrize("code", sorted(errors.CODES))
def test_it_has_a_sentence_for_each_code(code):
    sentence = errors.describe(code)
    assert sentence.strip()
    assert sentence[0].isupper() and sentence.endswith(".")
    assert errors.exception_for(code).sentence == sentence


def test_it_counts_rate_limits_and_network_failures_as_transient():
    assert issubclass(RateLimitedError, TransientError)
    assert issubclass(errors.NetworkError, TransientError)
    assert issubclass(errors.ReplyLostError, TransientError)


def test_it_keeps_configuration_errors_apart_from_transient_ones():
    assert not issubclass(ConfigurationError, TransientError)
    assert not issubclass(QuotaError, TransientError)
    assert not issubclass(UnknownCodeError, TransientError)


@pytest.mark.parametrize("code", [1, 12345, 70108, 99999])
def test_it_raises_unknown_code_error_for_an_unlisted_code(code):
    exc = errors.exception_for(code, "something new", api="account_check")
    assert type(exc) is UnknownCodeError
    assert exc.error_class == ErrorClass.UNKNOWN
    assert str(code) in exc.sentence


@pytest.mark.parametrize(
    "code", [errors.NETWORK_ERROR, errors.TIMEOUT, errors.HTTP_ERROR]
)
def test_it_describes_local_codes_as_transient(code):
    assert errors.code_info(code).error_class == ErrorClass.TRANSIENT
    assert errors.describe(code)


@pytest.mark.parametrize("code", [0, None])
def test_it_describes_success_as_nothing(code):
    assert errors.describe(code) == ""


def test_it_renews_the_signature_only_for_expired_or_invalidated_usersigs():
    assert errors.RENEWABLE_SIGNATURE_CODES == {70001, 70052}


# -- redaction -------------------------------------------------------------

SIG = "eJwtzF0LgjAYhv*KvNcR*1w2vFOl4HQjmJBWUkTQaN*k2pN5pK9f"


@pytest.mark.parametrize(
    "text",
    [
        f"https://im.test/v4/x?sdkappid=1&usersig={SIG}&random=2",
        f"https://im.test/v4/x?usersig={SIG}",
        f"GET /v4/x?UserSig={SIG} HTTP/1.1",
        f"('Connection aborted.', url='/v4/x?usersig={SIG}')",
        f'"/v4/x?usersig={SIG}"',
    ],
)
def test_it_redacts_a_usersig_in_text(text):
    redacted = errors.redact(text)
    assert SIG not in redacted
    assert "[hidden]" in redacted


def test_it_redacts_a_url_encoded_usersig():
    encoded = SIG.replace("*", "%2A")
    redacted = errors.redact(f"/v4/x?usersig={encoded}&random=1")
    assert encoded not in redacted
    assert redacted.endswith("&random=1")


def test_it_leaves_text_without_a_usersig_alone():
    assert errors.redact("account 70107 not found") == "account 70107 not found"


def test_it_redacts_the_info_of_an_exception():
    exc = errors.exception_for(70009, f"bad sig usersig={SIG}", api="account_check")
    for text in (str(exc), repr(exc), exc.info):
        assert SIG not in text
    assert "70009" in str(exc) and "account_check" in str(exc)


def test_its_exceptions_are_im_errors():
    for code, _ in EXPECTED:
        assert isinstance(errors.exception_for(code), ImError)
