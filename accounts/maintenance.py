"""The scheduled upkeep of jobs and uploads together: the one place needing both."""

from accounts.models import (
    JobSource,
)
from accounts.services.preparing import preparations_resume
from accounts.services.upkeep import accounts_reconcile, settle_abandoned_items
from accounts.uploads.services import uploads_cleanup


def maintenance(*, reconcile=True):
    """The scheduled upkeep: resume stalled preparations, settle, clean, reconcile.

    Jobs need no restarting: every worker's engine claims their items from
    the database, and takes over a dead worker's claims once they expire.
    Stalled preparations of uploads are re-queued, those of a command that
    died are ended (see ``preparations_resume``). Returns (ids of resumed
    preparations, the check job started or None). Safe to run at any time
    and any number of times.
    """
    resumed, _ = preparations_resume()
    settle_abandoned_items()
    uploads_cleanup()
    check = accounts_reconcile(source=JobSource.SCHEDULE) if reconcile else None
    return resumed, check
