"""Meter serials stored before serials were normalised fully: full-width characters and
Cyrillic look-alikes become what meter_serial_normalize makes of them, so that a resident
typing the serial finds the meter.

A serial whose normalised form another meter of the same account already has stays as it
is (the unique constraint (account, serial) allows only one): the log names it for staff.
"""

import logging
import unicodedata

from django.db import migrations

log = logging.getLogger(__name__)

# A copy of the serial rule (now accounts.numbers) as of this migration: the migration must not change
# when the rule does.
LATIN_LOOKALIKES = str.maketrans("АВЕКМНОРСТХІУ", "ABEKMHOPCTXIY")


def normalized(serial: str) -> str:
    text = "".join(unicodedata.normalize("NFKC", serial).split()).upper()
    text = "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in text)
    return text.translate(LATIN_LOOKALIKES)


def serials_normalize(apps, schema_editor):
    Meter = apps.get_model("accounts", "Meter")
    # Only serials with something besides ASCII capitals, digits and dashes can change.
    for meter in Meter.objects.filter(serial__regex=r"[^0-9A-Z-]").only("account_id", "serial").iterator():
        serial = normalized(meter.serial)
        if serial == meter.serial or not (0 < len(serial) <= 32 and serial.replace("-", "").isalnum()):
            continue
        if Meter.objects.filter(account_id=meter.account_id, serial=serial).exists():
            log.warning("meter %s: serial %r kept, the account has a meter %r already", meter.pk, meter.serial, serial)
            continue
        Meter.objects.filter(pk=meter.pk).update(serial=serial)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0009_link_attempt_limits")]

    operations = [migrations.RunPython(serials_normalize, migrations.RunPython.noop)]
