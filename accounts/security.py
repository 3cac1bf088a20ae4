"""Sign-in throttling and error reports that keep the IM secrets out.

The HTTPS, header and Content-Security-Policy settings live in settings.py;
the lock-out page and its audit entries are in templates/audit and signals.py.
"""

import re

from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from django.core.exceptions import ImproperlyConfigured
from django.views.debug import SafeExceptionReporterFilter


class ThrottledSignInBackend(AxesStandaloneBackend):
    """django-axes' lock-out check, first in AUTHENTICATION_BACKENDS.

    Checks nothing without a request (the test client's ``login()``, a shell):
    throttling is keyed by the client's address, and there is none. A refused
    request is marked so the audit records it as a failed sign-in during a
    lock-out rather than as a new lock-out.
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        try:
            return super().authenticate(request, username, password, **kwargs)
        except AxesBackendPermissionDenied:
            request.imadmin_locked_out = True
            raise


class SecretsReporterFilter(SafeExceptionReporterFilter):
    """Django's filter, plus the IM secret key and UserSigs in frame variables.

    Variables named like a key, secret or signature are hidden, and so is any
    value that holds the IM secret key or a ``usersig=`` query string.
    """

    hidden_settings = re.compile(
        "API|AUTH|TOKEN|KEY|SECRET|PASS|SIG|HTTP_COOKIE", flags=re.IGNORECASE
    )

    def get_traceback_frame_variables(self, request, tb_frame):
        variables = super().get_traceback_frame_variables(request, tb_frame)
        secret = _im_secret_key()
        return [
            (name, self._cleanse_variable(name, value, secret))
            for name, value in variables
        ]

    def _cleanse_variable(self, name, value, secret):
        if value == self.cleansed_substitute:
            return value
        if self.hidden_settings.search(name):
            return self.cleansed_substitute
        try:
            text = value if isinstance(value, str) else repr(value)
        except Exception:  # a broken __repr__: the reporter copes with it later
            return value
        if "usersig=" in text.lower() or (secret and secret in text):
            return self.cleansed_substitute
        return value


def _im_secret_key():
    from . import conf

    try:
        return conf.secret_key()
    except ImproperlyConfigured:
        return ""
