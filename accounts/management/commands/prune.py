"""``manage.py prune``: the scheduled retention, run by hand (and audited)."""

import getpass

from django.core.management.base import BaseCommand

from accounts import retention
from accounts.audit.records import audit_context


class Command(BaseCommand):
    help = (
        "Delete uploads decided more than UPLOAD_RETENTION_DAYS ago, expired "
        "sessions, and API-call rows older than API_CALL_RETENTION_DAYS when that "
        "is set (by default they are kept). The audit history is never pruned."
    )

    def handle(self, *args, **options):
        person = f"{getpass.getuser()} (manage.py prune)"
        with audit_context(via="manage.py prune"):
            pruned = retention.records_prune(person=person)
        self.stdout.write(
            f"deleted: {pruned.uploads} uploads, {pruned.api_calls} API calls, "
            f"{pruned.sessions} expired sessions"
        )
