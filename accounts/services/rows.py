"""What importing one row does to its tracked account: one rule for all paths.

The upload preview counts with it, the import (a file or a command) acts on
it, and the single-import form refuses or sends by it, so the preview never
promises what the import then does differently.
"""

import enum

from accounts.models import AccountState

# An account queued in a job, or in flight: that job owns it until it ends.
BUSY_STATES = (AccountState.QUEUED, AccountState.IMPORTING)


class RowOutcome(enum.StrEnum):
    """The six things an import can do with a row, named as the summaries count them."""

    NEW = "new"  # no such account yet: created and sent
    DUPLICATE = "duplicates"  # the same job already holds it (an earlier row)
    BUSY = "busy"  # another job owns it: left to that job
    UPDATE = "update"  # its profile changes: updated and sent
    RESEND = "resend"  # not imported (or a reimport): sent again
    UNCHANGED = "unchanged"  # imported with this profile: nothing to send


def row_outcome(account, nick, face_url, *, job_id=None, reimport=False):
    """The RowOutcome of a row (``nick``, ``face_url``) for its ``account``.

    ``account`` has ``state``, ``nick``, ``face_url`` and ``job_id`` (None:
    not tracked yet); ``job_id`` is the importing job, if it exists already.
    """
    if account is None:
        return RowOutcome.NEW
    if account.state in BUSY_STATES:
        own = job_id is not None and account.job_id == job_id
        return RowOutcome.DUPLICATE if own else RowOutcome.BUSY
    if new_profile(account.nick, account.face_url, nick, face_url):
        return RowOutcome.UPDATE
    if account.state != AccountState.IMPORTED or reimport:
        return RowOutcome.RESEND
    return RowOutcome.UNCHANGED


def new_profile(nick, face_url, row_nick, row_face_url):
    """(nick, face_url) once the row is applied if that changes them, else None.

    An empty value in the row leaves the stored one, as IM does with a field
    that is left out.
    """
    changed = (row_nick or nick, row_face_url or face_url)
    return None if changed == (nick, face_url) else changed
