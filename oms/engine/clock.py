"""Stage stamps on both clocks; the only place the engine reads time for event metadata."""

from __future__ import annotations

import time

from oms.domain.metadata import Stage

Stamp = dict[str, int]

_wall = time.time_ns
_mono = time.monotonic_ns


def stamp() -> Stamp:
    """Now, as the `{"wall_ns", "mono_ns"}` pair the domain's metadata shape expects."""
    return {"wall_ns": _wall(), "mono_ns": _mono()}


SIGNAL = Stage.SIGNAL.value
SUBMIT = Stage.SUBMIT.value
JOURNAL = Stage.JOURNAL.value
BROKER_SEND = Stage.BROKER_SEND.value
BROKER_ACK = Stage.BROKER_ACK.value
FILL = Stage.FILL.value
