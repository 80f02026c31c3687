"""Cycle phases and quarantine reasons become choices; the never-written Cycle.requests goes.

The engine only ever wrote the chosen values, so existing rows stay valid; variants in spelling (case,
spaces) that an older build or a hand edit may have left are brought to the canonical value first.
"""

from django.db import migrations, models

PHASES = ["users", "references", "groups", "deprovision"]
PHASE_CHOICES = [(phase, phase.title()) for phase in PHASES]
REASONS = ["EncounteredQuarantineException", "EncounteredEscrowProportionThreshold", "TooManyDeletes"]


def canonical_values(apps, schema_editor):
    def normalise(model, field, values):
        canonical = {value.lower(): value for value in values}
        rows = model.objects.exclude(**{f"{field}__in": [*values, ""]}).values_list("pk", field)
        for pk, value in rows.iterator():
            if (fixed := canonical.get((value or "").strip().lower())) is not None:
                model.objects.filter(pk=pk).update(**{field: fixed})

    normalise(apps.get_model("provisioning", "Cycle"), "phase", PHASES)
    normalise(apps.get_model("provisioning", "CyclePage"), "phase", PHASES)
    normalise(apps.get_model("provisioning", "ProvisioningJob"), "quarantine_reason", REASONS)


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0008_page_delivery_and_failure"),
    ]

    operations = [
        migrations.RunPython(canonical_values, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name="cycle",
            name="requests",
        ),
        migrations.AlterField(
            "cycle", "phase", models.CharField(choices=PHASE_CHOICES, default="users", max_length=16)
        ),
        migrations.AlterField("cyclepage", "phase", models.CharField(choices=PHASE_CHOICES, max_length=16)),
        migrations.AlterField(
            model_name="provisioningjob",
            name="quarantine_reason",
            field=models.CharField(
                blank=True,
                choices=[
                    ("EncounteredQuarantineException", "The target refused the admin credentials"),
                    ("EncounteredEscrowProportionThreshold", "Most objects failed to provision"),
                    ("TooManyDeletes", "Too many deletes staged"),
                ],
                max_length=64,
            ),
        ),
    ]
