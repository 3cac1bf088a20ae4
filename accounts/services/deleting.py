"""Deleting accounts from IM: how many one deletion may take, and what confirming takes.

The one rule for every entry point (admin action, account page, API): more
than ``DELETE_CONFIRM_COUNT_ABOVE`` accounts, or a selection of "all that
match", needs their count typed back; more than ``DELETE_MAX_ACCOUNTS`` is
refused unless ``DELETE_ALLOW_ABOVE_MAX`` is set. Deleting cannot be undone
in IM, and a deleted UserID cannot be imported again for three months.
"""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext

from accounts.models import JobKind
from accounts.params import id_or_none
from accounts.services.jobs import job_start

# The reference's words (multiaccount_import, error 70399), shown before a deletion.
REIMPORT_BLOCK = (
    "For non-IM trial applications, re-import is not allowed within three months "
    "after the account is deleted."
)


class DeleteRefused(Exception):
    """Deleting this many accounts at once is not allowed; ``str()`` says why."""


class DeleteNotConfirmed(Exception):
    """The deletion needs (another) confirmation; ``plan`` says what it takes."""

    def __init__(self, plan, message=""):
        super().__init__(message or gettext("Confirm the deletion first."))
        self.plan = plan
        self.message = message


@dataclass(frozen=True)
class DeletePlan:
    """What deleting ``count`` accounts takes before it may start."""

    count: int
    typed_count_needed: bool
    refused: str = ""  # why it may not start at all, or ""


def delete_plan(*, count, select_across=False):
    """The DeletePlan for ``count`` accounts (``select_across``: all that match)."""
    cap = settings.DELETE_MAX_ACCOUNTS
    refused = ""
    if count > cap and not settings.DELETE_ALLOW_ABOVE_MAX:
        refused = gettext(
            "Deleting %(count)s accounts at once is refused: at most %(cap)s may "
            "be deleted in one go (DELETE_MAX_ACCOUNTS). Select fewer."
        ) % {"count": count, "cap": cap}
    typed = select_across or count > settings.DELETE_CONFIRM_COUNT_ABOVE
    return DeletePlan(count=count, typed_count_needed=typed, refused=refused)


def accounts_delete_from_im(
    *,
    accounts,
    source,
    user=None,
    label="",
    confirmed=False,
    typed_count="",
    select_across=False,
):
    """Start a delete job over ``accounts`` (a queryset), if the plan allows it.

    ``confirmed`` is the person's yes; ``typed_count`` the count they typed
    when the plan needs it. Raises DeleteRefused above the cap,
    DeleteNotConfirmed (with the plan) while the confirmation is missing or
    its count differs from the selection's, and NothingToDo as job_start
    does. Returns the job; audited by job_start.
    """
    plan = delete_plan(count=accounts.count(), select_across=select_across)
    if plan.refused:
        raise DeleteRefused(plan.refused)
    if not confirmed:
        raise DeleteNotConfirmed(plan)
    if plan.typed_count_needed and id_or_none(typed_count) != plan.count:
        raise DeleteNotConfirmed(
            plan,
            gettext("Type the number of accounts, %(count)s, to confirm.")
            % {"count": plan.count},
        )
    return job_start(
        kind=JobKind.DELETE, accounts=accounts, source=source, user=user, label=label
    )
