"""Tailing: every committed event once, in position order, including other processes' writes."""

from __future__ import annotations

import asyncio
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

from journal import AsyncJournal, Journal, RecordedEvent, migrate
from tests.journal.conftest import event
from tests.journal.workers import append_from_threads


async def _collect(journal: AsyncJournal, from_position: int, count: int,
                   poll_interval: float = 0.5) -> list[RecordedEvent]:
    seen: list[RecordedEvent] = []
    async for recorded in journal.tail(from_position, poll_interval=poll_interval):
        seen.append(recorded)
        if len(seen) == count:
            break
    return seen


async def test_tail_returns_history_then_waits_for_new_events(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url, read_batch_size=3) as journal:
        await journal.append("s", [event(n) for n in range(5)])
        tailer = asyncio.create_task(_collect(journal, 2, 8, poll_interval=30))
        for n in range(5, 10):
            await journal.append("s", [event(n)])
        seen = await asyncio.wait_for(tailer, 20)
    assert [e.position for e in seen] == list(range(3, 11))
    assert [e.payload["n"] for e in seen] == list(range(2, 10))


async def test_tail_sees_writes_of_another_journal_instance(journal_url: str) -> None:
    async with await AsyncJournal.open(journal_url) as reader:
        tailer = asyncio.create_task(_collect(reader, 0, 3, poll_interval=0.05))
        with Journal.open(journal_url) as writer:
            for n in range(3):
                await asyncio.to_thread(writer.append, "other", [event(n)])
        seen = await asyncio.wait_for(tailer, 20)
    assert [e.payload["n"] for e in seen] == [0, 1, 2]


async def test_tailer_sees_every_event_of_several_writer_processes_once_in_order(
    db_url: str,
) -> None:
    """PostgreSQL wakes the tailer by NOTIFY (no polling here); SQLite is polled."""
    migrate(db_url)
    processes, threads, appends = 3, 6, 20
    total = processes * threads * appends
    poll_interval = 0.05 if db_url.startswith("sqlite") else 30
    async with await AsyncJournal.open(db_url) as reader:
        tailer = asyncio.create_task(_collect(reader, 0, total, poll_interval=poll_interval))
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(processes, mp_context=context) as pool:
            loop = asyncio.get_running_loop()
            runs = [
                loop.run_in_executor(pool, append_from_threads, db_url, f"p{i}", threads, appends)
                for i in range(processes)
            ]
            committed = [pair for run in await asyncio.gather(*runs) for pair in run]
        seen = await asyncio.wait_for(tailer, 60)
        report = await reader.verify()
    assert len(committed) == total
    assert [(e.position, e.event_id) for e in seen] == sorted(committed)
    assert [e.position for e in seen] == list(range(1, total + 1))
    assert report.ok and report.events == total
