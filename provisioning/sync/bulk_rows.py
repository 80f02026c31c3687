"""Write a page's rows with one statement per table, without model instances or Django's insert compiler.

A page of 500 users writes 500 log rows and 500 escrow rows. ``bulk_create`` spent more time building
model instances and compiling the INSERT (a placeholder and a conversion per field and row) than the
database spent running it, and psycopg then parsed the 10,000-placeholder statement again on every page
(its statement cache skips long queries). Here the caller hands plain tuples, only the fields that
need converting for the database (UUIDs, dates, JSON) are converted, and one short single-row
statement runs with ``executemany`` (pipelined by psycopg, a C loop in sqlite3). Lists of ids are
passed as one array (``= ANY(%s)``) on PostgreSQL for the same reason. The SQL is the portable subset
that SQLite and PostgreSQL share (``ON CONFLICT``).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connection, connections, models

BATCH = 500  # rows per executemany; ids per IN list on SQLite (far below its parameter cap)
_PLAIN = {
    "AutoField",
    "BigAutoField",
    "BooleanField",
    "CharField",
    "ForeignKey",
    "IntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "TextField",
}


def insert_rows(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    conflict: Sequence[str] = (),
    update: Sequence[str] = (),
) -> None:
    """INSERT ``rows`` (tuples in the order of ``fields``, by attribute name such as ``job_id``).

    With ``conflict`` (the columns of a unique constraint), a row that exists is updated in place:
    the ``update`` fields take the new values (``ON CONFLICT … DO UPDATE``).
    """
    if not rows:
        return
    sql = _statement(model, tuple(fields), tuple(conflict), tuple(update))
    with _binding_cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            cursor.executemany(sql, _db_rows(model, tuple(fields), rows[start : start + BATCH]))


_UNSET = object()


def _db_rows(
    model: type[models.Model], fields: tuple[str, ...], rows: Sequence[Sequence[Any]]
) -> list[list[Any]]:
    """``rows`` as the database takes them.

    Only the fields that need it are converted (by the field itself), against the connection object
    resolved once (``django.db.connection`` is a proxy that looks the connection up on each use), and
    a value that is the very object of the row before (the page's job, cycle id, timestamp) is
    converted once.
    """
    database = connections[DEFAULT_DB_ALIAS]
    targets = _converted_fields(model, fields, database.vendor)
    last_value: list[Any] = [_UNSET] * len(fields)
    last_db: list[Any] = [None] * len(fields)
    result = []
    for row in rows:
        values = list(row)
        for index, field in targets:
            value = values[index]
            if value is not last_value[index]:
                last_value[index], last_db[index] = value, field.get_db_prep_save(value, database)
            values[index] = last_db[index]
        result.append(values)
    return result


def _binding_cursor() -> Any:
    """A cursor that sends the parameters apart from the statement (server-side binding) on PostgreSQL.

    Django's psycopg cursor binds on the client: for ``executemany`` it quoted every value of every row
    into a statement text of its own (a fifth of a page's CPU in the worker), and PostgreSQL parsed each
    of those 500 distinct texts. With server-side binding psycopg pipelines one prepared statement and
    the rows' values. Wrapped like any Django cursor (errors, execute wrappers, the query log).
    """
    if connection.vendor != "postgresql":
        return connection.cursor()
    from django.db.backends.postgresql.base import ServerBindingCursor

    connection.ensure_connection()
    with connection.wrap_database_errors:
        cursor = ServerBindingCursor(connection.connection)
    return (
        connection.make_debug_cursor(cursor) if connection.queries_logged else connection.make_cursor(cursor)
    )


def in_values(column_sql: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
    """``column IN (…)`` for ``values`` (already as the database takes them): one array parameter on
    PostgreSQL (a short statement psycopg parses once), a placeholder per value on SQLite."""
    if connection.vendor == "postgresql":
        return f"{column_sql} = ANY(%s)", [list(values)]
    return f"{column_sql} IN ({', '.join(['%s'] * len(values))})", list(values)


def db_values(model: type[models.Model], field: str, values: Sequence[Any]) -> list[Any]:
    """``values`` of one field as the database takes them (a UUID is hex text on SQLite)."""
    return [row[0] for row in _db_rows(model, (field,), [(v,) for v in values])]


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field).column)


@lru_cache(maxsize=64)
def _converted_fields(
    model: type[models.Model], fields: tuple[str, ...], vendor: str
) -> tuple[tuple[int, models.Field], ...]:
    """(position, field) of the fields whose values need converting for the database (UUIDs, dates, JSON)."""
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    return tuple(
        (index, by_attname[name])
        for index, name in enumerate(fields)
        if by_attname[name].get_internal_type() not in _PLAIN
    )


@lru_cache(maxsize=64)
def _statement(
    model: type[models.Model],
    fields: tuple[str, ...],
    conflict: tuple[str, ...],
    update: tuple[str, ...],
) -> str:
    quote = connection.ops.quote_name
    by_attname = {f.attname: f for f in model._meta.concrete_fields}
    columns = [by_attname[name].column for name in fields]
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    sql = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES {row}"
    if conflict:
        targets = ", ".join(quote(by_attname[name].column) for name in conflict)
        changes = ", ".join(
            f"{quote(by_attname[name].column)} = EXCLUDED.{quote(by_attname[name].column)}" for name in update
        )
        sql += (
            f" ON CONFLICT ({targets}) DO UPDATE SET {changes}"
            if update
            else f" ON CONFLICT ({targets}) DO NOTHING"
        )
    return sql
