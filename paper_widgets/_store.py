"""Store stage: the user's notes, tags, read status, citekeys and library cache in one SQLite file.

Sits after :mod:`paper_widgets._citekeys` (it records the keys handed out there and passes
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

The library cache keeps large objects (parsed frames, search indexes) as pickle files
(protocol 5) in ``<home>/cache`` referenced from the ``cache`` table: pickle of a 1M-row
frame loads in seconds, while a BLOB would be limited to 1 GB and copied through SQLite.
The pickles are only ever read from the store's own directory, written by this package.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import hashlib
import json
import os
import pickle
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeAlias, TypeVar

import numpy as np
import pandas as pd
import platformdirs

from paper_widgets._citekeys import assign_keys, paper_identities, title_identities
from paper_widgets._store_schema import migrate

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "LOCK_PATIENCE",
    "STATUSES",
    "Annotations",
    "Store",
    "StoreLike",
    "annotate",
    "content_hash",
    "file_hash",
    "notes_markdown",
    "open_store",
    "package_fingerprint",
    "store_home",
]

DB_NAME = "paper_widgets.sqlite3"
STATUSES = ("unread", "reading", "read")
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


def file_hash(path: str | os.PathLike[str]) -> str:
    """Content hash (BLAKE2b) of a file, the cache key for anything derived from it."""
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "blake2b").hexdigest()


def content_hash(*parts: str) -> str:
    """One hash of several strings (file hashes, names, versions): a cache key for their combination."""
    digest = hashlib.blake2b(digest_size=20)
    for part in parts:
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


@functools.cache
def package_fingerprint() -> str:
    """Hash of paper_widgets' own source: any code change (an upgrade) invalidates cached results."""
    package = Path(__file__).resolve().parent
    return content_hash(*(f"{p.name}:{file_hash(p)}" for p in sorted(package.glob("*.py"))))


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while allocating millions of containers (unpickling is 3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_lock_error(error: sqlite3.OperationalError) -> bool:
    message = str(error).lower()
    return "locked" in message or "busy" in message


@dataclass
class Annotations:
    """Everything the user added, by citekey: current notes, tags (sorted) and non-default status."""

    notes: dict[str, str] = field(default_factory=dict)
    tags: dict[str, list[str]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)


def annotate(papers: pd.DataFrame, found: Annotations) -> pd.DataFrame:
    """``papers`` plus the columns ``note`` (str or NA), ``tags`` (list[str]) and ``status`` from ``found``."""
    keys = papers["key"].tolist()  # iterating a plain list is ~10x faster than iterating the Series
    tags = np.empty(len(keys), dtype=object)
    with _gc_paused():  # a million new lists would trigger the cyclic GC over the whole heap
        tags[:] = [list(found.tags.get(key, ())) for key in keys]  # a fresh list per row: safe to mutate
    return papers.assign(
        note=pd.Series([found.notes.get(key) for key in keys], index=papers.index, dtype="str"),
        tags=pd.Series(tags, index=papers.index),
        status=pd.Series([found.status.get(key, STATUSES[0]) for key in keys], index=papers.index, dtype="str"),
    )


_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>&|~$#])")


def _inline(text: str) -> str:
    """Untrusted text (titles, tags) as literal inline markdown: specials backslash-escaped, one line."""
    return _MARKDOWN_INLINE.sub(r"\\\1", " ".join(str(text).split()))


def notes_markdown(papers: pd.DataFrame) -> str:
    """One Markdown document: a section per paper of ``papers`` (an annotated frame) that has a note."""
    parts = ["# Literature notes\n"]
    for row in papers[papers["note"].notna()].itertuples(index=False):
        parts.append(f"## {_inline(row.title)} (`{row.key}`)\n")
        details = [f"- Status: {row.status}"]
        if row.tags:
            details.insert(0, "- Tags: " + ", ".join(_inline(t) for t in row.tags))
        parts.append("\n".join(details) + "\n")
        parts.append(row.note.strip() + "\n")
    return "\n".join(parts)


StoreLike: TypeAlias = "Store | str | os.PathLike[str] | None"


def open_store(store: StoreLike = None) -> Store:
    """``store`` itself, or the store in directory ``store``, or the default store (:func:`store_home`)."""
    return store if isinstance(store, Store) else Store(store)


class Store:
    """The notes store: one SQLite database (WAL) plus a directory of cache files.

    ``home`` is a directory (created if needed); default :func:`store_home`.
    Papers are addressed by citekey; keys are unique in the store and never change.
    Unknown keys raise ``KeyError``.
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

    def __enter__(self) -> Store:
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

    # -- citekeys -----------------------------------------------------------------------------

    def assign_keys(self, frame: pd.DataFrame) -> pd.Series:
        """Citekeys for ``frame`` (columns of :func:`paper_widgets._citekeys.assign_keys`), recorded.

        Papers the store knows keep their key. A paper is known by its identity (arXiv id,
        else folded title) or, when it now has an arXiv id, by its folded title from an
        earlier load without one (then the arXiv id is recorded as an alias); a title
        alias of a paper that has a different arXiv id names a different paper. New papers
        get keys that clash with no key in the store, and are recorded in the same write.
        """
        title_idents = title_identities(frame["title"])
        primary = paper_identities(frame["title"], frame["arxiv_id"], title_idents).tolist()
        by_title = title_idents.tolist()

        while True:
            snapshot, known, with_arxiv = self._read(self._identity_snapshot)
            keys_by_paper = {paper_id: key for paper_id, key in known.values()}
            resolved: list[int | None] = []
            claimed: set[int] = set()
            for ident, title_ident in zip(primary, by_title):
                hit = known.get(ident)
                if hit is None and ident != title_ident:
                    alias = known.get(title_ident)
                    if alias is not None and alias[0] not in with_arxiv:
                        hit = alias
                # One row per paper: a second row naming the same paper is treated as new.
                paper_id = hit[0] if hit is not None and hit[0] not in claimed else None
                if paper_id is not None:
                    claimed.add(paper_id)
                resolved.append(paper_id)
            # One identity per key (assign_keys keeps a key with one identity): the row's own for papers
            # in the frame, a name no row can have ("key:…") for the others, whose keys are just taken.
            reserved = {f"key:{key}": key for paper_id, key in keys_by_paper.items() if paper_id not in claimed}
            reserved.update(
                (ident, keys_by_paper[pid]) for ident, pid in zip(primary, resolved) if pid is not None
            )
            keys = assign_keys(frame, reserved or None)
            fresh: list[tuple[str, str, str]] = []  # (key, identity, title identity) of new papers
            # New names of known papers: the arXiv id of one first seen without it, a changed title.
            aliases: list[tuple[str, int, str]] = []  # (identity, paper id, kind)
            seen: set[str] = set()
            for key, ident, title_ident, paper_id in zip(keys.tolist(), primary, by_title, resolved):
                if paper_id is None and ident not in known and ident not in seen:
                    fresh.append((key, ident, title_ident))
                elif paper_id is not None:
                    if ident not in known:
                        aliases.append((ident, paper_id, "arxiv"))
                    if title_ident != ident and title_ident not in known:
                        aliases.append((title_ident, paper_id, "title"))
                seen.add(ident)
            if not fresh and not aliases:
                return keys
            if self._write(lambda conn: self._record_keys(conn, snapshot, fresh, aliases)):
                return keys
            # Another process recorded papers between our read and write: resolve again.

    @staticmethod
    def _identity_snapshot(
        conn: sqlite3.Connection,
    ) -> tuple[tuple[int, int], dict[str, tuple[int, str]], set[int]]:
        known: dict[str, tuple[int, str]] = {}
        with_arxiv: set[int] = set()
        rows = conn.execute(
            "SELECT i.identity, i.paper_id, p.key, i.kind FROM identities i JOIN papers p USING (paper_id)"
        )
        for ident, paper_id, key, kind in rows:
            known[ident] = (paper_id, key)
            if kind == "arxiv":
                with_arxiv.add(paper_id)
        return Store._generation(conn), known, with_arxiv

    @staticmethod
    def _generation(conn: sqlite3.Connection) -> tuple[int, int]:
        # Papers and identities are only ever added, so (max id, count) moves on every change.
        row = conn.execute(
            "SELECT (SELECT coalesce(max(paper_id), 0) FROM papers), (SELECT count(*) FROM identities)"
        ).fetchone()
        return int(row[0]), int(row[1])

    @staticmethod
    def _record_keys(
        conn: sqlite3.Connection,
        snapshot: tuple[int, int],
        fresh: Sequence[tuple[str, str, str]],
        aliases: Sequence[tuple[str, int, str]],
    ) -> bool:
        if Store._generation(conn) != snapshot:
            return False
        # Unchanged generation: nobody added papers since the snapshot, so new ids follow its max id
        # and identities can name them directly (no key lookup per row: a million rows in seconds).
        first_id = snapshot[0] + 1
        now = time.time()
        # Rows go in sorted by the indexed text: B-tree appends instead of random page splits (~3x).
        conn.executemany(
            "INSERT INTO papers (paper_id, key, created) VALUES (?, ?, ?)",
            sorted(((first_id + i, key, now) for i, (key, _, _) in enumerate(fresh)), key=lambda row: row[1]),
        )
        identities: list[tuple[str, int, str]] = list(aliases)
        for i, (_key, ident, title_ident) in enumerate(fresh):
            is_arxiv = ident != title_ident
            identities.append((ident, first_id + i, "arxiv" if is_arxiv else "title"))
            if is_arxiv:
                identities.append((title_ident, first_id + i, "title"))
        # OR IGNORE: a title alias may already name another paper (same title, other arXiv id).
        identities.sort()
        conn.executemany("INSERT OR IGNORE INTO identities (identity, paper_id, kind) VALUES (?, ?, ?)", identities)
        return True

    # -- notes --------------------------------------------------------------------------------

    def set_note(self, key: str, text: str) -> int:
        """Save ``text`` as the current note of ``key``; earlier versions stay in the history.

        Empty (or blank) text clears the note. Returns the id of the new version; the
        note is on disk when this returns.
        """
        return self.set_notes([(key, text)])[0]

    def set_notes(self, items: Iterable[tuple[str, str]]) -> list[int]:
        """Save many ``(key, text)`` notes in one transaction (one fsync); version ids in order."""
        pairs = list(items)
        for _, text in pairs:
            if not isinstance(text, str):
                raise TypeError(f"a note is markdown text (str), not {type(text).__name__}")

        def body(conn: sqlite3.Connection) -> list[int]:
            ids = []
            for key, text in pairs:
                paper_id, now = self._paper_id(conn, key), time.time()
                cursor = conn.execute(
                    "INSERT INTO note_history (paper_id, text, created) VALUES (?, ?, ?)", (paper_id, text, now)
                )
                ids.append(int(cursor.lastrowid))
                if text.strip():
                    conn.execute(
                        "INSERT INTO notes (paper_id, text, updated) VALUES (?, ?, ?) ON CONFLICT (paper_id) "
                        "DO UPDATE SET text = excluded.text, updated = excluded.updated",
                        (paper_id, text, now),
                    )
                else:
                    conn.execute("DELETE FROM notes WHERE paper_id = ?", (paper_id,))
            return ids

        return self._write(body)

    def note(self, key: str) -> str | None:
        """The current note of ``key``, or None when it has none."""

        def body(conn: sqlite3.Connection) -> str | None:
            row = conn.execute("SELECT text FROM notes WHERE paper_id = ?", (self._paper_id(conn, key),)).fetchone()
            return None if row is None else str(row[0])

        return self._read(body)

    def note_history(self, key: str) -> list[tuple[datetime, str]]:
        """Every saved version of the note of ``key``, oldest first, as (UTC time, text)."""

        def body(conn: sqlite3.Connection) -> list[tuple[datetime, str]]:
            rows = conn.execute(
                "SELECT created, text FROM note_history WHERE paper_id = ? ORDER BY version_id",
                (self._paper_id(conn, key),),
            )
            return [(datetime.fromtimestamp(created, timezone.utc), str(text)) for created, text in rows]

        return self._read(body)

    # -- tags and status ----------------------------------------------------------------------

    @staticmethod
    def _clean_tags(tags: Iterable[str]) -> list[str]:
        cleaned = []
        for tag in tags:
            if not isinstance(tag, str) or not tag.strip():
                raise ValueError(f"a tag is a non-empty string, not {tag!r}")
            cleaned.append(" ".join(tag.split()))
        return cleaned

    def tag(self, key: str, *tags: str) -> None:
        """Add ``tags`` to ``key`` (surrounding whitespace dropped; existing tags stay)."""
        cleaned = self._clean_tags(tags)

        def body(conn: sqlite3.Connection) -> None:
            paper_id = self._paper_id(conn, key)
            conn.executemany(
                "INSERT OR IGNORE INTO tags (paper_id, tag) VALUES (?, ?)", ((paper_id, t) for t in cleaned)
            )

        self._write(body)

    def untag(self, key: str, *tags: str) -> None:
        """Remove ``tags`` from ``key``; tags it does not have are ignored."""
        cleaned = self._clean_tags(tags)

        def body(conn: sqlite3.Connection) -> None:
            paper_id = self._paper_id(conn, key)
            conn.executemany("DELETE FROM tags WHERE paper_id = ? AND tag = ?", ((paper_id, t) for t in cleaned))

        self._write(body)

    def tags(self, key: str) -> list[str]:
        """The tags of ``key``, sorted."""

        def body(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute("SELECT tag FROM tags WHERE paper_id = ? ORDER BY tag", (self._paper_id(conn, key),))
            return [str(tag) for (tag,) in rows]

        return self._read(body)

    def set_status(self, key: str, status: str) -> None:
        """Set the read status of ``key``: one of :data:`STATUSES`."""
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {status!r}")

        def body(conn: sqlite3.Connection) -> None:
            conn.execute(
                "INSERT INTO status (paper_id, status, updated) VALUES (?, ?, ?) ON CONFLICT (paper_id) "
                "DO UPDATE SET status = excluded.status, updated = excluded.updated",
                (self._paper_id(conn, key), status, time.time()),
            )

        self._write(body)

    def status(self, key: str) -> str:
        """The read status of ``key`` (``"unread"`` until set)."""

        def body(conn: sqlite3.Connection) -> str:
            row = conn.execute("SELECT status FROM status WHERE paper_id = ?", (self._paper_id(conn, key),)).fetchone()
            return STATUSES[0] if row is None else str(row[0])

        return self._read(body)

    def annotations(self) -> Annotations:
        """All notes, tags and statuses in one consistent read, for the library's columns."""

        def body(conn: sqlite3.Connection) -> Annotations:
            found = Annotations()
            found.notes.update(conn.execute("SELECT p.key, n.text FROM notes n JOIN papers p USING (paper_id)"))
            tags = conn.execute("SELECT p.key, t.tag FROM tags t JOIN papers p USING (paper_id) ORDER BY 1, 2")
            for key, tag in tags:
                found.tags.setdefault(key, []).append(tag)
            found.status.update(
                conn.execute(
                    "SELECT p.key, s.status FROM status s JOIN papers p USING (paper_id) WHERE s.status != ?",
                    (STATUSES[0],),
                )
            )
            return found

        return self._read(body)

    # -- settings -----------------------------------------------------------------------------

    def setting(self, name: str) -> Any | None:
        """The JSON value saved under ``name``, or None."""
        row = self._read(lambda conn: conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone())
        return None if row is None else json.loads(row[0])

    def set_setting(self, name: str, value: Any) -> None:
        """Save ``value`` (anything JSON can hold) under ``name``."""
        text = json.dumps(value)
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, text),
            )
        )

    # -- library cache ------------------------------------------------------------------------

    def file_hash(self, path: str | os.PathLike[str]) -> str:
        """:func:`file_hash` of ``path``, remembered while its size, mtime and inode stay the same.

        Like git's index: a file rewritten with the same size within the same mtime tick would
        be missed, so hashes of files modified in the last couple of seconds are not remembered.
        """
        resolved = str(Path(path).resolve())
        before = os.stat(resolved)
        signature = (before.st_size, before.st_mtime_ns, before.st_ino)
        row = self._read(
            lambda conn: conn.execute(
                "SELECT size, mtime_ns, inode, hash FROM file_hashes WHERE path = ?", (resolved,)
            ).fetchone()
        )
        if row is not None and tuple(row[:3]) == signature:
            return str(row[3])
        digest = file_hash(resolved)
        after = os.stat(resolved)
        settled = time.time_ns() - after.st_mtime_ns > 2_000_000_000
        if settled and (after.st_size, after.st_mtime_ns, after.st_ino) == signature:
            self._write(
                lambda conn: conn.execute(
                    "INSERT OR REPLACE INTO file_hashes (path, size, mtime_ns, inode, hash) VALUES (?, ?, ?, ?, ?)",
                    (resolved, *signature, digest),
                )
            )
        return digest

    def cache_get(self, name: str, content_hash: str) -> Any | None:
        """The object cached under ``name`` if it was built from ``content_hash``, else None.

        A missing or unreadable cache file (e.g. from an older paper_widgets) is a miss.
        """
        row = self._read(
            lambda conn: conn.execute("SELECT hash, file, size FROM cache WHERE name = ?", (name,)).fetchone()
        )
        if row is None or row[0] != content_hash:
            return None
        path = self.cache_dir / row[1]
        try:
            if path.stat().st_size != row[2]:
                return None
            with open(path, "rb") as f, _gc_paused():
                return pickle.load(f)
        except Exception:  # noqa: BLE001 - any unreadable cache is just a miss; the caller rebuilds
            return None

    def cache_put(self, name: str, content_hash: str, value: Any) -> None:
        """Cache ``value`` under ``name`` as built from ``content_hash``, replacing the previous one."""
        self.cache_dir.mkdir(exist_ok=True)
        file = hashlib.blake2b(f"{name}\0{content_hash}".encode(), digest_size=16).hexdigest() + ".pickle"
        path = self.cache_dir / file
        partial = path.with_name(f"{file}.{os.getpid()}.{threading.get_ident()}.tmp")
        with open(partial, "wb") as f:
            pickle.dump(value, f, protocol=5)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, path)
        size = path.stat().st_size

        def body(conn: sqlite3.Connection) -> str | None:
            old = conn.execute("SELECT file FROM cache WHERE name = ?", (name,)).fetchone()
            conn.execute(
                "INSERT INTO cache (name, hash, file, size, created) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET "
                "hash = excluded.hash, file = excluded.file, size = excluded.size, created = excluded.created",
                (name, content_hash, file, size, time.time()),
            )
            return None if old is None or old[0] == file else str(old[0])

        replaced = self._write(body)
        if replaced is not None:
            # Windows refuses while another process reads it; the file is then merely left over.
            with contextlib.suppress(OSError):
                (self.cache_dir / replaced).unlink()
