"""Texts stored in English in the database or in code tables, shown translated at display time.

``{% translate value %}`` in a template looks these up; listing them here (gettext_noop, or pgettext_lazy
with a context where a word has two meanings) puts them in the catalogues.
tests/i18n/test_catalogues.py checks this list still covers the tables it copies.
"""

from django.utils.translation import gettext_noop, pgettext_lazy

STORED_TEXTS = (
    # Step names and types in provisioning log rows (stored in English, shown translated)
    pgettext_lazy("provisioning step", "Import"),
    pgettext_lazy("provisioning step", "Scoping"),
    pgettext_lazy("provisioning step", "Matching"),
    pgettext_lazy("provisioning step", "Processing"),
    pgettext_lazy("provisioning step", "ReferenceResolution"),
    pgettext_lazy("provisioning step", "Export"),
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
    # Compatibility switches (provisioning/connectors/scim/compat.py, which imports no Django)
    gettext_noop("Group member removal"),
    gettext_noop('remove with a path filter: members[value eq "id"] (RFC 7644)'),
    gettext_noop('remove "members" with a value list [{"value": id}] (Entra before 2020)'),
    gettext_noop("PATCH operation names"),
    gettext_noop("lower case: add, replace, remove (RFC 7644)"),
    gettext_noop("capitalized: Add, Replace, Remove (Entra before 2020)"),
    gettext_noop("Boolean values"),
    gettext_noop("JSON booleans: true, false (RFC 7643)"),
    gettext_noop('strings: "True", "False" (Entra before 2020)'),
    gettext_noop("Replace of several attributes"),
    gettext_noop("one replace without a path for the plain attributes (Entra with aadOptscim062020)"),
    gettext_noop("one replace per attribute path"),
    gettext_noop("Filter operators used for matching"),
    gettext_noop('eq only: one userName eq "…" query per object (what Entra sends)'),
    gettext_noop('eq and or: several values per query, userName eq "a" or userName eq "b"'),
    # Gallery mapping names, the audit log's system actor
    gettext_noop("Provision Microsoft Entra ID Users"),
    gettext_noop("Provision Microsoft Entra ID Groups"),
    gettext_noop("Provisioning service"),
)
