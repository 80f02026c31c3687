"""Entra-style target attribute paths <-> SCIM documents and PATCH operations.

The engine speaks flat dicts keyed by the target attribute names Entra shows in its mapping editor:

* core: ``userName``, ``active``, ``displayName``, ``title``, ``externalId``, ``preferredLanguage``...
* sub-attributes: ``name.givenName``, ``name.familyName``, ``name.formatted``
* typed multi-valued entries: ``emails[type eq "work"].value``, ``phoneNumbers[type eq "mobile"].value``,
  ``addresses[type eq "work"].locality``
* whole lists: ``roles`` (``[{value, display, primary, type}]``)
* extensions: ``urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`` (``manager`` carries
  the manager's *target id* and goes on the wire as ``{"value": id}``), and custom extension URNs
  ``urn:ietf:params:scim:schemas:extension:<name>:2.0:User:<attr>``.
* groups: ``displayName``, ``externalId``, ``members`` (ids; memberships travel through their own PATCHes).

This module turns such a dict into a SCIM document validated by scim2-models (:func:`build_resource`),
a returned document back into paths (:func:`flatten`) and a dict of changes into RFC 7644 PATCH
operations in the form Entra sends with ``aadOptscim062020`` (:func:`patch_operations`), or, for old
targets, Entra's legacy form.

Custom extensions have no scim2-models class. They are carried by ``ScimPolicy(unknown=keep)``:
the attributes are kept, dumped back as sent and their schema URN is listed in ``schemas``. Their
values are not type-checked locally (the target is the judge).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

from scim2_models import EnterpriseUser, Group, Path, ScimPolicy, User
from scim2_models.resources.user import Email

from provisioning.engine.attribute_types import AttributeType

from .compat import Compatibility

__all__ = [
    "CORE_GROUP_URN",
    "CORE_USER_URN",
    "ENTERPRISE_URN",
    "EXTENSION_FORM",
    "LENIENT_POLICY",
    "AttributePath",
    "GroupModel",
    "MissingAttribute",
    "SchemaTypes",
    "ScimEmail",
    "ScimUser",
    "UserModel",
    "build_document",
    "build_resource",
    "escape_filter_value",
    "filter_expression",
    "flatten",
    "is_case_exact",
    "one_primary",
    "parse_path",
    "patch_operations",
    "rewrite_missing_entries",
    "schema_types",
    "type_of",
    "value_at",
    "wire_operation",
]

CORE_USER_URN = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP_URN = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_URN = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MANAGER_PATH = f"{ENTERPRISE_URN}:manager"

LENIENT_POLICY = ScimPolicy(unknown=ScimPolicy.Unknown.keep)
"""Keep attributes no model declares (custom extensions, vendor additions) instead of refusing them."""


class ScimEmail(Email):
    """An email whose value is any string.

    scim2-models types ``emails.value`` as pydantic ``EmailStr``, which lower-cases the domain and refuses
    special-use domains such as ``contoso.local``. Entra sends values as they are and the target judges
    them; changing them would also make every later diff see a difference that never goes away.
    """

    value: str | None = None


class ScimUser(User):
    """The core User with :class:`ScimEmail` (same schema URN, so targets see a plain User)."""

    emails: list[ScimEmail] | None = None  # type: ignore[assignment]


UserModel = ScimUser[EnterpriseUser]
GroupModel = Group

ObjectType = Literal["User", "Group"]

# Multi-valued attributes whose entries are addressed by type: emails[type eq "work"].value
_TYPED_MULTI = {"emails", "phonenumbers", "ims", "photos", "addresses"}
# Multi-valued attributes carried as whole lists.
_LIST_ATTRIBUTES = {"roles", "entitlements", "groups", "x509certificates", "members"}
_NAME = r"[A-Za-z$][\w$-]*"
_PATH_RE = re.compile(
    rf"^(?P<attr>{_NAME})"
    rf'(?:\[\s*(?P<fattr>{_NAME})\s+eq\s+"(?P<fval>(?:[^"\\]|\\.)*)"\s*\])?'
    rf"(?:\.(?P<sub>{_NAME}))?$",
    re.ASCII,
)
# urn:ietf:params:scim:schemas:core:2.0:User and urn:ietf:params:scim:schemas:extension:<name>:2.0:User
_SCHEMA_RE = re.compile(
    r"^urn:ietf:params:scim:schemas:(?:core|extension:[A-Za-z0-9][\w.-]*):\d+(?:\.\d+)*:[A-Za-z]\w*$",
    re.IGNORECASE | re.ASCII,
)
_SCIM1_RE = re.compile(r"^urn:scim:schemas:", re.IGNORECASE)
EXTENSION_FORM = (
    "urn:ietf:params:scim:schemas:extension:<Extension>:<version>:<Resource>:<attribute>, for example "
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber"
)


class MissingAttribute(ValueError):
    """A required attribute (``userName`` for users, ``displayName`` for groups) has no value."""

    def __init__(self, attribute: str) -> None:
        super().__init__(f"the required attribute {attribute} has no value")
        self.attribute = attribute


@dataclass(frozen=True)
class AttributePath:
    """A parsed target attribute path. ``schema`` is None for core attributes."""

    text: str
    schema: str | None
    attribute: str
    filter_attribute: str | None = None
    filter_value: str | None = None
    sub_attribute: str | None = None

    @property
    def prefix(self) -> str:
        return f"{self.schema}:" if self.schema else ""

    @property
    def entry_path(self) -> str:
        """The path of the whole filtered entry: ``emails[type eq "work"]``."""
        return f'{self.prefix}{self.attribute}[{self.filter_attribute} eq "{escape_filter_value(self.filter_value or "")}"]'

    @property
    def is_manager(self) -> bool:
        return (
            self.schema == ENTERPRISE_URN
            and self.attribute == "manager"
            and self.sub_attribute in (None, "value")
        )


def escape_filter_value(value: str) -> str:
    """Escape a string for a SCIM filter literal (backslash and double quote)."""
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def parse_path(path: str) -> AttributePath:
    """Parse a target attribute path; ``ValueError`` saying how to write it when it is not one.

    The one grammar of target attribute names: the mapping editor, the schema API and the connector all
    call it, so a name the editor accepts is a name the connector can send. SCIM 2.0 only: a SCIM 1.1
    name (``urn:scim:schemas:extension:enterprise:1.0.department``) is refused with its 2.0 spelling.
    """
    text = path.strip()
    if not text:
        raise ValueError("Enter the attribute name")
    if text.lower() == "id":
        raise ValueError("'id' is the target's primary key; it can't be a target attribute")
    schema: str | None = None
    rest = text
    if text.lower().startswith("urn:"):
        if _SCIM1_RE.match(text):
            raise ValueError(
                f"'{path}' is a SCIM 1.1 name, and the portal speaks SCIM 2.0. Write it as {EXTENSION_FORM}"
            )
        head = text.split("[", 1)[0]
        cut = head.rfind(":")
        schema, rest = text[:cut], text[cut + 1 :]
        if cut <= 0 or not _SCHEMA_RE.match(schema) or not _PATH_RE.match(rest):
            raise ValueError(f"'{path}' is not a valid extension attribute. Write it as {EXTENSION_FORM}")
        if schema.lower() in (CORE_USER_URN.lower(), CORE_GROUP_URN.lower()):
            schema = None
        elif schema.lower() == ENTERPRISE_URN.lower():
            schema = ENTERPRISE_URN
    match = _PATH_RE.match(rest)
    if not match:
        raise ValueError(
            f"'{path}' is not a valid attribute name. Use a name (title), a sub-attribute "
            '(name.givenName) or a filtered multi-valued attribute (emails[type eq "work"].value)'
        )
    fval = match["fval"]
    return AttributePath(
        text=path,
        schema=schema,
        attribute=match["attr"],
        filter_attribute=match["fattr"],
        filter_value=_unescape(fval) if fval is not None else None,
        sub_attribute=match["sub"],
    )


# --- building documents -----------------------------------------------------------------------------


def _as_list_value(value: Any) -> Any:
    """``roles``-style lists: plain strings become ``{"value": s}``."""
    if isinstance(value, list):
        return one_primary([item if isinstance(item, dict) else {"value": item} for item in value])
    return value


def build_document(object_type: ObjectType, values: dict[str, Any]) -> dict[str, Any]:
    """Nest a flat path→value dict into a SCIM JSON document (None values are left out).

    Groups are built without ``members`` (Entra creates groups empty and adds members by PATCH).
    A single typed entry of ``emails``/``phoneNumbers``/``addresses`` without an explicit ``primary`` is
    marked primary, as Entra does on create.
    """
    document: dict[str, Any] = {}
    extensions: list[str] = []
    for path, value in values.items():
        if value is None:
            continue
        parsed = parse_path(path)
        if object_type == "Group" and parsed.schema is None and parsed.attribute.lower() == "members":
            continue
        if parsed.schema is None:
            container = document
        else:
            if parsed.schema not in extensions:
                extensions.append(parsed.schema)
            container = document.setdefault(parsed.schema, {})
        if parsed.is_manager and not isinstance(value, dict):
            container["manager"] = {"value": str(value)}
        elif parsed.filter_attribute:
            entries = container.setdefault(parsed.attribute, [])
            entry = next(
                (
                    e
                    for e in entries
                    if str(e.get(parsed.filter_attribute, "")).lower() == (parsed.filter_value or "").lower()
                ),
                None,
            )
            if entry is None:
                entry = {parsed.filter_attribute: parsed.filter_value}
                entries.append(entry)
            _put(entry, parsed.sub_attribute, value)
        elif parsed.sub_attribute:
            container.setdefault(parsed.attribute, {})[parsed.sub_attribute] = value
        elif parsed.attribute.lower() in _LIST_ATTRIBUTES:
            container[parsed.attribute] = _as_list_value(value)
        else:
            container[parsed.attribute] = value
    for container in (document, *(document[urn] for urn in extensions)):
        for key, entries in container.items():
            if not isinstance(entries, list):
                continue
            single = len(entries) == 1 and isinstance(entries[0], dict) and "primary" not in entries[0]
            if key.lower() in ("emails", "phonenumbers", "addresses") and single:
                entries[0]["primary"] = True
            container[key] = one_primary(entries)
    core = CORE_USER_URN if object_type == "User" else CORE_GROUP_URN
    return {"schemas": [core, *extensions], **document}


def one_primary(entries: list[Any]) -> list[Any]:
    """RFC 7643 §2.4: at most one entry of a multi-valued attribute is ``primary``; the first one keeps it.

    Two mappings may each set ``primary`` (work and mobile phone), and a roles list may carry several.
    """
    seen = False
    result = []
    for entry in entries:
        if isinstance(entry, dict) and entry.get("primary") in (True, "true", "True"):
            if seen:
                entry = {k: v for k, v in entry.items() if k != "primary"}
            seen = True
        result.append(entry)
    return result


def build_resource(object_type: ObjectType, values: dict[str, Any]) -> Any:
    """The scim2-models resource for a flat dict (``ScimUser[EnterpriseUser]`` or ``Group``).

    Raises pydantic ``ValidationError`` when a value does not fit the SCIM schema (the caller maps it to
    a rejected TargetError: nothing is sent).
    """
    document = build_document(object_type, values)
    required = "userName" if object_type == "User" else "displayName"
    if not any(
        key.lower() == required.lower() and value not in ("", None) for key, value in document.items()
    ):
        # Checked here rather than with scim2-models' creation context, which also requires the RFC's
        # merely RECOMMENDED manager "$ref" and would refuse Entra's {"value": id}.
        raise MissingAttribute(required)
    model = UserModel if object_type == "User" else GroupModel
    return model.model_validate(document, scim_policy=LENIENT_POLICY)


# --- reading documents ------------------------------------------------------------------------------


def _flatten_attribute(out: dict[str, Any], name: str, value: Any, object_type: ObjectType) -> None:
    lowered = name.rsplit(":", 1)[-1].lower()
    if object_type == "Group" and lowered == "members" and ":" not in name:
        out["members"] = [m.get("value") for m in value or [] if isinstance(m, dict)]
        return
    if isinstance(value, dict):
        for sub, sub_value in value.items():
            out[f"{name}.{sub}"] = sub_value
        return
    if isinstance(value, list) and lowered in _TYPED_MULTI and lowered not in _LIST_ATTRIBUTES:
        untyped = []
        for entry in value:
            if isinstance(entry, dict) and entry.get("type"):
                entry_path = f'{name}[type eq "{escape_filter_value(str(entry["type"]).lower())}"]'
                for sub, sub_value in entry.items():
                    if sub != "type":
                        out.setdefault(f"{entry_path}.{sub}", sub_value)
            else:
                untyped.append(entry)
        if untyped:
            out[name] = untyped
        return
    out[name] = value


def flatten(object_type: ObjectType, document: dict[str, Any]) -> dict[str, Any]:
    """Flatten a SCIM JSON document into Entra-style paths (``id``, ``schemas``, ``meta`` left out).

    Typed entries become ``emails[type eq "work"].value`` (type lower-cased, so a target answering
    ``"Work"`` does not look like a change); the enterprise manager becomes its id.
    """
    out: dict[str, Any] = {}
    for key, value in document.items():
        if key in ("schemas", "meta", "id"):
            continue
        if key.lower().startswith("urn:") and isinstance(value, dict):
            for attribute, attribute_value in value.items():
                name = f"{key}:{attribute}"
                if key.lower() == ENTERPRISE_URN.lower() and attribute == "manager":
                    manager = (
                        attribute_value.get("value") if isinstance(attribute_value, dict) else attribute_value
                    )
                    out[MANAGER_PATH] = manager
                elif key.lower() in (CORE_USER_URN.lower(), CORE_GROUP_URN.lower()):
                    _flatten_attribute(out, attribute, attribute_value, object_type)
                else:
                    _flatten_attribute(out, name, attribute_value, object_type)
            continue
        _flatten_attribute(out, key, value, object_type)
    return out


def value_at(flat: dict[str, Any], attribute: str) -> Any:
    """``flat[attribute]`` with attribute names compared case-insensitively (SCIM names are)."""
    if attribute in flat:
        return flat[attribute]
    lowered = attribute.lower()
    return next((value for key, value in flat.items() if key.lower() == lowered), None)


def is_case_exact(object_type: ObjectType, attribute: str) -> bool:
    """Whether the SCIM schema compares this attribute case-sensitively (unknown attributes: yes)."""
    try:
        binding = Path[UserModel if object_type == "User" else GroupModel](attribute).resolve()
    except Exception:  # an unknown or unparsable path is compared exactly
        return True
    return True if binding is None else bool(binding.case_exact)


def filter_expression(attribute: str, value: str) -> str:
    """``attribute eq "value"``, with a typed-entry path written in RFC 7644 form.

    ``emails[type eq "work"].value`` + ``x`` becomes ``emails[type eq "work" and value eq "x"]``.
    """
    parsed = parse_path(attribute)
    if parsed.filter_attribute:
        sub = parsed.sub_attribute or "value"
        return (
            f'{parsed.prefix}{parsed.attribute}[{parsed.filter_attribute} eq "{escape_filter_value(parsed.filter_value or "")}"'
            f' and {sub} eq "{escape_filter_value(value)}"]'
        )
    return f'{attribute} eq "{escape_filter_value(value)}"'


# --- PATCH ------------------------------------------------------------------------------------------


def _string_boolean(value: Any) -> Any:
    """Entra's pre-2020 job sends booleans as "True"/"False" strings (also inside a path-less value)."""
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, dict):
        return {key: _string_boolean(item) for key, item in value.items()}
    return value


def patch_operations(
    object_type: ObjectType,
    changes: dict[str, Any],
    compat: Compatibility | None = None,
) -> list[dict[str, Any]]:
    """PATCH operations (as SCIM JSON dicts) applying ``changes``; a None value removes the attribute.

    Default (Entra with ``aadOptscim062020``): lower-case ops, real booleans, one ``replace`` per
    filtered path (``emails[type eq "work"].value``) and one path-less ``replace`` whose value holds the
    plain core and enterprise paths (``{"displayName": ..., "name.givenName": ...}``). Complex values
    (manager, roles) and custom-extension paths get their own ``replace``. Clearing the ``value`` of a
    typed entry removes the whole entry rather than leaving ``{"type": "work"}`` behind.
    The switches of ``compat`` change one thing each: ``replaceForm=perPath`` sends one ``replace`` per
    path, ``patchOpCase=capitalized`` sends ``Replace``, ``booleanForm=string`` sends ``"True"``.
    """
    compat = compat or Compatibility()
    bundled: dict[str, Any] = {}
    path_ops: list[dict[str, Any]] = []
    removals: list[dict[str, Any]] = []
    for path, value in changes.items():
        parsed = parse_path(path)
        if object_type == "Group" and parsed.schema is None and parsed.attribute.lower() == "members":
            raise ValueError("group members change through add_members/remove_members")
        if value is None:
            target = (
                parsed.entry_path
                if parsed.filter_attribute and parsed.sub_attribute in (None, "value")
                else path
            )
            if not any(op["path"] == target for op in removals):
                removals.append({"op": "remove", "path": target})
            continue
        if parsed.is_manager and not isinstance(value, dict):
            value = {"value": str(value)}
        elif parsed.attribute.lower() in _LIST_ATTRIBUTES and not parsed.sub_attribute:
            value = _as_list_value(value)
        simple = not isinstance(value, dict | list) and parsed.schema in (None, ENTERPRISE_URN)
        if not compat.bundle_replace or parsed.filter_attribute or not simple:
            path_ops.append({"op": "replace", "path": path, "value": value})
        else:
            bundled[path] = value
    operations = ([{"op": "replace", "value": bundled}] if bundled else []) + path_ops + removals
    return [wire_operation(operation, compat) for operation in operations]


def wire_operation(operation: dict[str, Any], compat: Compatibility) -> dict[str, Any]:
    """One PATCH operation in the form the switches ask for (op casing, boolean form)."""
    if compat.capitalized_ops:
        operation["op"] = operation["op"].capitalize()
    if compat.string_booleans and "value" in operation:
        operation["value"] = _string_boolean(operation["value"])
    return operation


def rewrite_missing_entries(
    operations: list[dict[str, Any]], document: dict[str, Any]
) -> list[dict[str, Any]]:
    """Turn ``replace emails[type eq "work"].value`` into ``add emails [{type: work, value}]`` when the
    resource has no such entry.

    RFC 7644 §3.5.2.3 makes a strict target answer 400 ``noTarget`` to a filtered replace that matches
    nothing (a user created without a work email). Entra expects targets to create the entry; a strict
    target needs the ``add`` form, which this builds from the current document.
    """
    rewritten: list[dict[str, Any]] = []
    added: dict[tuple[str | None, str, str, str], dict[str, Any]] = {}
    primaried: set[tuple[str | None, str]] = set()
    for operation in operations:
        path = operation.get("path")
        parsed = parse_path(path) if path else None
        if not parsed or not parsed.filter_attribute or operation["op"].lower() != "replace":
            rewritten.append(operation)
            continue
        container = document.get(parsed.schema, {}) if parsed.schema else document
        entries = next((v for k, v in container.items() if k.lower() == parsed.attribute.lower()), None) or []
        wanted = (parsed.filter_value or "").lower()
        exists = any(
            isinstance(e, dict) and str(e.get(parsed.filter_attribute, "")).lower() == wanted for e in entries
        )
        if exists:
            rewritten.append(operation)
            continue
        key = (parsed.schema, parsed.attribute, parsed.filter_attribute, wanted)
        entry = added.get(key)
        if entry is None:
            entry = {parsed.filter_attribute: parsed.filter_value}
            # The first entry added to an empty attribute is its primary; only one may be (RFC 7643 §2.4).
            attribute = (parsed.schema, parsed.attribute.lower())
            if (
                not entries
                and parsed.attribute.lower() in ("emails", "phonenumbers", "addresses")
                and attribute not in primaried
            ):
                entry["primary"] = True
                primaried.add(attribute)
            added[key] = entry
            add = "Add" if operation["op"][:1].isupper() else "add"
            rewritten.append({"op": add, "path": f"{parsed.prefix}{parsed.attribute}", "value": [entry]})
        _put(entry, parsed.sub_attribute, operation["value"])
    return rewritten


# --- attribute types from /Schemas ------------------------------------------------------------------

SchemaTypes = dict[tuple[str, str | None, str, str | None], AttributeType]
"""(resource, extension schema URN lower-cased or None, attribute, sub-attribute) → type; lower-cased."""


def schema_types(answer: Any) -> SchemaTypes:
    """The attribute types a ``/Schemas`` ListResponse (JSON) declares; empty for anything unreadable."""
    found: SchemaTypes = {}
    if isinstance(answer, dict):
        schemas = answer.get("Resources") or answer.get("resources") or []
    elif isinstance(answer, list):
        schemas = answer
    else:
        return found
    for schema in schemas:
        if not isinstance(schema, dict) or not isinstance(schema.get("id"), str):
            continue
        urn = schema["id"].lower()
        resource = "group" if urn.endswith(":group") else "user"
        extension = None if urn in (CORE_USER_URN.lower(), CORE_GROUP_URN.lower()) else urn
        for attribute in schema.get("attributes") or []:
            if not isinstance(attribute, dict) or not attribute.get("name"):
                continue
            name = str(attribute["name"]).lower()
            kind = AttributeType.parse(attribute.get("type"), bool(attribute.get("multiValued")))
            if kind:
                found[(resource, extension, name, None)] = kind
            for sub in attribute.get("subAttributes") or []:
                if isinstance(sub, dict) and sub.get("name"):
                    sub_kind = AttributeType.parse(sub.get("type"), bool(sub.get("multiValued")))
                    if sub_kind:
                        found[(resource, extension, name, str(sub["name"]).lower())] = sub_kind
    return found


def type_of(types: SchemaTypes, object_type: ObjectType, path: str) -> AttributeType | None:
    """The declared type of a target attribute path (``emails[type eq "work"].value`` → ``emails.value``)."""
    if not types:
        return None
    try:
        parsed = parse_path(path)
    except ValueError:
        return None
    resource = object_type.lower()
    schema = parsed.schema.lower() if parsed.schema else None
    sub = parsed.sub_attribute.lower() if parsed.sub_attribute else None
    if parsed.filter_attribute and sub is None:
        return None  # a whole entry is a complex value
    return types.get((resource, schema, parsed.attribute.lower(), sub))


def _put(entry: dict[str, Any], sub_attribute: str | None, value: Any) -> None:
    """A filtered path's value into its multi-valued entry: one sub-attribute, several, or the value."""
    if sub_attribute:
        entry[sub_attribute] = value
    elif isinstance(value, dict):
        entry.update(value)
    else:
        entry["value"] = value
