"""Fill the provisioning logs with realistic rows, fast: for demos and the logs benchmark.

Rows come in cycles 40 minutes apart over the last ``--days`` days (inside the retention period), one
timestamp per page of 500 rows as the engine writes them, with Entra's mix of actions and statuses,
steps, modified properties and error codes. A completed Cycle row is written for each cycle, so the
overview's history chart has something to show. ``bulk_create`` in batches: 1,000,000 rows take a few
minutes on PostgreSQL.
"""

from __future__ import annotations

import math
import random
import time
import uuid
from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from provisioning.models import Cycle, CycleKind, CyclePhase, CycleStatus, ProvisioningJob, ProvisioningLog

ENGINE_PAGE = 500  # rows sharing one activity_at, as provisioning.logs.writer.write_logs writes them
FIRST = [
    "Adele",
    "Alex",
    "Allan",
    "Bianca",
    "Christie",
    "Debra",
    "Diego",
    "Emily",
    "Enrico",
    "Grady",
    "Henrietta",
    "Irvin",
    "Isaiah",
    "Johanna",
    "Joni",
    "Lee",
    "Lidia",
    "Lynne",
    "Megan",
    "Miriam",
    "Nestor",
    "Patti",
    "Pradeep",
    "Raul",
    "Sanjay",
    "Vikram",
]
LAST = [
    "Vance",
    "Wilber",
    "Deyoung",
    "Pisani",
    "Cline",
    "Berger",
    "Siciliani",
    "Braun",
    "Cattaneo",
    "Archie",
    "Mueller",
    "Sauer",
    "Langer",
    "Lanier",
    "Sherman",
    "Gu",
    "Holloway",
    "Robbins",
    "Bowen",
    "Graham",
    "Wilke",
    "Fernandez",
    "Gupta",
    "Razi",
    "Patel",
    "Jha",
]
GROUPS = [
    "Sales",
    "Marketing",
    "Engineering",
    "Finance",
    "Legal",
    "Support",
    "Operations",
    "Research",
    "Design",
    "Security",
]
ACTIONS = ["Update", "Skip", "Create", "Other", "Disable", "Delete"]
ACTION_WEIGHTS = [40, 25, 20, 7, 5, 3]
ERRORS = [
    (
        "EntryConflict",
        "conflict",
        "The application returned HTTP 409: an object with the same userName already exists.",
        "An object with the same unique value already exists in the application; adjust the matching attributes.",
    ),
    (
        "SystemForCrossDomainIdentityManagementBadRequest",
        "rejected",
        "StatusCode: BadRequest. Message: The value of 'emails[type eq \"work\"].value' is invalid.",
        "The application refused the values sent; check the attribute mappings and the source values.",
    ),
    (
        "TooManyRequests",
        "transient",
        "The application returned HTTP 429 (Retry-After: 30). This operation was retried 3 times.",
        "The application is throttling; the request is retried automatically.",
    ),
    (
        "InternalServerError",
        "transient",
        "The application returned HTTP 503. This operation was retried 3 times.",
        "The application failed; the request is retried automatically.",
    ),
    (
        "MandatoryFieldsMissing",
        "rejected",
        "userName is required but the mapped source attribute is empty.",
        "Give the object a value for the required attribute, or fix the mapping.",
    ),
    (
        "InvalidAnchor",
        "not_found",
        "The application returned HTTP 404 for a user created earlier.",
        "The object was deleted in the application; it will be matched or created again.",
    ),
]


class Identity:
    __slots__ = ("kind", "name", "source_id", "target_id", "target_name")

    def __init__(self, kind: str, name: str, source_id: str, target_id: str, target_name: str) -> None:
        self.kind, self.name, self.source_id = kind, name, source_id
        self.target_id, self.target_name = target_id, target_name


def make_identities(count: int, rng: random.Random) -> list[Identity]:
    """A directory of ``count`` users and groups (1 in 20 a group) with stable ids."""
    people: list[Identity] = []
    for n in range(count):
        source_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
        target_id = uuid.UUID(int=rng.getrandbits(128), version=4).hex
        if n % 20 == 19:
            name = f"{rng.choice(GROUPS)} team {n}"
            people.append(Identity("Group", name, source_id, target_id, name))
        else:
            first, last = rng.choice(FIRST), rng.choice(LAST)
            people.append(
                Identity(
                    "User", f"{first} {last}", source_id, target_id, f"{first}.{last}{n}@contoso.com".lower()
                )
            )
    return people


def row(
    job: ProvisioningJob, cycle_id: uuid.UUID, when: Any, who: Identity, action: str, rng: random.Random
) -> dict[str, Any]:
    """One log row (column values) the way the engine writes it for ``action``."""
    kind, app = who.kind, job.application.display_name
    steps: list[dict[str, Any]] = [
        {
            "name": "Import",
            "status": "success",
            "description": f"Received {kind} '{who.name}' change from the directory",
            "details": {},
        },
        {
            "name": "Scoping",
            "status": "success",
            "description": f"{kind} '{who.name}' is in scope (assigned)",
            "details": {},
        },
        {
            "name": "Matching",
            "status": "success",
            "description": f"Matched {kind} '{who.name}' on userName",
            "details": {"TargetId": who.target_id},
        },
    ]
    modified: list[dict[str, Any]] = []
    status, error = "success", None
    if action == "Skip":
        status = "skipped"
        steps.append(
            {
                "name": "Export",
                "status": "skipped",
                "description": "Nothing changed since the last export (redundant export skipped).",
                "details": {},
            }
        )
    elif action == "Other":
        steps.append(
            {
                "name": "Matching",
                "status": "success",
                "description": "Linked the existing target object; its values already match.",
                "details": {},
            }
        )
    else:
        roll = rng.random()
        if roll < 0.06:
            status, error = "failure", rng.choice(ERRORS)
        elif roll < 0.07:
            status = "warning"
        if action == "Update":
            modified = [
                {"name": "displayName", "old": who.name.upper(), "new": who.name},
                {"name": "title", "old": "Consultant", "new": rng.choice(["Engineer", "Manager", "Analyst"])},
            ]
        elif action == "Create":
            modified = [
                {"name": "userName", "old": None, "new": who.target_name},
                {"name": "active", "old": None, "new": True},
            ]
        elif action == "Disable":
            modified = [{"name": "active", "old": True, "new": False}]
        verb = {"Create": "create", "Update": "update", "Disable": "disable", "Delete": "delete"}[action]
        steps.append(
            {
                "name": "Export",
                "status": status,
                "description": error[2] if error else f"{action}d {kind} '{who.name}' in {app}",
                "details": {
                    "http_status": 409 if error and error[0] == "EntryConflict" else 200,
                    "operation": verb,
                },
            }
        )
    return dict(
        job_id=job.pk,
        activity_at=when,
        cycle_id=cycle_id,
        change_id=uuid.UUID(int=rng.getrandbits(128), version=4),
        action=action,
        status=status,
        duration_ms=rng.randint(20, 900),
        object_kind=kind,
        source_id=who.source_id,
        source_name=who.name,
        target_id=who.target_id if action != "Skip" or rng.random() < 0.9 else "",
        target_name=who.target_name,
        steps=steps,
        modified_properties=modified,
        error_code=error[0] if error else "",
        error_category=error[1] if error else "",
        error_reason=error[2] if error else "",
        recommended_action=error[3] if error else "",
        retry_count=3 if error and error[1] == "transient" else 0,
    )


def job_for(name: str) -> ProvisioningJob:
    """The job of the app called ``name``; the app is added from the gallery if there is none."""
    job = ProvisioningJob.objects.select_related("application").filter(application__display_name=name).first()
    if job is not None:
        return job
    from portal.applications.services import instantiate

    application = instantiate("scim-generic", name)
    return ProvisioningJob.objects.select_related("application").get(application=application)


class Command(BaseCommand):
    help = "Add N realistic provisioning log rows (and their cycles) for an app, in bulk."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--rows", type=int, required=True, help="How many log rows to add.")
        parser.add_argument(
            "--app", default="Provisioning logs sample", help="App display name (created if missing)."
        )
        parser.add_argument("--days", type=float, default=29, help="Spread the rows over the last N days.")
        parser.add_argument("--identities", type=int, default=20_000, help="Distinct users and groups.")
        parser.add_argument("--batch-size", type=int, default=5000)
        parser.add_argument("--seed", type=int, default=42)

    def handle(
        self,
        *args: Any,
        rows: int,
        app: str,
        days: float,
        identities: int,
        batch_size: int,
        seed: int,
        **options: Any,
    ) -> None:
        if rows < 1:
            raise CommandError("--rows must be at least 1")
        rng = random.Random(seed)
        job = job_for(app)
        people = make_identities(max(1, min(identities, rows)), rng)
        span = timedelta(days=days)
        cycles = max(1, min(math.ceil(rows / 100), int(span.total_seconds() // 2400)))
        per_cycle = math.ceil(rows / cycles)
        now = timezone.now()
        started = time.monotonic()
        written, batch, cycle_rows = 0, [], []
        for number in range(cycles):
            count = min(per_cycle, rows - written - len(batch))
            if count <= 0:
                break
            begin = now - span + span * (number / cycles)
            cycle_id = uuid.uuid4()
            actions = rng.choices(ACTIONS, ACTION_WEIGHTS, k=count)
            tally: Counter[str] = Counter()
            offset = rng.randrange(len(people))
            for i, action in enumerate(actions):
                when = begin + timedelta(seconds=2 * (i // ENGINE_PAGE))
                values = row(job, cycle_id, when, people[(offset + i) % len(people)], action, rng)
                tally[_counter(values["action"], values["status"])] += 1
                batch.append(values)
            end = begin + timedelta(seconds=2 * (count // ENGINE_PAGE + 1))
            cycle_rows.append(_cycle(job, cycle_id, number, begin, end, count, tally))
            if len(batch) >= batch_size:
                written += self._flush(batch, cycle_rows, batch_size)
                batch, cycle_rows = [], []
                self._progress(written, rows, started)
        if batch or cycle_rows:
            written += self._flush(batch, cycle_rows, batch_size)
        self.stdout.write(
            self.style.SUCCESS(
                f"Added {written:,} log rows in {cycles:,} cycles for {job.application.display_name} "
                f"in {time.monotonic() - started:.1f} s."
            )
        )

    def _flush(self, batch: list[dict[str, Any]], cycle_rows: list[Cycle], batch_size: int) -> int:
        """One batch and its cycles in one transaction: COPY on PostgreSQL, bulk_create elsewhere.

        Why COPY: Django 5.2's bulk_create sends each column as one big array literal (UNNEST) that
        psycopg escapes in Python and the server parses again, and building model instances costs as
        much again; COPY of plain tuples is several times faster for the million-row benchmark.
        """
        with transaction.atomic():
            Cycle.objects.bulk_create(cycle_rows)
            if connection.vendor == "postgresql":
                _copy(batch)
            else:
                ProvisioningLog.objects.bulk_create(
                    [ProvisioningLog(**v) for v in batch], batch_size=batch_size
                )
        return len(batch)

    def _progress(self, written: int, rows: int, started: float) -> None:
        if written % 100_000 < 5000 or written == rows:
            elapsed = time.monotonic() - started
            self.stdout.write(f"  {written:,} / {rows:,} rows ({written / max(elapsed, 1e-6):,.0f} rows/s)")


def _copy(batch: list[dict[str, Any]]) -> None:
    """COPY the rows in; JSON columns are wrapped the way Django adapts a JSONField."""
    fields = [f for f in ProvisioningLog._meta.concrete_fields if not f.primary_key]
    table = connection.ops.quote_name(ProvisioningLog._meta.db_table)
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    json_columns = {f.attname for f in fields if f.get_internal_type() == "JSONField"}
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for values in batch:
            row = []
            for f in fields:  # a column the batch does not set gets its default (e.g. a new log_id)
                value = values[f.attname] if f.attname in values else f.get_default()
                row.append(
                    connection.ops.adapt_json_value(value, None) if f.attname in json_columns else value
                )
            copy.write_row(row)


def _counter(action: str, status: str) -> str:
    """The Cycle counter a row adds to (as provisioning.sync.cycles._count counts)."""
    if status == "failure":
        return "failed"
    column = {"Create": "created", "Update": "updated", "Disable": "disabled", "Delete": "deleted"}
    if status == "skipped" or action not in column:
        return "skipped"
    return column[action]


def _cycle(
    job: ProvisioningJob,
    cycle_id: uuid.UUID,
    number: int,
    begin: Any,
    end: Any,
    count: int,
    tally: Counter[str],
) -> Cycle:
    return Cycle(
        job=job,
        cycle_id=cycle_id,
        kind=CycleKind.INITIAL if number == 0 else CycleKind.INCREMENTAL,
        status=CycleStatus.COMPLETED,
        phase=CyclePhase.DEPROVISION,
        started_at=begin,
        finished_at=end,
        total=count,
        processed=count,
        pages_total=math.ceil(count / ENGINE_PAGE),
        pages_done=math.ceil(count / ENGINE_PAGE),
        **{
            name: tally.get(name, 0)
            for name in ("created", "updated", "disabled", "deleted", "skipped", "failed")
        },
    )
