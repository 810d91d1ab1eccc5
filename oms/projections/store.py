"""Where folds keep their progress: applied positions, periodic snapshots, polling watermarks.

Tables `projection_checkpoints`, `projection_snapshots` and `listener_watermarks` come from
the Alembic migrations (`oms init`). All hold derived data; losing them costs a rebuild from
the journal (or one full read of the broker's history), never a fact. Snapshots are stored
as zlib-compressed canonical JSON with the state hash they had; watermarks as JSON.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from oms.projections.base import ProjectionError, gc_paused

_META = sa.MetaData()
CHECKPOINTS = sa.Table(
    "projection_checkpoints",
    _META,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger(), nullable=False),
    sa.Column("state_hash", sa.String(64), nullable=False),
    sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
)
SNAPSHOTS = sa.Table(
    "projection_snapshots",
    _META,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("position", sa.BigInteger(), primary_key=True),
    sa.Column("state_hash", sa.String(64), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("created_at_ns", sa.BigInteger(), nullable=False),
)

WATERMARKS = sa.Table(
    "listener_watermarks",
    _META,
    sa.Column("name", sa.String(100), primary_key=True),
    sa.Column("body", sa.LargeBinary(), nullable=False),
    sa.Column("updated_at_ns", sa.BigInteger(), nullable=False),
)
UNHASHED = ""
"""The state hash of a progress mark: only snapshots (and their checkpoints) carry one."""


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """How far a projection got, and the state hash it had there (or `UNHASHED`)."""

    name: str
    position: int
    state_hash: str


@dataclass(frozen=True, slots=True)
class StoredSnapshot:
    """A snapshot read back: its position, hash and the projection's `snapshot()` dict."""

    name: str
    position: int
    state_hash: str
    snapshot: dict[str, Any]


class CheckpointStore:
    """Reads and writes checkpoints and snapshots on the journal's database (or any other)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str) -> CheckpointStore:
        """Connect; ProjectionError naming the fix when the tables are missing."""
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        names = set(sa.inspect(engine).get_table_names())
        missing = {CHECKPOINTS.name, SNAPSHOTS.name, WATERMARKS.name} - names
        if missing:
            engine.dispose()
            safe = sa.make_url(url).render_as_string(hide_password=True)
            raise ProjectionError(
                f"{safe} has no {', '.join(sorted(missing))} table: run `oms init --db {safe}`"
            )
        return cls(engine)

    def close(self) -> None:
        """Release the connections."""
        self.engine.dispose()

    def checkpoint(self, name: str) -> Checkpoint | None:
        """The last applied position recorded for a projection."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(CHECKPOINTS.c.position, CHECKPOINTS.c.state_hash).where(
                    CHECKPOINTS.c.name == name)
            ).first()
        return None if row is None else Checkpoint(name, int(row[0]), str(row[1]))

    def save_checkpoint(self, name: str, position: int, state_hash: str) -> None:
        """Record that a projection has applied everything up to `position`."""
        with self.engine.begin() as conn:
            self._upsert(conn, name, position, state_hash)

    def save_checkpoints(self, progress: list[tuple[str, int, str]]) -> None:
        """Record (name, position, state hash) of several projections in one transaction."""
        with self.engine.begin() as conn:
            for name, position, state_hash in progress:
                self._upsert(conn, name, position, state_hash)

    def save_snapshot(self, name: str, snapshot: dict[str, Any], state_hash: str) -> None:
        """Store a snapshot (and move the checkpoint to it) in one transaction."""
        position = int(snapshot["position"])
        body = zlib.compress(orjson.dumps(snapshot, option=orjson.OPT_SORT_KEYS), 1)
        now = time.time_ns()
        with self.engine.begin() as conn:
            exists = conn.execute(sa.select(SNAPSHOTS.c.position).where(
                SNAPSHOTS.c.name == name, SNAPSHOTS.c.position == position)).first()
            if exists is None:
                conn.execute(SNAPSHOTS.insert().values(
                    name=name, position=position, state_hash=state_hash, body=body,
                    created_at_ns=now))
            self._upsert(conn, name, position, state_hash)

    def latest_snapshot(self, name: str, at_or_below: int | None = None) -> StoredSnapshot | None:
        """The newest snapshot of a projection (no later than `at_or_below` if given)."""
        query = sa.select(SNAPSHOTS.c.position, SNAPSHOTS.c.state_hash, SNAPSHOTS.c.body).where(
            SNAPSHOTS.c.name == name)
        if at_or_below is not None:
            query = query.where(SNAPSHOTS.c.position <= at_or_below)
        with self.engine.connect() as conn:
            row = conn.execute(query.order_by(SNAPSHOTS.c.position.desc()).limit(1)).first()
        if row is None:
            return None
        try:
            with gc_paused():  # millions of small lists, none of them garbage: no sweeps
                snapshot = orjson.loads(zlib.decompress(row[2]))
        except (zlib.error, orjson.JSONDecodeError) as exc:
            raise ProjectionError(
                f"the {name} snapshot at position {row[0]} is unreadable ({exc}): delete it"
            ) from exc
        return StoredSnapshot(name, int(row[0]), str(row[1]), snapshot)

    def snapshot_positions(self, name: str) -> list[int]:
        """Positions of a projection's stored snapshots, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(SNAPSHOTS.c.position).where(
                SNAPSHOTS.c.name == name).order_by(SNAPSHOTS.c.position)).all()
        return [int(r[0]) for r in rows]

    def prune(self, name: str, keep: int) -> int:
        """Delete all but the newest `keep` snapshots of a projection; how many went."""
        positions = self.snapshot_positions(name)
        doomed = positions[:-keep] if keep > 0 else positions
        if doomed:
            with self.engine.begin() as conn:
                conn.execute(SNAPSHOTS.delete().where(
                    SNAPSHOTS.c.name == name, SNAPSHOTS.c.position.in_(doomed)))
        return len(doomed)

    def watermark(self, name: str) -> dict[str, Any] | None:
        """The polling watermark last saved under `name` (a broker port), if any."""
        with self.engine.connect() as conn:
            row = conn.execute(
                sa.select(WATERMARKS.c.body).where(WATERMARKS.c.name == name)
            ).first()
        if row is None:
            return None
        try:
            body = orjson.loads(row[0])
        except orjson.JSONDecodeError as exc:
            raise ProjectionError(
                f"the {name} watermark is unreadable ({exc}): delete it to re-read the history"
            ) from exc
        if not isinstance(body, dict):
            raise ProjectionError(f"the {name} watermark is not a JSON object: delete it")
        return body

    def save_watermark(self, name: str, body: dict[str, Any]) -> None:
        """Replace the polling watermark saved under `name`."""
        data = orjson.dumps(body, option=orjson.OPT_SORT_KEYS)
        now = time.time_ns()
        with self.engine.begin() as conn:
            done = conn.execute(WATERMARKS.update().where(WATERMARKS.c.name == name).values(
                body=data, updated_at_ns=now))
            if done.rowcount == 0:
                conn.execute(WATERMARKS.insert().values(name=name, body=data, updated_at_ns=now))

    @staticmethod
    def _upsert(conn: sa.Connection, name: str, position: int, state_hash: str) -> None:
        now = time.time_ns()
        done = conn.execute(CHECKPOINTS.update().where(CHECKPOINTS.c.name == name).values(
            position=position, state_hash=state_hash, updated_at_ns=now))
        if done.rowcount == 0:
            conn.execute(CHECKPOINTS.insert().values(
                name=name, position=position, state_hash=state_hash, updated_at_ns=now))
