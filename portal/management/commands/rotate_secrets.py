"""``manage.py rotate_secrets``: encrypt every stored secret again with the newest FIELD_ENCRYPTION_KEYS key.

Run it after putting a new key first in FIELD_ENCRYPTION_KEYS; once it reports no unreadable secret, the
older keys can be removed. Ciphertext is read and written as it is stored (no plaintext is kept), one row
at a time in its own transaction, so it can be run again safely after an interruption.
"""

from __future__ import annotations

from typing import Any

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connections, router, transaction

from portal.crypto import EncryptedTextField, rotate


class Command(BaseCommand):
    help = "Re-encrypt every encrypted field with the newest key in FIELD_ENCRYPTION_KEYS."

    def handle(self, *args: Any, **options: Any) -> None:
        rotated = 0
        unreadable: list[str] = []
        for model in apps.get_models():
            fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
            if not fields:
                continue
            db = router.db_for_write(model)
            connection = connections[db]
            quote = connection.ops.quote_name
            table, pk = quote(model._meta.db_table), quote(model._meta.pk.column)
            for field in fields:
                column = quote(field.column)
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT {pk}, {column} FROM {table} WHERE {column} <> ''")
                    rows = cursor.fetchall()
                for key, ciphertext in rows:
                    try:
                        fresh = rotate(ciphertext)
                    except ValueError:
                        unreadable.append(f"{model._meta.label}.{field.name} (id {key})")
                        continue
                    with transaction.atomic(using=db), connection.cursor() as cursor:
                        cursor.execute(
                            f"UPDATE {table} SET {column} = %s WHERE {pk} = %s AND {column} = %s",
                            [fresh, key, ciphertext],
                        )
                        rotated += cursor.rowcount
        self.stdout.write(f"Re-encrypted {rotated} secret(s) with the newest key.")
        if unreadable:
            raise CommandError(
                f"{len(unreadable)} secret(s) can't be decrypted with any configured key (they were left as "
                f"they are; type them again in the portal, or restore the key): {', '.join(unreadable)}"
            )
