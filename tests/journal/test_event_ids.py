"""Generated event ids: UUID version 7, time-ordered, never repeated across threads or forks."""

from __future__ import annotations

import gc
import multiprocessing
import os
import threading
import uuid

import pytest

from journal.model import new_event_id
from journal.rows import collector_paused


def test_generated_ids_are_uuid7_and_time_ordered() -> None:
    ids = [new_event_id() for _ in range(2_000)]
    parsed = [uuid.UUID(i) for i in ids]
    assert {u.version for u in parsed} == {7}
    assert {u.variant for u in parsed} == {uuid.RFC_4122}
    timestamps = [u.int >> 80 for u in parsed]
    assert timestamps == sorted(timestamps)
    assert len(set(ids)) == len(ids)


def test_threads_never_hand_out_the_same_id() -> None:
    per_thread = 5_000
    results: list[list[str]] = [[] for _ in range(4)]
    start = threading.Barrier(len(results))

    def generate(out: list[str]) -> None:
        start.wait(timeout=10)
        out.extend(new_event_id() for _ in range(per_thread))

    threads = [threading.Thread(target=generate, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    everything = [i for out in results for i in out]
    assert len(everything) == per_thread * len(results)
    assert len(set(everything)) == len(everything)


def _child_ids(conn: multiprocessing.connection.Connection) -> None:
    conn.send([new_event_id() for _ in range(100)])
    conn.close()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_does_not_reuse_the_parents_random_bytes() -> None:
    new_event_id()  # the parent's pool now holds unused random bytes
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child_ids, args=(sender,))
    child.start()
    child_ids = receiver.recv()
    child.join(timeout=30)
    parent_ids = [new_event_id() for _ in range(100)]
    # Same millisecond or not, the random parts must differ.
    random_bits = (1 << 80) - 1
    assert not {int(i, 16) & random_bits for i in child_ids} & {
        int(i, 16) & random_bits for i in parent_ids
    }


def test_pausing_the_collector_restores_what_was_there() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller's own pause is left alone
    finally:
        gc.enable()
