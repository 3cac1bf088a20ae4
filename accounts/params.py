"""Strict parsing of what a query string carries: the one rule for every page.

``str.isdigit()`` accepts superscripts ("²") that ``int()`` refuses, ``int()``
accepts other scripts' digits ("١٢"), underscores and signs, and a number past
a 64-bit column overflows the database driver: all of these made pages answer
500. Here an id is ASCII digits only, within a 64-bit column, and text is
bounded, so a hostile value becomes a clear message, never an exception.
"""

from django import forms
from django.http import HttpResponseBadRequest
from django.utils.translation import gettext as _

MAX_ID = 2**63 - 1  # the largest value a BigAutoField column holds
MAX_ID_DIGITS = len(str(MAX_ID))
# No parameter of this site needs more; longer ones (a 50,000-character search
# made SQLite refuse its LIKE pattern) are refused before any view runs.
MAX_QUERY_VALUE_CHARS = 2000
# Longest search term the admin lists take: the longest field they search
# (a username) is 150 characters.
MAX_SEARCH_CHARS = 150


class BadParameter(ValueError):
    """A query parameter's value is not acceptable; ``str()`` says why."""


def parse_id(value, *, maximum=MAX_ID):
    """A positive id from ASCII digits, at most ``maximum``; None for a blank value.

    Raises BadParameter for anything else (signs, spaces, other scripts'
    digits, superscripts, numbers too large for the database).
    """
    if value is None or value == "":
        return None
    text = str(value)
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_ID_DIGITS:
        raise BadParameter(_("must be a whole number written with the digits 0-9"))
    number = int(text)
    if not 1 <= number <= maximum:
        raise BadParameter(
            _("must be between 1 and %(maximum)s") % {"maximum": maximum}
        )
    return number


def id_or_none(value):
    """``parse_id``, with None for a value that is not a valid id."""
    try:
        return parse_id(value)
    except BadParameter:
        return None


# The admin's date drill-down (``at__year=2026``): its datetime() overflows
# on a huge year rather than refusing it.
DATE_PARTS = ("__year", "__month", "__day")


def query_problem(query):
    """What is wrong with a QueryDict as a whole, or "" if nothing.

    Too long a name or value, a NUL character (PostgreSQL refuses it in any
    text), or a date part that is not 1-4 ASCII digits.
    """
    for name, values in query.lists():
        for text in (name, *values):
            if len(text) > MAX_QUERY_VALUE_CHARS:
                return _(
                    "the parameter %(name)r is longer than %(limit)s characters."
                ) % {"name": name[:40], "limit": MAX_QUERY_VALUE_CHARS}
            if "\x00" in text:
                return _("the parameter %(name)r holds a NUL character.") % {
                    "name": name[:40]
                }
        if name.endswith(DATE_PARTS) and not all(_date_part(v) for v in values):
            return _("the parameter %(name)r must be a number of 1-4 digits.") % {
                "name": name[:40]
            }
    return ""


def _date_part(value):
    return value.isascii() and value.isdigit() and len(value) <= 4


class IdField(forms.CharField):
    """A form field for an id in a query string, parsed by ``parse_id``."""

    def __init__(self, *, maximum=MAX_ID, **kwargs):
        self.maximum = maximum
        kwargs.setdefault("required", False)
        kwargs.setdefault("widget", forms.NumberInput(attrs={"min": 1}))
        super().__init__(strip=False, **kwargs)

    def to_python(self, value):
        value = super().to_python(value)
        try:
            return parse_id(value, maximum=self.maximum)
        except BadParameter:
            raise forms.ValidationError(
                _("Enter a whole number from 1 to %(maximum)s, in the digits 0-9.")
                % {"maximum": self.maximum}
            ) from None


class QueryStringMiddleware:
    """Answers 400 with the reason to a query string ``query_problem`` refuses.

    Before any view, the admin's included: its searches and filters hand
    values to the database as they come.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if problem := query_problem(request.GET):
            return HttpResponseBadRequest(
                _("Bad request: %(problem)s") % {"problem": problem},
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
