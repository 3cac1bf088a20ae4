"""ImClient against a fake HTTP edge (``responses``): no network, no sandbox."""

import http.client
import json
import time
import traceback
from urllib.parse import parse_qs, parse_qsl, urlsplit

import pytest
import requests
import responses
from TLSSigAPIv2 import TLSSigAPIv2

from accounts.im import errors
from accounts.im.client import (
    CallRecord,
    ImClient,
    ImConfig,
    ImportResult,
    ItemResult,
    ItemsResult,
)
from imsandbox.usersig import verify as verify_usersig
from tests.unit.test_im_errors import EXPECTED

APP = 1400000001
SECRET = "b2a7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7"
ADMIN = "administrator"
BASE = "https://im.test"
QUERY_KEYS = {"sdkappid", "identifier", "usersig", "random", "contenttype"}


def endpoint(api):
    return f"{BASE}/v4/im_open_login_svc/{api}"


def ok(**extra):
    return {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": "", **extra}


def fail(code, info="failed"):
    return {"ActionStatus": "FAIL", "ErrorCode": code, "ErrorInfo": info}


def query_of(url):
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def query(call):
    """The query parameters of a request the fake edge received."""
    return query_of(call.request.url)


def sent_body(call):
    return json.loads(call.request.body)


@pytest.fixture
def config():
    return ImConfig(
        sdkappid=APP,
        secret_key=SECRET,
        identifier=ADMIN,
        base_url=BASE + "/",
        connect_timeout=1.5,
        read_timeout=7.0,
        usersig_ttl=3600,
    )


@pytest.fixture
def client(config):
    client = ImClient(config)
    yield client
    client.close()


@pytest.fixture
def im():
    """The fake HTTP edge; any unregistered request fails as a ConnectionError."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def sigs_made(monkeypatch):
    made = []
    original = TLSSigAPIv2.gen_sig

    def spy(self, identifier, expire=180 * 86400):
        made.append(identifier)
        return original(self, identifier, expire)

    monkeypatch.setattr(TLSSigAPIv2, "gen_sig", spy)
    return made


def assert_no_secrets(exc, usersig):
    """Neither the key nor the UserSig shows in anything a log or page may print."""
    texts = [
        str(exc),
        repr(exc),
        repr(exc.call),
        str(vars(exc.call)),
        "".join(traceback.format_exception(exc)),
    ]
    chained = exc.__cause__ or exc.__context__
    while chained is not None:
        texts += [str(chained), repr(chained), repr(getattr(chained, "request", ""))]
        request = getattr(chained, "request", None)
        texts.append(str(getattr(request, "url", "")))
        chained = chained.__cause__ or chained.__context__
    encoded = usersig.replace("*", "%2A")
    for text in texts:
        assert SECRET not in text
        assert usersig not in text
        assert encoded not in text


# -- the request -----------------------------------------------------------


def test_it_posts_to_the_endpoint_path_with_exactly_the_documented_query(client, im):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    client.account_check(["alice"])
    url = urlsplit(im.calls[0].request.url)
    assert (url.scheme, url.netloc) == ("https", "im.test")
    assert url.path == "/v4/im_open_login_svc/account_check"
    pairs = parse_qsl(url.query, keep_blank_values=True)
    assert sorted(k for k, _ in pairs) == sorted(QUERY_KEYS)
    params = dict(pairs)
    assert params["sdkappid"] == str(APP)
    assert params["identifier"] == ADMIN
    assert params["contenttype"] == "json"
    assert 0 <= int(params["random"]) <= 4294967295


@pytest.mark.parametrize(
    "api", ["account_import", "multiaccount_import", "account_check", "account_delete"]
)
def test_it_builds_each_endpoints_url_under_the_login_service(client, api):
    url = urlsplit(client.url(api))
    assert url.path == f"/v4/im_open_login_svc/{api}"
    assert set(parse_qs(url.query)) == QUERY_KEYS


def test_it_sends_a_valid_usersig_for_the_admin(client, im):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    client.account_check(["alice"])
    usersig = query(im.calls[0])["usersig"]
    claims = verify_usersig(
        usersig, sdkappid=APP, secret_key=SECRET, identifier=ADMIN, now=time.time()
    )
    assert claims.expire == 3600


def test_it_sends_a_32_bit_unsigned_random_that_changes_every_time(client):
    values = [int(query_of(client.url("account_check"))["random"]) for _ in range(3000)]
    assert all(0 <= value <= 4294967295 for value in values)
    # 3000 draws from 2**32 values: a repeat is a 1-in-1000 event, many are a bug.
    assert len(set(values)) >= 2998
    # The whole 32-bit range is used, not 15 or 31 bits of it.
    assert max(values) >= 2**31 and min(values) < 2**31
    assert sum(value >= 2**31 for value in values) > 1300


def test_it_sends_a_fresh_random_on_each_call(client, im):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    for _ in range(20):
        client.account_check(["alice"])
    randoms = {query(call)["random"] for call in im.calls}
    assert len(randoms) == 20


def test_it_sends_a_json_body_with_a_json_content_type(client, im):
    im.post(endpoint("account_import"), json=ok())
    client.account_import("alice", nick="阿丽斯", face_url="https://x.test/a.png")
    request = im.calls[0].request
    assert request.headers["Content-Type"] == "application/json"
    assert json.loads(request.body.decode("utf-8")) == {
        "UserID": "alice",
        "Nick": "阿丽斯",
        "FaceUrl": "https://x.test/a.png",
    }


def test_it_passes_connect_and_read_timeouts_from_the_config(client, im):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    client.account_check(["alice"])
    assert im.calls[0].request.req_kwargs["timeout"] == (1.5, 7.0)


# -- UserSig reuse and renewal ---------------------------------------------


def test_it_reuses_one_usersig_across_calls(client, im, sigs_made):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    im.post(endpoint("multiaccount_import"), json=ok(FailAccounts=[]))
    for _ in range(5):
        client.account_check(["alice"])
        client.multiaccount_import(["alice"])
    assert len({query(call)["usersig"] for call in im.calls}) == 1
    assert len(sigs_made) == 1


@pytest.mark.parametrize("code", [70001, 70052])
def test_it_renews_the_usersig_and_sends_once_more_when_it_is_refused(
    client, im, sigs_made, code
):
    url = endpoint("multiaccount_import")
    im.post(url, json=fail(code, "usersig expired"))
    im.post(url, json=ok(FailAccounts=[]))
    result = client.multiaccount_import(["alice", "bob"])
    assert result.ok
    assert len(im.calls) == 2
    assert len(sigs_made) == 2
    assert sent_body(im.calls[0]) == sent_body(im.calls[1])
    assert query(im.calls[0])["random"] != query(im.calls[1])["random"]
    assert result.call.error_code == 0


def test_it_sends_only_once_more_when_the_renewed_usersig_is_refused_too(
    client, im, sigs_made
):
    im.post(endpoint("account_check"), json=fail(70001, "usersig expired"))
    with pytest.raises(errors.ConfigurationError) as caught:
        client.account_check(["alice"])
    assert caught.value.code == 70001
    assert len(im.calls) == 2
    assert len(sigs_made) == 2


def test_it_keeps_the_renewed_usersig_for_later_calls(client, im, sigs_made):
    url = endpoint("account_check")
    im.post(url, json=fail(70001))
    im.post(url, json=ok(ResultItem=[]))
    client.account_check(["alice"])
    client.account_check(["alice"])
    client.account_check(["alice"])
    assert len(sigs_made) == 2
    assert len(im.calls) == 4


@pytest.mark.parametrize("code", [70009, 70013, 70050, 60007, 70169])
def test_it_does_not_resend_for_other_codes(client, im, sigs_made, code):
    im.post(endpoint("account_check"), json=fail(code))
    with pytest.raises(errors.ImError):
        client.account_check(["alice"])
    assert len(im.calls) == 1
    assert len(sigs_made) == 1


# -- the session -----------------------------------------------------------


def test_it_reuses_one_requests_session(monkeypatch, config, im):
    sessions = []

    class CountingSession(requests.Session):
        def __init__(self):
            super().__init__()
            self.requests = 0
            sessions.append(self)

        def request(self, *args, **kwargs):
            self.requests += 1
            return super().request(*args, **kwargs)

    monkeypatch.setattr(requests, "Session", CountingSession)
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    im.post(endpoint("multiaccount_import"), json=ok(FailAccounts=[]))
    client = ImClient(config)
    client.account_check(["a"])
    client.multiaccount_import(["a"])
    client.account_check(["b"])
    assert len(sessions) == 1
    assert sessions[0].requests == 3


class FakeResponse:
    def __init__(self, payload, status=200):
        self.status_code = status
        self._payload = payload

    def json(self):
        return self._payload


class FakeSession:
    """A session that records each post and answers from a script."""

    def __init__(self, *answers, delay=0.0):
        self.headers = {}
        self.posts = []
        self._answers = list(answers)
        self._delay = delay

    def post(self, url, data=None, timeout=None):
        self.posts.append({"url": url, "data": data, "timeout": timeout})
        time.sleep(self._delay)
        return FakeResponse(self._answers.pop(0))

    def close(self):
        pass


def test_it_uses_the_session_it_is_given(config):
    session = FakeSession(ok(FailAccounts=[]), ok(FailAccounts=[]))
    client = ImClient(config, session=session)
    client.multiaccount_import(["a"])
    client.multiaccount_import(["b"])
    assert len(session.posts) == 2
    assert session.headers["Content-Type"] == "application/json"
    assert session.posts[0]["timeout"] == (1.5, 7.0)


def test_it_records_how_long_a_call_took(config):
    session = FakeSession(ok(ResultItem=[]), delay=0.02)
    result = ImClient(config, session=session).account_check(["a"])
    assert result.call.duration_ms >= 20
    assert result.call.started_at > 0


# -- batch sizes -----------------------------------------------------------


@pytest.mark.parametrize("count", [0, 101])
@pytest.mark.parametrize(
    "method", ["multiaccount_import", "account_check", "account_delete"]
)
def test_it_refuses_an_empty_or_oversized_batch_before_any_http(config, method, count):
    session = FakeSession()
    client = ImClient(config, session=session)
    with pytest.raises(ValueError, match=str(count)):
        getattr(client, method)([f"user{i}" for i in range(count)])
    assert session.posts == []


@pytest.mark.parametrize(
    "method", ["multiaccount_import", "account_check", "account_delete"]
)
def test_it_accepts_a_batch_of_exactly_100(im, client, method):
    im.post(endpoint(method), json=ok(FailAccounts=[], ResultItem=[]))
    getattr(client, method)([f"user{i}" for i in range(100)])
    assert len(im.calls) == 1


@pytest.mark.parametrize(
    "method", ["multiaccount_import", "account_check", "account_delete"]
)
def test_it_refuses_an_invalid_user_id_before_any_http(config, method):
    session = FakeSession()
    client = ImClient(config, session=session)
    with pytest.raises(errors.InvalidRequestError, match="UserID"):
        getattr(client, method)(["alice", "has space"])
    assert session.posts == []


# -- the endpoints ---------------------------------------------------------


def test_it_imports_one_account(client, im):
    im.post(endpoint("account_import"), json=ok())
    result = client.account_import("  alice ")
    assert sent_body(im.calls[0]) == {"UserID": "alice"}
    assert isinstance(result, ImportResult) and result.ok
    assert result.call.api == "account_import"
    assert result.call.user_ids == ["alice"]


def test_it_uses_the_account_list_form_with_nick_and_face_url_by_default(client, im):
    im.post(endpoint("multiaccount_import"), json=ok(FailAccounts=[]))
    client.multiaccount_import(
        [
            {"UserID": "a", "Nick": "Ann", "FaceUrl": "https://x.test/a.png"},
            "b",
            {"UserID": " c ", "Nick": ""},
        ]
    )
    assert sent_body(im.calls[0]) == {
        "AccountList": [
            {"UserID": "a", "Nick": "Ann", "FaceUrl": "https://x.test/a.png"},
            {"UserID": "b"},
            {"UserID": "c"},
        ]
    }


def test_it_returns_fail_accounts_as_data(client, im):
    im.post(endpoint("multiaccount_import"), json=ok(FailAccounts=["b", "c"]))
    result = client.multiaccount_import(["a", "b", "c"])
    assert isinstance(result, ImportResult)
    assert result.fail_accounts == ["b", "c"]
    assert not result.ok
    assert result.call.fail_accounts == ["b", "c"]
    assert result.call.user_ids == ["a", "b", "c"]
    assert result.call.error_code == 0 and result.call.http_status == 200


def test_it_treats_a_missing_fail_accounts_as_all_imported(client, im):
    im.post(endpoint("multiaccount_import"), json=ok())
    result = client.multiaccount_import(["a", "b"])
    assert result.ok and result.fail_accounts == []


def test_it_parses_account_check_result_items(client, im):
    im.post(
        endpoint("account_check"),
        json=ok(
            ResultItem=[
                {
                    "UserID": "a",
                    "ResultCode": 0,
                    "ResultInfo": "",
                    "AccountStatus": "Imported",
                },
                {
                    "UserID": "b",
                    "ResultCode": 0,
                    "ResultInfo": "",
                    "AccountStatus": "NotImported",
                },
            ]
        ),
    )
    result = client.account_check(["a", "b"])
    assert sent_body(im.calls[0]) == {"CheckItem": [{"UserID": "a"}, {"UserID": "b"}]}
    assert isinstance(result, ItemsResult)
    assert result.items == [
        ItemResult("a", 0, "", "Imported"),
        ItemResult("b", 0, "", "NotImported"),
    ]
    assert result.by_user_id()["b"].account_status == "NotImported"
    assert result.call.api == "account_check"


def test_it_parses_account_delete_result_items_with_per_item_codes(client, im):
    im.post(
        endpoint("account_delete"),
        json=ok(
            ResultItem=[
                {"UserID": "a", "ResultCode": 0, "ResultInfo": ""},
                {"UserID": "b", "ResultCode": 70107, "ResultInfo": "not exist"},
            ]
        ),
    )
    result = client.account_delete(["a", "b"])
    assert sent_body(im.calls[0]) == {"DeleteItem": [{"UserID": "a"}, {"UserID": "b"}]}
    assert result.by_user_id()["b"].result_code == 70107
    assert result.by_user_id()["a"].account_status == ""


# -- faults ----------------------------------------------------------------


def raising(exc_factory):
    """A responses callback raising what requests would, its message naming the URL."""

    def callback(request):
        raise exc_factory(request.url)

    return callback


def refusal(client, im, *, callback=None, **reply):
    """The error account_check raises for ``reply``; it must not leak secrets."""
    if callback:
        im.add_callback(responses.POST, endpoint("account_check"), callback=callback)
    else:
        im.post(endpoint("account_check"), **reply)
    with pytest.raises(errors.ImError) as caught:
        client.account_check(["alice", "bob"])
    assert im.calls, "the request reached the HTTP edge"
    for usersig in {query(call)["usersig"] for call in im.calls}:
        assert_no_secrets(caught.value, usersig)
    return caught.value


def test_it_reports_a_refused_connection_as_a_network_error(client, im):
    exc = refusal(
        client,
        im,
        callback=raising(
            lambda url: requests.ConnectionError(
                f"HTTPSConnectionPool: Max retries exceeded with url: {url} "
                "(Caused by NewConnectionError('Connection refused'))"
            )
        ),
    )
    assert type(exc) is errors.NetworkError
    assert exc.code == errors.NETWORK_ERROR
    assert exc.call.error_code == errors.NETWORK_ERROR
    assert exc.call.http_status is None


def test_it_reports_a_connect_timeout_as_a_network_error(client, im):
    exc = refusal(
        client,
        im,
        callback=raising(lambda url: requests.ConnectTimeout(f"connect {url}")),
    )
    assert type(exc) is errors.NetworkError


def test_it_reports_a_read_timeout_as_a_lost_reply(client, im):
    exc = refusal(
        client,
        im,
        callback=raising(lambda url: requests.ReadTimeout(f"Read timed out. {url}")),
    )
    assert type(exc) is errors.ReplyLostError
    assert exc.code == errors.TIMEOUT
    assert exc.call.error_code == errors.TIMEOUT


def test_it_reports_a_connection_closed_before_the_reply_as_a_lost_reply(client, im):
    def aborted(url):
        cause = http.client.RemoteDisconnected("Remote end closed connection")
        return requests.ConnectionError(("Connection aborted.", cause, url))

    exc = refusal(client, im, callback=raising(aborted))
    assert type(exc) is errors.ReplyLostError


def test_it_reports_a_reply_broken_off_midway_as_a_lost_reply(client, im):
    exc = refusal(
        client,
        im,
        callback=raising(
            lambda url: requests.exceptions.ChunkedEncodingError(
                f"Connection broken: IncompleteRead {url}"
            )
        ),
    )
    assert type(exc) is errors.ReplyLostError


def test_it_reports_http_502_as_transient(client, im):
    exc = refusal(client, im, body="<html>Bad Gateway</html>", status=502)
    assert type(exc) is errors.TransientError
    assert exc.code == errors.HTTP_ERROR
    assert exc.call.http_status == 502
    assert exc.call.error_code == errors.HTTP_ERROR


@pytest.mark.parametrize(
    "body",
    [
        "<html>proxy says hello</html>",
        "",
        "[1, 2]",
        '"OK"',
        '{"ActionStatus": "OK"}',
        '{"ErrorCode": null}',
        '{"ErrorCode": "zero"}',
    ],
)
def test_it_reports_a_200_that_is_not_the_apis_json_as_transient(client, im, body):
    exc = refusal(client, im, body=body, status=200)
    assert type(exc) is errors.TransientError
    assert exc.code == errors.BAD_RESPONSE
    assert exc.call.error_code == errors.BAD_RESPONSE
    assert exc.call.http_status == 200


@pytest.mark.parametrize(("code", "expected"), [*EXPECTED, (99999, None)])
def test_it_raises_the_typed_error_for_each_error_code_with_its_call(
    client, im, code, expected
):
    expected = expected or errors.UnknownCodeError
    exc = refusal(client, im, json=fail(code, f"code {code} usersig=leaked&x=1"))
    assert type(exc) is expected
    assert exc.code == code and exc.api == "account_check"
    call = exc.call
    assert isinstance(call, CallRecord)
    assert call.api == "account_check"
    assert call.user_ids == ["alice", "bob"]
    assert call.error_code == code
    assert call.http_status == 200
    assert call.duration_ms >= 0 and call.started_at > 0
    assert "leaked" not in call.error_info and "leaked" not in str(exc)
    assert call.error_info.startswith(f"code {code}")


def test_it_never_shows_the_key_or_usersig_in_reprs(client, config, im):
    im.post(endpoint("account_check"), json=ok(ResultItem=[]))
    result = client.account_check(["alice"])
    usersig = query(im.calls[0])["usersig"]
    for text in (repr(config), repr(client), repr(result), repr(result.call)):
        assert SECRET not in text and usersig not in text
