"""The plain values that move through the pipeline: claimed items, units, answers.

A unit is what one API call carries: up to 100 items of one job, claimed
together under one token. Which API a unit calls follows from its job's kind
and its items' flags, and is decided here only.
"""

from dataclasses import dataclass, field

from ..im.client import MAX_ITEMS_PER_CALL
from ..models import JobKind

IMPORT_APIS = ("multiaccount_import", "account_import", "account_check")


@dataclass(frozen=True, slots=True)
class Item:
    """A claimed job item with what sending it needs."""

    id: int
    account_id: int
    user_id: str
    nick: str
    face_url: str
    attempts: int  # sends about this account so far, this claim's included
    solo: bool  # send alone: IM refused a batch that held it
    needs_check: bool  # ask account_check before sending again
    error_code: int | None  # the last answer's code about it, if any


@dataclass(slots=True)
class Unit:
    """The items of one call, claimed together; ``lease_until`` grows when renewed."""

    job_id: int
    job_kind: str
    token: str
    api: str
    items: list
    lease_until: float
    probe: bool = False  # the one call allowed while the job waits for IM

    @property
    def user_ids(self):
        return [item.user_id for item in self.items]

    @property
    def item_ids(self):
        return [item.id for item in self.items]


@dataclass(slots=True)
class Answer:
    """What calling a unit brought back. No database: the engine records it later.

    ``calls`` holds a record of every request made (none when nothing was
    sent). ``error`` is the whole call's ImError, if any; otherwise
    ``fail_accounts`` (multiaccount_import) or ``results`` (per UserID, for
    account_check and account_delete) say how each account fared.
    ``statuses`` are AccountStatus values from a follow-up account_check.
    """

    sent_at: float
    calls: list = field(default_factory=list)
    error: Exception | None = None
    fail_accounts: frozenset = frozenset()
    results: dict | None = None
    statuses: dict | None = None


def api_for(job_kind, item):
    """The API that sends ``item`` of a job of ``job_kind``."""
    if job_kind == JobKind.CHECK:
        return "account_check"
    if job_kind == JobKind.DELETE:
        return "account_delete"
    if item.needs_check:
        return "account_check"
    return "account_import" if item.solo else "multiaccount_import"


def units_of(*, job_id, job_kind, token, lease_until, items, probe=False):
    """Cut claimed ``items`` into units: one API each, at most 100 items a call.

    Solo items go one a call (``account_import`` for an import). With
    ``probe``, the first unit is marked as the job's probe (callers claim a
    probe's items alone).
    """
    by_api = {}
    for item in items:
        # A solo item goes alone, whatever the API: IM refused a batch with it.
        by_api.setdefault((api_for(job_kind, item), item.solo), []).append(item)
    units = []
    for (api, alone), group in by_api.items():
        size = 1 if alone else MAX_ITEMS_PER_CALL
        for start in range(0, len(group), size):
            units.append(
                Unit(
                    job_id=job_id,
                    job_kind=job_kind,
                    token=token,
                    api=api,
                    items=group[start : start + size],
                    lease_until=lease_until,
                )
            )
    if probe and units:
        units[0].probe = True
    return units


def part_filled(units):
    """The units that would carry less than a full call (solo items go alone anyway).

    While a job is still being read they wait for its next rows: the API
    admits so many calls a second, and a call of 40 accounts spends one as a
    call of 100 does (measured: 4% of a 100,000-row job's calls on
    PostgreSQL, where reading keeps pace with sending).
    """
    return [
        unit
        for unit in units
        if len(unit.items) < MAX_ITEMS_PER_CALL and not unit.items[0].solo
    ]
