"""Store stage, cache: content hashes of inputs and cached derived objects (parsed frames, indexes).

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
import os
import pickle
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from paper_widgets.store.db import Database

__all__ = ["CacheStore", "content_hash", "file_hash", "gc_paused", "package_fingerprint"]


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
    package = Path(__file__).resolve().parent.parent
    sources = sorted(package.rglob("*.py"))
    return content_hash(*(f"{p.relative_to(package)}:{file_hash(p)}" for p in sources))


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while allocating millions of containers (unpickling is 3x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class CacheStore(Database):
    """File hashes and the library cache on top of :class:`Database`."""

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
            with open(path, "rb") as f, gc_paused():
                return pickle.load(f)
        except Exception:
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
