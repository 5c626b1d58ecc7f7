"""Store stage, annotations: the user's notes (with history), tags and read status.

The library joins them onto its papers with :func:`annotate`.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import pandas as pd

from paper_widgets.store.cache import gc_paused
from paper_widgets.store.db import Database
from paper_widgets.vocabulary import DEFAULT_STATUS, STATUSES

__all__ = ["AnnotationStore", "Annotations", "annotate"]


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
    with gc_paused():  # a million new lists would trigger the cyclic GC over the whole heap
        tags[:] = [list(found.tags.get(key, ())) for key in keys]  # a fresh list per row: safe to mutate
    return papers.assign(
        note=pd.Series([found.notes.get(key) for key in keys], index=papers.index, dtype="str"),
        tags=pd.Series(tags, index=papers.index),
        status=pd.Series([found.status.get(key, DEFAULT_STATUS) for key in keys], index=papers.index, dtype="str"),
    )


class AnnotationStore(Database):
    """Notes, tags and status by citekey on top of :class:`Database`; unknown keys raise ``KeyError``."""

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
            return DEFAULT_STATUS if row is None else str(row[0])

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
                    (DEFAULT_STATUS,),
                )
            )
            return found

        return self._read(body)
