"""Print the PostgreSQL grants for the application's role (see accounts.db_roles).

python manage.py db_grants --role imadmin_app | psql -U imadmin_owner imadmin
"""

from django.core.management.base import BaseCommand

from accounts.db_roles import app_role_grants


class Command(BaseCommand):
    help = (
        "Print the SQL that grants the application's PostgreSQL role what it "
        "needs and no more (the audit table: SELECT and INSERT). Run it as the "
        "tables' owner after every migrate."
    )

    def add_arguments(self, parser):
        parser.add_argument("--role", required=True, help="the application's role")
        parser.add_argument("--schema", default="public")

    def handle(self, *args, role, schema, **options):
        for statement in app_role_grants(role, schema=schema):
            self.stdout.write(statement)
