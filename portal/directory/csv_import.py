"""CSV import of users and of group memberships: plan (validate, preview), then apply all-or-nothing.

A plan is computed from the stored file twice: once for the preview, and again right before writing, so
what is written is checked against the directory as it is at that moment. Planning runs in chunks of
``CHUNK`` rows (one lookup query per chunk) and reports progress; applying is a single transaction.

The file is streamed everywhere: the upload is decoded and stored in parts, and planning and writing
read it again part by part, a chunk of rows at a time. What a plan keeps for the whole file is a small
record per row (``RowRef``: row number, manager, existing user) for the checks that span rows
(duplicates, managers, reporting loops), not the rows themselves. Between chunks the running import
looks at its status, so an admin's Cancel stops it; a cancelled import writes nothing.
"""

import codecs
import csv
import io
import logging
import sys
import uuid
from collections import ChainMap
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from portal.directory import services
from portal.directory.attributes import EXTENSION_ATTRIBUTE_NAMES, EXTENSION_ATTRIBUTES, USER_ATTRIBUTES
from portal.directory.changes import Change, record_changes
from portal.directory.forms import (
    EXTENSION_ATTRIBUTE_MAX,
    clean_usage_location,
    parse_phone_list,
    validate_upn,
)
from portal.directory.models import (
    ChangeKind,
    DirectoryGroup,
    DirectoryImport,
    DirectoryImportPart,
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
PART_CHARS = 1 << 20  # characters per stored part of an uploaded file
READ_BYTES = 1 << 16  # bytes decoded at a time
Progress = Callable[[int], None]
Source = str | Iterable[str]  # the file's text, or its lines


class ImportCancelled(Exception):
    """The admin cancelled the import while it ran."""


# Entra attribute name (the CSV header) → model field: the directory's one table.
USER_COLUMNS: dict[str, str] = {**USER_ATTRIBUTES, **EXTENSION_ATTRIBUTES}
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


class ErrorLog:
    """A plan's row errors: every one counted (and its row remembered), the first ``MAX_STORED_ERRORS`` kept."""

    def __init__(self) -> None:
        self.kept: list[RowError] = []
        self.count = 0
        self.rows: set[int] = set()

    def append(self, error: RowError) -> None:
        self.count += 1
        self.rows.add(error.row)
        if len(self.kept) < MAX_STORED_ERRORS:
            self.kept.append(error)

    def __bool__(self) -> bool:
        return self.count > 0

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[RowError]:
        return iter(self.kept)

    def sort(self) -> None:
        self.kept.sort(key=lambda e: (e.row, e.column))


@dataclass(slots=True)
class RowRef:
    """What a plan keeps of one valid row for the checks that span the file."""

    row: int
    manager: str | None  # as in UserRow (interned: many rows share a manager)
    existing_pk: int | None
    changed: bool


@dataclass
class UserImportPlan:
    total_rows: int = 0
    refs: dict[str, RowRef] = field(default_factory=dict)  # lower UPN → its row
    to_create: int = 0
    to_update: int = 0
    unchanged: int = 0
    errors: ErrorLog = field(default_factory=ErrorLog)
    manager_ids: dict[str, int] = field(default_factory=dict)  # existing managers: lower UPN → pk
    create_sample: list[dict[str, Any]] = field(default_factory=list)
    update_sample: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "to_create": self.to_create,
            "to_update": self.to_update,
            "unchanged": self.unchanged,
            "create_sample": self.create_sample[:SAMPLE_ROWS],
            "update_sample": self.update_sample[:SAMPLE_ROWS],
        }


@dataclass
class MembershipImportPlan:
    total_rows: int = 0
    adds: list[tuple[int, int, int, uuid.UUID]] = field(default_factory=list)  # row, group, user pk, id
    groups: dict[int, DirectoryGroup] = field(default_factory=dict)
    unchanged: int = 0
    errors: ErrorLog = field(default_factory=ErrorLog)
    add_sample: list[dict[str, Any]] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"to_add": len(self.adds), "unchanged": self.unchanged, "add_sample": self.add_sample}


Plan = TypeVar("Plan", UserImportPlan, MembershipImportPlan)


def _shown(value: Any) -> str:
    """A value as the preview shows it (phones joined, booleans as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list | tuple):
        return "; ".join(str(v) for v in value)
    return "" if value is None else str(value)


def _lines(pieces: Iterable[str]) -> Iterator[str]:
    """Lines (with their ``\n``) of text that arrives in pieces; only ``\n`` ends a line, as for a file."""
    carry = ""
    for piece in pieces:
        parts = (carry + piece).split("\n")
        carry = parts.pop()
        for part in parts:
            yield part + "\n"
    if carry:
        yield carry


def _reader(source: Source) -> tuple[list[str], Iterator[tuple[int, list[str]]]]:
    """Header and an iterator of (row number, cells) over the non-blank data rows."""
    reader = csv.reader(io.StringIO(source) if isinstance(source, str) else iter(source))
    header = [h.strip() for h in next(reader, [])]
    rows = ((reader.line_num, cells) for cells in reader if any(c.strip() for c in cells))
    return header, rows


def _chunks(rows: Iterator[tuple[int, list[str]]]) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for item in rows:
        chunk.append(item)
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def count_rows(source: Source) -> int:
    """Data rows in a CSV file (blank lines excluded), to choose between an inline and a background run."""
    try:
        return sum(1 for _ in _reader(source)[1])
    except csv.Error:
        return 0


# --- storing an upload ----------------------------------------------------------------------------------


def decoded(chunks: Iterable[bytes]) -> Iterator[str]:
    """UTF-8 text (a BOM from Excel is dropped) of a byte stream; ``UnicodeDecodeError.start`` is
    the offset in the whole stream."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    offset = 0
    for chunk in chunks:
        for start in range(0, len(chunk), READ_BYTES):  # a small upload comes as one chunk
            piece = chunk[start : start + READ_BYTES]
            try:
                text = decoder.decode(piece)
            except UnicodeDecodeError as exc:
                exc.start += offset
                raise
            offset += len(piece)
            if text:
                yield text
    tail = decoder.decode(b"", final=True)
    if tail:
        yield tail


def store_upload(imp: DirectoryImport, chunks: Iterable[bytes]) -> None:
    """Save a (checked) upload's text in parts and count its rows, in one pass over the bytes."""
    pending: list[str] = []
    size = 0
    seq = 0

    def flush() -> None:
        nonlocal pending, size, seq
        if pending:
            DirectoryImportPart.objects.create(directory_import=imp, seq=seq, text="".join(pending))
            seq, pending, size = seq + 1, [], 0

    def pieces() -> Iterator[str]:
        nonlocal size
        for text in decoded(chunks):
            pending.append(text)
            size += len(text)
            if size >= PART_CHARS:
                flush()
            yield text

    imp.total_rows = count_rows(_lines(pieces()))
    flush()
    imp.save(update_fields=["total_rows"])


def stored_lines(imp: DirectoryImport) -> Iterator[str]:
    """The stored file's lines, reading one part at a time."""
    part_ids = list(imp.parts.order_by("seq").values_list("pk", flat=True))
    if not part_ids:
        return _lines([imp.content])
    texts = (DirectoryImportPart.objects.values_list("text", flat=True).get(pk=pk) for pk in part_ids)
    return _lines(texts)


# --- users ----------------------------------------------------------------------------------------------


def _user_header(header: list[str], errors: ErrorLog) -> list[str | None]:
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


def _planned(
    plan: Plan,
    fill: Callable[[Plan, Source, Progress | None], None],
    source: Source,
    progress: Progress | None,
) -> Plan:
    """``plan`` as ``fill`` plans it from ``source``; a file that is not CSV at all is one error, on row 0."""
    try:
        fill(plan, source, progress)
    except csv.Error as exc:
        plan.errors.append(RowError(0, "", f"The file is not valid CSV: {exc}"))
    return plan


def plan_user_import(source: Source, progress: Progress | None = None) -> UserImportPlan:
    """Everything a users CSV would do, and every row-level error, without writing anything."""
    return _planned(UserImportPlan(), _plan_users, source, progress)


def _plan_users(plan: UserImportPlan, source: Source, progress: Progress | None) -> None:
    header, rows = _reader(source)
    columns = _user_header(header, plan.errors)
    if plan.errors:
        plan.total_rows = sum(1 for _ in rows)
        return
    refs = plan.refs
    samples: list[UserRow] = []  # candidates for the preview's samples, a bounded few
    for chunk_rows in _chunks(rows):
        plan.total_rows += len(chunk_rows)
        chunk: list[UserRow] = []
        for number, cells in chunk_rows:
            row = _parse_user_row(number, cells, columns, plan.errors)
            if row is None:
                continue
            key = row.upn.lower()
            if key in refs:
                plan.errors.append(
                    RowError(number, "userPrincipalName", f"{row.upn} is also on row {refs[key].row}.")
                )
                continue
            manager = sys.intern(row.manager) if row.manager else row.manager
            refs[key] = RowRef(row.row, manager, None, False)
            chunk.append(row)
        _compare_with_directory(chunk, plan.errors)
        for row in chunk:
            ref = refs[row.upn.lower()]
            ref.existing_pk, ref.changed = row.existing_pk, bool(row.changed)
            if len(samples) < 4 * SAMPLE_ROWS and (row.existing_pk is None or row.changed):
                samples.append(row)
        if progress:
            progress(plan.total_rows)
    failed = plan.errors.rows
    in_file = {key for key, ref in refs.items() if ref.row not in failed}
    _resolve_managers(refs, in_file, plan)
    _check_manager_cycles(refs, plan)
    bad_rows = plan.errors.rows
    for ref in refs.values():
        if ref.row in bad_rows:
            continue
        if ref.existing_pk is None:
            plan.to_create += 1
        elif ref.changed:
            plan.to_update += 1
        else:
            plan.unchanged += 1
    for row in samples:
        if row.row in bad_rows:
            continue
        if row.existing_pk is None:
            entry = {"row": row.row, "upn": row.upn, "display_name": row.values.get("display_name", "")}
            plan.create_sample.append(entry)
        else:
            plan.update_sample.append(
                {
                    "row": row.row,
                    "upn": row.upn,
                    "changes": row.changed,
                    "diff": [{"column": c, "old": _shown(o), "new": _shown(n)} for c, o, n in row.diff],
                }
            )
    plan.errors.sort()


def _parse_user_row(
    number: int, cells: list[str], columns: list[str | None], errors: ErrorLog
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


def _compare_with_directory(chunk: list[UserRow], errors: ErrorLog) -> None:
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


def _resolve_managers(refs: dict[str, RowRef], in_file: set[str], plan: UserImportPlan) -> None:
    failed_rows = {key: ref.row for key, ref in refs.items() if key not in in_file}
    wanted = sorted({ref.manager for ref in refs.values() if ref.manager} - in_file)
    found: dict[str, tuple[int, bool]] = {}
    for start in range(0, len(wanted), CHUNK):
        for pk, upn, deleted_at in (
            DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
            .filter(_upn__in=wanted[start : start + CHUNK])
            .values_list("pk", "_upn", "deleted_at")
        ):
            found[upn] = (pk, deleted_at is not None)
    for key, ref in refs.items():
        manager = ref.manager
        if not manager:
            continue
        if manager == key:
            plan.errors.append(RowError(ref.row, "manager", "A user cannot be their own manager."))
        elif manager in in_file:
            existing = refs[manager].existing_pk
            if existing:  # an existing user the file also updates
                plan.manager_ids[manager] = existing
        elif manager not in found and manager in failed_rows:
            message = f"The row for {manager} (row {failed_rows[manager]}) has errors."
            plan.errors.append(RowError(ref.row, "manager", message))
        elif manager not in found:
            plan.errors.append(
                RowError(ref.row, "manager", f"No user {manager} in the directory or in this file.")
            )
        elif found[manager][1]:
            plan.errors.append(RowError(ref.row, "manager", f"{manager} is in the recycle bin."))
        else:
            plan.manager_ids[manager] = found[manager][0]


def _check_manager_cycles(refs: dict[str, RowRef], plan: UserImportPlan) -> None:
    """Reject rows whose new manager would make the reporting lines loop.

    The directory itself has no cycle, so a loop must pass through a row of this file. Managers outside
    the file are read level by level (one query per level of the chain above the file's users).
    """
    new_manager = {key: ref.manager for key, ref in refs.items() if ref.manager is not None}
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
                if member in refs:
                    plan.errors.append(
                        RowError(refs[member].row, "manager", f"Reporting lines would loop: {shown}.")
                    )
        for visited in path:
            state[visited] = 2


def apply_user_import(
    plan: UserImportPlan, source: Source, progress: Progress | None = None
) -> dict[str, int]:
    """Write a checked plan in one transaction, reading the file again a chunk at a time.

    Users are created and updated chunk by chunk; a manager who is a new user of this file may come
    later in it, so those links are set once every user exists. Changes are recorded in bulk per chunk.
    """
    created = updated = done = 0
    later: list[tuple[str, str]] = []  # (user, new manager in this file), both lower-case UPNs
    with transaction.atomic():
        header, rows = _reader(source)
        columns = _user_header(header, ErrorLog())
        for chunk_rows in _chunks(rows):
            errors = ErrorLog()
            chunk = [
                r for number, cells in chunk_rows if (r := _parse_user_row(number, cells, columns, errors))
            ]
            _compare_with_directory(chunk, errors)
            if errors:
                raise services.DirectoryError(
                    f"Row {next(iter(errors)).row} no longer matches the checked file."
                )
            new_users = {
                row.upn.lower(): DirectoryUser(
                    **row.values, extension_attributes={k: v for k, v in row.extensions.items() if v}
                )
                for row in chunk
                if row.existing_pk is None
            }
            manager_pk = ChainMap(_new_managers_written(chunk, plan.manager_ids, new_users), plan.manager_ids)
            for row in chunk:
                manager = row.manager or ""
                if manager in new_users:  # a new user of this chunk: linked when inserted
                    if row.existing_pk is None:
                        new_users[row.upn.lower()].manager = new_users[manager]
                    else:
                        later.append((row.upn.lower(), manager))
                elif manager and manager not in manager_pk:  # a new user further down the file
                    later.append((row.upn.lower(), manager))
                elif row.existing_pk is None:
                    new_users[row.upn.lower()].manager_id = manager_pk.get(manager)
            changes = [
                (row, _changed_values(row, manager_pk.get(row.manager or "")))
                for row in chunk
                if row.existing_pk and row.changed
            ]
            services.bulk_create_users(list(new_users.values()))
            services.update_users_in_bulk([(row.existing_pk, values) for row, values in changes if values])
            record_changes(
                Change(ObjectKind.USER, row.existing_object_id, ChangeKind.UPDATED) for row, _ in changes
            )
            created, updated, done = created + len(new_users), updated + len(changes), done + len(chunk_rows)
            if progress:
                progress(done)
        _link_new_managers(later)
    return {"created": created, "updated": updated, "unchanged": plan.unchanged}


def _new_managers_written(
    chunk: list[UserRow], known: dict[str, int], new_users: dict[str, DirectoryUser]
) -> dict[str, int]:
    """Primary keys of the managers that are new users of an earlier chunk (written already)."""
    wanted = {r.manager for r in chunk if r.manager and r.manager not in known and r.manager not in new_users}
    if not wanted:
        return {}
    return dict(
        DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
        .filter(_upn__in=wanted)
        .values_list("_upn", "pk")
    )


def _link_new_managers(pairs: list[tuple[str, str]]) -> None:
    """Set the managers that are new users of the file, now that every user has its primary key."""
    for start in range(0, len(pairs), CHUNK):
        batch = pairs[start : start + CHUNK]
        pk_of = dict(
            DirectoryUser.objects.annotate(_upn=Lower("user_principal_name"))
            .filter(_upn__in={u for pair in batch for u in pair})
            .values_list("_upn", "pk")
        )
        services.update_users_in_bulk([(pk_of[user], {"manager": pk_of[manager]}) for user, manager in batch])


def _changed_values(row: UserRow, manager_pk: int | None) -> dict[str, Any]:
    """The model fields an update row changes, with their new values (a manager new in the file: later)."""
    changed = set(row.changed)
    values = {name: value for name, value in row.values.items() if COLUMN_OF[name] in changed}
    if changed & set(row.extensions):
        merged = {**row.current_extensions, **row.extensions}
        values["extension_attributes"] = {k: v for k, v in merged.items() if v}
    if "manager" in changed and (not row.manager or manager_pk is not None):
        values["manager"] = manager_pk if row.manager else None
    return values


# --- memberships ----------------------------------------------------------------------------------------


def plan_membership_import(source: Source, progress: Progress | None = None) -> MembershipImportPlan:
    """Memberships a CSV (groupDisplayName, memberUserPrincipalName) would add, and every row-level error."""
    return _planned(MembershipImportPlan(), _plan_memberships, source, progress)


def _plan_memberships(plan: MembershipImportPlan, source: Source, progress: Progress | None) -> None:
    header, rows = _reader(source)
    lowered = [h.lower() for h in header]
    for column in MEMBERSHIP_COLUMNS:
        if column.lower() not in lowered:
            plan.errors.append(RowError(1, column, f"The file needs a {column} column."))
    for raw in header:
        if raw.lower() not in {c.lower() for c in MEMBERSHIP_COLUMNS}:
            plan.errors.append(RowError(1, raw or "(blank)", "Unknown column."))
    if plan.errors:
        plan.total_rows = sum(1 for _ in rows)
        return
    group_col, user_col = (lowered.index(c.lower()) for c in MEMBERSHIP_COLUMNS)

    groups_by_name: dict[str, list[DirectoryGroup]] = {}
    for group in DirectoryGroup.objects.only("pk", "object_id", "display_name", "deleted_at"):
        groups_by_name.setdefault(group.display_name.casefold(), []).append(group)
    seen: set[tuple[int, int]] = set()
    for chunk in _chunks(rows):
        plan.total_rows += len(chunk)
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
                plan.groups[group.pk] = group
                plan.adds.append((number, group.pk, user.pk, user.object_id))
                if len(plan.add_sample) < SAMPLE_ROWS:
                    entry = {"row": number, "group": group.display_name, "member": user.user_principal_name}
                    plan.add_sample.append(entry)
        if progress:
            progress(plan.total_rows)
    plan.errors.sort()


def _one_group(
    number: int, name: str, groups_by_name: dict[str, list[DirectoryGroup]], errors: ErrorLog
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
    number: int, upn: str, users: dict[str, DirectoryUser], errors: ErrorLog
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


def apply_membership_import(plan: MembershipImportPlan, progress: Progress | None = None) -> dict[str, int]:
    added = 0
    with transaction.atomic():
        for start in range(0, len(plan.adds), CHUNK):
            batch = plan.adds[start : start + CHUNK]
            added += services.add_memberships_in_bulk(
                [(plan.groups[g], DirectoryUser(pk=pk, object_id=oid)) for _, g, pk, oid in batch]
            )
            if progress:
                progress(batch[-1][0])
    return {"added": added, "unchanged": plan.unchanged}


# --- running an import: preview, then apply; inline for small files, in a worker for large ones ------


def async_threshold() -> int:
    return int(settings.DIRECTORY_IMPORT_ASYNC_ROWS)


def _plan(imp: DirectoryImport, progress: Progress) -> UserImportPlan | MembershipImportPlan:
    if imp.kind == ImportKind.USERS:
        return plan_user_import(stored_lines(imp), progress)
    return plan_membership_import(stored_lines(imp), progress)


def _status(imp: DirectoryImport) -> str | None:
    return DirectoryImport.objects.filter(pk=imp.pk).values_list("status", flat=True).first()


def _progress_writer(imp: DirectoryImport, expected: str) -> Progress:
    """Record rows done, and stop (``ImportCancelled``) once the import is no longer ``expected``."""

    def report(done: int) -> None:
        if not DirectoryImport.objects.filter(pk=imp.pk, status=expected).update(processed_rows=done):
            raise ImportCancelled

    return report


def _cancel_check(imp: DirectoryImport) -> Progress:
    """While writing (inside the transaction), only look: updating the row would lock it until commit,
    and Cancel could not get through."""

    def check(done: int) -> None:
        if _status(imp) != ImportStatus.APPLYING:
            raise ImportCancelled

    return check


def _store_errors(imp: DirectoryImport, errors: ErrorLog) -> None:
    imp.errors = [[e.row, e.column, e.message] for e in errors]
    imp.summary = {**imp.summary, "error_count": len(errors)}


def create_import(
    kind: str, file_name: str, chunks: Iterable[bytes], created_by: Any = None
) -> DirectoryImport:
    """A new import of an uploaded (already checked) file, stored part by part."""
    with transaction.atomic():
        imp = DirectoryImport.objects.create(kind=kind, file_name=file_name, created_by=created_by)
        store_upload(imp, chunks)
    return imp


def start_preview(imp: DirectoryImport) -> None:
    """Validate a new upload: inline when small, else in a worker that the page polls."""
    if imp.total_rows > async_threshold():
        from portal.directory.tasks import preview_directory_import

        transaction.on_commit(lambda: preview_directory_import.delay(str(imp.pk)))
    else:
        run_preview(imp)


def run_preview(imp: DirectoryImport) -> None:
    if imp.status != ImportStatus.VALIDATING:
        return  # cancelled before it started, or a redelivered task
    try:
        plan = _plan(imp, _progress_writer(imp, ImportStatus.VALIDATING))
    except ImportCancelled:
        return
    except Exception:
        logger.exception("Validating import %s failed", imp.pk)
        _failed(
            imp, ImportStatus.VALIDATING, "Validation stopped on an unexpected error; nothing was written."
        )
        return
    imp.summary = plan.summary()
    _store_errors(imp, plan.errors)
    status = ImportStatus.INVALID if plan.errors else ImportStatus.READY
    _finish(imp, status, ImportStatus.VALIDATING, total=plan.total_rows)


def cancel_import(imp: DirectoryImport) -> bool:
    """Ask a running import to stop; False when it is not running (any more)."""
    cancelled = DirectoryImport.objects.filter(
        pk=imp.pk, status__in=[ImportStatus.VALIDATING, ImportStatus.APPLYING]
    ).update(
        status=ImportStatus.CANCELLED,
        message="Cancelled; nothing was written.",
        finished_at=timezone.now(),
    )
    return bool(cancelled)


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
        return  # already done or cancelled: a redelivered task does nothing
    try:
        plan = _plan(imp, _progress_writer(imp, ImportStatus.APPLYING))
        if plan.errors:
            imp.summary = plan.summary()
            _store_errors(imp, plan.errors)
            _finish(
                imp,
                ImportStatus.INVALID,
                ImportStatus.APPLYING,
                message="The directory changed since the preview; nothing was written.",
            )
            return
        DirectoryImport.objects.filter(pk=imp.pk, status=ImportStatus.APPLYING).update(
            message="Writing changes…"
        )
        if isinstance(plan, UserImportPlan):
            plan.refs = {}  # checked; writing needs only the managers' keys
        with transaction.atomic():
            if isinstance(plan, UserImportPlan):
                result = apply_user_import(plan, stored_lines(imp), _cancel_check(imp))
            else:
                result = apply_membership_import(plan, _cancel_check(imp))
            imp.summary = {**plan.summary(), "result": result}
            if not _finish(imp, ImportStatus.DONE, ImportStatus.APPLYING, total=plan.total_rows):
                raise ImportCancelled  # cancelled after the last check: roll everything back
        if sum(v for k, v in result.items() if k != "unchanged") >= STATISTICS_AFTER_ROWS:
            services.refresh_statistics()
    except ImportCancelled:
        logger.info("Import %s was cancelled; nothing was written", imp.pk)
    except IntegrityError:
        logger.warning("Import %s conflicted with a concurrent change", imp.pk, exc_info=True)
        _failed(
            imp,
            ImportStatus.APPLYING,
            "The directory changed while importing; nothing was written. Try again.",
        )
    except Exception:
        logger.exception("Import %s failed", imp.pk)
        _failed(imp, ImportStatus.APPLYING, "The import stopped on an unexpected error; nothing was written.")


def _failed(imp: DirectoryImport, expected: str, message: str) -> None:
    """The import stopped while ``expected`` (validating or applying); ``message`` says why."""
    _finish(imp, ImportStatus.FAILED, expected, message=message)


def _finish(
    imp: DirectoryImport, status: str, expected: str, *, message: str = "", total: int | None = None
) -> bool:
    """Record the outcome, unless the import left ``expected`` meanwhile (cancelled): then False."""
    values: dict[str, Any] = {
        "status": status,
        "message": message,
        "finished_at": timezone.now(),
        "summary": imp.summary,
        "errors": imp.errors,
    }
    if total is not None:
        values["total_rows"] = values["processed_rows"] = total
    if not DirectoryImport.objects.filter(pk=imp.pk, status=expected).update(**values):
        return False
    for name, value in values.items():
        setattr(imp, name, value)
    return True
