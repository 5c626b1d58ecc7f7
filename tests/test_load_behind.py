"""Record caches written behind a large load (``Store.cache_behind``): every reader sees consistent data.

A large load hands its per-file record caches to a thread and returns; these tests make every
load "large" (``RECORD_CACHES_BEHIND`` 1) and hold that thread where they need it.
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
from paper_widgets.store import Store

REPO = Path(__file__).resolve().parent.parent
VOCABULARY = ["model", "data", "learning", "graph", "vision", "robust", "sparse", "token", "reason", "agent"]


def write_dumps(folder: Path, files: int = 3, per_file: int = 20, seed: int = 1) -> list[Path]:
    """Pair-layout dumps of distinct papers, settled (old mtimes) so their hashes are remembered."""
    rng = random.Random(seed)
    folder.mkdir(exist_ok=True)
    paths = []
    for f in range(files):
        rows = [
            (
                f"Paper {f} {i} On " + " ".join(f"{rng.choice(VOCABULARY)}{rng.randrange(999)}" for _ in range(4)),
                "We study " + " ".join(f"{rng.choice(VOCABULARY)}{rng.randrange(999)}" for _ in range(30)) + ".",
            )
            for i in range(per_file)
        ]
        path = folder / f"dump{f}.txt"
        path.write_text("".join(f"{title}\n{abstract}\n\n" for title, abstract in rows), encoding="utf-8")
        os.utime(path, (time.time() - 60, time.time() - 60))
        paths.append(path)
    return paths


def change(path: Path) -> None:
    """Append a paper to ``path`` (settled, as write_dumps leaves files)."""
    with path.open("a", encoding="utf-8") as file:
        file.write("A Paper Added Later On Caches\nWe add a paper to one file of the library.\n\n")
    os.utime(path, (time.time() - 30, time.time() - 30))


def record_caches(store: Store) -> list[str]:
    rows = store._read(lambda conn: conn.execute("SELECT name FROM cache WHERE name LIKE 'records:%'").fetchall())
    return sorted(str(name) for (name,) in rows)


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
    """Every load writes its record caches behind, and that write waits until the event is set."""
    monkeypatch.setattr(library_module, "RECORD_CACHES_BEHIND", 1)
    release = threading.Event()
    real = library_module._RecordCaches.write

    def waiting(self: Any, trace: Any) -> None:
        assert threading.current_thread() is not threading.main_thread()  # behind the load, not in it
        release.wait(30)
        real(self, trace)

    monkeypatch.setattr(library_module._RecordCaches, "write", waiting)
    return release


def test_a_large_load_returns_before_its_record_caches_and_they_are_then_complete(
    tmp_path: Path, held: threading.Event, parsed: list[str]
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    first = paper_widgets.load(*paths, store=store)
    assert record_caches(store) == []  # the load is back; its record caches are still being written
    held.set()
    store.cache_settle()
    assert len(record_caches(store)) == len(paths)
    change(paths[1])
    parsed.clear()
    again = paper_widgets.load(*paths, store=store)
    assert parsed == ["dump1.txt"]  # the two other files came from their record caches
    assert len(again) == len(first) + 1
    fresh = paper_widgets.load(*paths, store=tmp_path / "fresh")
    pd.testing.assert_frame_equal(again.df, fresh.df)


def test_a_second_load_on_the_store_waits_for_the_write_behind_and_parses_nothing_again(
    tmp_path: Path, held: threading.Event, parsed: list[str]
) -> None:
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    paper_widgets.load(*paths, store=store)
    change(paths[0])
    parsed.clear()
    second: list[paper_widgets.Library] = []
    loading = threading.Thread(target=lambda: second.append(paper_widgets.load(*paths, store=store)))
    loading.start()
    loading.join(1.0)
    assert loading.is_alive() and parsed == []  # waiting for the first load's caches, not parsing all anew
    held.set()
    loading.join(30)
    assert second and parsed == ["dump0.txt"]


def test_notes_and_tags_written_during_the_write_behind_are_kept(tmp_path: Path, held: threading.Event) -> None:
    paths = write_dumps(tmp_path / "dumps")
    store = Store(tmp_path / "store")
    lib = paper_widgets.load(*paths, store=store)
    key = str(lib.df["key"].iloc[3])
    lib.set_note(key, "written while the caches were")  # not held up by the write behind
    lib.tag(key, "mine")
    held.set()
    store.close()  # waits for the write behind, then closes
    assert len(record_caches(store)) == len(paths)
    again = paper_widgets.load(*paths, store=tmp_path / "store")
    assert again.note(key) == "written while the caches were" and again.tags(key) == ["mine"]
    pd.testing.assert_frame_equal(again.df, lib.df)


_CHILD = """
import sys, threading
import paper_widgets, paper_widgets.library as library
library.RECORD_CACHES_BEHIND = 1
real = library._RecordCaches.write
def slow(self, trace):
    print("writing", flush=True)
    threading.Event().wait(float(sys.argv[2]))
    real(self, trace)
library._RecordCaches.write = slow
paper_widgets.load(*sys.argv[3:], store=sys.argv[1])
print("loaded", flush=True)
"""


def _child(store: Path, paths: list[Path], pause: float) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    command = [sys.executable, "-c", _CHILD, str(store), str(pause), *map(str, paths)]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)


def test_the_interpreter_finishes_the_write_behind_before_it_exits(tmp_path: Path, parsed: list[str]) -> None:
    paths = write_dumps(tmp_path / "dumps")
    child = _child(tmp_path / "store", paths, 0.5)
    out, _ = child.communicate(timeout=120)
    assert child.returncode == 0 and out.split() == ["writing", "loaded"]
    store = Store(tmp_path / "store")
    assert len(record_caches(store)) == len(paths)
    change(paths[2])
    parsed.clear()
    paper_widgets.load(*paths, store=store)
    assert parsed == ["dump2.txt"]


def test_a_load_killed_during_the_write_behind_leaves_no_cache_read_as_valid(tmp_path: Path, parsed: list[str]) -> None:
    paths = write_dumps(tmp_path / "dumps")
    child = _child(tmp_path / "store", paths, 60)
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "writing"
    assert child.stdout.readline().strip() == "loaded"  # load() returned; its record caches are not written
    child.send_signal(signal.SIGKILL)
    child.wait(30)
    child.stdout.close()
    store = Store(tmp_path / "store")
    assert record_caches(store) == []
    assert not list((tmp_path / "store" / "cache").glob("*.tmp"))
    parsed.clear()
    reopened = paper_widgets.load(*paths, store=store)
    assert parsed == []  # the library cache was written before load() returned
    change(paths[1])
    parsed.clear()
    updated = paper_widgets.load(*paths, store=store)
    assert sorted(parsed) == sorted(p.name for p in paths)  # no record caches: every file read again
    fresh = paper_widgets.load(*paths, store=tmp_path / "fresh")
    pd.testing.assert_frame_equal(updated.df, fresh.df)
    assert len(updated) == len(reopened) + 1
