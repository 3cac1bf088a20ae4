"""The three roles as groups with their permissions.

A copy of accounts.roles.ROLES as it stood when this was written: migrations
must not import code that changes later. tests/integration/test_roles.py checks they agree.
"""

from django.db import migrations

ROLES = {
    "support": [
        "accounts.import_single",
        "accounts.view_trackedaccount",
    ],
    "importer": [
        "accounts.import_single",
        "accounts.view_trackedaccount",
        "accounts.run_bulk_jobs",
        "accounts.view_importjob",
        "accounts.view_jobitem",
        "accounts.view_apicall",
        "accounts.view_upload",
    ],
    "auditor": [
        "accounts.view_trackedaccount",
        "accounts.view_importjob",
        "accounts.view_jobitem",
        "accounts.view_apicall",
        "accounts.view_upload",
        "accounts.view_auditevent",
        "accounts.export_audit",
        "auth.view_user",
        "auth.view_group",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are made after all migrations by post_migrate; on a new
    # database they do not exist yet, so make them now.
    from django.contrib.auth.management import create_permissions

    using = schema_editor.connection.alias
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0, using=using)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, permissions in ROLES.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        found = []
        for permission in permissions:
            app_label, codename = permission.split(".")
            found.append(
                Permission.objects.using(using).get(
                    content_type__app_label=app_label, codename=codename
                )
            )
        group.permissions.set(found)


def remove_roles(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Group.objects.using(schema_editor.connection.alias).filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_rate_slots"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, remove_roles)]
