"""What every page's top bar shows: the IM endpoint and banners about trouble."""

import time

from django.conf import settings
from django.core.checks import ERROR
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils.functional import SimpleLazyObject
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from accounts import conf, selectors
from accounts.checks import im_settings_check
from accounts.im.errors import ErrorClass, code_info, sentence_for_people
from accounts.models import JobStatus

CHECK_SECONDS = 60
# The settings the IM checks read: a change (e.g. in a test) runs them again.
_CHECKED_SETTINGS = (
    "IM_SDKAPPID",
    "IM_SANDBOX",
    "IM_SECRET_KEY",
    "IM_SECRET_KEY_FILE",
    "IM_REGION",
    "IM_API_BASE_URL",
    "IM_ADMIN_IDENTIFIER",
    "IM_READ_TIMEOUT",
    "IM_RATE_FRACTION",
)
_STOPPING_CLASSES = (ErrorClass.CONFIGURATION, ErrorClass.QUOTA)
_last_check = {"key": None, "at": 0.0, "errors": []}


def im_status(request):
    """The endpoint (never the secret) and, lazily, the banners for this user."""
    try:
        endpoint = conf.endpoint_label()
    except ImproperlyConfigured:  # reported by the banner instead
        endpoint = _("not configured")
    context = {"im_endpoint": endpoint}
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        # Evaluated only by a template that shows it (not by the admin's pages).
        context["im_banners"] = SimpleLazyObject(lambda: banners(user))
    return context


def banners(user):
    """Problems a person who can act on them should see on every page."""
    found = []
    if user.has_perm("accounts.import_single") or user.has_perm(
        "accounts.run_bulk_jobs"
    ):
        for message in im_check_errors():
            text = _("IM is not configured correctly: %(problem)s")
            found.append({"text": text % {"problem": message}})
    if user.has_perm("accounts.run_bulk_jobs"):
        for job in selectors.paused_jobs():
            text = _(
                "%(job)s is paused by IM error %(code)s: %(sentence)s"
                " Fix it, then resume the job."
            )
            found.append(_job_banner(job, text))
        job = selectors.last_finished_job()
        if job and job.status == JobStatus.STOPPED and job.error_code is not None:
            if code_info(job.error_code).error_class in _STOPPING_CLASSES:
                text = _("%(job)s stopped with IM error %(code)s: %(sentence)s")
                found.append(_job_banner(job, text))
    return found


def _job_banner(job, text):
    """A banner about ``job`` from ``text``, with its code's sentence and a link."""
    sentence = sentence_for_people(job.error_code)
    return {
        "text": text % {"job": job, "code": job.error_code, "sentence": sentence},
        "url": reverse("web:job_detail", args=[job.pk]),
        "link": _("Open job #%(pk)s") % {"pk": job.pk},
    }


def im_check_errors():
    """The messages of the IM system checks that fail, run at most once a minute.

    Kept per process: the answer depends only on this process's settings (and
    the key file, read again once the minute is over). The problems are kept,
    not their sentences, so each page says them in its own language.
    """
    key = tuple(repr(getattr(settings, name, None)) for name in _CHECKED_SETTINGS)
    now = time.monotonic()
    if _last_check["key"] != key or now - _last_check["at"] > CHECK_SECONDS:
        problems = im_settings_check(None)
        _last_check.update(
            key=key,
            at=now,
            errors=[p for p in problems if p.level >= ERROR],
        )
    return [_sentence(p) for p in _last_check["errors"]]


def _sentence(problem):
    text = str(problem.msg).rstrip(".。") + pgettext("end of a sentence", ".")
    return f"{text} {problem.hint}" if problem.hint else text
