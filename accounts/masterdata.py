"""Accounts and meters as the utility's master data has them: the import and a meter's replacement."""

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Meter, PersonalAccount
from accounts.numbers import meter_serial_normalize


@dataclass(frozen=True)
class MasterDataRow:
    """One validated row of the master-data CSV: an account and one of its meters."""

    account_number: str
    meter_serial: str
    zones: int
    digits: int
    address: str = ""
    holder_name: str = ""
    eic: str = ""
    initial_values: tuple[int, ...] = ()


def master_data_import(*, rows: Iterable[MasterDataRow], batch_size: int = 2000) -> int:
    """Upsert accounts and meters from validated rows, in batches, all or nothing.

    Memory stays bounded by the batch size, whatever the number of rows. Returns
    the number of rows imported.
    """
    imported = 0
    with transaction.atomic():
        batch: list[MasterDataRow] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= batch_size:
                imported += _import_batch(batch)
                batch = []
        if batch:
            imported += _import_batch(batch)
    return imported


def _import_batch(batch: Sequence[MasterDataRow]) -> int:
    # Which rows exist already, so the audit trail can tell a new account from a changed one.
    known_accounts = set(
        PersonalAccount.objects.filter(number__in={row.account_number for row in batch}).values_list(
            "number", flat=True
        )
    )
    # The last row of an account wins for the account's own fields, as in a re-import.
    accounts = {
        row.account_number: PersonalAccount(
            number=row.account_number, address=row.address, holder_name=row.holder_name, eic=row.eic
        )
        for row in batch
    }
    PersonalAccount.objects.bulk_create(
        accounts.values(),
        update_conflicts=True,
        unique_fields=["number"],
        update_fields=["address", "holder_name", "eic", "updated_at"],
    )
    ids = dict(PersonalAccount.objects.filter(number__in=accounts).values_list("number", "id"))
    meters = {
        (row.account_number, row.meter_serial): Meter(
            account_id=ids[row.account_number],
            serial=row.meter_serial,
            zones=row.zones,
            digits=row.digits,
            initial_values=list(row.initial_values),
        )
        for row in batch
    }
    Meter.objects.bulk_create(
        meters.values(),
        update_conflicts=True,
        unique_fields=["account", "serial"],
        update_fields=["zones", "digits", "initial_values"],
    )
    # Bulk upserts send no signals: the audit trail is written here, one row per account and meter,
    # copied inside the database from the rows just upserted ("+" new, "~" changed).
    _history_copy(PersonalAccount, PersonalAccount.objects.filter(number__in=accounts), "number", known_accounts)
    _history_copy(
        Meter,
        Meter.objects.filter(account_id__in=ids.values(), serial__in={serial for _, serial in meters}),
        "id",
        set(Meter.objects.filter(account__number__in=known_accounts).values_list("id", flat=True)),
    )
    return len(batch)


def _history_copy(model, rows, key: str, existed: set) -> None:
    """INSERT … SELECT of `rows` into the model's history table: one statement per batch and no
    Python object per row, so memory stays flat (the extra rows still cost the import time).
    `existed` holds the `key` values of rows that were there before ("~"); the rest are new ("+")."""
    history = model.history.model
    columns = [field.column for field in model._meta.concrete_fields]
    source_sql, source_params = (
        rows.order_by().values_list(*[field.attname for field in model._meta.concrete_fields]).query.sql_with_params()
    )
    known = ", ".join(["%s"] * len(existed)) or "NULL"
    key_column = model._meta.get_field(key).column
    type_sql = f"CASE WHEN src.{key_column} IN ({known}) THEN '~' ELSE '+' END"
    # Only table and column names from the models are formatted in; every value is a parameter.
    sql = (
        f"INSERT INTO {history._meta.db_table} ({', '.join(columns)}, history_date, history_change_reason, "  # noqa: S608
        f"history_type, history_user_id) "
        f"SELECT {', '.join('src.' + column for column in columns)}, %s, %s, {type_sql}, NULL "
        f"FROM ({source_sql}) AS src"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [timezone.now(), "master data import", *existed, *source_params])


def meter_replace(
    *,
    meter: Meter,
    new_serial: str,
    zones: int,
    digits: int,
    initial_values: Sequence[int],
    replaced_on: dt.date,
) -> Meter:
    """Close `meter` on `replaced_on` and install a new one; the old one keeps its readings."""
    serial = meter_serial_normalize(new_serial)
    with transaction.atomic():
        old = Meter.objects.select_for_update().get(pk=meter.pk)
        old.is_active = False
        old.removed_on = replaced_on
        old.full_clean()
        old.save(update_fields=["is_active", "removed_on"])
        new = Meter(
            account=old.account,
            serial=serial,
            zones=zones,
            digits=digits,
            initial_values=list(initial_values),
            installed_on=replaced_on,
        )
        new.full_clean()
        new.save()
    return new
