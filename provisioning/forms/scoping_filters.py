"""The Source Object Scope editor: scoping filters (ORed), each a title and clauses (ANDed).

Validation is ``provisioning.mappings.scoping``'s; a save locks the object mapping row, refuses a stale
form and records an audit entry, as every Mappings form does (``provisioning.forms.mappings``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext_lazy as _

from provisioning.forms.mappings import (
    INCOMPLETE,
    SCOPING_UNSUPPORTED,
    STALE,
    fingerprint,
    lock_mapping,
    posted_count,
    record_mapping_change,
    resolve_source_attribute,
)
from provisioning.mappings.scoping import (
    OPERATORS,
    UNARY_OPERATORS,
    ScopingClause,
    canonical_operator,
    filters_from_dicts,
    validate_clause,
)
from provisioning.models import ObjectMapping


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
        for i in range(posted_count(data.get("filter_count"), self.MAX_FILTERS)):
            clauses = [
                ClauseRow(
                    attribute=str(data.get(f"f{i}-c{j}-attribute", "")).strip(),
                    operator=str(data.get(f"f{i}-c{j}-operator", "EQUALS")),
                    value=str(data.get(f"f{i}-c{j}-value", "")),
                )
                for j in range(posted_count(data.get(f"f{i}-clause_count"), self.MAX_CLAUSES))
            ]
            filters.append(FilterRow(title=str(data.get(f"f{i}-title", "")).strip(), clauses=clauses))
        return filters

    def apply(self, action: str) -> None:
        """An add or remove button: change the rows shown, save nothing."""
        verb, *args = action.split(":")
        numbers = [posted_count(a, 10_000) for a in args]
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
                row.errors.append(
                    _("Add at least one clause to filter %(position)s, or remove the filter.")
                    % {"position": position}
                )
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
            om = lock_mapping(self.object_mapping)
            if self.version and self.version != fingerprint(om.scoping_filters):
                self.errors.append(STALE)
                return False
            old = om.scoping_filters or []
            if [f.to_dict() for f in filters_from_dicts(old)] == new:
                return True
            om.scoping_filters = new
            om.save(update_fields=["scoping_filters"])
            record_mapping_change(self.object_mapping, actor, [(f"{om.key}.scopingFilters", old, new)])
        return True
