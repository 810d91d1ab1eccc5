"""Writer processes for the multi-process tests (importable by spawned children)."""

from __future__ import annotations

import threading

from journal import Journal, NewEvent


def append_from_threads(url: str, name: str, threads: int, appends: int) -> list[tuple[int, str]]:
    """Append from several threads of one process; return (position, event_id) of each commit."""
    committed: list[tuple[int, str]] = []
    lock = threading.Lock()
    errors: list[BaseException] = []

    def producer(index: int) -> None:
        stream = f"{name}-{index}"
        try:
            for n in range(appends):
                recorded = journal.append(
                    stream, [NewEvent("Produced", {"n": n, "by": stream})], expected_version=n
                )
                with lock:
                    committed.extend((e.position, e.event_id) for e in recorded)
        except BaseException as exc:
            errors.append(exc)

    with Journal.open(url) as journal:
        workers = [threading.Thread(target=producer, args=(i,)) for i in range(threads)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
    if errors:
        raise errors[0]
    return committed
