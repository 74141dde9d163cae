"""The staff roles: groups "operator" and "supervisor" with their permissions.

Operators review readings, remove account links on request and read everything;
supervisors can do that and also edit the calendar, import master data, export for
billing, replace meters, send announcements and issue staff API tokens. A member
of staff gets a role by being added to the group in admin.
"""

OPERATOR = [
    "accounts.view_user",
    "accounts.view_personalaccount",
    "accounts.view_meter",
    "accounts.view_channelidentity",
    "accounts.view_accountlink",
    "accounts.add_accountlink",
    "accounts.change_accountlink",
    "accounts.delete_accountlink",
    "readings.view_reading",
    "readings.view_readingforreview",
    "readings.review_reading",
    "readings.view_calendaroverride",
    "readings.view_exportbatch",
    "botbridge.view_broadcast",
    "botbridge.view_delivery",
]
SUPERVISOR = [
    *OPERATOR,
    "accounts.change_meter",  # the meter replacement
    "accounts.import_master_data",
    "readings.export_readings",
    "readings.add_calendaroverride",
    "readings.change_calendaroverride",
    "readings.delete_calendaroverride",
    "botbridge.add_broadcast",  # announcements
    "knox.view_authtoken",  # staff API tokens (billing, integrators)
    "knox.add_authtoken",
    "knox.delete_authtoken",
]
ROLES = {"operator": OPERATOR, "supervisor": SUPERVISOR}


# Permissions of models a later migration made: the migrations before it skip them.
EXPORT_BATCHES = ("readings.view_exportbatch",)  # readings' export batches migration
LATER_MODELS = ("accounts.view_channelidentity", *EXPORT_BATCHES)


def roles_ensure(apps, *, skip_apps: tuple[str, ...] = (), skip_codes: tuple[str, ...] = ()) -> None:
    """Make the groups with exactly their permissions; `apps` is a migration's registry or Django's.

    `skip_apps`: apps whose permissions an early migration cannot have yet (a later one adds them);
    `skip_codes`: the same for single permissions, of models that did not exist yet.
    """
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    for name, codes in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=name)
        permissions = [
            permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            for app_label, codename in (code.split(".") for code in codes)
            if app_label not in skip_apps and f"{app_label}.{codename}" not in skip_codes
        ]
        group.permissions.set(permissions)
