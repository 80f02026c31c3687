"""Forms of the Mappings blade: object mapping settings, Edit Attribute, scoping filters, the target
attribute list ("schema editor"), and the expression tester.

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
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.db import transaction
from django.db.models import QuerySet

from portal.accounts.roles import readable_principals
from portal.applications.gallery import DIRECTORY_EXTENSION, SOURCE_ATTRIBUTES
from portal.applications.services import search_principals
from portal.audit import Activity, record_audit
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.connectors.scim.paths import ENTERPRISE_URN, parse_path
from provisioning.expressions import (
    FUNCTIONS,
    IGNORE,
    EvaluationContext,
    ExpressionError,
    compile_expression,
)
from provisioning.mappings.evaluation import (
    APPLY_MODES,
    ATTRIBUTE_TYPES,
    MAPPING_TYPES,
    AttributeMapping,
    MappingError,
    TargetAttribute,
    validate_mappings,
)
from provisioning.mappings.evaluation import evaluate as evaluate_mapping
from provisioning.mappings.scoping import (
    OPERATORS,
    UNARY_OPERATORS,
    ScopingClause,
    canonical_operator,
    filters_from_dicts,
    validate_clause,
)
from provisioning.models import ObjectMapping, ProvisioningJob, Scope
from provisioning.sync.directory_source import DirectorySource

OBJECT_ACTIONS = ("Create", "Update", "Delete")
APPLY_LABELS = {"Always": "Always", "ObjectAddOnly": "Only during object creation"}
INT32_MAX = 2**31 - 1
STALE = (
    "Someone else changed this mapping since you opened it. "
    "Reload the page to see their change, then make yours again."
)
INCOMPLETE = "The form arrived incomplete, so nothing was saved. Reload the page and try again."
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


def _target_attribute(data: Mapping[str, Any]) -> TargetAttribute:
    try:
        return TargetAttribute.from_dict(data)
    except ValueError:
        return TargetAttribute(name=str(data.get("name") or ""))


def target_attributes(object_mapping: ObjectMapping) -> list[TargetAttribute]:
    return [_target_attribute(a) for a in object_mapping.target_attributes or []]


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


def _lock(object_mapping: ObjectMapping) -> ObjectMapping:
    return ObjectMapping.objects.select_for_update().get(pk=object_mapping.pk)


def _record_change(object_mapping: ObjectMapping, actor: Any, changes: list[tuple[str, Any, Any]]) -> None:
    """Mark the job for an initial cycle and audit the change (call inside the saving transaction)."""
    ProvisioningJob.objects.filter(pk=object_mapping.job_id).update(needs_full_sync=True)
    application = object_mapping.job.application
    record_audit(
        actor,
        Activity.UPDATE_MAPPINGS,
        target_type="Application",
        target_id=application.app_id,
        target_name=application.display_name,
        application=application,
        changes=changes,
    )


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
        return cls(f"{message} (line {line}, column {column})", line, column, line_text, pointer)

    @classmethod
    def from_error(cls, error: ExpressionError, text: str) -> ExpressionProblem:
        return cls.at(error.message, text, error.position)

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
            message = f"Unknown {source_object} attribute [{name}]"
            if suggestion:
                message += f"; did you mean [{suggestion}]?"
            return ExpressionProblem.at(message, text, _attribute_position(text, name))
    return None


def normalise_expression(text: str) -> str:
    return (text or "").replace("\r\n", "\n").strip()


# ------------------------------------------------------------------------------ object mapping settings


class ObjectMappingSettingsForm(forms.Form):
    """Enabled, target object and Target Object Actions of one object mapping."""

    enabled = forms.ChoiceField(
        label="Enabled", choices=[("yes", "Yes"), ("no", "No")], widget=forms.RadioSelect
    )
    target_object = forms.CharField(label="Target Object", max_length=120)
    actions = forms.MultipleChoiceField(
        label="Target Object Actions",
        choices=[(a, a) for a in OBJECT_ACTIONS],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="With only Update selected, existing accounts are updated but none are created.",
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
                "Disabling user provisioning isn't supported. Clear the target object actions, or use "
                "scoping filters and assignments to choose who is provisioned."
            )
        return enabled

    def clean_target_object(self) -> str:
        value = self.cleaned_data["target_object"].strip()
        if not re.fullmatch(r"[A-Za-z][\w.:-]*", value):
            raise forms.ValidationError("A target object name is letters, digits, '.', ':', '-' or '_'.")
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
            locked = _lock(self.object_mapping)
            for name in ("enabled", "target_object", "actions"):
                setattr(locked, name, self.cleaned_data[name])
            locked.save(update_fields=["enabled", "target_object", "actions"])
            _record_change(self.object_mapping, actor, changes)
        return True


# ------------------------------------------------------------------------------------ Edit Attribute


class AttributeMappingForm(forms.Form):
    """The Edit Attribute blade: one row of the attribute mapping table, added or changed."""

    mapping_type = forms.ChoiceField(label="Mapping type", choices=[(t, t) for t in MAPPING_TYPES])
    source = forms.CharField(label="Source attribute", required=False, max_length=256)
    constant = forms.CharField(label="Constant Value", required=False, strip=False, max_length=4000)
    expression = forms.CharField(
        label="Expression",
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
    )
    default_value = forms.CharField(
        label="Default value if null (optional)",
        required=False,
        strip=False,
        max_length=4000,
        help_text="Sent only when the object is created and the mapping gives no value.",
    )
    target = forms.CharField(label="Target attribute", max_length=1000)
    match = forms.BooleanField(label="Match objects using this attribute", required=False)
    matching_precedence = forms.IntegerField(
        label="Matching precedence",
        required=False,
        min_value=1,
        max_value=INT32_MAX,
        help_text="The lowest number is tried first; matching stops at the first match.",
    )
    apply = forms.ChoiceField(
        label="Apply this mapping", choices=list(APPLY_LABELS.items()), initial="Always"
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
            choices = [("", "Choose an attribute…")] + [(n, n) for n in names]
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
                self.add_error("source", "Choose the source attribute")
            else:
                try:
                    data["source"] = resolve_source_attribute(source, self.source_object)
                except ValueError as error:
                    self.add_error("source", str(error))
        elif kind == "Constant" and not data.get("constant"):
            self.add_error("constant", "Enter the constant value")
        elif kind == "Expression":
            text = normalise_expression(data.get("expression") or "")
            if not text:
                self.add_error("expression", "Enter an expression")
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
            self.add_error("matching_precedence", "Enter the matching precedence (1 is tried first)")
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
                self.add_error(None, f"Mapping for '{row_label(rows, problem.index)}': {problem.message}")

    def save(self, *, actor: Any = None) -> bool:
        """Write the row if the table stays valid; else add the errors to the form and return False."""
        assert self.mapping is not None, "call is_valid() first"
        new = self.mapping.to_dict()
        with transaction.atomic():
            om = _lock(self.object_mapping)
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
            _record_change(self.object_mapping, actor, [(f"{om.key}.attributeMappings[{label}]", old, new)])
        return True


def delete_attribute_mapping(
    object_mapping: ObjectMapping, index: int, original_target: str, *, actor: Any = None
) -> list[str]:
    """Remove one row unless the table would become invalid; the reasons it can't, else []."""
    with transaction.atomic():
        om = _lock(object_mapping)
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
                else f"Mapping for '{row_label(rows, problem.index)}': {problem.message}"
                for problem in problems
            ]
        om.attribute_mappings = rows
        om.save(update_fields=["attribute_mappings"])
        removed = before_rows[index]
        _record_change(
            object_mapping, actor, [(f"{om.key}.attributeMappings[{original_target}]", removed, None)]
        )
    return []


# ------------------------------------------------------------------------------ expression tester


@dataclass(frozen=True)
class TesterObject:
    id: str
    label: str


def tester_principals(object_mapping: ObjectMapping, actor: Any) -> QuerySet:
    """The directory users (or groups) ``actor`` may test this mapping with: an owner, those assigned."""
    model = DirectoryUser if object_mapping.source_object == "User" else DirectoryGroup
    return readable_principals(actor, object_mapping.job.application, model.objects.active())


def search_test_objects(principals: QuerySet, term: str, limit: int = 10) -> list[TesterObject]:
    """Principals of ``principals`` (see ``tester_principals``) by the start of a name, UPN or mail."""
    if principals.model is DirectoryUser:
        found = search_principals(term, limit, users=principals, groups=DirectoryGroup.objects.none())
    else:
        found = search_principals(term, limit, users=DirectoryUser.objects.none(), groups=principals)
    return [_test_object(p) for p in found]


def _test_object(principal: DirectoryUser | DirectoryGroup) -> TesterObject:
    if isinstance(principal, DirectoryUser):
        return TesterObject(
            str(principal.object_id), f"{principal.display_name} ({principal.user_principal_name})"
        )
    return TesterObject(str(principal.object_id), principal.display_name)


def find_test_object(principals: QuerySet, object_id: str) -> TesterObject | None:
    """The principal with this object id, if it is one of ``principals``."""
    try:
        oid = uuid.UUID(str(object_id))
    except ValueError:
        return None
    principal = principals.filter(object_id=oid).first()
    return _test_object(principal) if principal else None


@dataclass(frozen=True)
class TesterResult:
    """What "Test" shows: the output value, or the error, and the inputs the mapping read."""

    object: TesterObject | None = None
    values: tuple[str, ...] = ()
    outcome: str = ""  # "value" | "null" | "ignored" | "error" | "" (nothing to test)
    problem: ExpressionProblem | None = None
    message: str = ""
    inputs: tuple[tuple[str, str], ...] = ()
    default_value: str | None = None


def _display(value: Any) -> str:
    if value is None:
        return "(null)"
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, list | tuple):
        return ", ".join(_display(v) for v in value) or "(empty)"
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    return str(value)


def run_expression_test(
    object_mapping: ObjectMapping, data: Mapping[str, Any], principals: QuerySet
) -> TesterResult:
    """Evaluate the mapping as typed against one directory object, reading it the way the engine does.

    The object must be one of ``principals`` (see ``tester_principals``).
    """
    source_object = object_mapping.source_object
    kind = data.get("mapping_type") or "Direct"
    expression = normalise_expression(data.get("expression") or "")
    default_value = data.get("default_value") or None
    source = (data.get("source") or "").strip()
    if kind == "Expression":
        if not expression:
            return TesterResult(message="Enter an expression to test.")
        problem = check_expression(expression, source_object)
        if problem:
            return TesterResult(outcome="error", problem=problem)
    if kind == "Direct":
        try:
            source = resolve_source_attribute(source, source_object)
        except ValueError as error:
            return TesterResult(outcome="error", message=str(error))
    picked = find_test_object(principals, data.get("test_object") or "")
    if picked is None:
        return TesterResult(message=f"Search for a {source_object.lower()} and pick one to test with.")
    mapping = AttributeMapping(
        target=str(data.get("target") or "test"),
        type=kind if kind in MAPPING_TYPES else "None",  # type: ignore[arg-type]
        source=source or None,
        constant=data.get("constant") or "",
        expression=expression,
        default_value=default_value,
    )
    job = object_mapping.job
    engine_source = DirectorySource(job.application_id, sync_all=job.scope == Scope.ALL)
    obj = engine_source.get(source_object, [picked.id])[picked.id]
    context = EvaluationContext(source=obj.attributes, app_role_assignments=obj.app_role_assignments)
    read = (
        compile_expression(expression).attributes
        if kind == "Expression"
        else (source,)
        if kind == "Direct"
        else ()
    )
    inputs = tuple((name, _display(context.lookup(name, name.lower()))) for name in read)
    try:
        value = evaluate_mapping(mapping, context)
    except ExpressionError as error:
        return TesterResult(
            object=picked,
            outcome="error",
            problem=ExpressionProblem.from_error(error, expression),
            inputs=inputs,
        )
    if value is IGNORE:
        return TesterResult(object=picked, outcome="ignored", inputs=inputs)
    if value is None or value == "" or value == []:
        return TesterResult(object=picked, outcome="null", inputs=inputs, default_value=default_value)
    values = tuple(_display(v) for v in value) if isinstance(value, list) else (_display(value),)
    return TesterResult(object=picked, values=values, outcome="value", inputs=inputs)


def function_list() -> list[tuple[str, str]]:
    """(signature, summary) of every expression function, for the Edit Attribute blade."""
    return [(spec.signature, spec.summary) for spec in FUNCTIONS.values()]


# ------------------------------------------------------------------------------------ scoping filters


@dataclass
class ClauseRow:
    attribute: str = ""
    operator: str = "EQUALS"
    value: str = ""
    errors: dict[str, list[str]] = field(default_factory=dict)

    @property
    def blank(self) -> bool:
        return not self.attribute.strip() and not self.value.strip()

    @property
    def unary(self) -> bool:
        return canonical_operator(self.operator) in UNARY_OPERATORS


@dataclass
class FilterRow:
    title: str = ""
    clauses: list[ClauseRow] = field(default_factory=lambda: [ClauseRow()])
    errors: list[str] = field(default_factory=list)


def _count(value: Any, limit: int) -> int:
    try:
        return max(0, min(int(value), limit))
    except (TypeError, ValueError):
        return 0


def _clause_field(message: str) -> str:
    if message.startswith("Attribute name") or message.endswith("scoping filter"):
        return "attribute"
    if message.startswith("Unknown operator"):
        return "operator"
    return "value"


class ScopingFiltersForm:
    """Source Object Scope: filters (ORed), each a title and clauses (ANDed).

    Posted as ``filter_count``, ``f<i>-title``, ``f<i>-clause_count`` and
    ``f<i>-c<j>-attribute|operator|value``. Add/remove buttons post ``action`` = ``add_filter``,
    ``add_clause:<i>``, ``remove_filter:<i>`` or ``remove_clause:<i>:<j>`` and only redraw the editor.
    """

    MAX_FILTERS = 50
    MAX_CLAUSES = 50
    operators = OPERATORS
    unary_operators = UNARY_OPERATORS

    def __init__(self, object_mapping: ObjectMapping, data: Mapping[str, Any] | None = None) -> None:
        self.object_mapping = object_mapping
        self.errors: list[str] = []
        if data is None:
            self.filters = self._from_stored(object_mapping.scoping_filters or [])
            self.version = fingerprint(object_mapping.scoping_filters)
        else:
            self.filters = self._from_post(data)
            self.version = str(data.get("version") or "")
        self.complete = data is None or "filter_count" in data

    @staticmethod
    def _from_stored(stored: list[Any]) -> list[FilterRow]:
        try:
            parsed = filters_from_dicts(stored)
        except (TypeError, AttributeError):
            return []
        return [
            FilterRow(
                title=f.title,
                clauses=[ClauseRow(c.attribute, c.operator, c.value or "") for c in f.clauses]
                or [ClauseRow()],
            )
            for f in parsed
        ]

    def _from_post(self, data: Mapping[str, Any]) -> list[FilterRow]:
        filters = []
        for i in range(_count(data.get("filter_count"), self.MAX_FILTERS)):
            clauses = [
                ClauseRow(
                    attribute=str(data.get(f"f{i}-c{j}-attribute", "")).strip(),
                    operator=str(data.get(f"f{i}-c{j}-operator", "EQUALS")),
                    value=str(data.get(f"f{i}-c{j}-value", "")),
                )
                for j in range(_count(data.get(f"f{i}-clause_count"), self.MAX_CLAUSES))
            ]
            filters.append(FilterRow(title=str(data.get(f"f{i}-title", "")).strip(), clauses=clauses))
        return filters

    def apply(self, action: str) -> None:
        """An add or remove button: change the rows shown, save nothing."""
        verb, *args = action.split(":")
        numbers = [_count(a, 10_000) for a in args]
        if verb == "add_filter" and len(self.filters) < self.MAX_FILTERS:
            self.filters.append(FilterRow())
        elif verb == "add_clause" and numbers and numbers[0] < len(self.filters):
            clauses = self.filters[numbers[0]].clauses
            if len(clauses) < self.MAX_CLAUSES:
                clauses.append(ClauseRow())
        elif verb == "remove_filter" and numbers and numbers[0] < len(self.filters):
            del self.filters[numbers[0]]
        elif verb == "remove_clause" and len(numbers) == 2 and numbers[0] < len(self.filters):
            clauses = self.filters[numbers[0]].clauses
            if numbers[1] < len(clauses):
                del clauses[numbers[1]]

    def is_valid(self) -> bool:
        """Check every clause (validate_clause plus the attribute's existence); errors go on the fields."""
        valid = self.complete
        if not self.complete:
            self.errors.append(INCOMPLETE)
        source_object = self.object_mapping.source_object
        for position, row in enumerate(self.filters, start=1):
            row.errors = []
            clauses = [c for c in row.clauses if not c.blank]
            if not clauses and row.title:
                row.errors.append(f"Add at least one clause to filter {position}, or remove the filter.")
                valid = False
            for clause in clauses:
                clause.errors = {}
                try:
                    clause.attribute = resolve_source_attribute(clause.attribute, source_object)
                except ValueError as error:
                    if clause.attribute:
                        clause.errors.setdefault("attribute", []).append(str(error))
                if clause.attribute.lower() in SCOPING_UNSUPPORTED:
                    message = f"'{clause.attribute}': {SCOPING_UNSUPPORTED[clause.attribute.lower()]}"
                    clause.errors.setdefault("attribute", []).append(message)
                value = None if clause.unary else clause.value
                for message in validate_clause(ScopingClause(clause.attribute, clause.operator, value)):
                    clause.errors.setdefault(_clause_field(message), []).append(message)
                valid = valid and not clause.errors
        return valid

    def to_data(self) -> list[dict[str, Any]]:
        data = []
        for position, row in enumerate(self.filters, start=1):
            clauses = [
                ScopingClause(
                    c.attribute,
                    canonical_operator(c.operator) or c.operator,
                    None if c.unary else c.value,
                ).to_dict()
                for c in row.clauses
                if not c.blank
            ]
            if clauses:
                data.append({"title": row.title or f"Scoping filter {position}", "clauses": clauses})
        return data

    def save(self, *, actor: Any = None) -> bool:
        """Write the filters (call ``is_valid`` first); False, with ``errors``, if the stored ones changed."""
        new = self.to_data()
        with transaction.atomic():
            om = _lock(self.object_mapping)
            if self.version and self.version != fingerprint(om.scoping_filters):
                self.errors.append(STALE)
                return False
            old = om.scoping_filters or []
            if [f.to_dict() for f in filters_from_dicts(old)] == new:
                return True
            om.scoping_filters = new
            om.save(update_fields=["scoping_filters"])
            _record_change(self.object_mapping, actor, [(f"{om.key}.scopingFilters", old, new)])
        return True


# ----------------------------------------------------------------------------- target attribute list


@dataclass
class TargetRow:
    name: str = ""
    type: str = "String"
    multi_valued: bool = False
    required: bool = False
    filterable: bool = False
    existing: bool = False
    delete: bool = False
    errors: list[str] = field(default_factory=list)


class TargetAttributesForm:
    """Edit attribute list for {App}: existing attributes keep their name; new ones are added at the bottom.

    Posted as ``attr_count`` and ``a<i>-name|type|multi_valued|required|filterable|delete``;
    ``action=add_row`` adds an empty row without saving.
    """

    MAX_ROWS = 500
    types = ATTRIBUTE_TYPES

    def __init__(self, object_mapping: ObjectMapping, data: Mapping[str, Any] | None = None) -> None:
        self.object_mapping = object_mapping
        self.errors: list[str] = []
        stored = {str(a.get("name")): a for a in object_mapping.target_attributes or []}
        if data is None:
            self.complete = True
            self.rows = [self._row(a, existing=True) for a in stored.values()] + [TargetRow()]
            self.version = fingerprint(object_mapping.target_attributes, object_mapping.attribute_mappings)
            return
        self.version = str(data.get("version") or "")
        self.complete = "attr_count" in data
        self.rows = []
        for i in range(_count(data.get("attr_count"), self.MAX_ROWS)):
            name = str(data.get(f"a{i}-name", "")).strip()
            self.rows.append(
                TargetRow(
                    name=name,
                    type=str(data.get(f"a{i}-type") or "String"),
                    multi_valued=bool(data.get(f"a{i}-multi_valued")),
                    required=bool(data.get(f"a{i}-required")),
                    filterable=bool(data.get(f"a{i}-filterable")),
                    existing=name in stored and bool(data.get(f"a{i}-existing")),
                    delete=bool(data.get(f"a{i}-delete")),
                )
            )

    @staticmethod
    def _row(data: Mapping[str, Any], *, existing: bool) -> TargetRow:
        attribute = _target_attribute(data)
        return TargetRow(
            attribute.name,
            attribute.type,
            attribute.multi_valued,
            attribute.required,
            attribute.filterable,
            existing=existing,
        )

    def add_row(self) -> None:
        if len(self.rows) < self.MAX_ROWS:
            self.rows.append(TargetRow())

    def is_valid(self) -> bool:
        """Names in SCIM form and unique, types known, custom extension limits, mapped rows kept."""
        mapped = {str(m.get("target") or "").lower() for m in self.object_mapping.attribute_mappings or []}
        seen: set[str] = set()
        valid = self.complete
        if not self.complete:
            self.errors.append(INCOMPLETE)
        for row in self.rows:
            row.errors = []
            if row.delete:
                if row.name.lower() in mapped:
                    row.errors.append(f"'{row.name}' is mapped; delete its attribute mapping first.")
                    row.delete = False
                continue
            if not row.existing and not row.name:
                continue  # an empty row left at the bottom
            if row.type not in ATTRIBUTE_TYPES:
                row.errors.append(f"Type must be one of {', '.join(ATTRIBUTE_TYPES)}.")
            parsed: TargetName | None = None
            try:
                parsed = parse_target_name(row.name)
            except ValueError as error:
                if not row.existing:  # stored gallery names are kept as they are
                    row.errors.append(str(error))
            restricted = row.multi_valued or row.type == "Reference" or (parsed and parsed.complex)
            if parsed and parsed.custom_extension and restricted:
                row.errors.append(
                    "Custom extension attributes can't be reference, multi-valued or complex attributes."
                )
            if row.name.lower() in seen:
                row.errors.append(f"'{row.name}' is already in the attribute list.")
            seen.add(row.name.lower())
            valid = valid and not row.errors
        return valid and not any(r.errors for r in self.rows)

    def to_data(self) -> list[dict[str, Any]]:
        """The new list: stored attributes in their order (only a ticked Delete removes one), then new ones."""
        posted = {row.name: row for row in self.rows if row.existing}
        data = []
        for stored in self.object_mapping.target_attributes or []:
            row = posted.get(str(stored.get("name")))
            if row is None:
                data.append(stored)  # not in the post: unchanged
            elif not row.delete:
                data.append(self._attribute(row, stored))
        data.extend(self._attribute(row, {}) for row in self.rows if not row.existing and row.name)
        return data

    @staticmethod
    def _attribute(row: TargetRow, stored: Mapping[str, Any]) -> dict[str, Any]:
        attribute = TargetAttribute(
            row.name,
            row.type,  # type: ignore[arg-type]
            multi_valued=row.multi_valued,
            required=row.required,
            filterable=row.filterable,
        ).to_dict()
        extra = {k: v for k, v in stored.items() if k not in attribute}
        return {**attribute, **extra}  # keeps what this editor doesn't show (caseExact)

    def save(self, *, actor: Any = None) -> bool:
        """Write the list if the mappings stay valid with it; False, with ``errors``, if not."""
        new = self.to_data()
        with transaction.atomic():
            om = _lock(self.object_mapping)
            if self.version and self.version != fingerprint(om.target_attributes, om.attribute_mappings):
                self.errors.append(STALE)
                return False
            old = list(om.target_attributes or [])
            rows = list(om.attribute_mappings or [])
            problems = blocking_errors(
                (rows, [_target_attribute(a) for a in old]), (rows, [_target_attribute(a) for a in new])
            )
            if problems:
                self.errors.extend(
                    p.message if p.index is None else f"Mapping for '{row_label(rows, p.index)}': {p.message}"
                    for p in problems
                )
                return False
            if old == new:
                return True
            om.target_attributes = new
            om.save(update_fields=["target_attributes"])
            before = {str(a.get("name")): a for a in old}
            after = {str(a.get("name")): a for a in new}
            changes = [
                (f"{om.key}.targetAttributes[{name}]", before.get(name), after.get(name))
                for name in [*before, *(n for n in after if n not in before)]
                if before.get(name) != after.get(name)
            ]
            _record_change(self.object_mapping, actor, changes or [(f"{om.key}.targetAttributes", old, new)])
        return True
