"""The job's mappings as Graph's ``synchronizationSchema``, and back.

Reading: each ``ObjectMapping`` becomes an ``objectMapping`` of one synchronization rule; attribute
mappings become Graph's ``attributeMapping`` (Direct → source type ``Attribute``, Constant →
``Constant``, Expression → ``Function`` with the expression text); scoping filters become the
``scope`` filter groups; the target attribute list becomes the target directory's object definition.

Writing (PUT): the same shape is read back, checked with the mapping editor's own rules
(``provisioning.mappings.evaluation.validate_mappings``, the expression parser, ``scoping.validate_clause``) and
every problem is reported with its JSON path, e.g.
``synchronizationRules[0].objectMappings[0].attributeMappings[3].source.expression``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from portal.applications.gallery import GROUP_SOURCE_ATTRIBUTES, USER_SOURCE_ATTRIBUTES, AppTemplate
from provisioning.connectors.scim.paths import parse_path
from provisioning.expressions import ExpressionError, compile_expression
from provisioning.mappings.evaluation import (
    AttributeMapping,
    MappingError,
    TargetAttribute,
    validate_mappings,
)
from provisioning.mappings.scoping import ScopingClause, canonical_operator, validate_clause

SOURCE_DIRECTORY = "Azure Active Directory"
SOURCE_DIRECTORY_ID = "AzureActiveDirectory"
FLOW_TO_ACTION = {"add": "Create", "update": "Update", "delete": "Delete"}
ACTION_TO_FLOW = {"Create": "Add", "Update": "Update", "Delete": "Delete"}
SOURCE_TYPES = {"attribute": "Direct", "constant": "Constant", "function": "Expression"}
APPLY = {"always": "Always", "objectaddonly": "ObjectAddOnly"}
_BOOLEAN = {"accountEnabled", "IsSoftDeleted", "securityEnabled", "mailEnabled"}
_REFERENCE = {"manager", "members"}
_MULTI = {"businessPhones", "appRoleAssignments", "members"}
_DATE = {"createdDateTime"}
# Where a MappingError's field lives in Graph's attributeMapping.
_GRAPH_FIELD = {
    "target": "targetAttributeName",
    "source": "source.name",
    "constant": "source.name",
    "expression": "source.expression",
    "matchingPrecedence": "matchingPriority",
    "apply": "flowType",
    "defaultValue": "defaultValue",
}


def template_key(template_id: str) -> str:
    """The synchronization template id of a gallery app: ``taskize-connect`` → ``taskizeconnect``."""
    return template_id.replace("-", "")


# --- reading ------------------------------------------------------------------------------------------


def _source(mapping: dict[str, Any]) -> dict[str, Any] | None:
    kind = mapping.get("type")
    if kind == "Direct":
        name = mapping.get("source") or ""
        return {"type": "Attribute", "name": name, "expression": f"[{name}]"}
    if kind == "Constant":
        value = mapping.get("constant") or ""
        quoted = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return {"type": "Constant", "name": value, "expression": quoted}
    if kind == "Expression":
        expression = mapping.get("expression") or ""
        try:
            name = compile_expression(expression).top_level_function or ""
        except ExpressionError:
            name = ""
        return {"type": "Function", "name": name, "expression": expression}
    return None


def attribute_mapping(mapping: dict[str, Any]) -> dict[str, Any]:
    return {
        "targetAttributeName": mapping.get("target", ""),
        "source": _source(mapping),
        "defaultValue": mapping.get("defaultValue"),
        "flowType": mapping.get("apply") or "Always",
        "flowBehavior": "FlowWhenChanged",
        "matchingPriority": mapping.get("matchingPrecedence") or 0,
        "exportMissingReferences": False,
    }


def _scope(filters: list[Any]) -> dict[str, Any] | None:
    if not filters:
        return None
    groups = []
    for index, item in enumerate(filters):
        clauses = item.get("clauses", []) if isinstance(item, dict) else item
        title = item.get("title", "") if isinstance(item, dict) else ""
        groups.append(
            {
                "name": title or f"Scoping filter {index + 1}",
                "clauses": [
                    {
                        "operatorName": clause.get("operator"),
                        "sourceOperandName": clause.get("attribute"),
                        "targetOperand": {"values": [] if clause.get("value") is None else [clause["value"]]},
                    }
                    for clause in clauses
                ],
            }
        )
    return {"categoryFilterGroups": [], "groups": groups, "inputFilterGroups": []}


def object_mapping(mapping: Any) -> dict[str, Any]:
    return {
        "name": mapping.name,
        "enabled": mapping.enabled,
        "flowTypes": ", ".join(
            ACTION_TO_FLOW[a] for a in ("Create", "Update", "Delete") if a in mapping.actions
        ),
        "sourceObjectName": mapping.source_object,
        "targetObjectName": mapping.target_object,
        "scope": _scope(list(mapping.scoping_filters)),
        "metadata": [],  # Graph's keys only (objectMappingMetadata); the mapping is known by its object names
        "attributeMappings": [attribute_mapping(m) for m in mapping.attribute_mappings],
    }


def _source_type(name: str) -> str:
    if name in _BOOLEAN:
        return "Boolean"
    if name in _REFERENCE:
        return "Reference"
    if name in _DATE:
        return "DateTime"
    return "String"


def _source_directory() -> dict[str, Any]:
    objects = []
    for kind, names in (("User", USER_SOURCE_ATTRIBUTES), ("Group", GROUP_SOURCE_ATTRIBUTES)):
        objects.append(
            {
                "name": kind,
                "attributes": [
                    {
                        "name": name,
                        "type": _source_type(name),
                        "multivalued": name in _MULTI,
                        "required": False,
                        "caseExact": False,
                        "anchor": name == "objectId",
                    }
                    for name in sorted(names, key=str.lower)
                ],
                "metadata": [],
            }
        )
    return {"id": SOURCE_DIRECTORY_ID, "name": SOURCE_DIRECTORY, "objects": objects}


def _target_directory(key: str, mappings: list[Any]) -> dict[str, Any]:
    objects: dict[str, dict[str, Any]] = {}
    for mapping in mappings:
        target = objects.setdefault(
            mapping.target_object, {"name": mapping.target_object, "attributes": [], "metadata": []}
        )
        seen = {a["name"] for a in target["attributes"]}
        for attribute in mapping.target_attributes:
            if attribute.get("name") in seen:
                continue
            target["attributes"].append(
                {
                    "name": attribute.get("name", ""),
                    "type": attribute.get("type", "String"),
                    "multivalued": bool(attribute.get("multiValued", False)),
                    "required": bool(attribute.get("required", False)),
                    "caseExact": bool(attribute.get("caseExact", False)),
                    "anchor": False,
                }
            )
    return {"id": key, "name": key, "objects": list(objects.values())}


def version(mappings: list[Any]) -> str:
    """A short fingerprint of the mappings: changes whenever anything in them changes."""
    data = [
        [m.key, m.enabled, m.actions, m.scoping_filters, m.attribute_mappings, m.target_attributes]
        for m in mappings
    ]
    digest = hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()
    return f"Date:{digest[:16]}"


def synchronization_schema(schema_id: str, key: str, mappings: list[Any]) -> dict[str, Any]:
    """The ``synchronizationSchema`` of object mappings (job rows or gallery template mappings)."""
    return {
        "id": schema_id,
        "version": version(mappings),
        "synchronizationRules": [
            {
                "id": key,
                "name": f"USER_OUTBOUND_{key.upper()}",
                "editable": True,
                "priority": 1,
                "sourceDirectoryName": SOURCE_DIRECTORY,
                "targetDirectoryName": key,
                "metadata": [],
                "objectMappings": [object_mapping(m) for m in mappings],
            }
        ],
        "directories": [_source_directory(), _target_directory(key, mappings)],
    }


@dataclass
class _TemplateMapping:
    """A gallery object mapping seen through the same attribute names as ``ObjectMapping``."""

    key: str
    name: str
    enabled: bool
    source_object: str
    target_object: str
    actions: list[str]
    scoping_filters: list[Any]
    attribute_mappings: list[dict[str, Any]]
    target_attributes: list[dict[str, Any]]


def template_schema(template: AppTemplate) -> dict[str, Any]:
    key = template_key(template.id)
    mappings = [
        _TemplateMapping(
            m.id,
            m.name,
            m.enabled,
            m.source_object,
            m.target_object,
            list(m.actions),
            list(m.scoping_filters),
            list(m.attribute_mappings),
            list(m.target_attributes),
        )
        for m in template.object_mappings
    ]
    return synchronization_schema(key, key, mappings)


# --- writing ------------------------------------------------------------------------------------------


@dataclass
class MappingUpdate:
    """What a PUT asks for one stored object mapping (the fields the ObjectMapping row stores)."""

    key: str
    values: dict[str, Any]


@dataclass
class SchemaProblems:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, path: str, message: str) -> None:
        self.items.append((path, message))


def _attribute_to_store(item: Any, path: str, problems: SchemaProblems) -> dict[str, Any] | None:
    """Graph's attributeMapping → the stored dict; None (and a problem) when its shape is wrong."""
    data: dict[str, Any] = {"target": (item.targetAttributeName or "").strip()}
    source = item.source
    blank = source is not None and (source.type or "").lower() in ("", "none")
    if source is None or (blank and not (source.expression or source.name)):
        data["type"] = "None"
    else:
        kind = SOURCE_TYPES.get((source.type or "").lower())
        if kind is None:
            problems.add(f"{path}.source.type", "must be Attribute, Constant or Function")
            return None
        data["type"] = kind
        if kind == "Direct":
            name = (source.name or "").strip()
            if not name and source.expression:
                name = source.expression.strip().removeprefix("[").removesuffix("]")
            data["source"] = name
        elif kind == "Constant":
            data["constant"] = source.name if source.name is not None else _unquote(source.expression)
        else:
            data["expression"] = source.expression or ""
    if item.defaultValue not in (None, ""):
        data["defaultValue"] = item.defaultValue
    if item.matchingPriority:
        data["matchingPrecedence"] = item.matchingPriority
    apply = APPLY.get((item.flowType or "Always").lower())
    if apply is None:
        problems.add(f"{path}.flowType", "must be Always or ObjectAddOnly")
        return None
    data["apply"] = apply
    return data


def _unquote(expression: str | None) -> str:
    text = (expression or "").strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def _actions(flow_types: str | None, path: str, problems: SchemaProblems) -> list[str]:
    actions = []
    for part in (flow_types or "").replace(";", ",").split(","):
        word = part.strip().lower()
        if not word:
            continue
        if word not in FLOW_TO_ACTION:
            problems.add(path, f"'{part.strip()}' is not a flow type; use Add, Update and/or Delete")
            continue
        if FLOW_TO_ACTION[word] not in actions:
            actions.append(FLOW_TO_ACTION[word])
    return [a for a in ("Create", "Update", "Delete") if a in actions]


def _scoping(scope: Any, path: str, problems: SchemaProblems) -> list[dict[str, Any]]:
    if scope is None:
        return []
    if scope.categoryFilterGroups or scope.inputFilterGroups:
        problems.add(
            path, "only 'groups' scoping filters are supported (not category or input filter groups)"
        )
    filters = []
    for g, group in enumerate(scope.groups):
        clauses = []
        for c, clause in enumerate(group.clauses):
            clause_path = f"{path}.groups[{g}].clauses[{c}]"
            values = clause.targetOperand.values if clause.targetOperand else []
            if len(values) > 1:
                problems.add(f"{clause_path}.targetOperand.values", "a clause compares with one value")
            operator = clause.operatorName or ""
            stored = ScopingClause(
                attribute=(clause.sourceOperandName or "").strip(),
                operator=canonical_operator(operator) or operator,
                value=values[0] if values else None,
            )
            for message in validate_clause(stored):
                problems.add(clause_path, message)
            clauses.append(stored.to_dict())
        if not clauses:
            problems.add(f"{path}.groups[{g}].clauses", "a scoping filter needs at least one clause")
        filters.append({"title": (group.name or "").strip(), "clauses": clauses})
    return filters


def _target_attributes(
    directories: list[Any],
    target_object: str,
    current: list[dict[str, Any]],
    path: str,
    problems: SchemaProblems,
) -> list[dict[str, Any]]:
    """The target object's attribute list from the PUT's target directory, or the stored one."""
    for d, directory in enumerate(directories):
        if directory.id == SOURCE_DIRECTORY_ID or directory.name == SOURCE_DIRECTORY:
            continue
        for o, definition in enumerate(directory.objects):
            if definition.name != target_object:
                continue
            attributes = []
            for a, attribute in enumerate(definition.attributes):
                name = attribute.name.strip()
                previous = next((c for c in current if c.get("name") == name), None)
                if previous is None:  # new names follow the connector's grammar; stored ones are kept
                    try:
                        parse_path(name)
                    except ValueError as error:
                        problems.add(f"directories[{d}].objects[{o}].attributes[{a}].name", str(error))
                        continue
                data = _attribute_definition(attribute, name, previous)
                try:
                    TargetAttribute.from_dict(data)
                except ValueError as error:
                    problems.add(f"directories[{d}].objects[{o}].attributes[{a}].type", str(error))
                    continue
                attributes.append(data)
            if not attributes:
                problems.add(
                    f"directories[{d}].objects[{o}].attributes", "the target object needs attributes"
                )
            return attributes
    return current


def _attribute_definition(attribute: Any, name: str, previous: dict[str, Any] | None) -> dict[str, Any]:
    """A target attribute from Graph's attributeDefinition: the stored one, with what the body changes.

    A property the body leaves out (an SDK drops values its enums don't know) or sends unchanged keeps the
    stored value and key set, so a schema read and written back is the same schema.
    """
    stored = previous or {"name": name, "type": "String", "multiValued": False, "required": False}
    data = {**stored, "name": name, "filterable": stored.get("filterable", True)}
    sent = attribute.model_fields_set
    if "type" in sent and attribute.type and attribute.type != stored.get("type", "String"):
        data["type"] = attribute.type
    for graph_name, key in (
        ("multivalued", "multiValued"),
        ("required", "required"),
        ("caseExact", "caseExact"),
    ):
        value = getattr(attribute, graph_name)
        if graph_name in sent and value is not None and bool(value) != bool(stored.get(key, False)):
            data[key] = bool(value)
    return data


def _find_mapping(item: Any, stored: list[Any], path: str, problems: SchemaProblems) -> Any | None:
    """The stored object mapping an objectMapping of the body stands for: by source and target object
    names (Graph's own identity of a mapping), or by source alone when the job has one mapping of it."""
    source = (item.sourceObjectName or "").strip().lower()
    target = (item.targetObjectName or "").strip().lower()
    of_source = [m for m in stored if m.source_object.lower() == source]
    exact = [m for m in of_source if m.target_object.lower() == target]
    if len(exact) == 1:
        return exact[0]
    if len(of_source) == 1:
        if target:
            problems.add(
                f"{path}.targetObjectName", f"can't be changed (it is '{of_source[0].target_object}')"
            )
        return of_source[0]
    if of_source:
        problems.add(
            f"{path}.targetObjectName",
            f"this job maps '{item.sourceObjectName}' to "
            + ", ".join(f"'{m.target_object}'" for m in of_source)
            + "; name one of them",
        )
        return None
    problems.add(
        f"{path}.sourceObjectName",
        f"no object mapping of this job provisions '{item.sourceObjectName}'; use User or Group",
    )
    return None


def updates_from_schema(schema: Any, stored: list[Any]) -> tuple[list[MappingUpdate], SchemaProblems]:
    """Read a PUT/PATCH body against the job's stored object mappings; problems carry their JSON paths.

    Properties the body leaves out keep their stored values (the SDKs drop values their enums don't
    know, such as Graph's own ``flowTypes: "Add, Update, Delete"``).
    """
    problems = SchemaProblems()
    updates: list[MappingUpdate] = []
    seen: set[str] = set()
    if not schema.synchronizationRules:
        problems.add("synchronizationRules", "at least one synchronization rule is required")
    for r, rule in enumerate(schema.synchronizationRules):
        for o, item in enumerate(rule.objectMappings):
            path = f"synchronizationRules[{r}].objectMappings[{o}]"
            current = _find_mapping(item, stored, path, problems)
            if current is None:
                continue
            if current.key in seen:
                problems.add(path, f"the {current.source_object} object mapping appears twice")
                continue
            seen.add(current.key)
            sent = item.model_fields_set
            values: dict[str, Any] = {
                "name": (item.name or current.name).strip()[:200] or current.name,
                "enabled": current.enabled if item.enabled is None else item.enabled,
                "actions": _actions(item.flowTypes, f"{path}.flowTypes", problems)
                if "flowTypes" in sent and item.flowTypes is not None
                else list(current.actions),
                "scoping_filters": _scoping(item.scope, f"{path}.scope", problems)
                if "scope" in sent
                else list(current.scoping_filters),
                "target_attributes": _target_attributes(
                    schema.directories,
                    current.target_object,
                    list(current.target_attributes),
                    "directories",
                    problems,
                ),
            }
            rows = []
            if "attributeMappings" not in sent:  # kept, but still checked against the target attributes
                rows = list(enumerate(current.attribute_mappings))
            for a, attribute in enumerate(item.attributeMappings if "attributeMappings" in sent else []):
                stored_row = _attribute_to_store(attribute, f"{path}.attributeMappings[{a}]", problems)
                if stored_row is not None:
                    rows.append((a, stored_row))
            values["attribute_mappings"] = [row for _, row in rows]
            _validate_rows(rows, values["target_attributes"], f"{path}.attributeMappings", problems)
            updates.append(MappingUpdate(current.key, values))
    return updates, problems


def _validate_rows(
    rows: list[tuple[int, dict[str, Any]]], targets: list[dict[str, Any]], path: str, problems: SchemaProblems
) -> None:
    mappings = []
    positions = []
    for position, row in rows:
        try:
            mappings.append(AttributeMapping.from_dict(row))
            positions.append(position)
        except ValueError as error:
            problems.add(f"{path}[{position}]", str(error))
    attributes = []
    for target in targets:
        try:
            attributes.append(TargetAttribute.from_dict(target))
        except ValueError:
            continue
    errors: list[MappingError] = validate_mappings(mappings, attributes)
    for error in errors:
        if error.index is None:
            problems.add(path, error.message)
        else:
            graph_field = _GRAPH_FIELD.get(error.field, error.field)
            problems.add(f"{path}[{positions[error.index]}].{graph_field}", error.message)


def save_schema(job: Any, schema: Any) -> tuple[list[str], SchemaProblems]:
    """Validate a synchronization schema against ``job``'s mappings and store what changed, all or
    nothing. Returns the names of the changed object mappings (a change makes the next cycle initial)
    and the problems; nothing is saved when there are problems. Used by the API and the Schema page."""
    from django.db import transaction

    from provisioning.models import ProvisioningJob

    stored = list(job.object_mappings.all())
    updates, problems = updates_from_schema(schema, stored)
    if problems.items:
        return [], problems
    by_key = {m.key: m for m in stored}
    changed: list[str] = []
    with transaction.atomic():
        for update in updates:
            mapping = by_key[update.key]
            fields = [name for name, value in update.values.items() if getattr(mapping, name) != value]
            if not fields:
                continue
            for name in fields:
                setattr(mapping, name, update.values[name])
            mapping.save(update_fields=fields)
            changed.append(mapping.name)
        if changed:
            ProvisioningJob.objects.filter(pk=job.pk).update(needs_full_sync=True)
    return changed, problems
