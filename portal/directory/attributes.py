"""Graph's names of the directory's attributes and the model fields that hold them (plain data, no Django).

The one table between the two: the Graph API, the CSV import, the provisioning source and the gallery's
mapping validation all read it, so an attribute added here is offered everywhere at once.
"""

from __future__ import annotations

EXTENSION_ATTRIBUTE_NAMES = [f"extensionAttribute{i}" for i in range(1, 16)]

# Graph name → DirectoryUser field, in the CSV template's column order.
USER_ATTRIBUTES: dict[str, str] = {
    "userPrincipalName": "user_principal_name",
    "displayName": "display_name",
    "givenName": "given_name",
    "surname": "surname",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "accountEnabled": "account_enabled",
    "jobTitle": "job_title",
    "department": "department",
    "companyName": "company_name",
    "employeeId": "employee_id",
    "employeeType": "employee_type",
    "manager": "manager",
    "officeLocation": "office_location",
    "streetAddress": "street_address",
    "city": "city",
    "state": "state",
    "postalCode": "postal_code",
    "country": "country",
    "usageLocation": "usage_location",
    "preferredLanguage": "preferred_language",
    "mobilePhone": "mobile_phone",
    "businessPhones": "business_phones",
    "faxNumber": "fax_number",
}
# Attributes that point at another object: the source gives its object id, the CSV its user principal name.
REFERENCE_ATTRIBUTES = frozenset({"manager"})
# The profile an admin edits in the forms and the API (the references have their own endpoints).
USER_PROFILE = {name: field for name, field in USER_ATTRIBUTES.items() if name not in REFERENCE_ATTRIBUTES}
USER_READ_ONLY = {"createdDateTime": "created_date_time"}
EXTENSION_ATTRIBUTES = {name: name for name in EXTENSION_ATTRIBUTE_NAMES}  # kept in one JSON column

GROUP_PROFILE: dict[str, str] = {
    "displayName": "display_name",
    "description": "description",
    "mailNickname": "mail_nickname",
    "mail": "mail",
    "mailEnabled": "mail_enabled",
    "securityEnabled": "security_enabled",
}

# What a provisioning mapping may read: the stored attributes and those the source computes.
USER_SOURCE_ATTRIBUTES = frozenset(
    {
        *USER_ATTRIBUTES,
        *USER_READ_ONLY,
        *EXTENSION_ATTRIBUTES,
        "objectId",
        "IsSoftDeleted",
        "appRoleAssignments",
    }
)
GROUP_SOURCE_ATTRIBUTES = frozenset({*GROUP_PROFILE, "objectId", "members"})
