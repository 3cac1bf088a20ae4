"""Reads of a job's items (its accounts in that job)."""

from accounts.models import JobItem


def job_items_filtered(job, *, state=""):
    """``job``'s items, with their accounts, in ``state`` if given; for keyset pages."""
    items = JobItem.objects.filter(job=job).select_related("account")
    return items.filter(state=state) if state else items
