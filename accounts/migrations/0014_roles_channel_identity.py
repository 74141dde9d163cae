"""The roles read channel identities now: their permissions made, Telegram identities' gone."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

from accounts.roles import EXPORT_BATCHES, roles_ensure


def channel_identity_roles(apps, schema_editor):
    # As in 0007: the groups need the new model's permissions before Django makes them after migrating.
    app_config = apps.get_app_config("accounts")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    roles_ensure(apps, skip_codes=EXPORT_BATCHES)
    # TelegramIdentity is gone: its content type (and so its permissions) is stale.
    content_types = apps.get_model("contenttypes", "ContentType").objects
    content_types.filter(app_label="accounts", model="telegramidentity").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0013_channel_identity"),
        ("knox", "0009_extend_authtoken_field"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(channel_identity_roles, migrations.RunPython.noop)]
