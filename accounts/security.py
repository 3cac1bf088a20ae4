"""Sign-in throttling (and of password guesses), error reports that keep secrets out.

The HTTPS, header and Content-Security-Policy settings live in settings.py;
the lock-out page and its audit entries are in templates/audit and signals.py.
"""

import re

from axes.attempts import get_cool_off_threshold
from axes.backends import AxesStandaloneBackend
from axes.exceptions import AxesBackendPermissionDenied
from axes.handlers.database import AxesDatabaseHandler
from axes.handlers.proxy import AxesProxyHandler
from axes.helpers import get_client_username, get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Sum
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


# -- lock-outs: per username and address, and per username across addresses ----


class SignInLockoutHandler(AxesDatabaseHandler):
    """django-axes' database handler, with a second lock-out per username.

    axes counts failures per username and address: an attacker who rotates
    the client-address header is never locked out. This adds a higher limit,
    SIGNIN_USERNAME_FAILURE_LIMIT, on a username's failures from all
    addresses within the lock-out period. It locks the real user out too
    while it lasts, which is why it is higher.
    """

    def get_failures(self, request, credentials=None):
        failures = super().get_failures(request, credentials)
        username = get_client_username(request, credentials)
        if not username:
            return failures
        everywhere = AccessAttempt.objects.filter(
            username=username, attempt_time__gte=get_cool_off_threshold(request)
        ).aggregate(total=Sum("failures_since_start"))["total"]
        if (everywhere or 0) >= settings.SIGNIN_USERNAME_FAILURE_LIMIT:
            request.imadmin_lockout_scope = "username"
            return max(failures, get_failure_limit(request, credentials))
        return failures


def guesses_locked(request, username):
    """True while ``username`` is locked out for the request's client (any limit)."""
    if not settings.AXES_ENABLED:  # SIGNIN_THROTTLING=0
        return False
    return not AxesProxyHandler.is_allowed(request, {"username": username})


def guess_failed(request, username):
    """Count a wrong password of ``username`` as a failed sign-in.

    Returns True if that locks it out (the response then becomes the
    lock-out page, as a sign-in's does, and the lock-out is audited).
    """
    AxesProxyHandler.user_login_failed(
        sender=guess_failed, credentials={"username": username}, request=request
    )
    return bool(getattr(request, "axes_locked_out", False))
