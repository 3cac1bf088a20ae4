from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "IM accounts"

    def ready(self):
        from . import (  # noqa: F401
            checks,  # registers the system checks
            signals,  # audits sign-ins, lock-outs and role changes
        )
        from .schedules import ensure_schedules

        post_migrate.connect(ensure_schedules, sender=self)
