"""Forms for directory objects: every rule an admin can break here gets a message on the field it concerns."""

import re
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from portal.directory.attributes import EXTENSION_ATTRIBUTE_NAMES
from portal.directory.models import DirectoryGroup, DirectoryUser, ImportKind

# Entra's rule for the alias part of a UPN, and a plain DNS name for the domain.
UPN_RE = re.compile(r"^[A-Za-z0-9'._!#^~+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$")
USAGE_LOCATION_RE = re.compile(r"^[A-Za-z]{2}$")
PHONE_RE = re.compile(r"^[0-9+()./ x-]{3,64}$")
MAIL_NICKNAME_RE = re.compile(r"^[A-Za-z0-9._-]+$")
EXTENSION_ATTRIBUTE_MAX = 1024


def validate_upn(value: str) -> str:
    """A well-formed UPN (ASCII alias@domain), stripped; shared with the CSV import."""
    value = value.strip()
    if not UPN_RE.match(value):
        raise ValidationError(
            _(
                "Enter a user principal name like alias@contoso.com (letters, digits and ' . _ - ! # ^ ~ before the @)."
            )
        )
    if ".." in value.split("@")[0] or value.startswith(".") or value.split("@")[0].endswith("."):
        raise ValidationError(
            _("The part before the @ cannot start or end with a dot or contain two dots in a row.")
        )
    return value


def upn_taken(upn: str, exclude_pk: int | None = None) -> bool:
    """Whether another user (deleted ones included: they keep their UPN) has this UPN, ignoring case."""
    users = DirectoryUser.objects.alias(_upn=Lower("user_principal_name")).filter(_upn=upn.lower())
    if exclude_pk is not None:
        users = users.exclude(pk=exclude_pk)
    return users.exists()


def parse_phone_list(value: str, separator: str) -> list[str]:
    phones = [p.strip() for p in value.split(separator) if p.strip()]
    bad = [p for p in phones if not PHONE_RE.match(p)]
    if bad:
        raise ValidationError(f"Not a phone number: {', '.join(bad)}. Use digits, spaces and + ( ) - . x.")
    return phones


def clean_usage_location(value: str) -> str:
    value = value.strip()
    if value and not USAGE_LOCATION_RE.match(value):
        raise ValidationError(_("Use a two-letter country code (ISO 3166-1), such as US, DE or NO."))
    return value.upper()


class ManagerField(forms.CharField):
    """The manager, typed as a UPN (a select with 100,000 options would not do); cleans to a user."""

    def to_python(self, value: Any) -> DirectoryUser | None:
        value = super().to_python(value).strip()
        if not value:
            return None
        manager = (
            DirectoryUser.objects.alias(_upn=Lower("user_principal_name")).filter(_upn=value.lower()).first()
        )
        if manager is None:
            raise ValidationError(f"No user has the user principal name {value}.")
        if manager.is_deleted:
            raise ValidationError(f"{manager.display_name} is in the recycle bin and cannot be a manager.")
        return manager

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, DirectoryUser):
            return value.user_principal_name
        return value


class DirectoryUserForm(forms.ModelForm):
    business_phones = forms.CharField(
        required=False, label=_("Business phones"), help_text=_("Several numbers: separate them with commas.")
    )
    manager = ManagerField(
        required=False, label=_("Manager"), help_text=_("The manager's user principal name.")
    )

    class Meta:
        model = DirectoryUser
        fields = [
            "display_name", "user_principal_name", "given_name", "surname", "mail", "mail_nickname",
            "account_enabled", "job_title", "department", "company_name", "employee_id", "employee_type",
            "manager", "office_location", "street_address", "city", "state", "postal_code", "country",
            "usage_location", "preferred_language", "mobile_phone", "business_phones", "fax_number",
        ]  # fmt: skip
        help_texts = {"usage_location": "Two-letter country code, e.g. US. Licences depend on it."}
        error_messages = {
            "usage_location": {"max_length": "Use a two-letter country code (ISO 3166-1), such as US."}
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["display_name"].required = True
        self.fields["manager"].widget.attrs.update(
            {
                "list": "manager-options",
                "autocomplete": "off",
                "hx-get": reverse("directory:user_lookup"),
                "hx-trigger": "input changed delay:250ms",
                "hx-target": "#manager-options",
            }
        )
        if self.instance.pk:
            self.initial["business_phones"] = ", ".join(self.instance.business_phones or [])
            self.initial["manager"] = (
                self.instance.manager.user_principal_name if self.instance.manager else ""
            )
        for name in EXTENSION_ATTRIBUTE_NAMES:
            self.fields[name] = forms.CharField(
                required=False, max_length=EXTENSION_ATTRIBUTE_MAX, label=name
            )
            self.initial.setdefault(name, (self.instance.extension_attributes or {}).get(name, ""))

    @property
    def extension_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in EXTENSION_ATTRIBUTE_NAMES]

    @property
    def main_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.Meta.fields]

    def clean_user_principal_name(self) -> str:
        upn = validate_upn(self.cleaned_data["user_principal_name"])
        if upn_taken(upn, exclude_pk=self.instance.pk):
            raise ValidationError(
                f"Another user already has the user principal name {upn} (case is ignored)."
            )
        return upn

    def clean_usage_location(self) -> str:
        return clean_usage_location(self.cleaned_data["usage_location"])

    def clean_business_phones(self) -> list[str]:
        return parse_phone_list(self.cleaned_data["business_phones"], ",")

    def clean_display_name(self) -> str:
        value = self.cleaned_data["display_name"].strip()
        if not value:
            raise ValidationError(_("A display name is required."))
        return value

    def save(self, commit: bool = True) -> DirectoryUser:
        extensions = {
            n: self.cleaned_data[n].strip() for n in EXTENSION_ATTRIBUTE_NAMES if self.cleaned_data[n].strip()
        }
        self.instance.extension_attributes = extensions
        return super().save(commit=commit)


class DirectoryGroupForm(forms.ModelForm):
    class Meta:
        model = DirectoryGroup
        fields = ["display_name", "description", "mail_nickname", "mail", "security_enabled", "mail_enabled"]
        help_texts = {
            "mail_nickname": "Letters, digits, dots, dashes and underscores. Required when mail-enabled."
        }

    def clean_display_name(self) -> str:
        value = self.cleaned_data["display_name"].strip()
        if not value:
            raise ValidationError(_("A display name is required."))
        return value

    def clean_mail_nickname(self) -> str:
        value = self.cleaned_data["mail_nickname"].strip()
        if value and not MAIL_NICKNAME_RE.match(value):
            raise ValidationError(_("Use only letters, digits, dots, dashes and underscores."))
        return value

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("mail_enabled") and not data.get("mail_nickname") and "mail_nickname" not in self.errors:
            self.add_error("mail_nickname", _("A mail-enabled group needs a mail nickname."))
        if not data.get("mail_enabled") and not data.get("security_enabled"):
            self.add_error("security_enabled", _("A group must be security-enabled, mail-enabled or both."))
        return data


class MemberAddForm(forms.Form):
    kind = forms.ChoiceField(choices=[("user", "User"), ("group", "Group")])
    member = forms.UUIDField(error_messages={"invalid": _("Pick a user or a group from the list.")})


class DirectoryImportForm(forms.Form):
    file = forms.FileField(label=_("CSV file"), help_text=_("UTF-8, comma-separated, with a header row."))

    def __init__(self, *args: Any, kind: str = ImportKind.USERS, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind

    def clean_file(self) -> Any:
        """The upload, once read through (a chunk at a time): UTF-8 (a BOM from Excel is fine), within
        the size limit, not empty."""
        from portal.directory.csv_import import decoded

        upload = self.cleaned_data["file"]
        limit = int(settings.DIRECTORY_IMPORT_MAX_BYTES)
        if upload.size > limit:
            raise ValidationError(f"The file is larger than {limit // (1024 * 1024)} MB.")
        blank = True
        try:
            for text in decoded(upload.chunks()):
                if "\x00" in text:
                    raise ValidationError(_("The file looks binary, not like a CSV text file."))
                blank = blank and not text.strip()
        except UnicodeDecodeError as exc:
            raise ValidationError(
                f"The file is not UTF-8 text (byte {exc.start}). In Excel, save as “CSV UTF-8”."
            ) from exc
        if blank:
            raise ValidationError(_("The file is empty."))
        self.file_name = upload.name[:256]
        return upload
