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
from oms.cli.audit import AUDIT_COLUMNS, audit_row
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
from oms.config import Settings
from oms.domain.enums import AccountMode, OrderStatus
from oms.domain.order import Order
from oms.domain.positions import Position
from oms.domain.records import JournalRecord
from oms.errors import OmsError
from oms.projections import FillsBlotter, OrderBook, Positions, ProjectionSet, as_of, standard_set
from oms.projections.latency import latency_table
from oms.reconcile.events import RECONCILER_STREAM
from oms.reconcile.history import discrepancy_history

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


# -- reports over the projections ------------------------------------------------------------


class Mode(StrEnum):
    """How accounts keep positions, for the positions fold."""

    HEDGING = "hedging"
    NETTING = "netting"


ModeOption = Annotated[
    Mode | None,
    typer.Option(
        "--mode",
        help="Position keeping of the accounts (default: OMS_RECONCILE_ACCOUNT_MODE, "
        "else the simulator's OMS_MT5_SIM_MARGIN_MODE).",
        show_default=False,
    ),
]


def _mode(mode: Mode | None) -> AccountMode:
    if mode is not None:
        return AccountMode(mode.value)
    settings = Settings()
    return AccountMode(settings.reconcile_account_mode or settings.mt5_sim_margin_mode)


def _projections(
    journal: Journal,
    mode: AccountMode,
    *,
    position: int | None = None,
    at_ns: int | None = None,
    show_progress: bool = True,
) -> tuple[ProjectionSet, int, int]:
    """Orders, positions and fills folded up to a position and/or time; also the last
    position and time actually folded."""
    projections = standard_set(default_mode=mode)
    head = journal.head().position
    total = head if position is None else min(position, head)
    last = [0, 0]

    def seen(records: Iterator[JournalRecord], bar: Any) -> Iterator[JournalRecord]:
        for n, record in enumerate(records, 1):
            last[0], last[1] = record.position, record.recorded_at_ns
            if n % 1000 == 0:
                bar.advance(1000)
            yield record

    with progress(total, "replaying the journal", enabled=show_progress) as bar:
        projections.apply_many(seen(as_of(journal.read_all(0), position, at_ns), bar))
    return projections, last[0], last[1]


def _members(projections: ProjectionSet) -> tuple[OrderBook, Positions, FillsBlotter]:
    """The order book, positions and fills blotter of a standard set (others are ignored)."""
    by_type = {type(p): p for p in projections.projections}
    book, positions, fills = by_type[OrderBook], by_type[Positions], by_type[FillsBlotter]
    assert isinstance(book, OrderBook)
    assert isinstance(positions, Positions)
    assert isinstance(fills, FillsBlotter)
    return book, positions, fills


def _order_json(o: Order) -> dict[str, Any]:
    return {
        "client_order_id": o.client_order_id, "account": o.account, "strategy": o.strategy,
        "symbol": o.symbol, "side": str(o.side), "order_type": str(o.order_type),
        "volume": o.volume, "filled_volume": o.filled_volume, "avg_fill_price": o.avg_fill_price,
        "price": o.price, "status": o.status.value, "broker_order_id": o.broker_order_id,
        "created_at": utc_iso(o.created_ns), "updated_at": utc_iso(o.updated_ns),
    }  # fmt: skip


def _order_row(o: Order) -> list[Any]:
    return [
        o.client_order_id, o.account, o.strategy, o.symbol, str(o.side), str(o.order_type),
        o.volume, o.filled_volume, o.avg_fill_price or None, o.status.value, o.broker_order_id,
        utc_text(o.created_ns), utc_text(o.updated_ns),
    ]  # fmt: skip


ORDER_COLUMNS = [
    "client order id", "account", "strategy", "symbol", "side", "type", "volume", "filled",
    "avg price", "status", "ticket", "created (UTC)", "updated (UTC)",
]  # fmt: skip


def _position_json(p: Position) -> dict[str, Any]:
    return {
        "key": p.key, "account": p.account, "symbol": p.symbol, "side": p.side,
        "volume": p.volume, "avg_price": p.avg_price, "realised_pnl": p.realised_pnl,
        "commission": p.commission, "fee": p.fee, "swap": p.swap,
        "position_id": p.position_id, "opened_at": utc_iso(p.opened_ns),
        "updated_at": utc_iso(p.updated_ns),
    }  # fmt: skip


POSITION_COLUMNS = [
    "key", "account", "symbol", "side", "volume", "avg price", "realised P&L", "commission",
    "swap", "opened (UTC)", "updated (UTC)",
]  # fmt: skip


def _position_row(p: Position) -> list[Any]:
    return [
        p.key, p.account, p.symbol, p.side, p.volume, p.avg_price or None, p.realised_pnl,
        p.commission, p.swap, utc_text(p.opened_ns), utc_text(p.updated_ns),
    ]  # fmt: skip


@app.command("orders")
def orders(
    db: DbOption = None,
    status: Annotated[OrderStatus | None, typer.Option(help="Only orders in this status.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    open_only: Annotated[bool, typer.Option("--open", help="Only orders that may trade.")] = False,
    limit: Annotated[int, typer.Option(min=0, help="At most this many (0: all).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """Our own order book, folded from the journal.

    Example: oms orders --open --symbol EURUSD
    """
    with _journal(db) as journal:
        projections, _, _ = _projections(journal, AccountMode.NETTING, show_progress=not as_json)
    book, _, _ = _members(projections)
    picked = list(book.select(status=status, account=account, symbol=symbol, open_only=open_only))
    if limit:
        picked = picked[:limit]
    if as_json:
        emit_json([_order_json(o) for o in picked])
        return
    counts = ", ".join(f"{n} {s}" for s, n in sorted(book.counts().items()))
    table("Orders", ORDER_COLUMNS, [_order_row(o) for o in picked],
          caption=f"{len(picked)} shown; all orders: {counts or 'none'}; times in UTC")  # fmt: skip


@app.command("positions")
def positions(
    db: DbOption = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    include_closed: Annotated[bool, typer.Option("--all", help="Closed ones too.")] = False,
    mode: ModeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Positions derived from the journaled fills (netting or hedging).

    Example: oms positions --mode hedging --json
    """
    with _journal(db) as journal:
        projections, _, _ = _projections(journal, _mode(mode), show_progress=not as_json)
    _, book, _ = _members(projections)
    picked = list(book.select(account=account, symbol=symbol, open_only=not include_closed))
    if as_json:
        emit_json([_position_json(p) for p in picked])
        return
    table("Positions", POSITION_COLUMNS, [_position_row(p) for p in picked],
          caption=f"{len(picked)} positions; times in UTC")  # fmt: skip


@app.command("fills")
def fills(
    db: DbOption = None,
    account: Annotated[str | None, typer.Option(help="Only this account.")] = None,
    symbol: Annotated[str | None, typer.Option(help="Only this symbol.")] = None,
    order: Annotated[str | None, typer.Option(help="Only this client order id.")] = None,
    since: Annotated[
        str | None, typer.Option(help="Filled at or after (ISO 8601, UTC if no zone).")
    ] = None,
    limit: Annotated[int, typer.Option(min=0, help="At most this many (0: all).")] = 0,
    as_json: JsonOption = False,
) -> None:
    """The fills blotter: every deal once, in journal order.

    Example: oms fills --order A1.mm.1z --json
    """
    since_ns = parse_time(since) if since else None
    with _journal(db) as journal:
        projections, _, _ = _projections(journal, AccountMode.NETTING, show_progress=not as_json)
    _, _, blotter = _members(projections)
    picked = list(
        blotter.select(account=account, symbol=symbol, client_order_id=order, since_ns=since_ns)
    )
    if limit:
        picked = picked[:limit]
    if as_json:
        emit_json(
            [
                {**f._asdict(), "filled_at": utc_iso(f.fill_ns),
                 "recorded_at": utc_iso(f.recorded_at_ns)}
                for f in picked
            ]
        )  # fmt: skip
        return
    table(
        "Fills",
        ["deal", "client order id", "account", "symbol", "side", "volume", "price",
         "commission", "filled (UTC)", "position id"],
        [
            [f.deal_ticket, f.client_order_id, f.account, f.symbol, f.side, f.volume, f.price,
             f.commission, utc_text(f.fill_ns), f.position_id]
            for f in picked
        ],
        caption=f"{len(picked)} fills; times in UTC",
    )  # fmt: skip


@app.command("replay")
def replay(
    db: DbOption = None,
    as_of_time: Annotated[
        str | None,
        typer.Option("--as-of", help="State as recorded at this time (ISO 8601, UTC if no zone)."),
    ] = None,
    position: Annotated[
        int | None, typer.Option("--position", min=0, help="State after this journal position.")
    ] = None,
    mode: ModeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Rebuild orders, positions and fills exactly as they stood at a time or position.

    Example: oms replay --as-of 2026-01-05T10:30:00Z
    """
    if (as_of_time is None) == (position is None):
        raise ReportError("give exactly one of --as-of TIME or --position N")
    at_ns = parse_time(as_of_time) if as_of_time is not None else None
    with _journal(db) as journal:
        head = journal.head().position
        if position is not None and position > head:
            raise ReportError(f"position {position} is beyond the journal's head {head}")
        projections, last, last_ns = _projections(
            journal, _mode(mode), position=position, at_ns=at_ns, show_progress=not as_json
        )
    book, kept, blotter = _members(projections)
    open_orders = list(book.select(open_only=True))
    open_positions = list(kept.select())
    hashes = projections.state_hashes()
    if as_json:
        emit_json(
            {
                "as_of_position": position, "as_of": utc_iso(at_ns), "last_position": last,
                "last_recorded_at": utc_iso(last_ns), "order_counts": book.counts(),
                "orders": [_order_json(o) for o in book.select()],
                "positions": [_position_json(p) for p in open_positions],
                "fills": len(blotter.rows), "state_hashes": hashes,
            }
        )  # fmt: skip
        return
    bound = f"position {position}" if position is not None else utc_text(at_ns)
    typer.echo(
        f"state as of {bound}: last event folded is position {last}"
        + (f" recorded {utc_text(last_ns)}" if last_ns else "")
    )
    counts = ", ".join(f"{n} {s}" for s, n in sorted(book.counts().items())) or "none"
    typer.echo(f"orders: {counts}; fills: {len(blotter.rows)}")
    table("Open orders then", ORDER_COLUMNS, [_order_row(o) for o in open_orders])
    table("Open positions then", POSITION_COLUMNS, [_position_row(p) for p in open_positions])
    table("State hashes", ["projection", "sha256"], sorted(hashes.items()))
