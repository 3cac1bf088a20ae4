from django.db import migrations

APIS = ["account_import", "multiaccount_import", "account_check", "account_delete"]


def create_slots(apps, schema_editor):
    # One row per API up front, so concurrent first calls never race to create it.
    RateSlot = apps.get_model("accounts", "RateSlot")
    for api in APIS:
        RateSlot.objects.get_or_create(api=api)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial")]
    operations = [migrations.RunPython(create_slots, migrations.RunPython.noop)]
