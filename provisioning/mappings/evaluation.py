"""Attribute mappings: what the engine evaluates to build a target object from a source object.

Plain dataclasses built from the JSON the portal stores (keys: ``target``, ``type``, ``source``,
``constant``, ``expression``, ``defaultValue``, ``matchingPrecedence``, ``apply``), evaluation with
Entra's rules (default values only on create, "Only during object creation" mappings skipped on
update, IgnoreFlowIfNullOrEmpty and null values dropped), and the checks the mapping editor runs
before saving. Pure Python: no Django imports.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, get_args

from provisioning.expressions import (
    IGNORE,
    AppRoleList,
    EvaluationContext,
    ExpressionError,
    ExpressionEvaluationError,
    InvalidDateError,
    compile_expression,
)
from provisioning.expressions.dotnet_dates import parse_datetime
from provisioning.expressions.values import is_null_or_empty

MappingType = Literal["Direct", "Constant", "Expression", "None"]
ApplyMode = Literal["Always", "ObjectAddOnly"]
AttributeType = Literal["Binary", "Boolean", "DateTime", "Integer", "Reference", "String"]

MAPPING_TYPES: tuple[str, ...] = get_args(MappingType)
APPLY_MODES: tuple[str, ...] = get_args(ApplyMode)
ATTRIBUTE_TYPES: tuple[str, ...] = get_args(AttributeType)
# Graph's attributeMappingSource.type names, accepted on import
_TYPE_ALIASES = {"attribute": "Direct", "function": "Expression", "constant": "Constant"}
_INTEGER = re.compile(r"\s*[+-]?\d{1,19}\s*\Z")


@dataclass(frozen=True)
class AttributeMapping:
    """One row of the attribute-mapping table."""

    target: str
    type: MappingType
    source: str | None = None
    constant: str | None = None
    expression: str | None = None
    default_value: str | None = None
    matching_precedence: int | None = None
    apply: ApplyMode = "Always"

    @property
    def is_matching(self) -> bool:
        return self.matching_precedence is not None

    @cached_property
    def evaluator(self) -> Callable[[EvaluationContext], Any]:
        """The compiled form of this row, built once per mapping (raises ``ExpressionError``)."""
        if self.type == "Direct":
            name = self.source or ""
            folded = name.lower()
            return lambda context: context.lookup(name, folded)
        if self.type == "Constant":
            constant = self.constant
            return lambda context: constant
        if self.type == "Expression":
            return compile_expression(self.expression or "").evaluate
        return lambda context: None

    @property
    def redacted(self) -> bool:
        """True when provisioning logs must show ``[Redact]`` instead of this mapping's value."""
        if self.type != "Expression":
            return False
        try:
            return compile_expression(self.expression or "").redacted
        except ExpressionError:
            return False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttributeMapping:
        """Build from stored JSON; raises ``ValueError`` for a shape that can't be a mapping at all."""
        kind = str(data.get("type") or "")
        kind = _TYPE_ALIASES.get(kind.lower(), kind)
        if kind not in MAPPING_TYPES:
            raise ValueError(f"Mapping type must be one of {', '.join(MAPPING_TYPES)}, got {kind!r}")
        apply = data.get("apply") or "Always"
        if apply not in APPLY_MODES:
            raise ValueError(f"apply must be one of {', '.join(APPLY_MODES)}, got {apply!r}")
        precedence = data.get("matchingPrecedence")
        if precedence is not None:
            if isinstance(precedence, bool) or not isinstance(precedence, int | str):
                raise ValueError(f"matchingPrecedence must be a whole number, got {precedence!r}")
            if isinstance(precedence, str):
                if not _INTEGER.match(precedence):
                    raise ValueError(f"matchingPrecedence must be a whole number, got {precedence!r}")
                precedence = int(precedence)
            if precedence == 0:
                precedence = None  # Graph's matchingPriority 0 means "not a matching attribute"
        return cls(
            target=str(data.get("target") or ""),
            type=kind,  # type: ignore[arg-type]
            source=_optional_text(data.get("source")),
            constant=_optional_text(data.get("constant")),
            expression=_optional_text(data.get("expression")),
            default_value=_optional_text(data.get("defaultValue")),
            matching_precedence=precedence,
            apply=apply,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON for storage and export; unset optional keys are left out."""
        data: dict[str, Any] = {"target": self.target, "type": self.type}
        optional = {
            "source": self.source,
            "constant": self.constant,
            "expression": self.expression,
            "defaultValue": self.default_value,
            "matchingPrecedence": self.matching_precedence,
        }
        data.update({key: value for key, value in optional.items() if value is not None})
        data["apply"] = self.apply
        return data


def _optional_text(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True)
class TargetAttribute:
    """One attribute of the target app's schema (the "Edit attribute list" rows)."""

    name: str
    type: AttributeType = "String"
    multi_valued: bool = False
    required: bool = False
    filterable: bool = True

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TargetAttribute:
        kind = data.get("type") or "String"
        if kind not in ATTRIBUTE_TYPES:
            raise ValueError(f"Attribute type must be one of {', '.join(ATTRIBUTE_TYPES)}, got {kind!r}")
        return cls(
            name=str(data.get("name") or ""),
            type=kind,
            multi_valued=bool(data.get("multiValued", False)),
            required=bool(data.get("required", False)),
            filterable=bool(data.get("filterable", True)),
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "required": self.required,
            "filterable": self.filterable,
        }


@dataclass(frozen=True)
class MappingError:
    """A problem to show in the mapping editor: ``index`` is the row (None for the table as a whole),
    ``field`` the JSON key of the offending property (``"mappings"`` for table-wide problems)."""

    field: str
    message: str
    index: int | None = None


class MappingEvaluationError(ExpressionEvaluationError):
    """Evaluating one mapping failed; names the target so the provisioning log can say which."""

    def __init__(self, target: str, cause: ExpressionError) -> None:
        self.target = target
        self.cause = cause
        super().__init__(
            f"Mapping for '{target}' failed: {cause}",
            cause.position,
            cause.line,
            cause.column,
            expression=cause.expression,
        )


# ---------------------------------------------------------------------------------------- evaluation


def _context(context: EvaluationContext | Mapping[str, Any]) -> EvaluationContext:
    return context if isinstance(context, EvaluationContext) else EvaluationContext(source=context)


def evaluate(mapping: AttributeMapping, context: EvaluationContext | Mapping[str, Any]) -> Any:
    """The mapping's raw value for one source object (``IGNORE`` when the flow must skip it).

    Default values and apply modes are not applied here; ``evaluate_all`` does that.
    """
    return mapping.evaluator(_context(context))


def evaluate_all(
    mappings: Iterable[AttributeMapping], context: EvaluationContext | Mapping[str, Any], *, creating: bool
) -> dict[str, Any]:
    """Target attribute -> value for one object, following Entra's flow rules.

    - "Only during object creation" (``ObjectAddOnly``) mappings are skipped on update.
    - The default value replaces a null or empty result, on create only (Entra: "only provisioned
      when a user is created").
    - ``None`` mappings leave the target alone; on create they provide their default value.
    - ``IGNORE`` (IgnoreFlowIfNullOrEmpty) and null results are left out: Entra doesn't flow nulls.
    Raises ``MappingEvaluationError`` naming the target when an expression fails.
    """
    context = _context(context)
    result: dict[str, Any] = {}
    for mapping in mappings:
        if mapping.apply == "ObjectAddOnly" and not creating:
            continue
        try:
            value = mapping.evaluator(context)
        except ExpressionError as error:
            raise MappingEvaluationError(mapping.target, error) from error
        if value is IGNORE:
            continue
        if mapping.target == "userName" and isinstance(value, str):
            value = value.strip()  # as Entra does: "  alice@x " and "alice@x" are one account
        if isinstance(value, AppRoleList):
            result[mapping.target] = value  # an empty assertive list still removes roles
            continue
        if creating and mapping.default_value is not None and is_null_or_empty(value):
            value = mapping.default_value
        if value is None or value == []:
            continue
        result[mapping.target] = value
    return result


# ---------------------------------------------------------------------------------------- validation


def _constant_problem(value: str, attribute: TargetAttribute) -> str | None:
    kind = attribute.type
    if kind == "Boolean" and value.strip().lower() not in ("true", "false"):
        return f"'{attribute.name}' is a Boolean; use True or False"
    if kind == "Integer" and not _INTEGER.match(value):
        return f"'{attribute.name}' is an Integer; '{value}' is not a whole number"
    if kind == "DateTime":
        try:
            parse_datetime(value)
        except InvalidDateError:
            return f"'{attribute.name}' is a DateTime; '{value}' is not a date"
    if kind == "Reference":
        return f"'{attribute.name}' is a Reference; it can't be set to a constant"
    if kind == "Binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return f"'{attribute.name}' is Binary; the value must be base64"
    return None


def _check_row(
    index: int, mapping: AttributeMapping, attribute: TargetAttribute | None
) -> list[MappingError]:
    errors: list[MappingError] = []

    def add(field: str, message: str) -> None:
        errors.append(MappingError(field, message, index))

    if mapping.type == "Direct" and not (mapping.source or "").strip():
        add("source", "Choose the source attribute")
    if mapping.type == "Constant" and mapping.constant is None:
        add("constant", "Enter the constant value")
    if mapping.type == "Expression":
        if not (mapping.expression or "").strip():
            add("expression", "Enter an expression")
        else:
            try:
                compiled = compile_expression(mapping.expression or "")
            except ExpressionError as error:
                add("expression", str(error))
            else:
                if compiled.top_level_function == "SelectUniqueValue":
                    if mapping.is_matching:
                        add("expression", "SelectUniqueValue can't be used on a matching attribute")
                    if mapping.apply != "ObjectAddOnly":
                        add("apply", "SelectUniqueValue mappings must apply only during object creation")
    if mapping.matching_precedence is not None and mapping.matching_precedence < 1:
        add("matchingPrecedence", "Matching precedence starts at 1")
    if attribute is None:
        return errors
    if mapping.type == "Constant" and mapping.constant is not None:
        problem = _constant_problem(mapping.constant, attribute)
        if problem:
            add("constant", problem)
    if mapping.default_value is not None:
        problem = _constant_problem(mapping.default_value, attribute)
        if problem:
            add("defaultValue", problem)
    if mapping.is_matching and not attribute.filterable:
        add(
            "matchingPrecedence",
            f"The target can't filter on '{attribute.name}', so it can't be used for matching",
        )
    return errors


def validate_mappings(
    mappings: Sequence[AttributeMapping], target_attributes: Iterable[TargetAttribute]
) -> list[MappingError]:
    """Everything that would stop Entra from saving this mapping table (empty list when it is fine)."""
    attributes = {attribute.name.lower(): attribute for attribute in target_attributes}
    errors: list[MappingError] = []
    seen_targets: dict[str, int] = {}
    precedences: dict[int, int] = {}
    for index, mapping in enumerate(mappings):
        target = mapping.target.strip()
        attribute = attributes.get(target.lower()) if target else None
        if not target:
            errors.append(MappingError("target", "Choose the target attribute", index))
        elif attributes and attribute is None:
            errors.append(MappingError("target", f"'{target}' is not an attribute of the target app", index))
        elif target.lower() in seen_targets:
            errors.append(MappingError("target", f"'{target}' is already mapped", index))
        if target:
            seen_targets.setdefault(target.lower(), index)
        precedence = mapping.matching_precedence
        if precedence is not None:
            if precedence in precedences:
                errors.append(
                    MappingError(
                        "matchingPrecedence", f"Matching precedence {precedence} is used twice", index
                    )
                )
            precedences.setdefault(precedence, index)
        errors.extend(_check_row(index, mapping, attribute))
    if not precedences:
        errors.append(MappingError("mappings", "At least one attribute must be used to match objects"))
    for key, attribute in attributes.items():
        if attribute.required and key not in seen_targets:
            errors.append(MappingError("mappings", f"Required attribute '{attribute.name}' is not mapped"))
    return errors
