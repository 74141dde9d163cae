"""API tokens move from DRF's authtoken to knox: the roles get knox's permissions, and
authtoken's table and permissions go. Old tokens are dropped: their holders ask for a new
one (POST /api/v1/auth/token/, or staff in admin). Knox stores only hashes, so the old
keys could not have been carried over as they are anyway."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import LATER_MODELS, roles_ensure


def knox_roles(apps, schema_editor):
    # As in 0007: the groups need knox's permissions before Django makes them after migrating.
    app_config = apps.get_app_config("knox")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    roles_ensure(apps, skip_codes=LATER_MODELS)
    # authtoken is no longer installed: its content types (and so its permissions) are stale.
    apps.get_model("contenttypes", "ContentType").objects.filter(app_label="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0011_telegram_login_use"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.RunSQL("DROP TABLE IF EXISTS authtoken_token", migrations.RunSQL.noop),
        migrations.RunPython(knox_roles, migrations.RunPython.noop),
    ]
