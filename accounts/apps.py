"""The app's configuration: its checks, signals and schedule hook are wired on ready."""

from django.apps import AppConfig
from django.db.backends.signals import connection_created
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "IM accounts"

    def ready(self):
        from django_q.signals import post_spawn

        from . import (  # noqa: F401
            checks,  # registers the system checks
            signals,  # audits sign-ins, lock-outs and role changes
        )
        from .filemodes import on_connection_created
        from .notifications import admin as notifications_admin  # noqa: F401
        from .pipeline.worker import start_in_worker
        from .scheduled import admin as scheduled_admin  # noqa: F401
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
        # SQLite's files 0600 (session keys, password hashes), at each connection.
        connection_created.connect(on_connection_created, dispatch_uid="imadmin-0600")
        # Each django-q2 worker process runs a send engine beside its tasks.
        post_spawn.connect(start_in_worker, dispatch_uid="imadmin-engine")
