"""What ``migrate`` readies besides the tables: the cache table and the schedules.

So ``migrate`` alone prepares a database for the web and the workers: the
database cache (used when REDIS_URL is unset) needs its table, the status
checker its django-q2 schedule, kept in step with the settings, and webhook
retries a schedule that sends those that are due.
"""

from django.conf import settings
from django.core.management import call_command

MAINTENANCE_NAME = "imadmin: resume stalled jobs and reconcile accounts"
WEBHOOK_RETRIES_NAME = "imadmin: send due webhook retries"
PRUNE_NAME = "imadmin: prune expired uploads, sessions and API calls"


def ensure_schedules(using="default", **kwargs):
    """Create the cache table and the schedules; a post_migrate receiver."""
    from django_q.models import Schedule

    call_command("createcachetable", database=using, verbosity=0)
    Schedule.objects.using(using).update_or_create(
        name=MAINTENANCE_NAME,
        defaults={
            "func": "accounts.tasks.maintenance",
            "schedule_type": Schedule.MINUTES,
            "minutes": settings.CHECK_INTERVAL_MINUTES,
            "repeats": -1,
        },
    )
    Schedule.objects.using(using).update_or_create(
        name=WEBHOOK_RETRIES_NAME,
        defaults={
            "func": "accounts.tasks.webhook_retries_due",
            "schedule_type": Schedule.MINUTES,
            "minutes": 1,
            "repeats": -1,
        },
    )
    # Daily: retention is counted in days, and a prune runs in short chunks.
    Schedule.objects.using(using).update_or_create(
        name=PRUNE_NAME,
        defaults={
            "func": "accounts.tasks.prune",
            "schedule_type": Schedule.DAILY,
            "repeats": -1,
        },
    )
