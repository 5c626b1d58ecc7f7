"""Store stage, database: connections and transactions for the two backends of the store.

The store keeps the user's notes, tags, read status, citekeys and library cache. Its logic
(``keys``, ``annotations``, ``settings``, ``cache``) is written once against the
:class:`Transaction` interface here; the backends differ only in this module:

* :class:`SQLiteBackend`: one file ``<home>/paper_widgets.sqlite3``, the zero-setup default.
* :class:`PostgresBackend`: a team database (``PAPER_WIDGETS_DB=postgresql://…``) through
  psycopg 3 and its connection pool; the user is the database role.

Both run every public write as one short transaction committed before the method returns,
take the same ``?`` placeholders (translated for psycopg) and the same upsert/ignore SQL
(``INSERT … ON CONFLICT …``, which SQLite ≥ 3.24 and PostgreSQL share). Writers that must not
interleave (citekey assignment, the change log) call :meth:`Transaction.lock`.

SQLite durability choices:

* ``journal_mode=WAL``: readers never block the writer, and a commit is a single append
  to the ``-wal`` file, so a process killed mid-write leaves at most an uncommitted tail
  that SQLite discards on the next open.
* ``synchronous=FULL``: the WAL is fsynced at every commit, so a write that returned is
  on stable storage and also survives power loss (batch with :meth:`Store.set_notes` when
  importing many; see ``benchmarks/bench_store.py``).
* ``BEGIN IMMEDIATE`` takes the write lock up front, so two writers queue on
  ``busy_timeout`` instead of deadlocking on a read→write upgrade; a lock that outlasts
  the timeout is retried with back-off until :data:`LOCK_PATIENCE` seconds.
* One connection per backend (re-opened after ``fork``), guarded by a lock so widget
  callbacks on other threads may share it. The store folder is private (0700) and the
  database file is created 0600 (SQLite gives its ``-wal``/``-shm`` files the same mode).

PostgreSQL: a pool of autocommit connections on which we issue ``BEGIN``/``COMMIT`` ourselves;
reads run in ``REPEATABLE READ READ ONLY`` snapshots. Connections are not pinged before use
(a round trip per call); instead a transaction that fails on a connection broken by a server
restart is retried once on a fresh one (the server rolled it back), while a failure during
``COMMIT`` itself is reported as :class:`StoreUnavailable`, never dropped.

The library cache keeps large objects (parsed frames, search indexes) as Arrow and numpy
files in ``<home>/cache``, referenced from the ``cache`` table (see :mod:`paper_widgets.store.cache`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Protocol, TypeVar

import platformdirs

__all__ = [
    "BUSY_TIMEOUT",
    "CONNECT_TIMEOUT",
    "DB_NAME",
    "LOCAL_USER",
    "LOCK_PATIENCE",
    "Backend",
    "Database",
    "PostgresBackend",
    "SQLiteBackend",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "Transaction",
    "is_postgres_url",
    "postgres_where",
    "store_home",
    "store_url",
]

DB_NAME = "paper_widgets.sqlite3"
BUSY_TIMEOUT = 10.0
# Total seconds a write keeps retrying when another process holds the lock longer than BUSY_TIMEOUT.
LOCK_PATIENCE = 60.0
# Seconds to wait for a PostgreSQL server before saying it is unreachable (libpq's connect_timeout).
CONNECT_TIMEOUT = 5
# The user of an embedded SQLite store: it belongs to whoever can open the file.
LOCAL_USER = "me"

_T = TypeVar("_T")


class StoreError(RuntimeError):
    """The store cannot be used; the message names it and says what to do."""


class StoreCorrupt(StoreError):
    """The store file is not a paper_widgets database, or it is damaged."""


class StoreReadOnly(StoreError):
    """The store cannot be written (permissions, read-only file system)."""


class StoreUnavailable(StoreError):
    """The PostgreSQL server cannot be reached, or a write could not be confirmed."""


def store_home(home: str | os.PathLike[str] | None = None) -> Path:
    """The store directory: ``home``, else ``$PAPER_WIDGETS_HOME``, else the platform user data dir."""
    if home is not None:
        return Path(home).expanduser()
    env = os.environ.get("PAPER_WIDGETS_HOME")
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_data_dir("paper_widgets"))


def is_postgres_url(text: object) -> bool:
    """Whether ``text`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    return isinstance(text, str) and text.startswith(("postgresql://", "postgres://"))


def store_url(store: object = None) -> str | None:
    """The PostgreSQL URL ``store`` or, when it is None, ``$PAPER_WIDGETS_DB`` names; else None (SQLite)."""
    if is_postgres_url(store):
        return str(store)
    if store is None and is_postgres_url(os.environ.get("PAPER_WIDGETS_DB")):
        return os.environ["PAPER_WIDGETS_DB"]
    return None


class Rows(Protocol):
    """What both drivers' cursors offer."""

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


_JSON_ROWS = 1 << 16  # rows that Transaction.insert_numbered hands SQLite at once


class Transaction:
    """One open transaction on either backend: SQL with ``?`` placeholders."""

    def __init__(self, raw: Any, dialect: str) -> None:
        self.raw = raw
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        # psycopg takes %s; our SQL has no literal "?" or "%" (keep it that way).
        return sql.replace("?", "%s") if self.dialect == "postgresql" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.raw.execute(self._sql(sql), params)  # type: ignore[no-any-return]

    def executemany(self, sql: str, rows: Any) -> None:
        if self.dialect == "postgresql":
            with self.raw.cursor() as cursor:
                cursor.executemany(self._sql(sql), list(rows))
        else:
            self.raw.executemany(sql, rows)

    def insert_many(
        self, table: str, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, ignore_conflicts: bool = False
    ) -> None:
        """Insert many rows into our ``table`` (skipping those that clash with a unique row when asked).

        PostgreSQL gets them through ``COPY`` (a round trip per statement instead of per row:
        recording 100k papers' keys went from ~60 s to seconds); rows that may clash go through a
        temporary table, then ``INSERT … SELECT … ON CONFLICT DO NOTHING``.
        """
        names = ", ".join(columns)
        conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
        if self.dialect != "postgresql":
            marks = ", ".join("?" * len(columns))
            self.raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks}){conflict}", rows)
            return
        target = f"pw_incoming_{table}" if ignore_conflicts else table
        if ignore_conflicts:
            self.raw.execute(f"CREATE TEMP TABLE {target} (LIKE {table}) ON COMMIT DROP")
        with self.raw.cursor() as cursor, cursor.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        if ignore_conflicts:
            self.raw.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {target}{conflict}")
            self.raw.execute(f"DROP TABLE {target}")

    def insert_numbered(
        self, table: str, column: str, values: list[str], id_column: str, first_id: int, **same: object
    ) -> None:
        """Insert a row per text in ``values`` into our ``table``: the text in ``column``, ``first_id``,
        ``first_id + 1``, … in ``id_column`` and the values ``same`` in the other columns.

        SQLite takes them as JSON arrays (``json_each``) of :data:`_JSON_ROWS` texts: a million rows
        go in through a few statements, without binding each row's values from Python (a third less
        time), and a few MB of JSON at a time.
        """
        others = list(same)
        if self.dialect != "sqlite":
            rows = zip(values, itertools.count(first_id), *map(itertools.repeat, same.values()), strict=False)
            self.insert_many(table, (column, id_column, *others), rows)  # (the repeats are endless)
            return
        names = ", ".join([column, id_column, *others])
        picked = ", ".join(["value", "key + ?", *"?" * len(others)])  # json_each's key: the place in the array
        for at in range(0, len(values), _JSON_ROWS):
            self.raw.execute(
                f"INSERT INTO {table} ({names}) SELECT {picked} FROM json_each(?)",
                (first_id + at, *same.values(), json.dumps(values[at : at + _JSON_ROWS], ensure_ascii=False)),
            )

    def lock(self, name: str) -> None:
        """Hold the writers' lock ``name`` until commit (SQLite's BEGIN IMMEDIATE already holds the only one)."""
        if self.dialect == "postgresql":
            self.raw.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"paper_widgets:{name}",))


class Backend(Protocol):
    """Transactions on one database: what ``keys``, ``annotations`` and ``settings`` are written against."""

    dialect: str
    user: str

    def read(self, body: Callable[[Transaction], _T]) -> _T: ...

    def write(self, body: Callable[[Transaction], _T]) -> _T: ...

    def close(self) -> None: ...


# -- SQLite ---------------------------------------------------------------------------------------


def _is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


def _sqlite_error(path: Path, error: sqlite3.Error) -> StoreError | None:
    """The typed error for a raw sqlite3 failure on ``path``, or None when it is not about the file."""
    message = str(error).lower()
    where = f"the paper_widgets store {path}"
    if "not a database" in message:
        return StoreCorrupt(
            f"{where} is not an SQLite database; move it away (a new store is created) or set "
            "PAPER_WIDGETS_HOME to another folder"
        )
    if "malformed" in message or "corrupt" in message:
        return StoreCorrupt(
            f"{where} is damaged ({error}); keep a copy, then try `sqlite3 {path} .recover` "
            "or move it away to start a new store"
        )
    if "readonly" in message or "read-only" in message or "unable to open" in message:
        return StoreReadOnly(
            f"{where} cannot be written ({error}); check the permissions of {path.parent} "
            "or set PAPER_WIDGETS_HOME to a writable folder"
        )
    return None


def _private_folder(home: Path) -> None:
    """Create ``home`` readable by its owner only (notes are private); an existing folder is kept as it is."""
    try:
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as error:
        raise StoreError(
            f"the paper_widgets store folder {home} is a file; move it away or set PAPER_WIDGETS_HOME to a folder"
        ) from error
    except PermissionError as error:
        raise StoreReadOnly(
            f"cannot create the paper_widgets store folder {home}; set PAPER_WIDGETS_HOME to a writable folder"
        ) from error
    if not home.is_dir():
        raise StoreError(
            f"the paper_widgets store folder {home} is a file; move it away or set PAPER_WIDGETS_HOME to a folder"
        )


class SQLiteBackend:
    """One SQLite database (WAL) in directory ``home``: connection, transactions, retries."""

    dialect = "sqlite"
    user = LOCAL_USER

    def __init__(self, home: Path) -> None:
        _private_folder(home)
        self.home = home
        self.path = home / DB_NAME
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        self._pid = -1
        self._translate(self.connection)

    def _translate(self, action: Callable[[], _T]) -> _T:
        try:
            return action()
        except sqlite3.Error as error:
            typed = _sqlite_error(self.path, error)
            if typed is None:
                raise
            raise typed from error

    def connection(self) -> sqlite3.Connection:
        if self._conn is None or self._pid != os.getpid():
            # A connection must not cross fork(); the child opens its own.
            if not self.path.exists():
                with contextlib.suppress(FileExistsError):
                    os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR))
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
        from paper_widgets.store.schema import SCHEMA_VERSION, migrate

        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT * 1000)}")
        # A new database gets 16 KiB pages (an existing one keeps its own): recording a million
        # papers' keys then writes, logs and syncs a fifth fewer bytes, and takes a fifth less time.
        conn.execute("PRAGMA page_size = 16384")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        # macOS: fsync does not flush the drive cache, F_FULLFSYNC does; a no-op elsewhere.
        conn.execute("PRAGMA fullfsync = ON")
        conn.execute("PRAGMA checkpoint_fullfsync = ON")
        conn.execute("PRAGMA foreign_keys = ON")
        # Recording a million citekeys touches far more pages than the default 2 MB cache holds.
        conn.execute("PRAGMA cache_size = -65536")
        before = migrate(conn)
        if 0 < before < SCHEMA_VERSION:
            # Tables a migration rebuilt leave their old pages free inside the file (v7: most of a
            # large store's): give them back, once.  Another process reading it now may keep
            # VACUUM from running; the space is then merely reused by later writes.
            with contextlib.suppress(sqlite3.OperationalError):
                conn.execute("VACUUM")

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

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

    def write_raw(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``body`` in one ``BEGIN IMMEDIATE`` transaction, committed before returning."""

        def attempt() -> _T:
            conn = self.connection()
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
            return self._translate(lambda: self._retry(attempt))

    def read_raw(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``body`` on one consistent snapshot of the database."""

        def attempt() -> _T:
            conn = self.connection()
            conn.execute("BEGIN")
            try:
                return body(conn)
            finally:
                conn.execute("COMMIT")

        with self._lock:
            return self._translate(lambda: self._retry(attempt))

    def write(self, body: Callable[[Transaction], _T]) -> _T:
        return self.write_raw(lambda conn: body(Transaction(conn, self.dialect)))

    def read(self, body: Callable[[Transaction], _T]) -> _T:
        return self.read_raw(lambda conn: body(Transaction(conn, self.dialect)))


# -- PostgreSQL -----------------------------------------------------------------------------------


def postgres_where(url: str) -> str:
    """``PostgreSQL at host:port/database`` for messages (never the password)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    where = f"PostgreSQL at {params.get('host') or 'localhost'}:{params.get('port') or 5432}"
    database = params.get("dbname") or params.get("user")
    return f"{where}/{database}" if database else where


class PostgresBackend:
    """A PostgreSQL database at ``url`` through a psycopg connection pool; the user is the connection's role.

    The schema must have been created by the database owner (``paper-widgets db init``).
    """

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 4) -> None:
        try:
            import psycopg
            import psycopg_pool  # noqa: F401  (checked here, used by _open_pool)
            from psycopg.conninfo import conninfo_to_dict
        except ImportError as error:
            raise StoreError(
                "a team store on PostgreSQL needs psycopg 3 and its pool: pip install 'paper_widgets[team]'"
            ) from error

        from paper_widgets.store.schema import SCHEMA_VERSION, schema_version

        self.url = url
        params = conninfo_to_dict(url)
        self.where = postgres_where(url)
        self._kwargs: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in params:
            self._kwargs["connect_timeout"] = CONNECT_TIMEOUT
        # A first direct connection: a clear error now, instead of a pool timing out later.
        try:
            with psycopg.connect(url, **self._kwargs) as conn:
                self.user = str(conn.execute("SELECT current_user").fetchone()[0])  # type: ignore[index]
                version = schema_version(Transaction(conn, self.dialect))
        except psycopg.OperationalError as error:
            raise StoreUnavailable(
                f"cannot reach the paper_widgets team store ({self.where}): {error}".strip()
            ) from error
        if version < SCHEMA_VERSION:
            raise StoreError(
                f"the paper_widgets team store ({self.where}) has schema version {version}, this paper_widgets "
                f"needs {SCHEMA_VERSION}; the database owner runs `paper-widgets db init` on it"
            )
        if version > SCHEMA_VERSION:
            raise StoreError(
                f"the paper_widgets team store ({self.where}) has schema version {version}, newer than this "
                f"paper_widgets understands ({SCHEMA_VERSION}); upgrade paper_widgets"
            )
        self._pool_size = pool_size
        self._pool = self._open_pool()
        self._pid = os.getpid()

    def _open_pool(self) -> Any:
        from psycopg_pool import ConnectionPool

        return ConnectionPool(
            self.url,
            min_size=1,
            max_size=self._pool_size,
            kwargs=self._kwargs,
            timeout=CONNECT_TIMEOUT * 2,
            name="paper_widgets",
            open=True,
        )

    def close(self) -> None:
        if self._pid == os.getpid():
            self._pool.close()

    def _connection(self) -> Any:
        if self._pid != os.getpid():
            # Connections and the pool's threads do not cross fork(); the child opens its own pool.
            self._pool, self._pid = self._open_pool(), os.getpid()
        return self._pool.connection()

    def _run(self, begin: str, body: Callable[[Transaction], _T]) -> _T:
        import psycopg
        from psycopg_pool import PoolTimeout

        for attempt in (1, 2):
            committing = False
            try:
                with self._connection() as conn:
                    conn.execute(begin)
                    try:
                        result = body(Transaction(conn, self.dialect))
                        committing = True
                        conn.execute("COMMIT")
                    except BaseException:
                        if not committing and not conn.broken:
                            conn.execute("ROLLBACK")
                        raise
                    return result
            except PoolTimeout as error:
                raise StoreUnavailable(f"cannot reach the paper_widgets team store ({self.where})") from error
            except psycopg.OperationalError as error:
                if committing:
                    raise StoreUnavailable(
                        f"the connection to the paper_widgets team store ({self.where}) broke while committing; "
                        "the last change may not have been saved, check it and save again"
                    ) from error
                if attempt == 2:
                    raise StoreUnavailable(f"the paper_widgets team store ({self.where}) failed: {error}") from error
                # The server rolled the transaction back (e.g. it restarted): drop the idle connections
                # that broke with this one, then retry on a fresh connection.
                self._pool.check()
        raise AssertionError("unreachable")

    def write(self, body: Callable[[Transaction], _T]) -> _T:
        """Run ``body`` in one READ COMMITTED transaction, committed before returning."""
        return self._run("BEGIN", body)

    def read(self, body: Callable[[Transaction], _T]) -> _T:
        """Run ``body`` on one consistent, read-only snapshot."""
        return self._run("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", body)


# -- the store's base ------------------------------------------------------------------------------


class Database:
    """The store's two databases: ``shared`` for citekeys and annotations, ``local`` for settings and cache.

    ``home`` is the local directory (created if needed; default :func:`store_home`); ``url`` a
    PostgreSQL URL for a team store. Without it, ``shared`` is the local SQLite database itself.
    The library cache and settings (file paths, the citation style) always stay local.
    """

    def __init__(self, home: str | os.PathLike[str] | None = None, *, url: str | None = None) -> None:
        self.local = SQLiteBackend(store_home(home))
        self.shared: Backend = self.local
        if url is not None:
            try:
                self.shared = PostgresBackend(url)
            except BaseException:
                self.local.close()
                raise
        self.home = self.local.home
        self.path = self.local.path
        self.cache_dir = self.home / "cache"

    @property
    def user(self) -> str:
        """Who writes: the PostgreSQL role, or :data:`LOCAL_USER` for the embedded store."""
        return self.shared.user

    def _connection(self) -> sqlite3.Connection:
        """The local SQLite connection (for tests and PRAGMAs)."""
        return self.local.connection()

    def _write(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """A write transaction on the local SQLite database (settings, cache)."""
        return self.local.write_raw(body)

    def _read(self, body: Callable[[sqlite3.Connection], _T]) -> _T:
        """A read snapshot of the local SQLite database (settings, cache)."""
        return self.local.read_raw(body)

    def close(self) -> None:
        """Close the connections (the local one re-opens on the next call; a team store does not)."""
        if self.shared is not self.local:
            self.shared.close()
        self.local.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _paper_id(conn: Transaction, key: str) -> int:
        row = conn.execute("SELECT paper_id FROM papers WHERE key = ?", (key,)).fetchone()
        if row is None:
            raise KeyError(key)
        return int(row[0])
