"""CSV import of users and of group memberships: plan (validate, preview), then apply all-or-nothing.

A plan is computed from the stored file twice: once for the preview, and again right before writing, so
what is written is checked against the directory as it is at that moment. Planning runs in chunks of
``CHUNK`` rows (one lookup query per chunk) and reports progress; applying is a single transaction.
"""

import csv
import io
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal.directory import services
from portal.directory.changes import Change, record_changes
from portal.directory.forms import (
    EXTENSION_ATTRIBUTE_MAX,
    clean_usage_location,
    parse_phone_list,
    validate_upn,
)
from portal.directory.models import (
    EXTENSION_ATTRIBUTE_NAMES,
    ChangeKind,
    DirectoryGroup,
    DirectoryImport,
    DirectoryUser,
    GroupMembership,
    ImportKind,
    ImportStatus,
    ObjectKind,
)

logger = logging.getLogger(__name__)

CHUNK = 1000
MAX_STORED_ERRORS = 10_000
SAMPLE_ROWS = 200
STATISTICS_AFTER_ROWS = 1000  # an import this large refreshes the planner's statistics
Progress = Callable[[int], None]

# Entra attribute name (the CSV header) → model field.
USER_COLUMNS: dict[str, str] = {
    "userPrincipalName": "user_principal_name",
    "displayName": "display_name",
    "givenName": "given_name",
    "surname": "surname",
    "mail": "mail",
    "mailNickname": "mail_nickname",
    "accountEnabled": "account_enabled",
    "jobTitle": "job_title",
    "department": "department",
    "companyName": "company_name",
    "employeeId": "employee_id",
    "employeeType": "employee_type",
    "manager": "manager",
    "officeLocation": "office_location",
    "streetAddress": "street_address",
    "city": "city",
    "state": "state",
    "postalCode": "postal_code",
    "country": "country",
    "usageLocation": "usage_location",
    "preferredLanguage": "preferred_language",
    "mobilePhone": "mobile_phone",
    "businessPhones": "business_phones",
    "faxNumber": "fax_number",
    **{name: name for name in EXTENSION_ATTRIBUTE_NAMES},
}
COLUMN_OF = {field: column for column, field in USER_COLUMNS.items()}
MEMBERSHIP_COLUMNS = ["groupDisplayName", "memberUserPrincipalName"]
# An empty cell leaves the attribute as it is; this marker (any case) clears it. Documented on the
# upload page. Why a marker: an empty cell that cleared data wiped departments and managers (and
# near-real-time provisioning pushed that to every app) whenever a file carried only a few values.
CLEAR_MARKER = "<clear>"
_NOT_CLEARABLE = {"userPrincipalName", "displayName", "accountEnabled"}
_TRUE = {"true", "yes", "1", "enabled"}
_FALSE = {"false", "no", "0", "disabled"}


@dataclass(frozen=True)
class RowError:
    """A problem with one cell: ``row`` counts the header as row 1, as a spreadsheet shows it."""

    row: int
    column: str
    message: str


@dataclass
class UserRow:
    row: int
    upn: str
    values: dict[str, Any] = field(default_factory=dict)  # model field → new value (manager excluded)
    extensions: dict[str, str] = field(default_factory=dict)  # extension attributes present in the file
    manager: str | None = None  # lower-case UPN of the manager, "" for "no manager", None when not given
    existing_pk: int | None = None
    existing_object_id: uuid.UUID | None = None
    current_extensions: dict[str, str] = field(default_factory=dict)
    changed: list[str] = field(default_factory=list)  # column names that differ from the directory
    diff: list[tuple[str, Any, Any]] = field(default_factory=list)  # (column, old, new) of an update


@dataclass
class UserImportPlan:
    total_rows: int = 0
    creates: list[UserRow] = field(default_factory=list)
    updates: list[UserRow] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)
    manager_ids: dict[str, int] = field(default_factory=dict)  # existing managers: lower UPN → pk

    def summary(self) -> dict[str, Any]:
        return {
            "to_create": len(self.creates),
            "to_update": len(self.updates),
            "unchanged": self.unchanged,
            "create_sample": [
                {"row": r.row, "upn": r.upn, "display_name": r.values.get("display_name", "")}
                for r in self.creates[:SAMPLE_ROWS]
            ],
            "update_sample": [
                {
                    "row": r.row,
                    "upn": r.upn,
                    "changes": r.changed,
                    "diff": [{"column": c, "old": _shown(o), "new": _shown(n)} for c, o, n in r.diff],
                }
                for r in self.updates[:SAMPLE_ROWS]
            ],
        }


@dataclass
class MembershipImportPlan:
    total_rows: int = 0
    adds: list[tuple[int, DirectoryGroup, DirectoryUser]] = field(default_factory=list)
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "to_add": len(self.adds),
            "unchanged": self.unchanged,
            "add_sample": [
                {"row": row, "group": g.display_name, "member": u.user_principal_name}
                for row, g, u in self.adds[:SAMPLE_ROWS]
            ],
        }


def _shown(value: Any) -> str:
    """A value as the preview shows it (phones joined, booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _read(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """Header and (row number, cells) of every non-blank data row."""
    reader = csv.reader(io.StringIO(text))
    header = [h.strip() for h in next(reader, [])]
    rows = [(reader.line_num, cells) for cells in reader if any(c.strip() for c in cells)]
    return header, rows


def count_rows(text: str) -> int:
    """Data rows in a CSV file (blank lines excluded), to choose between an inline and a background run."""
    try:
        return len(_read(text)[1])
    except csv.Error:
        return 0


# --- users ----------------------------------------------------------------------------------------------


def _user_header(header: list[str], errors: list[RowError]) -> list[str | None]:
    """Canonical column names (case-insensitive match), recording unknown, duplicate and missing ones."""
    by_lower = {name.lower(): name for name in USER_COLUMNS}
    columns: list[str | None] = []
    seen: set[str] = set()
    for raw in header:
        name = by_lower.get(raw.lower())
        if name is None:
            errors.append(
                RowError(
                    1, raw or "(blank)", "Unknown column. Use Entra attribute names such as displayName."
                )
            )
        elif name in seen:
            errors.append(RowError(1, name, "This column appears twice."))
        else:
            seen.add(name)
        columns.append(name)
    if "userPrincipalName" not in seen:
        errors.append(RowError(1, "userPrincipalName", "The file needs a userPrincipalName column."))
    return columns


def _max_length(model_field: str) -> int | None:
    return DirectoryUser._meta.get_field(model_field).max_length


def _parse_user_cell(column: str, raw: str, row: UserRow) -> None:
    """Validate one cell into ``row``; raises ValidationError with a message for the admin."""
    value = raw.strip()
    target = USER_COLUMNS[column]
    if column != "userPrincipalName":
        if not value:
            return  # an empty cell means "no change" (a new user simply does not get the attribute)
        if value.lower() == CLEAR_MARKER:
            if column in _NOT_CLEARABLE:
                raise ValidationError(f"{column} cannot be cleared.")
            value = ""
    if column == "userPrincipalName":
        row.upn = validate_upn(value)
        row.values["user_principal_name"] = row.upn
    elif column == "manager":
        row.manager = validate_upn(value).lower() if value else ""
    elif column == "accountEnabled":
        if value.lower() in _TRUE:
            row.values[target] = True
        elif value.lower() in _FALSE:
            row.values[target] = False
        elif value:
            raise ValidationError("Use true or false.")
    elif column == "businessPhones":
        row.values[target] = parse_phone_list(value, ";")
    elif column in EXTENSION_ATTRIBUTE_NAMES:
        if len(value) > EXTENSION_ATTRIBUTE_MAX:
            raise ValidationError(f"At most {EXTENSION_ATTRIBUTE_MAX} characters.")
        row.extensions[column] = value
    else:
        if column == "usageLocation":
            value = clean_usage_location(value)
        limit = _max_length(target)
        if limit and len(value) > limit:
            raise ValidationError(f"At most {limit} characters (this has {len(value)}).")
        if column == "mail" and value:
            validate_email(value)
        row.values[target] = value


def plan_user_import(text: str, progress: Progress | None = None) -> UserImportPlan:
    """Everything a users CSV would do, and every row-level error, without writing anything."""
    plan = UserImportPlan()
    try:
        header, rows = _read(text)
    except csv.Error as exc:
        plan.errors.append(RowError(0, "", f"The file is not valid CSV: {exc}"))
        return plan
    plan.total_rows = len(rows)
    columns = _user_header(header, plan.errors)
    if plan.errors:
        return plan
    parsed: list[UserRow] = []
    first_row_of: dict[str, int] = {}
    for start in range(0, len(rows), CHUNK):
        chunk: list[UserRow] = []
        for number, cells in rows[start : start + CHUNK]:
            row = _parse_user_row(number, cells, columns, plan.errors)
            if row is None:
                continue
            key = row.upn.lower()
            if key in first_row_of:
                plan.errors.append(
                    RowError(number, "userPrincipalName", f"{row.upn} is also on row {first_row_of[key]}.")
                )
                continue
            first_row_of[key] = number
            chunk.append(row)
        _compare_with_directory(chunk, plan.errors)
        parsed.extend(chunk)
        if progress:
            progress(min(start + CHUNK, len(rows)))
    failed = {e.row for e in plan.errors}
    in_file = {r.upn.lower() for r in parsed if r.row not in failed}
    _resolve_managers(parsed, in_file, plan)
    _check_manager_cycles(parsed, plan)
    bad_rows = {e.row for e in plan.errors}
    for row in parsed:
        if row.row in bad_rows:
            continue
        if row.existing_pk is None:
            plan.creates.append(row)
        elif row.changed:
            plan.updates.append(row)
        else:
            plan.unchanged += 1
    plan.errors.sort(key=lambda e: (e.row, e.column))
    return plan


def _parse_user_row(
    number: int, cells: list[str], columns: list[str | None], errors: list[RowError]
) -> UserRow | None:
    if len(cells) != len(columns):
        errors.append(
            RowError(number, "", f"This row has {len(cells)} fields; the header has {len(columns)}.")
        )
        return None
    row = UserRow(row=number, upn="")
    failed = False
    for column, raw in zip(columns, cells, strict=True):
        try:
            _parse_user_cell(column, raw, row)
        except ValidationError as exc:
            errors.append(RowError(number, column, " ".join(exc.messages)))
            failed = failed or column == "userPrincipalName"
    return None if failed else row


def _compare_with_directory(chunk: list[UserRow], errors: list[RowError]) -> None:
    """Mark each row new or existing (one query for the chunk) and list the columns that would change."""
    if not chunk:
        return
    fields = sorted({f for r in chunk for f in r.values} | {"extension_attributes"})
    existing = {
        row["_upn"]: row
        for row in DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
        .filter(_upn__in=[r.upn.lower() for r in chunk])
        .values("pk", "object_id", "_upn", "deleted_at", "manager__user_principal_name", *fields)
    }
    for row in chunk:
        current = existing.get(row.upn.lower())
        if current is None:
            if "display_name" not in row.values:
                errors.append(RowError(row.row, "displayName", "A new user needs a display name."))
            continue
        if current["deleted_at"] is not None:
            errors.append(
                RowError(
                    row.row,
                    "userPrincipalName",
                    f"{row.upn} is in the recycle bin; restore it before updating.",
                )
            )
            continue
        row.existing_pk, row.existing_object_id = current["pk"], current["object_id"]
        row.diff = [(COLUMN_OF[f], current[f], v) for f, v in row.values.items() if current[f] != v]
        row.current_extensions = current["extension_attributes"] or {}
        row.diff += [
            (n, row.current_extensions.get(n, ""), v)
            for n, v in row.extensions.items()
            if row.current_extensions.get(n, "") != v
        ]
        current_manager = (current["manager__user_principal_name"] or "").lower()
        if row.manager is not None and row.manager != current_manager:
            row.diff.append(("manager", current_manager, row.manager))
        row.changed = [column for column, _old, _new in row.diff]


def _resolve_managers(rows: list[UserRow], in_file: set[str], plan: UserImportPlan) -> None:
    failed_rows = {r.upn.lower(): r.row for r in rows if r.upn.lower() not in in_file}
    existing_in_file = {
        r.upn.lower(): r.existing_pk for r in rows if r.existing_pk and r.upn.lower() in in_file
    }
    wanted = sorted({r.manager for r in rows if r.manager} - in_file)
    found: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(wanted), CHUNK):
        for pk, upn, deleted_at in (
            DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
            .filter(_upn__in=wanted[start : start + CHUNK])
            .values_list("pk", "_upn", "deleted_at")
        ):
            found[upn] = (pk, deleted_at is not None)
    for row in rows:
        if not row.manager:
            continue
        if row.manager == row.upn.lower():
            plan.errors.append(RowError(row.row, "manager", "A user cannot be their own manager."))
        elif row.manager in in_file:
            if row.manager in existing_in_file:  # an existing user the file also updates
                plan.manager_ids[row.manager] = existing_in_file[row.manager]
        elif row.manager not in found and row.manager in failed_rows:
            message = f"The row for {row.manager} (row {failed_rows[row.manager]}) has errors."
            plan.errors.append(RowError(row.row, "manager", message))
        elif row.manager not in found:
            plan.errors.append(
                RowError(row.row, "manager", f"No user {row.manager} in the directory or in this file.")
            )
        elif found[row.manager][1]:
            plan.errors.append(RowError(row.row, "manager", f"{row.manager} is in the recycle bin."))
        else:
            plan.manager_ids[row.manager] = found[row.manager][0]


def _check_manager_cycles(rows: list[UserRow], plan: UserImportPlan) -> None:
    """Reject rows whose new manager would make the reporting lines loop.

    The directory itself has no cycle, so a loop must pass through a row of this file. Managers outside
    the file are read level by level (one query per level of the chain above the file's users).
    """
    new_manager = {r.upn.lower(): r.manager for r in rows if r.manager is not None}
    if not any(new_manager.values()):
        return
    # Self-management is reported by _resolve_managers already: leave it out of the walk.
    chain_of: dict[str, str] = {k: v for k, v in new_manager.items() if v and v != k}
    frontier = {m for m in chain_of.values() if m not in new_manager}
    seen: set[str] = set()
    while frontier:
        seen |= frontier
        above: dict[str, str] = {}
        batch = sorted(frontier)
        for start in range(0, len(batch), CHUNK):
            above.update(
                DirectoryUser.objects.annotate(
                    _upn=Lower("user_principal_name"), _mgr=Lower("manager__user_principal_name")
                )
                .filter(_upn__in=batch[start : start + CHUNK], manager__isnull=False)
                .values_list("_upn", "_mgr")
            )
        chain_of.update(above)
        frontier = {m for m in above.values() if m not in new_manager and m not in seen}
    row_of = {r.upn.lower(): r for r in rows}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = known to end without a loop
    for start_upn in new_manager:
        path: list[str] = []
        node: str | None = start_upn
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = chain_of.get(node)
        if node is not None and state.get(node) == 1:  # walked into the current path: a loop
            loop = path[path.index(node) :]
            shown = " → ".join([*loop, node])
            for member in loop:
                if member in row_of:
                    plan.errors.append(
                        RowError(row_of[member].row, "manager", f"Reporting lines would loop: {shown}.")
                    )
        for visited in path:
            state[visited] = 2


def apply_user_import(plan: UserImportPlan) -> dict[str, int]:
    """Write a checked plan in one transaction; changes are recorded in bulk, once per batch."""
    with transaction.atomic():
        new_users: dict[str, DirectoryUser] = {}
        for row in plan.creates:
            user = DirectoryUser(
                **row.values, extension_attributes={k: v for k, v in row.extensions.items() if v}
            )
            new_users[row.upn.lower()] = user
        for row in plan.creates:
            if row.manager:
                user = new_users[row.upn.lower()]
                if row.manager in new_users:
                    user.manager = new_users[row.manager]
                else:
                    user.manager_id = plan.manager_ids[row.manager]
        services.bulk_create_users(list(new_users.values()))

        services.update_users_in_bulk(
            [(row.existing_pk, _changed_values(row, new_users, plan.manager_ids)) for row in plan.updates]
        )
        record_changes(
            Change(ObjectKind.USER, r.existing_object_id, ChangeKind.UPDATED) for r in plan.updates
        )
    return {"created": len(new_users), "updated": len(plan.updates), "unchanged": plan.unchanged}


def _changed_values(
    row: UserRow, new_users: dict[str, DirectoryUser], manager_ids: dict[str, int]
) -> dict[str, Any]:
    """The model fields an update row changes, with their new values."""
    changed = set(row.changed)
    values = {name: value for name, value in row.values.items() if COLUMN_OF[name] in changed}
    if changed & set(row.extensions):
        merged = {**row.current_extensions, **row.extensions}
        values["extension_attributes"] = {k: v for k, v in merged.items() if v}
    if "manager" in changed:
        target = new_users.get(row.manager or "")
        values["manager"] = None if not row.manager else target.pk if target else manager_ids[row.manager]
    return values


# --- memberships ----------------------------------------------------------------------------------------


def plan_membership_import(text: str, progress: Progress | None = None) -> MembershipImportPlan:
    """Memberships a CSV (groupDisplayName, memberUserPrincipalName) would add, and every row-level error."""
    plan = MembershipImportPlan()
    try:
        header, rows = _read(text)
    except csv.Error as exc:
        plan.errors.append(RowError(0, "", f"The file is not valid CSV: {exc}"))
        return plan
    plan.total_rows = len(rows)
    lowered = [h.lower() for h in header]
    for column in MEMBERSHIP_COLUMNS:
        if column.lower() not in lowered:
            plan.errors.append(RowError(1, column, f"The file needs a {column} column."))
    for raw in header:
        if raw.lower() not in {c.lower() for c in MEMBERSHIP_COLUMNS}:
            plan.errors.append(RowError(1, raw or "(blank)", "Unknown column."))
    if plan.errors:
        return plan
    group_col, user_col = (lowered.index(c.lower()) for c in MEMBERSHIP_COLUMNS)

    groups_by_name: dict[str, list[DirectoryGroup]] = {}
    for group in DirectoryGroup.objects.only("pk", "object_id", "display_name", "deleted_at"):
        groups_by_name.setdefault(group.display_name.casefold(), []).append(group)
    seen: set[tuple[int, int]] = set()
    for start in range(0, len(rows), CHUNK):
        chunk = rows[start : start + CHUNK]
        upns = {cells[user_col].strip().lower() for _, cells in chunk if len(cells) == len(header)}
        users = {
            u._upn: u
            for u in DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
            .filter(_upn__in=upns)
            .only("pk", "object_id", "user_principal_name", "deleted_at")
        }
        candidates: list[tuple[int, DirectoryGroup, DirectoryUser]] = []
        for number, cells in chunk:
            if len(cells) != len(header):
                plan.errors.append(
                    RowError(number, "", f"This row has {len(cells)} fields; the header has {len(header)}.")
                )
                continue
            group = _one_group(number, cells[group_col].strip(), groups_by_name, plan.errors)
            user = _one_member(number, cells[user_col].strip(), users, plan.errors)
            if group and user:
                candidates.append((number, group, user))
        existing = set(
            GroupMembership.objects.filter(
                group_id__in={g.pk for _, g, _ in candidates}, user_id__in={u.pk for _, _, u in candidates}
            ).values_list("group_id", "user_id")
        )
        for number, group, user in candidates:
            pair = (group.pk, user.pk)
            if pair in existing or pair in seen:
                plan.unchanged += 1
            else:
                seen.add(pair)
                plan.adds.append((number, group, user))
        if progress:
            progress(min(start + CHUNK, len(rows)))
    plan.errors.sort(key=lambda e: (e.row, e.column))
    return plan


def _one_group(
    number: int, name: str, groups_by_name: dict[str, list[DirectoryGroup]], errors: list[RowError]
) -> DirectoryGroup | None:
    matches = groups_by_name.get(name.casefold(), [])
    active = [g for g in matches if not g.is_deleted]
    if not name:
        errors.append(RowError(number, "groupDisplayName", "A group name is required."))
    elif len(active) == 1:
        return active[0]
    elif len(active) > 1:
        errors.append(
            RowError(number, "groupDisplayName", f"{len(active)} groups are named {name}; rename one first.")
        )
    elif matches:
        errors.append(RowError(number, "groupDisplayName", f"The group {name} is in the recycle bin."))
    else:
        errors.append(RowError(number, "groupDisplayName", f"No group is named {name}."))
    return None


def _one_member(
    number: int, upn: str, users: dict[str, DirectoryUser], errors: list[RowError]
) -> DirectoryUser | None:
    user = users.get(upn.lower())
    if not upn:
        errors.append(RowError(number, "memberUserPrincipalName", "A user principal name is required."))
    elif user is None:
        errors.append(RowError(number, "memberUserPrincipalName", f"No user {upn} in the directory."))
    elif user.is_deleted:
        errors.append(RowError(number, "memberUserPrincipalName", f"{upn} is in the recycle bin."))
    else:
        return user
    return None


def apply_membership_import(plan: MembershipImportPlan) -> dict[str, int]:
    added = services.add_memberships_in_bulk([(g, u) for _, g, u in plan.adds])
    return {"added": added, "unchanged": plan.unchanged}


# --- running an import: preview, then apply; inline for small files, in a worker for large ones ------


def async_threshold() -> int:
    return int(getattr(settings, "DIRECTORY_IMPORT_ASYNC_ROWS", 5000))


def _plan(imp: DirectoryImport, progress: Progress) -> UserImportPlan | MembershipImportPlan:
    if imp.kind == ImportKind.USERS:
        return plan_user_import(imp.content, progress)
    return plan_membership_import(imp.content, progress)


def _progress_writer(imp: DirectoryImport) -> Progress:
    def report(done: int) -> None:
        DirectoryImport.objects.filter(pk=imp.pk).update(processed_rows=done)

    return report


def _store_errors(imp: DirectoryImport, errors: list[RowError]) -> None:
    imp.errors = [[e.row, e.column, e.message] for e in errors[:MAX_STORED_ERRORS]]
    imp.summary = {**imp.summary, "error_count": len(errors)}


def start_preview(imp: DirectoryImport) -> None:
    """Validate a new upload: inline when small, else in a worker that the page polls."""
    if imp.total_rows > async_threshold():
        from portal.directory.tasks import preview_directory_import

        transaction.on_commit(lambda: preview_directory_import.delay(str(imp.pk)))
    else:
        run_preview(imp)


def run_preview(imp: DirectoryImport) -> None:
    try:
        plan = _plan(imp, _progress_writer(imp))
    except Exception:
        logger.exception("Validating import %s failed", imp.pk)
        _finish(
            imp,
            ImportStatus.FAILED,
            message="Validation stopped on an unexpected error; nothing was written.",
        )
        return
    imp.summary = plan.summary()
    _store_errors(imp, plan.errors)
    _finish(imp, ImportStatus.INVALID if plan.errors else ImportStatus.READY, total=plan.total_rows)


def start_apply(imp: DirectoryImport) -> bool:
    """Confirm a previewed import; False when it is not (or no longer) ready to import."""
    claimed = DirectoryImport.objects.filter(pk=imp.pk, status=ImportStatus.READY).update(
        status=ImportStatus.APPLYING, processed_rows=0, message=""
    )
    if not claimed:
        return False
    imp.refresh_from_db()
    if imp.total_rows > async_threshold():
        from portal.directory.tasks import apply_directory_import

        transaction.on_commit(lambda: apply_directory_import.delay(str(imp.pk)))
    else:
        run_apply(imp)
    return True


def run_apply(imp: DirectoryImport) -> None:
    """Re-check the file against the directory as it is now, then write everything or nothing."""
    if imp.status != ImportStatus.APPLYING:
        return  # already done: a redelivered task does nothing
    try:
        plan = _plan(imp, _progress_writer(imp))
        if plan.errors:
            imp.summary = plan.summary()
            _store_errors(imp, plan.errors)
            _finish(
                imp,
                ImportStatus.INVALID,
                message="The directory changed since the preview; nothing was written.",
            )
            return
        DirectoryImport.objects.filter(pk=imp.pk).update(message="Writing changes…")
        with transaction.atomic():
            if isinstance(plan, UserImportPlan):
                result = apply_user_import(plan)
            else:
                result = apply_membership_import(plan)
            imp.summary = {**plan.summary(), "result": result}
            _finish(imp, ImportStatus.DONE, total=plan.total_rows)
        if sum(v for k, v in result.items() if k != "unchanged") >= STATISTICS_AFTER_ROWS:
            services.refresh_statistics()
    except IntegrityError:
        logger.warning("Import %s conflicted with a concurrent change", imp.pk, exc_info=True)
        _finish(
            imp,
            ImportStatus.FAILED,
            message="The directory changed while importing; nothing was written. Try again.",
        )
    except Exception:
        logger.exception("Import %s failed", imp.pk)
        _finish(
            imp,
            ImportStatus.FAILED,
            message="The import stopped on an unexpected error; nothing was written.",
        )


def _finish(imp: DirectoryImport, status: str, *, message: str = "", total: int | None = None) -> None:
    imp.status = status
    imp.message = message
    imp.finished_at = timezone.now()
    if total is not None:
        imp.total_rows = total
        imp.processed_rows = total
    imp.save(
        update_fields=[
            "status",
            "message",
            "finished_at",
            "total_rows",
            "processed_rows",
            "summary",
            "errors",
        ]
    )
