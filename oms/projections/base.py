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
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar, Self

import orjson

from oms.domain.codec import REGISTRY
from oms.domain.errors import EventDecodeError
from oms.domain.records import JournalRecord
from oms.errors import OmsError

Handler = Callable[[JournalRecord, dict[str, Any]], None]
SNAPSHOT_FORMAT = 1
_CURRENT = REGISTRY.current
_MALFORMED = (KeyError, TypeError, ValueError, AttributeError, EventDecodeError)


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
        if record.position <= self.position:
            return
        handler = self._handlers.get(record.type)
        if handler is not None:
            _dispatch(self, handler, record)
        self.position = record.position

    def apply_many(self, records: Iterable[JournalRecord]) -> None:
        """Fold records in position order; the fast path for replay."""
        with gc_paused():
            self._fold_many(records)

    def _fold_many(self, records: Iterable[JournalRecord]) -> None:
        """`apply_many` without the collector pause."""
        get = self._handlers.get
        current = _CURRENT
        position = self.position
        for record in records:
            pos = record.position
            if pos <= position:
                continue
            position = pos
            handler = get(record.type)
            if handler is None:
                continue
            try:
                if record.schema_version == current[record.type]:
                    handler(record, record.payload)
                else:
                    handler(record, REGISTRY.upcast(record.type, record.schema_version,
                                                    record.payload))
            except _MALFORMED as exc:
                self.record_error(record, exc)
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
        self.errors.append(
            {
                "position": record.position,
                "type": record.type,
                "stream_id": record.stream_id,
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


def _dispatch(projection: Projection, handler: Handler, record: JournalRecord) -> None:
    """Call one handler with the payload at its current version, keeping bad rows aside."""
    try:
        if record.schema_version == _CURRENT[record.type]:
            payload = record.payload
        else:
            payload = REGISTRY.upcast(record.type, record.schema_version, record.payload)
        handler(record, payload)
    except _MALFORMED as exc:
        projection.record_error(record, exc)


def _route(
    event_type: str, targets: list[tuple[Projection, Handler]]
) -> tuple[int, Handler, tuple[Projection, ...]]:
    """(current version, one callable, who to blame when it fails) for one event type.

    One target: its handler as is, errors recorded on it. Several: a callable that runs each
    and records its own errors, so one projection's bad luck never skips another's fold.
    """
    version = _CURRENT.get(event_type, 1)
    if len(targets) == 1:
        projection, handler = targets[0]
        return version, handler, (projection,)
    members = tuple(targets)
    if len(members) == 3:  # the standard set on fills: unrolled, it is the hottest route
        (first, one), (second, two), (third, three) = members

        def fan_out_3(record: JournalRecord, payload: dict[str, Any]) -> None:
            try:
                one(record, payload)
            except _MALFORMED as exc:
                first.record_error(record, exc)
            try:
                two(record, payload)
            except _MALFORMED as exc:
                second.record_error(record, exc)
            try:
                three(record, payload)
            except _MALFORMED as exc:
                third.record_error(record, exc)

        return version, fan_out_3, (first, second, third)

    def fan_out(record: JournalRecord, payload: dict[str, Any]) -> None:
        for projection, each in members:
            try:
                each(record, payload)
            except _MALFORMED as exc:
                projection.record_error(record, exc)

    return version, fan_out, tuple(p for p, _ in targets)


class ProjectionSet:
    """Several projections folded with one dispatch per record (the replay fast path)."""

    def __init__(self, projections: Iterable[Projection]) -> None:
        self.projections = list(projections)

    def apply(self, record: JournalRecord) -> None:
        """Fold one record into every member."""
        for projection in self.projections:
            projection.apply(record)

    def apply_many(self, records: Iterable[JournalRecord]) -> None:
        """Fold records into every member; members at different positions fold one by one."""
        with gc_paused():
            self._fold_many(records)

    def _fold_many(self, records: Iterable[JournalRecord]) -> None:
        """`apply_many` without the collector pause."""
        members = self.projections
        records = iter(records)
        if len({p.position for p in members}) > 1:
            # One by one until every member has reached the one furthest ahead, then together.
            ahead = max(p.position for p in members)
            for record in records:
                for projection in members:
                    projection.apply(record)
                if record.position >= ahead:
                    break
            else:
                return
        routes: dict[str, list[tuple[Projection, Handler]]] = {}
        for projection in members:
            for event_type, handler in projection.handlers().items():
                routes.setdefault(event_type, []).append((projection, handler))
        table = {t: _route(t, targets) for t, targets in routes.items()}
        get = table.get
        position = members[0].position if members else 0
        for record in records:
            pos = record.position
            if pos <= position:
                continue
            position = pos
            route = get(record.type)
            if route is None:
                continue
            version, handler, owner = route
            payload = record.payload
            try:
                if record.schema_version != version:
                    payload = REGISTRY.upcast(record.type, record.schema_version, payload)
                handler(record, payload)
            except _MALFORMED as exc:
                for projection in owner:
                    projection.record_error(record, exc)
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
            self._fold_many(records)
            gc.freeze()

    def state_hashes(self) -> dict[str, str]:
        """Each member's state hash by name."""
        return {p.name: p.state_hash() for p in self.projections}
