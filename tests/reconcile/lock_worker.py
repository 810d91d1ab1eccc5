"""Child process for the lock test: reconcile repeatedly against a shared PostgreSQL journal."""

from __future__ import annotations

import asyncio
import sys

from journal import Journal
from oms.broker.sim import SimulatedTerminal
from tests.reconcile.support import make_reconciler


async def main(url: str, runs: int) -> None:
    journal = Journal.open(url)
    try:
        terminal = SimulatedTerminal(seed=7)
        reconciler = await make_reconciler(journal, terminal, url, locked=True)
        for _ in range(runs):
            report = await reconciler.run(trigger="lock-test", wait=True)
            assert report is not None
    finally:
        journal.close()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
