"""Sync cycles: plan a cycle into pages, run a page, advance phases, finish exactly once.

A cycle goes through phases — users, references (managers not yet provisioned), groups, deprovision
(the staged disables and deletes, sent only when the accidental-deletion threshold allows). Each
phase is split into pages handed to Celery, so several workers share one cycle. A page's results
(escrow, logs, counters, "done") are saved in one transaction, and the phase advances through a
conditional UPDATE, so a page redelivered after a crash is never counted twice and a cycle finishes once.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from portal.directory.changes import changes_since, current_watermark
from provisioning import escrow, quarantine
from provisioning.directory_source import DirectorySource
from provisioning.engine.config import EngineConfig, ObjectMappingConfig
from provisioning.engine.outcome import Outcome
from provisioning.engine.processor import PageProcessor, StopCycle
from provisioning.engine.source import EscrowRecord
from provisioning.models import (
    Cycle,
    CycleKind,
    CyclePage,
    CycleStatus,
    JobState,
    LogStatus,
    PageStatus,
    ProvisioningJob,
    ProvisioningLog,
    Scope,
)
from provisioning.targets import target_for

log = logging.getLogger(__name__)

PHASES = ("users", "references", "groups", "deprovision")
PHASE_KIND = {"users": "User", "references": "User", "groups": "Group"}


def page_size() -> int:
    return getattr(settings, "PROVISIONING_PAGE_SIZE", 500)


def engine_config(job: ProvisioningJob) -> EngineConfig:
    mappings = {
        m.source_object: ObjectMappingConfig.from_dict(
            {
                "key": m.key,
                "source_object": m.source_object,
                "enabled": m.enabled,
                "actions": m.actions,
                "scoping_filters": m.scoping_filters,
                "attribute_mappings": m.attribute_mappings,
                "target_attributes": m.target_attributes,
            }
        )
        for m in job.object_mappings.all()
    }
    return EngineConfig(
        users=mappings.get("User"),
        groups=mappings.get("Group"),
        sync_all=job.scope == Scope.ALL,
        skip_out_of_scope_deletions=job.skip_out_of_scope_deletions,
        concurrency=getattr(settings, "PROVISIONING_CONCURRENCY", 4),
        match_batch_size=_match_batch_size(job),
        record_value_limit=escrow.record_value_limit(),
    )


def _match_batch_size(job: ProvisioningJob) -> int:
    """Values per matching call. Only an app whose matchingOperators switch is eqOr gets them joined
    with ``or`` (20 per query unless PROVISIONING_MATCH_BATCH_SIZE says more); eq sends one per query."""
    batch = getattr(settings, "PROVISIONING_MATCH_BATCH_SIZE", 1)
    return (batch if batch > 1 else 20) if job.compat.or_matching else batch


def source_for(job: ProvisioningJob) -> DirectorySource:
    return DirectorySource(job.application_id, sync_all=job.scope == Scope.ALL)


# -- starting -------------------------------------------------------------------------------------


def start_cycle(job_id: int, *, initial: bool | None = None, force_deletes: bool = False) -> Cycle | None:
    """Open a cycle for the job (initial when the configuration asks for one) and queue its first pages.

    Returns None when a cycle is already open: two cycles of one app never run at once.
    """
    with transaction.atomic():
        job = ProvisioningJob.objects.select_for_update().get(pk=job_id)
        if Cycle.objects.filter(job=job, status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).exists():
            return None
        initial = job.needs_full_sync if initial is None else initial
        if reason := job.not_supported:  # a job turned On before its template was marked unsupported
            return Cycle.objects.create(
                job=job,
                kind=CycleKind.INITIAL if initial else CycleKind.INCREMENTAL,
                status=CycleStatus.FAILED,
                error=f"{reason} Nothing was sent; turn provisioning Off.",
                finished_at=timezone.now(),
            )
        watermark_end = current_watermark()  # changes after this point belong to the next cycle
        source = source_for(job)
        if initial:
            users = _union(source.entitled_ids("User"), escrow.source_ids(job.pk, "User"))
            groups = _union(source.entitled_ids("Group"), escrow.source_ids(job.pk, "Group"))
        else:
            changed = source.changed_ids(changes_since(job.watermark, limit=1_000_000))
            retry = _failed_last_cycle(job)  # Entra's escrow: failed objects are tried again each cycle
            users = sorted(changed["User"] | retry["User"])
            groups = sorted(changed["Group"] | retry["Group"])
        config = engine_config(job)
        if config.mapping_for("User") is None:
            users = []
        if config.mapping_for("Group") is None:
            groups = []
        try:
            cycle = Cycle.objects.create(
                job=job,
                kind=CycleKind.INITIAL if initial else CycleKind.INCREMENTAL,
                watermark_end=watermark_end,
                total=len(users) + len(groups),
                force_deletes=force_deletes or job.force_deletes_once,
            )
        except IntegrityError:  # a concurrent start won the race
            return None
        pages = _make_pages(cycle, "users", users, start=0)
        pages += _make_pages(cycle, "groups", groups, start=len(pages))
        CyclePage.objects.bulk_create(pages, batch_size=500)
        cycle.pages_total = len(pages)
        cycle.save(update_fields=["pages_total"])
        ProvisioningJob.objects.filter(pk=job.pk).update(
            state=JobState.ACTIVE, last_execution_at=timezone.now(), force_deletes_once=False
        )
        _advance(cycle.pk)
    return cycle


def _failed_last_cycle(job: ProvisioningJob) -> dict[str, set[str]]:
    failed: dict[str, set[str]] = {"User": set(), "Group": set()}
    last = (
        Cycle.objects.filter(job=job).exclude(kind=CycleKind.ON_DEMAND).order_by("-started_at", "-pk").first()
    )
    if last is None or not last.failed:
        return failed
    rows = ProvisioningLog.objects.filter(job=job, cycle_id=last.cycle_id, status=LogStatus.FAILURE)
    for kind, source_id in rows.values_list("object_kind", "source_id"):
        failed[kind].add(source_id)
    return failed


def _union(*lists: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(i for ids in lists for i in ids))


def _make_pages(cycle: Cycle, phase: str, items: list, *, start: int) -> list[CyclePage]:
    size = page_size()
    return [
        CyclePage(cycle=cycle, index=start + n, phase=phase, items=items[i : i + size])
        for n, i in enumerate(range(0, len(items), size))
    ]


# -- phases ---------------------------------------------------------------------------------------


def _advance(cycle_id: int) -> None:
    """Move the cycle to the first phase with pending pages and queue them; finish when none is left.

    Called inside a transaction by whoever just finished the last page of a phase.
    """
    cycle = Cycle.objects.select_related("job").get(pk=cycle_id)
    if cycle.status != CycleStatus.RUNNING:
        return
    start = PHASES.index(cycle.phase)
    for phase in PHASES[start:]:
        pending = list(
            CyclePage.objects.filter(cycle=cycle, phase=phase, status=PageStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if not pending:
            continue
        if phase == "deprovision" and not _deletions_allowed(cycle):
            return
        if phase != cycle.phase and not Cycle.objects.filter(pk=cycle.pk, phase=cycle.phase).update(
            phase=phase
        ):
            return  # another worker advanced it already
        _queue_pages(pending)
        return
    _finish(cycle)


def _queue_pages(page_ids: list[int]) -> None:
    from provisioning.tasks import process_page

    transaction.on_commit(lambda: [process_page.delay(pk) for pk in page_ids])


def _deletions_allowed(cycle: Cycle) -> bool:
    job = cycle.job
    staged = sum(
        len(items)
        for items in CyclePage.objects.filter(cycle=cycle, phase="deprovision").values_list(
            "items", flat=True
        )
    )
    Cycle.objects.filter(pk=cycle.pk).update(staged_deletions=staged)
    if not job.prevent_accidental_deletion or cycle.force_deletes or staged <= job.deletion_threshold:
        return True
    Cycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.QUARANTINED, finished_at=timezone.now(), phase="deprovision"
    )
    quarantine.enter(
        job,
        "TooManyDeletes",
        f"{staged} deletions and disables were staged; the threshold is {job.deletion_threshold}.",
    )
    return False


def _finish(cycle: Cycle) -> None:
    if not Cycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).update(
        status=CycleStatus.COMPLETED, finished_at=timezone.now()
    ):
        return  # finished by someone else
    cycle.refresh_from_db()
    now = timezone.now()
    fields = {"watermark": cycle.watermark_end, "last_successful_execution_at": now, "needs_full_sync": False}
    if cycle.failed == 0:
        fields["steady_state_at"] = now
        fields["count_successive_complete_failures"] = 0
    elif cycle.failed == cycle.total and cycle.total:
        fields["count_successive_complete_failures"] = F("count_successive_complete_failures") + 1
    job_qs = ProvisioningJob.objects.filter(pk=cycle.job_id)
    job_qs.update(**fields)
    job = job_qs.get()
    if job.enabled:
        job_qs.update(next_run_at=now + timedelta(minutes=job.interval_minutes))
    quarantine.after_cycle(job, cycle)
    transaction.on_commit(lambda: _chain_if_behind(job.pk))


def _chain_if_behind(job_id: int) -> None:
    """Near-real-time: changes that arrived while this cycle ran get their own small cycle now."""
    job = ProvisioningJob.objects.filter(pk=job_id).first()
    if (
        job
        and job.enabled
        and job.near_real_time
        and job.state == JobState.ACTIVE
        and job.watermark < current_watermark()
    ):
        from provisioning.tasks import run_cycle

        run_cycle.delay(job_id)


# -- pages ----------------------------------------------------------------------------------------


def run_page(page_id: int, *, processor: PageProcessor | None = None, worker: str = "") -> None:
    page = CyclePage.objects.select_related("cycle__job").filter(pk=page_id).first()
    if page is None or page.status == PageStatus.DONE:
        return  # redelivered after it was saved: nothing to do
    cycle, job = page.cycle, page.cycle.job
    if cycle.status != CycleStatus.RUNNING:
        return  # paused or stopped: the page stays pending and is queued again on resume
    objects: dict = {}
    try:
        processor = processor or PageProcessor(engine_config(job), target_for(job), escrow.resolver(job.pk))
        if page.phase == "deprovision":
            outcomes = _run_deprovision(job, processor, page.items)
        else:
            kind = PHASE_KIND[page.phase]
            objects = source_for(job).get(kind, page.items)
            outcomes = processor.process(
                kind, [objects[i] for i in page.items], escrow.load(job.pk, kind, page.items)
            )
    except StopCycle as stop:
        trace = _stopped_on(page, stop, objects)
        with transaction.atomic():
            stopped = Cycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).update(
                status=CycleStatus.FAILED,
                finished_at=timezone.now(),
                error=stop.error.reason,
                failed=F("failed") + 1,
            )
            if stopped:  # one trace per cycle, even when several pages hit the refusal at once
                escrow.save(job, cycle.cycle_id, [trace])
            quarantine.enter(job, "EncounteredQuarantineException", stop.error.reason, error=stop.error)
        return
    _save_page(page, outcomes, worker)


def _stopped_on(page: CyclePage, stop: StopCycle, objects: dict) -> Outcome:
    """The provisioning log entry of a cycle the target stopped (credentials refused): the object being
    exported when it happened, failed with the target's reason, so an admin finds it with Status:
    Failure (Entra logs the failure the same way rather than leaving only a failed cycle)."""
    first = page.items[0] if page.items else {}
    if isinstance(first, dict):
        kind, source_id, name = (
            first.get("kind", "User"),
            first.get("source_id", ""),
            first.get("source_name", ""),
        )
    else:
        source = objects.get(first)
        kind, source_id = PHASE_KIND.get(page.phase, "User"), str(first)
        name = getattr(source, "display_name", "") if source is not None else ""
    outcome = Outcome(kind=kind, source_id=source_id, source_name=name)
    outcome.action = "Other"
    outcome.fail(stop.error, step="Test connection")
    outcome.step("Processing", "failure", "The cycle stopped: the target refused the admin credentials.")
    return outcome


def _run_deprovision(job: ProvisioningJob, processor: PageProcessor, items: list[dict]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for kind in ("User", "Group"):
        mine = [i for i in items if i["kind"] == kind]
        if not mine:
            continue
        records = escrow.load(job.pk, kind, [i["source_id"] for i in mine])
        staged = []
        for item in mine:
            record = records.get(item["source_id"])
            if record is None:
                continue  # the link went away meanwhile
            outcome = Outcome(kind=kind, source_id=item["source_id"], source_name=item.get("source_name", ""))
            outcome.pending = outcome.action = item["action"]
            outcome.target_id = record.target_id
            outcome.step("Processing", "success", item.get("reason", f"Staged {item['action'].lower()}."))
            staged.append((outcome, record))
        outcomes += processor.deprovision(kind, staged)
    return outcomes


def _save_page(page: CyclePage, outcomes: list[Outcome], worker: str = "") -> None:
    cycle = page.cycle
    staging = page.phase != "deprovision"
    staged = [o for o in outcomes if staging and o.pending]
    finished = [o for o in outcomes if not (staging and o.pending)]
    deferred = [o.source_id for o in outcomes if o.deferred_reference and page.phase == "users"]
    counts = _count(finished)
    if page.phase == "references":
        # The manager pass revisits users this cycle already counted (created into an empty target, or
        # updated): counting it again reported "Updated 46" for an initial cycle. Only failures count.
        counts = {"failed": counts["failed"]}
    with transaction.atomic():
        # One page of a cycle saves at a time: otherwise the last two pages of a phase could each see the
        # other still pending (READ COMMITTED) and nobody would advance the phase.
        Cycle.objects.select_for_update().filter(pk=cycle.pk).values_list("pk", flat=True).get()
        if not CyclePage.objects.filter(pk=page.pk, status=PageStatus.PENDING).update(
            status=PageStatus.DONE, finished_at=timezone.now(), processed_by=worker
        ):
            return  # another delivery of this page saved first
        escrow.save(cycle.job, cycle.cycle_id, finished)
        extra: list[CyclePage] = []
        next_index = CyclePage.objects.filter(cycle=cycle).count()
        if deferred:
            extra += _make_pages(cycle, "references", deferred, start=next_index)
        if staged:
            items = [
                {
                    "kind": o.kind,
                    "source_id": o.source_id,
                    "source_name": o.source_name,
                    "action": o.pending,
                    "reason": o.steps[-1].description if o.steps else "",
                }
                for o in staged
            ]
            extra += _make_pages(cycle, "deprovision", items, start=next_index + len(extra))
        if extra:
            CyclePage.objects.bulk_create(extra)
        processed = len(outcomes) if page.phase in ("users", "groups") else 0
        Cycle.objects.filter(pk=cycle.pk).update(
            processed=F("processed") + processed,
            pages_done=F("pages_done") + 1,
            pages_total=F("pages_total") + len(extra),
            progress_at=timezone.now(),
            stall_reported_at=None,
            **{name: F(name) + value for name, value in counts.items() if value},
        )
        phase_done = not CyclePage.objects.filter(
            cycle=cycle, phase=page.phase, status=PageStatus.PENDING
        ).exists()
        if phase_done:
            _advance(cycle.pk)


def _count(outcomes: list[Outcome]) -> dict[str, int]:
    counts = {"created": 0, "updated": 0, "disabled": 0, "deleted": 0, "skipped": 0, "failed": 0}
    column = {"Create": "created", "Update": "updated", "Disable": "disabled", "Delete": "deleted"}
    for o in outcomes:
        if o.status == "failure":
            counts["failed"] += 1
        elif o.status == "skipped" or o.action not in column:
            counts["skipped"] += 1
        else:
            counts[column[o.action]] += 1
    return counts


# -- control --------------------------------------------------------------------------------------


def pause(job: ProvisioningJob) -> None:
    Cycle.objects.filter(job=job, status=CycleStatus.RUNNING).update(status=CycleStatus.PAUSED)


def resume(job: ProvisioningJob) -> bool:
    """Resume a paused cycle where it left off; False when there was none."""
    with transaction.atomic():
        cycle = Cycle.objects.select_for_update().filter(job=job, status=CycleStatus.PAUSED).first()
        if cycle is None:
            return False
        cycle.status = CycleStatus.RUNNING
        cycle.progress_at = timezone.now()  # the time it spent paused is not a stall
        cycle.save(update_fields=["status", "progress_at"])
        pending = list(
            CyclePage.objects.filter(cycle=cycle, phase=cycle.phase, status=PageStatus.PENDING).values_list(
                "pk", flat=True
            )
        )
        if pending:
            _queue_pages(pending)
        else:
            _advance(cycle.pk)
    return True


def close_open_cycles(job: ProvisioningJob, status: str = CycleStatus.FAILED, error: str = "") -> None:
    Cycle.objects.filter(job=job, status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).update(
        status=status, finished_at=timezone.now(), error=error
    )


__all__ = ["EscrowRecord", "pause", "resume", "run_page", "start_cycle"]
