"""Library: the facade over the data pipeline (sources → parsers → merge → citekeys).

``paper_widgets.load(*paths)`` / ``load_sample()`` / ``Library.from_text`` / ``Library.from_frame``
all end in :meth:`Library._build`: records are merged into one row per unique paper, given
citekeys, and every load problem is kept in ``lib.warnings`` and emitted as a
:class:`PaperWidgetsWarning`.  Search, citations, exports and notes are thin delegations to the
stages below (``search.engine``, ``output.cite``, ``output.export``, ``store.store``).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
import warnings as _warnings
from collections.abc import Iterable
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from paper_widgets.data.merge import merge_records, normalise_frame
from paper_widgets.data.readers.sources import expand_paths, read_path, read_text
from paper_widgets.data.records import DumpError, LoadWarning, PaperWidgetsWarning, records_frame
from paper_widgets.output.cite import cite, snippet, unknown_key
from paper_widgets.output.cite import set_default_style as _set_session_style
from paper_widgets.output.export import to_bibtex, to_csl_json
from paper_widgets.output.notes import notes_markdown
from paper_widgets.search.engine import search
from paper_widgets.search.index import SearchIndex, row_hashes
from paper_widgets.store import (
    Store,
    StoreLike,
    annotate,
    content_hash,
    open_store,
    package_fingerprint,
)

__all__ = ["Library", "load", "load_default", "load_sample", "set_default_style"]

SAMPLE_FILES = ("000_edcdd8834a053c0a.txt", "001_d5cef83f63eea4ee.txt")
# The store caches the search index of the last large library searched (one entry: a 1M-paper
# index is ~1 GB); below this size building it takes about a second and is not worth a file.
INDEX_CACHE = "search-index"
INDEX_CACHE_MIN_PAPERS = 20_000


PROGRESS_DELAY = 2.0  # seconds of work before a progress bar shows (unless asked for with progress=True)


def _progress_bar(total: int, desc: str, unit: str, progress: bool | None) -> Any:
    """A tqdm bar (a widget in notebooks, text in terminals).

    ``progress`` None: shown once the work lasts :data:`PROGRESS_DELAY` seconds, in a notebook or
    on a terminal (not into a pipe or a log file); True: always; False: never.
    """
    from tqdm.auto import tqdm  # imported on first use: importing paper_widgets stays light

    if progress is None:
        stderr = sys.stderr
        progress = None if "ipykernel" in sys.modules or (stderr is not None and stderr.isatty()) else False
    delay = 0.0 if progress else PROGRESS_DELAY
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, delay=delay, disable=progress is False, leave=False)


def _plain(problems: Iterable[LoadWarning]) -> list[list[object]]:
    """Load warnings as JSON for the cache (which stores no Python objects)."""
    return [[p.source, p.line, p.message] for p in problems]


def _problems(plain: list[list[object]]) -> list[LoadWarning]:
    return [
        LoadWarning(str(source), None if line is None else int(str(line)), str(message))
        for source, line, message in plain
    ]


def _index_from(arrays: dict[str, np.ndarray] | None) -> SearchIndex | None:
    """The cached search index, or None when there is none or the arrays are not one (a miss)."""
    try:
        return None if arrays is None else SearchIndex.from_arrays(arrays)
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


def _emit(problems: Iterable[LoadWarning]) -> None:
    for problem in problems:
        _warnings.warn(str(problem), PaperWidgetsWarning, stacklevel=4)


class Library:
    """One row per unique paper (``df``) plus what went wrong while loading (``warnings``)."""

    def __init__(self, df: pd.DataFrame, warnings: Iterable[LoadWarning] = (), store: StoreLike = None):
        self._papers = df
        self.warnings: list[LoadWarning] = list(warnings)
        # Notes, tags, status and citekeys live in the store (default: the user's, see _store.store_home).
        self.store = open_store(store)
        if saved_style := self.store.setting(CITATION_STYLE):
            _set_session_style(saved_style)  # the style the user chose once, in an earlier session too
        self._annotated: pd.DataFrame | None = None
        self._progress: bool | None = None  # progress bars for long work: see load()
        self._revision: tuple[int, int] | None = None

    @property
    def df(self) -> pd.DataFrame:
        """One row per paper, with the user's ``note``, ``tags`` and ``status`` as the store has them now.

        Re-read only when someone (this process or another) wrote to the store since the last access.
        """
        revision = self.store.revision()
        if self._annotated is None or revision != self._revision:
            self._annotated = annotate(self._papers, self.store.annotations())
            self._revision = revision
        return self._annotated

    @classmethod
    def _build(cls, records: pd.DataFrame, problems: list[LoadWarning], store: Store | None = None) -> Library:
        store = open_store(store)
        merged = merge_records(records)
        keys = store.assign_keys(merged)  # keys the store recorded earlier are kept
        merged.insert(0, "key", keys.astype("str"))
        merged = merged.sort_values("key", kind="stable").reset_index(drop=True)
        _emit(problems)
        return cls(merged, problems, store)

    @classmethod
    def from_text(cls, text: str, source: str = "<text>", *, store: StoreLike = None) -> Library:
        """A library from a dump/JSON/JSON-lines/BibTeX text; raises :class:`DumpError` if unreadable."""
        problems: list[LoadWarning] = []
        records = read_text(text, source, problems)
        return cls._build(records_frame(records), problems, open_store(store))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, store: StoreLike = None) -> Library:
        """A library from any frame with at least ``title`` and ``abstract`` (other columns optional)."""
        return cls._build(normalise_frame(df), [], open_store(store))

    @classmethod
    def from_files(
        cls,
        files: Iterable[tuple[Path, str]],
        problems: list[LoadWarning] | None = None,
        *,
        store: StoreLike = None,
        progress: bool | None = None,
    ) -> Library:
        """A library from ``(path, source name)`` pairs; a file that cannot be read is a warning.

        ``progress``: a progress bar over the files read (and later over building the search
        index): None shows it once the work takes a while, True always, False never.

        Unchanged inputs (same content hash) are not parsed again: the store caches each file's
        records and the whole library, so reopening a large library only unpickles one frame.
        """
        problems = [] if problems is None else problems
        store = open_store(store)
        files = list(files)
        # Year-less dump dates take the current year, so the year is part of what parsing depended on.
        context = f"{package_fingerprint()}:{date.today().year}"
        digests = []
        with store.cache_batch():  # the hashes of a folder of files are recorded in one transaction
            for path, name in files:
                try:
                    digests.append(content_hash(store.file_hash(path), name, context))
                except OSError:
                    digests.append(None)  # read_path below reports it
        library_name = "library:" + content_hash(*(str(Path(path).resolve()) for path, _ in files))
        library_hash = None if None in digests else content_hash(*digests)
        first_problem = len(problems)
        if library_hash is not None and (cached := store.cache_get_frame(library_name, library_hash)) is not None:
            papers, found = cached
            problems.extend(_problems(found))
            _emit(problems)
            return cls(papers, problems, store)._showing_progress(progress)
        frames = []
        sizes = [_size(path) for path, _ in files]
        bar = _progress_bar(sum(sizes), "Reading papers", "B", progress)
        with bar, store.cache_batch():  # one store transaction for every file, not one fsync per file
            for (path, name), digest, size in zip(files, digests, sizes, strict=False):
                file_name = f"records:{Path(path).resolve()}"
                if digest is not None and (cached := store.cache_get_frame(file_name, digest)) is not None:
                    frame, found = cached
                    problems.extend(_problems(found))
                else:
                    file_problems: list[LoadWarning] = []
                    try:
                        frame = records_frame(read_path(path, file_problems, source=name))
                    except DumpError as exc:
                        problems.extend([*file_problems, exc.as_warning()])
                        bar.update(size)
                        continue
                    problems.extend(file_problems)
                    if digest is not None and len(files) > 1:  # one file: the library entry covers it
                        store.cache_put_frame(file_name, digest, frame, _plain(file_problems))
                frames.append(frame)
                bar.update(size)
        records = pd.concat(frames, ignore_index=True) if frames else records_frame([])
        library = cls._build(records, problems, store)
        if library_hash is not None:
            store.cache_put_frame(library_name, library_hash, library._papers, _plain(problems[first_problem:]))
        return library._showing_progress(progress)

    def _showing_progress(self, progress: bool | None) -> Library:
        self._progress = progress  # the search index is built on the first search: same choice
        return self

    def add(self, *paths: str | os.PathLike[str]) -> Library:
        """Add the papers of more files, folders or globs to this library, in place (returns it).

        A paper already here keeps its row and key; the newcomer fills what the row lacks (date,
        counts, authors, arXiv id) and adds its sources. New papers are appended, so the search
        index only indexes them. The paths join the user's library (see :func:`load_default`).
        """
        problems: list[LoadWarning] = []
        files = expand_paths(paths, problems)
        incoming = Library.from_files(
            ((p, str(p)) for p in files), problems, store=self.store, progress=self._progress
        )._papers
        self.warnings.extend(problems)
        seen = incoming["key"].isin(self._keys).to_numpy()
        papers = self._papers.copy()
        rows = self._keys.get_indexer(incoming.loc[seen, "key"])
        same = incoming[seen].set_axis(papers.index[rows])
        for column in ("published", "n_authors", "upvotes", "arxiv_id", "url"):
            papers.loc[same.index, column] = papers.loc[same.index, column].fillna(same[column])
        for row in same.index:  # list cells: set one by one (pandas would read a list as many values)
            if not len(papers.at[row, "authors"]):
                papers.at[row, "authors"] = same.at[row, "authors"]
            papers.at[row, "sources"] = sorted(set(papers.at[row, "sources"]) | set(same.at[row, "sources"]))
        self._papers = _one_chunk(pd.concat([papers, incoming[~seen]], ignore_index=True))
        self._annotated = None
        self.__dict__.pop("_keys", None)
        if files:
            known = self.store.setting(USER_LIBRARY) or []
            added = [_absolute(p) for p in paths]
            self.store.set_setting(USER_LIBRARY, known + [p for p in added if p not in known])
        return self

    # -- notes, tags and read status: thin delegation to the store ---------------------------------

    @functools.cached_property
    def _keys(self) -> pd.Index:
        """Row position by citekey (a hashed index: lookups stay O(1) at a million papers)."""
        return pd.Index(self._papers["key"])

    def _known(self, key: str) -> str:
        if key not in self._keys:
            raise unknown_key(key, self._keys)
        return key

    def set_note(self, key: str, markdown: str) -> None:
        """Save ``markdown`` as the note on paper ``key`` (blank clears it); on disk when this returns."""
        self.store.set_note(self._known(key), markdown)

    def note(self, key: str) -> str | None:
        """The current note on paper ``key``, or None."""
        return self.store.note(self._known(key))

    def note_history(self, key: str) -> list[tuple[datetime, str]]:
        """Every saved version of the note on ``key``, oldest first, as (UTC time, markdown)."""
        return self.store.note_history(self._known(key))

    def tag(self, key: str, *tags: str) -> None:
        """Add ``tags`` to paper ``key``."""
        self.store.tag(self._known(key), *tags)

    def untag(self, key: str, *tags: str) -> None:
        """Remove ``tags`` from paper ``key``."""
        self.store.untag(self._known(key), *tags)

    def tags(self, key: str) -> list[str]:
        """The tags of paper ``key``, sorted."""
        return self.store.tags(self._known(key))

    def set_status(self, key: str, status: str) -> None:
        """Set the read status of paper ``key``: ``"unread"``, ``"reading"`` or ``"read"``."""
        self.store.set_status(self._known(key), status)

    def status(self, key: str) -> str:
        """The read status of paper ``key`` (``"unread"`` until set)."""
        return self.store.status(self._known(key))

    def export_notes(self, path: str | os.PathLike[str] | None = None) -> str:
        """All notes of this library as one Markdown document (a section per paper); also written to ``path``."""
        text = notes_markdown(self.df)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def search(self, query: str, limit: int | None = 20, **filters: object) -> pd.DataFrame:
        """Ranked, typo-tolerant search of titles and abstracts: ``df`` rows plus ``score``, best first.

        Filters and sorts: see :func:`paper_widgets.search.engine.search`.  The index is built on the
        first search (or taken from the store's cache), kept on the library and extended when
        papers are added.
        """
        return search(self.df, query, limit, index=self._index(), **filters)

    def _index(self) -> SearchIndex:
        """The search index of this library, from the store's cache when these papers were indexed before."""
        index = self.__dict__.get("_search_index")
        if index is not None:
            with _progress_bar(
                2 * max(len(self._papers) - len(index), 0), "Indexing papers", " rows", self._progress
            ) as bar:
                index.sync(self._papers, progress=bar.update)
            return index
        hashes = row_hashes(self._papers)
        cacheable = len(hashes) >= INDEX_CACHE_MIN_PAPERS
        digest = content_hash(hashlib.blake2b(hashes.tobytes(), digest_size=16).hexdigest(), package_fingerprint())
        arrays = self.store.cache_get_arrays(INDEX_CACHE, digest) if cacheable else None
        cached = _index_from(arrays)
        index = cached or SearchIndex()
        with _progress_bar(2 * (len(hashes) - len(index)), "Indexing papers", " rows", self._progress) as bar:
            index.sync(self._papers, hashes, bar.update)  # a cached index matches row for row: nothing to do
        if cacheable and index is not cached:
            self.store.cache_put_arrays(INDEX_CACHE, digest, index.to_arrays())
        self._search_index = index
        return index

    # -- citations and exports: thin delegation to _cite and _export --------------------------------

    def _rows(self, keys: str | Iterable[str] | None) -> pd.DataFrame:
        """``df`` rows for ``keys`` in that order (every row for None); an unknown key is a KeyError."""
        if keys is None:
            return self.df
        keys = [keys] if isinstance(keys, str) else list(keys)
        positions = self._keys.get_indexer(keys)
        for key, position in zip(keys, positions, strict=False):
            if position < 0:
                raise unknown_key(key, self._keys)
        return self.df.iloc[positions].reset_index(drop=True)

    def cite(self, keys: str | Iterable[str], style: str | None = None) -> str:
        """Cite paper(s) ``keys`` in ``style`` (pandoc, myst, latex, cite, text; default: see set_default_style)."""
        return cite(self._rows(keys), style)

    def snippet(self, key: str, query: str | None = None, sentences: int = 2, style: str | None = None) -> str:
        """A markdown blockquote of the abstract sentences of ``key`` that best match ``query``, then the citation."""
        return snippet(self._rows(key).iloc[0], query, sentences, style)

    def to_bibtex(self, keys: Iterable[str] | None = None) -> str:
        """BibTeX for ``keys`` (default: every paper)."""
        return to_bibtex(self._rows(keys))

    def to_csl_json(self, keys: Iterable[str] | None = None) -> list[dict[str, object]]:
        """CSL-JSON items for ``keys`` (default: every paper)."""
        return to_csl_json(self._rows(keys))

    def __contains__(self, key: object) -> bool:
        return key in self._keys

    def __getitem__(self, key: str) -> pd.Series:
        """The ``df`` row of paper ``key`` (KeyError naming the closest keys when there is none)."""
        return self._rows(key).iloc[0]

    def __len__(self) -> int:
        return len(self.df)

    def __repr__(self) -> str:
        extra = f", {len(self.warnings)} warnings" if self.warnings else ""
        return f"<Library: {len(self.df)} papers{extra}>"


USER_LIBRARY = "user_library"  # store setting: the paths of the last load(), i.e. "my library"
CITATION_STYLE = "citation_style"  # store setting: the style set_default_style chose


def set_default_style(style: str, *, store: StoreLike = None) -> None:
    """Make ``style`` (pandoc, myst, latex, cite, text) the citation style used when none is given,
    in this session and in later ones (it is saved in the store)."""
    _set_session_style(style)  # ValueError for an unknown style, before anything is saved
    open_store(store).set_setting(CITATION_STYLE, style)


def _one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each Arrow string column in one chunk, as concat leaves them in several.

    pandas' take on a chunked string column joins the chunks first: every search result would
    copy the whole column (seconds at a million abstracts).
    """
    for name in frame.columns:
        array = frame[name].array
        if isinstance(array, pd.arrays.ArrowStringArray):
            chunked = array.__arrow_array__()
            if chunked.num_chunks > 1:
                frame[name] = pd.Series(type(array)(chunked.combine_chunks(), dtype=array.dtype), index=frame.index)
    return frame


def _size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # read_path reports it


def _absolute(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute (glob characters kept), to find the same files from another folder."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def load(*paths: str | os.PathLike[str], store: StoreLike = None, progress: bool | None = None) -> Library:
    """Load papers from files, directories (recursively) and globs, in any mix of formats.

    ``store``: a :class:`Store` or its directory for notes, keys and the cache (default: the user's).
    ``progress``: progress bars while reading files and building the search index; None (default)
    shows them only once the work takes more than a couple of seconds, True always, False never.
    The paths are remembered as the user's library, which :func:`load_default` reopens.
    """
    store = open_store(store)
    problems: list[LoadWarning] = []
    files = expand_paths(paths, problems)
    library = Library.from_files(((p, str(p)) for p in files), problems, store=store, progress=progress)
    if files:
        store.set_setting(USER_LIBRARY, [_absolute(p) for p in paths])
    return library


def load_default(*, store: StoreLike = None) -> Library:
    """The user's library: the paths of the last :func:`load` (reparsed only where files changed),
    or the bundled samples when nothing was loaded yet."""
    store = open_store(store)
    paths = store.setting(USER_LIBRARY)
    return load(*paths, store=store) if paths else load_sample(store=store)


def load_sample(*, store: StoreLike = None) -> Library:
    """The two bundled seed dumps (a card-layout and a pair-layout Daily Papers page)."""
    folder = resources.files("paper_widgets") / "sample_data"
    with resources.as_file(folder) as path:
        return Library.from_files(((Path(path) / name, name) for name in SAMPLE_FILES), store=store)
