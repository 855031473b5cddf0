"""The "Billing staff" group of platform users: billing records only, never tenant data."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GROUP = "Billing staff"
PERMISSIONS = [
    ("billing", "view_plan"),
    ("billing", "view_subscription"),
    ("billing", "change_subscription"),
    ("billing", "view_invoice"),
    ("billing", "view_usageperiod"),
    ("tenants", "view_tenant"),
    # In the public schema the ledger is the billing ledger; tenants' ledgers live in their schemas.
    ("ledger", "view_ledgerentry"),
]


def create_group(apps, schema_editor):
    # Permissions are normally created after all migrations; this one needs them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    for app_label, codename in PERMISSIONS:
        group.permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0002_plan_catalogue"),
        ("tenants", "0001_initial"),
        ("ledger", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_group, migrations.RunPython.noop)]
