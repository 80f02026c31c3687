"""Per-app compatibility switches: the known SCIM target quirks, one switch each.

Entra exposes its target quirks as separate flags (``aadOptscim062020`` and its parts). One "legacy" box
that flips them all hurts: a target that needs the value-list form of a member removal would also get
string booleans it rejects. Each switch here changes one thing on the wire; the defaults are RFC 7644
and Entra's current (``aadOptscim062020``) behaviour.

=====================  ==========================================  =========================================
switch (API name)      default                                     alternative
=====================  ==========================================  =========================================
``memberRemoval``      ``pathFilter``:                             ``valueList``:
                       ``remove members[value eq "id"]``            ``remove members`` + ``[{"value": id}]``
``patchOpCase``        ``lower``: ``add``/``replace``/``remove``   ``capitalized``: ``Add``/``Replace``/...
``booleanForm``        ``json``: ``true``/``false``                ``string``: ``"True"``/``"False"``
``replaceForm``        ``withoutPath``: one path-less ``replace``   ``perPath``: one ``replace`` per path
                       for the plain attributes
``matchingOperators``  ``eq``: one ``attr eq "v"`` query per        ``eqOr``: several values per query,
                       object (what Entra sends)                    joined with ``or`` (fewer requests)
=====================  ==========================================  =========================================

The old single ``legacy`` box equals :data:`LEGACY` (``valueList``, ``capitalized``, ``string``,
``perPath``, ``eq``). Plain Python.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["LEGACY", "SWITCHES", "Compatibility", "Switch"]


@dataclass(frozen=True)
class Switch:
    """One switch: its API name, its choices (the first is the default) and what each one sends."""

    field: str
    name: str
    label: str
    choices: tuple[tuple[str, str], ...]

    @property
    def default(self) -> str:
        return self.choices[0][0]


SWITCHES: tuple[Switch, ...] = (
    Switch(
        "member_removal",
        "memberRemoval",
        "Group member removal",
        (
            ("pathFilter", 'remove with a path filter: members[value eq "id"] (RFC 7644)'),
            ("valueList", 'remove "members" with a value list [{"value": id}] (Entra before 2020)'),
        ),
    ),
    Switch(
        "patch_op_case",
        "patchOpCase",
        "PATCH operation names",
        (
            ("lower", "lower case: add, replace, remove (RFC 7644)"),
            ("capitalized", "capitalized: Add, Replace, Remove (Entra before 2020)"),
        ),
    ),
    Switch(
        "boolean_form",
        "booleanForm",
        "Boolean values",
        (
            ("json", "JSON booleans: true, false (RFC 7643)"),
            ("string", 'strings: "True", "False" (Entra before 2020)'),
        ),
    ),
    Switch(
        "replace_form",
        "replaceForm",
        "Replace of several attributes",
        (
            (
                "withoutPath",
                "one replace without a path for the plain attributes (Entra with aadOptscim062020)",
            ),
            ("perPath", "one replace per attribute path"),
        ),
    ),
    Switch(
        "matching_operators",
        "matchingOperators",
        "Filter operators used for matching",
        (
            ("eq", 'eq only: one userName eq "…" query per object (what Entra sends)'),
            ("eqOr", 'eq and or: several values per query, userName eq "a" or userName eq "b"'),
        ),
    ),
)
_BY_NAME = {s.name.lower(): s for s in SWITCHES} | {s.field: s for s in SWITCHES}


@dataclass(frozen=True)
class Compatibility:
    member_removal: str = "pathFilter"
    patch_op_case: str = "lower"
    boolean_form: str = "json"
    replace_form: str = "withoutPath"
    matching_operators: str = "eq"

    def __post_init__(self) -> None:
        for switch in SWITCHES:
            value = getattr(self, switch.field)
            allowed = [c for c, _ in switch.choices]
            if value not in allowed:
                raise ValueError(f"{switch.name} must be one of {', '.join(allowed)}, not {value!r}")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> Compatibility:
        """From stored or API JSON (``{"memberRemoval": "valueList"}``; missing switches keep their default).

        Raises ``ValueError`` naming the unknown switch or the allowed values.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ValueError('compatibility is an object such as {"memberRemoval": "valueList"}')
        values: dict[str, str] = {}
        for key, value in data.items():
            switch = _BY_NAME.get(str(key).lower()) or _BY_NAME.get(str(key))
            if switch is None:
                names = ", ".join(s.name for s in SWITCHES)
                raise ValueError(f"'{key}' is not a compatibility switch; the switches are {names}")
            allowed = {c.lower(): c for c, _ in switch.choices}
            if not isinstance(value, str) or value.lower() not in allowed:
                raise ValueError(f"{switch.name} must be one of {', '.join(allowed.values())}, not {value!r}")
            values[switch.field] = allowed[value.lower()]
        return cls(**values)

    def to_dict(self) -> dict[str, str]:
        return {s.name: getattr(self, s.field) for s in SWITCHES}

    def changed(self) -> dict[str, str]:
        """Only the switches that differ from the default (what a report or a template lists)."""
        return {s.name: getattr(self, s.field) for s in SWITCHES if getattr(self, s.field) != s.default}

    @property
    def value_list_removal(self) -> bool:
        return self.member_removal == "valueList"

    @property
    def capitalized_ops(self) -> bool:
        return self.patch_op_case == "capitalized"

    @property
    def string_booleans(self) -> bool:
        return self.boolean_form == "string"

    @property
    def bundle_replace(self) -> bool:
        return self.replace_form == "withoutPath"

    @property
    def or_matching(self) -> bool:
        return self.matching_operators == "eqOr"

    @property
    def byte_exact(self) -> bool:
        """Some switch asks for a form scim2-models would normalise, so PATCH bodies go unvalidated."""
        return self.value_list_removal or self.capitalized_ops or self.string_booleans


LEGACY = Compatibility(
    member_removal="valueList",
    patch_op_case="capitalized",
    boolean_form="string",
    replace_form="perPath",
    matching_operators="eq",
)
"""The old single "legacy Entra compatibility" box, switch by switch (used by the data migration)."""
