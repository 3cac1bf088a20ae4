"""UserSig: made with Tencent's ``tls-sig-api-v2``, cached, renewed early.

The app only makes UserSigs; verifying them is the service's job (and the
sandbox's, which has its own verifier).
"""

import threading
import time

from TLSSigAPIv2 import TLSSigAPIv2


class UserSigCache:
    """Hands out the admin's UserSig, making a new one once half its life is gone.

    Thread-safe: a runner's worker threads share one instance.
    """

    def __init__(self, sdkappid, secret_key, identifier, ttl=86400, clock=time.time):
        self._api = TLSSigAPIv2(int(sdkappid), secret_key)
        self._identifier = identifier
        self._ttl = int(ttl)
        self._clock = clock
        self._lock = threading.Lock()
        self._sig = None
        self._renew_at = 0.0

    def __repr__(self):
        return f"<UserSigCache identifier={self._identifier!r}>"

    def get(self):
        with self._lock:
            now = self._clock()
            if self._sig is None or now >= self._renew_at:
                self._sig = self._api.gen_sig(self._identifier, self._ttl)
                # Renew well before expiry so a clock skew or a long job
                # never sends a signature on its last second.
                self._renew_at = now + self._ttl / 2
            return self._sig

    def invalidate(self):
        with self._lock:
            self._sig = None
