"""The Edit Attribute blade's expression tester: evaluate a mapping as typed against one directory object.

It reads the object the way the engine does (``DirectorySource``) and only among the principals the
admin may see, so it sits with the blade's forms rather than in the pure ``provisioning.mappings``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from portal.accounts.roles import readable_principals
from portal.applications.services import search_principals
from portal.directory.models import DirectoryGroup, DirectoryUser
from provisioning.expressions import (
    IGNORE,
    EvaluationContext,
    ExpressionError,
    compile_expression,
)
from provisioning.forms.mappings import (
    ExpressionProblem,
    check_expression,
    normalise_expression,
    resolve_source_attribute,
)
from provisioning.mappings.evaluation import MAPPING_TYPES, AttributeMapping
from provisioning.mappings.evaluation import evaluate as evaluate_mapping
from provisioning.models import ObjectMapping, Scope
from provisioning.sync.directory_source import DirectorySource


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
            return TesterResult(message=_("Enter an expression to test."))
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
        return TesterResult(
            message=_("Search for a %(kind)s and pick one to test with.")
            % {"kind": gettext(source_object).lower()}
        )
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
