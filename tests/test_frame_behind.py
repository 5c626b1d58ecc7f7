"""The library cache written behind a large load (``library._FrameWrite``): every reader sees consistent data.

From ``FRAME_CACHE_BEHIND`` papers on, ``load()`` returns before its library cache (the frame read
back memory-mapped at a reopen) is written; the first search indexes the titles meanwhile and then
goes on with the frame read back.  These tests make every load large and the titles-first search
apply to a few dozen papers, hold the write where they need it (real threads, files and stores;
exit and kill in a subprocess), and check the order and that nothing is lost or read half-written.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import paper_widgets
import paper_widgets.data.readers.pool as pool_module
import paper_widgets.library as library_module
from paper_widgets.search.index import IndexBuild
from paper_widgets.store import Store

REPO = Path(__file__).resolve().parent.parent
WORDS = ["model", "data", "learning", "graph", "vision", "robust", "sparse", "token", "reason", "agent"]
QUERY = "paper 1 3"


def write_dumps(folder: Path, files: int = 3, per_file: int = 20) -> list[Path]:
    """Pair-layout dumps of distinct papers, settled (old mtimes) so their hashes are remembered."""
    rng = random.Random(11)
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


def library_caches(store: Store) -> list[str]:
    rows = store._read(lambda conn: conn.execute("SELECT name FROM cache WHERE name LIKE 'library:%'").fetchall())
    return sorted(str(name) for (name,) in rows)


def mapped(lib: paper_widgets.Library) -> bool:
    """Whether the library serves the frame read back from its cache (whole numbers stay Arrow there)."""
    return isinstance(lib._papers["upvotes"].dtype, pd.ArrowDtype)


@pytest.fixture
def parsed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the files parsed from now on."""
    names: list[str] = []
    real = pool_module.read_path  # type: ignore[attr-defined]  # the name pool_module parses with

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        names.append(Path(path).name)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(pool_module, "read_path", counting)
    return names


@pytest.fixture
def held(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Every load writes its library cache behind, and that write waits until the event is set; the
    titles-first search applies from 2 papers on."""
    monkeypatch.setattr(library_module, "FRAME_CACHE_BEHIND", 1)
    monkeypatch.setattr(library_module, "INDEX_CACHE_MIN_PAPERS", 2)
    release = threading.Event()
    real = library_module._FrameWrite._written

    def waiting(self: Any, *args: Any) -> None:
        if threading.current_thread() is not threading.main_thread():  # behind the load, not in it
            release.wait(30)
        real(self, *args)

    monkeypatch.setattr(library_module._FrameWrite, "_written", waiting)
    return release


def test_the_titles_are_indexed_while_the_library_cache_is_written_then_the_mapped_frame_is_served(
    tmp_path: Path, held: threading.Event, monkeypatch: pytest.MonkeyPatch
) -> None:
    order: list[str] = []
    titles_first = IndexBuild.titles_first.__func__  # type: ignore[attr-defined]

    def titles(cls: type[IndexBuild], *args: Any, **kwargs: Any) -> IndexBuild:
        order.append("titles")
        held.set()  # the write goes on while the titles are indexed
        build: IndexBuild = titles_first(cls, *args, **kwargs)
        order.append("titled")
        return build

    writing = library_module._FrameWrite._written

    def written(self: Any, *args: Any) -> None:
        writing(self, *args)
        order.append("written")

    monkeypatch.setattr(IndexBuild, "titles_first", classmethod(titles))
    monkeypatch.setattr(library_module._FrameWrite, "_written", written)
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths, store=store)
    assert library_caches(store) == [] and not mapped(lib)  # load() is back, its library cache not written
    first = lib.search(QUERY, wait=False)
    assert order[0] == "titles" and sorted(order) == ["titled", "titles", "written"]  # the write ran behind the titles
    assert mapped(lib) and library_caches(store)  # handed over to the frame read back
    build, _ = lib.__dict__["_index_build"]
    assert build.df is lib._papers  # the abstracts are indexed from it too
    complete = lib.search(QUERY)
    monkeypatch.setattr(library_module, "FRAME_CACHE_BEHIND", 10**9)  # the same load, written before it returns
    in_load = paper_widgets.load(*paths, store=tmp_path / "in load")
    assert mapped(in_load)
    pd.testing.assert_frame_equal(lib.df, in_load.df)
    pd.testing.assert_frame_equal(
        first.reset_index(drop=True), in_load.search(QUERY, wait=False).reset_index(drop=True)
    )
    pd.testing.assert_frame_equal(complete, in_load.search(QUERY))


def test_a_search_that_waits_for_the_whole_index_serves_the_mapped_frame(tmp_path: Path, held: threading.Event) -> None:
    paths = write_dumps(tmp_path / "dumps")
    lib = paper_widgets.load(*paths, store=tmp_path / "store")
    held.set()
    found = lib.search(QUERY)
    assert mapped(lib) and len(found)
    index = lib.__dict__["_search_index"]
    assert index._served() is lib._papers  # synced with the frame it serves: the next search costs no rehash


def test_df_right_after_the_load_waits_for_the_write_and_shows_the_mapped_frame(
    tmp_path: Path, held: threading.Event
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    lib = paper_widgets.load(*paths, store=tmp_path / "store")
    threading.Timer(0.5, held.set).start()
    started = time.perf_counter()
    shown = lib.df
    assert time.perf_counter() - started >= 0.4 and mapped(lib) and len(shown) == 60


def test_a_second_load_of_the_same_files_waits_for_the_write_and_parses_nothing(
    tmp_path: Path, held: threading.Event, parsed: list[str]
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    first = paper_widgets.load(*paths, store=store)
    parsed.clear()
    second: list[paper_widgets.Library] = []
    loading = threading.Thread(target=lambda: second.append(paper_widgets.load(*paths, store=store)))
    loading.start()
    loading.join(1.0)
    assert loading.is_alive() and parsed == []  # waiting for the first load's library cache
    held.set()
    loading.join(30)
    assert second and parsed == [] and mapped(second[0])  # from the cache
    pd.testing.assert_frame_equal(second[0].df, first.df)


def test_notes_tags_and_an_add_during_the_write_are_kept(
    tmp_path: Path, held: threading.Event, parsed: list[str]
) -> None:
    paths = write_dumps(tmp_path / "dumps", files=4)
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths[:3], store=store)
    key = str(lib._papers["key"].iloc[5])  # (lib.df would wait for the write)
    lib.set_note(key, "written while the library cache was")  # not held up by the write behind
    lib.tag(key, "mine")
    threading.Timer(0.5, held.set).start()
    lib.add(paths[3])  # its own load waits for the write; the papers then change
    assert len(lib) == 80 and lib.note(key) == "written while the library cache was"
    lib.search(QUERY)
    assert len(lib.df) == 80 and not mapped(lib)  # never swapped back to the three files' frame
    store.close()  # waits for every write behind, then closes
    parsed.clear()
    again = paper_widgets.load(*paths[:3], store=tmp_path / "store")
    assert parsed == [] and again.note(key) == "written while the library cache was" and again.tags(key) == ["mine"]


def test_a_failed_write_keeps_the_library_in_memory_and_caches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, parsed: list[str]
) -> None:
    monkeypatch.setattr(library_module, "FRAME_CACHE_BEHIND", 1)
    monkeypatch.setattr(library_module, "INDEX_CACHE_MIN_PAPERS", 2)
    real = Store.cache_put_frame

    def full_disk(self: Store, name: str, *args: Any, **kwargs: Any) -> bool:
        if name.startswith("library:"):
            raise OSError(28, "No space left on device")
        return real(self, name, *args, **kwargs)

    monkeypatch.setattr(Store, "cache_put_frame", full_disk)
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths, store=store)
    assert len(lib.search(QUERY, wait=False)) and len(lib) == 60 and not mapped(lib)
    assert library_caches(store) == []
    monkeypatch.setattr(Store, "cache_put_frame", real)
    parsed.clear()
    again = paper_widgets.load(*paths, store=store)
    assert sorted(parsed) == [p.name for p in paths]  # no library cache read: parsed again
    pd.testing.assert_frame_equal(again.df, lib.df)


_CHILD = """
import sys, threading
import paper_widgets, paper_widgets.library as library
library.FRAME_CACHE_BEHIND = 1
real = library._FrameWrite._written
def slow(self, *args):
    sys.stdout.write("writing\\n")  # one write: "loaded" is printed meanwhile
    sys.stdout.flush()
    threading.Event().wait(float(sys.argv[2]))
    real(self, *args)
library._FrameWrite._written = slow
paper_widgets.load(*sys.argv[3:], store=sys.argv[1])
sys.stdout.write("loaded\\n")
sys.stdout.flush()
"""


def _child(store: Path, paths: list[Path], pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", _CHILD, str(store), str(pause), *map(str, paths)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def test_the_interpreter_finishes_the_library_cache_before_it_exits(tmp_path: Path, parsed: list[str]) -> None:
    paths = write_dumps(tmp_path / "dumps")
    child = _child(tmp_path / "store", paths, 0.5)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0 and sorted(out.split()) == ["loaded", "writing"]
    store = Store(tmp_path / "store")
    assert library_caches(store)
    reopened = paper_widgets.load(*paths, store=store)
    assert parsed == [] and mapped(reopened)


def test_a_load_killed_during_the_library_cache_write_leaves_no_cache_read_as_valid(
    tmp_path: Path, parsed: list[str]
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    child = _child(tmp_path / "store", paths, 60)
    assert child.stdout is not None
    assert sorted([child.stdout.readline().strip(), child.stdout.readline().strip()]) == ["loaded", "writing"]
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    store = Store(tmp_path / "store")
    assert library_caches(store) == []
    assert not list((tmp_path / "store" / "cache").glob("*.tmp"))
    reopened = paper_widgets.load(*paths, store=store)
    assert sorted(parsed) == [p.name for p in paths]  # the record caches point at a library never written
    fresh = paper_widgets.load(*paths, store=tmp_path / "fresh")
    pd.testing.assert_frame_equal(reopened.df, fresh.df)
