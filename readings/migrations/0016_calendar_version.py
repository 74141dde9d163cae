"""The calendar's version stamp, kept by triggers on every write to the calendar overrides."""

from django.db import migrations, models

# PostgreSQL: one statement-level trigger, TRUNCATE included; the upsert brings the row back if
# something deleted it. gen_random_uuid: a stamp never seen before, even after a rollback.
POSTGRES_UP = """
CREATE FUNCTION readings_calendar_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO readings_calendarversion (id, stamp) VALUES (1, gen_random_uuid()::text)
    ON CONFLICT (id) DO UPDATE SET stamp = EXCLUDED.stamp;
    RETURN NULL;
END $$;
CREATE TRIGGER readings_calendar_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON readings_calendaroverride
    FOR EACH STATEMENT EXECUTE FUNCTION readings_calendar_changed();
INSERT INTO readings_calendarversion (id, stamp) VALUES (1, gen_random_uuid()::text);
"""
POSTGRES_DOWN = """
DROP TRIGGER readings_calendar_changed ON readings_calendaroverride;
DROP FUNCTION readings_calendar_changed();
"""
SQLITE_STAMP = "INSERT OR REPLACE INTO readings_calendarversion (id, stamp) VALUES (1, lower(hex(randomblob(16))));"
SQLITE_EVENTS = ("INSERT", "UPDATE", "DELETE")


def triggers_create(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_UP)
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(
                f"CREATE TRIGGER readings_calendar_{event.lower()} AFTER {event} ON readings_calendaroverride "
                f"BEGIN {SQLITE_STAMP} END;"
            )
        schema_editor.execute(SQLITE_STAMP)
    # Elsewhere no row is made, and windows are simply not remembered (readings.selectors).


def triggers_drop(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRES_DOWN)
    elif vendor == "sqlite":
        for event in SQLITE_EVENTS:
            schema_editor.execute(f"DROP TRIGGER readings_calendar_{event.lower()};")


class Migration(migrations.Migration):
    dependencies = [
        ("readings", "0015_calendar_audit_and_labels"),
    ]

    operations = [
        migrations.CreateModel(
            name="CalendarVersion",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("stamp", models.CharField(max_length=36)),
            ],
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
