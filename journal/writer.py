"""Group commit: one writer thread drains a queue of appends into shared transactions.

Each request is checked on its own inside the batch (idempotency, expected version) against
the head and stream versions read under the write lock plus what earlier requests of the same
batch wrote, so one caller's conflict or bad input fails that caller alone. The batch is then
inserted with one statement and committed with one fsync.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from journal.backends import COLUMNS, TABLE, Backend
from journal.codec import (
    GENESIS_HASH,
    chain_link,
    check_identifier,
    check_schema_version,
    encode_object,
    encode_payload_fast,
    hashed_body,
    header_middle,
    identifier_ok,
    quote,
    stream_part,
)
from journal.errors import (
    EventIdConflict,
    InvalidEvent,
    JournalClosed,
    JournalError,
    JournalUnavailable,
    WrongExpectedVersion,
)
from journal.model import NewEvent, RecordedEvent, new_event_id
from journal.rows import Row, to_events

log = logging.getLogger(__name__)

# (event_id, type, schema_version, payload text, metadata text, header middle, hashed body):
# the last two are this event's constant parts of its chain link (see journal.codec).
EncodedEvent = tuple[str, str, int, str, str, str, bytes]
# A request's outcome: its rows (written now, or recorded before) or the error it gets.
Outcome = list[Row] | BaseException
_IN_CHUNK = 500
_MAX_CACHED_STREAMS = 100_000
_CHANGES_WINDOW = 50_000  # beyond this many foreign rows, re-read versions instead


class ThreadWaiter:
    """A blocking caller's slot for its outcome: a lock released when the writer is done."""

    __slots__ = ("_done", "error", "result")

    def __init__(self) -> None:
        self._done = threading.Lock()
        self._done.acquire()
        self.result: list[RecordedEvent] | None = None
        self.error: BaseException | None = None

    def set(self, result: list[RecordedEvent] | None, error: BaseException | None) -> None:
        self.result = result
        self.error = error
        self._done.release()

    def wait(self) -> list[RecordedEvent]:
        self._done.acquire()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result


@dataclass(slots=True)
class AppendRequest:
    """One caller's append, validated and encoded before it reaches the writer."""

    stream_id: str
    expected_version: int | None
    events: list[EncodedEvent]
    header_stream: str  # the stream id's part of each row's hashed header: `,"stream id",`
    ids_supplied: bool = True  # False: every id was generated here, so none can be recorded
    waiter: ThreadWaiter | None = None
    future: asyncio.Future[list[RecordedEvent]] | None = None
    loop: asyncio.AbstractEventLoop | None = field(default=None)


# Identifiers already checked, with their quoted form for the hashed header. Appends name
# few types and keep appending to their streams, so most checks become one dict lookup.
_QUOTED_TYPES: dict[str, str] = {}
_HEADER_STREAMS: dict[str, str] = {}
_MAX_REMEMBERED = 10_000


def _remember(cache: dict[str, str], value: str, what: str, render: Callable[[str], str]) -> str:
    """Check an identifier not seen yet, then keep its rendered form in `cache`."""
    if not identifier_ok(value):
        check_identifier(value, what)
    if len(cache) >= _MAX_REMEMBERED:
        cache.clear()
    rendered = cache[value] = render(value)
    return rendered


def _header_stream(stream_id: str) -> str:
    """`,"stream id",` for the hashed header, after checking the stream id."""
    return _remember(_HEADER_STREAMS, stream_id, "stream id", lambda s: stream_part(quote(s)))


def _quoted_type(type_: str, index: int) -> str:
    """The event type as a JSON string, after checking it."""
    return _remember(_QUOTED_TYPES, type_, f"events[{index}].type", quote)


def prepare_append(
    stream_id: str,
    events: Sequence[NewEvent],
    expected_version: int | None,
    max_payload_bytes: int,
) -> AppendRequest:
    """Validate and encode in the caller's thread, so bad input never reaches the database."""
    header_stream = _HEADER_STREAMS.get(stream_id) if type(stream_id) is str else None
    if header_stream is None:
        header_stream = _header_stream(stream_id)
    if expected_version is not None and (type(expected_version) is not int or expected_version < 0):
        raise InvalidEvent(
            f"expected_version must be None or an integer >= 0, got {expected_version!r}"
        )
    if type(events) is not list and (
        isinstance(events, NewEvent) or not isinstance(events, Sequence)
    ):
        raise InvalidEvent("events must be a sequence of NewEvent")
    if not events:
        raise InvalidEvent(f"append to stream {stream_id!r} has no events")
    encoded: list[EncodedEvent] = []
    ids_supplied = False
    for index, event in enumerate(events):
        if type(event) is not NewEvent and not isinstance(event, NewEvent):
            raise InvalidEvent(f"events[{index}] is a {type(event).__name__}, not a NewEvent")
        event_id = event.event_id
        if event_id is None:
            event_id = new_event_id()
            quoted_id = f'"{event_id}"'  # hex digits: nothing to escape
        else:
            ids_supplied = True
            if not identifier_ok(event_id):
                check_identifier(event_id, f"events[{index}].event_id")
            quoted_id = quote(event_id)
        type_ = event.type
        quoted_type = _QUOTED_TYPES.get(type_) if type(type_) is str else None
        if quoted_type is None:
            quoted_type = _quoted_type(type_, index)
        schema = event.schema_version
        if type(schema) is not int or schema < 1:
            check_schema_version(schema)
        payload = encode_payload_fast(event.payload)
        if payload is None:
            payload = encode_object(event.payload, f"events[{index}].payload")
        size = len(payload) if payload.isascii() else len(payload.encode("utf-8"))
        if size > max_payload_bytes:
            raise InvalidEvent(
                f"events[{index}].payload is {size} bytes as canonical JSON; "
                f"the limit is {max_payload_bytes} bytes (max_payload_bytes)"
            )
        given = event.metadata
        if given or type(given) is not dict:
            metadata = encode_payload_fast(given)
            if metadata is None:
                metadata = encode_object(given, f"events[{index}].metadata")
        else:
            metadata = "{}"
        # This event's constant parts of its chain link; see journal.codec for the layout.
        encoded.append((event_id, type_, schema, payload, metadata,
                        header_middle(quoted_id, quoted_type, schema),
                        hashed_body(payload, metadata)))
    if ids_supplied:
        seen: set[str] = set()
        for event_id, *_ in encoded:
            if event_id in seen:
                raise InvalidEvent(f"event id {event_id!r} appears twice in one append")
            seen.add(event_id)
    return AppendRequest(stream_id, expected_version, encoded, header_stream, ids_supplied)


def _deliver_async(items: list[tuple[AppendRequest, Outcome]]) -> None:
    """Runs on the caller's loop: settle each future unless its caller gave up."""
    rows: list[Row] = []
    for _, outcome in items:
        if not isinstance(outcome, BaseException):
            rows += outcome
    events = to_events(rows)  # one call for the whole batch: most requests hold one row
    start = 0
    for request, outcome in items:
        future = request.future
        assert future is not None
        if isinstance(outcome, BaseException):
            if not future.done():
                future.set_exception(outcome)
            continue
        end = start + len(outcome)
        if not future.done():
            future.set_result(events[start:end])
        start = end


_STOP = object()


class GroupCommitWriter:
    """The single writer of one Journal: a thread that commits queued appends in batches."""

    def __init__(
        self,
        backend: Backend,
        connect: Callable[[], Any],
        on_commit: Callable[[int], None],
        max_batch_events: int = 8192,
    ) -> None:
        self._backend = backend
        self._connect = connect
        self._on_commit = on_commit
        self._max_batch_events = max_batch_events
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._conn: Any = None
        # Stream versions as of `_known_head`, the head this writer last committed. Under the
        # write lock, the rows other writers appended after it update the cache; when there
        # is no known head (start, failure) the cache is dropped and versions are re-read.
        self._versions: dict[str, int] = {}
        self._known_head: tuple[int, str] | None = None
        self._closed = False
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.commits = 0  # transactions that wrote at least one event
        self.appends = 0  # requests that wrote their events
        sql = backend.sql
        self._sql_head = f"SELECT position, hash FROM {TABLE} ORDER BY position DESC LIMIT 1"
        self._sql_insert = sql(f"INSERT INTO {TABLE} ({COLUMNS}) VALUES ({backend.params(11)})")
        self._sql_versions = (
            f"SELECT stream_id, MAX(version) FROM {TABLE} WHERE stream_id IN ({{}}) "
            "GROUP BY stream_id"
        )
        self._sql_by_id = f"SELECT {COLUMNS} FROM {TABLE} WHERE event_id IN ({{}})"
        self._sql_changed = sql(
            f"SELECT stream_id, MAX(version) FROM {TABLE} WHERE position > ? AND position <= ? "
            "GROUP BY stream_id"
        )

    def submit(self, request: AppendRequest) -> None:
        """Queue one request; the writer thread starts on the first one."""
        self.submit_many([request])

    def submit_many(self, requests: list[AppendRequest]) -> None:
        """Queue several requests with one wake-up of the writer thread."""
        with self._lock:
            if self._closed:
                raise JournalClosed("the journal is closed")
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="journal-writer", daemon=True
                )
                self._thread.start()
            self._queue.put(requests)

    def close(self) -> None:
        """Finish every queued append, then stop the thread and release the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._queue.put(_STOP)
        if thread is not None:
            thread.join()
        self._drop_connection()

    # -- writer thread -------------------------------------------------------------------

    def _run(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                break
            batch: list[AppendRequest] = list(first)
            count = sum(len(r.events) for r in batch)
            while count < self._max_batch_events:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                    break
                batch.extend(item)
                count += sum(len(r.events) for r in item)
            try:
                self._process(batch)
            except BaseException as exc:  # a bug here must not leave callers waiting forever
                log.exception("journal writer failed on a batch of %d appends", len(batch))
                failure = JournalUnavailable(f"the journal writer failed: {exc!r}")
                with contextlib.suppress(BaseException):
                    self._complete(batch, [failure] * len(batch))

    def _process(self, batch: list[AppendRequest]) -> None:
        outcomes: list[Outcome]
        try:
            outcomes = self._write(batch)
        except Exception as exc:
            self._drop_connection()
            if len(batch) == 1 or not _caused_by_data(exc):
                # A lock timeout or a lost connection would only repeat for each request.
                outcomes = [_as_journal_error(exc)] * len(batch)
            else:
                # Something outside the per-request checks failed: retry each request
                # alone, so the failure lands only on the request that causes it.
                log.warning("journal batch of %d appends failed (%s); retrying one by one",
                            len(batch), exc)
                outcomes = []
                for request in batch:
                    try:
                        outcomes.extend(self._write([request]))
                    except Exception as single_exc:
                        self._drop_connection()
                        outcomes.append(_as_journal_error(single_exc))
        self._complete(batch, outcomes)

    def _complete(self, batch: list[AppendRequest], outcomes: list[Outcome]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Any]] = {}
        for request, outcome in zip(batch, outcomes, strict=True):
            loop = request.loop
            if loop is not None:
                items = by_loop.get(loop)
                if items is None:
                    by_loop[loop] = [(request, outcome)]
                else:
                    items.append((request, outcome))
            elif request.waiter is not None:
                if isinstance(outcome, BaseException):
                    request.waiter.set(None, outcome)
                else:
                    request.waiter.set(to_events(outcome), None)
        for loop, items in by_loop.items():
            try:
                loop.call_soon_threadsafe(_deliver_async, items)
            except RuntimeError:
                log.warning("an event loop closed before its %d appends completed", len(items))

    def _connection(self) -> Any:
        if self._conn is None:
            try:
                self._conn = self._connect()
            except JournalError:
                raise
            except Exception as exc:
                raise JournalUnavailable(f"cannot connect to the journal database: {exc}") from exc
            self._backend.prepare_writer(self._conn.driver_connection)
        return self._conn

    def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.invalidate()
            except Exception:  # the connection is being thrown away anyway
                log.debug("closing a failed writer connection raised", exc_info=True)

    def _write(self, batch: list[AppendRequest]) -> list[Outcome]:
        dbapi = self._connection().driver_connection
        try:
            position, prev, existing = self._read_state(dbapi, batch)
            versions = self._versions
            track_ids = any(r.ids_supplied for r in batch)  # a later request may retry an id
            link = chain_link
            prev_raw = bytes.fromhex(prev)
            now = time.time_ns()  # one commit, one recording time
            rows: list[Row] = []
            outcomes: list[Outcome] = []
            written = 0
            for request in batch:
                try:
                    request_rows = self._check_recorded(request, existing)
                    if request_rows is None:
                        stream = request.stream_id
                        version = versions.get(stream, 0)
                        expected = request.expected_version
                        if expected is not None and expected != version:
                            raise WrongExpectedVersion(stream, expected, version)
                        header_stream = request.header_stream
                        request_rows = []
                        for event_id, type_, schema, payload, metadata, middle, body in (
                            request.events
                        ):
                            position += 1
                            version += 1
                            prev_raw = link(prev_raw, position, header_stream, version,
                                            middle, now, body)
                            digest = prev_raw.hex()
                            row: Row = (position, stream, version, event_id, type_, schema,
                                        payload, metadata, now, prev, digest)
                            prev = digest
                            request_rows.append(row)
                            if track_ids:
                                existing[event_id] = row
                        versions[stream] = version
                        rows += request_rows
                    written += 1
                    outcomes.append(request_rows)
                except JournalError as exc:
                    outcomes.append(exc)
            self._backend.insert_and_commit(dbapi, self._sql_insert, rows, position)
        except BaseException:
            self._versions.clear()
            self._known_head = None
            _rollback_quietly(dbapi)
            raise
        if len(versions) > _MAX_CACHED_STREAMS:
            versions.clear()
            self._known_head = None
        else:
            self._known_head = (position, prev)
        if rows:
            self.commits += 1
            self.appends += written
            self._on_commit(position)
        return outcomes

    def _read_state(
        self, dbapi: Any, batch: list[AppendRequest]
    ) -> tuple[int, str, dict[str, Row]]:
        """Lock, then read the head, stream versions and recorded ids in one round trip.

        Cached stream versions stay valid across batches: the rows other writers appended
        since this writer's last commit are read too, and only their streams are updated.
        """
        versions = self._versions
        known = self._known_head
        self._known_head = None  # until this batch commits
        if known is None:
            versions.clear()
        # Where a round trip is dear (PostgreSQL), ask for foreign changes on speculation;
        # where a statement is cheap (SQLite), ask only once the head shows there are any.
        speculative = known is not None and self._backend.pipelined
        queries: list[tuple[str, Sequence[Any]]] = [(self._sql_head, ())]
        if speculative:
            assert known is not None
            queries.append((self._sql_changed, (known[0], known[0] + _CHANGES_WINDOW)))
        uncached = [s for s in {r.stream_id for r in batch} if s not in versions]
        version_chunks = _chunks(uncached)
        queries += [(self._in_sql(self._sql_versions, len(c)), c) for c in version_chunks]
        id_chunks = _chunks([e[0] for r in batch if r.ids_supplied for e in r.events])
        queries += [(self._in_sql(self._sql_by_id, len(c)), c) for c in id_chunks]

        results = self._backend.run_locked(dbapi, queries)

        head = results[0][0] if results[0] else None
        position, prev = (head[0], head[1]) if head else (0, GENESIS_HASH)
        index = 2 if speculative else 1
        stale = False
        if known is not None and (position, prev) != known:
            others = position - known[0]
            if 0 < others <= _CHANGES_WINDOW:
                versions.update(
                    results[1] if speculative else self._backend.run_plain(
                        dbapi, self._sql_changed, (known[0], known[0] + _CHANGES_WINDOW))
                )
            else:  # moved backwards or too far: start the cache afresh
                stale = True
        fresh: dict[str, int] = {}
        for chunk in version_chunks:
            fresh.update(dict.fromkeys(chunk, 0))
            fresh.update(results[index])
            index += 1
        if stale:
            versions.clear()
            rest = [s for s in {r.stream_id for r in batch} if s not in fresh]
            for chunk in _chunks(rest):
                fresh.update(dict.fromkeys(chunk, 0))
                fresh.update(self._backend.run_plain(
                    dbapi, self._in_sql(self._sql_versions, len(chunk)), chunk))
        versions.update(fresh)
        existing: dict[str, Row] = {}
        for _ in id_chunks:
            for row in results[index]:
                existing[row[3]] = tuple(row)
            index += 1
        return position, prev, existing

    def _in_sql(self, template: str, count: int) -> str:
        return self._backend.sql(template.format(self._backend.params(count)))

    @staticmethod
    def _check_recorded(request: AppendRequest, existing: dict[str, Row]) -> list[Row] | None:
        """The recorded rows when every id is recorded, None when none is, else an error."""
        if not request.ids_supplied:
            return None
        ids = [e[0] for e in request.events]
        recorded = [existing[i] for i in ids if i in existing]
        if not recorded:
            return None
        if len(recorded) < len(ids):
            known = [r[3] for r in recorded]
            missing = [i for i in ids if i not in existing]
            raise EventIdConflict(
                f"append to stream {request.stream_id!r}: event ids {known} are recorded "
                f"already but {missing} are not; retry with exactly the original events",
                known,
            )
        elsewhere = [r[3] for r in recorded if r[1] != request.stream_id]
        if elsewhere:
            raise EventIdConflict(
                f"append to stream {request.stream_id!r}: event ids {elsewhere} are recorded "
                "in another stream",
                elsewhere,
            )
        return recorded


def _chunks(items: list[str]) -> list[list[str]]:
    return [items[i : i + _IN_CHUNK] for i in range(0, len(items), _IN_CHUNK)]


def _rollback_quietly(dbapi: Any) -> None:
    try:
        dbapi.rollback()
    except Exception:
        log.debug("rollback after a failed append raised", exc_info=True)


def _caused_by_data(exc: BaseException) -> bool:
    """True for constraint and data errors, which one request of a batch can cause alone."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    return bool(names & {"IntegrityError", "DataError"})


def _as_journal_error(exc: BaseException) -> BaseException:
    """Database failures reach callers as JournalUnavailable; journal errors pass through."""
    if isinstance(exc, JournalError):
        return exc
    return JournalUnavailable(f"the append was not committed: {exc}")
