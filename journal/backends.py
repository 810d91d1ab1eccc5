"""What differs between SQLite and PostgreSQL: engine set-up, placeholders, write locking."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Literal

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from journal.errors import JournalError

Durability = Literal["full", "normal", "off"]
DURABILITY_LEVELS: tuple[str, ...] = ("full", "normal", "off")

TABLE = "journal_events"
COLUMNS = (
    "position, stream_id, version, event_id, type, schema_version, payload, metadata, "
    "recorded_at_ns, prev_hash, hash"
)
# What a rebuild folds: no event ids, metadata or hashes (see journal.rows.LightRow).
LIGHT_COLUMNS = "position, stream_id, version, type, schema_version, payload, recorded_at_ns"
NOTIFY_CHANNEL = "journal_events"
# Key of the transaction-level advisory lock that serialises appends on PostgreSQL.
ADVISORY_LOCK_KEY = 0x6A6F75726E616C  # "journal"


class Backend:
    """One database dialect as the journal's raw-cursor code needs it."""

    name = ""
    placeholder = "?"
    pipelined = False  # True: several statements cost one round trip (read speculatively)
    # A batch of read_all as one aggregate row of JSON arrays (see journal.rows.from_columns),
    # parameters: after position, limit. None: the backend reads row by row.
    columns_sql: str | None = None
    # The same for the lighter read (LIGHT_COLUMNS; see journal.rows.light_from_columns).
    light_columns_sql: str | None = None

    def __init__(self, url: sa.URL, durability: Durability) -> None:
        if durability not in DURABILITY_LEVELS:
            raise JournalError(
                f"durability must be one of {', '.join(DURABILITY_LEVELS)}, got {durability!r}"
            )
        self.url = url
        self.durability = durability

    def create_engine(self, pool_size: int) -> sa.Engine:
        """The SQLAlchemy engine that owns the connections (pooling, URL parsing, dialect)."""
        raise NotImplementedError

    def prepare_writer(self, dbapi_conn: Any) -> None:
        """Put the writer's own connection into the mode the write path expects."""

    def run_locked(
        self, dbapi: Any, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[Any]]:
        """Begin a transaction holding the write lock, then run the queries in order."""
        raise NotImplementedError

    def run_plain(self, dbapi: Any, sql: str, params: Sequence[Any]) -> list[Any]:
        """One more query inside the current transaction."""
        cur = dbapi.cursor()
        try:
            cur.execute(sql, params)
            rows: list[Any] = cur.fetchall()
            return rows
        finally:
            cur.close()

    def insert_and_commit(
        self, dbapi: Any, insert_sql: str, rows: Sequence[Any], head_position: int
    ) -> None:
        """Insert the batch's rows and commit (one fsync)."""
        raise NotImplementedError

    def params(self, n: int) -> str:
        """`n` comma-separated placeholders."""
        return ",".join([self.placeholder] * n)

    def sql(self, text: str) -> str:
        """Rewrite `?` placeholders into this driver's style."""
        return text if self.placeholder == "?" else text.replace("?", self.placeholder)


class SQLiteBackend(Backend):
    """A SQLite file in WAL mode; one writer at a time by `BEGIN IMMEDIATE`."""

    name = "sqlite"
    placeholder = "?"
    # The batch's last position is found first by stepping over rowids only; the aggregate
    # then reads that range straight from the table. A subquery with LIMIT instead would
    # copy every value through a co-routine, a third more of SQLite's time per row.
    _BATCH_RANGE = (
        f"FROM {TABLE} WHERE position > ?1 AND position <= coalesce(("
        f"SELECT position FROM {TABLE} WHERE position > ?1 ORDER BY position "
        "LIMIT 1 OFFSET ?2 - 1), 9223372036854775807)"
    )
    # The previous hashes come as plain text joined by commas (NULL when one holds a comma or
    # is no text, which the join would not show):
    # in an unbroken chain they are the hashes shifted by one row, which the reader checks
    # on the whole text and then takes from the hashes, one string per event fewer.
    columns_sql = (
        "SELECT count(*), max(position), json_group_array(position), "
        "json_group_array(stream_id), json_group_array(version), json_group_array(event_id), "
        "json_group_array(type), json_group_array(schema_version), "
        "'[' || group_concat(payload) || ']', '[' || group_concat(metadata) || ']', "
        "json_group_array(recorded_at_ns), "
        "CASE WHEN sum(instr(prev_hash, ',') OR typeof(prev_hash) <> 'text') = 0 "
        "THEN group_concat(prev_hash, ',') END, "
        "json_group_array(hash) "
        f"{_BATCH_RANGE}"
    )
    light_columns_sql = (
        "SELECT count(*), max(position), json_group_array(position), "
        "json_group_array(stream_id), json_group_array(version), json_group_array(type), "
        "json_group_array(schema_version), '[' || group_concat(payload) || ']', "
        f"json_group_array(recorded_at_ns) {_BATCH_RANGE}"
    )
    _SYNCHRONOUS: ClassVar[dict[str, str]] = {"full": "FULL", "normal": "NORMAL", "off": "OFF"}

    def create_engine(self, pool_size: int) -> sa.Engine:
        database = self.url.database
        if not database or database == ":memory:":
            raise JournalError(
                "the journal needs a SQLite file (sqlite:///path/to/file.db), not an in-memory "
                "database: every connection would see a different, empty database"
            )
        engine = sa.create_engine(
            self.url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=pool_size,
            max_overflow=pool_size,
        )
        synchronous = self._SYNCHRONOUS[self.durability]

        @sa.event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            isolation = dbapi_conn.isolation_level
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA synchronous={synchronous}")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the id index in memory
            cur.close()
            dbapi_conn.isolation_level = isolation

        return engine

    def prepare_writer(self, dbapi_conn: Any) -> None:
        dbapi_conn.isolation_level = None  # explicit BEGIN/COMMIT only

    def run_locked(
        self, dbapi: Any, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[Any]]:
        cur = dbapi.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")  # takes the database's single write lock
            results = []
            for sql, params in queries:
                cur.execute(sql, params)
                results.append(cur.fetchall())
            return results
        finally:
            cur.close()

    def insert_and_commit(
        self, dbapi: Any, insert_sql: str, rows: Sequence[Any], head_position: int
    ) -> None:
        if rows:
            dbapi.executemany(insert_sql, rows)
        dbapi.commit()


class PostgresBackend(Backend):
    """PostgreSQL through psycopg 3; appends serialised by a transaction-level advisory lock.

    The lock is taken right before the head is read and released at commit, after the
    transaction became visible, so positions become visible to readers in position order.
    """

    name = "postgresql"
    placeholder = "%s"
    pipelined = True

    def create_engine(self, pool_size: int) -> sa.Engine:
        return sa.create_engine(
            self.url,
            pool_size=pool_size,
            max_overflow=pool_size,
            pool_pre_ping=True,
            connect_args={"connect_timeout": 10},
        )

    def prepare_writer(self, dbapi_conn: Any) -> None:
        dbapi_conn.autocommit = False
        with dbapi_conn.cursor() as cur:
            commit_mode = "on" if self.durability == "full" else "off"
            cur.execute(f"SET synchronous_commit TO {commit_mode}")
        dbapi_conn.commit()

    def run_locked(
        self, dbapi: Any, queries: Sequence[tuple[str, Sequence[Any]]]
    ) -> list[list[Any]]:
        # One network round trip: the server runs the statements in order, and each reads
        # with its own snapshot, taken after the lock was granted.
        cursors = []
        with dbapi.pipeline():
            dbapi.execute(f"SELECT pg_advisory_xact_lock({ADVISORY_LOCK_KEY})")
            for sql, params in queries:
                cur = dbapi.cursor()
                cur.execute(sql, params or None)
                cursors.append(cur)
        results = [cur.fetchall() for cur in cursors]
        for cur in cursors:
            cur.close()
        return results

    def insert_and_commit(
        self, dbapi: Any, insert_sql: str, rows: Sequence[Any], head_position: int
    ) -> None:
        # COPY costs a quarter of the client CPU of executemany per row; NOTIFY and COMMIT
        # then share one round trip.
        with dbapi.cursor() as cur:
            if rows:
                with cur.copy(f"COPY {TABLE} ({COLUMNS}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            with dbapi.pipeline():
                if rows:
                    cur.execute(f"NOTIFY {NOTIFY_CHANNEL}, '{int(head_position)}'")
                dbapi.commit()

    def libpq_dsn(self) -> str:
        """The URL as psycopg itself takes it (for the LISTEN connection)."""
        return self.url.set(drivername="postgresql").render_as_string(hide_password=False)


def backend_for(url: str, durability: Durability) -> Backend:
    """Pick the backend from the URL's dialect; psycopg 3 is the only PostgreSQL driver."""
    try:
        parsed = make_url(url)
    except Exception as exc:
        raise JournalError(f"not a database URL: {url!r} ({exc})") from exc
    dialect = parsed.get_backend_name()
    if dialect == "sqlite":
        return SQLiteBackend(parsed, durability)
    if dialect == "postgresql":
        driver = parsed.get_driver_name()
        if driver not in ("psycopg", "psycopg2", "default"):
            raise JournalError(
                f"PostgreSQL URLs use psycopg 3 (postgresql+psycopg://), got {url!r}"
            )
        return PostgresBackend(parsed.set(drivername="postgresql+psycopg"), durability)
    raise JournalError(f"unsupported database {dialect!r} in {url!r}: use sqlite or postgresql")
