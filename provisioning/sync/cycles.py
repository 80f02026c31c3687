"""Sync cycles: plan a cycle into pages, run a page, advance phases, finish exactly once.

A cycle goes through phases — users, references (managers not yet provisioned), groups, deprovision
(the staged disables and deletes, sent only when the accidental-deletion threshold allows). Each
phase is split into pages handed to Celery, so several workers share one cycle. A page's results
(escrow, logs, counters, "done") are saved in one transaction, and the phase advances through a
conditional UPDATE, so a page redelivered after a crash is never counted twice and a cycle finishes once.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerError

from portal.directory.changes import changes_since, current_watermark
from provisioning.engine.config import EngineConfig, ObjectMappingConfig
from provisioning.engine.outcome import Outcome
from provisioning.engine.processor import PageProcessor, StopCycle
from provisioning.engine.source import EscrowRecord
from provisioning.engine.target_protocol import ErrorCategory
from provisioning.logs import writer
from provisioning.messages import Message, gettext_noop
from provisioning.models import (
    Cycle,
    CycleKind,
    CyclePage,
    CyclePhase,
    CycleStatus,
    JobState,
    LogStatus,
    PageStatus,
    ProvisioningJob,
    ProvisioningLog,
    QuarantineReason,
    Scope,
)
from provisioning.sync import dispatch, escrow, quarantine
from provisioning.sync.connector_pool import target_for
from provisioning.sync.directory_source import DirectorySource

log = logging.getLogger(__name__)

PHASES = tuple(CyclePhase)
# Errors of the infrastructure, not of the page: the task retries them with a back-off.
INFRASTRUCTURE_ERRORS = (OperationalError, InterfaceError, BrokerError)
PHASE_KIND = {CyclePhase.USERS: "User", CyclePhase.REFERENCES: "User", CyclePhase.GROUPS: "Group"}


def page_size() -> int:
    return settings.PROVISIONING_PAGE_SIZE


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
        concurrency=settings.PROVISIONING_CONCURRENCY,
        match_batch_size=_match_batch_size(job),
        record_value_limit=escrow.record_value_limit(),
        failure_threshold=settings.PROVISIONING_TARGET_FAILURE_THRESHOLD,
    )


def _match_batch_size(job: ProvisioningJob) -> int:
    """Values per matching call. Only an app whose matchingOperators switch is eqOr gets them joined
    with ``or`` (20 per query unless PROVISIONING_MATCH_BATCH_SIZE says more); eq sends one per query."""
    batch = settings.PROVISIONING_MATCH_BATCH_SIZE
    return (batch if batch > 1 else 20) if job.compat.or_matching else batch


def source_for(job: ProvisioningJob) -> DirectorySource:
    return DirectorySource(job.application_id, sync_all=job.scope == Scope.ALL)


# -- starting -------------------------------------------------------------------------------------


class EarlierPageRunning(Exception):
    """A page of the job's closed cycle is still being run by a live worker: the new cycle must wait.

    A cycle that fails (credentials refused on one page) leaves its other pages in flight on other
    workers. Those have created objects whose links they have not saved yet; a cycle started now would
    not see the links and would POST the same objects again.
    """


def _held_by_a_live_run() -> Q:
    """Pages a worker runs right now: claimed, with a heartbeat younger than PROVISIONING_PAGE_STALE_SECONDS."""
    fresh = timezone.now() - timedelta(seconds=_stale_seconds())
    return ~Q(claimed_by="") & Q(heartbeat_at__gte=fresh)


def earlier_page_running(job: ProvisioningJob) -> bool:
    """A pending page of one of the job's cycles is held by a run that still beats."""
    return CyclePage.objects.filter(_held_by_a_live_run(), cycle__job=job, status=PageStatus.PENDING).exists()


def start_cycle(job_id: int, *, initial: bool | None = None, force_deletes: bool = False) -> Cycle | None:
    """Open a cycle for the job (initial when the configuration asks for one) and queue its first pages.

    Returns None when a cycle is already open: two cycles of one app never run at once. Raises
    :class:`EarlierPageRunning` while a page of a closed cycle still runs (ask again a bit later).
    """
    with transaction.atomic():
        job = ProvisioningJob.objects.select_for_update().get(pk=job_id)
        if Cycle.objects.filter(job=job, status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).exists():
            return None
        if earlier_page_running(job):
            raise EarlierPageRunning(job_id)
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
        config = engine_config(job)
        kinds = [kind for kind in ("User", "Group") if config.mapping_for(kind) is not None]
        # Read before the new cycle exists: the last cycle's failures are the previous cycle's.
        if initial:
            # Streamed from the database page by page: a million ids never sit in one list.
            ids = {kind: _initial_ids(job, source, kind) for kind in kinds}
        else:
            changed = source.changed_ids(changes_since(job.watermark, limit=1_000_000))
            retry = _failed_last_cycle(job)  # Entra's escrow: failed objects are tried again each cycle
            ids = {
                "User": sorted(changed["User"] | retry["User"]),
                # A retried user may exist only after its groups were exported without it: they go again.
                "Group": sorted(changed["Group"] | retry["Group"] | source.groups_of(retry["User"])),
            }
        try:
            cycle = Cycle.objects.create(
                job=job,
                kind=CycleKind.INITIAL if initial else CycleKind.INCREMENTAL,
                watermark_end=watermark_end,
                force_deletes=force_deletes or job.force_deletes_once,
            )
        except IntegrityError:  # a concurrent start won the race
            return None
        total = pages_total = 0
        for phase, kind in ((CyclePhase.USERS, "User"), (CyclePhase.GROUPS, "Group")):
            if kind in kinds:
                objects, pages = _write_pages(cycle, phase, ids[kind], start=pages_total)
                total, pages_total = total + objects, pages_total + pages
        cycle.total, cycle.pages_total = total, pages_total
        cycle.save(update_fields=["total", "pages_total"])
        ProvisioningJob.objects.filter(pk=job.pk).update(
            state=JobState.ACTIVE, last_execution_at=timezone.now(), force_deletes_once=False
        )
        _advance(cycle.pk)
    return cycle


def _failed_last_cycle(job: ProvisioningJob) -> dict[str, set[str]]:
    """Objects the last cycle failed, or never reached because it stopped (target down, credentials)."""
    failed: dict[str, set[str]] = {"User": set(), "Group": set()}
    last = (
        Cycle.objects.filter(job=job).exclude(kind=CycleKind.ON_DEMAND).order_by("-started_at", "-pk").first()
    )
    if last is None:
        return failed
    if last.failed:
        rows = ProvisioningLog.objects.filter(job=job, cycle_id=last.cycle_id, status=LogStatus.FAILURE)
        for kind, source_id in rows.values_list("object_kind", "source_id"):
            failed[kind].add(source_id)
    if last.status != CycleStatus.COMPLETED:
        unfinished = CyclePage.objects.filter(cycle=last, status=PageStatus.PENDING)
        for phase, items in unfinished.values_list("phase", "items"):
            for item in items:
                if isinstance(item, dict):  # a staged disable or delete: evaluated again
                    failed[item["kind"]].add(item["source_id"])
                else:
                    failed[PHASE_KIND[phase]].add(item)
    return failed


def _initial_ids(job: ProvisioningJob, source: DirectorySource, kind: str) -> Iterator[str]:
    """What an initial cycle looks at: every entitled object, then the linked ones no longer entitled
    (they may need a disable or a delete), each once."""
    entitled = source.entitled_query(kind)
    linked = escrow.source_ids_query(job.pk, kind, except_in=entitled.order_by())
    for query in (entitled, linked):
        for object_id in query.iterator(chunk_size=2000):
            yield str(object_id)


def _write_pages(cycle: Cycle, phase: str, ids: Iterable, *, start: int) -> tuple[int, int]:
    """Split ``ids`` into pages of the phase and insert them, 100 pages at a time: (objects, pages)."""
    size = page_size()
    objects = pages = 0
    batch: list[CyclePage] = []
    items: list = []
    for item in ids:
        items.append(item)
        if len(items) == size:
            batch.append(CyclePage(cycle=cycle, index=start + pages, phase=phase, items=items))
            objects, pages, items = objects + len(items), pages + 1, []
            if len(batch) == 100:
                CyclePage.objects.bulk_create(batch)
                batch = []
    if items:
        batch.append(CyclePage(cycle=cycle, index=start + pages, phase=phase, items=items))
        objects, pages = objects + len(items), pages + 1
    CyclePage.objects.bulk_create(batch)
    return objects, pages


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
        if not CyclePage.objects.filter(cycle=cycle, phase=phase, status=PageStatus.PENDING).exists():
            continue
        if phase == CyclePhase.DEPROVISION and not _deletions_allowed(cycle):
            return
        if phase != cycle.phase and not Cycle.objects.filter(pk=cycle.pk, phase=cycle.phase).update(
            phase=phase
        ):
            return  # another worker advanced it already
        cycle.phase = phase
        _dispatch(cycle)
        return
    _finish(cycle)


def _dispatch(cycle: Cycle) -> None:
    """Queue the next pages of the cycle's phase, at most PROVISIONING_PAGES_IN_FLIGHT at a time.

    A cycle never floods the queue: one app's 5,000 users wait their turn behind a handful of pages,
    not in front of every other app. Called inside the transaction that changed the cycle.
    """
    limit = max(1, settings.PROVISIONING_PAGES_IN_FLIGHT)
    pending = CyclePage.objects.filter(cycle=cycle, phase=cycle.phase, status=PageStatus.PENDING)
    slots = limit - pending.filter(queued_at__isnull=False).count()
    if slots <= 0:
        return
    ids = list(pending.filter(queued_at__isnull=True).order_by("index").values_list("pk", flat=True)[:slots])
    if ids:
        CyclePage.objects.filter(pk__in=ids).update(queued_at=timezone.now(), claimed_by="")
        _publish(ids, queue=_queue_for(cycle))


def _queue_for(cycle: Cycle) -> str:
    """Small cycles (one page) go ahead of bulk pages: a near-real-time change is not stuck behind them."""
    return "realtime" if cycle.total <= page_size() else "pages"


def _publish(page_ids: list[int], *, queue: str, countdown: float = 0) -> None:
    """Hand pages to the broker once the transaction commits. A broker that is down loses nothing: the
    pages stay pending and the reaper queues them again."""

    def send() -> None:
        for pk in page_ids:
            try:
                dispatch.queue_page(pk, queue=queue, countdown=countdown or None)
            except Exception:  # the broker is unreachable: logged, and the reaper re-queues the page
                log.exception("Could not queue page %s; the reaper will queue it again", pk)
                return

    transaction.on_commit(send)


def _deletions_allowed(cycle: Cycle) -> bool:
    job = cycle.job
    staged = sum(
        len(items)
        for items in CyclePage.objects.filter(cycle=cycle, phase=CyclePhase.DEPROVISION).values_list(
            "items", flat=True
        )
    )
    Cycle.objects.filter(pk=cycle.pk).update(staged_deletions=staged)
    if not job.prevent_accidental_deletion or cycle.force_deletes or staged <= job.deletion_threshold:
        return True
    Cycle.objects.filter(pk=cycle.pk).update(
        status=CycleStatus.QUARANTINED, finished_at=timezone.now(), phase=CyclePhase.DEPROVISION
    )
    quarantine.enter(
        job,
        QuarantineReason.TOO_MANY_DELETES,
        f"{staged} deletions and disables were staged; the threshold is {job.deletion_threshold}.",
    )
    return False


def _finish(cycle: Cycle) -> None:
    failed_pages = CyclePage.objects.filter(cycle=cycle, status=PageStatus.FAILED)
    status, error = CycleStatus.COMPLETED, ""
    if failed_pages.exists():
        first = failed_pages.order_by("index").first()
        objects = sum(len(items) for items in failed_pages.values_list("items", flat=True))
        status = CycleStatus.FAILED
        error = (
            f"{failed_pages.count()} page(s) of the cycle failed after repeated errors ({first.error}); "
            f"their {objects} object(s) are logged as failed and retried in the next cycle."
        )
    if not Cycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).update(
        status=status, finished_at=timezone.now(), error=error
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
        dispatch.queue_cycle(job_id)


# -- pages ----------------------------------------------------------------------------------------


class PageBusy(Exception):
    """Another delivery of this page holds it and is alive: this one does nothing."""


def _stale_seconds() -> float:
    return float(settings.PROVISIONING_PAGE_STALE_SECONDS)


def heartbeat_interval() -> float:
    return max(0.5, _stale_seconds() / 6)


def _claim(page: CyclePage, token: str) -> bool:
    """Take the page for this delivery: free, abandoned (no heartbeat for a while), or ours before.

    A redelivery of the same task (worker killed, task retried) takes it back once its old run has
    stopped beating; anything else waits for the page to go stale, so one page never runs twice at once.
    """
    now = timezone.now()
    free = Q(claimed_by="") | Q(heartbeat_at__isnull=True)
    free |= Q(heartbeat_at__lt=now - timedelta(seconds=_stale_seconds()))
    free |= Q(claimed_by=token, heartbeat_at__lt=now - timedelta(seconds=2 * heartbeat_interval()))
    return bool(
        CyclePage.objects.filter(free, pk=page.pk, status=PageStatus.PENDING).update(
            claimed_by=token, heartbeat_at=now, attempts=F("attempts") + 1
        )
    )


class _Heartbeat:
    """Touches the page's heartbeat while a worker runs it, so the reaper leaves a live page alone."""

    def __init__(self, page_id: int, token: str):
        self.page_id, self.token = page_id, token
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"page-heartbeat-{page_id}", daemon=True)

    def _run(self) -> None:
        from django.db import connection

        try:
            while not self._stop.wait(heartbeat_interval()):
                with contextlib.suppress(DatabaseError):  # the database is away: the page will notice
                    CyclePage.objects.filter(pk=self.page_id, claimed_by=self.token).update(
                        heartbeat_at=timezone.now()
                    )
        finally:
            connection.close()

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def run_page(
    page_id: int, *, processor: PageProcessor | None = None, worker: str = "", task_id: str = ""
) -> None:
    """Run one page. Database and broker errors propagate (the task retries them); any other error
    fails the page visibly. Raises :class:`PageBusy` when another live delivery holds the page."""
    page = CyclePage.objects.select_related("cycle__job").filter(pk=page_id).first()
    if page is None or page.status != PageStatus.PENDING:
        return  # redelivered after it was saved: nothing to do
    cycle, job = page.cycle, page.cycle.job
    if cycle.status != CycleStatus.RUNNING:
        return  # paused or stopped: the page stays pending and is queued again on resume
    token = task_id or uuid.uuid4().hex
    if not _claim(page, token):
        raise PageBusy(page_id)
    page.refresh_from_db(fields=["attempts"])
    if page.attempts > _max_attempts():
        fail_page(page_id, f"it was started {page.attempts - 1} times without finishing")
        return
    try:
        with _Heartbeat(page.pk, token):
            _process(page, job, processor, worker)
    except INFRASTRUCTURE_ERRORS:
        _release(page.pk, token)
        raise
    except Exception as exc:  # a bug or a time limit: the page fails visibly, never hangs
        log.exception("Page %s of cycle %s failed", page.pk, cycle.cycle_id)
        fail_page(page_id, f"{type(exc).__name__}: {exc}"[:500] if str(exc) else type(exc).__name__)


def _max_attempts() -> int:
    return max(1, settings.PROVISIONING_PAGE_MAX_ATTEMPTS)


def _release(page_id: int, token: str) -> None:
    with contextlib.suppress(DatabaseError):  # else the heartbeat stops: the page goes stale, taken back
        CyclePage.objects.filter(pk=page_id, claimed_by=token).update(claimed_by="")


def _process(page: CyclePage, job: ProvisioningJob, processor: PageProcessor | None, worker: str) -> None:
    objects: dict = {}
    try:
        # inside the try: a secret no key decrypts stops the cycle like refused credentials
        processor = processor or PageProcessor(engine_config(job), target_for(job), escrow.resolver(job.pk))
        if page.phase == CyclePhase.DEPROVISION:
            outcomes = _run_deprovision(job, processor, page.items)
        else:
            kind = PHASE_KIND[page.phase]
            objects = source_for(job).get(kind, page.items)
            outcomes = processor.process(
                kind, [objects[i] for i in page.items], escrow.load(job.pk, kind, page.items)
            )
    except StopCycle as stop:
        _stopped(page, job, stop, worker, objects)
        return
    _save_page(page, outcomes, worker)


def _stopped(page: CyclePage, job: ProvisioningJob, stop: StopCycle, worker: str, objects: dict) -> None:
    """The target stopped working mid-page: keep what finished, put the rest in a page of its own.

    Credentials refused: the cycle fails and the job is quarantined (the next cycle resumes the rest).
    Unreachable: the rest waits and is tried again after a back-off that doubles each time; after
    PROVISIONING_TARGET_MAX_PAUSES pauses in a row the cycle fails and the next cycle resumes it.
    """
    cycle = page.cycle
    wanted = set(stop.resume)
    rest = [i for i in page.items if (i["source_id"] if isinstance(i, dict) else i) in wanted]
    credentials = stop.error.category is ErrorCategory.UNAUTHORIZED
    pauses = Cycle.objects.filter(pk=cycle.pk).values_list("target_pauses", flat=True).get() + 1
    give_up = credentials or pauses > settings.PROVISIONING_TARGET_MAX_PAUSES
    base = settings.PROVISIONING_TARGET_BACKOFF
    delay = 0.0 if give_up else min(base * 2 ** (pauses - 1), 900.0)
    with transaction.atomic():
        # A cycle that stops is closed before the page is saved, so its unfinished page is not queued.
        if credentials:
            stopped = Cycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).update(
                status=CycleStatus.FAILED,
                finished_at=timezone.now(),
                error=stop.error.reason,
                failed=F("failed") + 1,
            )
            if stopped:  # one trace per cycle, even when several pages hit the refusal at once
                escrow.save(job, cycle.cycle_id, [_stopped_on(page, stop, objects)])
        elif give_up:
            Cycle.objects.filter(pk=cycle.pk, status=CycleStatus.RUNNING).update(
                status=CycleStatus.FAILED,
                finished_at=timezone.now(),
                error=f"The application stayed unreachable ({stop.error.reason}); the objects not yet "
                "provisioned are resumed by the next cycle.",
            )
        else:
            Cycle.objects.filter(pk=cycle.pk).update(target_pauses=pauses)
            log.warning(
                "Cycle %s: the application is unreachable (%s); %s object(s) wait %.0f s",
                cycle.cycle_id,
                stop.error.code,
                len(rest),
                delay,
            )
        _save_page(page, stop.outcomes, worker, rest=rest, rest_delay=None if give_up else delay)
        if credentials:
            quarantine.enter(job, QuarantineReason.CREDENTIALS, stop.error.reason, error=stop.error)


def fail_page(page_id: int, reason: str) -> bool:
    """Give up on a page: each of its objects gets a failed log row (so the next cycle retries it),
    the cycle counts them as failed and goes on; it finishes as failed. False if it was finished."""
    from provisioning.engine.target_protocol import TargetError

    page = CyclePage.objects.select_related("cycle__job").get(pk=page_id)
    cycle = page.cycle
    message = f"The page could not be processed: {reason}."
    error = TargetError(
        "PageFailed",
        ErrorCategory.TRANSIENT,
        message,
        recommended_action=gettext_noop(
            "The object is retried in the next cycle. If this repeats, check the workers' "
            "logs, the database and the broker."
        ),
    )
    outcomes = []
    for item in page.items:
        if isinstance(item, dict):
            outcome = Outcome(kind=item["kind"], source_id=item["source_id"], source_name=item["source_name"])
            outcome.action = item["action"]
        else:
            outcome = Outcome(kind=PHASE_KIND[page.phase], source_id=item, action="Other")
        outcome.fail(error, step="Processing")
        outcomes.append(outcome)
    with transaction.atomic():
        Cycle.objects.select_for_update().filter(pk=cycle.pk).values_list("pk", flat=True).get()
        if not CyclePage.objects.filter(pk=page.pk, status=PageStatus.PENDING).update(
            status=PageStatus.FAILED, finished_at=timezone.now(), error=reason[:2000], claimed_by=""
        ):
            return False
        writer.write_logs(cycle.job, cycle.cycle_id, outcomes)
        _count_page(cycle, page.phase, len(outcomes), {"failed": len(outcomes)})
        log.error("Cycle %s: page %s failed: %s", cycle.cycle_id, page.index, reason)
        _after_page(cycle, page.phase)
    return True


def _after_page(cycle: Cycle, phase: str) -> None:
    """A page of ``phase`` just finished: advance the phase when it was the last, else queue the next."""
    if not CyclePage.objects.filter(cycle=cycle, phase=phase, status=PageStatus.PENDING).exists():
        _advance(cycle.pk)
    else:
        current = Cycle.objects.get(pk=cycle.pk)
        if current.status == CycleStatus.RUNNING and current.phase == phase:
            _dispatch(current)


def _stopped_on(page: CyclePage, stop: StopCycle, objects: dict) -> Outcome:
    """The provisioning log entry of a cycle the target stopped (credentials refused): the object being
    exported when it happened, failed with the target's reason, so an admin finds it with Status:
    Failure (Entra logs the failure the same way rather than leaving only a failed cycle).

    That is the page's first object left unfinished, never one the page finished before the refusal:
    its row would merge into that object's successful Create and hide it for good (a later cycle finds
    nothing to change and only logs a skip).
    """
    unfinished = set(stop.resume)
    refused = [i for i in page.items if (i["source_id"] if isinstance(i, dict) else i) in unfinished]
    first = (refused or page.items or [{}])[0]
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
    outcome.step(
        "Processing",
        "failure",
        Message(gettext_noop("The cycle stopped: the target refused the admin credentials.")),
    )
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


def _save_page(
    page: CyclePage,
    outcomes: list[Outcome],
    worker: str = "",
    *,
    rest: list | None = None,
    rest_delay: float | None = None,
) -> None:
    """Save a page's outcomes; ``rest`` (objects not reached) becomes a new page of the same phase,
    queued after ``rest_delay`` seconds (None: left pending for the next cycle)."""
    cycle = page.cycle
    staging = page.phase != CyclePhase.DEPROVISION
    staged = [o for o in outcomes if staging and o.pending]
    finished = [o for o in outcomes if not (staging and o.pending)]
    deferred = [o.source_id for o in outcomes if o.deferred_reference and page.phase == CyclePhase.USERS]
    counts = _count(finished)
    if page.phase == CyclePhase.REFERENCES:
        # The manager pass revisits users this cycle already counted (created into an empty target, or
        # updated): counting it again reported "Updated 46" for an initial cycle. Only failures count.
        counts = {"failed": counts["failed"]}
    with transaction.atomic():
        # One page of a cycle saves at a time: otherwise the last two pages of a phase could each see the
        # other still pending (READ COMMITTED) and nobody would advance the phase.
        Cycle.objects.select_for_update().filter(pk=cycle.pk).values_list("pk", flat=True).get()
        if not CyclePage.objects.filter(pk=page.pk, status=PageStatus.PENDING).update(
            status=PageStatus.DONE, finished_at=timezone.now(), processed_by=worker, claimed_by=""
        ):
            return  # another delivery of this page saved first
        escrow.save(cycle.job, cycle.cycle_id, finished)
        extra: list[CyclePage] = []
        next_index = CyclePage.objects.filter(cycle=cycle).count()
        resumed = _make_pages(cycle, page.phase, rest or [], start=next_index)
        for resumed_page in resumed if rest_delay is not None else []:
            resumed_page.queued_at = timezone.now() + timedelta(seconds=rest_delay)
        extra += resumed
        next_index += len(resumed)
        if deferred:
            extra += _make_pages(cycle, CyclePhase.REFERENCES, deferred, start=next_index)
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
            extra += _make_pages(cycle, CyclePhase.DEPROVISION, items, start=next_index + len(extra))
        if extra:
            CyclePage.objects.bulk_create(extra)
        _count_page(
            cycle,
            page.phase,
            len(outcomes),
            counts,
            new_pages=len(extra),
            **({} if rest else {"target_pauses": 0}),
        )
        if resumed and rest_delay is not None:
            ids = CyclePage.objects.filter(cycle=cycle, index__in=[p.index for p in resumed])
            _publish(list(ids.values_list("pk", flat=True)), queue=_queue_for(cycle), countdown=rest_delay)
        _after_page(cycle, page.phase)


def _count_page(
    cycle: Cycle, phase: str, objects: int, counts: dict[str, int], *, new_pages: int = 0, **fields: Any
) -> None:
    """Add a finished page to its cycle's counters in one UPDATE (the cycle row is locked by the caller):
    its objects (only the users and groups phases count them as processed), its outcome counts, one page
    done and ``new_pages`` more to do; progress is seen now."""
    Cycle.objects.filter(pk=cycle.pk).update(
        processed=F("processed") + (objects if phase in (CyclePhase.USERS, CyclePhase.GROUPS) else 0),
        pages_done=F("pages_done") + 1,
        pages_total=F("pages_total") + new_pages,
        progress_at=timezone.now(),
        stall_reported_at=None,
        **fields,
        **{name: F(name) + value for name, value in counts.items() if value},
    )


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
        cycle.target_pauses = 0
        cycle.progress_at = timezone.now()  # the time it spent paused is not a stall
        cycle.save(update_fields=["status", "target_pauses", "progress_at"])
        pending = CyclePage.objects.filter(cycle=cycle, phase=cycle.phase, status=PageStatus.PENDING)
        if pending.exists():
            # the tasks queued before the pause have returned without running: queue them afresh. A page
            # a worker was in the middle of when the pause came is left to it: released and queued again,
            # it would run a second time beside the first, creating what the first has not linked yet.
            pending.exclude(_held_by_a_live_run()).update(queued_at=None, claimed_by="")
            _dispatch(cycle)
        else:
            _advance(cycle.pk)
    return True


def reap() -> dict[str, int]:
    """Beat's safety net: pages of running cycles that nobody runs are queued again; past
    PROVISIONING_PAGE_MAX_ATTEMPTS runs they fail (and the cycle finishes as failed).

    A page is lost when it was queued more than PROVISIONING_PAGE_STALE_SECONDS ago and no live worker
    holds it (no heartbeat for that long): the broker restarted or was purged, its worker was killed, or
    a database error outlived the task's retries. Running a page twice is safe: its escrow and the
    re-match find what an earlier run created.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=_stale_seconds())
    counts = {"requeued": 0, "failed": 0, "advanced": 0}
    for cycle_id in Cycle.objects.filter(status=CycleStatus.RUNNING).values_list("pk", flat=True):
        to_fail: list[int] = []
        with transaction.atomic():
            cycle = Cycle.objects.select_for_update().filter(pk=cycle_id, status=CycleStatus.RUNNING).first()
            if cycle is None:
                continue
            pending = CyclePage.objects.filter(cycle=cycle, phase=cycle.phase, status=PageStatus.PENDING)
            if not pending.exists():
                _advance(cycle.pk)  # the phase's last page was saved but the cycle never moved on
                counts["advanced"] += 1
                continue
            lost = pending.filter(queued_at__lt=stale).filter(
                Q(claimed_by="") | Q(heartbeat_at__isnull=True) | Q(heartbeat_at__lt=stale)
            )
            requeue = []
            for pk, attempts in lost.values_list("pk", "attempts"):
                (to_fail if attempts >= _max_attempts() else requeue).append(pk)
            if requeue:
                CyclePage.objects.filter(pk__in=requeue).update(queued_at=now, claimed_by="")
                _publish(requeue, queue=_queue_for(cycle))
                counts["requeued"] += len(requeue)
                log.warning("Cycle %s: %s lost page(s) queued again", cycle.cycle_id, len(requeue))
            _dispatch(cycle)  # pages still waiting for a free slot
        for pk in to_fail:
            if fail_page(pk, f"it was started {_max_attempts()} times without finishing"):
                counts["failed"] += 1
    return counts


def close_open_cycles(job: ProvisioningJob, status: str = CycleStatus.FAILED, error: str = "") -> None:
    Cycle.objects.filter(job=job, status__in=[CycleStatus.RUNNING, CycleStatus.PAUSED]).update(
        status=status, finished_at=timezone.now(), error=error
    )


__all__ = [
    "EarlierPageRunning",
    "EscrowRecord",
    "PageBusy",
    "earlier_page_running",
    "fail_page",
    "heartbeat_interval",
    "pause",
    "reap",
    "resume",
    "run_page",
    "start_cycle",
]
