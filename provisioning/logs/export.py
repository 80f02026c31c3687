"""The streamed CSV / JSON downloads of provisioning logs (records from ``provisioning.logs.graph``).

Why streamed: a tenant-wide download can be a million rows. Rows are read through a server-side cursor
(``.iterator(chunk_size=...)``) and written out a chunk at a time, so memory stays flat whatever the
size. As in Entra, CSV is three files joined on the change id (the logs, their steps, their modified
properties) and JSON is one minified array of the API's ``provisioningObjectSummary`` records.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator
from contextlib import nullcontext
from datetime import datetime
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import QuerySet

from portal.tenant import tenant_id
from provisioning.logs.graph import graph_record, graph_steps, guidance, job_directory, modified_properties
from provisioning.models import ProvisioningLog

CHUNK_SIZE = 2000
ROWS_PER_WRITE = 500  # rows per yielded string: fewer, larger writes without holding much in memory
TRANSIENT_CATEGORIES = {"transient"}


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _rows(queryset: QuerySet[ProvisioningLog]) -> Iterator[ProvisioningLog]:
    """Rows through a server-side cursor. On PostgreSQL inside a read transaction, so the cursor streams
    instead of being materialised WITH HOLD; on SQLite without one (IMMEDIATE transactions would hold
    the write lock for the whole download)."""
    guard = transaction.atomic() if connection.vendor == "postgresql" else nullcontext()
    with guard:
        yield from queryset.iterator(chunk_size=CHUNK_SIZE)


class _Line:
    """A file-like object whose write() returns the text, for csv.writer without a buffer."""

    def write(self, value: str) -> str:
        return value


CSV_PARTS = {
    "logs": (
        "ProvisioningLogs.csv",
        [
            "Date (UTC)",
            "Identity",
            "Source ID",
            "Target ID",
            "Target name",
            "Object type",
            "Action",
            "Status",
            "Application",
            "Job ID",
            "Cycle ID",
            "Change ID",
            "Duration (ms)",
            "Error code",
            "Error category",
            "Reason",
            "Recommended action",
            "Retry count",
        ],
    ),
    "steps": (
        "ProvisioningLogs_ProvisioningSteps.csv",
        ["Change ID", "Step", "Name", "Step type", "Status", "Description", "Details"],
    ),
    "modified": (
        "ProvisioningLogs_ModifiedProperties.csv",
        ["Change ID", "Property", "Old value", "New value"],
    ),
}


def _columns(queryset: QuerySet[ProvisioningLog], part: str) -> QuerySet[ProvisioningLog]:
    """Read only what the part writes: the big JSON columns only for the file that needs them."""
    if part == "steps":
        return queryset.only("id", "activity_at", "change_id", "steps")
    if part == "modified":
        return queryset.only("id", "activity_at", "change_id", "modified_properties")
    return queryset.defer("steps", "modified_properties")


def csv_filename(part: str) -> str:
    return CSV_PARTS[part][0]


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (names come from the directory, i.e. from users)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv_rows(log: ProvisioningLog, part: str, jobs: dict[int, dict[str, Any]]) -> Iterable[list[Any]]:
    if part == "steps":  # the API's steps: the same Graph names
        for number, step in enumerate(graph_steps(log), start=1):
            yield [
                log.change_id,
                number,
                step["name"],
                step["provisioningStepType"],
                step["status"],
                step["description"],
                json.dumps(step["details"], sort_keys=True),
            ]
        return
    if part == "modified":
        for prop in modified_properties(log):
            yield [log.change_id, prop["displayName"], prop["oldValue"], prop["newValue"]]
        return
    job = jobs.get(log.job_id, {})
    yield [
        _iso(log.activity_at),
        log.source_name,
        log.source_id,
        log.target_id,
        log.target_name,
        log.object_kind,
        log.action,
        log.status,
        job.get("app_name", ""),
        job.get("job_id", ""),
        log.cycle_id,
        log.change_id,
        log.duration_ms,
        log.error_code,
        log.error_category,
        log.error_reason,
        guidance(log),
        log.retry_count,
    ]


def stream_csv(queryset: QuerySet[ProvisioningLog], part: str = "logs") -> Iterator[str]:
    """The CSV text of one part, a few hundred rows per chunk, starting with a BOM for Excel."""
    header = CSV_PARTS[part][1]
    writer = csv.writer(_Line())
    jobs = job_directory()
    yield "\ufeff" + writer.writerow(header)
    buffer = io.StringIO()
    out = csv.writer(buffer)
    pending = 0
    for log in _rows(_columns(queryset, part)):
        for row in _csv_rows(log, part, jobs):
            out.writerow([_safe(v) for v in row])
        pending += 1
        if pending >= ROWS_PER_WRITE:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if buffer.tell():
        yield buffer.getvalue()


def stream_json(queryset: QuerySet[ProvisioningLog]) -> Iterator[str]:
    """A minified JSON array of the API's records, written a few hundred records at a time."""
    jobs = job_directory()
    tenant = tenant_id()
    yield "["
    first = True
    parts: list[str] = []
    for log in _rows(queryset):
        record = graph_record(log, jobs.get(log.job_id, {}), tenant)
        text = json.dumps(record, separators=(",", ":"), cls=DjangoJSONEncoder)
        parts.append(text if first else "," + text)
        first = False
        if len(parts) >= ROWS_PER_WRITE:
            yield "".join(parts)
            parts.clear()
    if parts:
        yield "".join(parts)
    yield "]"
