"""What every projection shares: routing records to handlers, positions, hashes, snapshots.

A projection is a fold over journal records. It remembers the position of the last record
it has seen (`position`), skips records at or below it (so a snapshot plus an overlapping
tail is safe), lifts old payload versions through the upcasters, and never raises on a bad
row: the record is kept in `errors` and the fold goes on. `snapshot()` is a JSON-ready dict
with the projection's name, format, configuration fingerprint and position;
`restore(snapshot)` puts it back; `state_hash()` is sha256 over the canonical JSON of the
state, so a live projection and a rebuild can be compared by one string.
"""

from __future__ import annotations

import gc
import hashlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from operator import attrgetter, itemgetter
from typing import Any, ClassVar, Protocol, Self, TypeVar

import orjson

from oms.domain.codec import REGISTRY
from oms.domain.errors import EventDecodeError
from oms.domain.records import JournalRecord
from oms.errors import OmsError

Handler = Callable[[dict[str, Any], int, int], None]
"""A fold step: `(payload at its current version, position, recorded_at_ns)`."""
SNAPSHOT_FORMAT = 1
_CURRENT = REGISTRY.current
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, EventDecodeError)
Row = tuple[int, str, int, Any, int, str]
"""What a fold reads of a record: position, type, schema version, payload, recorded_at_ns,
stream id (the last only for error entries)."""


class Columns(Protocol):
    """Records as parallel lists, the shape folds read (`journal.EventColumns` has it)."""

    @property
    def positions(self) -> Sequence[int]: ...
    @property
    def stream_ids(self) -> Sequence[str]: ...
    @property
    def types(self) -> Sequence[str]: ...
    @property
    def schema_versions(self) -> Sequence[int]: ...
    @property
    def payloads(self) -> Sequence[Any]: ...
    @property
    def recorded_at_ns(self) -> Sequence[int]: ...


def _rows_of_columns(columns: Columns) -> Iterator[Row]:
    """The rows a fold reads, zipped from columns (no object per record)."""
    return zip(
        columns.positions, columns.types, columns.schema_versions, columns.payloads,
        columns.recorded_at_ns, columns.stream_ids, strict=True,
    )


def _fold_row(projection: Projection, row: Row) -> None:
    """One row into one projection (members catching up one by one)."""
    projection._fold_rows((row,))


_POSITION = attrgetter("position")
_ROW_POSITION = itemgetter(0)
_T = TypeVar("_T")


class _MemberErrors(Exception):
    """Raised by a fan-out after every member ran: the members whose fold step failed."""

    def __init__(self, failures: Sequence[tuple[Projection, BaseException]]) -> None:
        super().__init__(failures)
        self.failures = failures


class ProjectionError(OmsError):
    """A snapshot that does not belong to this projection, format or configuration."""


def canonical_json(data: Any) -> bytes:
    """Deterministic JSON bytes (sorted keys, no spaces) of JSON-ready data, for hashing.

    orjson writes a million-row state several times faster than `json`; a non-finite float
    comes out as null (folds of journal payloads never make one) and a non-string key or an
    integer beyond 64 bits is a TypeError.
    """
    return orjson.dumps(data, option=orjson.OPT_SORT_KEYS)


def _digest(position: int, errors: list[dict[str, Any]], state: dict[str, Any]) -> str:
    """The state hash: sha256 of the canonical JSON of position, errors and state."""
    body = {"position": position, "errors": errors, "state": state}
    return hashlib.sha256(canonical_json(body)).hexdigest()


def as_of(
    records: Iterable[JournalRecord],
    as_of_position: int | None = None,
    as_of_ns: int | None = None,
) -> Iterator[JournalRecord]:
    """Records visible at a position (inclusive) and/or at a time (recorded_at_ns inclusive).

    Records come in position order, so the position bound stops the read; the time bound
    filters, since commit times need not grow with positions on every backend.
    """
    for record in records:
        if as_of_position is not None and record.position > as_of_position:
            return
        if as_of_ns is not None and record.recorded_at_ns > as_of_ns:
            continue
        yield record


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a fold builds many small objects.

    A replay allocates millions of containers that live on; every generation-0 sweep walks
    them again, which costs more than the fold itself. Folds create no reference cycles,
    so nothing is lost; the collector is re-enabled afterwards if it was on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class Projection:
    """Base of the folds; subclasses fill `_handlers` and implement `_state`/`_load`."""

    name: ClassVar[str] = "projection"

    def __init__(self) -> None:
        self.position = 0
        self.errors: list[dict[str, Any]] = []
        self._handlers: dict[str, Handler] = {}

    # -- folding -----------------------------------------------------------------------
    def handlers(self) -> dict[str, Handler]:
        """Event type → handler, for `ProjectionSet`'s single dispatch."""
        return self._handlers

    def apply(self, record: JournalRecord) -> None:
        """Fold one record (ignored when at or below `position`)."""
        self._fold_records((record,))

    def apply_many(self, records: Iterable[JournalRecord]) -> None:
        """Fold records in position order; the fast path for replay."""
        with gc_paused():
            self._fold_records(records)

    def apply_columns(self, columns: Columns) -> None:
        """Fold a batch of the journal's columns (`Journal.column_batches`): a rebuild."""
        with gc_paused():
            self._fold_rows(_rows_of_columns(columns))

    def _fold_records(self, records: Iterable[JournalRecord]) -> None:
        """`_fold_rows` over records, reading their attributes in place (no row built)."""
        get = self._handlers.get
        current = _CURRENT
        position = self.position
        for record in records:
            pos = record.position
            if pos <= position:
                continue
            position = pos
            event_type = record.type
            handler = get(event_type)
            if handler is None:
                continue
            try:
                payload = record.payload
                if record.schema_version != current[event_type]:
                    payload = REGISTRY.upcast(event_type, record.schema_version, payload)
                handler(payload, pos, record.recorded_at_ns)
            except _MALFORMED as exc:
                self.record_error(record, exc)
        self.position = position

    def _fold_rows(self, rows: Iterable[Row]) -> None:
        """The fold itself, over rows in position order (rows at or below `position` skip)."""
        get = self._handlers.get
        current = _CURRENT
        position = self.position
        for pos, event_type, schema_version, payload, at, stream_id in rows:
            if pos <= position:
                continue
            position = pos
            handler = get(event_type)
            if handler is None:
                continue
            try:
                if schema_version != current[event_type]:
                    payload = REGISTRY.upcast(event_type, schema_version, payload)
                handler(payload, pos, at)
            except _MALFORMED as exc:
                self.error_at(pos, event_type, stream_id, exc)
        self.position = position

    @classmethod
    def build(
        cls,
        records: Iterable[JournalRecord],
        *,
        as_of_position: int | None = None,
        as_of_ns: int | None = None,
        **config: Any,
    ) -> Self:
        """A fresh projection folded over the records visible at a position and/or time."""
        projection = cls(**config)
        projection.apply_many(as_of(records, as_of_position, as_of_ns))
        return projection

    def record_error(self, record: JournalRecord, exc: BaseException) -> None:
        """Keep a row the fold could not use, with why."""
        self.error_at(record.position, record.type, record.stream_id, exc)

    def error_at(self, position: int, event_type: str, stream_id: str,
                 exc: BaseException) -> None:
        """`record_error` from the record's fields, for folds over columns."""
        self.errors.append(
            {
                "position": position,
                "type": event_type,
                "stream_id": stream_id,
                "error": f"{type(exc).__name__}: {exc}",
            }
        )

    # -- state -------------------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Configuration that changes the fold's result (checked on restore)."""
        return {}

    def _state(self) -> dict[str, Any]:
        """The fold's state as JSON-ready data (deterministic given the same records)."""
        raise NotImplementedError

    def _load(self, state: dict[str, Any]) -> None:
        """Inverse of `_state`: replaces every piece of state."""
        raise NotImplementedError

    def snapshot(self) -> dict[str, Any]:
        """Everything needed to resume: state, position, format and config fingerprint."""
        with gc_paused():  # millions of small lists: no reason to sweep the state meanwhile
            return self._snapshot()

    def _snapshot(self) -> dict[str, Any]:
        """`snapshot` without the collector pause."""
        return {
            "projection": self.name,
            "format": SNAPSHOT_FORMAT,
            "config": self.config(),
            "position": self.position,
            "errors": list(self.errors),
            "state": self._state(),
        }

    def restore(self, snapshot: dict[str, Any]) -> None:
        """Replace this projection's state with a snapshot taken by the same kind and config."""
        if snapshot.get("projection") != self.name:
            raise ProjectionError(
                f"snapshot is of {snapshot.get('projection')!r}, not {self.name!r}"
            )
        if snapshot.get("format") != SNAPSHOT_FORMAT:
            raise ProjectionError(
                f"{self.name} snapshot format {snapshot.get('format')!r} is not "
                f"{SNAPSHOT_FORMAT}: rebuild from the journal"
            )
        if snapshot.get("config") != self.config():
            raise ProjectionError(
                f"{self.name} snapshot was taken with another configuration: rebuild"
            )
        with gc_paused():
            self._load(snapshot["state"])
        self.position = int(snapshot["position"])
        self.errors = list(snapshot["errors"])

    def state_hash(self) -> str:
        """sha256 of the canonical JSON of position and state: equal iff the folds agree."""
        with gc_paused():
            return _digest(self.position, self.errors, self._state())

    def checkpoint(self) -> tuple[dict[str, Any], str]:
        """`snapshot()` and `state_hash()` together, walking the state once (for the store)."""
        with gc_paused():
            snapshot = self._snapshot()
            return snapshot, _digest(snapshot["position"], snapshot["errors"], snapshot["state"])


Route = tuple[int, Handler, tuple["Projection", ...]]


def _route(event_type: str, targets: list[tuple[Projection, Handler]]) -> Route:
    """(current version, one callable, who to blame when it fails) for one event type.

    One target: its handler as is, errors recorded on it. Several: a callable that runs
    each, then raises `_MemberErrors` naming the members that failed, so one projection's
    bad luck never skips another's fold.
    """
    version = _CURRENT.get(event_type, 1)
    if len(targets) == 1:
        projection, handler = targets[0]
        return version, handler, (projection,)
    members = tuple(targets)
    if len(members) == 3:  # the standard set on fills: unrolled, it is the hottest route
        (first, one), (second, two), (third, three) = members

        def fan_out_3(payload: dict[str, Any], position: int, at: int) -> None:
            failures = None
            try:
                one(payload, position, at)
            except _MALFORMED as exc:
                failures = [(first, exc)]
            try:
                two(payload, position, at)
            except _MALFORMED as exc:
                failures = [*(failures or ()), (second, exc)]
            try:
                three(payload, position, at)
            except _MALFORMED as exc:
                failures = [*(failures or ()), (third, exc)]
            if failures:
                raise _MemberErrors(failures)

        return version, fan_out_3, (first, second, third)

    def fan_out(payload: dict[str, Any], position: int, at: int) -> None:
        failures = []
        for projection, each in members:
            try:
                each(payload, position, at)
            except _MALFORMED as exc:
                failures.append((projection, exc))
        if failures:
            raise _MemberErrors(failures)

    return version, fan_out, tuple(p for p, _ in targets)


class ProjectionSet:
    """Several projections folded with one dispatch per record (the replay fast path)."""

    def __init__(self, projections: Iterable[Projection]) -> None:
        self.projections = list(projections)
        self._table: tuple[list[dict[str, Handler]], dict[str, Route]] | None = None

    def apply(self, record: JournalRecord) -> None:
        """Fold one record into every member."""
        for projection in self.projections:
            projection.apply(record)

    def apply_many(self, records: Iterable[JournalRecord]) -> None:
        """Fold records into every member; members at different positions fold one by one."""
        with gc_paused():
            self._fold_records(records)

    def apply_columns(self, columns: Columns) -> None:
        """Fold a batch of the journal's columns (`Journal.column_batches`): a rebuild."""
        with gc_paused():
            self._fold_rows(_rows_of_columns(columns))

    def _routes(self) -> dict[str, Route]:
        """Event type → route over every member (rebuilt when a member changes handlers)."""
        handlers = [p.handlers() for p in self.projections]
        cached = self._table
        if (
            cached is not None
            and len(cached[0]) == len(handlers)
            and all(a is b for a, b in zip(cached[0], handlers, strict=True))
        ):
            return cached[1]
        routes: dict[str, list[tuple[Projection, Handler]]] = {}
        for projection, table in zip(self.projections, handlers, strict=True):
            for event_type, handler in table.items():
                routes.setdefault(event_type, []).append((projection, handler))
        built = {t: _route(t, targets) for t, targets in routes.items()}
        self._table = (handlers, built)
        return built

    def _align(self, items: Iterator[_T], position_of: Callable[[_T], int],
               fold_one: Callable[[Projection, _T], None]) -> bool:
        """Fold one by one until every member has reached the one furthest ahead; False when
        the items ran out first."""
        members = self.projections
        if all(p.position == members[0].position for p in members):
            return True
        ahead = max(p.position for p in members)
        for item in items:
            for projection in members:
                fold_one(projection, item)
            if position_of(item) >= ahead:
                return True
        return False

    def _fold_records(self, records: Iterable[JournalRecord]) -> None:
        """`_fold_rows` over records, reading their attributes in place (no row built)."""
        members = self.projections
        records = iter(records)
        if not members or not self._align(records, _POSITION, Projection.apply):
            return
        get = self._routes().get
        upcast = REGISTRY.upcast
        position = members[0].position
        for record in records:
            pos = record.position
            if pos <= position:
                continue
            position = pos
            event_type = record.type
            route = get(event_type)
            if route is None:
                continue
            version, handler, owner = route
            try:
                payload = record.payload
                if record.schema_version != version:
                    payload = upcast(event_type, record.schema_version, payload)
                handler(payload, pos, record.recorded_at_ns)
            except _MemberErrors as failed:
                for projection, exc in failed.failures:
                    projection.record_error(record, exc)
            except _MALFORMED as exc:
                for projection in owner:
                    projection.record_error(record, exc)
        for projection in members:
            projection.position = position

    def _fold_rows(self, rows: Iterable[Row]) -> None:
        """Fold rows into every member: one dispatch per row once they all stand together."""
        members = self.projections
        rows = iter(rows)
        if not members or not self._align(rows, _ROW_POSITION, _fold_row):
            return
        get = self._routes().get
        upcast = REGISTRY.upcast
        position = members[0].position
        for pos, event_type, schema_version, payload, at, stream_id in rows:
            if pos <= position:
                continue
            position = pos
            route = get(event_type)
            if route is None:
                continue
            version, handler, owner = route
            try:
                if schema_version != version:
                    payload = upcast(event_type, schema_version, payload)
                handler(payload, pos, at)
            except _MemberErrors as failed:
                for projection, exc in failed.failures:
                    projection.error_at(pos, event_type, stream_id, exc)
            except _MALFORMED as exc:
                for projection in owner:
                    projection.error_at(pos, event_type, stream_id, exc)
        for projection in members:
            projection.position = position

    def replay(self, records: Iterable[JournalRecord]) -> None:
        """Rebuild at start-up: `apply_many`, then hand the rebuilt state to `gc.freeze()`.

        The state a replay builds lives as long as the process. Frozen, the cyclic
        collector never walks it again; otherwise every later full collection does, and
        the first one, right after the replay, costs about a tenth of the replay itself.
        The collector runs first, so only live objects (and whatever cycles appear during
        the fold, which the folds do not make) are frozen. Use `apply_many` for tails.
        """
        gc.collect()
        with gc_paused():
            self._fold_records(records)
            gc.freeze()

    def state_hashes(self) -> dict[str, str]:
        """Each member's state hash by name."""
        return {p.name: p.state_hash() for p in self.projections}
