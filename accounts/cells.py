"""The spreadsheet formula guard of the CSV files imadmin writes, and its undoing.

A spreadsheet runs a cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a
carriage return as a formula, so every CSV imadmin writes puts an apostrophe
before such a value (``'=HYPERLINK(…)``). Those prefixes are also valid data
(``-bob`` is a valid UserID), so the reader undoes the guard: the round trip
download → upload gives back the very values that were written.

To stay lossless for every value, the guard counts apostrophes already there:
a value that is apostrophes followed by a guarded prefix (``'=x``) gets one
more (``''=x``), and the reader always takes exactly one away from a cell of
that shape. The reading rule applies to every CSV, not only ours: a person's
``'=x`` is read as ``=x``, as the apostrophe is the spreadsheet convention for
"this is text", not part of the value. A value that does not start with
apostrophes then a prefix is never changed, either way.
"""

import re

_GUARDED = re.compile(r"'*[=+\-@\t\r]")
_UNGUARD = re.compile(r"'+[=+\-@\t\r]")


def formula_guard(value):
    """``value`` with an apostrophe in front if a spreadsheet would run it."""
    if _GUARDED.match(value):
        return "'" + value
    return value


def formula_unguard(text):
    """``text`` with the guard's apostrophe taken away, if it has the guard's shape."""
    if text[:1] == "'" and _UNGUARD.match(text):
        return text[1:]
    return text
