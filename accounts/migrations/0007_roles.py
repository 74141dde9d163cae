"""The staff roles: groups "operator" and "supervisor" with their permissions.

Operators review readings, manage account links and read everything; supervisors
can do that and also edit the calendar, import master data, export for billing,
send announcements and issue staff API tokens. A user is given a role by adding
them to the group (and marking them staff) in admin.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

APPS = ("accounts", "readings", "botbridge", "authtoken")

OPERATOR = [
    "accounts.view_user",
    "accounts.view_personalaccount",
    "accounts.view_meter",
    "accounts.view_telegramidentity",
    "accounts.view_accountlink",
    "accounts.add_accountlink",
    "accounts.change_accountlink",
    "accounts.delete_accountlink",
    "readings.view_reading",
    "readings.view_readingforreview",
    "readings.review_reading",
    "readings.view_calendaroverride",
    "botbridge.view_broadcast",
    "botbridge.view_delivery",
]
SUPERVISOR = OPERATOR + [
    "accounts.change_meter",  # the meter replacement
    "accounts.import_master_data",
    "readings.export_readings",
    "readings.add_calendaroverride",
    "readings.change_calendaroverride",
    "readings.delete_calendaroverride",
    "botbridge.add_broadcast",  # announcements
    "authtoken.view_tokenproxy",
    "authtoken.add_tokenproxy",
    "authtoken.delete_tokenproxy",
]
ROLES = {"operator": OPERATOR, "supervisor": SUPERVISOR}


def create_roles(apps, schema_editor):
    # Permissions are normally made after all migrations; the groups need them now. A
    # migration's app configs have no models module, which create_permissions checks for.
    for label in APPS:
        app_config = apps.get_app_config(label)
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        wanted = [tuple(code.split(".")) for code in codes]
        permissions = [
            Permission.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in wanted
        ]
        group.permissions.set(permissions)


def remove_roles(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0006_audit_trail"),
        ("readings", "0005_review"),
        ("botbridge", "0003_notices"),
        ("authtoken", "0004_alter_tokenproxy_options"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_roles, remove_roles)]
