"""Store stage: the SQLite schema of the notes store and its ordered migrations.

``PRAGMA user_version`` holds the number of migrations applied. ``MIGRATIONS[i]``
takes a database from version ``i`` to ``i + 1``; they only ever get appended to,
never edited, so every older database file can be brought up to date.

Version history:

1. papers (one row per paper, its citekey), identities (aliases: several
   identities, e.g. folded title and arXiv id, name the same paper), the
   current note per paper, tags.
2. note history (every saved version kept, back-filled from the v1 notes),
   read status, the library cache index.
3. content hashes of input files remembered by (size, mtime, inode), so reopening
   a large library does not read every byte to find it unchanged.
4. settings (small per-user choices as JSON values).
5. citekeys a user wrote (``papers.pinned``: from a .bib file, they never change), when a key was
   first used (``papers.used``: cited, exported or noted; until then a generated key may improve
   once authors are known), and ``key_aliases``: every key a paper had before, still resolving to it.
   Plain ALTER TABLE/CREATE TABLE, so the PostgreSQL backend ports it as it is.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate", "schema_version"]


def _execute_all(conn: sqlite3.Connection, script: str) -> None:
    """Run our own ``;``-separated DDL one statement at a time.

    ``executescript`` would COMMIT the surrounding transaction first and break
    the all-or-nothing migration.
    """
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)


def _v1(conn: sqlite3.Connection) -> None:
    _execute_all(
        conn,
        """
        CREATE TABLE papers (
            paper_id INTEGER PRIMARY KEY,
            key      TEXT NOT NULL UNIQUE,
            created  REAL NOT NULL
        );
        -- kind: 'arxiv' when the identity is an arXiv id, 'title' for a folded title.
        CREATE TABLE identities (
            identity TEXT PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(paper_id),
            kind     TEXT NOT NULL CHECK (kind IN ('arxiv', 'title'))
        ) WITHOUT ROWID;
        CREATE INDEX identities_paper ON identities(paper_id, kind);
        CREATE TABLE notes (
            paper_id INTEGER PRIMARY KEY REFERENCES papers(paper_id),
            text     TEXT NOT NULL,
            updated  REAL NOT NULL
        );
        CREATE TABLE tags (
            paper_id INTEGER NOT NULL REFERENCES papers(paper_id),
            tag      TEXT NOT NULL,
            PRIMARY KEY (paper_id, tag)
        ) WITHOUT ROWID;
        """,
    )


def _v2(conn: sqlite3.Connection) -> None:
    _execute_all(
        conn,
        """
        CREATE TABLE note_history (
            version_id INTEGER PRIMARY KEY AUTOINCREMENT,
            paper_id   INTEGER NOT NULL REFERENCES papers(paper_id),
            text       TEXT NOT NULL,
            created    REAL NOT NULL
        );
        CREATE INDEX note_history_paper ON note_history(paper_id, version_id);
        -- v1 kept only the current note: it becomes the first version of its history.
        INSERT INTO note_history (paper_id, text, created)
            SELECT paper_id, text, updated FROM notes ORDER BY updated, paper_id;
        CREATE TABLE status (
            paper_id INTEGER PRIMARY KEY REFERENCES papers(paper_id),
            status   TEXT NOT NULL CHECK (status IN ('unread', 'reading', 'read')),
            updated  REAL NOT NULL
        );
        -- One slot per name: the pickle file holding the object built from content `hash`.
        CREATE TABLE cache (
            name    TEXT PRIMARY KEY,
            hash    TEXT NOT NULL,
            file    TEXT NOT NULL,
            size    INTEGER NOT NULL,
            created REAL NOT NULL
        ) WITHOUT ROWID;
        """,
    )


def _v3(conn: sqlite3.Connection) -> None:
    _execute_all(
        conn,
        """
        CREATE TABLE file_hashes (
            path     TEXT PRIMARY KEY,
            size     INTEGER NOT NULL,
            mtime_ns INTEGER NOT NULL,
            inode    INTEGER NOT NULL,
            hash     TEXT NOT NULL
        ) WITHOUT ROWID
        """,
    )


def _v4(conn: sqlite3.Connection) -> None:
    # Small per-user choices, e.g. which files make up "my library" (JSON values).
    _execute_all(
        conn,
        """
        CREATE TABLE settings (
            name  TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID
        """,
    )


def _v5(conn: sqlite3.Connection) -> None:
    _execute_all(
        conn,
        """
        ALTER TABLE papers ADD COLUMN pinned INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE papers ADD COLUMN used REAL;
        CREATE TABLE key_aliases (
            alias    TEXT PRIMARY KEY,
            paper_id INTEGER NOT NULL REFERENCES papers(paper_id)
        );
        CREATE INDEX key_aliases_paper ON key_aliases(paper_id)
        """,
    )


MIGRATIONS: tuple[Callable[[sqlite3.Connection], None], ...] = (_v1, _v2, _v3, _v4, _v5)
SCHEMA_VERSION = len(MIGRATIONS)


def schema_version(conn: sqlite3.Connection) -> int:
    """The schema version recorded in the database (0 for a new, empty file)."""
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def migrate(conn: sqlite3.Connection, target: int = SCHEMA_VERSION) -> int:
    """Apply the missing migrations up to ``target`` in one ``BEGIN IMMEDIATE`` transaction.

    ``conn`` must be in autocommit mode (``isolation_level=None``). The version is
    re-read under the write lock, so two processes opening a new file at once
    migrate it exactly once. Returns the version before migrating. Raises
    ``RuntimeError`` for a file written by a newer paper_widgets.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise RuntimeError(
                f"the notes database has schema version {before}, newer than this "
                f"paper_widgets understands ({SCHEMA_VERSION}); upgrade paper_widgets"
            )
        for step in MIGRATIONS[before:target]:
            step(conn)
        if target > before:
            # user_version cannot be bound as a parameter; target is an int we control.
            conn.execute(f"PRAGMA user_version = {int(target)}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return before
