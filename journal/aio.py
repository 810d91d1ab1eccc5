"""The asyncio journal: appends await the shared writer's futures; queries run in threads.

`tail()` waits for new events: it is woken by this process's own commits, by PostgreSQL
LISTEN/NOTIFY from other processes, and falls back to polling (SQLite written by another
process).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Generator, Sequence
from concurrent.futures import Future
from types import TracebackType
from typing import Any, Self

from journal.backends import NOTIFY_CHANNEL, Durability, PostgresBackend
from journal.codec import DEFAULT_MAX_PAYLOAD_BYTES
from journal.errors import InvalidEvent
from journal.model import EventColumns, Head, NewEvent, RecordedEvent, VerifyReport
from journal.sync import DEFAULT_READ_BATCH, Batch, Fetched, Journal
from journal.writer import AppendRequest

log = logging.getLogger(__name__)


class AsyncJournal:
    """The same journal for asyncio code; never blocks the event loop."""

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        # Appends made in one turn of an event loop reach the writer together: one hand-off
        # (one thread wake-up) per turn instead of one per append.
        self._pending: dict[asyncio.AbstractEventLoop, list[AppendRequest]] = {}
        self.hand_over_every = 256

    @classmethod
    async def open(
        cls,
        url: str,
        *,
        durability: Durability = "full",
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
        read_batch_size: int = DEFAULT_READ_BATCH,
        max_batch_events: int = 8192,
        pool_size: int = 4,
    ) -> AsyncJournal:
        """Connect (in a thread) to a migrated journal database."""
        journal = await asyncio.to_thread(
            Journal.open,
            url,
            durability=durability,
            max_payload_bytes=max_payload_bytes,
            read_batch_size=read_batch_size,
            max_batch_events=max_batch_events,
            pool_size=pool_size,
        )
        return cls(journal)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        """Commit what is queued, then release the writer and the connections."""
        await asyncio.to_thread(self.journal.close)

    async def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: int | None = None,
    ) -> list[RecordedEvent]:
        """Same contract as Journal.append; resolves once the batch holding it committed.

        Cancelling the caller does not withdraw a queued append: it may still commit. Retry
        with the same event ids to find out; the retry returns what was recorded.
        """
        request = self.journal.prepare(stream_id, events, expected_version)
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[RecordedEvent]] = loop.create_future()
        request.future = future
        request.loop = loop
        pending = self._pending.get(loop)
        if pending is None:
            self._pending[loop] = [request]
            loop.call_soon(self._hand_over, loop)
        else:
            pending.append(request)
            if len(pending) >= self.hand_over_every:
                # A very busy turn: hand over early so the writer starts on these.
                self._pending[loop] = []
                self._submit(pending)
        return await future

    def _hand_over(self, loop: asyncio.AbstractEventLoop) -> None:
        self._submit(self._pending.pop(loop, []))

    def _submit(self, requests: list[AppendRequest]) -> None:
        """Give requests to the writer; if it refuses (closed), each caller gets the error."""
        if not requests:
            return
        try:
            self.journal.submit_many(requests)
        except Exception as exc:
            for request in requests:
                if request.future is not None and not request.future.done():
                    request.future.set_exception(exc)

    async def read_stream(self, stream_id: str, from_version: int = 0) -> list[RecordedEvent]:
        """The stream's events with version greater than `from_version`."""
        return await asyncio.to_thread(self.journal.read_stream, stream_id, from_version)

    async def read_all(
        self, from_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[RecordedEvent]:
        """Every event after `from_position` in position order, batch by batch."""
        async for batch in self.read_batches(from_position, limit):
            for event in batch:
                yield event

    async def read_batches(
        self, from_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[list[RecordedEvent]]:
        """The events of read_all as lists of up to read_batch_size, for bulk consumers.

        The first batch is fetched and decoded in a thread. After that the next batch is
        fetched on the journal's reader thread (on SQLite without the GIL) while the caller
        works on the current one, and this coroutine awaits that fetch without blocking the
        loop; each batch is then decoded here, on the thread that uses it, while it is still
        in that core's cache (decoding holds the GIL wherever it runs): a rebuild goes about
        a quarter faster than when a thread decodes.
        """
        _check_read_arguments(from_position, limit)
        async for batch in _stepped(self.journal.batches(from_position, limit)):
            yield batch

    async def read_column_batches(
        self, from_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[EventColumns]:
        """Journal.column_batches (the rebuild's lighter read) the way read_batches reads."""
        _check_read_arguments(from_position, limit)
        async for batch in _stepped(self.journal.column_batches(from_position, limit)):
            yield batch

    async def head(self) -> Head:
        """The last position and its hash."""
        return await asyncio.to_thread(self.journal.head)

    async def verify(self, expect_head: Head | None = None) -> VerifyReport:
        """Walk the hash chain in a thread."""
        return await asyncio.to_thread(self.journal.verify, expect_head)

    async def tail(
        self, from_position: int = 0, *, poll_interval: float = 0.5
    ) -> AsyncIterator[RecordedEvent]:
        """Every event after `from_position`, then each new one as it commits; never ends."""
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()

        def on_commit(_head: int) -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed under us
                loop.call_soon_threadsafe(wake.set)

        key = self.journal.add_commit_listener(on_commit)
        listener = await self._listen(wake)
        try:
            position = from_position
            size = self.journal.read_batch_size
            while True:
                wake.clear()
                batch = await asyncio.to_thread(self.journal.read_batch, position, size)
                for event in batch:
                    yield event
                    position = event.position
                if len(batch) == size:
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(wake.wait(), poll_interval)
        finally:
            self.journal.remove_commit_listener(key)
            if listener is not None:
                await listener.stop()

    async def _listen(self, wake: asyncio.Event) -> _PgListener | None:
        backend = self.journal.backend
        if not isinstance(backend, PostgresBackend):
            return None
        listener = _PgListener(backend.libpq_dsn(), wake)
        try:
            await listener.start()
        except Exception:
            log.warning("LISTEN failed; tailing falls back to polling", exc_info=True)
            return None
        return listener


async def _stepped(
    steps: Generator[tuple[Batch, Future[Fetched] | None], None, None],
) -> AsyncIterator[Batch]:
    """Drive a journal batch generator from a loop: its first step in a thread, then each
    following step once the read-ahead it started has finished, awaited off the loop."""
    try:
        step = await asyncio.to_thread(next, steps, None)
        while step is not None:
            batch, pending = step
            yield batch
            if pending is None:
                await asyncio.sleep(0)  # the loop gets its turn between batches
            else:  # its failure, if any, is raised by the step that uses it
                with contextlib.suppress(Exception):
                    await asyncio.wrap_future(pending)
            step = next(steps, None)
    finally:
        with contextlib.suppress(ValueError):  # cancelled while its first fetch still runs
            steps.close()


def _check_read_arguments(from_position: int, limit: int | None) -> None:
    """The same checks as Journal.read_all, made before any thread starts."""
    if type(from_position) is not int or from_position < 0:
        raise InvalidEvent(f"from_position must be an integer >= 0, got {from_position!r}")
    if limit is not None and (type(limit) is not int or limit < 0):
        raise InvalidEvent(f"limit must be an integer >= 0, got {limit!r}")


class _PgListener:
    """A LISTEN connection whose notifications set an asyncio.Event."""

    def __init__(self, dsn: str, wake: asyncio.Event) -> None:
        self._dsn = dsn
        self._wake = wake
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        import psycopg

        self._conn = await psycopg.AsyncConnection.connect(self._dsn, autocommit=True)
        await self._conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            async for _ in self._conn.notifies():
                self._wake.set()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("LISTEN connection lost; tailing falls back to polling", exc_info=True)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await self._conn.close()
