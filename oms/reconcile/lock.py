"""One reconciler at a time across processes: a PostgreSQL advisory lock, or a file lock
next to a SQLite journal (processes sharing a SQLite file share its folder)."""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO, Any, Protocol

import sqlalchemy as sa

from oms.errors import OmsError

RECONCILE_LOCK_KEY = 0x6F6D737265636F6E  # "omsrecon"; the journal's append lock is another key
RETRY_S = 0.05


class ReconcileLockError(OmsError):
    """The reconcile lock could not be taken or its database reached."""


class RunLock(Protocol):
    """Held for the whole of a run; `acquire(wait=False)` answers at once."""

    def acquire(self, wait: bool, timeout_s: float) -> bool:
        """Take the lock; False when `wait` is off (or the timeout passed) and it is held."""
        ...

    def release(self) -> None:
        """Give the lock back."""
        ...

    def close(self) -> None:
        """Release and drop the connection or file."""
        ...


class PostgresRunLock:
    """A session-level advisory lock on a connection of its own, held between runs' ends."""

    def __init__(self, url: str, key: int = RECONCILE_LOCK_KEY) -> None:
        parsed = sa.make_url(url)
        self._dsn = parsed.set(drivername="postgresql").render_as_string(hide_password=False)
        self._key = key
        self._conn: Any = None

    def _connection(self) -> Any:
        import psycopg

        if self._conn is None or self._conn.closed:
            try:
                self._conn = psycopg.connect(self._dsn, autocommit=True, connect_timeout=10)
            except psycopg.Error as exc:
                raise ReconcileLockError(f"cannot connect for the reconcile lock: {exc}") from exc
        return self._conn

    def acquire(self, wait: bool, timeout_s: float) -> bool:
        """pg_try_advisory_lock, or pg_advisory_lock bounded by lock_timeout."""
        import psycopg

        conn = self._connection()
        if not wait:
            row = conn.execute("SELECT pg_try_advisory_lock(%s)", (self._key,)).fetchone()
            return bool(row[0])
        conn.execute(f"SET lock_timeout = {int(timeout_s * 1000)}")
        try:
            conn.execute("SELECT pg_advisory_lock(%s)", (self._key,))
        except psycopg.errors.LockNotAvailable:
            return False
        finally:
            conn.execute("SET lock_timeout = 0")
        return True

    def release(self) -> None:
        """pg_advisory_unlock."""
        if self._conn is not None and not self._conn.closed:
            self._conn.execute("SELECT pg_advisory_unlock(%s)", (self._key,))

    def close(self) -> None:
        """Closing the session frees any lock it still held."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class FileRunLock:
    """flock on `<journal file>.reconcile.lock`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None

    def acquire(self, wait: bool, timeout_s: float) -> bool:
        """flock without blocking; with `wait`, tried again until `timeout_s` has passed."""
        if self._file is None:
            self._file = open(self.path, "ab")  # noqa: SIM115 - held open between runs
        deadline = time.monotonic() + (timeout_s if wait else 0.0)
        while True:
            try:
                fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
            time.sleep(RETRY_S)  # flock has no timed wait; the holder's run is short

    def release(self) -> None:
        """Unlock the file."""
        if self._file is not None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)

    def close(self) -> None:
        """Unlock and close the file."""
        if self._file is not None:
            self._file.close()
            self._file = None


def lock_for(url: str) -> RunLock:
    """The lock that fits the journal's database."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() == "postgresql":
        return PostgresRunLock(url)
    database = parsed.database or ""
    if not database or database == ":memory:":
        raise ReconcileLockError(f"the reconcile lock needs a journal file, not {url!r}")
    return FileRunLock(Path(f"{os.path.abspath(database)}.reconcile.lock"))
