"""Group commit: concurrent appends share transactions, yet each caller gets its own outcome."""

from __future__ import annotations

import asyncio
import threading

import pytest

from journal import (
    AsyncJournal,
    EventIdConflict,
    InvalidEvent,
    Journal,
    NewEvent,
    WrongExpectedVersion,
)
from journal.writer import AppendRequest, ThreadWaiter
from tests.journal.conftest import event


def _queued(journal: Journal, stream: str, events: list[NewEvent],
            expected: int | None) -> AppendRequest:
    request = journal.prepare(stream, events, expected)
    request.waiter = ThreadWaiter()
    return request


def test_one_batch_gives_each_request_its_own_outcome(journal: Journal) -> None:
    journal.append("x", [NewEvent("A", {}, event_id="old-1")])
    ok_x = _queued(journal, "x", [event(1), event(2)], 1)
    stale_x = _queued(journal, "x", [event(3)], 1)  # x is at 3 after ok_x
    ok_y = _queued(journal, "y", [event(4)], 0)
    retry = _queued(journal, "x", [NewEvent("A", {}, event_id="old-1")], 0)
    partial = _queued(journal, "x", [NewEvent("A", {}, event_id="old-1"), event(5)], None)
    after_x = _queued(journal, "x", [event(6)], 3)
    batch = [ok_x, stale_x, ok_y, retry, partial, after_x]
    commits_before = journal.writer.commits

    journal.writer._process(batch)

    assert journal.writer.commits == commits_before + 1  # one transaction, one fsync
    assert [e.version for e in _wait(ok_x)] == [2, 3]
    with pytest.raises(WrongExpectedVersion, match="expected version 1, but the stream is at "
                                                   "version 3"):
        _wait(stale_x)
    assert [(e.stream_id, e.version, e.position) for e in _wait(ok_y)] == [("y", 1, 4)]
    assert [e.position for e in _wait(retry)] == [1]
    with pytest.raises(EventIdConflict):
        _wait(partial)
    assert [(e.version, e.position) for e in _wait(after_x)] == [(4, 5)]
    assert [e.position for e in journal.read_all()] == [1, 2, 3, 4, 5]
    assert journal.verify().ok


def test_same_event_id_in_two_requests_of_one_batch_is_written_once(journal: Journal) -> None:
    first = _queued(journal, "s", [NewEvent("A", {}, event_id="dup")], 0)
    second = _queued(journal, "s", [NewEvent("A", {}, event_id="dup")], 0)
    journal.writer._process([first, second])
    assert _wait(first) == _wait(second)
    assert journal.head().position == 1


def _wait(request: AppendRequest) -> list:  # type: ignore[type-arg]
    assert request.waiter is not None
    return request.waiter.wait()


def test_concurrent_threads_each_get_their_own_events(journal: Journal) -> None:
    threads, appends = 12, 15
    results: dict[int, list[int]] = {}
    conflicts: list[WrongExpectedVersion] = []
    start = threading.Barrier(threads + 1)

    def producer(index: int) -> None:
        start.wait()
        for n in range(appends):
            recorded = journal.append(f"t-{index}", [event(n)], expected_version=n)
            results.setdefault(index, []).extend(e.version for e in recorded)
        try:
            journal.append(f"t-{index}", [event(99)], expected_version=0)
        except WrongExpectedVersion as exc:
            conflicts.append(exc)

    workers = [threading.Thread(target=producer, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    for worker in workers:
        worker.join()

    assert results == {i: list(range(1, appends + 1)) for i in range(threads)}
    assert len(conflicts) == threads
    assert [e.position for e in journal.read_all()] == list(range(1, threads * appends + 1))
    assert journal.writer.appends == threads * appends
    assert journal.writer.commits <= journal.writer.appends
    assert journal.verify().ok


async def test_concurrent_tasks_fail_alone(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url) as journal:

        async def producer(index: int) -> list[int]:
            out: list[int] = []
            for n in range(10):
                recorded = await journal.append(f"a-{index}", [event(n)], expected_version=n)
                out.extend(e.version for e in recorded)
            return out

        async def conflicting() -> None:
            await journal.append("a-0", [event(0)], expected_version=0)

        async def bad_payload() -> None:
            await journal.append("a-1", [NewEvent("Bad", {"x": float("nan")})])

        results = await asyncio.gather(
            *(producer(i) for i in range(64)), conflicting(), bad_payload(),
            return_exceptions=True,
        )
        assert results[:64] == [list(range(1, 11))] * 64
        conflict, bad = results[64:]
        # The conflicting task may run before or after a-0's first append.
        assert isinstance(conflict, WrongExpectedVersion | type(None))
        assert isinstance(bad, InvalidEvent)
        head = await journal.head()
        assert head.position == 640 + (1 if conflict is None else 0)
        report = await journal.verify()
        assert report.ok and report.events == head.position
        assert journal.journal.writer.commits < journal.journal.writer.appends


async def test_async_reads_match_sync_reads(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=4) as journal:
        written = await journal.append("s", [event(n) for n in range(10)])
        assert await journal.read_stream("s", from_version=8) == written[8:]
        assert [e async for e in journal.read_all(from_position=2, limit=5)] == written[2:7]
        assert [e async for e in journal.read_all()] == written


def test_closed_journal_refuses_appends(journal_url: str) -> None:
    from journal import JournalClosed

    journal = Journal.open(journal_url)
    journal.append("s", [event(1)])
    journal.close()
    with pytest.raises(JournalClosed):
        journal.append("s", [event(2)])


@pytest.mark.parametrize("window", [50_000, 2])
def test_writers_sharing_a_database_see_each_others_versions(
    journal_url: str, window: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each writer caches stream versions; the other's appends must still be accounted for."""
    import journal.writer

    monkeypatch.setattr(journal.writer, "_CHANGES_WINDOW", window)
    with Journal.open(journal_url) as first, Journal.open(journal_url) as second:
        for n in range(8):
            writer = first if n % 2 == 0 else second
            writer.append("shared", [event(n)], expected_version=n)
            for _ in range(n % 3):  # sometimes more foreign rows than the window
                second.append(f"noise-{n}", [event(n)])
        with pytest.raises(WrongExpectedVersion) as caught:
            first.append("shared", [event(99)], expected_version=7)
        assert caught.value.actual == 8
        assert [e.version for e in first.read_stream("shared")] == list(range(1, 9))
        assert first.verify().ok


def test_a_row_the_database_refuses_fails_only_its_own_request(journal: Journal) -> None:
    """A constraint violation in a batch is retried request by request, failing only its own."""
    from journal import JournalUnavailable

    good = _queued(journal, "g", [event(1)], 0)
    colliding = journal.append("x", [event(3)])[0].event_id
    bad = _queued(journal, "b", [NewEvent("Tested", {"n": 2}, event_id=colliding)], 0)
    # Hide the recorded id from the idempotency check, so only the database's unique
    # index can catch it.
    bad.ids_supplied = False
    journal.writer._process([good, bad])
    assert [e.stream_id for e in _wait(good)] == ["g"]
    with pytest.raises(JournalUnavailable, match="not committed"):
        _wait(bad)
    assert [e.stream_id for e in journal.read_all()] == ["x", "g"]
    assert journal.verify().ok


@pytest.mark.postgres
def test_lost_connection_fails_the_append_and_the_next_one_reconnects(pg_url: str) -> None:
    from journal import JournalUnavailable, migrate
    from tests.conftest import _admin

    migrate(pg_url)
    with Journal.open(pg_url) as journal:
        journal.append("s", [event(1)])
        database = pg_url.rsplit("/", 1)[1]
        _admin(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            f"WHERE datname = '{database}' AND pid <> pg_backend_pid()"
        )
        with pytest.raises(JournalUnavailable, match="not committed"):
            journal.append("s", [event(2)], expected_version=1)
        recorded = journal.append("s", [event(3)], expected_version=1)
        assert [(e.position, e.version) for e in recorded] == [(2, 2)]
        assert journal.verify().ok


def test_a_failing_commit_listener_does_not_fail_the_append(journal: Journal) -> None:
    seen: list[int] = []

    def broken(_head: int) -> None:
        raise RuntimeError("listener bug")

    journal.add_commit_listener(broken)
    journal.add_commit_listener(seen.append)
    assert journal.append("s", [event(1)])[0].position == 1
    assert seen == [1]


async def test_async_batches_cover_every_event_once_in_order(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=4) as journal:
        written = await journal.append("s", [event(n) for n in range(10)])
        batches = [b async for b in journal.read_batches()]
        assert [len(b) for b in batches] == [4, 4, 2]
        assert [e for b in batches for e in b] == written
        limited = [b async for b in journal.read_batches(from_position=1, limit=6)]
        assert [[e.position for e in b] for b in limited] == [[2, 3, 4, 5], [6, 7]]
        assert [b async for b in journal.read_batches(limit=0)] == []
        assert [b async for b in journal.read_batches(from_position=10)] == []
        with pytest.raises(InvalidEvent, match="from_position"):
            [b async for b in journal.read_batches(from_position=-1)]


async def test_stopping_early_leaves_the_journal_usable(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=2) as journal:
        written = await journal.append("s", [event(n) for n in range(7)])
        seen = []
        reader = journal.read_all()
        async for recorded in reader:
            seen.append(recorded)
            if len(seen) == 3:
                break
        await reader.aclose()  # type: ignore[attr-defined]
        assert seen == written[:3]
        assert [e async for e in journal.read_all(from_position=3)] == written[3:]
