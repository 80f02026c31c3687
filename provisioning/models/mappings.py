"""The object mappings of a job ("Provision users", "Provision groups"), stored as plain JSON."""

from django.db import models

from provisioning.models.job import ProvisioningJob


class ObjectMapping(models.Model):
    """One row of the Mappings section ("Provision users", "Provision groups"), as plain JSON data."""

    job = models.ForeignKey(ProvisioningJob, on_delete=models.CASCADE, related_name="object_mappings")
    key = models.CharField(max_length=32)  # "users" | "groups"
    name = models.CharField(max_length=200)
    enabled = models.BooleanField(default=True)
    source_object = models.CharField(max_length=16)  # "User" | "Group"
    target_object = models.CharField(max_length=120)
    actions = models.JSONField(default=list)  # subset of ["Create", "Update", "Delete"]
    scoping_filters = models.JSONField(default=list)  # [[{"attribute","operator","value"}...]...]
    attribute_mappings = models.JSONField(default=list)
    target_attributes = models.JSONField(default=list)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["job", "key"], name="object_mapping_unique_key")]

    def __str__(self) -> str:
        return self.name
