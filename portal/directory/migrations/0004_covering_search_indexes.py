"""The users' prefix-search indexes on PostgreSQL become covering indexes.

A search reads each field's matches from its own index and sorts them by name (portal.directory.filters
``_Matches``). With the row's name, state and list filters in the index that is an index-only scan: a
common prefix among a million users is sorted without reading 29,000 table rows. The indexed column is
included too, because PostgreSQL only plans an index-only scan for ``lower(col)`` when ``col`` itself is
in the index. SQLite keeps its plain ``lower(...)`` indexes.
"""

from django.db import migrations

FIELDS = ("display_name", "user_principal_name", "mail", "surname")
SHORT = {"display_name": "name", "user_principal_name": "upn", "mail": "mail", "surname": "surname"}
LIST_COLUMNS = ("id", "display_name", "deleted_at", "department", "account_enabled")


def _include(column: str) -> str:
    columns = dict.fromkeys((*LIST_COLUMNS, column))
    return ", ".join(f'"{c}"' for c in columns)


def _rebuild(schema_editor, *, covering: bool) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for column in FIELDS:
        name = f"directory_user_{SHORT[column]}_prefix_idx"
        include = f" INCLUDE ({_include(column)})" if covering else ""
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
        schema_editor.execute(
            f'CREATE INDEX {name} ON directory_directoryuser (lower("{column}") text_pattern_ops){include}'
        )


def covering(apps, schema_editor):
    _rebuild(schema_editor, covering=True)


def plain(apps, schema_editor):
    _rebuild(schema_editor, covering=False)


class Migration(migrations.Migration):
    dependencies = [("directory", "0003_import_parts_and_cancel")]

    operations = [migrations.RunPython(covering, plain, elidable=False)]
