"""The staff roles of accounts/roles.py, made once. A later change to the roles needs a
migration of its own that calls roles_ensure again.

The roles once held DRF authtoken's permissions; the API tokens are knox's now (0009),
so this migration no longer depends on authtoken and leaves the knox permissions to 0009.
A database that ran it before keeps its record; nothing here runs again there.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import LATER_MODELS, ROLES, roles_ensure

APPS = ("accounts", "readings", "botbridge")


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now. A
    # migration's app configs have no models module, which create_permissions checks for.
    for label in APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    roles_ensure(apps, skip_apps=("knox",), skip_codes=LATER_MODELS)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_audit_trail"),
        ("readings", "0005_review"),
        ("botbridge", "0003_notices"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
