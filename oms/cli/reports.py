"""Reports for traders and compliance: events, discrepancies, latency, the audit export, and
(over the projections) orders, positions, fills and point-in-time replay."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, TextIO

import typer

from journal import Journal, RecordedEvent
from oms.cli.main import app
from oms.cli.render import (
    DbOption,
    JsonOption,
    emit_json,
    open_journal,
    parse_time,
    progress,
    table,
    utc_iso,
    utc_text,
)
from oms.errors import OmsError
from oms.reconcile.events import RECONCILER_STREAM
from oms.reconcile.history import discrepancy_history
from oms.reports.audit import AUDIT_COLUMNS, audit_row
from oms.reports.latency import latency_table

audit_app = typer.Typer(no_args_is_help=True, help="Compliance exports of the journal.")
app.add_typer(audit_app, name="audit")

SUMMARY_CHARS = 90


class ReportError(OmsError):
    """A report was asked for something that cannot be answered (bad filter, bad path)."""


@contextmanager
def _journal(db: str | None) -> Iterator[Journal]:
    journal = open_journal(db)
    try:
        yield journal
    finally:
        journal.close()


def _summary(payload: dict[str, Any]) -> str:
    text = json.dumps(payload, separators=(",", ":"), sort_keys=True)
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1] + "…"


def _event_json(e: RecordedEvent) -> dict[str, Any]:
    return {
        "position": e.position,
        "stream_id": e.stream_id,
        "version": e.version,
        "event_id": e.event_id,
        "type": e.type,
        "schema_version": e.schema_version,
        "recorded_at": utc_iso(e.recorded_at_ns),
        "recorded_at_ns": e.recorded_at_ns,
        "payload": e.payload,
        "metadata": e.metadata,
        "hash": e.hash,
    }


def _type_matches(event_type: str, wanted: list[str]) -> bool:
    """Exact types, or prefixes written with a trailing '.' or '*' (order. / order.*)."""
    for w in wanted:
        prefix = w.rstrip("*")
        is_prefix = prefix != w or w.endswith(".")
        if event_type == w or (is_prefix and event_type.startswith(prefix)):
            return True
    return False


@app.command("events")
def events(
    db: DbOption = None,
    stream: Annotated[str | None, typer.Option(help="Only this stream (order-A1.mm.1z).")] = None,
    event_type: Annotated[
        list[str] | None,
        typer.Option("--type", help="Only these types; 'order.' or 'order.*' is a prefix."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Recorded at or after (ISO 8601, UTC if no zone).")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Recorded at or before (ISO 8601).")] = None,
    from_position: Annotated[int, typer.Option(min=0, help="Start after this position.")] = 0,
    limit: Annotated[int, typer.Option(min=0, help="At most this many events (0: all).")] = 100,
    as_json: JsonOption = False,
) -> None:
    """List journal events, filtered by stream, type and time.

    Example: oms events --type order.filled --since 2026-01-05T09:00Z --limit 20
    """
    since_ns = parse_time(since) if since else None
    until_ns = parse_time(until) if until else None
    wanted = list(event_type or [])
    picked: list[RecordedEvent] = []
    with _journal(db) as journal:
        source = (
            (e for e in journal.read_stream(stream) if e.position > from_position)
            if stream
            else journal.read_all(from_position)
        )
        for e in source:
            if wanted and not _type_matches(e.type, wanted):
                continue
            if since_ns is not None and e.recorded_at_ns < since_ns:
                continue
            if until_ns is not None and e.recorded_at_ns > until_ns:
                continue
            picked.append(e)
            if limit and len(picked) >= limit:
                break
    if as_json:
        emit_json([_event_json(e) for e in picked])
        return
    table(
        "Journal events",
        ["position", "recorded (UTC)", "stream", "ver", "type", "payload"],
        [
            [
                e.position,
                utc_text(e.recorded_at_ns),
                e.stream_id,
                e.version,
                e.type,
                _summary(e.payload),
            ]
            for e in picked
        ],
        caption=f"{len(picked)} events; times in UTC",
    )


@app.command("discrepancies")
def discrepancies(
    db: DbOption = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only those not resolved.")] = False,
    kind: Annotated[str | None, typer.Option(help="Only this kind (state_differs, …).")] = None,
    as_json: JsonOption = False,
) -> None:
    """Every discrepancy the reconciler recorded, with how it was healed or resolved.

    Example: oms discrepancies --open --json
    """
    with _journal(db) as journal:
        rows = discrepancy_history(journal.read_stream(RECONCILER_STREAM))
    rows = [
        r
        for r in rows
        if (not open_only or r.status == "open") and (kind is None or r.kind == kind)
    ]
    if as_json:
        emit_json(
            [
                {
                    "event_id": r.event_id,
                    "position": r.position,
                    "detected_at": utc_iso(r.detected_ns),
                    "kind": r.kind,
                    "key": r.key,
                    "action": r.action,
                    "status": r.status,
                    "detail": r.detail,
                    "journal": r.journal,
                    "broker": r.broker,
                    "resolved_at": utc_iso(r.resolved_ns),
                    "how": r.how,
                }
                for r in rows
            ]
        )
        return
    table(
        "Discrepancies",
        ["detected (UTC)", "kind", "key", "action", "status", "resolved (UTC)", "how / detail"],
        [
            [
                utc_text(r.detected_ns),
                r.kind,
                r.key,
                r.action,
                r.status,
                utc_text(r.resolved_ns),
                r.how or r.detail,
            ]
            for r in rows
        ],
        caption=f"{len(rows)} discrepancies, {sum(r.status == 'open' for r in rows)} open",
    )


@app.command("latency")
def latency(
    db: DbOption = None,
    as_json: JsonOption = False,
) -> None:
    """Per-stage latency percentiles from the stage timestamps events carry.

    Example: oms latency --db sqlite:///oms.db
    """
    with _journal(db) as journal:
        head = journal.head().position
        with progress(head, "reading stage timestamps", enabled=not as_json) as bar:
            lines = latency_table(_advancing(journal.read_all(0), bar))
    if as_json:
        emit_json(
            [
                {
                    "interval": s.interval,
                    "count": s.count,
                    "p50_us": s.p50_us,
                    "p90_us": s.p90_us,
                    "p99_us": s.p99_us,
                    "p999_us": s.p999_us,
                    "max_us": s.max_us,
                }
                for s in lines
            ]
        )
        return
    table(
        "Latency per stage (microseconds)",
        ["interval", "count", "p50", "p90", "p99", "p99.9", "max"],
        [[s.interval, s.count, s.p50_us, s.p90_us, s.p99_us, s.p999_us, s.max_us] for s in lines],
        caption="monotonic clock within a process; wall clock across processes",
    )


def _advancing(events: Iterator[RecordedEvent], bar: Any) -> Iterator[RecordedEvent]:
    n = 0
    for e in events:
        yield e
        n += 1
        if n == 1000:
            bar.advance(n)
            n = 0
    bar.advance(n)


class ExportFormat(StrEnum):
    """Audit export file formats."""

    JSONL = "jsonl"
    CSV = "csv"


@audit_app.command("export")
def audit_export(
    db: DbOption = None,
    fmt: Annotated[ExportFormat, typer.Option("--format", help="jsonl or csv.")] = (
        ExportFormat.JSONL
    ),
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File to write (default: stdout).")
    ] = None,
) -> None:
    """Export every event with its hash chain, byte for byte as stored, for compliance.

    Example: oms audit export --format csv --output audit.csv
    """
    with _journal(db) as journal:
        head = journal.head()
        if output is not None:
            try:
                sink: TextIO = output.open("w", encoding="utf-8", newline="")
            except OSError as exc:
                raise ReportError(f"cannot write {output}: {exc.strerror}") from exc
        else:
            sink = sys.stdout
        try:
            count = _export(journal, head.position, fmt, sink)
        finally:
            if output is not None:
                sink.close()
    typer.echo(f"exported {count} events; head {head}", err=True)


def _export(journal: Journal, head: int, fmt: ExportFormat, sink: TextIO) -> int:
    writer = csv.DictWriter(sink, fieldnames=AUDIT_COLUMNS) if fmt is ExportFormat.CSV else None
    if writer is not None:
        writer.writeheader()
    count = 0
    position = 0
    with progress(head, "exporting events") as bar:
        while position < head:
            rows = journal.read_rows(position, journal.read_batch_size)
            if not rows:
                break
            for row in rows:
                if row[0] > head:
                    break
                record = audit_row(row)
                if writer is not None:
                    writer.writerow(record)
                else:
                    sink.write(json.dumps(record, separators=(",", ":")) + "\n")
                count += 1
            bar.advance(len(rows))
            position = rows[-1][0]
    return count
