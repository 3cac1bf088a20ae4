"""UserSig: the app's cache renews early and is thread-safe; the sandbox's
verification (written from the reference on its own) takes what tls-sig-api-v2
makes and refuses what the service refuses."""

import base64
import json
import threading
import time
import zlib

import pytest
from TLSSigAPIv2 import TLSSigAPIv2

from accounts.im.usersig import UserSigCache
from imsandbox.usersig import BadUserSig as UserSigInvalid
from imsandbox.usersig import verify as verify_usersig

APP = 1400000001
KEY = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e"
ADMIN = "administrator"


class FakeClock:
    def __init__(self, now=1_700_000_000.0):
        self.now = now

    def __call__(self):
        return self.now


@pytest.fixture
def gen_calls(monkeypatch):
    """Every UserSig the library makes, in order."""
    made = []
    original = TLSSigAPIv2.gen_sig

    def spy(self, identifier, expire=180 * 86400):
        sig = original(self, identifier, expire)
        made.append(sig)
        return sig

    monkeypatch.setattr(TLSSigAPIv2, "gen_sig", spy)
    return made


def make_sig(identifier=ADMIN, *, app=APP, key=KEY, expire=86400):
    return TLSSigAPIv2(app, key).gen_sig(identifier, expire)


def decode(usersig):
    text = usersig.replace("*", "+").replace("-", "/").replace("_", "=")
    return json.loads(zlib.decompress(base64.b64decode(text)))


def encode(doc, *, level=6, separators=(", ", ": ")):
    raw = zlib.compress(json.dumps(doc, separators=separators).encode(), level)
    text = base64.b64encode(raw).decode()
    return text.replace("+", "*").replace("/", "-").replace("=", "_")


def verify(usersig, **overrides):
    kwargs = {"sdkappid": APP, "secret_key": KEY, "identifier": ADMIN}
    kwargs["now"] = time.time()
    kwargs.update(overrides)
    return verify_usersig(usersig, **kwargs)


def refusal_code(usersig, **overrides):
    with pytest.raises(UserSigInvalid) as caught:
        verify(usersig, **overrides)
    assert str(caught.value) == caught.value.reason
    return caught.value.code


# -- the cache -------------------------------------------------------------


def test_it_hands_out_the_same_usersig_until_half_its_life_is_gone(gen_calls):
    clock = FakeClock()
    cache = UserSigCache(APP, KEY, ADMIN, ttl=3600, clock=clock)
    first = cache.get()
    clock.now += 1799
    assert cache.get() is first
    assert cache.get() is first
    assert len(gen_calls) == 1


def test_it_renews_the_usersig_once_half_its_life_is_gone(gen_calls):
    clock = FakeClock()
    cache = UserSigCache(APP, KEY, ADMIN, ttl=3600, clock=clock)
    cache.get()
    clock.now += 1800
    renewed = cache.get()
    assert len(gen_calls) == 2
    assert renewed == gen_calls[-1]
    clock.now += 1799
    cache.get()
    assert len(gen_calls) == 2


def test_it_makes_a_new_usersig_after_invalidate(gen_calls):
    cache = UserSigCache(APP, KEY, ADMIN, ttl=3600, clock=FakeClock())
    cache.get()
    cache.invalidate()
    cache.get()
    assert len(gen_calls) == 2


def test_it_makes_a_usersig_the_api_accepts_with_the_configured_ttl():
    cache = UserSigCache(str(APP), KEY, ADMIN, ttl=7200)
    claims = verify(cache.get())
    assert claims.identifier == ADMIN
    assert claims.sdkappid == APP
    assert claims.expire == 7200


def test_it_makes_one_usersig_for_many_threads(monkeypatch):
    original = TLSSigAPIv2.gen_sig
    made = []

    def slow_gen(self, identifier, expire=180 * 86400):
        made.append(identifier)
        time.sleep(0.02)  # widen the window in which a race would show
        return original(self, identifier, expire)

    monkeypatch.setattr(TLSSigAPIv2, "gen_sig", slow_gen)
    clock = FakeClock()
    cache = UserSigCache(APP, KEY, ADMIN, ttl=3600, clock=clock)

    def many_threads_get():
        seen = []
        start = threading.Barrier(16)

        def worker():
            start.wait()
            for _ in range(50):
                seen.append(cache.get())

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return seen

    seen = many_threads_get()
    assert len(seen) == 16 * 50 and len(set(seen)) == 1
    assert len(made) == 1
    clock.now += 1800
    seen = many_threads_get()
    assert len(seen) == 16 * 50 and len(set(seen)) == 1
    assert len(made) == 2


def test_its_repr_shows_neither_key_nor_usersig():
    cache = UserSigCache(APP, KEY, ADMIN)
    sig = cache.get()
    assert KEY not in repr(cache) and sig not in repr(cache)


# -- verification ----------------------------------------------------------


def test_it_accepts_a_fresh_usersig_from_the_official_library():
    claims = verify(make_sig())
    assert (claims.identifier, claims.sdkappid, claims.expire) == (ADMIN, APP, 86400)


def test_it_accepts_a_usersig_with_userbuf():
    sig = TLSSigAPIv2(APP, KEY).gen_sig_with_userbuf(ADMIN, 600, b"buffer")
    assert verify(sig).identifier == ADMIN


def test_it_accepts_another_json_layout_and_zlib_level():
    doc = decode(make_sig())
    relaid = encode(dict(reversed(doc.items())), level=9, separators=(",", ":"))
    assert relaid != make_sig()
    assert verify(relaid).sdkappid == APP


@pytest.mark.parametrize("usersig", ["", None])
def test_it_refuses_an_empty_usersig_with_70002(usersig):
    assert refusal_code(usersig) == 70002


@pytest.mark.parametrize(
    "usersig",
    [
        "garbage!!",
        "bm90IHpsaWI_",  # base64 of "not zlib"
        encode(["a", "list"]),
        base64.b64encode(zlib.compress(b"not json")).decode(),
        "用户签名",
    ],
)
def test_it_refuses_garbage_with_70003(usersig):
    assert refusal_code(usersig) == 70003


@pytest.mark.parametrize(
    "missing", ["TLS.identifier", "TLS.sdkappid", "TLS.time", "TLS.expire", "TLS.sig"]
)
def test_it_refuses_a_usersig_missing_a_field_with_70005(missing):
    doc = decode(make_sig())
    del doc[missing]
    assert refusal_code(encode(doc)) == 70005


def test_it_refuses_a_usersig_with_a_non_numeric_time_with_70005():
    doc = decode(make_sig())
    doc["TLS.time"] = "yesterday"
    assert refusal_code(encode(doc)) == 70005


def test_it_refuses_a_usersig_for_another_sdkappid_with_70014():
    assert refusal_code(make_sig(app=APP + 1)) == 70014


def test_it_refuses_a_usersig_for_another_identifier_with_70013():
    assert refusal_code(make_sig("someone_else")) == 70013


def test_it_accepts_a_usersig_until_time_plus_expire_inclusive():
    sig = make_sig(expire=600)
    claims = verify(sig)
    deadline = claims.time + claims.expire
    assert verify(sig, now=deadline) == claims
    # The last second is whole: a fraction into it is still within it.
    assert verify(sig, now=deadline + 0.999) == claims
    assert refusal_code(sig, now=deadline + 1) == 70001


def test_it_refuses_an_expired_usersig_with_70001():
    sig = make_sig(expire=60)
    assert refusal_code(sig, now=decode(sig)["TLS.time"] + 3600) == 70001


def test_it_refuses_a_usersig_made_with_another_key_with_70009():
    other_key = "0" * 64
    assert refusal_code(make_sig(key=other_key)) == 70009


TAMPERINGS = {
    "longer expiry": lambda doc: doc.update({"TLS.expire": 10 * 365 * 86400}),
    "earlier time": lambda doc: doc.update({"TLS.time": doc["TLS.time"] - 1}),
    "forged sig": lambda doc: doc.update(
        {"TLS.sig": base64.b64encode(b"\x00" * 32).decode()}
    ),
    "sig not base64": lambda doc: doc.update({"TLS.sig": "not a signature"}),
}


@pytest.mark.parametrize("tamper", TAMPERINGS.values(), ids=TAMPERINGS.keys())
def test_it_refuses_a_tampered_usersig_with_70009(tamper):
    doc = decode(make_sig())
    tamper(doc)
    assert refusal_code(encode(doc)) == 70009


def test_it_refuses_a_tampered_userbuf_with_70009():
    sig = TLSSigAPIv2(APP, KEY).gen_sig_with_userbuf(ADMIN, 600, b"buffer")
    doc = decode(sig)
    doc["TLS.userbuf"] = base64.b64encode(b"other").decode()
    assert refusal_code(encode(doc)) == 70009
