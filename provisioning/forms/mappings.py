"""Forms of the Mappings blade: object mapping settings and Edit Attribute, and what every Mappings form
shares (source/target attribute names, table-wide validation, the row lock, the audit entry, expression
error display). The scoping filter editor, the target attribute list and the expression tester use
those helpers from ``scoping_filters``, ``target_attributes`` and ``expression_tester`` beside this file.

Validation is the pure back end's (``provisioning.mappings.evaluation``, ``provisioning.expressions``,
``provisioning.mappings.scoping``); these forms only turn its findings into field errors. Every save runs in one
transaction on the locked object mapping row and refuses a change that would make the attribute
mapping table invalid. A saved change marks the job for an initial cycle (Entra: any mapping or scoping
change does) with a single-column UPDATE, because the engine writes the same job row, and records an
audit entry with the old and new values.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django import forms
from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.applications.gallery import DIRECTORY_EXTENSION, SOURCE_ATTRIBUTES
from portal.audit import Activity, audit_application
from portal.i18n.text import localized
from provisioning.connectors.scim.paths import ENTERPRISE_URN, parse_path
from provisioning.expressions import FUNCTIONS, ExpressionError, compile_expression
from provisioning.mappings.evaluation import (
    APPLY_MODES,
    MAPPING_TYPES,
    AttributeMapping,
    MappingError,
    TargetAttribute,
    validate_mappings,
)
from provisioning.models import ObjectMapping, ProvisioningJob

OBJECT_ACTIONS = ("Create", "Update", "Delete")
APPLY_LABELS = {"Always": "Always", "ObjectAddOnly": "Only during object creation"}
INT32_MAX = 2**31 - 1
STALE = _(
    "Someone else changed this mapping since you opened it. "
    "Reload the page to see their change, then make yours again."
)
INCOMPLETE = _("The form arrived incomplete, so nothing was saved. Reload the page and try again.")
# The JSON keys MappingError.field uses → the Edit Attribute form's field names.
FORM_FIELDS = {
    "target": "target",
    "type": "mapping_type",
    "source": "source",
    "constant": "constant",
    "expression": "expression",
    "defaultValue": "default_value",
    "matchingPrecedence": "matching_precedence",
    "apply": "apply",
}
# Entra's scoping filters don't support multi-valued or date attributes (ED/known-issues.md).
SCOPING_UNSUPPORTED = {
    "businessphones": "multi-valued attributes can't be used in a scoping filter",
    "createddatetime": "date attributes can't be used in a scoping filter",
}


def fingerprint(*parts: Any) -> str:
    """A short hash of stored JSON: the version a form was opened on, to refuse overwriting a newer one."""
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def posted_count(value: Any, limit: int) -> int:
    """A posted row/clause count as an int in [0, limit] (0 when missing or garbled)."""
    try:
        return max(0, min(int(value), limit))
    except (TypeError, ValueError):
        return 0


# --------------------------------------------------------------------------------- source attributes


def source_attribute_names(source_object: str) -> list[str]:
    """The directory attributes a mapping or filter of this object type can read (the pickers' lists)."""
    return sorted(SOURCE_ATTRIBUTES.get(source_object, frozenset()), key=str.lower)


def _closest(name: str, candidates: Iterable[str]) -> str | None:
    by_lower = {c.lower(): c for c in candidates}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=1, cutoff=0.6)
    return by_lower[found[0]] if found else None


def resolve_source_attribute(name: str, source_object: str) -> str:
    """The attribute's canonical spelling; raises ``ValueError`` (with a suggestion) for an unknown one."""
    known = {n.lower(): n for n in SOURCE_ATTRIBUTES.get(source_object, frozenset())}
    if name.lower() in known:
        return known[name.lower()]
    if DIRECTORY_EXTENSION.match(name):
        return name
    message = f"'{name}' is not a {source_object} attribute of the directory"
    suggestion = _closest(name, known.values())
    raise ValueError(message + (f"; did you mean '{suggestion}'?" if suggestion else ""))


# --------------------------------------------------------------------------------- target attributes


@dataclass(frozen=True)
class TargetName:
    """A target attribute name taken apart: the attribute path and the extension schema it is in."""

    path: str
    extension: str | None = None  # "enterprise", a custom extension's name, or None

    @property
    def custom_extension(self) -> bool:
        return self.extension is not None and self.extension.lower() != "enterprise"

    @property
    def complex(self) -> bool:
        return "." in self.path or "[" in self.path


def parse_target_name(name: str) -> TargetName:
    """Check a target attribute name with the connector's own grammar (``paths.parse_path``); raises
    ``ValueError`` saying how to write it."""
    parsed = parse_path(name)
    text = name.strip()
    path = text[text.split("[", 1)[0].rfind(":") + 1 :]  # the attribute path after its schema URN
    extension = None
    if parsed.schema:
        extension = "enterprise" if parsed.schema == ENTERPRISE_URN else parsed.schema.split(":")[6]
    return TargetName(path, extension)


def to_target_attribute(data: Mapping[str, Any]) -> TargetAttribute:
    try:
        return TargetAttribute.from_dict(data)
    except ValueError:
        return TargetAttribute(name=str(data.get("name") or ""))


def target_attributes(object_mapping: ObjectMapping) -> list[TargetAttribute]:
    return [to_target_attribute(a) for a in object_mapping.target_attributes or []]


# --------------------------------------------------------------------------- table-wide validation


def table_errors(
    rows: Sequence[Mapping[str, Any]], attributes: Sequence[TargetAttribute]
) -> list[MappingError]:
    """validate_mappings on stored JSON; a row that can't be read at all is reported, not raised."""
    mappings: list[AttributeMapping] = []
    unreadable: list[MappingError] = []
    for index, row in enumerate(rows):
        try:
            mappings.append(AttributeMapping.from_dict(row))
        except ValueError as error:
            mappings.append(AttributeMapping(target=str(row.get("target") or ""), type="None"))
            unreadable.append(MappingError("type", str(error), index))
    return unreadable + validate_mappings(mappings, attributes)


def blocking_errors(
    before: tuple[Sequence[Mapping[str, Any]], Sequence[TargetAttribute]],
    after: tuple[Sequence[Mapping[str, Any]], Sequence[TargetAttribute]],
    *,
    edited: int | None = None,
    shift: Callable[[int], int] = lambda index: index,
) -> list[MappingError]:
    """The problems a change brings: every error on the edited row, and any error elsewhere that the
    table did not already have (``shift`` maps old row numbers to new ones after a delete). Problems the
    stored table already had don't block fixing something else."""
    known = {(e.field, e.message, None if e.index is None else shift(e.index)) for e in table_errors(*before)}
    return [
        e
        for e in table_errors(*after)
        if (edited is not None and e.index == edited) or (e.field, e.message, e.index) not in known
    ]


def row_label(rows: Sequence[Mapping[str, Any]], index: int | None) -> str:
    if index is None or index >= len(rows):
        return ""
    return str(rows[index].get("target") or f"row {index + 1}")


def lock_mapping(object_mapping: ObjectMapping) -> ObjectMapping:
    return ObjectMapping.objects.select_for_update().get(pk=object_mapping.pk)


def record_mapping_change(
    object_mapping: ObjectMapping, actor: Any, changes: list[tuple[str, Any, Any]]
) -> None:
    """Mark the job for an initial cycle and audit the change (call inside the saving transaction)."""
    ProvisioningJob.objects.filter(pk=object_mapping.job_id).update(needs_full_sync=True)
    audit_application(actor, object_mapping.job.application, Activity.UPDATE_MAPPINGS, changes)


# ------------------------------------------------------------------------- expression error display


@dataclass(frozen=True)
class ExpressionProblem:
    """An expression error ready to show: the message, and the offending line with a caret under it."""

    message: str
    line: int | None = None
    column: int | None = None
    snippet: str = ""  # the error's line (a window of it when long)
    pointer: str = ""  # spaces and "^" under the error's column

    WINDOW = 100

    @classmethod
    def at(cls, message: str, text: str, position: int | None) -> ExpressionProblem:
        if position is None:
            return cls(message)
        position = max(0, min(position, len(text)))
        start = text.rfind("\n", 0, position) + 1
        end = text.find("\n", position)
        line_text = text[start : len(text) if end == -1 else end]
        line, column = text.count("\n", 0, position) + 1, position - start + 1
        offset = 0
        if len(line_text) > cls.WINDOW:
            offset = max(0, column - 1 - cls.WINDOW // 2)
            shown = line_text[offset : offset + cls.WINDOW]
            prefix = "…" if offset else ""
            line_text = prefix + shown + ("…" if offset + cls.WINDOW < len(line_text) else "")
            offset -= len(prefix)
        before = line_text[: column - 1 - offset]
        pointer = "".join("\t" if ch == "\t" else " " for ch in before) + "^"
        located = gettext("%(message)s (line %(line)s, column %(column)s)") % {
            "message": message,
            "line": line,
            "column": column,
        }
        return cls(located, line, column, line_text, pointer)

    @classmethod
    def from_error(cls, error: ExpressionError, text: str) -> ExpressionProblem:
        return cls.at(localized(error.message), text, error.position)  # in the reader's language

    def __str__(self) -> str:
        return self.message


def _attribute_position(text: str, name: str) -> int | None:
    match = re.search(r"\[\s*" + re.escape(name) + r"\s*\]", text)
    return match.start() if match else None


def check_expression(text: str, source_object: str) -> ExpressionProblem | None:
    """Everything Entra would refuse in an expression, positioned; None when it is fine."""
    try:
        compiled = compile_expression(text)
    except ExpressionError as error:
        return ExpressionProblem.from_error(error, text)
    for name in compiled.attributes:
        try:
            resolve_source_attribute(name, source_object)
        except ValueError:
            suggestion = _closest(name, SOURCE_ATTRIBUTES.get(source_object, ()))
            kind = gettext(source_object)
            if suggestion:
                message = gettext("Unknown %(kind)s attribute [%(name)s]; did you mean [%(suggestion)s]?") % {
                    "kind": kind,
                    "name": name,
                    "suggestion": suggestion,
                }
            else:
                message = gettext("Unknown %(kind)s attribute [%(name)s]") % {"kind": kind, "name": name}
            return ExpressionProblem.at(message, text, _attribute_position(text, name))
    return None


def normalise_expression(text: str) -> str:
    return (text or "").replace("\r\n", "\n").strip()


# ------------------------------------------------------------------------------ object mapping settings


class ObjectMappingSettingsForm(forms.Form):
    """Enabled, target object and Target Object Actions of one object mapping."""

    enabled = forms.ChoiceField(
        label=_("Enabled"), choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect
    )
    target_object = forms.CharField(label=_("Target Object"), max_length=120)
    actions = forms.MultipleChoiceField(
        label=_("Target Object Actions"),
        choices=[(a, a) for a in OBJECT_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("With only Update selected, existing accounts are updated but none are created."),
    )

    def __init__(self, data: Mapping[str, Any] | None = None, *, object_mapping: ObjectMapping) -> None:
        self.object_mapping = object_mapping
        initial = {
            "enabled": "yes" if object_mapping.enabled else "no",
            "target_object": object_mapping.target_object,
            "actions": [a for a in OBJECT_ACTIONS if a in (object_mapping.actions or [])],
        }
        super().__init__(data, initial=initial)

    def clean_enabled(self) -> bool:
        enabled = self.cleaned_data["enabled"] == "yes"
        if not enabled and self.object_mapping.source_object == "User":
            raise forms.ValidationError(
                _(
                    "Disabling user provisioning isn't supported. Clear the target object actions, or use "
                    "scoping filters and assignments to choose who is provisioned."
                )
            )
        return enabled

    def clean_target_object(self) -> str:
        value = self.cleaned_data["target_object"].strip()
        if not re.fullmatch(r"[A-Za-z][\w.:-]*", value):
            raise forms.ValidationError(_("A target object name is letters, digits, '.', ':', '-' or '_'."))
        return value

    def clean_actions(self) -> list[str]:
        chosen = set(self.cleaned_data["actions"])
        return [a for a in OBJECT_ACTIONS if a in chosen]

    def changes(self) -> list[tuple[str, Any, Any]]:
        om, data = self.object_mapping, self.cleaned_data
        old = {"enabled": om.enabled, "target_object": om.target_object, "actions": list(om.actions or [])}
        return [(f"{om.key}.{name}", old[name], data[name]) for name in old if old[name] != data[name]]

    def save(self, *, actor: Any = None) -> bool:
        """Apply the settings; False when nothing changed (nothing written, nothing audited)."""
        changes = self.changes()
        if not changes:
            return False
        with transaction.atomic():
            locked = lock_mapping(self.object_mapping)
            for name in ("enabled", "target_object", "actions"):
                setattr(locked, name, self.cleaned_data[name])
            locked.save(update_fields=["enabled", "target_object", "actions"])
            record_mapping_change(self.object_mapping, actor, changes)
        return True


# ------------------------------------------------------------------------------------ Edit Attribute


class AttributeMappingForm(forms.Form):
    """The Edit Attribute blade: one row of the attribute mapping table, added or changed."""

    mapping_type = forms.ChoiceField(label=_("Mapping type"), choices=[(t, _(t)) for t in MAPPING_TYPES])
    source = forms.CharField(label=_("Source attribute"), required=False, max_length=256)
    constant = forms.CharField(label=_("Constant Value"), required=False, strip=False, max_length=4000)
    expression = forms.CharField(
        label=_("Expression"),
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
    )
    default_value = forms.CharField(
        label=_("Default value if null (optional)"),
        required=False,
        strip=False,
        max_length=4000,
        help_text=_("Sent only when the object is created and the mapping gives no value."),
    )
    target = forms.CharField(label=_("Target attribute"), max_length=1000)
    match = forms.BooleanField(label=_("Match objects using this attribute"), required=False)
    matching_precedence = forms.IntegerField(
        label=_("Matching precedence"),
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        help_text=_("The lowest number is tried first; matching stops at the first match."),
    )
    apply = forms.ChoiceField(
        label=_("Apply this mapping"),
        choices=[(value, _(label)) for value, label in APPLY_LABELS.items()],
        initial="Always",
    )
    original_target = forms.CharField(widget=forms.HiddenInput, required=False)
    version = forms.CharField(widget=forms.HiddenInput, required=False)

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        object_mapping: ObjectMapping,
        index: int | None = None,
        initial: Mapping[str, Any] | None = None,
    ) -> None:
        self.object_mapping = object_mapping
        self.index = index
        self.expression_problem: ExpressionProblem | None = None
        self.mapping: AttributeMapping | None = None
        rows = object_mapping.attribute_mappings or []
        if initial is None:
            initial = self._initial(rows[index] if index is not None else None)
        super().__init__(data, initial=initial)
        names = [a.get("name", "") for a in object_mapping.target_attributes or []]
        current = str(self["target"].value() or "")
        if names:
            choices = [("", _("Choose an attribute…"))] + [(n, n) for n in names]
            if current and current not in names:
                choices.append((current, f"{current} (not in the attribute list)"))
            self.fields["target"].widget = forms.Select(choices=choices)
        self.fields["source"].widget.attrs.update({"list": "source-attributes", "autocomplete": "off"})

    def _initial(self, row: Mapping[str, Any] | None) -> dict[str, Any]:
        om = self.object_mapping
        version = fingerprint(om.attribute_mappings, om.target_attributes)
        if row is None:
            return {"mapping_type": "Direct", "apply": "Always", "version": version}
        precedence = row.get("matchingPrecedence")
        return {
            "mapping_type": row.get("type") or "Direct",
            "source": row.get("source") or "",
            "constant": row.get("constant") or "",
            "expression": row.get("expression") or "",
            "default_value": row.get("defaultValue") or "",
            "target": row.get("target") or "",
            "match": bool(precedence),
            "matching_precedence": precedence or None,
            "apply": row.get("apply") or "Always",
            "original_target": row.get("target") or "",
            "version": version,
        }

    @classmethod
    def initial_from(cls, data: Mapping[str, Any]) -> dict[str, Any]:
        """What the admin typed, as initial values: the form shown again without judging it (Test)."""
        initial: dict[str, Any] = {name: data.get(name, "") for name in cls.base_fields if name != "match"}
        initial["match"] = data.get("match") in ("on", "true", "True", "1")
        return initial

    @property
    def source_object(self) -> str:
        return self.object_mapping.source_object

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        kind = data.get("mapping_type")
        if kind == "Direct":
            source = (data.get("source") or "").strip()
            if not source:
                self.add_error("source", _("Choose the source attribute"))
            else:
                try:
                    data["source"] = resolve_source_attribute(source, self.source_object)
                except ValueError as error:
                    self.add_error("source", str(error))
        elif kind == "Constant" and not data.get("constant"):
            self.add_error("constant", _("Enter the constant value"))
        elif kind == "Expression":
            text = normalise_expression(data.get("expression") or "")
            if not text:
                self.add_error("expression", _("Enter an expression"))
            else:
                self.expression_problem = check_expression(text, self.source_object)
                if self.expression_problem:
                    self.add_error("expression", str(self.expression_problem))
                data["expression"] = text
        if (
            data.get("match")
            and data.get("matching_precedence") is None
            and "matching_precedence" not in self.errors
        ):
            self.add_error("matching_precedence", _("Enter the matching precedence (1 is tried first)"))
        if not self.errors:
            self.mapping = AttributeMapping(
                target=data["target"].strip(),
                type=kind,
                source=data["source"] if kind == "Direct" else None,
                constant=data["constant"] if kind == "Constant" else None,
                expression=data["expression"] if kind == "Expression" else None,
                default_value=data.get("default_value") or None,
                matching_precedence=data["matching_precedence"] if data.get("match") else None,
                apply=data["apply"] if data.get("apply") in APPLY_MODES else "Always",
            )
        return data

    def _show(self, problems: list[MappingError], rows: Sequence[Mapping[str, Any]], edited: int) -> None:
        for problem in problems:
            name = FORM_FIELDS.get(problem.field)
            if problem.index is None:
                self.add_error(None, problem.message)
            elif name and (problem.index == edited or problem.field in ("target", "matchingPrecedence")):
                self.add_error(name, problem.message)  # a clash with another row shows on this field
            else:
                self.add_error(
                    None,
                    _("Mapping for '%(row_label)s': %(message)s")
                    % {"row_label": row_label(rows, problem.index), "message": problem.message},
                )

    def save(self, *, actor: Any = None) -> bool:
        """Write the row if the table stays valid; else add the errors to the form and return False."""
        assert self.mapping is not None, "call is_valid() first"
        new = self.mapping.to_dict()
        with transaction.atomic():
            om = lock_mapping(self.object_mapping)
            before_rows = list(om.attribute_mappings or [])
            version = self.cleaned_data.get("version")
            if version and version != fingerprint(om.attribute_mappings, om.target_attributes):
                self.add_error(None, STALE)
                return False
            rows = [dict(r) for r in before_rows]
            if self.index is None:
                old, edited = None, len(rows)
                rows.append(new)
            else:
                original = self.cleaned_data.get("original_target")
                if self.index >= len(rows) or (original and rows[self.index].get("target") != original):
                    self.add_error(None, STALE)
                    return False
                old, edited = rows[self.index], self.index
                rows[edited] = new
            attributes = target_attributes(om)
            problems = blocking_errors((before_rows, attributes), (rows, attributes), edited=edited)
            if problems:
                self._show(problems, rows, edited)
                return False
            if old == new:
                return True
            om.attribute_mappings = rows
            om.save(update_fields=["attribute_mappings"])
            label = new["target"]
            if old and old.get("target") != label:
                label = f"{old.get('target')} → {label}"
            record_mapping_change(
                self.object_mapping, actor, [(f"{om.key}.attributeMappings[{label}]", old, new)]
            )
        return True


def delete_attribute_mapping(
    object_mapping: ObjectMapping, index: int, original_target: str, *, actor: Any = None
) -> list[str]:
    """Remove one row unless the table would become invalid; the reasons it can't, else []."""
    with transaction.atomic():
        om = lock_mapping(object_mapping)
        before_rows = list(om.attribute_mappings or [])
        if index >= len(before_rows) or before_rows[index].get("target") != original_target:
            return [STALE]
        rows = before_rows[:index] + before_rows[index + 1 :]
        attributes = target_attributes(om)

        def shift(old: int) -> int:
            return old if old < index else (-1 if old == index else old - 1)

        problems = blocking_errors((before_rows, attributes), (rows, attributes), shift=shift)
        if problems:
            return [
                problem.message
                if problem.index is None
                else _("Mapping for '%(row_label)s': %(message)s")
                % {"row_label": row_label(rows, problem.index), "message": problem.message}
                for problem in problems
            ]
        om.attribute_mappings = rows
        om.save(update_fields=["attribute_mappings"])
        removed = before_rows[index]
        record_mapping_change(
            object_mapping, actor, [(f"{om.key}.attributeMappings[{original_target}]", removed, None)]
        )
    return []


def function_list() -> list[tuple[str, str]]:
    """(signature, summary) of every expression function, for the Edit Attribute blade."""
    return [(spec.signature, spec.summary) for spec in FUNCTIONS.values()]
