"""Tracked accounts, jobs, their items, API calls, uploads, audit, limiter rows.

One module per model (``accounts``, ``jobs``, ``items``, ``calls``,
``uploads``, ``audit``, ``tokens``, ``notifications``, ``scheduled``) and
``choices`` for the states they share; import them from here.
"""

from accounts.models.accounts import TrackedAccount
from accounts.models.audit import AuditEvent, AuditEventImmutable, AuditEventQuerySet
from accounts.models.calls import ApiCall, RateSlot
from accounts.models.choices import (
    ACTIVE_JOB_STATUSES,
    FINAL_JOB_STATUSES,
    OPEN_ITEM_STATES,
    AccountState,
    AuditAction,
    ItemState,
    JobKind,
    JobSource,
    JobStatus,
    RemoteStatus,
    UploadStatus,
)
from accounts.models.items import JobItem
from accounts.models.jobs import ImportJob
from accounts.models.notifications import (
    DeliveryState,
    JobEmail,
    JobEvent,
    NotificationPreference,
    WebhookDelivery,
    WebhookEndpoint,
)
from accounts.models.scheduled import Frequency, ScheduledImport
from accounts.models.tokens import ApiToken, IdempotencyKey
from accounts.models.uploads import Upload

__all__ = [
    "ACTIVE_JOB_STATUSES",
    "FINAL_JOB_STATUSES",
    "OPEN_ITEM_STATES",
    "AccountState",
    "ApiCall",
    "ApiToken",
    "AuditAction",
    "AuditEvent",
    "AuditEventImmutable",
    "AuditEventQuerySet",
    "DeliveryState",
    "Frequency",
    "IdempotencyKey",
    "ImportJob",
    "ItemState",
    "JobEmail",
    "JobEvent",
    "JobItem",
    "JobKind",
    "JobSource",
    "JobStatus",
    "NotificationPreference",
    "RateSlot",
    "RemoteStatus",
    "ScheduledImport",
    "TrackedAccount",
    "Upload",
    "UploadStatus",
    "WebhookDelivery",
    "WebhookEndpoint",
]
