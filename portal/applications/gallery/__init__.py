"""The application gallery: one JSON file per app template, validated when it is loaded.

Pure Python (no Django import). A template says what an admin gets when they add the app from the
gallery: the credentials form, the app roles, and the default object and attribute mappings, the
way Entra's gallery apps ship them. ``docs/gallery.md`` lists the templates and their sources.

Attribute mappings and target attributes stay plain dicts in the camelCase shape of the JSON files;
``provisioning.mappings.evaluation`` turns them into typed objects. Treat them as read-only: the default gallery
is cached and shared.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from portal.directory.attributes import GROUP_SOURCE_ATTRIBUTES, USER_SOURCE_ATTRIBUTES

__all__ = [
    "AppRoleTemplate",
    "AppTemplate",
    "OAuthAuthorizationTemplate",
    "ObjectMappingTemplate",
    "TemplateError",
    "get_template",
    "load_templates",
    "search_templates",
]

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# portal/applications/gallery/__init__.py -> the project root is three folders up.
STATIC_DIR = Path(__file__).resolve().parents[3] / "static"

PROVISIONING_TYPES = frozenset({"sync"})
# ``oauthAuthorizationCode``: the app offers Entra's "Authorize" button (authorization code + PKCE, then
# refresh tokens); ``oauthAuthorization`` may give its endpoints and scope as the form's defaults.
CREDENTIAL_KINDS = frozenset({"tenantUrl", "secretToken", "oauthClientCredentials", "oauthAuthorizationCode"})
# How Entra's own gallery app authenticates (documentation only; the form uses ``credentials``).
ENTRA_AUTH_METHODS = frozenset({"bearerToken", "oauthAuthorizationCode", "oauthClientCredentials"})
OBJECT_ACTIONS = ("Create", "Update", "Delete")
SOURCE_OBJECTS = frozenset({"User", "Group"})
MAPPING_TYPES = frozenset({"Direct", "Constant", "Expression", "None"})
APPLY_VALUES = frozenset({"Always", "ObjectAddOnly"})
ATTRIBUTE_TYPES = frozenset({"String", "Boolean", "Integer", "DateTime", "Reference", "Binary"})

# Entra directory attributes a default mapping may read: the directory's one table.
SOURCE_ATTRIBUTES = {"User": USER_SOURCE_ATTRIBUTES, "Group": GROUP_SOURCE_ATTRIBUTES}
# Directory extensions (extension_<appId without dashes>_<name>) are always allowed as sources.
DIRECTORY_EXTENSION = re.compile(r"^extension_[0-9a-fA-F]{32}_\w+$")

TEMPLATE_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_STRING_LITERAL = re.compile(r'"(?:[^"\\]|\\.)*"')
_ATTRIBUTE_REFERENCE = re.compile(r"\[([^\[\]]*)\]")
# The portal adds this role itself to every app (Entra's "Default Access"/msiam_access).
RESERVED_ROLE_NAMES = frozenset({"default access", "msiam_access"})

_TOP_REQUIRED = (
    "id",
    "displayName",
    "publisher",
    "description",
    "homepage",
    "logo",
    "categories",
    "supportedProvisioningTypes",
    "credentials",
    "appRoles",
    "legacyEntraCompatibility",
    "source",
    "objectMappings",
)
_TOP_OPTIONAL = (
    "defaultTenantUrl",
    "entraAuthMethod",
    "notes",
    "oauthAuthorization",
    "notSupported",
    "compatibility",
)
_OAUTH_AUTHORIZATION_KEYS = ("authorizationUrl", "tokenUrl", "scope")
_OBJECT_REQUIRED = (
    "id",
    "name",
    "enabled",
    "sourceObject",
    "targetObject",
    "actions",
    "scopingFilters",
    "attributeMappings",
    "targetAttributes",
)
_MAPPING_KEYS = frozenset(
    {"target", "type", "source", "constant", "expression", "defaultValue", "matchingPrecedence", "apply"}
)
_TARGET_KEYS = frozenset({"name", "type", "multiValued", "required", "filterable", "caseExact"})
_ROLE_KEYS = ("value", "displayName", "description")


class TemplateError(ValueError):
    """A gallery template file is invalid. ``field`` is a JSON path such as
    ``objectMappings[0].attributeMappings[2].target``."""

    def __init__(self, file: str | Path, field: str, reason: str):
        self.file = str(file)
        self.field = field
        self.reason = reason
        super().__init__(f"{Path(self.file).name}: {field}: {reason}")


@dataclass(frozen=True)
class AppRoleTemplate:
    value: str
    display_name: str
    description: str


@dataclass(frozen=True)
class ObjectMappingTemplate:
    id: str
    name: str
    enabled: bool
    source_object: str
    target_object: str
    actions: tuple[str, ...]
    scoping_filters: tuple[dict[str, Any], ...]
    attribute_mappings: tuple[dict[str, Any], ...]
    target_attributes: tuple[dict[str, Any], ...]

    @property
    def matching_attributes(self) -> list[dict[str, Any]]:
        """Mappings that match objects, in matching-precedence order (1 first)."""
        matching = [m for m in self.attribute_mappings if m.get("matchingPrecedence")]
        return sorted(matching, key=lambda m: m["matchingPrecedence"])

    def target_attribute(self, name: str) -> dict[str, Any]:
        for attribute in self.target_attributes:
            if attribute["name"] == name:
                return attribute
        raise KeyError(name)


@dataclass(frozen=True)
class OAuthAuthorizationTemplate:
    """Defaults for the Authorize form: the app's OAuth endpoints and scope, where the vendor publishes them."""

    authorization_url: str | None = None
    token_url: str | None = None
    scope: str = ""


@dataclass(frozen=True)
class AppTemplate:
    id: str
    display_name: str
    publisher: str
    description: str
    homepage: str
    logo: str
    categories: tuple[str, ...]
    supported_provisioning_types: tuple[str, ...]
    credentials: tuple[str, ...]
    default_tenant_url: str | None
    app_roles: tuple[AppRoleTemplate, ...]
    legacy_entra_compatibility: bool
    source: str
    object_mappings: tuple[ObjectMappingTemplate, ...]
    entra_auth_method: str | None = None
    notes: str = ""
    not_supported: str = ""
    """Why provisioning can't be turned On for this app yet (empty: it can)."""
    compatibility: tuple[tuple[str, str], ...] = ()
    """Compatibility switches the app needs (``provisioning.connectors.scim.compat``), as pairs."""
    oauth_authorization: OAuthAuthorizationTemplate | None = None

    @property
    def supports_authorize(self) -> bool:
        """The app signs in with Entra's Authorize button (OAuth authorization code)."""
        return "oauthAuthorizationCode" in self.credentials

    def object_mapping(self, mapping_id: str) -> ObjectMappingTemplate:
        for mapping in self.object_mappings:
            if mapping.id == mapping_id:
                return mapping
        raise KeyError(mapping_id)

    @property
    def compatibility_switches(self) -> dict[str, str]:
        """The switches a new job starts with: ``legacyEntraCompatibility`` as the old switch set, then
        the template's own ``compatibility`` (only the switches that differ from the default)."""
        from provisioning.connectors.scim.compat import LEGACY, Compatibility

        base = LEGACY.to_dict() if self.legacy_entra_compatibility else {}
        return Compatibility.from_dict({**base, **dict(self.compatibility)}).changed()

    @property
    def supports_provisioning(self) -> bool:
        return "sync" in self.supported_provisioning_types


# ---------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------


def load_templates(
    folder: str | Path | None = None, *, static_dir: str | Path | None = None
) -> list[AppTemplate]:
    """All templates in ``folder`` (default: the shipped gallery), sorted by display name.

    The shipped gallery is loaded once and cached; an explicit folder is read every time.
    Raises ``TemplateError`` on the first invalid file.
    """
    if folder is None and static_dir is None:
        return list(_default_gallery())
    return list(_load_folder(Path(folder or TEMPLATES_DIR), Path(static_dir or STATIC_DIR)))


def get_template(
    template_id: str, folder: str | Path | None = None, *, static_dir: str | Path | None = None
) -> AppTemplate:
    """The template with this id; ``KeyError`` when there is none."""
    for template in load_templates(folder, static_dir=static_dir):
        if template.id == template_id:
            return template
    raise KeyError(template_id)


def search_templates(
    query: str, folder: str | Path | None = None, *, static_dir: str | Path | None = None
) -> list[AppTemplate]:
    """Templates whose display name, publisher or a category contains ``query`` (case-insensitive).

    A blank query returns the whole gallery. Results keep the display-name order.
    """
    needle = query.strip().casefold()
    templates = load_templates(folder, static_dir=static_dir)
    if not needle:
        return templates
    return [
        t
        for t in templates
        if needle in t.display_name.casefold()
        or needle in t.publisher.casefold()
        or any(needle in category.casefold() for category in t.categories)
    ]


@cache
def _default_gallery() -> tuple[AppTemplate, ...]:
    return _load_folder(TEMPLATES_DIR, STATIC_DIR)


def _load_folder(folder: Path, static_dir: Path) -> tuple[AppTemplate, ...]:
    if not folder.is_dir():
        raise TemplateError(folder, "(folder)", "template folder does not exist")
    templates: list[AppTemplate] = []
    seen: dict[str, Path] = {}
    for path in sorted(folder.glob("*.json")):
        template = _load_file(path, static_dir)
        if template.id in seen:
            raise TemplateError(path, "id", f"duplicate id, already used by {seen[template.id].name}")
        seen[template.id] = path
        templates.append(template)
    templates.sort(key=lambda t: (t.display_name.casefold(), t.id))
    return tuple(templates)


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


class _Checker:
    """Small helpers that raise ``TemplateError`` for one file."""

    def __init__(self, path: Path):
        self.path = path

    def fail(self, field: str, reason: str) -> TemplateError:
        return TemplateError(self.path, field, reason)

    def obj(self, value: Any, field: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(field, "must be an object")
        return value

    def keys(self, data: dict[str, Any], field: str, required: tuple[str, ...], optional=()) -> None:
        prefix = f"{field}." if field else ""
        for key in required:
            if key not in data:
                raise self.fail(f"{prefix}{key}", "required key is missing")
        unknown = sorted(set(data) - set(required) - set(optional))
        if unknown:
            raise self.fail(f"{prefix}{unknown[0]}", "unknown key")

    def text(self, value: Any, field: str, *, allow_none: bool = False) -> str | None:
        if value is None and allow_none:
            return None
        if not isinstance(value, str) or not value.strip():
            raise self.fail(field, "must be a non-empty string")
        return value

    def url(self, value: Any, field: str, *, allow_none: bool = False) -> str | None:
        text = self.text(value, field, allow_none=allow_none)
        if text is not None and not text.startswith("https://"):
            raise self.fail(field, "must be an https:// URL")
        return text

    def boolean(self, value: Any, field: str) -> bool:
        if not isinstance(value, bool):
            raise self.fail(field, "must be true or false")
        return value

    def items(self, value: Any, field: str, *, allow_empty: bool = True) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(field, "must be a list")
        if not value and not allow_empty:
            raise self.fail(field, "must not be empty")
        return value

    def objects(
        self, value: Any, field: str, required: tuple[str, ...], known: frozenset[str] | set[str]
    ) -> Iterator[tuple[str, dict[str, Any]]]:
        """Each object of a non-empty list, its keys checked (``required``, others from ``known``), with
        its path ``field[i]``."""
        for i, item in enumerate(self.items(value, field, allow_empty=False)):
            path = f"{field}[{i}]"
            entry = self.obj(item, path)
            self.keys(entry, path, required, tuple(known - set(required)))
            yield path, entry

    def choices(self, value: Any, field: str, allowed, *, allow_empty: bool = True) -> tuple[str, ...]:
        values = self.items(value, field, allow_empty=allow_empty)
        for i, item in enumerate(values):
            if item not in allowed:
                raise self.fail(f"{field}[{i}]", f"unknown value {item!r}; expected one of {sorted(allowed)}")
        if len(set(values)) != len(values):
            raise self.fail(field, "contains duplicates")
        return tuple(values)


def _load_file(path: Path, static_dir: Path) -> AppTemplate:
    check = _Checker(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise check.fail("(file)", f"invalid JSON: {exc}") from exc
    data = check.obj(data, "(file)")
    check.keys(data, "", _TOP_REQUIRED, _TOP_OPTIONAL)

    template_id = check.text(data["id"], "id")
    if not TEMPLATE_ID.match(template_id):
        raise check.fail("id", "must be lowercase letters, digits and single hyphens")
    if template_id != path.stem:
        raise check.fail("id", f"must match the file name ({path.stem!r})")

    logo = check.text(data["logo"], "logo")
    logo_path = Path(logo)
    if logo_path.is_absolute() or ".." in logo_path.parts:
        raise check.fail("logo", "must be a path relative to the static folder")
    if not (static_dir / logo_path).is_file():
        raise check.fail("logo", f"file not found under {static_dir}")

    categories = check.items(data["categories"], "categories", allow_empty=False)
    for i, category in enumerate(categories):
        check.text(category, f"categories[{i}]")

    entra_auth = data.get("entraAuthMethod")
    if entra_auth is not None and entra_auth not in ENTRA_AUTH_METHODS:
        raise check.fail("entraAuthMethod", f"unknown value {entra_auth!r}")
    notes = data.get("notes", "")
    if not isinstance(notes, str):
        raise check.fail("notes", "must be a string")
    not_supported = data.get("notSupported", "")
    if not isinstance(not_supported, str):
        raise check.fail("notSupported", "must be a string saying why the app can't be provisioned yet")
    compatibility = data.get("compatibility", {})
    try:
        from provisioning.connectors.scim.compat import Compatibility

        Compatibility.from_dict(compatibility)
    except (TypeError, ValueError) as error:
        raise check.fail("compatibility", str(error)) from None

    credentials = check.choices(data["credentials"], "credentials", CREDENTIAL_KINDS, allow_empty=False)
    oauth_authorization = None
    if "oauthAuthorization" in data:
        if "oauthAuthorizationCode" not in credentials:
            raise check.fail("oauthAuthorization", "needs oauthAuthorizationCode in credentials")
        block = check.obj(data["oauthAuthorization"], "oauthAuthorization")
        check.keys(block, "oauthAuthorization", (), _OAUTH_AUTHORIZATION_KEYS)
        scope = block.get("scope", "")
        if not isinstance(scope, str):
            raise check.fail("oauthAuthorization.scope", "must be a string")
        oauth_authorization = OAuthAuthorizationTemplate(
            authorization_url=check.url(
                block.get("authorizationUrl"), "oauthAuthorization.authorizationUrl", allow_none=True
            ),
            token_url=check.url(block.get("tokenUrl"), "oauthAuthorization.tokenUrl", allow_none=True),
            scope=scope,
        )

    mappings_data = check.items(data["objectMappings"], "objectMappings", allow_empty=False)
    object_mappings = tuple(
        _object_mapping(check, item, f"objectMappings[{i}]") for i, item in enumerate(mappings_data)
    )
    ids = [m.id for m in object_mappings]
    if len(set(ids)) != len(ids):
        raise check.fail("objectMappings", "object mapping ids must be unique")

    return AppTemplate(
        id=template_id,
        display_name=check.text(data["displayName"], "displayName"),
        publisher=check.text(data["publisher"], "publisher"),
        description=check.text(data["description"], "description"),
        homepage=check.url(data["homepage"], "homepage"),
        logo=logo,
        categories=tuple(categories),
        supported_provisioning_types=check.choices(
            data["supportedProvisioningTypes"], "supportedProvisioningTypes", PROVISIONING_TYPES
        ),
        credentials=credentials,
        default_tenant_url=check.url(data.get("defaultTenantUrl"), "defaultTenantUrl", allow_none=True),
        app_roles=_app_roles(check, data["appRoles"]),
        legacy_entra_compatibility=check.boolean(
            data["legacyEntraCompatibility"], "legacyEntraCompatibility"
        ),
        source=check.url(data["source"], "source"),
        object_mappings=object_mappings,
        entra_auth_method=entra_auth,
        notes=notes,
        oauth_authorization=oauth_authorization,
        not_supported=not_supported.strip(),
        compatibility=tuple(sorted(compatibility.items())),
    )


def _app_roles(check: _Checker, value: Any) -> tuple[AppRoleTemplate, ...]:
    roles = []
    for i, item in enumerate(check.items(value, "appRoles")):
        field = f"appRoles[{i}]"
        role = check.obj(item, field)
        check.keys(role, field, _ROLE_KEYS)
        value_ = check.text(role["value"], f"{field}.value")
        display = check.text(role["displayName"], f"{field}.displayName")
        if value_.casefold() in RESERVED_ROLE_NAMES or display.casefold() in RESERVED_ROLE_NAMES:
            raise check.fail(field, "Default Access is added by the portal; don't list it")
        roles.append(
            AppRoleTemplate(value_, display, check.text(role["description"], f"{field}.description"))
        )
    if len({r.value for r in roles}) != len(roles):
        raise check.fail("appRoles", "role values must be unique")
    return tuple(roles)


def _object_mapping(check: _Checker, item: Any, field: str) -> ObjectMappingTemplate:
    data = check.obj(item, field)
    check.keys(data, field, _OBJECT_REQUIRED)
    source_object = data["sourceObject"]
    if source_object not in SOURCE_OBJECTS:
        raise check.fail(f"{field}.sourceObject", f"unknown value {source_object!r}")

    targets = _target_attributes(check, data["targetAttributes"], f"{field}.targetAttributes")
    by_name = {t["name"]: t for t in targets}
    mappings = _attribute_mappings(
        check, data["attributeMappings"], f"{field}.attributeMappings", source_object, by_name
    )

    precedences = [m["matchingPrecedence"] for m in mappings if "matchingPrecedence" in m]
    if precedences.count(1) != 1:
        raise check.fail(
            f"{field}.attributeMappings", "exactly one attribute mapping must have matchingPrecedence 1"
        )
    if len(set(precedences)) != len(precedences):
        raise check.fail(f"{field}.attributeMappings", "matching precedences must be unique")

    mapped = {m["target"] for m in mappings}
    for i, target in enumerate(targets):
        if target.get("required") and target["name"] not in mapped:
            raise check.fail(
                f"{field}.targetAttributes[{i}]", f"required attribute {target['name']!r} is not mapped"
            )

    for i, item_ in enumerate(check.items(data["scopingFilters"], f"{field}.scopingFilters")):
        check.obj(item_, f"{field}.scopingFilters[{i}]")

    return ObjectMappingTemplate(
        id=check.text(data["id"], f"{field}.id"),
        name=check.text(data["name"], f"{field}.name"),
        enabled=check.boolean(data["enabled"], f"{field}.enabled"),
        source_object=source_object,
        target_object=check.text(data["targetObject"], f"{field}.targetObject"),
        actions=check.choices(data["actions"], f"{field}.actions", OBJECT_ACTIONS),
        scoping_filters=tuple(data["scopingFilters"]),
        attribute_mappings=tuple(mappings),
        target_attributes=tuple(targets),
    )


def _target_attributes(check: _Checker, value: Any, field: str) -> list[dict[str, Any]]:
    targets = []
    seen: set[str] = set()
    for f, attribute in check.objects(value, field, ("name", "type"), _TARGET_KEYS):
        name = check.text(attribute["name"], f"{f}.name")
        if name in seen:
            raise check.fail(f"{f}.name", f"duplicate target attribute {name!r}")
        seen.add(name)
        if attribute["type"] not in ATTRIBUTE_TYPES:
            raise check.fail(
                f"{f}.type", f"unknown type {attribute['type']!r}; expected one of {sorted(ATTRIBUTE_TYPES)}"
            )
        for flag in ("multiValued", "required", "filterable", "caseExact"):
            if flag in attribute:
                check.boolean(attribute[flag], f"{f}.{flag}")
        targets.append(
            {
                "name": name,
                "type": attribute["type"],
                "multiValued": attribute.get("multiValued", False),
                "required": attribute.get("required", False),
                "filterable": attribute.get("filterable", False),
                "caseExact": attribute.get("caseExact", False),
            }
        )
    return targets


def _attribute_mappings(
    check: _Checker, value: Any, field: str, source_object: str, targets: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    mappings = []
    seen: set[str] = set()
    for f, mapping in check.objects(value, field, ("target", "type"), _MAPPING_KEYS):
        target = check.text(mapping["target"], f"{f}.target")
        if target not in targets:
            raise check.fail(f"{f}.target", f"{target!r} is not in targetAttributes")
        if target in seen:
            raise check.fail(f"{f}.target", f"{target!r} is mapped twice")
        seen.add(target)

        kind = mapping["type"]
        if kind not in MAPPING_TYPES:
            raise check.fail(
                f"{f}.type", f"unknown mapping type {kind!r}; expected one of {sorted(MAPPING_TYPES)}"
            )
        if kind == "Direct":
            _check_source(check, mapping.get("source"), f"{f}.source", source_object)
        elif mapping.get("source") is not None:
            raise check.fail(f"{f}.source", f"only Direct mappings have a source (type is {kind})")
        if kind == "Constant":
            if not isinstance(mapping.get("constant"), str):
                raise check.fail(f"{f}.constant", "a Constant mapping needs a string constant")
        elif "constant" in mapping:
            raise check.fail(f"{f}.constant", f"only Constant mappings have a constant (type is {kind})")
        if kind == "Expression":
            _check_expression(check, mapping.get("expression"), f"{f}.expression", source_object)
        elif "expression" in mapping:
            raise check.fail(
                f"{f}.expression", f"only Expression mappings have an expression (type is {kind})"
            )
        if "defaultValue" in mapping and not isinstance(mapping["defaultValue"], str):
            raise check.fail(f"{f}.defaultValue", "must be a string")

        apply = mapping.get("apply", "Always")
        if apply not in APPLY_VALUES:
            raise check.fail(f"{f}.apply", f"unknown value {apply!r}; expected one of {sorted(APPLY_VALUES)}")
        precedence = mapping.get("matchingPrecedence")
        if precedence is not None:
            if isinstance(precedence, bool) or not isinstance(precedence, int) or precedence < 1:
                raise check.fail(f"{f}.matchingPrecedence", "must be a positive integer")
            if not targets[target]["filterable"]:
                raise check.fail(
                    f"{f}.matchingPrecedence", f"matching attribute {target!r} must be filterable"
                )

        normalised = {"target": target, "type": kind, "apply": apply}
        for key in ("source", "constant", "expression", "defaultValue", "matchingPrecedence"):
            if mapping.get(key) is not None:
                normalised[key] = mapping[key]
        mappings.append(normalised)
    return mappings


def _known_source(name: str, source_object: str) -> bool:
    return name in SOURCE_ATTRIBUTES[source_object] or bool(DIRECTORY_EXTENSION.match(name))


def _check_source(check: _Checker, source: Any, field: str, source_object: str) -> None:
    check.text(source, field)
    if not _known_source(source, source_object):
        raise check.fail(field, f"unknown {source_object} source attribute {source!r}")


def _check_expression(check: _Checker, expression: Any, field: str, source_object: str) -> None:
    check.text(expression, field)
    code = _STRING_LITERAL.sub('""', expression)  # brackets and parentheses inside "..." don't count
    if code.count("(") != code.count(")"):
        raise check.fail(field, "unbalanced parentheses")
    for name in _ATTRIBUTE_REFERENCE.findall(code):
        if not _known_source(name, source_object):
            raise check.fail(field, f"unknown {source_object} source attribute [{name}]")
