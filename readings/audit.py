"""A new row and its audit-trail row (django-simple-history) in one statement.

simple-history writes the historical row in a post_save handler: a second INSERT, a second round
trip to the database, for every reading. On PostgreSQL one statement does both: the row's INSERT
in a WITH … RETURNING, the historical row's INSERT … SELECT from it, with the same columns, the
same user, type "+" and time that simple-history would give. Elsewhere (SQLite, `make run`),
simple-history's own way.
"""

import functools

from django.db import connection
from django.db.models import AutoField, Field, Model
from django.utils import timezone

# The historical model's own columns; every other one copies the new row's column of that name.
HISTORY_OWN = ("history_id", "history_date", "history_change_reason", "history_type", "history_user_id")


def audited_insert(instance: Model) -> None:
    """INSERT `instance` (a model with HistoricalRecords as `history`) and its "+" historical row.

    The "who" is `instance._history_user`, which the caller sets, as simple-history reads it.
    """
    if connection.vendor != "postgresql":
        instance.save(force_insert=True)
        return
    sql, fields = _insert_sql(type(instance))
    values = [field.get_db_prep_save(field.pre_save(instance, add=True), connection) for field in fields]
    user = getattr(instance, "_history_user", None)
    with connection.cursor() as cursor:
        when = getattr(instance, "_history_date", None) or timezone.now()
        cursor.execute(sql, [*values, when, user.pk if user is not None else None])
        [instance.pk] = cursor.fetchone()
    instance._state.adding = False
    instance._state.db = connection.alias


@functools.cache
def _insert_sql(model: type[Model]) -> tuple[str, list[Field]]:
    """The statement for `model` and the fields its parameters are, made once per process: the
    same text every time, and `model.history` builds a new manager class on every access."""
    history = model.history.model
    fields = [field for field in model._meta.concrete_fields if not isinstance(field, AutoField)]
    copied = [field.column for field in history._meta.concrete_fields if field.attname not in HISTORY_OWN]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    history_columns = ", ".join(quote(column) for column in copied)
    selected = ", ".join(f"new.{quote(column)}" for column in copied)
    # Only the models' own table and column names go into the text; every value is a parameter.
    sql = (
        f"WITH new AS (INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES ({placeholders}) RETURNING *) "  # noqa: S608
        f"INSERT INTO {quote(history._meta.db_table)} ({history_columns}, history_date, history_change_reason, "
        f"history_type, history_user_id) SELECT {selected}, %s, NULL, '+', %s FROM new "
        f"RETURNING {quote(model._meta.pk.column)}"
    )
    return sql, fields
