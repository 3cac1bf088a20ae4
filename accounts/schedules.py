"""The django-q2 schedule of the status checker, kept in step with the settings."""

from django.conf import settings

MAINTENANCE_NAME = "imadmin: resume stalled jobs and reconcile accounts"


def ensure_schedules(**kwargs):
    """Create or update the maintenance schedule; connected to post_migrate."""
    from django_q.models import Schedule

    Schedule.objects.update_or_create(
        name=MAINTENANCE_NAME,
        defaults={
            "func": "accounts.tasks.maintenance",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.CHECK_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
