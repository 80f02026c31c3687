"""The single "legacy Entra compatibility" box becomes separate compatibility switches.

legacy=True maps to the switch set it used to flip at once (value-list member removal, capitalized ops,
string booleans, one replace per path, eq-only matching); legacy=False keeps every default.
"""

from django.db import migrations, models

LEGACY = {
    "memberRemoval": "valueList",
    "patchOpCase": "capitalized",
    "booleanForm": "string",
    "replaceForm": "perPath",
}


def legacy_to_switches(apps, schema_editor):
    Job = apps.get_model("provisioning", "ProvisioningJob")
    Job.objects.filter(legacy_entra_compatibility=True).update(compatibility=LEGACY)


def switches_to_legacy(apps, schema_editor):
    Job = apps.get_model("provisioning", "ProvisioningJob")
    for job in Job.objects.exclude(compatibility={}):
        job.legacy_entra_compatibility = any(job.compatibility.get(k) == v for k, v in LEGACY.items())
        job.save(update_fields=["legacy_entra_compatibility"])


class Migration(migrations.Migration):
    dependencies = [
        ("provisioning", "0006_oauth_authorization_code"),
    ]

    operations = [
        migrations.AddField(
            model_name="provisioningjob",
            name="compatibility",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.RunPython(legacy_to_switches, switches_to_legacy),
        migrations.RemoveField(
            model_name="provisioningjob",
            name="legacy_entra_compatibility",
        ),
    ]
