"""Edit attribute list for {App}: the target attribute list ("schema editor") of an object mapping.

Names are checked with the connector's own grammar (``parse_target_name``); a save locks the object
mapping row and refuses a change that would leave a mapping without its target attribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from provisioning.forms.mappings import (
    INCOMPLETE,
    STALE,
    TargetName,
    blocking_errors,
    fingerprint,
    lock_mapping,
    parse_target_name,
    posted_count,
    record_mapping_change,
    row_label,
    to_target_attribute,
)
from provisioning.mappings.evaluation import ATTRIBUTE_TYPES, TargetAttribute
from provisioning.models import ObjectMapping


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
        for i in range(posted_count(data.get("attr_count"), self.MAX_ROWS)):
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
        attribute = to_target_attribute(data)
        return TargetRow(
            attribute.name,
            attribute.type,
            attribute.multi_valued,
            attribute.required,
            attribute.filterable,
            existing=existing,
        )

    def apply(self, action: str) -> None:
        """The Add attribute row button (``add_row``): one more empty row, nothing saved."""
        if action == "add_row" and len(self.rows) < self.MAX_ROWS:
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
                row.errors.append(_("Type must be one of %(value)s.") % {"value": ", ".join(ATTRIBUTE_TYPES)})
            parsed: TargetName | None = None
            try:
                parsed = parse_target_name(row.name)
            except ValueError as error:
                if not row.existing:  # stored gallery names are kept as they are
                    row.errors.append(str(error))
            restricted = row.multi_valued or row.type == "Reference" or (parsed and parsed.complex)
            if parsed and parsed.custom_extension and restricted:
                row.errors.append(
                    _("Custom extension attributes can't be reference, multi-valued or complex attributes.")
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
            om = lock_mapping(self.object_mapping)
            if self.version and self.version != fingerprint(om.target_attributes, om.attribute_mappings):
                self.errors.append(STALE)
                return False
            old = list(om.target_attributes or [])
            rows = list(om.attribute_mappings or [])
            problems = blocking_errors(
                (rows, [to_target_attribute(a) for a in old]), (rows, [to_target_attribute(a) for a in new])
            )
            if problems:
                self.errors.extend(
                    p.message
                    if p.index is None
                    else _("Mapping for '%(row_label)s': %(message)s")
                    % {"row_label": row_label(rows, p.index), "message": p.message}
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
            record_mapping_change(
                self.object_mapping, actor, changes or [(f"{om.key}.targetAttributes", old, new)]
            )
        return True
