"""AuditEvent: the append-only history of who did what, and its guards."""

from django.conf import settings
from django.db import DatabaseError, models

from accounts.models.choices import (
    AuditAction,
)


class AuditEventImmutable(DatabaseError):
    """An update or delete of an audit entry was attempted: the history is append-only.

    A DatabaseError, like the one PostgreSQL's trigger raises for raw SQL.
    """


class AuditEventQuerySet(models.QuerySet):
    """Reads and inserts only: updates and deletes raise AuditEventImmutable."""

    def update(self, **kwargs):
        # Deleting a user sets its entries' actor to NULL (the name stays in
        # actor_name); that one change is allowed, as the database trigger does.
        if kwargs.keys() <= {"actor", "actor_id"} and not any(kwargs.values()):
            return super().update(**kwargs)
        raise AuditEventImmutable("audit entries cannot be updated")

    def delete(self):
        raise AuditEventImmutable("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AuditEventImmutable("audit entries cannot be updated")

    def update_or_create(self, *args, **kwargs):
        raise AuditEventImmutable("audit entries cannot be updated")

    def bulk_create(self, objs, *args, update_conflicts=False, **kwargs):
        if update_conflicts:  # an upsert would overwrite stored entries
            raise AuditEventImmutable("audit entries cannot be updated")
        return super().bulk_create(objs, *args, **kwargs)

    async def aupdate(self, **kwargs):
        raise AuditEventImmutable("audit entries cannot be updated")

    async def adelete(self):
        raise AuditEventImmutable("audit entries cannot be deleted")


class AuditEvent(models.Model):
    """One human action or job outcome. Append-only: never updated, never deleted."""

    at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    actor_name = models.CharField(max_length=150, blank=True)  # kept if the user goes
    ip = models.GenericIPAddressField(null=True, blank=True)
    action = models.CharField(max_length=20, choices=AuditAction.choices)
    object_type = models.CharField(max_length=20, blank=True)
    object_id = models.CharField(max_length=64, blank=True)
    user_id = models.CharField("UserID", max_length=32, blank=True)  # the IM account
    job_id = models.BigIntegerField(null=True, blank=True)
    result = models.CharField(max_length=20, default="ok")
    details = models.JSONField(default=dict, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        # Related lookups and deletion cascades use the guarded manager too.
        base_manager_name = "objects"
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["action", "id"], name="audit_action_idx"),
            models.Index(fields=["actor", "id"], name="audit_actor_idx"),
            models.Index(fields=["user_id", "id"], name="audit_userid_idx"),
            models.Index(fields=["job_id", "id"], name="audit_job_idx"),
        ]
        permissions = [("export_audit", "Can export the audit history and records")]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_name} {self.action}"

    def save(self, **kwargs):
        """Insert a new entry; saving one already stored raises AuditEventImmutable."""
        if not self._state.adding or kwargs.get("update_fields") is not None:
            raise AuditEventImmutable("audit entries cannot be updated")
        # Never an UPDATE, even for an instance built with an existing id.
        kwargs["force_insert"] = True
        super().save(**kwargs)

    def delete(self, *args, **kwargs):
        raise AuditEventImmutable("audit entries cannot be deleted")
