"""Provisioning log records get a GUID id (Graph's provisioningObjectSummary.id): existing rows get a
random one each, in one statement on PostgreSQL and in batches elsewhere, before the column is unique."""

import uuid

from django.db import migrations, models


def fill_log_ids(apps, schema_editor):
    ProvisioningLog = apps.get_model("provisioning", "ProvisioningLog")
    table = schema_editor.quote_name(ProvisioningLog._meta.db_table)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"UPDATE {table} SET log_id = gen_random_uuid() WHERE log_id IS NULL")
        return
    while True:
        batch = list(ProvisioningLog.objects.filter(log_id__isnull=True).only("pk")[:2000])
        if not batch:
            return
        for row in batch:
            row.log_id = uuid.uuid4()
        ProvisioningLog.objects.bulk_update(batch, ["log_id"])


class Migration(migrations.Migration):
    dependencies = [("provisioning", "0004_cycle_progress_observed")]

    operations = [
        migrations.AddField(
            model_name="provisioninglog",
            name="log_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.RunPython(fill_log_ids, migrations.RunPython.noop, elidable=True),
        migrations.AlterField(
            model_name="provisioninglog",
            name="log_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False, unique=True),
        ),
    ]
