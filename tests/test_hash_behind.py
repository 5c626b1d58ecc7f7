"""A first open hashes its files behind the parse (``library._HashedBehind``): same caches, same reopens.

When nothing is cached under a folder's files yet, no cache can hit whatever their hashes, so the
load parses first and hashes on a thread of the store's while it merges.  These tests check the
order (hashes taken after the parse, off the loading thread), that the store ends up holding what
hashing first gives (cache entries, their hashes, remembered file hashes), that a reopen, a touched
file and a changed file behave as after any load, and that a file that cannot be hashed costs only
the caches.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import paper_widgets
import paper_widgets.data.readers.pool as pool_module
import paper_widgets.library as library_module
import paper_widgets.store.cache as cache_module
from paper_widgets.store import Store

WORDS = ["model", "data", "learning", "graph", "vision", "robust", "sparse", "token", "reason", "agent"]


def write_dumps(folder: Path, files: int = 3, per_file: int = 20) -> list[Path]:
    """Pair-layout dumps of distinct papers, settled (old mtimes) so their hashes are remembered."""
    rng = random.Random(7)
    folder.mkdir()
    paths = []
    for f in range(files):
        text = "".join(
            f"Paper {f} {i} On {' '.join(rng.choice(WORDS) + str(rng.randrange(999)) for _ in range(4))}\n"
            f"We study {' '.join(rng.choice(WORDS) + str(rng.randrange(999)) for _ in range(30))}.\n\n"
            for i in range(per_file)
        )
        path = folder / f"dump{f}.txt"
        path.write_text(text, encoding="utf-8")
        os.utime(path, (time.time() - 60, time.time() - 60))
        paths.append(path)
    return paths


def contents(store: Store) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The store's cache entries (name, hash) and remembered file hashes (path, hash)."""
    cache = store._read(lambda conn: conn.execute("SELECT name, hash FROM cache ORDER BY name").fetchall())
    files = store._read(lambda conn: conn.execute("SELECT path, hash FROM file_hashes ORDER BY path").fetchall())
    return [tuple(row) for row in cache], [tuple(row) for row in files]


@pytest.fixture
def events(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, bool]]:
    """(what, file name, on the main thread) for each file parsed, looked up in the store's hashes
    ("lookup", :meth:`Store.file_hash`) and hashed (its content read) from now on, in order."""
    seen: list[tuple[str, str, bool]] = []
    lock = threading.Lock()
    read_path = pool_module.read_path  # type: ignore[attr-defined]  # the name pool_module parses with
    lookup = Store.file_hash
    file_hash = cache_module.file_hash

    def note(what: str, path: Any) -> None:
        if Path(path).suffix != ".txt":  # paper_widgets' own source, hashed for its fingerprint
            return
        with lock:
            seen.append((what, Path(path).name, threading.current_thread() is threading.main_thread()))

    def parsing(path: Path, *args: Any, **kwargs: Any) -> Any:
        note("parse", path)
        return read_path(path, *args, **kwargs)

    def looking_up(self: Store, path: Any) -> str:
        note("lookup", path)
        return lookup(self, path)

    def hashing(path: Any) -> str:
        note("hash", path)
        return file_hash(path)

    monkeypatch.setattr(pool_module, "read_path", parsing)
    monkeypatch.setattr(Store, "file_hash", looking_up)
    monkeypatch.setattr(cache_module, "file_hash", hashing)
    return seen


@pytest.mark.parametrize("behind", [1, 10**9], ids=["record caches behind", "record caches in the load"])
def test_a_first_open_hashes_after_the_parse_off_the_loading_thread_and_caches_what_hashing_first_would(
    tmp_path: Path, events: list[tuple[str, str, bool]], monkeypatch: pytest.MonkeyPatch, behind: int
) -> None:
    monkeypatch.setattr(library_module, "RECORD_CACHES_BEHIND", behind)
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths, store=store)
    store.cache_settle()
    names = [path.name for path in paths]
    looked_up = [event for n in names for event in [("lookup", n, False), ("hash", n, False)]]
    assert events == [("parse", n, True) for n in names] + looked_up
    # The same load, hashing first as a reopen does (the store made to look as if it cached something)
    monkeypatch.setattr(Store, "cache_holds_any", lambda self, names: True)
    events.clear()
    first_store = Store(tmp_path / "hashed first")
    hashed_first = paper_widgets.load(*paths, store=first_store)
    first_store.cache_settle()
    assert [what for what, _, _ in events].index("parse") == 2 * len(paths)  # every file looked up and hashed first
    pd.testing.assert_frame_equal(lib.df, hashed_first.df)
    cache, files = contents(store)
    assert (cache, files) == contents(first_store)
    assert len(files) == len(paths) and all(len(digest) == 64 for _, digest in files)
    assert {name for name, _ in cache} >= {f"records:{os.path.realpath(p)}" for p in paths}
    assert all(digest for _, digest in cache)


def test_after_a_first_open_a_reopen_and_touched_files_parse_nothing_and_a_changed_file_alone_is_read(
    tmp_path: Path, events: list[tuple[str, str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    first = paper_widgets.load(*paths, store=store)
    events.clear()
    sniffed: list[Path] = []
    is_bibtex = library_module.is_bibtex  # type: ignore[attr-defined]  # the name library parses with

    def sniffing(path: Path) -> bool:
        sniffed.append(path)
        return bool(is_bibtex(path))

    monkeypatch.setattr(library_module, "is_bibtex", sniffing)
    again = paper_widgets.load(*paths, store=store)
    assert [what for what, _, _ in events] == ["lookup"] * len(paths)  # hashes remembered, the library cached
    assert sniffed == []  # a reopen from the library cache opens no file
    pd.testing.assert_frame_equal(again.df, first.df)
    for path in paths:  # same content, new mtimes: hashed again (before anything is parsed), no parse
        os.utime(path, (time.time() - 20, time.time() - 20))
    events.clear()
    touched = paper_widgets.load(*paths, store=store)
    assert sorted(what for what, _, _ in events) == ["hash"] * len(paths) + ["lookup"] * len(paths)
    pd.testing.assert_frame_equal(touched.df, first.df)
    with paths[2].open("a", encoding="utf-8") as file:
        file.write("A Paper Added Later On Hashes\nWe add a paper to one file of the library.\n\n")
    os.utime(paths[2], (time.time() - 10, time.time() - 10))
    events.clear()
    changed = paper_widgets.load(*paths, store=store)
    assert [(what, name) for what, name, _ in events if what == "parse"] == [("parse", "dump2.txt")]
    assert len(changed) == len(first) + 1


def test_a_file_that_cannot_be_hashed_behind_the_parse_leaves_no_caches_and_loses_no_paper(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(library_module, "RECORD_CACHES_BEHIND", 1)
    paths = write_dumps(tmp_path / "dumps")
    file_hash = Store.file_hash

    def failing(self: Store, path: Any) -> str:
        if Path(path).name == "dump1.txt":
            raise OSError("gone while hashed")
        return file_hash(self, path)

    monkeypatch.setattr(Store, "file_hash", failing)
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths, store=store)
    store.cache_settle()
    assert len(lib) == 60
    cache, files = contents(store)
    assert cache == []  # no library cache, so no record cache pointing at its abstracts either
    assert len(files) == 2  # the hashes taken are remembered
    monkeypatch.setattr(Store, "file_hash", file_hash)
    again = paper_widgets.load(*paths, store=store)
    pd.testing.assert_frame_equal(again.df, lib.df)
    store.cache_settle()
    assert len(contents(store)[0]) > len(paths)  # cached now


def test_bibtex_files_cached_as_a_group_are_found_when_the_rest_of_the_folder_is_new(
    tmp_path: Path, events: list[tuple[str, str, bool]], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "bib"
    folder.mkdir()
    for name, key in (("a.bib", "alpha"), ("b.bib", "beta")):
        (folder / name).write_text(
            f"@article{{{key}, title = {{The {key} paper on graphs}}, author = {{Doe, Jane}}, year = {{2020}}}}\n",
            encoding="utf-8",
        )
        os.utime(folder / name, (time.time() - 60, time.time() - 60))
    bibs = sorted(folder.glob("*.bib"))
    store = Store(tmp_path / "store")
    paper_widgets.load(*bibs, store=store)
    (dump,) = write_dumps(tmp_path / "dumps", files=1)
    events.clear()
    read_as_one: list[int] = []
    read_bibtex = library_module.read_bibtex_paths  # type: ignore[attr-defined]  # the name library reads with

    def reading(files: list[tuple[Path, str]], found: list[Any]) -> Any:
        read_as_one.append(len(files))
        return read_bibtex(files, found)

    monkeypatch.setattr(library_module, "read_bibtex_paths", reading)
    both = paper_widgets.load(*bibs, dump, store=store)
    assert len(both) == 22
    parsed = [name for what, name, _ in events if what == "parse"]
    assert parsed == ["dump0.txt"] and read_as_one == []  # the .bib files came from their group's record cache
    monkeypatch.setattr(Store, "cache_holds_any", lambda self, names: False)  # as if hashed behind: a miss
    paper_widgets.load(*bibs, dump, store=tmp_path / "fresh")
    assert read_as_one == [2]  # (what the assertion above tells apart)


def test_a_file_changed_after_its_parse_is_not_cached_under_its_new_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    read_path = pool_module.read_path  # type: ignore[attr-defined]

    def then_changed(path: Path, *args: Any, **kwargs: Any) -> Any:
        records = read_path(path, *args, **kwargs)
        if Path(path).name == "dump1.txt":  # an editor saves it while the load goes on
            with Path(path).open("a", encoding="utf-8") as file:
                file.write("A Paper Saved Meanwhile On Hashes\nWe add a paper while the library loads.\n\n")
            os.utime(path, (time.time() - 30, time.time() - 30))
        return records

    monkeypatch.setattr(pool_module, "read_path", then_changed)
    store = Store(tmp_path / "store")
    first = paper_widgets.load(*paths, store=store)
    assert len(first) == 60  # as parsed
    monkeypatch.setattr(pool_module, "read_path", read_path)
    again = paper_widgets.load(*paths, store=store)
    assert len(again) == 61 and "A Paper Saved Meanwhile On Hashes" in set(again.df["title"])
    cache, _ = contents(store)
    assert f"records:{os.path.realpath(paths[1])}" in {name for name, _ in cache}  # cached now, as it is


def test_files_modified_moments_ago_are_hashed_before_they_are_parsed(
    tmp_path: Path, events: list[tuple[str, str, bool]]
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    os.utime(paths[0])  # now: a change within its mtime's tick could go unseen between parse and hash
    paper_widgets.load(*paths, store=tmp_path / "store")
    kinds = [what for what, _, _ in events]
    assert kinds.index("parse") == 2 * len(paths) and kinds.count("hash") == len(paths)  # every file hashed first
