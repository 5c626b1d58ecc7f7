"""Server stage, service: the user's library as JSON-ready answers, reloaded when its files change.

Everything here is plain Python over the public facade (``load_default``, ``Library.search``,
``cite``, ``snippet``, ``to_bibtex``, notes, tags, status, ``references``), so it is tested without
a server; :mod:`paper_widgets.server.handlers` only maps HTTP onto it.  Calls are blocking: the
handlers run them on :attr:`LibraryService.executor`, one at a time, off the server's event loop.

(Re)loading the library (a million papers take minutes from dumps) runs on a thread of its own,
which reports its progress (:class:`LoadStatus`: phase, done, total) to the service.  A call that
needs the library while a load runs waits :data:`LOAD_PATIENCE` at most, then raises
:class:`LibraryNotReady` with that status, which the handlers answer with 503 and the status, so
the sidebar shows the progress instead of a request that hangs.
"""

from __future__ import annotations

import dataclasses
import math
import os
import re
import threading
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Literal

import pandas as pd

from paper_widgets.data.readers.sources import expand_paths
from paper_widgets.data.records import LoadWarning
from paper_widgets.library import (
    CITATION_STYLE,
    CSL_STYLE,
    Library,
    load_default,
    set_csl_style,
    set_default_style,
    user_library,
)
from paper_widgets.output.bibliography import BIB_NAME, cited_keys, references, write_bibliography
from paper_widgets.search.engine import match_spans
from paper_widgets.store import open_store
from paper_widgets.vocabulary import SORTS, STATUSES, STYLES

__all__ = [
    "LOAD_PATIENCE",
    "UPLOAD_FOLDER",
    "LibraryNotReady",
    "LibraryService",
    "LoadStatus",
    "ServerConfig",
    "bibliography_path",
]

# Files added from the sidebar are kept here, in the store's directory, and join the user's library.
UPLOAD_FOLDER = "library-files"
_SAFE_NAME = re.compile(r"[^\w.\- ]+")
# Seconds a call waits for a running load before answering "loading": a small library's reload
# (tens of milliseconds) is simply waited for; a large one shows its progress instead.
LOAD_PATIENCE = 0.25


@dataclass
class ServerConfig:
    """What JupyterLab's settings tell the server besides the style (which is kept in the store)."""

    library_paths: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LoadStatus:
    """Where loading the library stands, as the ``status`` route answers it.

    ``state``: "idle" (nothing loaded or loading yet), "loading", "ready" or "failed" (``error``
    says why).  While loading, ``phase`` names the work ("Reading papers": ``done`` of ``total``
    bytes; "Indexing papers": rows); ``total`` 0 means not known yet.  ``papers``: how many the
    library being served has (None before the first load).  ``indexing``: how far that library's
    abstracts are indexed in the background (``{"done": rows, "total": rows}``; searches rank by
    titles alone until then), None when its index is complete.
    """

    state: Literal["idle", "loading", "ready", "failed"]
    phase: str = ""
    done: int = 0
    total: int = 0
    papers: int | None = None
    error: str | None = None
    indexing: dict[str, int] | None = None

    def as_json(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


class LibraryNotReady(Exception):
    """The library is still loading (or its load failed): ``status`` says how far it got."""

    def __init__(self, status: LoadStatus) -> None:
        super().__init__(status.error or f"the library is loading: {status.phase or 'starting'}")
        self.status = status


def _plain(value: Any) -> Any:
    """``value`` as JSON can hold it: pandas' missing values become None, numpy scalars Python ones."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _spans(text: str, query: str) -> list[list[int]]:
    return [[start, end] for start, end in match_spans(text, query)] if query.strip() else []


def _summary(row: pd.Series, query: str = "") -> dict[str, Any]:
    """What a result list shows of one paper; ``title_spans`` are the characters matching ``query``."""
    published = row["published"]
    return {
        "key": str(row["key"]),
        "title": str(row["title"]),
        "title_spans": _spans(str(row["title"]), query),
        "authors": [str(a) for a in row["authors"]],
        "year": None if pd.isna(published) else int(published.year),
        "upvotes": _plain(row["upvotes"]),
    }


def _details(row: pd.Series, query: str = "") -> dict[str, Any]:
    """One paper in full, with the user's note, tags and read status."""
    published = row["published"]
    return {
        **_summary(row, query),
        "abstract": str(row["abstract"]),
        "abstract_spans": _spans(str(row["abstract"]), query),
        "published": None if pd.isna(published) else published.date().isoformat(),
        "url": _plain(row["url"]),
        "arxiv_id": _plain(row["arxiv_id"]),
        "sources": [str(s) for s in row["sources"]],
        "note": _plain(row["note"]),
        "tags": [str(t) for t in row["tags"]],
        "status": str(row["status"]),
    }


def _indexing(library: Library | None, *, ranked_by_titles: bool = False) -> dict[str, int] | None:
    """How far ``library``'s abstracts are indexed, as the JSON answers say it (None: its index is complete).

    ``ranked_by_titles``: a result ranked by the titles alone says so even when the abstracts were
    indexed just after it was ranked (then all of them are done), so the sidebar asks again.
    """
    progress = None if library is None else library.indexing_progress
    if progress is None and ranked_by_titles and library is not None:
        progress = len(library), len(library)
    return None if progress is None else {"done": progress[0], "total": progress[1]}


def _file_stamps(paths: Iterable[str]) -> tuple[tuple[str, int, int], ...]:
    """(file, mtime, size) of every file the paths name: changes when a library file is edited, added or removed."""
    stamps = []
    for path in expand_paths(paths, []):
        try:
            stat = path.stat()
        except OSError:
            continue
        stamps.append((str(path), stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def bibliography_path(root: str | os.PathLike[str], notebook: str, bib_name: str = BIB_NAME) -> Path:
    """Where the .bib of the notebook at ``notebook`` goes: ``bib_name`` in the notebook's folder.

    ``notebook`` is a Jupyter contents path ("/"-separated, relative to the server's ``root``), as
    JupyterLab names the notebook.  The browser chooses it, so anything that could leave ``root``
    (absolute paths, "..", a symlink pointing out, a ``bib_name`` that is not a plain name) is a
    ValueError, which the handler answers with 400; so is a folder that does not exist.
    """
    if not isinstance(notebook, str) or not notebook.strip("/"):
        raise ValueError("path must name the notebook, relative to the server's root")
    relative = PurePosixPath(notebook)
    if relative.is_absolute() or ".." in relative.parts:
        raise ValueError(f"path must stay inside the server's root: {notebook!r}")
    if not isinstance(bib_name, str) or PurePosixPath(bib_name).name != bib_name or "\\" in bib_name:
        raise ValueError(f"bib_name must be a plain file name: {bib_name!r}")
    if bib_name in (".", "..") or not bib_name.endswith(".bib"):
        raise ValueError(f"bib_name must be a .bib file name: {bib_name!r}")
    top = Path(root).resolve()
    # Resolved, so a symlinked folder or .bib leading out of the root is caught too.
    target = (top.joinpath(*relative.parts[:-1]) / bib_name).resolve()
    if not target.is_relative_to(top):
        raise ValueError(f"path must stay inside the server's root: {notebook!r}")
    if not target.parent.is_dir():
        raise ValueError(f"the notebook's folder does not exist: {notebook!r}")
    return target


class LibraryService:
    """The user's library (what :func:`load_default` opens, plus ``config.library_paths``) for the server."""

    def __init__(self, store: str | os.PathLike[str] | None = None) -> None:
        self._store = open_store(store)
        self.config = ServerConfig()
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="paper_widgets")
        # Shared by the request thread, the loading thread and the event loop (status): read and
        # written under the lock only.
        self._lock = threading.Lock()
        self._library: Library | None = None
        self._fingerprint: object = None  # of the files self._library was loaded from (or last tried)
        self._status = LoadStatus("idle")
        self._loaded = threading.Event()  # set when no load runs
        self._loaded.set()

    def _current_fingerprint(self) -> object:
        remembered = user_library(store=self._store)
        return (
            tuple(remembered),
            tuple(self.config.library_paths),
            _file_stamps([*remembered, *self.config.library_paths]),
        )

    def status(self) -> LoadStatus:
        """How the (re)load of the library stands, and its abstracts' indexing (read now); cheap, never waits."""
        with self._lock:
            status, library = self._status, self._library
        return dataclasses.replace(status, indexing=_indexing(library))

    def start_loading(self) -> LoadStatus:
        """Start (re)loading in the background when there is no library yet or its files changed.

        Reopening goes through the store's cache, so only changed files are parsed again.  Notes,
        tags and status need no reload: ``Library.df`` re-reads them when the store changed.
        """
        paths = list(self.config.library_paths)
        fingerprint = self._current_fingerprint()
        with self._lock:
            stale = self._library is None or fingerprint != self._fingerprint
            if stale and self._loaded.is_set():
                self._loaded.clear()
                self._status = LoadStatus("loading", papers=self._status.papers)
                loader = threading.Thread(
                    target=self._load,
                    args=(fingerprint, paths),
                    name="paper_widgets-load",
                    daemon=True,  # stopping the server does not wait for a load to finish
                )
                loader.start()
            return self._status

    def library(self, *, stale_ok: bool = False) -> Library:
        """The library, reloaded first when the remembered paths, the configured paths or their files changed.

        A load that outlasts :data:`LOAD_PATIENCE` raises :class:`LibraryNotReady` with its
        progress, unless ``stale_ok`` and a library loaded before is there to use meanwhile.
        A load that failed raises it too (``state`` "failed", with the error); the next call tries again.
        """
        self.start_loading()
        self._loaded.wait(LOAD_PATIENCE)
        with self._lock:
            ready = self._loaded.is_set() and self._status.state == "ready"
            if self._library is not None and (ready or stale_ok):
                return self._library
            raise LibraryNotReady(self._status)

    def _load(self, fingerprint: object, paths: list[str]) -> None:
        """Load the library on the loading thread, reporting progress; then serve it (or say why not)."""
        try:
            library = load_default(store=self._store, progress=self._report)
            if paths:
                library = self._with_paths(library, paths)
            # The first search builds (or reopens from the store's cache) the search index: done
            # here, with its progress shown, so the user's first search is fast.  A large library's
            # abstracts are indexed in the background: searches rank by titles until then, and say so.
            library.search("", limit=1, wait=False)
        except Exception as error:  # any failure must end the load, and the sidebar must say why
            with self._lock:  # the next call that needs the library tries again
                papers = None if self._library is None else len(self._library)
                self._status = LoadStatus("failed", papers=papers, error=f"{type(error).__name__}: {error}")
        else:
            with self._lock:
                self._library, self._fingerprint = library, fingerprint
                self._status = LoadStatus("ready", papers=len(library))
        finally:
            self._loaded.set()

    def _report(self, phase: str, done: int, total: int) -> None:
        """Progress of the running load (a :data:`~paper_widgets.library.ProgressReport`).

        The library keeps reporting after its load (extending its index when papers are added):
        only a load's progress is shown.
        """
        with self._lock:
            if self._status.state == "loading":
                self._status = dataclasses.replace(self._status, phase=phase, done=done, total=total)

    def _with_paths(self, library: Library, paths: list[str]) -> Library:
        """``library`` plus the papers in ``paths``, merged, without making ``paths`` the user's library."""
        problems: list[LoadWarning] = []
        files = expand_paths(paths, problems)
        extra = Library.from_files(((p, str(p)) for p in files), problems, store=self._store, progress=self._report)
        both = pd.concat([library.df, extra.df], ignore_index=True)
        merged = Library.from_frame(both, store=self._store, progress=self._report)
        merged.warnings = [*library.warnings, *extra.warnings]
        return merged

    def configure(
        self, style: str | None = None, library_paths: list[str] | None = None, csl_style: str | None = None
    ) -> dict[str, Any]:
        """Take JupyterLab's settings: a style (or CSL style) chosen there becomes the default the kernel side uses too."""
        if style is not None and style != self._style(None):
            set_default_style(style, store=self._store)  # ValueError for an unknown style, nothing changed
        if csl_style is not None and csl_style != self._store.setting(CSL_STYLE):
            set_csl_style(csl_style, store=self._store)  # ValueError for an unknown CSL style
        if library_paths is not None:
            self.config.library_paths = [str(p) for p in library_paths]
        return {
            "style": self._style(None),
            "csl_style": self._store.setting(CSL_STYLE),
            "library_paths": self.config.library_paths,
            # The choices the sidebar offers, defined once on the Python side.
            "styles": list(STYLES),
            "sorts": list(SORTS),
            "statuses": list(STATUSES),
        }

    def _style(self, style: str | None) -> str | None:
        """``style``, else the default saved in the store now (a kernel may have changed it since the library opened)."""
        return style or self._store.setting(CITATION_STYLE)

    # -- reading -----------------------------------------------------------------------------------

    def search(self, query: str, limit: int = 20, **filters: Any) -> dict[str, Any]:
        """Ranked results for ``query``, exactly as ``Library.search`` ranks them, with highlight spans;
        ``indexing``: ``{"done", "total"}`` abstracts indexed when the titles alone ranked these results
        (the abstracts are being indexed in the background), else None."""
        library = self.library()
        found = library.search(query, limit=limit, wait=False, **filters)
        results = [{**_summary(row, query), "score": float(row["score"])} for _, row in found.iterrows()]
        return {
            "query": query,
            "results": results,
            "indexing": _indexing(library, ranked_by_titles="indexing" in found.attrs),
        }

    def paper(self, key: str, query: str = "") -> dict[str, Any]:
        """One paper's details; a KeyError names the closest keys when there is none."""
        return _details(self.library()[key], query)

    def cited(self, cells: list[Mapping[str, Any]]) -> dict[str, Any]:
        """The keys the notebook ``cells`` cite, in order, and the papers of those the library knows."""
        library = self.library()
        keys = cited_keys({"cells": cells})
        return {"keys": keys, "papers": [_summary(library[key]) for key in keys if key in library]}

    def cite(self, keys: list[str], style: str | None = None) -> dict[str, str]:
        return {"text": self.library().cite(keys, style=self._style(style))}

    def snippet(self, key: str, query: str | None = None, style: str | None = None) -> dict[str, str]:
        return {"text": self.library().snippet(key, query=query or None, style=self._style(style))}

    def bibtex(self, keys: list[str]) -> dict[str, str]:
        return {"text": self.library().to_bibtex(keys)}

    def references(
        self,
        cells: list[Mapping[str, Any]],
        style: str | None = None,
        *,
        root: str | os.PathLike[str] | None = None,
        path: str | None = None,
        bib_name: str = BIB_NAME,
    ) -> dict[str, Any]:
        """The References cell text for a notebook's ``cells`` (the Python side defines the cell's format).

        With the notebook's contents ``path`` under the server's ``root``, ``bib_name`` is written in
        the notebook's folder with exactly the cited entries, as the kernel path writes it, so
        publishing tools find it beside the notebook; ``bib`` in the answer is its path relative to
        ``root`` ("/"-separated, as ``path``), None when no ``path`` was given.
        """
        notebook = {"cells": cells}
        target = None
        if path is not None:
            if root is None:
                raise ValueError("a notebook path needs the server's root to be resolved against")
            # Checked before anything is formatted, so a refused path writes nothing.
            target = bibliography_path(root, path, bib_name)
        library = self.library()
        text = references(notebook, library, self._style(style) or "text", csl=library.csl_style)
        bib = None
        if target is not None and root is not None:
            write_bibliography(notebook, library, target)
            bib = target.relative_to(Path(root).resolve()).as_posix()
        return {"text": text, "keys": cited_keys(notebook), "bib": bib}

    # -- writing -----------------------------------------------------------------------------------

    def annotate(
        self, key: str, *, note: str | None = None, tags: list[str] | None = None, status: str | None = None
    ) -> dict[str, Any]:
        """Save the note, the full tag list and/or the read status of ``key``; returns the paper's details.

        While a reload runs, the library served before takes the write (notes live in the store,
        not in the library), so what the user wrote is saved without waiting.
        """
        library = self.library(stale_ok=True)
        if status is not None:
            library.set_status(key, status)
        if note is not None:
            library.set_note(key, note)
        if tags is not None:
            wanted = {t.strip() for t in tags if t.strip()}
            current = set(library.tags(key))
            if stale := current - wanted:
                library.untag(key, *sorted(stale))
            if new := wanted - current:
                library.tag(key, *sorted(new))
        return _details(library[key])

    def add_file(self, name: str, content: str) -> dict[str, Any]:
        """Keep an uploaded dump/.bib/JSON in the store's folder and add its papers to the user's library.

        An existing file of the same name is never overwritten: the new one gets a numbered name.
        """
        stem = _SAFE_NAME.sub("_", Path(name).name).strip(" .") or "upload.txt"
        folder = self._store.home / UPLOAD_FOLDER
        folder.mkdir(parents=True, exist_ok=True)
        target, n = folder / stem, 1
        while target.exists():
            target, n = folder / f"{Path(stem).stem}-{n}{Path(stem).suffix}", n + 1
        target.write_text(content, encoding="utf-8")
        library = self.library()
        before, first_warning = len(library), len(library.warnings)
        library.add(target, remember=True)
        with self._lock:
            self._fingerprint = None  # reopen what a kernel's load_default() now opens: the user's library as saved
        return {
            "file": str(target),
            "added": len(library) - before,
            "warnings": [str(w) for w in library.warnings[first_warning:]],
        }
