"""JobItem: one account in one job, with its claim, attempts and last answer."""

from django.db import models

from accounts.im.errors import describe
from accounts.models.accounts import TrackedAccount
from accounts.models.choices import (
    ItemState,
)
from accounts.models.jobs import ImportJob


class JobItem(models.Model):
    """One account's place in one job: the unit workers claim, and its outcome."""

    # Neither foreign key has an index of its own: one_item_per_job (job,
    # account) and item_account_idx (account, id) serve them, and each index
    # less is one write less per item of a million-row import. Nor a database
    # constraint: PostgreSQL checks each one with a trigger per inserted row,
    # which cost a sixth of a preparation's database time (measured), while
    # the only writers of these rows (the preparation, the services) insert
    # them from accounts and jobs they have just read or created, and nothing
    # deletes a job or an account but Django's own cascade.
    job = models.ForeignKey(
        ImportJob,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,
        db_constraint=False,
    )
    account = models.ForeignKey(
        TrackedAccount,
        on_delete=models.CASCADE,
        related_name="job_items",
        db_index=False,
        db_constraint=False,
    )
    state = models.CharField(
        max_length=10, choices=ItemState.choices, default=ItemState.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.FloatField(default=0.0)  # unix time; backoff lives here
    claimed_until = models.FloatField(null=True, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    # Send alone (isolates an account IM refuses) / settle with account_check first.
    solo = models.BooleanField(default=False)
    needs_check = models.BooleanField(default=False)
    error_code = models.IntegerField(null=True, blank=True)
    error_message = models.CharField(max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    line = models.PositiveIntegerField(null=True, blank=True)  # in the job's file

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "account"], name="one_item_per_job")
        ]
        indexes = [
            # The claim: due items of a job in the claim's own order (job and
            # state equal, then next_attempt_at, id), so a claim reads about as
            # many index entries as it takes, however long the queue is.
            models.Index(
                fields=["job", "state", "next_attempt_at", "id"],
                name="item_claim_idx",
            ),
            models.Index(fields=["account", "id"], name="item_account_idx"),
            # A job's failed (or invalid) accounts, newest first, read as one
            # index range however many items the job has. Partial: an item
            # enters it only when it ends so, so an import pays nothing more.
            models.Index(
                fields=["job", "account"],
                condition=models.Q(state="failed"),
                name="item_job_failed_idx",
            ),
            models.Index(
                fields=["job", "account"],
                condition=models.Q(state="invalid"),
                name="item_job_invalid_idx",
            ),
        ]

    @property
    def error_sentence(self):
        return describe(self.error_code)
