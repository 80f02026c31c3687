"""Texts stored in English in the database or in code tables, shown translated at display time.

``{% translate value %}`` in a template looks these up; listing them here (gettext_noop) puts them in the
catalogues. tests/portal/test_i18n_catalogues.py checks this list still covers the enums it copies.
"""

from django.utils.translation import gettext_noop

STORED_TEXTS = (
    # Step names and types in provisioning log rows (stored in English, shown translated)
    gettext_noop("Import"),
    gettext_noop("Scoping"),
    gettext_noop("Matching"),
    gettext_noop("Processing"),
    gettext_noop("ReferenceResolution"),
    gettext_noop("Export"),
    gettext_noop("import"),
    gettext_noop("scoping"),
    gettext_noop("matching"),
    gettext_noop("processing"),
    gettext_noop("referenceResolution"),
    gettext_noop("export"),
    # Step and log statuses as stored
    gettext_noop("success"),
    gettext_noop("failure"),
    gettext_noop("skipped"),
    gettext_noop("warning"),
    # Object kinds, mapping types, apply modes
    gettext_noop("User"),
    gettext_noop("Group"),
    gettext_noop("Direct"),
    gettext_noop("Constant"),
    gettext_noop("Expression"),
    gettext_noop("Always"),
    gettext_noop("Only during object creation"),
    gettext_noop("Directory"),
    gettext_noop("Default Access"),
    # Audit log activities (portal.audit.Activity values)
    gettext_noop("Add application"),
    gettext_noop("Update application"),
    gettext_noop("Delete application"),
    gettext_noop("Add app role assignment grant to user"),
    gettext_noop("Remove app role assignment from user"),
    gettext_noop("Add app role assignment to group"),
    gettext_noop("Remove app role assignment from group"),
    gettext_noop("Update provisioning setting or credentials"),
    gettext_noop("Enable/start provisioning configuration"),
    gettext_noop("Disable/pause provisioning configuration"),
    gettext_noop("Enable/restart provisioning configuration"),
    gettext_noop("Update attribute mappings or scope"),
    gettext_noop("Quarantine provisioning job"),
    gettext_noop("Release provisioning job from quarantine"),
    gettext_noop("Add user"),
    gettext_noop("Update user"),
    gettext_noop("Delete user"),
    gettext_noop("Restore user"),
    gettext_noop("Hard delete user"),
    gettext_noop("Add group"),
    gettext_noop("Update group"),
    gettext_noop("Delete group"),
    gettext_noop("Restore group"),
    gettext_noop("Hard delete group"),
    gettext_noop("Add member to group"),
    gettext_noop("Remove member from group"),
    gettext_noop("Bulk import (CSV)"),
)
