"""Store stage, key registry: citekeys are recorded once and, once used, never change.

Papers are known by identities (arXiv id, folded title); a key handed out by
:mod:`paper_widgets.data.citekeys` is recorded with them in the same write and passed back
as ``reserved`` on every later load.  Three refinements (schema v5):

* **Pinned keys**: a row with ``citekeys`` (the user's own keys from a .bib file) gets the first
  of them, always.  A paper the store knew under a generated key adopts the user's key; the old
  key, and the row's other citekeys, are recorded in ``key_aliases`` and keep resolving to it, so
  notebooks that cite them still work.
* **Used keys**: :meth:`KeyRegistry.mark_used` records when a key is first cited, exported or
  noted.  A generated key of a paper whose authors were unknown (``GradientSurgery2020``) improves
  (``yuGradientSurgery2020``) on a later load that knows them, but only while it was never used;
  the old key becomes an alias.
* Keys compare ignoring case, as BibTeX does.

Identities are stored as :func:`~paper_widgets.store.schema.identity_hashes` (64-bit integers; see
there for the collision bound).
"""

from __future__ import annotations

import functools
import time
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from paper_widgets.data.citekeys import arxiv_identities, assign_keys, base_keys, paper_identities, title_identities
from paper_widgets.data.packed import large_strings, release_arrow_memory
from paper_widgets.data.records import PaperWidgetsWarning, held_lists
from paper_widgets.store.db import Database, Transaction
from paper_widgets.store.schema import identity_hashes

__all__ = ["KeyRegistry"]

# Generated keys start with the first author's lower-case surname; without authors they start
# with a capitalised title word or this prefix (see data.citekeys).
_ANONYMOUS_PREFIX = "paper"


@dataclass(slots=True)
class _Snapshot:
    generation: tuple[int, ...]
    known: dict[int, tuple[int, str]]  # identity hash → (paper id, key)
    with_arxiv: set[int]
    by_key: dict[str, int]  # lower-cased key or alias → paper id
    keys: dict[int, str]  # paper id → current key
    all_keys: list[str]  # every key and alias
    pinned: set[int]  # papers whose key the user wrote
    fixed: set[int]  # papers whose key may not change: pinned or used


@dataclass(frozen=True, slots=True)
class _Fresh:
    """The new papers to record, an array per column (a tuple per paper were ~90 MB at a million papers)."""

    keys: np.ndarray  # str objects
    idents: np.ndarray  # identity hash
    owned: np.ndarray  # whether the paper gets its identity (False: another paper has it)
    title_idents: np.ndarray  # title identity hash
    pinned: np.ndarray  # 1 for a key the user wrote, else 0

    def __len__(self) -> int:
        return len(self.keys)


_NO_FRESH = _Fresh(*(np.empty(0, dtype) for dtype in (object, np.int64, bool, np.int64, np.int64)))


@dataclass(slots=True)
class _Changes:
    fresh: _Fresh = _NO_FRESH
    aliases: list[tuple[int, int, int]] = field(default_factory=list)  # (identity hash, paper id, is arXiv id)
    rekeyed: list[tuple[int, str, int]] = field(default_factory=list)  # (paper id, new key, pinned)
    key_aliases: list[tuple[str, str]] = field(default_factory=list)  # (old or extra key, the paper's key)

    def __bool__(self) -> bool:
        return bool(self.fresh or self.aliases or self.rekeyed or self.key_aliases)


def _anonymous(key: str) -> bool:
    """Whether a generated key was made without knowing the authors."""
    return key[:1].isupper() or key.startswith(_ANONYMOUS_PREFIX)


def _first_claims(own_keys: dict[int, list[str]]) -> dict[int, list[str]]:
    """The rows whose own key no earlier row of the batch has (ignoring case); the others are warned about.

    Two different papers cannot share a key: the later one gets a generated key, and its own keys
    stay in its ``citekeys`` cell.  (The .bib reader already keeps only the first entry of a key, as
    BibTeX does; this guards frames made by hand or joined from several libraries.)
    """
    first: dict[str, int] = {}
    kept: dict[int, list[str]] = {}
    for row, own in own_keys.items():
        earlier = first.setdefault(own[0].lower(), row)
        if earlier == row:
            kept[row] = own
        else:
            warnings.warn(
                f"citekey {own[0]!r} is given to rows {earlier} and {row}: row {row} gets a generated key",
                PaperWidgetsWarning,
                stacklevel=4,
            )
    return kept


def _identity_rows(
    aliases: list[tuple[int, int, int]], fresh: _Fresh, paper_ids: np.ndarray, first_id: int
) -> Iterator[tuple[int, int, int]]:
    """The (identity hash, paper id, is arXiv id) rows to record, sorted by hash: the table (its row id)
    then grows by appends, not by random page splits.

    ``aliases``: identities of known papers; the ``fresh`` papers' identities (those they own) and
    title identities, given ``paper_ids``.  A title naming several papers goes to the one known
    before, else to the earliest row: it comes first, and ``ON CONFLICT DO NOTHING`` keeps it.
    """
    rows = np.flatnonzero(fresh.owned)
    idents = fresh.idents[rows]
    titles = fresh.title_idents[rows]
    by_arxiv = idents != titles  # a paper known by its arXiv id is known by its title too
    known = np.array(aliases, np.int64).reshape(-1, 3)
    hashes = np.concatenate([known[:, 0], idents, titles[by_arxiv]])
    precedence = np.concatenate([known[:, 1], first_id + rows, first_id + rows[by_arxiv]])
    owners = np.concatenate([known[:, 1], paper_ids[rows], paper_ids[rows[by_arxiv]]])
    arxiv = np.concatenate([known[:, 2], by_arxiv, np.zeros(int(by_arxiv.sum()), np.int64)])
    order = np.lexsort((arxiv, owners, precedence, hashes))
    return zip(hashes[order].tolist(), owners[order].tolist(), arxiv[order].astype(np.int64).tolist(), strict=True)


_IDENTITY_CHUNK = 1 << 16  # rows whose identities are worked out at once (see KeyRegistry.assign_keys)


def _identities(frame: pd.DataFrame, folded_titles: pd.Series | None, rows: Sequence[int]) -> list[str]:
    """The identities (:func:`~paper_widgets.data.citekeys.paper_identity`) of ``rows`` of ``frame``."""
    titles = frame["title"].iloc[rows]
    by_title = title_identities(titles, None if folded_titles is None else folded_titles.iloc[rows])
    identities: list[str] = paper_identities(titles, frame["arxiv_id"].iloc[rows], by_title).tolist()
    return identities


def _identity_hashes(frame: pd.DataFrame, folded_titles: pd.Series | None) -> tuple[np.ndarray, np.ndarray]:
    """The :func:`identity_hashes` of every row's identity as if no arXiv id were known (its title's),
    and of its own identity."""
    title_hashes = np.empty(len(frame), np.int64)
    primary_hashes = np.empty(len(frame), np.int64)
    # A chunk of rows at a time: a million identity strings held at once were ~300 MB at a load's peak.
    for at in range(0, len(frame), _IDENTITY_CHUNK):
        rows = slice(at, at + _IDENTITY_CHUNK)
        by_title = title_identities(
            frame["title"].iloc[rows], None if folded_titles is None else folded_titles.iloc[rows]
        )
        title_hashes[rows] = identity_hashes(large_strings(by_title))
        primary_hashes[rows] = title_hashes[rows]
        # Most rows have no arXiv id (dumps never have one): their identity is their title's, hashed once.
        by_arxiv = arxiv_identities(frame["arxiv_id"].iloc[rows])
        given = np.flatnonzero(by_arxiv.notna().to_numpy(bool))
        primary_hashes[at + given] = identity_hashes(by_arxiv.iloc[given].tolist())
    return title_hashes, primary_hashes


def _own_keys(frame: pd.DataFrame) -> dict[int, list[str]]:
    """The rows that have citekeys of their own (from a .bib file) → those keys."""
    return held_lists(frame["citekeys"]) if "citekeys" in frame.columns else {}


class KeyRegistry(Database):
    """Citekey assignment and resolution on top of :class:`Database`."""

    def assign_keys(self, frame: pd.DataFrame, folded_titles: pd.Series | None = None) -> pd.Series:
        """Citekeys for ``frame`` (columns of :func:`paper_widgets.data.citekeys.assign_keys`, optionally
        ``citekeys``), recorded; ``folded_titles``: its titles folded, when the caller has them (the merge).

        Rows with ``citekeys`` get the first one (pinned).  Other papers the store knows keep their
        key. A paper is known by its identity (arXiv id, else folded title) or, when it now has an
        arXiv id, by its folded title from an earlier load without one (then the arXiv id is
        recorded as an alias); a title alias of a paper that has a different arXiv id names a
        different paper. New papers get keys that clash with no key or alias in the store
        (ignoring case), and are recorded in the same write.
        """
        title_hashes, primary_hashes = _identity_hashes(frame, folded_titles)
        own_keys = _first_claims(_own_keys(frame))
        while True:
            snap = self.shared.read(self._identity_snapshot)
            changes = _Changes()
            keys = self._resolve(frame, snap, changes, own_keys, primary_hashes, title_hashes, folded_titles)
            release_arrow_memory()  # the keys' makings, before the write's own
            if not changes:
                return keys
            if self.shared.write(functools.partial(self._record_keys, snap=snap, changes=changes)):
                return keys
            # Another process recorded papers between our read and write: resolve again.

    @staticmethod
    def _resolve(
        frame: pd.DataFrame,
        snap: _Snapshot,
        changes: _Changes,
        own_keys: dict[int, list[str]],
        primary_hashes: np.ndarray,
        title_hashes: np.ndarray,
        folded_titles: pd.Series | None,
    ) -> pd.Series:
        """Every row's key; what must be recorded for that goes into ``changes``.

        ``primary_hashes`` and ``title_hashes``: the rows' identities' and their
        titles' :func:`identity_hashes`.
        """
        keys = np.empty(len(frame), dtype=object)
        claimed: set[int] = set()
        seen: set[int] = set()
        # The pinned rows' new papers: key, identity hash, whether it owns the identity, title identity hash
        pinned_keys: list[str] = []
        pinned_idents: list[int] = []
        pinned_owned: list[bool] = []
        pinned_titles: list[int] = []
        # Pinned rows first: the user's key decides.
        for row, own in own_keys.items():
            key, ident = own[0], int(primary_hashes[row])
            paper_id = snap.by_key.get(key.lower())
            if paper_id is None:
                hit = snap.known.get(ident)
                if hit is not None:
                    paper_id = hit[0]  # known under another key: it adopts the user's, the old one stays an alias
            if paper_id in claimed:
                paper_id = None
            keys[row] = key
            if paper_id is None:
                free = ident not in snap.known and ident not in seen
                pinned_keys.append(key)
                pinned_idents.append(ident)
                pinned_owned.append(free)
                pinned_titles.append(int(title_hashes[row]))
            else:
                claimed.add(paper_id)
                if snap.keys[paper_id] != key:
                    changes.key_aliases.append((snap.keys[paper_id], key))
                if snap.keys[paper_id] != key or paper_id not in snap.pinned:
                    changes.rekeyed.append((paper_id, key, 1))
            seen.add(ident)
            changes.key_aliases.extend((extra, key) for extra in own[1:] if extra.lower() not in snap.by_key)
        # Generated rows: a known paper keeps its key unless it was made without authors, never
        # used, and the row now knows the authors.
        generated = np.ones(len(frame), bool)
        generated[list(own_keys)] = False
        generated_rows = np.flatnonzero(generated)
        resolved: dict[int, int] = {}
        for row in generated_rows.tolist() if snap.known else ():  # an empty store (a first open) knows no paper
            ident, title_ident = int(primary_hashes[row]), int(title_hashes[row])
            hit = snap.known.get(ident)
            if hit is None and ident != title_ident:
                alias = snap.known.get(title_ident)
                if alias is not None and alias[0] not in snap.with_arxiv:
                    hit = alias
            # One row per paper: a second row naming the same paper is treated as new.
            if hit is not None and hit[0] not in claimed:
                claimed.add(hit[0])
                resolved[row] = hit[0]
        candidates = [r for r, pid in resolved.items() if pid not in snap.fixed and _anonymous(snap.keys[pid])]
        better = base_keys(frame.iloc[candidates]).tolist() if candidates else []
        improving = {row for row, base in zip(candidates, better, strict=True) if not _anonymous(base)}
        staying = [row for row in resolved if row not in improving]
        kept = dict(
            zip(_identities(frame, folded_titles, staying), [snap.keys[resolved[row]] for row in staying], strict=True)
        )
        kept_keys = set(kept.values())
        # Every other key and alias in the store, and the pinned keys, are taken: a name no row
        # can have ("key:…") holds them.
        taken = [k for k in snap.all_keys if k not in kept_keys] + [keys[r] for r in own_keys]
        reserved = {f"key:{k}": k for k in taken} | kept
        if len(generated_rows):
            rows = frame if len(generated_rows) == len(frame) else frame.iloc[generated_rows]
            keys[generated_rows] = assign_keys(rows, reserved or None).to_numpy(dtype=object)
        # A new paper is recorded once, by the first row naming it (the pinned rows come first).
        idents = primary_hashes[generated_rows]
        new = ~pd.Series(idents).duplicated().to_numpy() & ~np.isin(idents, np.fromiter(seen, np.int64, len(seen)))
        new &= ~np.isin(idents, np.fromiter(snap.known, np.int64, len(snap.known)))
        new &= ~np.isin(generated_rows, np.fromiter(resolved, np.int64, len(resolved)))
        new_rows = generated_rows[new]
        changes.fresh = _Fresh(
            np.concatenate([np.array(pinned_keys, object), keys[new_rows]]),
            np.concatenate([np.array(pinned_idents, np.int64), primary_hashes[new_rows]]),
            np.concatenate([np.array(pinned_owned, bool), np.ones(len(new_rows), bool)]),
            np.concatenate([np.array(pinned_titles, np.int64), title_hashes[new_rows]]),
            np.concatenate([np.ones(len(pinned_keys), np.int64), np.zeros(len(new_rows), np.int64)]),
        )
        for row, paper_id in resolved.items():
            ident, title_ident, key = int(primary_hashes[row]), int(title_hashes[row]), keys[row]
            if key != snap.keys[paper_id]:
                changes.rekeyed.append((paper_id, key, 0))
                changes.key_aliases.append((snap.keys[paper_id], key))
            if ident not in snap.known:
                changes.aliases.append((ident, paper_id, 1))
            if title_ident != ident and title_ident not in snap.known:
                changes.aliases.append((title_ident, paper_id, 0))
        return pd.Series(keys, index=frame.index, dtype=object)

    def mark_used(self, keys: Iterable[str]) -> None:
        """Record that ``keys`` were cited, exported or noted: from now on they never change."""
        unique = sorted(set(keys))
        if not unique:
            return
        # Read first: citing a key already in use (the usual case) must not cost a write and an fsync.
        unused = self.shared.read(lambda conn: self._unused(conn, unique))
        if unused:
            now = time.time()
            self.shared.write(
                lambda conn: conn.executemany(
                    "UPDATE papers SET used = ? WHERE key = ? AND used IS NULL", [(now, key) for key in unused]
                )
            )

    @staticmethod
    def _unused(conn: Transaction, keys: list[str]) -> list[str]:
        unused: list[str] = []
        for start in range(0, len(keys), 500):  # SQLite limits the number of bound parameters
            chunk = keys[start : start + 500]
            marks = ", ".join("?" * len(chunk))
            query = f"SELECT key FROM papers WHERE used IS NULL AND key IN ({marks})"
            unused.extend(str(row[0]) for row in conn.execute(query, chunk))
        return unused

    def key_aliases(self) -> dict[str, str]:
        """Every earlier or extra key → the paper's current key."""
        rows = self.shared.read(
            lambda conn: conn.execute(
                "SELECT a.alias, p.key FROM key_aliases a JOIN papers p USING (paper_id)"
            ).fetchall()
        )
        return {str(alias): str(key) for alias, key in rows}

    @staticmethod
    def _identity_snapshot(conn: Transaction) -> _Snapshot:
        known: dict[int, tuple[int, str]] = {}
        with_arxiv: set[int] = set()
        rows = conn.execute(
            "SELECT i.identity_hash, i.paper_id, p.key, i.arxiv FROM identities i JOIN papers p USING (paper_id)"
        )
        for ident, paper_id, key, arxiv in rows:
            known[ident] = (paper_id, key)
            if arxiv:
                with_arxiv.add(paper_id)
        keys: dict[int, str] = {}
        pinned: set[int] = set()
        fixed: set[int] = set()
        by_key: dict[str, int] = {}
        all_keys: list[str] = []
        for alias, paper_id in conn.execute("SELECT alias, paper_id FROM key_aliases"):
            by_key[alias.lower()] = paper_id
            all_keys.append(alias)
        for paper_id, key, is_pinned, used in conn.execute("SELECT paper_id, key, pinned, used FROM papers"):
            keys[paper_id] = key
            by_key[key.lower()] = paper_id
            all_keys.append(key)
            if is_pinned:
                pinned.add(paper_id)
            if is_pinned or used is not None:
                fixed.add(paper_id)
        return _Snapshot(KeyRegistry._generation(conn), known, with_arxiv, by_key, keys, all_keys, pinned, fixed)

    @staticmethod
    def _generation(conn: Transaction) -> tuple[int, ...]:
        # Papers, identities and aliases are only ever added, and a key only changes together
        # with a new alias, so these counts move on every change.
        row = conn.execute(
            "SELECT (SELECT coalesce(max(paper_id), 0) FROM papers), (SELECT count(*) FROM identities),"
            " (SELECT count(*) FROM key_aliases), (SELECT coalesce(sum(pinned), 0) FROM papers)"
        ).fetchone()
        return tuple(int(v) for v in row)

    @staticmethod
    def _record_keys(conn: Transaction, snap: _Snapshot, changes: _Changes) -> bool:
        conn.lock("keys")  # PostgreSQL: one key writer at a time, as BEGIN IMMEDIATE gives SQLite
        if KeyRegistry._generation(conn) != snap.generation:
            return False
        # Unchanged generation: nobody added papers since the snapshot, so new ids follow its max id
        # and identities can name them directly (no key lookup per row: a million rows in seconds).
        first_id = snap.generation[0] + 1
        now = time.time()
        # A key moving to another paper frees it first (UNIQUE): old keys become aliases below.
        conn.executemany(
            "UPDATE papers SET key = ? WHERE paper_id = ?",
            [(f" moving:{pid}", pid) for pid, _, _ in changes.rekeyed],  # no citekey has a space
        )
        # New ids are handed out in key order, so both the table (by id) and its UNIQUE key index
        # grow by appends instead of random page splits.
        fresh = changes.fresh
        in_key_order = pc.sort_indices(pa.array(fresh.keys, pa.large_string())).to_numpy()
        paper_ids = np.empty(len(fresh), np.int64)
        paper_ids[in_key_order] = np.arange(first_id, first_id + len(fresh))
        conn.insert_numbered(
            "papers", "key", fresh.keys[in_key_order].tolist(), "paper_id", first_id, created=now, pinned=0
        )
        conn.executemany(
            "UPDATE papers SET pinned = 1 WHERE paper_id = ?", paper_ids[fresh.pinned == 1].reshape(-1, 1).tolist()
        )
        conn.executemany(
            "UPDATE papers SET key = ?, pinned = CASE WHEN ? = 1 THEN 1 ELSE pinned END WHERE paper_id = ?",
            [(key, pinned, pid) for pid, key, pinned in changes.rekeyed],
        )
        conn.insert_many(
            "identities",
            ("identity_hash", "paper_id", "arxiv"),
            _identity_rows(changes.aliases, fresh, paper_ids, first_id),
            ignore_conflicts=True,
        )
        conn.executemany(
            "INSERT INTO key_aliases (alias, paper_id) SELECT ?, paper_id FROM papers WHERE key = ? "
            "ON CONFLICT DO NOTHING",
            changes.key_aliases,
        )
        return True
