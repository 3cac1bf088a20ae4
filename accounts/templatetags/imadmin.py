"""Template helpers: the progress bar, error codes with their sentence, and
numbers and times as a person reads them."""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import pgettext_lazy

from accounts import selectors
from accounts.im.errors import sentence_for_people
from accounts.models import ItemState
from accounts.pipeline.policy import failure_sentence

FAILED = ItemState.FAILED  # an account's state has the same name

register = template.Library()

# The keys of selectors.job_counts, as a person reads them.
JOB_COUNT_NAMES = {
    "total": pgettext_lazy("job count", "total"),
    "imported": pgettext_lazy("job count", "imported"),
    "checked": pgettext_lazy("job count", "checked"),
    "deleted": pgettext_lazy("job count", "deleted"),
    "succeeded": pgettext_lazy("job count", "succeeded"),
    "failed": pgettext_lazy("job count", "failed"),
    "invalid": pgettext_lazy("job count", "invalid"),
    "cancelled": pgettext_lazy("job count", "cancelled"),
    "remaining": pgettext_lazy("job count", "remaining"),
}


@register.inclusion_tag("accounts/_progress.html")
def progress_bar(job, progress=None, live=False):
    """A job's bar: succeeded, failed, invalid and cancelled shares as SVG rects.

    ``live`` gives the rects ids that job.js updates.
    """
    return {
        "job": job,
        "progress": progress or selectors.job_progress(job),
        "live": live,
    }


@register.inclusion_tag("accounts/_error.html")
def error(code, state=""):
    """An error code with the sentence that says what it means (nothing for success).

    ``state``: of the account or item; one that has failed (for good) is
    promised no retry.
    """
    if state == FAILED:
        return {"code": code, "sentence": failure_sentence(code, for_people=True)}
    return {"code": code, "sentence": sentence_for_people(code)}


@register.filter
def im_sentence(code):
    """The sentence for an IM error code, in the page's language."""
    return sentence_for_people(code)


@register.filter
def thousands(value):
    """1234567 → "1,234,567", grouped as the active language groups digits."""
    try:
        number = int(value)
    except (TypeError, ValueError):
        return value
    return selectors.grouped(number)


@register.filter
def local_time(value):
    """An aware datetime in the site's time zone, named: "2026-12-01 14:30:05 UTC".

    ISO order reads the same in English and Chinese; the zone's abbreviation
    (UTC, CST) says which clock the figure is on.
    """
    if not isinstance(value, datetime):
        return value if value is not None else ""
    local = timezone.localtime(value) if timezone.is_aware(value) else value
    zone = local.tzname() or timezone.get_current_timezone_name()
    return f"{local:%Y-%m-%d %H:%M:%S} {zone}"


@register.filter
def job_count_name(key):
    """A key of ``selectors.job_counts`` ("imported") in the page's language."""
    return JOB_COUNT_NAMES.get(key, key)


@register.inclusion_tag("accounts/_call_result.html")
def call_result(call):
    """A call's answer: OK, partly OK (FailAccounts), or its error code.

    ErrorCode 0 with accounts in FailAccounts is a partial success, not an OK.
    """
    refused = len(call.fail_accounts or [])
    return {
        "call": call,
        "partial": call.error_code == 0 and refused > 0,
        "ok_count": max(call.account_count - refused, 0),
        "refused": refused,
    }
