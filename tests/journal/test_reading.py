"""Reading: the batch read (one aggregate query per batch on SQLite) gives exactly what reading
row by row gives, falls back to the rows when a guard fails, and names a bad row's position."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import pytest

from journal import AsyncJournal, EventColumns, InvalidEvent, Journal, JournalError
from journal.rows import from_columns, light_from_columns, to_events
from tests.journal.conftest import drop_immutability_triggers, event, execute_as_owner


def _fill(journal: Journal, count: int) -> None:
    for n in range(1, count + 1):
        journal.append(f"s-{n % 3}", [event(n, text="abcdef")])


def _tamper(url: str, sql: str) -> None:
    drop_immutability_triggers(url)
    execute_as_owner(url, sql)


def _row_by_row(journal: Journal, after: int = 0) -> list[Any]:
    return to_events(journal.read_rows(after, 1_000))


@pytest.mark.parametrize(
    "payload",
    [
        '{"n":',  # cut short
        '{"n":1},{"n":2}',  # two values in one row
        "",  # nothing
    ],
)
def test_undecodable_payload_is_named_by_its_position(
    journal_url: str, payload: str
) -> None:
    with Journal.open(journal_url, read_batch_size=3) as journal:
        _fill(journal, 8)
        _tamper(journal_url, f"UPDATE journal_events SET payload = '{payload}' WHERE position = 5")
        with pytest.raises(JournalError, match="at position 5 does not decode"):
            list(journal.read_all())
        with pytest.raises(JournalError, match="at position 5 does not decode"):
            journal.read_batch(0, 100)
        assert [e.position for e in journal.read_all(limit=3)] == [1, 2, 3]  # before the bad batch
        assert [e.position for e in journal.read_all(from_position=5)] == [6, 7, 8]


async def test_async_reads_name_the_undecodable_position(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=2) as journal:
        for n in range(1, 7):
            await journal.append("s", [event(n)])
        _tamper(journal_url, "UPDATE journal_events SET metadata = '{' WHERE position = 4")
        seen: list[int] = []
        with pytest.raises(JournalError, match="at position 4 does not decode"):
            async for batch in journal.read_batches():
                seen.extend(e.position for e in batch)
        assert seen == [1, 2]


def test_hand_written_values_read_back_as_row_by_row(journal_url: str) -> None:
    """Valid JSON that is no object, a deleted row, and reordered rows all read as stored."""
    with Journal.open(journal_url, read_batch_size=4) as journal:
        _fill(journal, 10)
        drop_immutability_triggers(journal_url)
        execute_as_owner(
            journal_url,
            "UPDATE journal_events SET payload = '[1, 2]' WHERE position = 2",
            "UPDATE journal_events SET payload = '5', metadata = '\"m\"' WHERE position = 3",
            "DELETE FROM journal_events WHERE position = 6",
            "UPDATE journal_events SET position = 100 WHERE position = 8",
        )
        read = list(journal.read_all())
        assert read == _row_by_row(journal)
        assert [e.position for e in read] == [1, 2, 3, 4, 5, 7, 9, 10, 100]
        assert (read[1].payload, read[2].payload, read[2].metadata) == ([1, 2], 5, "m")
        assert [e.position for e in journal.read_all(from_position=4, limit=4)] == [5, 7, 9, 10]


def test_previous_hashes_read_back_as_stored_when_the_chain_is_broken(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=4) as journal:
        _fill(journal, 10)
        _tamper(journal_url, "UPDATE journal_events SET prev_hash = 'x,y' WHERE position = 3")
        execute_as_owner(
            journal_url,
            "UPDATE journal_events SET prev_hash = 'ab' WHERE position = 6",
            "UPDATE journal_events SET hash = 'cd' WHERE position = 9",
        )
        read = list(journal.read_all())
        assert read == _row_by_row(journal)
        assert (read[2].prev_hash, read[5].prev_hash, read[8].hash) == ("x,y", "ab", "cd")
        assert read[9].prev_hash != "cd"
        assert [e.prev_hash for e in read[6:9]] == [e.hash for e in read[5:8]]


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("UPDATE journal_events SET version = 0.1 + 0.2 WHERE position = 3", 0.1 + 0.2),
        ("UPDATE journal_events SET stream_id = CAST('s-b' AS BLOB) WHERE position = 3", None),
        ("UPDATE journal_events SET payload = CAST('{\"n\":3}' AS BLOB) WHERE position = 3", None),
        ("UPDATE journal_events SET prev_hash = CAST(prev_hash AS BLOB) WHERE position = 3",
         None),
    ],
)
def test_values_sqlite_cannot_render_exactly_are_read_row_by_row(
    sqlite_url: str, sql: str, expected: Any
) -> None:
    from journal import migrate

    migrate(sqlite_url)
    with Journal.open(sqlite_url, read_batch_size=4) as journal:
        _fill(journal, 6)
        _tamper(sqlite_url, sql)
        read = list(journal.read_all())
        assert read == _row_by_row(journal)
        assert [e.position for e in read] == [1, 2, 3, 4, 5, 6]
        if expected is not None:
            assert read[2].version == expected


def _aggregate(journal: Journal, after: int, limit: int) -> list[Any]:
    sql = journal.backend.columns_sql
    assert sql is not None
    with journal._cursor() as cur:
        cur.execute(sql, (after, limit))
        return list(cur.fetchone())


def test_each_guard_refuses_an_aggregate_it_cannot_trust(sqlite_journal: Journal) -> None:
    _fill(sqlite_journal, 5)
    row = _aggregate(sqlite_journal, 0, 10)
    decoded = from_columns(row, 0)
    assert decoded == _row_by_row(sqlite_journal)
    assert from_columns(_aggregate(sqlite_journal, 5, 10), 5) == []
    assert [e.position for e in from_columns(_aggregate(sqlite_journal, 1, 2), 1) or []] == [2, 3]
    assert sqlite_journal.read_batch(1, 0) == []

    def changed(index: int, value: Any, after: int = 0) -> list[Any] | None:
        copy = list(row)
        copy[index] = value
        return from_columns(copy, after)

    assert from_columns(row, 1) is None  # a position not after the requested one
    assert changed(2, "[1,2,4,3,5]") is None  # out of order
    assert changed(2, "[1,2,3,5,5]") is None  # a repeated position
    assert changed(2, "[1,2,3,4,6]") is None  # not the last position the query saw
    assert changed(4, row[4].replace("]", ".0]")) is None  # a REAL in an integer column
    assert changed(8, row[8][:-1] + ',{"x":1}]') is None  # one payload more than rows
    assert changed(9, row[9][:-2]) is None  # malformed metadata
    assert changed(9, None) is None  # group_concat gave NULL
    assert changed(5, row[5].replace('"', "'")) is None  # malformed ids
    assert changed(11, None) is None  # a previous hash holding a comma
    first = changed(11, "ab" + row[11][64:])  # the first previous hash is taken as stored
    assert first is not None and first[0].prev_hash == "ab"
    assert changed(11, row[11].replace(",", ",0", 1)) is None  # not the hash before
    assert changed(12, row[12].replace('"', '"f', 2)) is None  # a hash that is not the next one's
    assert changed(12, row[12].replace('"', "", 2)) is None  # a hash that is no text
    gap = list(row)
    gap[1], gap[2] = 7, "[1,2,4,5,7]"  # rows deleted by hand: increasing is enough
    assert [e.position for e in from_columns(gap, 0) or []] == [1, 2, 4, 5, 7]


def test_a_sqlite_without_json_functions_falls_back_for_good(sqlite_journal: Journal) -> None:
    _fill(sqlite_journal, 5)
    sqlite_journal._sql_columns = "SELECT no_such_function(?, ?)"
    assert [e.position for e in sqlite_journal.read_all()] == [1, 2, 3, 4, 5]
    assert sqlite_journal._sql_columns is None
    assert [e.position for e in sqlite_journal.read_all(from_position=3)] == [4, 5]
    assert sqlite_journal._sql_light_columns is None  # the lighter read falls back as well
    assert [c.positions for c, _ in sqlite_journal.column_batches(2)] == [[3, 4, 5]]


def test_the_lighter_read_falls_back_alone_when_it_meets_no_json(
    sqlite_journal: Journal,
) -> None:
    _fill(sqlite_journal, 5)
    sqlite_journal._sql_light_columns = "SELECT no_such_function(?, ?)"
    assert [c.positions for c, _ in sqlite_journal.column_batches()] == [[1, 2, 3, 4, 5]]
    assert sqlite_journal._sql_light_columns is None


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("journal-read")]


def test_an_abandoned_read_leaves_no_thread_or_connection(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=2) as journal:
        _fill(journal, 9)
        pool = journal.engine.pool
        reading = journal.read_all()
        assert [next(reading).position for _ in range(3)] == [1, 2, 3]  # a fetch ahead started
        readers = _reader_threads()
        assert readers
        reading.close()
        assert list(journal.read_all(from_position=7)) == journal.read_batch(7, 10)
        dropped = journal.read_all()
        next(dropped)
        del dropped
    assert not any(thread.is_alive() for thread in readers)
    assert pool.checkedout() == 0


def test_reading_after_close_still_works(journal_url: str) -> None:
    """As before the read ahead: close() releases the connections; reading opens new ones."""
    journal = Journal.open(journal_url, read_batch_size=2)
    _fill(journal, 5)
    journal.close()
    assert [e.position for e in journal.read_all()] == [1, 2, 3, 4, 5]
    journal.close()


def test_concurrent_readers_each_get_every_event(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=3) as journal:
        _fill(journal, 20)

        async def read_in_threads() -> list[list[int]]:
            def positions() -> list[int]:
                return [e.position for e in journal.read_all()]

            return list(await asyncio.gather(*(asyncio.to_thread(positions) for _ in range(4))))

        assert asyncio.run(read_in_threads()) == [list(range(1, 21))] * 4


def _as_columns(events: list[Any]) -> EventColumns:
    return EventColumns(
        [e.position for e in events], [e.stream_id for e in events],
        [e.version for e in events], [e.type for e in events],
        [e.schema_version for e in events], [e.payload for e in events],
        [e.recorded_at_ns for e in events],
    )


def _joined(batches: list[EventColumns]) -> EventColumns:
    fields = [[v for b in batches for v in getattr(b, name)] for name in _FIELDS]
    return EventColumns(*fields)


_FIELDS = ("positions", "stream_ids", "versions", "types", "schema_versions", "payloads",
           "recorded_at_ns")


def test_column_batches_hold_what_read_all_holds(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=4) as journal:
        assert [c for c, _ in journal.column_batches()] == []
        _fill(journal, 10)
        every = list(journal.read_all())
        batches = [c for c, _ in journal.column_batches()]
        assert [len(c) for c in batches] == [4, 4, 2]
        assert _joined(batches) == _as_columns(every)
        tail = [c for c, _ in journal.column_batches(from_position=3, limit=5)]
        assert [len(c) for c in tail] == [4, 1]
        assert _joined(tail) == _as_columns(every[3:8])
        assert [c for c, _ in journal.column_batches(from_position=10)] == []
        assert [c for c, _ in journal.column_batches(limit=0)] == []
        with pytest.raises(InvalidEvent, match="from_position"):
            next(journal.column_batches(from_position=-1))


def test_column_batches_skip_what_a_rebuild_does_not_read(journal_url: str) -> None:
    """Damaged metadata or hashes do not stop the lighter read; a damaged payload does."""
    with Journal.open(journal_url, read_batch_size=3) as journal:
        _fill(journal, 8)
        every = list(journal.read_all())
        _tamper(journal_url, "UPDATE journal_events SET metadata = '{' WHERE position = 4")
        execute_as_owner(journal_url, "UPDATE journal_events SET hash = 'x' WHERE position = 6")
        assert _joined([c for c, _ in journal.column_batches()]) == _as_columns(every)
        execute_as_owner(journal_url,
                         "UPDATE journal_events SET payload = '{\"n\":' WHERE position = 5")
        with pytest.raises(JournalError, match="at position 5 does not decode"):
            list(journal.column_batches())
        assert [c.positions for c, _ in journal.column_batches(limit=3)] == [[1, 2, 3]]


def test_hand_written_values_read_back_as_columns_row_by_row(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=4) as journal:
        _fill(journal, 10)
        drop_immutability_triggers(journal_url)
        execute_as_owner(
            journal_url,
            "UPDATE journal_events SET payload = '[1, 2]' WHERE position = 2",
            "DELETE FROM journal_events WHERE position = 6",
            "UPDATE journal_events SET position = 100 WHERE position = 8",
        )
        columns = _joined([c for c, _ in journal.column_batches()])
        assert columns == _as_columns(list(journal.read_all()))
        assert columns.positions == [1, 2, 3, 4, 5, 7, 9, 10, 100]
        assert columns.payloads[1] == [1, 2]


def test_each_guard_refuses_a_light_aggregate_it_cannot_trust(sqlite_journal: Journal) -> None:
    _fill(sqlite_journal, 5)
    sql = sqlite_journal.backend.light_columns_sql
    assert sql is not None
    with sqlite_journal._cursor() as cur:
        cur.execute(sql, (0, 10))
        row = list(cur.fetchone())
    assert light_from_columns(row, 0) == _as_columns(list(sqlite_journal.read_all()))
    assert light_from_columns([0, None, *[None] * 7], 0) == _as_columns([])

    def changed(index: int, value: Any, after: int = 0) -> EventColumns | None:
        copy = list(row)
        copy[index] = value
        return light_from_columns(copy, after)

    assert light_from_columns(row, 1) is None  # a position not after the requested one
    assert changed(2, "[1,2,4,3,5]") is None  # out of order
    assert changed(2, "[1,2,3,4,6]") is None  # not the last position the query saw
    assert changed(4, row[4].replace("]", ".0]")) is None  # a REAL in an integer column
    assert changed(7, row[7][:-1] + ',{"x":1}]') is None  # one payload more than rows
    assert changed(7, None) is None  # group_concat gave NULL
    assert changed(3, row[3].replace('"', "'")) is None  # malformed stream ids
    assert changed(5, '{"a":1}') is None  # no array


async def test_async_column_batches_read_ahead_like_read_batches(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=4) as journal:
        assert [c async for c in journal.read_column_batches()] == []
        for n in range(1, 12):
            await journal.append("s", [event(n)])
        every = [e async for e in journal.read_all()]
        batches = [c async for c in journal.read_column_batches(2)]
        assert [len(c) for c in batches] == [4, 4, 1]
        assert _joined(batches) == _as_columns(every[2:])
        async for batch in journal.read_column_batches(0, limit=6):  # stopping early is fine
            assert batch == _as_columns(every[:4])
            break
        assert [len(c) async for c in journal.read_column_batches(0, limit=6)] == [4, 2]
        with pytest.raises(InvalidEvent, match="limit"):
            [c async for c in journal.read_column_batches(0, limit=-1)]
