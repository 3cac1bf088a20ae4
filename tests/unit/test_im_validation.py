"""The API's field rules: UserID, Nick and FaceUrl, counted in UTF-8 bytes."""

import pytest

from accounts.im.validation import (
    PROFILE_MAX_BYTES,
    USERID_MAX_BYTES,
    FieldError,
    clean_face_url,
    clean_nick,
    clean_user_id,
)

# -- UserID ----------------------------------------------------------------


def test_it_trims_surrounding_whitespace_from_a_user_id():
    assert clean_user_id("  alice_01\t\n") == "alice_01"


def test_it_keeps_letters_digits_and_printable_ascii_symbols():
    assert clean_user_id("a-b_c.d@e!~") == "a-b_c.d@e!~"


@pytest.mark.parametrize("value", ["", "   ", "\t\n"])
def test_it_refuses_an_empty_user_id(value):
    with pytest.raises(FieldError, match="empty") as caught:
        clean_user_id(value)
    assert caught.value.field == "UserID"


def test_it_accepts_a_user_id_of_exactly_32_bytes():
    value = "u" * USERID_MAX_BYTES
    assert clean_user_id(value) == value


def test_it_refuses_a_user_id_of_33_bytes_and_says_how_many():
    with pytest.raises(FieldError, match="33 bytes") as caught:
        clean_user_id("u" * 33)
    assert caught.value.field == "UserID"
    assert "32" in caught.value.message


def test_it_counts_a_cjk_user_id_in_bytes_not_characters():
    value = "用" * 11  # 11 characters, 33 bytes in UTF-8
    assert len(value) == 11 and len(value.encode()) == 33
    with pytest.raises(FieldError, match="33 bytes"):
        clean_user_id(value)


def test_it_refuses_a_short_non_ascii_user_id():
    with pytest.raises(FieldError, match="only"):
        clean_user_id("用户")


@pytest.mark.parametrize("value", ["al ice", "a\tb", "é", "a\x00b", "a\x7fb"])
def test_it_refuses_spaces_controls_and_non_ascii_inside_a_user_id(value):
    with pytest.raises(FieldError) as caught:
        clean_user_id(value)
    assert caught.value.field == "UserID"


@pytest.mark.parametrize("value", [None, 123, 12.5, b"alice", ["alice"], True])
def test_it_refuses_a_user_id_that_is_not_a_string(value):
    with pytest.raises(FieldError, match="must be text"):
        clean_user_id(value)


def test_it_refuses_a_user_id_with_a_lone_surrogate_without_crashing():
    with pytest.raises(FieldError):
        clean_user_id("a\ud800")


def test_its_field_error_is_a_value_error_with_a_sentence():
    with pytest.raises(ValueError) as caught:
        clean_user_id("")
    assert str(caught.value) == caught.value.message
    assert str(caught.value).endswith(".")


# -- Nick ------------------------------------------------------------------


def test_it_returns_an_empty_nick_for_none_or_blank():
    assert clean_nick(None) == ""
    assert clean_nick("   ") == ""


def test_it_trims_a_nick():
    assert clean_nick("  Alice  ") == "Alice"


def test_it_accepts_a_nick_of_exactly_500_bytes():
    value = "昵" * 166 + "ab"  # 498 + 2 bytes
    assert len(value.encode()) == PROFILE_MAX_BYTES
    assert clean_nick(value) == value


def test_it_refuses_a_nick_of_501_bytes_with_the_byte_count():
    value = "昵" * 167  # 501 bytes, 167 characters
    with pytest.raises(FieldError) as caught:
        clean_nick(value)
    assert caught.value.field == "Nick"
    assert "501 bytes" in caught.value.message
    assert "500" in caught.value.message


def test_it_refuses_a_nick_that_is_not_a_string():
    with pytest.raises(FieldError, match="Nick must be text"):
        clean_nick(42)


def test_it_refuses_a_nick_with_a_lone_surrogate_without_crashing():
    with pytest.raises(FieldError) as caught:
        clean_nick("a\udcff")
    assert caught.value.field == "Nick"


# -- FaceUrl ---------------------------------------------------------------


def test_it_returns_an_empty_face_url_for_none_or_blank():
    assert clean_face_url(None) == ""
    assert clean_face_url("  ") == ""


@pytest.mark.parametrize(
    "value",
    [
        "http://example.com/a.png",
        "https://cdn.example.com/u/1.jpg?size=200#x",
        "https://[::1]/a.png",
        "https://127.0.0.1:8443/a.png",
    ],
)
def test_it_accepts_an_http_or_https_url_with_a_host(value):
    assert clean_face_url(f" {value} ") == value


def test_it_accepts_a_face_url_of_exactly_500_bytes():
    prefix = "https://example.com/"
    value = prefix + "a" * (PROFILE_MAX_BYTES - len(prefix))
    assert clean_face_url(value) == value


def test_it_refuses_a_face_url_of_501_bytes_with_the_byte_count():
    prefix = "https://example.com/"
    value = prefix + "a" * (PROFILE_MAX_BYTES + 1 - len(prefix))
    with pytest.raises(FieldError) as caught:
        clean_face_url(value)
    assert caught.value.field == "FaceUrl"
    assert "501 bytes" in caught.value.message


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "JavaScript://example.com/%0aalert(1)",
        "data:image/png;base64,AAAA",
        "ftp://example.com/a.png",
        "example.com/a.png",
        "//example.com/a.png",
        "http://",
        "http:///a.png",
        "https://user@/a.png",
    ],
)
def test_it_refuses_a_face_url_that_is_not_http_with_a_host(value):
    with pytest.raises(FieldError, match="http") as caught:
        clean_face_url(value)
    assert caught.value.field == "FaceUrl"


@pytest.mark.parametrize("value", ["http://[::1", "https://[zz]/a.png"])
def test_it_refuses_a_malformed_ipv6_url_without_crashing(value):
    with pytest.raises(FieldError) as caught:
        clean_face_url(value)
    assert caught.value.field == "FaceUrl"


def test_it_refuses_a_face_url_with_spaces_inside():
    with pytest.raises(FieldError, match="spaces"):
        clean_face_url("https://example.com/a b.png")


def test_it_refuses_a_face_url_that_is_not_a_string():
    with pytest.raises(FieldError, match="FaceUrl must be text"):
        clean_face_url(["https://example.com/a.png"])


def _face_url_by_urlsplit(value):
    """The avatar rule as urlsplit alone reads it: what the fast path must match."""
    from urllib.parse import urlsplit

    value = value.strip()
    if not value:
        return value
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        host = None
    if not host or parts.scheme not in ("http", "https"):
        return "not http"
    if any(c.isspace() for c in value):
        return "spaces"
    return value


def test_the_plain_url_fast_path_decides_as_urlsplit_does():
    import random

    from accounts.im import validation

    pieces = list("hHtTpPsS:/?#@[]-._~09aZ% \t\n\x0b\x01é名\u3000\u00a0\uff10")
    prefixes = ["http://", "https://", "HTTP://", "http:/", "http:", "ftp://", ""]
    prefixes += ["https://[", "http://@", "http://a:", " http://", "http://-"]
    randomly = random.Random(7)
    fast = 0
    for _ in range(100_000):
        tail = "".join(randomly.choices(pieces, k=randomly.randint(0, 12)))
        value = randomly.choice(prefixes) + tail
        try:
            decided = clean_face_url(value)
        except FieldError as exc:
            decided = {
                "Avatar URL must be an http:// or https:// address.": "not http",
                "Avatar URL must not contain spaces.": "spaces",
            }[exc.message]
        assert decided == _face_url_by_urlsplit(value), repr(value)
        fast += bool(validation._PLAIN_HTTP_URL.fullmatch(value.strip()))
    assert fast > 1000  # the fast path was taken often enough to be tested
