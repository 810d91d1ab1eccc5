"""Only one reconciler runs at a time across processes sharing a PostgreSQL journal."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from journal import Journal, migrate
from oms.broker.sim import SimulatedTerminal
from oms.reconcile.events import RECONCILER_STREAM
from oms.reconcile.lock import FileRunLock, PostgresRunLock, lock_for
from tests.reconcile.support import make_reconciler

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.postgres
def test_two_processes_never_reconcile_at_once(pg_url: str) -> None:
    migrate(pg_url)
    runs = 6
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.reconcile.lock_worker", pg_url, str(runs)],
            cwd=ROOT,
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with Journal.open(pg_url) as journal:
        events = journal.read_stream(RECONCILER_STREAM)
    marks = [(e.type.rsplit(".", 1)[1], e.payload["run_id"], e.payload["pid"]) for e in events]
    assert len(marks) == 2 * 2 * runs
    assert len({pid for _, _, pid in marks}) == 2
    # In journal order every start is followed by the completion of the same run.
    for start, end in zip(marks[::2], marks[1::2], strict=True):
        assert start[0] == "run_started" and end[0] == "run_completed", marks
        assert start[1:] == end[1:], marks


@pytest.mark.postgres
async def test_a_scheduled_run_skips_while_another_process_holds_the_lock(pg_url: str) -> None:
    migrate(pg_url)
    holder = lock_for(pg_url)
    assert isinstance(holder, PostgresRunLock)
    assert holder.acquire(wait=False, timeout_s=0)
    journal = Journal.open(pg_url)
    try:
        reconciler = await make_reconciler(journal, SimulatedTerminal(seed=7), pg_url, locked=True)
        reconciler.lock_timeout_s = 0.2
        assert await reconciler.run(wait=False) is None
        assert await reconciler.run(wait=True) is None  # bounded wait, then gives up
        holder.release()
        assert await reconciler.run(wait=False) is not None
    finally:
        holder.close()
        journal.close()
    with Journal.open(pg_url) as check:
        assert len(check.read_stream(RECONCILER_STREAM)) == 2


def test_file_lock_excludes_a_second_holder(tmp_path: Path) -> None:
    first = FileRunLock(tmp_path / "j.db.reconcile.lock")
    second = FileRunLock(tmp_path / "j.db.reconcile.lock")
    try:
        assert first.acquire(wait=False, timeout_s=0)
        assert not second.acquire(wait=False, timeout_s=0)
        assert not second.acquire(wait=True, timeout_s=0.1)  # a bounded wait gives up
        first.release()
        assert second.acquire(wait=False, timeout_s=0)
    finally:
        first.close()
        second.close()
