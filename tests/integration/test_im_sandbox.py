"""The real ImClient against the IM sandbox subprocess, over HTTP on loopback."""

import base64
import json
import logging
import socket
import threading
import time
import traceback
import zlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from unittest import mock
from urllib.parse import parse_qsl

import pytest
import requests
from django.conf import settings
from django.core.management import CommandError, call_command
from TLSSigAPIv2 import TLSSigAPIv2

from accounts import conf
from accounts.im import errors
from accounts.im.client import ImClient
from tests.fixtures_sandbox import im_config_for

# -- helpers ------------------------------------------------------------------


def admin():
    return settings.IM_ADMIN_IDENTIFIER


def make_usersig(identifier=None, *, sdkappid=None, key=None, at=None, expire=86400):
    """A UserSig from tls-sig-api-v2, optionally made at time ``at``."""
    api = TLSSigAPIv2(sdkappid or conf.sdkappid(), key or conf.secret_key())
    identifier = identifier or admin()
    if at is None:
        return api.gen_sig(identifier, expire)
    with mock.patch("TLSSigAPIv2.time", SimpleNamespace(time=lambda: at)):
        return api.gen_sig(identifier, expire)


def _b64_decode(usersig):
    return base64.b64decode(
        usersig.replace("*", "+").replace("-", "/").replace("_", "=")
    )


def edit_usersig(usersig, **changes):
    """``usersig`` with its JSON fields changed (None removes one), not re-signed."""
    doc = json.loads(zlib.decompress(_b64_decode(usersig)))
    for name, value in changes.items():
        name = f"TLS.{name}"
        if value is None:
            doc.pop(name)
        else:
            doc[name] = value(doc[name]) if callable(value) else value
    raw = base64.b64encode(zlib.compress(json.dumps(doc).encode())).decode()
    return raw.replace("+", "*").replace("/", "-").replace("=", "_")


def flip_first_char(text):
    return ("B" if text[0] == "A" else "A") + text[1:]


def raw_call(client, api, body, *, method="POST", **params):
    """Call by hand: the client's URL with ``params`` replaced (None drops one)."""
    base, _, query = client.url(api).partition("?")
    values = dict(parse_qsl(query))
    for name, value in params.items():
        if value is None:
            values.pop(name, None)
        else:
            values[name] = value
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    response = requests.request(method, base, params=values, data=data, timeout=10)
    assert response.status_code == 200
    return response.json()


def statuses(client, user_ids):
    return {i.user_id: i.account_status for i in client.account_check(user_ids).items}


def api_stats(sandbox, api):
    return sandbox.stats()["apis"][api]


@pytest.fixture
def client_for():
    """``client_for(sandbox, **config_overrides)``: an ImClient, closed after."""
    clients = []

    def make(sandbox, **overrides):
        clients.append(ImClient(im_config_for(sandbox, **overrides)))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# -- the four endpoints -------------------------------------------------------


def test_it_imports_one_account_with_its_profile(sandbox, im_client):
    result = im_client.account_import(
        "alice", nick="Alice", face_url="https://x.test/a"
    )

    assert result.ok and result.call.error_code == 0
    stored = sandbox.account("alice")
    assert (stored["Nick"], stored["FaceUrl"]) == ("Alice", "https://x.test/a")


def test_it_imports_a_new_form_batch_and_updates_existing_profiles(sandbox, im_client):
    im_client.multiaccount_import(
        [{"UserID": "u1", "Nick": "One", "FaceUrl": "https://x.test/1"}, "u2"]
    )
    result = im_client.multiaccount_import([{"UserID": "u1", "Nick": "Uno"}])

    assert result.fail_accounts == []
    assert sandbox.account("u1")["Nick"] == "Uno"
    assert sandbox.account("u1")["FaceUrl"] == "https://x.test/1"  # not sent: kept
    assert sandbox.account("u2")["Nick"] == ""


def test_it_imports_an_old_form_batch_without_touching_profiles(sandbox, im_client):
    # The older page's form (UserIDs only): our client sends the new one, so by hand.
    im_client.account_import("u1", nick="One")
    answer = raw_call(
        im_client, "multiaccount_import", {"Accounts": ["u1", "u2", "u3"]}
    )

    assert (answer["ErrorCode"], answer["FailAccounts"]) == (0, [])
    assert sandbox.account("u1")["Nick"] == "One"
    assert sandbox.stats()["accounts"] == 3


def test_it_checks_imported_and_not_imported_accounts(im_client):
    im_client.multiaccount_import(["in1", "in2"])

    result = im_client.account_check(["in1", "out1", "in2"])

    assert [(i.user_id, i.account_status, i.result_code) for i in result.items] == [
        ("in1", "Imported", 0),
        ("out1", "NotImported", 0),
        ("in2", "Imported", 0),
    ]


def test_it_deletes_and_answers_70107_for_unknown_accounts(sandbox, im_client):
    im_client.multiaccount_import(["d1", "d2"])

    result = im_client.account_delete(["d1", "ghost"]).by_user_id()

    assert result["d1"].result_code == 0
    assert result["ghost"].result_code == 70107
    assert statuses(im_client, ["d1", "d2"]) == {"d1": "NotImported", "d2": "Imported"}
    assert sandbox.stats()["blocked"] == 1


def test_it_refuses_to_reimport_a_deleted_account(im_client):
    im_client.multiaccount_import(["gone"])
    im_client.account_delete(["gone"])

    with pytest.raises(errors.AccountPermanentError) as one:
        im_client.account_import("gone")
    with pytest.raises(errors.AccountPermanentError) as batch:
        im_client.multiaccount_import(["fresh", "gone"])

    assert one.value.code == batch.value.code == 70399
    assert "gone" in batch.value.info
    # The whole batch is refused: the pipeline then sends it one by one.
    assert statuses(im_client, ["fresh"]) == {"fresh": "NotImported"}


def test_accounts_dropped_behind_our_back_can_be_imported_again(sandbox, im_client):
    im_client.multiaccount_import(["drift1", "drift2"])

    assert sandbox.drop_accounts(["drift1", "nobody"]) == {"deleted": ["drift1"]}
    assert statuses(im_client, ["drift1"]) == {"drift1": "NotImported"}
    assert im_client.account_import("drift1").ok


def test_the_client_refuses_0_and_101_items_before_sending(sandbox, im_client):
    too_many = [f"u{i}" for i in range(101)]
    for call in (
        im_client.multiaccount_import,
        im_client.account_check,
        im_client.account_delete,
    ):
        for user_ids in ([], too_many):
            with pytest.raises(ValueError):
                call(user_ids)

    assert all(s["calls"] == 0 for s in sandbox.stats()["apis"].values())


# -- request checks -----------------------------------------------------------


@pytest.mark.parametrize(
    "api, body, code",
    [
        ("account_import", b"{not json", 60003),
        ("account_import", b"", 60003),
        ("account_import", [{"UserID": "x"}], 60015),
        ("account_import", {"UserID": 12345}, 60015),
        ("account_import", {"Nick": "no id"}, 70402),
        ("account_import", {"UserID": ""}, 70402),
        ("account_import", {"UserID": "x" * 33}, 70402),
        ("account_import", {"UserID": "\ud800"}, 70402),
        ("account_import", {"UserID": "x", "Nick": 7}, 60015),
        ("account_import", {"UserID": "x", "Nick": "n" * 501}, 40601),
        ("account_import", {"UserID": "x", "FaceUrl": "\u4e2d" * 167}, 40601),
        ("multiaccount_import", {}, 70402),
        ("multiaccount_import", {"Accounts": "u1"}, 60015),
        ("multiaccount_import", {"Accounts": []}, 70206),
        ("multiaccount_import", {"Accounts": [f"u{i}" for i in range(101)]}, 70206),
        ("multiaccount_import", {"Accounts": [1, 2]}, 60015),
        ("multiaccount_import", {"AccountList": ["u1"]}, 60015),
        ("multiaccount_import", {"AccountList": [{"Nick": "n"}]}, 70402),
        ("account_check", {"CheckItem": []}, 70206),
        ("account_check", {"CheckItem": [{"UserID": 1}]}, 60015),
        ("account_delete", {"DeleteItem": [{}]}, 70402),
        ("account_delete", {"UserIDs": ["u1"]}, 70402),
        ("friend_add", {}, 60009),
    ],
)
def test_it_answers_bad_bodies_with_the_documented_codes(im_client, api, body, code):
    answer = raw_call(im_client, api, body)

    assert (answer["ActionStatus"], answer["ErrorCode"]) == ("FAIL", code)


def test_it_takes_userids_of_printable_ascii_and_refuses_others(sandbox, im_client):
    # The reference: 1-32 bytes; non-ASCII IDs are unsupported. Our own
    # client refuses all of these before sending; the sandbox checks alone.
    for user_id in ("with space", "x" * 32, "a-b_c.d@e"):
        answer = raw_call(im_client, "account_import", {"UserID": user_id})
        assert answer["ErrorCode"] == 0, user_id
        assert sandbox.account(user_id)["UserID"] == user_id
    for user_id in ("\u4e2d" * 10, "caf\u00e9", "tab\there", "\u00a0"):
        answer = raw_call(im_client, "account_import", {"UserID": user_id})
        assert answer["ErrorCode"] == 70402, user_id
        assert "printable ASCII" in answer["ErrorInfo"]
        assert sandbox.account(user_id) is None


@pytest.mark.parametrize(
    "params, method, code",
    [
        ({"sdkappid": None}, "POST", 60012),
        ({"sdkappid": "abc"}, "POST", 60025),
        ({"identifier": None}, "POST", 60025),
        ({"random": str(2**32)}, "POST", 60025),
        ({"random": None}, "POST", 60025),
        ({"contenttype": "xml"}, "POST", 60025),
        ({"usersig": None}, "POST", 70002),
        ({}, "GET", 60002),
    ],
)
def test_it_checks_the_query_string_and_method(im_client, params, method, code):
    body = {"CheckItem": [{"UserID": "x"}]}

    answer = raw_call(im_client, "account_check", body, method=method, **params)

    assert answer["ErrorCode"] == code


# -- UserSig ------------------------------------------------------------------


def test_a_usersig_from_tls_sig_api_v2_is_accepted(im_client):
    answer = raw_call(
        im_client, "account_import", {"UserID": "s1"}, usersig=make_usersig()
    )

    assert answer == {"ActionStatus": "OK", "ErrorCode": 0, "ErrorInfo": ""}


BAD_USERSIGS = {
    "tampered": (lambda: edit_usersig(make_usersig(), sig=flip_first_char), 70009),
    "expired": (lambda: make_usersig(at=time.time() - 3600, expire=60), 70001),
    "other identifier": (lambda: make_usersig("someone_else"), 70013),
    "other sdkappid": (lambda: make_usersig(sdkappid=conf.sdkappid() + 1), 70014),
    "other key": (lambda: make_usersig(key="not-the-key"), 70009),
    "missing field": (lambda: edit_usersig(make_usersig(), time=None), 70005),
    "garbage": (lambda: "not*a*usersig", 70003),
    "empty": (lambda: "", 70002),
}


@pytest.mark.parametrize("case", BAD_USERSIGS)
def test_a_bad_usersig_is_refused_as_a_configuration_error(sandbox, case, client_for):
    make, code = BAD_USERSIGS[case]
    usersig = make()
    client = client_for(sandbox)
    client._sig = SimpleNamespace(get=lambda: usersig, invalidate=lambda: None)

    with pytest.raises(errors.ConfigurationError) as caught:
        client.account_import("s1")

    assert caught.value.code == code
    assert sandbox.account("s1") is None


@pytest.mark.parametrize(
    "overrides, code",
    [
        ({"secret_key": "not-the-key"}, 70009),
        ({"sdkappid": 1400000001}, 70020),
        ({"identifier": "not_admin"}, 70403),
    ],
)
def test_a_misconfigured_client_gets_a_configuration_error(
    sandbox, overrides, code, client_for
):
    client = client_for(sandbox, **overrides)

    with pytest.raises(errors.ConfigurationError) as caught:
        client.account_check(["x"])

    assert caught.value.code == code


def test_the_client_renews_an_expired_usersig_once(sandbox, client_for):
    client = client_for(sandbox, usersig_ttl=60)
    an_hour_ago = SimpleNamespace(time=lambda: time.time() - 3600)
    with mock.patch("TLSSigAPIv2.time", an_hour_ago):
        client._sig.get()  # cached, though expired for the server

    assert client.account_import("renewed").ok
    stats = api_stats(sandbox, "account_import")
    assert (stats["errors"], stats["ok"]) == ({"70001": 1}, 1)


# -- limits ---------------------------------------------------------------------


def test_over_100_multiaccount_import_calls_in_a_second_meet_60007(sandbox, im_client):
    refused, stop = [], threading.Event()

    def hammer(worker):
        for n in range(2000):
            if stop.is_set():
                return
            user_id = f"r{worker}-{n}"
            try:
                im_client.multiaccount_import([user_id])
            except errors.RateLimitedError:
                refused.append(user_id)
                stop.set()

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(hammer, range(8)))

    assert refused
    stats = api_stats(sandbox, "multiaccount_import")
    assert stats["refused_rate_limit"] >= len(refused)
    assert stats["max_calls_in_any_second"] == 100
    assert stats["max_refused_in_any_second"] >= 1
    assert statuses(im_client, refused[:100]) == dict.fromkeys(
        refused[:100], "NotImported"
    )


def test_a_limited_sandbox_answers_70398_and_applies_none_of_the_batch(
    sandbox_factory, client_for
):
    limited = sandbox_factory("--account-limit", "3")
    client = client_for(limited)
    client.multiaccount_import(["q1", "q2"])

    with pytest.raises(errors.QuotaError) as caught:
        client.multiaccount_import(["q3", "q4"])

    assert caught.value.code == 70398
    assert statuses(client, ["q3", "q4"]) == {"q3": "NotImported", "q4": "NotImported"}
    assert client.multiaccount_import(["q1", "q2", "q3"]).ok  # existing ones are free
    with pytest.raises(errors.QuotaError):
        client.account_import("q4")
    assert limited.stats()["accounts"] == 3


# -- faults ---------------------------------------------------------------------


@pytest.mark.parametrize("code", [70169, 70202, 70500])
def test_an_injected_server_error_is_transient_and_unapplied(sandbox, im_client, code):
    sandbox.set_faults(
        fault_rate=1.0, fault_codes=[code], fault_apis=["multiaccount_import"]
    )

    with pytest.raises(errors.TransientError) as caught:
        im_client.multiaccount_import(["f1"])

    assert caught.value.code == code
    assert statuses(im_client, ["f1"]) == {"f1": "NotImported"}


def test_an_http_502_is_transient_and_unapplied(sandbox, im_client):
    sandbox.set_faults(http_502_rate=1.0, fault_apis=["account_import"])

    with pytest.raises(errors.TransientError) as caught:
        im_client.account_import("b1")

    assert caught.value.code == errors.HTTP_ERROR
    assert statuses(im_client, ["b1"]) == {"b1": "NotImported"}
    assert api_stats(sandbox, "account_import")["http_502"] == 1


def test_a_late_reply_is_a_lost_reply_though_the_import_was_applied(
    sandbox, client_for
):
    sandbox.set_faults(
        late_reply_rate=1.0, late_reply_ms=1500, fault_apis=["multiaccount_import"]
    )
    client = client_for(sandbox, read_timeout=0.5)

    with pytest.raises(errors.ReplyLostError) as caught:
        client.multiaccount_import(["late1", "late2"])

    assert caught.value.code == errors.TIMEOUT
    assert statuses(client, ["late1", "late2"]) == dict.fromkeys(
        ["late1", "late2"], "Imported"
    )


def test_fail_accounts_are_listed_and_not_applied(sandbox, im_client):
    sandbox.set_faults(fail_accounts_rate=0.5)
    user_ids = [f"p{i}" for i in range(100)]

    result = im_client.multiaccount_import(user_ids)

    assert 0 < len(result.fail_accounts) < 100
    assert result.call.fail_accounts == result.fail_accounts
    checked = statuses(im_client, user_ids)
    assert {u for u, s in checked.items() if s == "NotImported"} == set(
        result.fail_accounts
    )


def test_latency_is_added_to_every_answer(sandbox, im_client):
    sandbox.set_faults(latency_ms=300)

    started = time.monotonic()
    with pytest.raises(errors.InvalidRequestError):
        im_client.account_import("slow", nick="n" * 501)

    assert time.monotonic() - started >= 0.3


def test_a_profile_over_500_bytes_is_an_invalid_request(sandbox, im_client):
    # The client checks UserIDs but passes profile values through as they are.
    with pytest.raises(errors.InvalidRequestError) as nick:
        im_client.account_import("long", nick="\u4e2d" * 167)  # 501 bytes
    with pytest.raises(errors.InvalidRequestError) as face:
        im_client.multiaccount_import([{"UserID": "long", "FaceUrl": "f" * 501}])

    assert nick.value.code == face.value.code == 40601
    assert im_client.account_import("long", nick="n" * 500).ok


def test_runtime_settings_are_validated(sandbox):
    with pytest.raises(requests.HTTPError):
        sandbox.set_faults(fault_rate=2)
    with pytest.raises(requests.HTTPError):
        sandbox.set_faults(no_such_knob=1)

    assert sandbox.stats()["faults"]["fault_rate"] == 0.0


# -- state ----------------------------------------------------------------------


def test_accounts_and_blocks_survive_a_restart(sandbox_factory, tmp_path, client_for):
    state = tmp_path / "state.sqlite3"
    first = sandbox_factory(state=state)
    client = client_for(first)
    client.multiaccount_import([{"UserID": "keep", "Nick": "Kept"}, "drop"])
    client.account_delete(["drop"])
    assert first.stop() == 0

    second = sandbox_factory(state=state)
    client = client_for(second)

    assert statuses(client, ["keep", "drop"]) == {
        "keep": "Imported",
        "drop": "NotImported",
    }
    assert second.account("keep")["Nick"] == "Kept"
    with pytest.raises(errors.AccountPermanentError):
        client.account_import("drop")


def test_the_rate_log_has_one_line_per_api_and_second(
    sandbox_factory, tmp_path, client_for
):
    rate_log = tmp_path / "rates.jsonl"
    logged = sandbox_factory("--rate-log", str(rate_log), "--rate-scale", "0.02")
    client = client_for(logged)
    outcomes = []
    for n in range(4):  # a limit of 2 calls a second
        try:
            client.account_check([f"c{n}"])
            outcomes.append("ok")
        except errors.RateLimitedError:
            outcomes.append("refused")
    logged.stop()

    lines = [json.loads(line) for line in rate_log.read_text().splitlines()]
    assert {line["api"] for line in lines} == {"account_check"}
    assert sum(line["calls"] for line in lines) == outcomes.count("ok")
    assert sum(line["refused"] for line in lines) == outcomes.count("refused")
    assert all(line["calls"] <= 2 for line in lines)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--host", "0.0.0.0"], "loopback"),
        (["--fault-rate", "2"], "fault_rate: must be between 0 and 1"),
        (["--fault-codes", "70169,x"], "invalid literal"),
    ],
)
def test_the_command_refuses_bad_options_before_listening(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("im_sandbox", "--port", "0", *args)


# -- secrets stay out of logs -------------------------------------------------


def _session_with_every_outcome(sandbox, client, raised):
    """Every endpoint and fault class, collecting the errors raised."""

    def attempt(call, *args, **kwargs):
        try:
            call(*args, **kwargs)
        except errors.ImError as exc:
            raised.append(exc)

    attempt(client.account_import, "log1", nick="One")
    attempt(client.multiaccount_import, [{"UserID": "log2", "Nick": "Two"}, "log3"])
    attempt(client.multiaccount_import, ["log4"])
    attempt(client.account_check, ["log1", "nobody"])
    attempt(client.account_delete, ["log4", "nobody"])
    attempt(client.account_import, "log4")  # 70399
    for faults in (
        {"fault_rate": 1.0},
        {"http_502_rate": 1.0},
        {"fail_accounts_rate": 1.0},
        {"late_reply_rate": 1.0, "late_reply_ms": 800},
    ):
        sandbox.set_faults(**faults)
        attempt(client.multiaccount_import, ["log5"])
        sandbox.reset()
    attempt(client.account_import, "log6", nick="x" * 501)  # 40601
    client._sig.invalidate()
    with mock.patch(
        "TLSSigAPIv2.time", SimpleNamespace(time=lambda: time.time() - 9e4)
    ):
        client._sig.get()  # expired: the next call renews it
    attempt(client.account_check, ["log1"])


def test_no_secret_or_usersig_reaches_logs_or_errors(
    sandbox_factory, caplog, client_for
):
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="urllib3")
    verbose = sandbox_factory("--verbosity", "3", "--seed", "7")
    client = client_for(verbose, read_timeout=0.4)
    used = set()
    make_sig = client._sig.get

    def recording_get():
        usersig = make_sig()
        used.add(usersig)
        return usersig

    client._sig.get = recording_get
    raised = []
    _session_with_every_outcome(verbose, client, raised)
    unreachable = client_for(verbose, base_url=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(errors.NetworkError) as network:
        unreachable.account_check(["x"])
    raised.append(network.value)
    used.add(unreachable._sig.get())
    time.sleep(0.5)  # the late reply's log line

    texts = [caplog.text, verbose.log_text()]
    for exc in raised:
        texts += [str(exc), repr(exc), repr(exc.call), *traceback.format_exception(exc)]
    everything = "\n".join(texts)
    assert {type(exc) for exc in raised} >= {
        errors.TransientError,
        errors.ReplyLostError,
        errors.AccountPermanentError,
        errors.InvalidRequestError,
        errors.NetworkError,
    }
    assert len(used) >= 2  # the current one and the expired one
    assert "usersig=[hidden]" in caplog.text  # urllib3 did log the URLs
    assert "/v4/im_open_login_svc/account_check" in verbose.log_text()
    assert conf.secret_key() not in everything
    for usersig in used:
        assert usersig not in everything


# -- the control endpoints --------------------------------------------------------


def test_the_control_endpoints_refuse_a_foreign_host_header(sandbox):
    # A page in a browser reaching the sandbox through a rebound DNS name
    # sends its own name as Host: refused, token or not.
    for host in ("evil.example", "evil.example:80", "127.0.0.1.evil.example"):
        response = requests.get(
            f"{sandbox.url}/sandbox/stats",
            headers={"Host": host, **sandbox.control_headers},
            timeout=10,
        )
        assert response.status_code == 403, host
        assert "Host" in response.json()["error"]
    response = requests.post(
        f"{sandbox.url}/sandbox/reset",
        json={"accounts": True},
        headers={"Host": "evil.example", **sandbox.control_headers},
        timeout=10,
    )
    assert response.status_code == 403


def test_the_control_endpoints_need_the_token_from_the_state_folder(sandbox):
    for headers in ({}, {"X-Sandbox-Token": "guess"}):
        response = requests.post(
            f"{sandbox.url}/sandbox/faults",
            json={"http_502_rate": 1.0},
            headers=headers,
            timeout=10,
        )
        assert response.status_code == 403
    assert sandbox.stats()["faults"]["http_502_rate"] == 0.0
    token_file = Path(f"{sandbox.state}.token")
    assert token_file.stat().st_mode & 0o777 == 0o600
    assert sandbox.control_headers == {
        "X-Sandbox-Token": token_file.read_text().strip()
    }
    localhost = sandbox.url.replace("127.0.0.1", "localhost")
    response = requests.get(
        f"{localhost}/sandbox/stats", headers=sandbox.control_headers, timeout=10
    )
    assert response.status_code == 200


def test_a_usersig_is_valid_through_its_last_whole_second():
    # In process, with the sandbox's clock set: time + expire is the last
    # second, and any fraction of it is still valid.
    import tempfile

    from imsandbox import Sandbox, SandboxConfig

    key, app = "k" * 64, 1400000009
    with tempfile.TemporaryDirectory() as folder:
        clock = SimpleNamespace(now=0.0)
        config = SandboxConfig(
            sdkappid=app,
            secret_key=key,
            identifier="administrator",
            state_path=f"{folder}/state.sqlite3",
        )
        sandbox = Sandbox(config, clock=lambda: clock.now)
        try:
            made_at = 1_700_000_000
            usersig = make_usersig(
                "administrator", sdkappid=app, key=key, at=made_at, expire=600
            )

            def call():
                query = (
                    f"sdkappid={app}&identifier=administrator&usersig={usersig}"
                    "&random=7&contenttype=json"
                )
                body = json.dumps({"CheckItem": [{"UserID": "x"}]}).encode()
                reply = sandbox.handle(
                    "POST", f"/v4/im_open_login_svc/account_check?{query}", body
                )
                return json.loads(reply.body)["ErrorCode"]

            clock.now = made_at + 600 + 0.999
            assert call() == 0
            clock.now = made_at + 601.0
            assert call() == 70001
        finally:
            sandbox.close()


def test_a_usersig_in_its_last_second_is_accepted_over_http(im_client):
    expire = 5
    while time.time() % 1 > 0.5:  # start early in a second: the call fits in it
        time.sleep(0.05)
    usersig = make_usersig(at=int(time.time()) - expire, expire=expire)
    answer = raw_call(
        im_client, "account_check", {"CheckItem": [{"UserID": "x"}]}, usersig=usersig
    )
    assert answer["ErrorCode"] == 0, answer
    time.sleep(1.1)
    answer = raw_call(
        im_client, "account_check", {"CheckItem": [{"UserID": "x"}]}, usersig=usersig
    )
    assert answer["ErrorCode"] == 70001


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1:8765", True),
        ("127.0.0.2", True),
        ("localhost:80", True),
        ("[::1]:8765", True),
        ("", False),
        (None, False),
        ("[::1", False),
        ("10.0.0.1:8765", False),
        ("localhost.evil.example", False),
        ("127.0.0.1.evil.example", False),
    ],
)
def test_only_a_loopback_host_header_counts_as_loopback(host, loopback):
    from imsandbox.control import loopback_host

    assert loopback_host(host) is loopback
