"""Store stage, key registry: citekeys are recorded once and never change.

Papers are known by identities (arXiv id, folded title); a key handed out by
:mod:`paper_widgets.data.citekeys` is recorded with them in the same write and passed back
as ``reserved`` on every later load.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence

import pandas as pd

from paper_widgets.data.citekeys import assign_keys, paper_identities, title_identities
from paper_widgets.store.db import Database, Transaction

__all__ = ["KeyRegistry"]


class KeyRegistry(Database):
    """Citekey assignment and resolution on top of :class:`Database`."""

    def assign_keys(self, frame: pd.DataFrame) -> pd.Series:
        """Citekeys for ``frame`` (columns of :func:`paper_widgets.data.citekeys.assign_keys`), recorded.

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
            snapshot, known, with_arxiv = self.shared.read(self._identity_snapshot)
            keys_by_paper = dict(known.values())
            resolved: list[int | None] = []
            claimed: set[int] = set()
            for ident, title_ident in zip(primary, by_title, strict=False):
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
                (ident, keys_by_paper[pid]) for ident, pid in zip(primary, resolved, strict=False) if pid is not None
            )
            keys = assign_keys(frame, reserved or None)
            fresh: list[tuple[str, str, str]] = []  # (key, identity, title identity) of new papers
            # New names of known papers: the arXiv id of one first seen without it, a changed title.
            aliases: list[tuple[str, int, str]] = []  # (identity, paper id, kind)
            seen: set[str] = set()
            for key, ident, title_ident, paper_id in zip(keys.tolist(), primary, by_title, resolved, strict=False):
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
            if self.shared.write(functools.partial(self._record_keys, snapshot=snapshot, fresh=fresh, aliases=aliases)):
                return keys
            # Another process recorded papers between our read and write: resolve again.

    @staticmethod
    def _identity_snapshot(
        conn: Transaction,
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
        return KeyRegistry._generation(conn), known, with_arxiv

    @staticmethod
    def _generation(conn: Transaction) -> tuple[int, int]:
        # Papers and identities are only ever added, so (max id, count) moves on every change.
        row = conn.execute(
            "SELECT (SELECT coalesce(max(paper_id), 0) FROM papers), (SELECT count(*) FROM identities)"
        ).fetchone()
        return int(row[0]), int(row[1])

    @staticmethod
    def _record_keys(
        conn: Transaction,
        snapshot: tuple[int, int],
        fresh: Sequence[tuple[str, str, str]],
        aliases: Sequence[tuple[str, int, str]],
    ) -> bool:
        conn.lock("keys")  # PostgreSQL: one key writer at a time, as BEGIN IMMEDIATE gives SQLite
        if KeyRegistry._generation(conn) != snapshot:
            return False
        # Unchanged generation: nobody added papers since the snapshot, so new ids follow its max id
        # and identities can name them directly (no key lookup per row: a million rows in seconds).
        first_id = snapshot[0] + 1
        now = time.time()
        # Rows go in sorted by the indexed text: B-tree appends instead of random page splits (~3x).
        conn.insert_many(
            "papers",
            ("paper_id", "key", "created"),
            sorted(((first_id + i, key, now) for i, (key, _, _) in enumerate(fresh)), key=lambda row: row[1]),
        )
        identities: list[tuple[str, int, str]] = list(aliases)
        for i, (_key, ident, title_ident) in enumerate(fresh):
            is_arxiv = ident != title_ident
            identities.append((ident, first_id + i, "arxiv" if is_arxiv else "title"))
            if is_arxiv:
                identities.append((title_ident, first_id + i, "title"))
        # DO NOTHING: a title alias may already name another paper (same title, other arXiv id).
        identities.sort()
        conn.insert_many("identities", ("identity", "paper_id", "kind"), identities, ignore_conflicts=True)
        return True
