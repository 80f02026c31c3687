"""Process a page of source objects: import → scope → match → map → diff → export.

Plain Python: it reads :class:`SourceObject`s and escrow records, speaks to a :class:`Target`, and
returns :class:`Outcome`s. Persisting them (logs, escrow, counters) is the caller's job. Disables and
deletes are only *staged* here (``Outcome.pending``) so a cycle can count them against the
accidental-deletion threshold before any is sent; :func:`deprovision` sends them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from provisioning.engine import bounded
from provisioning.engine.attribute_types import AttributeType, ValueTypeError, canonical, canonical_values
from provisioning.engine.config import EngineConfig, ObjectMappingConfig
from provisioning.engine.outcome import FORGET, Outcome
from provisioning.engine.source import EscrowRecord, SourceObject
from provisioning.engine.target_protocol import (
    REDACTED,
    ErrorCategory,
    Target,
    TargetError,
    TargetObject,
    is_secret_name,
    redact_secrets,
)
from provisioning.expressions import EvaluationContext, ExpressionError
from provisioning.mappings.evaluation import evaluate_all
from provisioning.mappings.scoping import ScopingError, in_scope
from provisioning.messages import Message, gettext_noop

BULK_BATCH = 50  # operations per SCIM Bulk request (the connector caps it at the target's maxOperations)
Resolver = Callable[[str, list[str]], dict[str, str]]  # (kind, source ids) -> target ids of active links


class StopCycle(Exception):
    """The target stopped working mid-page: it refuses our credentials, or it is unreachable.

    ``outcomes`` are the objects finished before the stop (save them: some were written), ``resume``
    the source ids (or deprovision items) that were not finished and must run again later: they are
    neither logged nor counted as failed. ``error.category`` tells a credentials failure (quarantine)
    from an outage (back off).
    """

    def __init__(self, error: TargetError, outcomes: list[Outcome] | None = None, resume: list | None = None):
        super().__init__(error.reason)
        self.error = error
        self.outcomes = outcomes or []
        self.resume = resume or []


class _Paused(Exception):
    """Raised instead of a target call once the breaker has tripped: nothing more is sent."""


# Failures that say the target itself is gone, not that it refused one object.
_OUTAGE_CODES = frozenset({"ConnectionFailed", "Timeout", "WebExceptionProtocolError"})


def is_outage(error: TargetError) -> bool:
    if error.category is ErrorCategory.UNAUTHORIZED:
        return True
    return error.code in _OUTAGE_CODES or (
        error.code == "InternalServerError" and error.http_status in (502, 503, 504)
    )


class _Breaker:
    """Counts consecutive outage failures; trips at the threshold, or at once on a 401/403 before any
    call succeeded (the credentials are wrong: every other request would be refused too)."""

    def __init__(self, threshold: int):
        self.threshold = max(1, threshold)
        self.consecutive = 0
        self.succeeded = False
        self.tripped: TargetError | None = None
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.tripped is not None:
            raise _Paused

    def success(self) -> None:
        with self._lock:
            self.consecutive, self.succeeded = 0, True

    def failure(self, error: TargetError) -> None:
        with self._lock:
            if not is_outage(error):
                self.consecutive = 0  # it answered: alive
                return
            self.consecutive += 1
            early_401 = error.category is ErrorCategory.UNAUTHORIZED and not self.succeeded
            if self.tripped is None and (early_401 or self.consecutive >= self.threshold):
                self.tripped = error


class _GuardedTarget:
    """The target seen through the breaker: each call first checks it, then reports how it went."""

    _GUARDED = frozenset(
        {"find", "find_many", "create", "bulk_create", "update", "add_members", "remove_members"}
        | {"delete", "set_active"}
    )

    def __init__(self, target: Target, breaker: _Breaker):
        self._target = target
        self._breaker = breaker

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name not in self._GUARDED:
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            self._breaker.check()
            try:
                result = attribute(*args, **kwargs)
            except TargetError as error:
                self._breaker.failure(error)
                raise
            self._breaker.success()
            return result

        return call


@dataclass
class _Work:
    obj: SourceObject
    outcome: Outcome
    entry: EscrowRecord | None
    values: dict[str, Any] = field(default_factory=dict)
    match: TargetObject | None = None
    started: float = 0.0
    members_to_add: list[str] = field(default_factory=list)  # of a group just created, sent after all creates


class PageProcessor:
    def __init__(self, config: EngineConfig, target: Target, resolve: Resolver, *, dry_run: bool = False):
        self.config = config
        self.breaker = _Breaker(config.failure_threshold)
        self.target = _GuardedTarget(target, self.breaker)
        self.resolve = resolve
        self.dry_run = dry_run
        self._types: dict[str, Callable[[str], AttributeType | None]] = {}

    def _type_map(self, kind: str, mapping: ObjectMappingConfig) -> Callable[[str], AttributeType | None]:
        """Path → type: the target's ``/Schemas`` where it declares the attribute, else the app's list.

        Looked up once per path for the page (a processor runs one page), not once per object.
        """
        if kind not in self._types:
            declared = getattr(self.target, "attribute_type", None)
            listed = mapping.attribute_types
            known: dict[str, AttributeType | None] = {}

            def lookup(path: str) -> AttributeType | None:
                if path not in known:
                    found = declared(kind, path) if declared is not None else None
                    known[path] = found or listed.get(path.lower())
                return known[path]

            self._types[kind] = lookup
        return self._types[kind]

    def _canonical_exported(self, kind: str, exported: dict[str, Any]) -> dict[str, Any]:
        """Escrow values in today's canonical form (entries stored before typing held strings)."""
        mapping = self.config.mapping_for(kind)
        if mapping is None:
            return exported
        types = self._type_map(kind, mapping)
        result = {}
        for path, value in exported.items():
            try:
                result[path] = canonical(path, value, types(path))
            except ValueTypeError:
                result[path] = value
        return result

    # -- the page -------------------------------------------------------------------------------

    def process(
        self, kind: str, objects: Iterable[SourceObject], escrow: dict[str, EscrowRecord]
    ) -> list[Outcome]:
        mapping = self.config.mapping_for(kind)
        if mapping is None:
            return []
        work = [self._import_and_scope(mapping, obj, escrow.get(obj.id)) for obj in objects]
        exporting = [w for w in work if w.outcome.status == "pending"]
        self._match(kind, mapping, [w for w in exporting if w.entry is None])
        # An object whose existence check failed is a failure of this cycle, never a create: the
        # target may hold it already (retried next cycle, matched again).
        exporting = [w for w in exporting if w.outcome.status == "pending"]
        self._resolve_references(kind, mapping, exporting)
        bulk = (
            [w for w in exporting if w.entry is None and w.match is None]
            if self._bulk_creates(mapping)
            else []
        )
        singles = [w for w in exporting if w.entry is not None or w.match is not None] if bulk else exporting
        batches = [bulk[i : i + BULK_BATCH] for i in range(0, len(bulk), BULK_BATCH)]
        self._parallel(
            [
                *(partial(self._export, kind, mapping, w) for w in singles),
                *(partial(self._bulk_export, kind, mapping, b) for b in batches),
            ]
        )
        # Members go in after every create of the page, one group per thread: a group's member PATCHes
        # are sequential, but groups created in one Bulk request need not wait for each other.
        self._parallel([partial(self._add_members_of_created, w) for w in exporting if w.members_to_add])
        redacted = {m.target for m in mapping.value_mappings if m.redacted}  # compiled once per page
        for w in work:
            self._redact(redacted, w)
        self._stop_if_tripped([(w.outcome, w.obj.id) for w in work])
        return [w.outcome for w in work]

    @staticmethod
    def _redact(redacted: set[str], w: _Work) -> None:
        """Logs never show a Redact()ed mapping's value or a password, in modified properties or bodies."""
        secret = redacted | {name for name in w.values if is_secret_name(name)}
        if not secret:
            return
        values = [str(w.values[name]) for name in secret if w.values.get(name) not in (None, "")]
        for prop in w.outcome.modified:
            if prop.get("name") in secret:
                prop["old"] = REDACTED if prop.get("old") not in (None, "") else prop.get("old")
                prop["new"] = REDACTED if prop.get("new") not in (None, "") else prop.get("new")
        for step in w.outcome.steps:
            request = step.details.get("request")
            if isinstance(request, dict) and "body" in request:
                step.details["request"] = {**request, "body": redact_secrets(request["body"], values)}

    def _stop_if_tripped(self, items: list[tuple[Outcome, Any]]) -> None:
        """After a trip: keep what finished, hand back what did not (and what failed on the outage)."""
        error = self.breaker.tripped
        if error is None:
            return
        done: list[Outcome] = []
        resume: list[Any] = []
        for outcome, key in items:
            unfinished = outcome.status == "pending" or (
                outcome.status == "failure" and outcome.error is not None and is_outage(outcome.error)
            )
            (resume if unfinished else done).append(key if unfinished else outcome)
        raise StopCycle(error, done, resume)

    def _import_and_scope(
        self, mapping: ObjectMappingConfig, obj: SourceObject, entry: EscrowRecord | None
    ) -> _Work:
        outcome = Outcome(kind=obj.kind, source_id=obj.id, source_name=obj.display_name)
        work = _Work(
            obj, outcome, entry if entry and entry.state != "deleted" else None, started=time.perf_counter()
        )
        if entry:
            outcome.target_id = entry.target_id
        if not obj.exists:
            outcome.step(
                "Import",
                "success",
                Message(
                    gettext_noop("The %(kind)s was permanently deleted in the directory."),
                    kind=obj.kind.lower(),
                ),
            )
            self._stage_deprovision(mapping, work, hard_delete=True, reason="permanently deleted")
            return work
        outcome.step(
            "Import",
            "success",
            Message(
                gettext_noop("Retrieved %(value)s from the directory."), value=obj.display_name or obj.id
            ),
        )
        try:
            reason = self._out_of_scope_reason(mapping, obj)
        except ScopingError as exc:  # e.g. a REGEX MATCH clause over its time budget: this object fails
            outcome.fail(
                TargetError(
                    "ScopingFilterEvaluationFailed",
                    ErrorCategory.REJECTED,
                    f"A scoping filter could not be evaluated: {exc}",
                    recommended_action=gettext_noop("Fix the scoping filter, then restart provisioning."),
                ),
                step="Scoping",
            )
            outcome.action = "Other"
            return work
        if reason:
            outcome.step(
                "Scoping",
                "skipped",
                Message(gettext_noop("Not in scope: %(reason)s."), reason=reason),
                reason=reason,
            )
            self._stage_deprovision(mapping, work, hard_delete=False, reason=reason)
            return work
        outcome.step(
            "Scoping",
            "success",
            Message(gettext_noop("In scope: assigned to the application and passes the scoping filters.")),
        )
        creating = work.entry is None
        try:
            context = EvaluationContext(source=obj.attributes, app_role_assignments=obj.app_role_assignments)
            values = evaluate_all(mapping.value_mappings, context, creating=creating)
            work.values = canonical_values(values, self._type_map(obj.kind, mapping))
        except ValueTypeError as exc:
            outcome.fail(
                TargetError(
                    "AttributeValueTypeMismatch",
                    ErrorCategory.REJECTED,
                    f"{exc} Nothing was sent.",
                    recommended_action=gettext_noop(
                        "Change the attribute mapping so that it yields a value of this type."
                    ),
                ),
                step="Processing",
            )
            outcome.action = "Other"
            return work
        except ExpressionError as exc:
            outcome.fail(
                TargetError(
                    "AttributeMappingEvaluationFailed",
                    ErrorCategory.REJECTED,
                    f"An attribute mapping could not be evaluated: {exc}",
                    recommended_action=gettext_noop(
                        "Fix the expression in the attribute mappings, then restart provisioning."
                    ),
                ),
                step="Processing",
            )
            outcome.action = "Other"
            return work
        outcome.status = "pending"
        return work

    def _out_of_scope_reason(self, mapping: ObjectMappingConfig, obj: SourceObject) -> str | None:
        if obj.soft_deleted:
            return "deleted in the directory (recycle bin)"
        if not obj.enabled:
            return "account disabled in the directory"
        if not obj.entitled:
            return "not assigned to the application with a role that is provisioned"
        if mapping.scoping_filters and not in_scope(mapping.scoping_filters, obj.attributes):
            return "does not pass the scoping filters"
        return None

    def _stage_deprovision(
        self, mapping: ObjectMappingConfig, work: _Work, *, hard_delete: bool, reason: str
    ) -> None:
        outcome, entry = work.outcome, work.entry
        if entry is None:
            outcome.step(
                "Processing",
                "skipped",
                Message(gettext_noop("Not provisioned by this app, so nothing to do.")),
            )
            return
        if hard_delete or work.obj.kind == "Group":
            if "Delete" not in mapping.actions:
                outcome.step(
                    "Processing",
                    "skipped",
                    Message(gettext_noop("The Delete target object action is off: the account is kept.")),
                )
                return
            outcome.pending = "Delete"
        else:
            if entry.state == "disabled":
                outcome.step(
                    "Processing", "skipped", Message(gettext_noop("Already disabled in the target."))
                )
                return
            skippable = reason.startswith(("not assigned", "does not pass"))
            if self.config.skip_out_of_scope_deletions and skippable:
                outcome.step(
                    "Processing",
                    "skipped",
                    Message(gettext_noop("Skip out of scope deletions is on: the account is kept.")),
                )
                return
            if "Update" not in mapping.actions and "Delete" not in mapping.actions:
                outcome.step(
                    "Processing",
                    "skipped",
                    Message(gettext_noop("Update and Delete target object actions are off.")),
                )
                return
            outcome.pending = "Disable"
        outcome.action = outcome.pending
        outcome.step(
            "Processing",
            "success",
            Message(
                gettext_noop("Staged: %(pending)s in the target (%(reason)s)."),
                pending=outcome.pending.lower(),
                reason=reason,
            ),
        )

    # -- matching -------------------------------------------------------------------------------

    def _match(self, kind: str, mapping: ObjectMappingConfig, unmatched: list[_Work]) -> None:
        for rule in mapping.matching:
            by_value: dict[str, list[_Work]] = {}
            for w in unmatched:
                value = w.values.get(rule.target)
                if w.match is None and w.outcome.status == "pending" and isinstance(value, str) and value:
                    by_value.setdefault(value, []).append(w)
            values = list(by_value)
            size = self.config.match_batch_size
            chunks = [values[i : i + size] for i in range(0, len(values), size)]
            self._parallel(
                [partial(self._match_chunk, kind, rule.target, chunk, by_value) for chunk in chunks]
            )
        for w in unmatched:
            if w.outcome.status == "pending" and w.match is None:
                w.outcome.step(
                    "Matching", "success", Message(gettext_noop("No matching object in the target."))
                )

    def _match_chunk(
        self, kind: str, attribute: str, chunk: list[str], by_value: dict[str, list[_Work]]
    ) -> None:
        try:
            found = self.target.find_many(kind, attribute, chunk)
        except TargetError as error:
            self._fail_all([w for v in chunk for w in by_value[v]], error, "Matching")
            return
        lowered = {k.casefold(): v for k, v in found.items()}
        for value in chunk:
            hit = found.get(value) or lowered.get(value.casefold())
            for w in by_value[value]:
                w.match = hit
                if hit:
                    w.outcome.step(
                        "Matching",
                        "success",
                        Message(
                            gettext_noop("Matched on %(attribute)s = %(value)s."),
                            attribute=attribute,
                            value=repr(value),
                        ),
                        target_id=hit.id,
                    )

    def _fail_all(self, works: list[_Work], error: TargetError, step: str) -> None:
        for w in works:
            w.outcome.fail(error, step)

    # -- references -----------------------------------------------------------------------------

    def _resolve_references(self, kind: str, mapping: ObjectMappingConfig, works: list[_Work]) -> None:
        manager_path = mapping.manager_target if kind == "User" else None
        if manager_path:
            wanted = [w.values[manager_path] for w in works if isinstance(w.values.get(manager_path), str)]
            targets = self.resolve("User", sorted(set(wanted))) if wanted else {}
            for w in works:
                manager = w.values.get(manager_path)
                if manager is None:
                    continue
                if manager in targets:
                    w.values[manager_path] = targets[manager]
                else:
                    del w.values[manager_path]  # exported once the manager exists (deferred pass)
                    w.outcome.deferred_reference = True
        if kind == "Group" and mapping.syncs_members:
            member_ids = sorted({m for w in works for m in w.obj.member_ids})
            targets = self.resolve("User", member_ids) if member_ids else {}
            for w in works:
                w.values["__members__"] = sorted({targets[m] for m in w.obj.member_ids if m in targets})
                missing = [m for m in w.obj.member_ids if m not in targets]
                if missing:
                    w.outcome.step(
                        "Processing",
                        "warning",
                        Message(
                            gettext_noop("%(count)s member(s) skipped: not provisioned to this app."),
                            count=len(missing),
                        ),
                        members=missing[:20],
                    )

    # -- export ---------------------------------------------------------------------------------

    def _parallel(self, calls: list[Callable[[], None]]) -> None:
        calls = [partial(_unless_paused, call) for call in calls]
        if self.config.concurrency <= 1 or len(calls) <= 1:
            for call in calls:
                call()
            return
        with ThreadPoolExecutor(max_workers=self.config.concurrency) as pool:
            for future in [pool.submit(call) for call in calls]:
                future.result()

    def _bulk_creates(self, mapping: ObjectMappingConfig) -> bool:
        """Creates go in SCIM Bulk requests when the target advertises Bulk (fewer round trips)."""
        if self.dry_run or "Create" not in mapping.actions:
            return False
        try:
            return (
                self.target.capabilities().bulk
                and getattr(self.target, "settings", None) is not None
                and self.target.settings.use_bulk
            )
        except TargetError:
            return False

    def _bulk_export(self, kind: str, mapping: ObjectMappingConfig, works: list[_Work]) -> None:
        try:
            results = self.target.bulk_create(kind, [self._desired(w)[0] for w in works])
        except TargetError as error:
            results = [error] * len(works)
        for w, result in zip(works, results, strict=True):
            try:
                if isinstance(result, TargetError):
                    self._create_failed(kind, mapping, w, result)
                else:
                    self._created(kind, w, result)
            except TargetError as error:
                w.outcome.fail(error)
                w.outcome.action = "Other" if w.outcome.action == "Skip" else w.outcome.action
            finally:
                w.outcome.duration_ms = int((time.perf_counter() - w.started) * 1000)

    def _export(self, kind: str, mapping: ObjectMappingConfig, w: _Work) -> None:
        outcome = w.outcome
        try:
            if w.entry is not None:
                self._update_linked(kind, mapping, w)
            elif w.match is not None:
                self._adopt(kind, mapping, w, w.match)
            else:
                self._create(kind, mapping, w)
        except TargetError as error:
            outcome.fail(error)
            if outcome.action == "Skip":
                outcome.action = "Other"
        finally:
            outcome.duration_ms = int((time.perf_counter() - w.started) * 1000)

    def _desired(self, w: _Work) -> tuple[dict[str, Any], list[str] | None]:
        values = {k: v for k, v in w.values.items() if v is not None and k != "__members__"}
        members = w.values.get("__members__")
        return values, members

    def _create(self, kind: str, mapping: ObjectMappingConfig, w: _Work) -> None:
        outcome = w.outcome
        if "Create" not in mapping.actions:
            outcome.status = "skipped"
            outcome.step(
                "Processing", "skipped", Message(gettext_noop("The Create target object action is off."))
            )
            return
        values, _members = self._desired(w)
        if self.dry_run:
            return self._dry(outcome, "Create", {}, values)
        outcome.action = "Create"
        # Recorded before sending, so that a failed create still shows the values it tried to set.
        outcome.modified = [{"name": k, "old": None, "new": v} for k, v in values.items()]
        try:
            created = self.target.create(kind, values)
        except TargetError as error:
            return self._create_failed(kind, mapping, w, error)
        self._created(kind, w, created)

    def _create_failed(self, kind: str, mapping: ObjectMappingConfig, w: _Work, error: TargetError) -> None:
        """A create that failed or whose answer was lost: re-match before anything is sent again."""
        if error.category is not ErrorCategory.CONFLICT and not error.outcome_unknown:
            raise error
        # It may exist now (a concurrent writer, or our own POST whose answer was lost).
        found = self._find_by_matching(kind, mapping, w)
        if found is not None:
            w.outcome.step(
                "Matching",
                "success",
                Message(gettext_noop("Found the object after the create attempt; adopting it.")),
                target_id=found.id,
            )
            return self._adopt(kind, mapping, w, found, retries=error.retry_count)
        if error.category is ErrorCategory.CONFLICT:
            raise self._conflict_not_found(kind, mapping, w, error)
        self._created(kind, w, self.target.create(kind, self._desired(w)[0]))  # not there: creating is safe

    @staticmethod
    def _conflict_not_found(
        kind: str, mapping: ObjectMappingConfig, w: _Work, error: TargetError
    ) -> TargetError:
        """A 409 whose re-match found nothing: say so, and what to look at, instead of promising adoption."""
        searched = [
            f"{rule.target} eq {w.values[rule.target]!r}"
            for rule in mapping.matching
            if isinstance(w.values.get(rule.target), str) and w.values.get(rule.target)
        ]
        looked = " or ".join(searched) if searched else "its matching attributes (none had a value)"
        error.reason += (
            f" Searching the application for {looked} found no {kind.lower()}, so there is nothing to adopt."
        )
        error.recommended_action = (
            f"The application says this {kind.lower()} already exists but its search does not return it. "
            "Check in the application: whether it compares userName (or the unique attribute) without regard "
            "to case while its filter is case-sensitive, or the reverse; whether an account with this value "
            "exists that its search does not return (inactive, soft-deleted, or owned by another "
            "organisation); and whether another attribute it keeps unique (email, externalId) clashes. "
            "Remove or rename that account, or change the matching attribute, then provision on demand."
        )
        return error

    def _created(self, kind: str, w: _Work, created: TargetObject) -> None:
        outcome = w.outcome
        values, members = self._desired(w)
        outcome.action, outcome.status, outcome.target_id = "Create", "success", created.id
        outcome.retry_count = max(outcome.retry_count, created.retry_count)
        outcome.modified = [{"name": k, "old": None, "new": v} for k, v in values.items()]
        outcome.step(
            "Export",
            "success",
            Message(gettext_noop("Created the %(kind)s in the target."), kind=kind.lower()),
            target_id=created.id,
        )
        # Recorded with no members until they are in, so a failed member PATCH is retried next cycle
        # while the group itself is never created twice.
        outcome.escrow = EscrowRecord(created.id, values, [], "active")
        outcome.target_name = str(values.get("userName") or values.get("displayName") or "")
        w.members_to_add = members or []

    def _add_members_of_created(self, w: _Work) -> None:
        outcome = w.outcome
        try:
            self.target.add_members(outcome.target_id, w.members_to_add)
        except _Paused:
            # The group exists (keep its record); its members are added when it is retried.
            outcome.fail(self.breaker.tripped or TargetError("Paused", ErrorCategory.TRANSIENT, "Paused."))
        except TargetError as error:
            outcome.fail(error)
        else:
            outcome.escrow = EscrowRecord(outcome.target_id, self._desired(w)[0], w.members_to_add, "active")
            outcome.step(
                "Export",
                "success",
                Message(gettext_noop("Added %(count)s member(s)."), count=len(w.members_to_add)),
            )
        finally:
            outcome.duration_ms = int((time.perf_counter() - w.started) * 1000)

    def _find_by_matching(self, kind: str, mapping: ObjectMappingConfig, w: _Work) -> TargetObject | None:
        for rule in mapping.matching:
            value = w.values.get(rule.target)
            if isinstance(value, str) and value:
                found = self.target.find(kind, rule.target, value)
                if found is not None:
                    return found
        return None

    def _adopt(
        self, kind: str, mapping: ObjectMappingConfig, w: _Work, found: TargetObject, retries: int = 0
    ) -> None:
        """Link an existing target object and bring it in line with the mappings."""
        values, members = self._desired(w)
        changes = {k: v for k, v in values.items() if not _same(found.values.get(k), v)}
        if kind == "User" and found.values.get("active") is False and w.obj.enabled:
            changes["active"] = True
        self._apply(
            kind,
            mapping,
            w,
            found.id,
            changes,
            members,
            current_members=None,
            exported=values,
            current=found.values,
        )
        w.outcome.retry_count = max(w.outcome.retry_count, retries)

    def _update_linked(self, kind: str, mapping: ObjectMappingConfig, w: _Work) -> None:
        entry = w.entry
        assert entry is not None
        values, members = self._desired(w)
        limit = self.config.record_value_limit  # the record may hold a digest of a large value
        previous = self._canonical_exported(kind, entry.exported)
        changes = {k: v for k, v in values.items() if previous.get(k) != bounded.for_record(v, limit)}
        if entry.state == "disabled" and kind == "User":
            changes["active"] = True  # re-assigned or re-enabled: bring the account back
        exported = {**previous, **values}
        try:
            self._apply(
                kind,
                mapping,
                w,
                entry.target_id,
                changes,
                members,
                current_members=entry.members,
                exported=exported,
            )
        except TargetError as error:
            if error.category is not ErrorCategory.NOT_FOUND:
                raise
            # The target lost the object: forget the stale link and provision it again.
            w.outcome.step(
                "Export",
                "warning",
                Message(gettext_noop("The linked object is gone from the target; creating it again.")),
            )
            w.entry = None
            self._create(kind, mapping, w)

    def _apply(
        self,
        kind: str,
        mapping: ObjectMappingConfig,
        w: _Work,
        target_id: str,
        changes: dict[str, Any],
        members: list[str] | None,
        *,
        current_members: list[str] | None,
        exported: dict[str, Any],
        current: dict[str, Any] | None = None,
    ) -> None:
        outcome, entry = w.outcome, w.entry
        outcome.target_id = target_id
        to_add = sorted(set(members or ()) - set(current_members or ())) if members is not None else []
        to_remove = (
            sorted(set(current_members or ()) - set(members))
            if members is not None and current_members
            else []
        )
        # "Old" values: what the target holds when adopting an object, else what was last exported.
        previous = current if current is not None else (entry.exported if entry else {})
        if not changes and not to_add and not to_remove:
            outcome.action, outcome.status = "Skip", "skipped"
            outcome.step(
                "Export",
                "skipped",
                Message(gettext_noop("Nothing changed since the last export (redundant export skipped).")),
            )
            if entry is None:
                outcome.escrow = EscrowRecord(target_id, exported, members or [], "active")
                outcome.action, outcome.status = "Other", "success"
                outcome.step(
                    "Matching",
                    "success",
                    Message(gettext_noop("Linked the existing target object; its values already match.")),
                )
            return
        if "Update" not in mapping.actions:
            outcome.action, outcome.status = "Skip", "skipped"
            outcome.step(
                "Processing", "skipped", Message(gettext_noop("The Update target object action is off."))
            )
            return
        if self.dry_run:
            return self._dry(outcome, "Update", previous, changes)
        # Recorded before sending, so that a failed update still shows what it tried to change.
        outcome.action = "Update"
        outcome.modified = [{"name": k, "old": previous.get(k), "new": v} for k, v in changes.items()]
        if to_add or to_remove:
            outcome.modified.append(
                {"name": "members", "old": f"-{len(to_remove)}", "new": f"+{len(to_add)}"}
            )
        if changes:
            self.target.update(kind, target_id, changes)
        if to_add:
            self.target.add_members(target_id, to_add)
        if to_remove:
            self.target.remove_members(target_id, to_remove)
        outcome.status = "success"
        outcome.step(
            "Export",
            "success",
            Message(gettext_noop("Updated %(count)s attribute(s) in the target."), count=len(changes)),
            attributes=sorted(changes),
        )
        final_members = members if members is not None else (entry.members if entry else [])
        outcome.escrow = EscrowRecord(target_id, {**exported, **changes}, final_members, "active")

    def _dry(self, outcome: Outcome, action: str, previous: dict[str, Any], new: dict[str, Any]) -> None:
        outcome.action, outcome.status = action, "success"
        outcome.modified = [{"name": k, "old": previous.get(k), "new": v} for k, v in new.items()]
        outcome.step(
            "Export",
            "skipped",
            Message(gettext_noop("Dry run: would %(action)s; nothing was sent."), action=action.lower()),
        )

    # -- deprovisioning -------------------------------------------------------------------------

    def deprovision(self, kind: str, staged: list[tuple[Outcome, EscrowRecord]]) -> list[Outcome]:
        """Send the staged disables and deletes (after the deletion threshold allowed them)."""

        def send(item: tuple[Outcome, EscrowRecord]) -> None:
            outcome, entry = item
            started = time.perf_counter()
            try:
                if self.dry_run:
                    outcome.status = "success"
                elif outcome.pending == "Delete":
                    self.target.delete(kind, entry.target_id)
                    outcome.escrow = FORGET
                else:
                    # recorded before sending, so that a failed disable still shows it
                    outcome.modified = [{"name": "active", "old": True, "new": False}]
                    self.target.set_active(entry.target_id, False)
                    outcome.escrow = EscrowRecord(
                        entry.target_id, {**entry.exported, "active": False}, entry.members, "disabled"
                    )
                outcome.status = "success"
                outcome.step(
                    "Export",
                    "success",
                    Message(
                        gettext_noop("Deleted in the target.")
                        if outcome.pending == "Delete"
                        else gettext_noop("Disabled in the target.")
                    ),
                )
            except _Paused:
                outcome.status = "pending"  # not sent: resumed with the rest
                return
            except TargetError as error:
                if error.category is ErrorCategory.NOT_FOUND:
                    outcome.status, outcome.escrow = "success", FORGET
                    outcome.step("Export", "warning", Message(gettext_noop("Already gone from the target.")))
                else:
                    outcome.fail(error)
            outcome.duration_ms += int((time.perf_counter() - started) * 1000)

        self._parallel([partial(send, item) for item in staged])
        self._stop_if_tripped([(o, o.source_id) for o, _ in staged])
        return [o for o, _ in staged]


def _same(current: Any, desired: Any) -> bool:
    """Equal as the target means it: a SCIM boolean ``true`` equals a mapping's ``"True"`` (expressions
    yield text), so an already-active account is not reported as ``active: (blank) → True``."""
    if isinstance(current, bool) and isinstance(desired, str):
        return desired.strip().lower() == str(current).lower()
    if isinstance(desired, bool) and isinstance(current, str):
        return current.strip().lower() == str(desired).lower()
    return current == desired


def _unless_paused(call: Callable[[], None]) -> None:
    """Run one unit of work; once the breaker tripped it stays unfinished (resumed later)."""
    with contextlib.suppress(_Paused):
        call()
