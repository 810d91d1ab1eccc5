"""The synchronous journal: thread-safe appends through the group-commit writer, direct reads."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Generator, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import sqlalchemy as sa

from journal.backends import COLUMNS, LIGHT_COLUMNS, TABLE, Backend, Durability, backend_for
from journal.codec import DEFAULT_MAX_PAYLOAD_BYTES, GENESIS_HASH, check_identifier
from journal.errors import InvalidEvent, JournalError, JournalUnavailable, NotMigrated
from journal.model import EventColumns, Head, NewEvent, RecordedEvent, VerifyReport
from journal.rows import (
    LightRow,
    Row,
    collector_paused,
    from_columns,
    light_from_columns,
    light_from_rows,
    to_events,
)
from journal.verify import verify_rows
from journal.writer import AppendRequest, GroupCommitWriter, ThreadWaiter, prepare_append

DEFAULT_READ_BATCH = 10_000
log = logging.getLogger(__name__)

# A batch as fetched, before decoding: (events in it, its last position, the backend's form:
# one aggregate row of JSON arrays, or a list of stored rows).
Fetched = tuple[int, int, Any]
# A decoded batch: RecordedEvents (read_all) or columns (the rebuild's lighter read).
Batch = TypeVar("Batch", list[RecordedEvent], EventColumns)


class Journal:
    """An append-only event store; every append is durable before it returns."""

    def __init__(
        self,
        backend: Backend,
        engine: sa.Engine,
        *,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        read_batch_size: int = DEFAULT_READ_BATCH,
        max_batch_events: int = 8192,
    ) -> None:
        if max_payload_bytes < 2:
            raise JournalError(f"max_payload_bytes must be at least 2, got {max_payload_bytes}")
        if read_batch_size < 1:
            raise JournalError(f"read_batch_size must be positive, got {read_batch_size}")
        self.backend = backend
        self.engine = engine
        self.max_payload_bytes = max_payload_bytes
        self.read_batch_size = read_batch_size
        self._listeners: dict[int, Callable[[int], None]] = {}
        self._listeners_lock = threading.Lock()
        self._writer = GroupCommitWriter(
            backend, engine.raw_connection, self._committed, max_batch_events
        )
        b = backend.sql
        self._sql_all = b(f"SELECT {COLUMNS} FROM {TABLE} WHERE position > ? "
                          "ORDER BY position LIMIT ?")
        self._sql_stream = b(f"SELECT {COLUMNS} FROM {TABLE} WHERE stream_id = ? AND version > ? "
                             "ORDER BY version")
        self._sql_head = f"SELECT position, hash FROM {TABLE} ORDER BY position DESC LIMIT 1"
        self._sql_light = b(f"SELECT {LIGHT_COLUMNS} FROM {TABLE} WHERE position > ? "
                            "ORDER BY position LIMIT ?")
        self._sql_columns = b(backend.columns_sql) if backend.columns_sql else None
        self._sql_light_columns = (
            b(backend.light_columns_sql) if backend.light_columns_sql else None
        )
        # Fetches the next batch of a long read_all while the caller works on the current one.
        self._reader: ThreadPoolExecutor | None = None
        self._reader_lock = threading.Lock()

    @classmethod
    def open(
        cls,
        url: str,
        *,
        durability: Durability = "full",
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        read_batch_size: int = DEFAULT_READ_BATCH,
        max_batch_events: int = 8192,
        pool_size: int = 4,
    ) -> Journal:
        """Connect to a migrated journal database (SQLite file or PostgreSQL)."""
        backend = backend_for(url, durability)
        if backend.name == "sqlite":
            path = Path(backend.url.database or "")
            if not path.exists():
                raise NotMigrated(
                    f"no journal database at {path.resolve()}: run `oms init --db {url}` first"
                )
        engine = backend.create_engine(pool_size)
        try:
            journal = cls(
                backend,
                engine,
                max_payload_bytes=max_payload_bytes,
                read_batch_size=read_batch_size,
                max_batch_events=max_batch_events,
            )
            journal._check_schema()
        except BaseException:
            engine.dispose()
            raise
        return journal

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Commit what is queued, stop the writer and close every connection."""
        self._writer.close()
        with self._reader_lock:
            reader, self._reader = self._reader, None
        if reader is not None:  # waits for a running fetch: one bounded query
            reader.shutdown(wait=True, cancel_futures=True)
        self.engine.dispose()

    # -- writing -------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = None,
    ) -> list[RecordedEvent]:
        """Append events to a stream after checking its version; returns once committed.

        expected_version: None accepts any version, 0 requires an empty stream, n requires
        the stream to be at version n. When every event id is recorded already, the recorded
        events are returned and nothing is written.
        """
        request = self.prepare(stream_id, events, expected_version)
        waiter = ThreadWaiter()
        request.waiter = waiter
        self._writer.submit(request)
        return waiter.wait()

    def prepare(
        self, stream_id: str, events: Sequence[NewEvent], expected_version: int | None
    ) -> AppendRequest:
        """Validate and encode an append without queueing it (shared with AsyncJournal)."""
        return prepare_append(stream_id, events, expected_version, self.max_payload_bytes)

    @property
    def writer(self) -> GroupCommitWriter:
        """The group-commit writer (its `commits` and `appends` counters show the batching)."""
        return self._writer

    def submit_many(self, requests: list[AppendRequest]) -> None:
        """Hand prepared requests to the writer at once (used by AsyncJournal)."""
        self._writer.submit_many(requests)

    # -- reading -------------------------------------------------------------------------

    def read_stream(self, stream_id: str, from_version: int = 0) -> list[RecordedEvent]:
        """The stream's events with version greater than `from_version`, in version order."""
        check_identifier(stream_id, "stream id")
        _check_non_negative(from_version, "from_version")
        with collector_paused(), self._cursor() as cur:
            cur.execute(self._sql_stream, (stream_id, from_version))
            return to_events(cur.fetchall())

    def read_all(self, from_position: int = 0, limit: int | None = None) -> Iterator[RecordedEvent]:
        """Every event after `from_position` in position order, fetched in large batches.

        While the caller iterates over one batch, the next is fetched on a reader thread (on
        SQLite the query runs without the GIL). A generator closed or dropped early leaves at
        most that one fetch running; it returns its connection when it ends.
        """
        for events, _ in self.batches(from_position, limit):
            yield from events

    def batches(
        self, from_position: int = 0, limit: int | None = None
    ) -> Generator[tuple[list[RecordedEvent], Future[Fetched] | None], None, None]:
        """read_all's events batch by batch, each with the fetch of the next one already
        running (None when there is none), so an async caller can await it off its loop."""
        return self._batches(from_position, limit, False, self._decode)

    def column_batches(
        self, from_position: int = 0, limit: int | None = None
    ) -> Generator[tuple[EventColumns, Future[Fetched] | None], None, None]:
        """The events of read_all for a rebuild, as columns without ids, metadata or hashes.

        Same order, batching and read-ahead as `batches`; each batch is an EventColumns.
        Cheaper to fetch and decode than RecordedEvents; what it leaves out is not read, so
        a damaged metadata text or hash does not stop it (`verify` is the check for those).
        """
        return self._batches(from_position, limit, True, self._decode_light)

    def _batches(
        self,
        from_position: int,
        limit: int | None,
        light: bool,
        decode: Callable[[int, int, Fetched], Batch],
    ) -> Generator[tuple[Batch, Future[Fetched] | None], None, None]:
        """The batch loop shared by both reads: fetch ahead, decode here, stop when short."""
        _check_non_negative(from_position, "from_position")
        if limit is not None:
            _check_non_negative(limit, "limit")
        remaining = limit
        after = from_position
        size = self.read_batch_size
        want = size if remaining is None else min(size, remaining)
        if want == 0:
            return
        fetched = self._fetch(after, want, light)
        pending: Future[Fetched] | None = None
        try:
            while True:
                count, last, _ = fetched
                ahead = size if remaining is None else min(size, remaining - count)
                if count == want and ahead > 0:
                    pending = self._fetch_ahead(last, ahead, light)
                with collector_paused():  # no caller code runs inside: it ends before the yield
                    batch = decode(after, want, fetched)
                got = len(batch)
                if not got:
                    return
                after = _last_position(batch)
                yield batch, pending
                if remaining is not None:
                    remaining -= got
                if got < want:
                    return
                want = size if remaining is None else min(size, remaining)
                if want == 0:
                    return
                if pending is not None and (after, want) == (last, ahead):
                    fetched = pending.result()
                else:  # read row by row, which saw another batch than the aggregate
                    if pending is not None:
                        pending.cancel()
                    fetched = self._fetch(after, want, light)
                pending = None
        finally:
            if pending is not None:
                pending.cancel()

    def read_batch(self, from_position: int, limit: int) -> list[RecordedEvent]:
        """Up to `limit` decoded events after `from_position` (one query)."""
        with collector_paused():
            return self._decode(from_position, limit, self._fetch(from_position, limit))

    def _fetch(self, after: int, limit: int, light: bool = False) -> Fetched:
        """Up to `limit` events after `after` as the backend hands them out, undecoded."""
        sql = self._sql_light_columns if light else self._sql_columns
        if limit < 1:
            return 0, after, []
        if sql is not None:
            try:
                with self._cursor() as cur:
                    cur.execute(sql, (after, limit))
                    row = cur.fetchone()
            except JournalUnavailable:
                raise
            except Exception as exc:  # e.g. a BLOB written by hand: JSON cannot hold it
                if "no such function" in str(exc):  # SQLite built without JSON
                    self._sql_columns = self._sql_light_columns = None
            else:
                return row[0], row[1], row
        rows = self._read_light_rows(after, limit) if light else self.read_rows(after, limit)
        return len(rows), rows[-1][0] if rows else after, rows

    def _fetch_ahead(self, after: int, limit: int, light: bool) -> Future[Fetched]:
        """_fetch on the reader thread (started on first use)."""
        with self._reader_lock:
            if self._reader is None:
                self._reader = ThreadPoolExecutor(2, thread_name_prefix="journal-read")
            try:
                return self._reader.submit(self._fetch, after, limit, light)
            except RuntimeError:  # interpreter shutting down: fetch here instead
                pass
        done: Future[Fetched] = Future()
        done.set_result(self._fetch(after, limit, light))
        return done

    def _decode(self, after: int, limit: int, fetched: Fetched) -> list[RecordedEvent]:
        """Events of a fetched batch; an aggregate failing a guard is read again row by row."""
        data = fetched[2]
        if isinstance(data, list):
            return to_events(data)
        events = from_columns(data, after)
        if events is None:
            events = to_events(self.read_rows(after, limit))
        return events

    def _decode_light(self, after: int, limit: int, fetched: Fetched) -> EventColumns:
        """Columns of a fetched light batch; an aggregate failing a guard is read row by row."""
        data = fetched[2]
        if isinstance(data, list):
            return light_from_rows(data)
        columns = light_from_columns(data, after)
        if columns is None:
            columns = light_from_rows(self._read_light_rows(after, limit))
        return columns

    def _read_light_rows(self, from_position: int, limit: int) -> list[LightRow]:
        """Up to `limit` rows of the lighter read's columns after `from_position`."""
        with self._cursor() as cur:
            cur.execute(self._sql_light, (from_position, limit))
            rows: list[LightRow] = cur.fetchall()
            return rows

    def read_rows(self, from_position: int, limit: int) -> list[Row]:
        """Up to `limit` stored rows after `from_position`, undecoded (one query)."""
        with self._cursor() as cur:
            cur.execute(self._sql_all, (from_position, limit))
            rows: list[Row] = cur.fetchall()
            return rows

    def head(self) -> Head:
        """The last position and its hash; (0, genesis hash) for an empty journal."""
        with self._cursor() as cur:
            cur.execute(self._sql_head)
            row = cur.fetchone()
        return Head(row[0], row[1]) if row else Head(0, GENESIS_HASH)

    def verify(self, expect_head: Head | None = None) -> VerifyReport:
        """Walk the whole chain; with `expect_head`, also detect a truncated or rewritten tail."""
        return verify_rows(self._row_batches(), expect_head)

    def _row_batches(self) -> Iterator[list[Row]]:
        position = 0
        while True:
            rows = self.read_rows(position, self.read_batch_size)
            if not rows:
                return
            yield rows
            position = rows[-1][0]

    # -- plumbing ------------------------------------------------------------------------

    def add_commit_listener(self, callback: Callable[[int], None]) -> int:
        """Call `callback(head_position)` from the writer thread after each commit."""
        with self._listeners_lock:
            key = id(callback)
            self._listeners[key] = callback
            return key

    def remove_commit_listener(self, key: int) -> None:
        """Stop calling a listener added with add_commit_listener."""
        with self._listeners_lock:
            self._listeners.pop(key, None)

    def _committed(self, head_position: int) -> None:
        with self._listeners_lock:
            listeners = list(self._listeners.values())
        for listener in listeners:
            try:
                listener(head_position)
            except Exception:  # the batch is committed: a listener must not fail it
                log.exception("a journal commit listener failed")

    def _connect(self) -> Any:
        try:
            return self.engine.raw_connection()
        except Exception as exc:
            reason = getattr(exc, "orig", None) or exc
            raise JournalUnavailable(
                f"cannot connect to the journal database {_safe(self.backend.url)}: {reason}"
            ) from exc

    @contextmanager
    def _cursor(self) -> Iterator[Any]:
        pooled = self._connect()
        try:
            cur = pooled.cursor()
            try:
                yield cur
            finally:
                cur.close()
        finally:
            pooled.close()

    def _check_schema(self) -> None:
        """NotMigrated with the fix when the events table is missing."""
        pooled = self._connect()
        try:
            cur = pooled.cursor()
            try:
                cur.execute(f"SELECT position FROM {TABLE} WHERE position = 0")
                cur.fetchall()
            except Exception as exc:
                if "no such table" in str(exc) or "does not exist" in str(exc):
                    raise NotMigrated(
                        f"the database {_safe(self.backend.url)} has no journal schema: "
                        f"run `oms init --db {_safe(self.backend.url)}` first"
                    ) from exc
                raise JournalUnavailable(f"cannot read the journal table: {exc}") from exc
            finally:
                cur.close()
        finally:
            pooled.close()


def _last_position(batch: list[RecordedEvent] | EventColumns) -> int:
    """The position of a decoded batch's last event (the batch is not empty)."""
    if isinstance(batch, EventColumns):
        return batch.positions[-1]
    return batch[-1].position


def _check_non_negative(value: int, what: str) -> None:
    if type(value) is not int or value < 0:
        raise InvalidEvent(f"{what} must be an integer >= 0, got {value!r}")


def _safe(url: sa.URL) -> str:
    return url.render_as_string(hide_password=True)
