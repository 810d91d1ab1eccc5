"""The hash chain: tampering of any kind is found at the exact position."""

from __future__ import annotations

import pytest

from journal import GENESIS_HASH, Head, Journal, JournalError, NewEvent
from journal.codec import encode_object, row_hash
from tests.journal.conftest import drop_immutability_triggers, event, execute_as_owner


def _fill(journal: Journal, count: int = 8) -> Head:
    for n in range(1, count + 1):
        journal.append(f"s-{n % 3}", [event(n, text="abcdef")])
    return journal.head()


def test_untouched_journal_verifies(journal: Journal) -> None:
    head = _fill(journal)
    report = journal.verify(expect_head=head)
    assert report.ok and report.first_bad_position is None and report.reason is None
    assert (report.events, report.head_position, report.head_hash) == (8, 8, head.hash)


def test_empty_journal_verifies_with_genesis_head(journal: Journal) -> None:
    report = journal.verify(expect_head=Head(0, GENESIS_HASH))
    assert report.ok and report.events == 0 and report.head_hash == GENESIS_HASH


def test_hash_is_sha256_of_prev_hash_and_documented_row_bytes(journal: Journal) -> None:
    import hashlib

    recorded = journal.append("s", [event(1)])[0]
    text = (
        f'[1,"s",1,"{recorded.event_id}","Tested",1,{recorded.recorded_at_ns}]\n'
        '{"n":1}\n{}'
    )
    expected = hashlib.sha256(bytes(32) + text.encode()).hexdigest()
    assert recorded.hash == expected == row_hash(
        GENESIS_HASH, 1, "s", 1, recorded.event_id, "Tested", 1, recorded.recorded_at_ns,
        '{"n":1}', "{}",
    )


def test_one_changed_payload_byte_is_found(journal: Journal, journal_url: str) -> None:
    _fill(journal)
    drop_immutability_triggers(journal_url)
    execute_as_owner(
        journal_url,
        "UPDATE journal_events SET payload = replace(payload, 'abcdef', 'abcdeg') "
        "WHERE position = 5",
    )
    report = journal.verify()
    assert not report.ok
    assert report.first_bad_position == 5
    assert report.reason is not None and "does not match its hash" in report.reason
    assert report.events == 4


def test_deleted_row_is_found(journal: Journal, journal_url: str) -> None:
    _fill(journal)
    drop_immutability_triggers(journal_url)
    execute_as_owner(journal_url, "DELETE FROM journal_events WHERE position = 3")
    report = journal.verify()
    assert (report.ok, report.first_bad_position) == (False, 3)
    assert report.reason is not None and "position 3 is missing" in report.reason


def test_reordered_rows_are_found(journal: Journal, journal_url: str) -> None:
    _fill(journal)
    drop_immutability_triggers(journal_url)
    execute_as_owner(
        journal_url,
        "UPDATE journal_events SET position = 100 WHERE position = 4",
        "UPDATE journal_events SET position = 4 WHERE position = 6",
        "UPDATE journal_events SET position = 6 WHERE position = 100",
    )
    report = journal.verify()
    assert (report.ok, report.first_bad_position) == (False, 4)


def test_rehashed_forgery_is_still_caught_by_expected_head(
    journal: Journal, journal_url: str
) -> None:
    """Rewriting a row and every hash after it fools the chain, not a head kept elsewhere."""
    head = _fill(journal, 4)
    drop_immutability_triggers(journal_url)
    rows = journal.read_rows(0, 10)
    prev = rows[1][10]
    for row in rows[2:]:
        payload = row[6].replace("abcdef", "forged")
        digest = row_hash(prev, row[0], row[1], row[2], row[3], row[4], row[5], row[8],
                          payload, row[7])
        execute_as_owner(
            journal_url,
            f"UPDATE journal_events SET payload = '{payload}', prev_hash = '{prev}', "
            f"hash = '{digest}' WHERE position = {row[0]}",
        )
        prev = digest
    assert journal.verify().ok  # self-consistent after the rewrite
    report = journal.verify(expect_head=head)
    assert (report.ok, report.first_bad_position) == (False, 4)
    assert report.reason is not None and "rewritten" in report.reason


def test_truncated_tail_is_caught_by_expected_head(journal: Journal, journal_url: str) -> None:
    head = _fill(journal, 6)
    drop_immutability_triggers(journal_url)
    execute_as_owner(journal_url, "DELETE FROM journal_events WHERE position > 4")
    assert journal.verify().ok
    report = journal.verify(expect_head=head)
    assert (report.ok, report.first_bad_position, report.head_position) == (False, 5, 4)
    assert report.reason is not None and "truncated" in report.reason


def test_expected_head_in_the_past_is_fine_when_chain_matches(journal: Journal) -> None:
    earlier = _fill(journal, 3)
    _fill(journal, 2)
    assert journal.verify(expect_head=earlier).ok
    wrong = Head(earlier.position, "f" * 64)
    assert journal.verify(expect_head=wrong).first_bad_position == 3


def test_verify_walks_in_batches(journal_url: str) -> None:
    with Journal.open(journal_url, read_batch_size=2) as journal:
        _fill(journal, 7)
        assert journal.verify().events == 7


def test_head_text_round_trips_and_rejects_garbage() -> None:
    head = Head(12, "a" * 64)
    assert Head.parse(str(head)) == head
    assert Head.parse(f"{'A' * 64}@3") == Head(3, "a" * 64)
    for text in ("abc@1", f"{'a' * 64}", f"{'a' * 64}@x", f"{'g' * 64}@1"):
        with pytest.raises(JournalError, match="HASH@POSITION"):
            Head.parse(text)


def test_links_of_identifiers_that_need_escaping_match_the_documented_hash(
    journal: Journal,
) -> None:
    odd = [
        NewEvent('Ty"pe\\\n', {"ü": "ö\u2028"}, event_id="id \"1\"", metadata={"k": [1, 2]}),
        NewEvent("\u00e9v\u00e9nement", {"n": 1.5}, schema_version=3),
    ]
    recorded = journal.append('str\u00e9am "q"\\', odd)
    prev = GENESIS_HASH
    for rec in recorded:
        assert rec.hash == row_hash(
            prev, rec.position, rec.stream_id, rec.version, rec.event_id, rec.type,
            rec.schema_version, rec.recorded_at_ns,
            encode_object(rec.payload, "payload"), encode_object(rec.metadata, "metadata"),
        )
        prev = rec.hash
    assert journal.verify().ok
