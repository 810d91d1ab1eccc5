"""Walk the hash chain and name the first position whose row does not match."""

from __future__ import annotations

from collections.abc import Iterable

from journal.codec import GENESIS_HASH, row_hash
from journal.model import Head, VerifyReport
from journal.rows import Row


def verify_rows(batches: Iterable[list[Row]], expect_head: Head | None = None) -> VerifyReport:
    """Check positions are gapless from 1, each prev_hash links and each hash recomputes."""
    expected_position = 1
    prev = GENESIS_HASH
    hash_at_expected: str | None = None
    for rows in batches:
        for row in rows:
            position = row[0]
            if position != expected_position:
                return _bad(expected_position - 1, prev, expected_position,
                            f"position {expected_position} is missing (next row is {position})")
            if row[9] != prev:
                return _bad(position - 1, prev, position,
                            f"prev_hash at position {position} does not link to the row before")
            digest = row_hash(prev, position, row[1], row[2], row[3], row[4], row[5], row[8],
                              row[6], row[7])
            if digest != row[10]:
                return _bad(position - 1, prev, position,
                            f"row at position {position} does not match its hash")
            prev = digest
            if expect_head is not None and position == expect_head.position:
                hash_at_expected = digest
            expected_position += 1
    head_position = expected_position - 1
    if expect_head is not None and expect_head.position > 0:
        if head_position < expect_head.position:
            return VerifyReport(
                False, head_position, prev, head_position, head_position + 1,
                f"the journal ends at position {head_position}, before the expected head "
                f"at {expect_head.position}: its tail was truncated",
            )
        if hash_at_expected != expect_head.hash:
            return VerifyReport(
                False, head_position, prev, head_position, expect_head.position,
                f"the hash at position {expect_head.position} differs from the expected head: "
                "the journal up to there was rewritten",
            )
    elif expect_head is not None and expect_head.hash != GENESIS_HASH:
        return VerifyReport(False, head_position, prev, head_position, 0,
                            "expected head at position 0 must carry the genesis hash")
    return VerifyReport(True, head_position, prev, head_position)


def _bad(good_position: int, good_hash: str, position: int, reason: str) -> VerifyReport:
    return VerifyReport(False, good_position, good_hash, good_position, position, reason)
