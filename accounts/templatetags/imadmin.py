"""Template helpers: the progress bar, and error codes with their sentence."""

from django import template

from accounts import selectors
from accounts.im.errors import describe

register = template.Library()


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
def error(code):
    """An error code with the sentence that says what it means (nothing for success)."""
    return {"code": code, "sentence": describe(code)}


@register.filter
def thousands(value):
    """1234567 → "1,234,567" (django.contrib.humanize is not installed)."""
    try:
        return f"{int(value):,}"
    except (TypeError, ValueError):
        return value
