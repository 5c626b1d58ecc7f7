"""Store stage, database: the connection and transactions of the store of the user's notes, tags, read status, citekeys and library cache in one SQLite file.

Sits after :mod:`paper_widgets.data.citekeys` (it records the keys handed out there and passes
them back as ``reserved`` so they never change) and before search/library, which read it.

Durability choices (the file is ``<home>/paper_widgets.sqlite3``):

* ``journal_mode=WAL``: readers never block the writer, and a commit is a single append
  to the ``-wal`` file, so a process killed mid-write leaves at most an uncommitted tail
  that SQLite discards on the next open.
* ``synchronous=FULL``: the WAL is fsynced at every commit, so a write that returned is
  on stable storage and also survives power loss. ``NORMAL`` would survive ``kill -9``
  (the OS still has the pages) but may lose the last commits on power loss; notes are
  small and written by hand, so the fsync per note is worth it (see
  ``benchmarks/bench_store.py``: batch with :meth:`Store.set_notes` when importing many).
* Every public write is one short ``BEGIN IMMEDIATE`` transaction committed before the
  method returns. ``IMMEDIATE`` takes the write lock up front, so two writers queue on
  ``busy_timeout`` instead of deadlocking on a read→write upgrade; a lock that outlasts
  the timeout is retried with back-off until :data:`LOCK_PATIENCE` seconds.
* One connection per :class:`Store` (re-opened after ``fork``), guarded by a lock so
  widget callbacks on other threads may share it.

The library cache keeps large objects (parsed frames, search indexes) as Arrow and numpy
files in ``<home>/cache``, referenced from the ``cache`` table (see :mod:`paper_widgets.store.cache`).
"""

from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import platformdirs

from paper_widgets.store.schema import migrate

__all__ = ["BUSY_TIMEOUT", "DB_NAME", "LOCK_PATIENCE", "Database", "store_home"]

DB_NAME = "paper_widgets.sqlite3"
BUSY_TIMEOUT = 10.0
# Total seconds a write keeps retrying when another process holds the lock longer than BUSY_TIMEOUT.
LOCK_PATIENCE = 60.0

_T = TypeVar("_T")


def store_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The store directory: ``home``, else ``$PAPER_WIDGETS_HOME``, else the platform user data dir."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("PAPER_WIDGETS_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("paper_widgets"))


def _is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


class Database:
    """One SQLite database (WAL) in directory ``home``: connections, transactions, retries.

    ``home`` is a directory (created if needed); default :func:`store_home`.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None) -> None:
        self.home = store_home(home)
        self.home.mkdir(parents=True, exist_ok=True)
        self.path = self.home / DB_NAME
        self.cache_dir = self.home / "cache"
        self._lock = threading.RLock()
        self._local_writes = 0
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._connection()

    # -- connection ---------------------------------------------------------------------------

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            # A connection must not cross fork(); the child opens its own.
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False)
            try:
                self._retry(lambda: self._configure(conn))
            except BaseException:
                conn.close()
                raise
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    @staticmethod
    def _configure(conn: sqlite3.Connection) -> None:
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        # macOS: fsync does not flush the drive cache, F_FULLFSYNC does; a no-op elsewhere.
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA checkpoint_fullfsync = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        # Recording a million citekeys touches far more pages than the default 2 MB cache holds.
        conn.execute("PRAGMA cache_size = -65536")
        migrate(conn)

    def close(self) -> None:
        """Close the connection (a later call re-opens it)."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"

    @staticmethod
    def _retry(action: Callable[[], _T]) -> _T:
        deadline = time.monotonic() + LOCK_PATIENCE
        pause = 0.01
        while True:
            try:
                return action()
            except sqlite3.OperationalError as error:
                if not _is_lock_error(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 2, 1.0)

    def _write(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction, committed before returning."""

        def attempt() -> _T:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
            try:
                result = body(conn)
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return result

        with self._lock:
            result = self._retry(attempt)
            self._local_writes += 1
            return result

    def _read(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``body`` on one consistent snapshot of the database."""

        def attempt() -> _T:
            conn = self._connection()
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                conn.execute("COMMIT")

        with self._lock:
            return self._retry(attempt)

    def revision(self) -> tuple[int, int]:
        """Changes whenever anyone (this or another connection/process) commits to the store."""
        with self._lock:
            # data_version moves only for other connections' commits; count our own separately.
            version = self._connection().execute("PRAGMA data_version").fetchone()[0]
            return int(version), self._local_writes

    @staticmethod
    def _paper_id(conn: sqlite3.Connection, key: str) -> int:
        row = conn.execute("SELECT paper_id FROM papers WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return int(row[0])
