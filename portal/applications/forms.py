"""Forms of the enterprise-application pages; each error is attached to the field the admin must fix."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.applications import services
from portal.applications.models import Application, AppRole, AppRoleAssignment


class ApplicationNameForm(forms.Form):
    """The name asked for when adding an app from the gallery and when renaming it."""

    display_name = forms.CharField(
        label=_("Name"),
        max_length=services.NAME_MAX_LENGTH,
        error_messages={
            "required": _("Enter a name for the application."),
            "max_length": _("The name can have at most %(limit_value)d characters (it has %(show_value)d)."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )

    def clean_display_name(self) -> str:
        try:
            return services.clean_display_name(self.cleaned_data["display_name"])
        except services.ApplicationError as error:
            raise forms.ValidationError(error.message) from None


class PrincipalField(forms.MultipleChoiceField):
    """Picker values (``user:<id>`` / ``group:<id>``); the form resolves them, the choices are open."""

    def valid_value(self, value: str) -> bool:
        return True


class RoleChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: AppRole) -> str:
        return f"{obj.display_name} (not provisioned)" if obj.is_default else obj.display_name


class AssignmentForm(forms.Form):
    """Add assignment: one or more users and groups picked in the search, and one role for all."""

    principal = PrincipalField(
        label=_("Users and groups"),
        error_messages={"required": _("Select at least one user or group.")},
        widget=forms.CheckboxSelectMultiple,
    )
    app_role = RoleChoiceField(
        label=_("Role"),
        queryset=AppRole.objects.none(),
        empty_label=_("Select a role"),
        error_messages={
            "required": _("Select a role."),
            "invalid_choice": _("Select one of this application's roles."),
        },
    )

    def __init__(self, *args: Any, application: Application, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.application = application
        self.fields["app_role"].queryset = application.app_roles.all()
        self.principals: list[services.Principal] = []

    def clean_principal(self) -> list[str]:
        tokens = list(dict.fromkeys(self.cleaned_data["principal"]))
        principals = []
        for token in tokens:
            principal = services.find_principal(token)
            if principal is None:
                raise forms.ValidationError(
                    _(
                        "One of the selected users or groups no longer exists (or is in the recycle bin). "
                        "Search again."
                    )
                )
            principals.append(principal)
        self.principals = principals
        return tokens

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        role = cleaned.get("app_role")
        if role is None or not self.principals:
            return cleaned
        taken = [p.display_name for p in self.principals if _has_role(p, role)]
        if taken:
            self.add_error(
                "principal",
                f"{', '.join(taken)} already {'has' if len(taken) == 1 else 'have'} the role "
                f"{role.display_name}.",
            )
        return cleaned

    def save(self, *, actor: Any = None) -> list[AppRoleAssignment]:
        role = self.cleaned_data["app_role"]
        return [services.add_assignment(self.application, p, role, actor=actor) for p in self.principals]


def _has_role(principal: services.Principal, role: AppRole) -> bool:
    field = "user" if principal.object_kind == "User" else "group"
    return AppRoleAssignment.objects.filter(app_role=role, **{field: principal}).exists()
