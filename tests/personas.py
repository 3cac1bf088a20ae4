"""People for the page tests: a user holding exactly the permissions a test names."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

PASSWORD = "a-long-pass-phrase"
READER = ("view_trackedaccount", "view_importjob", "view_apicall")
SUPPORT = ("view_trackedaccount", "import_single")
IMPORTER = (*READER, "import_single", "run_bulk_jobs")


def make_user(username, *codenames, staff=False):
    """A user with the accounts app's permissions ``codenames`` ("import_single")."""
    user = get_user_model().objects.create_user(
        username, password=PASSWORD, is_staff=staff
    )
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="accounts", codename__in=codenames
        )
    )
    return user


def signed_in(client, username, *codenames, staff=False):
    """``client`` signed in as a new user with ``codenames``; returns the user."""
    user = make_user(username, *codenames, staff=staff)
    client.force_login(user)
    return user
