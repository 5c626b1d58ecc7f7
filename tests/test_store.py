"""The notes store: round trips, citekey recording, migrations, the library cache."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import platformdirs
import pyarrow as pa
import pytest
from conftest import CARD_SEED, PAIR_SEED

import paper_widgets
from paper_widgets.store import DB_NAME, Store, StoreCorrupt, StoreError, StoreReadOnly, store_home
from paper_widgets.store.schema import SCHEMA_VERSION, migrate

ROOT = Path(__file__).resolve().parent.parent


def papers(*rows: tuple[str, str | None]) -> pd.DataFrame:
    """A frame with the columns key assignment needs: (title, arXiv id) per row."""
    return pd.DataFrame(
        {
            "title": [title for title, _ in rows],
            "authors": [["Ada Lovelace"] for _ in rows],
            "published": pd.to_datetime(["2025-03-01"] * len(rows)),
            "arxiv_id": pd.Series([arxiv for _, arxiv in rows], dtype=object),
        }
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """The storage interface on each backend: the embedded SQLite store and a PostgreSQL team store."""
    if request.param == "postgresql":
        team_db = request.getfixturevalue("team_db")
        location: str | Path = team_db("alice")
    else:
        location = tmp_path / "store"
    with Store(location) as opened:
        yield opened


@pytest.fixture
def key(store: Store) -> str:
    return store.assign_keys(papers(("Attention Is All You Need", "1706.03762")))[0]


def test_home_comes_from_parameter_then_env_then_platformdirs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, paper_widgets_home: Path
) -> None:
    assert Store().path == paper_widgets_home / DB_NAME
    assert Store(tmp_path / "elsewhere").path == tmp_path / "elsewhere" / DB_NAME
    monkeypatch.delenv("PAPER_WIDGETS_HOME")
    assert store_home() == Path(platformdirs.user_data_dir("paper_widgets"))


def test_database_is_wal_with_full_sync_and_current_schema(store: Store) -> None:
    conn = sqlite3.connect(store.path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert store._connection().execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_note_round_trip_keeps_history_and_survives_reopen(store: Store, key: str) -> None:
    assert store.note(key) is None
    assert store.note_history(key) == []
    store.set_note(key, "# First\nsee *section 3*")
    store.set_note(key, "second thoughts")
    assert store.note(key) == "second thoughts"
    store.close()
    reopened = Store(store.location)
    assert reopened.note(key) == "second thoughts"
    history = reopened.note_history(key)
    assert [text for _, text in history] == ["# First\nsee *section 3*", "second thoughts"]
    assert history[0][0] <= history[1][0]
    assert history[0][0].tzinfo is not None


def test_blank_note_clears_but_stays_in_history(store: Store, key: str) -> None:
    store.set_note(key, "keep?")
    store.set_note(key, "  \n")
    assert store.note(key) is None
    assert [text for _, text in store.note_history(key)] == ["keep?", "  \n"]
    assert key not in store.annotations().notes


def test_set_notes_writes_a_batch_in_order(store: Store) -> None:
    a, b = store.assign_keys(papers(("Paper A", None), ("Paper B", None)))
    ids = store.set_notes([(a, "one"), (b, "two"), (a, "three")])
    assert ids == sorted(ids)
    assert store.note(a) == "three"
    assert store.note(b) == "two"


def test_failed_batch_writes_nothing(store: Store, key: str) -> None:
    with pytest.raises(KeyError):
        store.set_notes([(key, "fine"), ("noSuchKey2020", "lost")])
    assert store.note_history(key) == []


def test_tags_are_a_sorted_set(store: Store, key: str) -> None:
    store.tag(key, "transformers", "  to read ", "attention")
    store.tag(key, "attention")
    assert store.tags(key) == ["attention", "to read", "transformers"]
    store.untag(key, "to read", "never had it")
    assert store.tags(key) == ["attention", "transformers"]
    with pytest.raises(ValueError, match="non-empty"):
        store.tag(key, " ")


def test_status_defaults_to_unread_and_is_validated(store: Store, key: str) -> None:
    assert store.status(key) == "unread"
    store.set_status(key, "reading")
    assert store.status(key) == "reading"
    with pytest.raises(ValueError, match="unread, reading, read"):
        store.set_status(key, "skimmed")
    assert store.status(key) == "reading"


def test_unknown_key_raises_key_error(store: Store) -> None:
    for call in (
        lambda: store.note("nope2020"),
        lambda: store.set_note("nope2020", "x"),
        lambda: store.tag("nope2020", "x"),
        lambda: store.status("nope2020"),
        lambda: store.note_history("nope2020"),
    ):
        with pytest.raises(KeyError):
            call()


def test_non_text_note_is_rejected(store: Store, key: str) -> None:
    with pytest.raises(TypeError, match="str"):
        store.set_note(key, None)  # type: ignore[arg-type]


def test_annotations_collect_everything_by_key(store: Store) -> None:
    a, b, c = store.assign_keys(papers(("Paper A", None), ("Paper B", None), ("Paper C", None)))
    store.set_note(a, "note a")
    store.tag(b, "y", "x")
    store.set_status(c, "read")
    store.set_status(a, "unread")
    found = store.annotations()
    assert found.notes == {a: "note a"}
    assert found.tags == {b: ["x", "y"]}
    assert found.status == {c: "read"}


def test_revision_moves_on_own_and_other_connections_writes(store: Store, key: str) -> None:
    before = store.revision()
    store.tag(key, "mine")
    after_own = store.revision()
    assert after_own != before
    with Store(store.location) as other:
        other.tag(key, "theirs")
    assert store.revision() != after_own
    assert store.revision() == store.revision()


def test_cache_and_key_writes_never_move_the_annotation_revision(store: Store, key: str) -> None:
    store.tag(key, "seen")
    before = store.revision()
    store.cache_put_arrays("frame", "h1", {"numbers": np.arange(3)})
    store.set_setting("citation_style", "myst")
    store.assign_keys(papers(("A Paper Nobody Annotated", None)))
    assert store.revision() == before
    assert store.annotation_changes(before) == (before, [], store.annotations([]))
    store.set_status(key, "read")
    revision, changed, found = store.annotation_changes(before)
    assert revision > before and changed == [key]
    assert (found.tags, found.status) == ({key: ["seen"]}, {key: "read"})


def test_store_works_in_a_forked_child(store: Store, key: str) -> None:
    store.set_note(key, "parent")
    pid = os.fork()
    if pid == 0:  # the child: its own connection (SQLite) or pool (PostgreSQL)
        try:
            store.set_note(key, "child")
            os._exit(0 if store.note(key) == "child" else 1)
        finally:
            os._exit(2)
    _, status = os.waitpid(pid, 0)
    assert os.WEXITSTATUS(status) == 0
    assert store.note(key) == "child"


def test_library_df_refreshes_only_the_rows_annotated_since(tmp_path: Path) -> None:
    lib = paper_widgets.load(CARD_SEED, store=tmp_path)
    df = lib.df
    key, other = df["key"].iloc[0], df["key"].iloc[1]
    with Store(tmp_path) as elsewhere:  # another kernel writes
        elsewhere.set_note(key, "from the other kernel")
        elsewhere.tag(other, "later")
    refreshed = lib.df
    assert refreshed is df  # updated in place, not rebuilt
    assert refreshed.set_index("key").loc[key, "note"] == "from the other kernel"
    assert refreshed.set_index("key").loc[other, "tags"] == ["later"]
    assert refreshed["note"].notna().sum() == 1


# -- citekeys ------------------------------------------------------------------------------------


def test_keys_are_recorded_and_kept_when_a_clashing_paper_arrives(store: Store) -> None:
    resnet, earlier = ("Deep Residual Learning", "1512.03385"), ("Deep Residual Learning", "1111.00001")
    first = store.assign_keys(papers(resnet))[0]
    # A second paper with the same base key, sorting before the first by identity, must not steal it.
    both = store.assign_keys(papers(earlier, resnet))
    assert both[1] == first
    assert both[0] != first
    # Keys stay with their papers in any later load, whatever the row order.
    assert list(store.assign_keys(papers(resnet, earlier))) == [first, both[0]]


def test_new_paper_never_takes_a_key_held_by_a_paper_outside_the_frame(store: Store) -> None:
    held = store.assign_keys(papers(("Graph Networks", "2001.00001")))[0]
    other = store.assign_keys(papers(("Graph Networks", "2001.99999")))[0]
    assert other != held


def test_paper_first_seen_without_id_keeps_key_when_id_appears(store: Store) -> None:
    from_dump = store.assign_keys(papers(("Scaling Laws for Neural Language Models", None)))[0]
    store.set_note(from_dump, "power laws everywhere")
    from_json = store.assign_keys(papers(("Scaling laws for neural language models", "2001.08361v2")))[0]
    assert from_json == from_dump
    # The arXiv id is now an alias: a retitled copy with the id still finds the paper.
    retitled = store.assign_keys(papers(("Scaling Laws (NLM)", "2001.08361")))[0]
    assert retitled == from_dump
    assert store.note(retitled) == "power laws everywhere"


def test_paper_first_seen_with_id_found_later_by_title(store: Store) -> None:
    with_id = store.assign_keys(papers(("Denoising Diffusion Probabilistic Models", "2006.11239")))[0]
    by_title = store.assign_keys(papers(("Denoising Diffusion Probabilistic Models", None)))[0]
    assert by_title == with_id


def test_same_title_with_another_arxiv_id_is_another_paper(store: Store) -> None:
    first = store.assign_keys(papers(("A Survey of Agents", "2401.00001")))[0]
    second = store.assign_keys(papers(("A Survey of Agents", "2402.00002")))[0]
    assert second != first
    assert store.assign_keys(papers(("A Survey of Agents", "2402.00002")))[0] == second


def test_keys_survive_reopening_the_store(tmp_path: Path) -> None:
    frame = papers(("Paper A", None), ("Paper A", "2101.00001"), ("Paper B", "2101.00002"))
    with Store(tmp_path) as s:
        keys = list(s.assign_keys(frame))
    with Store(tmp_path) as s:
        assert list(s.assign_keys(frame.iloc[::-1]))[::-1] == keys


# -- migrations ----------------------------------------------------------------------------------


def test_v1_database_is_migrated_to_the_latest_version_with_its_notes_tags_and_keys(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    migrate(conn, target=1)
    conn.execute("INSERT INTO papers (paper_id, key, created) VALUES (1, 'vaswaniAttentionAll2017', 1.0)")
    conn.execute("INSERT INTO identities VALUES ('arxiv:1706.03762', 1, 'arxiv')")
    conn.execute("INSERT INTO identities VALUES ('title:attention is all you need', 1, 'title')")
    conn.execute("INSERT INTO notes VALUES (1, 'the v1 note', 1700000000.0)")
    conn.execute("INSERT INTO tags VALUES (1, 'classic')")
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    conn.close()

    with Store(tmp_path) as s:
        assert s._connection().execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        key = s.assign_keys(papers(("Attention is all you need", "1706.03762")))[0]
        assert key == "vaswaniAttentionAll2017"
        assert s.note(key) == "the v1 note"
        ((when, text),) = s.note_history(key)
        assert (when.timestamp(), text) == (1700000000.0, "the v1 note")
        assert s.tags(key) == ["classic"]
        assert s.status(key) == "unread"
        s.set_note(key, "written after the upgrade")
        assert [t for _, t in s.note_history(key)] == ["the v1 note", "written after the upgrade"]


def test_database_from_a_newer_version_is_refused(tmp_path: Path) -> None:
    Store(tmp_path).close()
    conn = sqlite3.connect(tmp_path / DB_NAME)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    with pytest.raises(RuntimeError, match="newer"):
        Store(tmp_path)


def test_failed_migration_leaves_the_file_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paper_widgets.store.schema as schema

    conn = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    migrate(conn, target=1)

    def broken(conn: sqlite3.Connection) -> None:
        conn.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk on fire")

    monkeypatch.setattr(schema, "MIGRATIONS", (schema.MIGRATIONS[0], broken))
    with pytest.raises(sqlite3.OperationalError, match="fire"):
        schema.migrate(conn, target=2)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'").fetchone()[0] == 0


# -- library cache -------------------------------------------------------------------------------


def test_cache_round_trip_is_keyed_by_name_and_hash(store: Store) -> None:
    frame = papers(("Paper A", None), ("Paper B", "2101.00002"))
    frame["upvotes"] = pd.array([3, None], dtype="Int64")
    frame["extra"] = pd.Series([{"doi": "10.1/x"}, None], dtype=object)  # not a list of strings: JSON
    frame["pairs"] = pd.Series([[1, 2], [3, 4]], dtype=object)  # JSON too: each cell its own list, not a 2-D block
    assert store.cache_get_frame("library", "h1") is None
    assert store.cache_put_frame("library", "h1", frame, [["a.txt", 3, "odd line"]])
    cached, meta = store.cache_get_frame("library", "h1")
    pd.testing.assert_frame_equal(cached, frame)
    assert cached["authors"].map(type).tolist() == [list, list]
    assert meta == [["a.txt", 3, "odd line"]]
    assert store.cache_get_frame("library", "h2") is None
    assert store.cache_get_frame("other", "h1") is None


def test_lists_can_come_back_as_arrow_lists_and_become_python_lists_when_shown(store: Store) -> None:
    from paper_widgets.store import shown_frame

    frame = papers(("Paper A", None), ("Paper B", "2101.00002"), ("Paper C", None))
    frame["authors"] = pd.Series([["Ada Lovelace"], [], ["Émilie du Châtelet", "Ada Lovelace"]], dtype=object)
    frame["fields"] = pd.Series([None, {"doi": "10.1/x"}, None], dtype=object)  # JSON, mostly None
    assert store.cache_put_frame("library", "h", frame)
    cached, _ = store.cache_get_frame("library", "h", arrow_lists=True)
    assert isinstance(cached["authors"].dtype, pd.ArrowDtype)
    assert cached["fields"].tolist() == [None, {"doi": "10.1/x"}, None]
    shown = shown_frame(cached)
    pd.testing.assert_frame_equal(shown, frame)
    assert shown["authors"].map(type).eq(list).all()
    assert shown["authors"].iloc[0] is not shown["authors"].iloc[2]
    # A frame read with Arrow lists is cached again as it was.
    assert store.cache_put_frame("again", "h", cached)
    pd.testing.assert_frame_equal(store.cache_get_frame("again", "h")[0], frame)


def test_lists_of_few_distinct_strings_are_stored_as_indices_and_read_back_the_same(store: Store) -> None:
    import pyarrow.feather as feather

    from paper_widgets.store import shown_frame

    n = 400
    path = "/home/someone/papers/daily/2026-11-26-with-a-long-name.txt"
    frame = papers(*((f"Paper {i}", None) for i in range(n)))
    frame["sources"] = pd.Series([[path] if i % 7 else [path, "b.bib"] for i in range(n)], dtype=object)
    frame["authors"] = pd.Series([[f"Author {i}"] for i in range(n)], dtype=object)
    assert store.cache_put_frame("library", "h", frame)
    (file,) = store.cache_dir.iterdir()
    schema = feather.read_table(str(file), memory_map=True).schema
    assert pa.types.is_dictionary(schema.field("sources").type.value_type)
    assert not pa.types.is_dictionary(schema.field("authors").type.value_type)  # every name distinct: as it was
    assert store.cache_put_frame("bare", "h", frame.drop(columns="sources"))
    (bare,) = set(store.cache_dir.iterdir()) - {file}
    assert file.stat().st_size - bare.stat().st_size < n * 16  # offsets and indices, not a path per row
    pd.testing.assert_frame_equal(store.cache_get_frame("library", "h")[0], frame)
    cached, _ = store.cache_get_frame("library", "h", arrow_lists=True)
    pd.testing.assert_frame_equal(shown_frame(cached), frame)
    assert cached["sources"].explode().value_counts().to_dict() == {path: n, "b.bib": -(-n // 7)}
    # a slice of a reopened frame, written again, reads back as that slice
    assert store.cache_put_frame("again", "h", cached.iloc[5:60].reset_index(drop=True))
    pd.testing.assert_frame_equal(store.cache_get_frame("again", "h")[0], frame.iloc[5:60].reset_index(drop=True))


def test_a_compressed_frame_comes_back_the_same_in_a_fraction_of_the_disk(store: Store) -> None:
    abstract = "We study gradient conflicts between tasks and project them away. " * 20
    frame = papers(*((f"Paper {i}", None) for i in range(300)))
    frame["abstract"] = pd.Series([abstract + str(i) for i in range(300)], dtype="str")
    assert store.cache_put_frame("plain", "h", frame)
    assert store.cache_put_frame("small", "h", frame, ["meta"], compressed=True)
    sizes = {file.stat().st_size for file in store.cache_dir.iterdir()}
    assert len(sizes) == 2 and min(sizes) * 5 < max(sizes)
    cached, meta = store.cache_get_frame("small", "h")
    pd.testing.assert_frame_equal(cached, frame)
    assert meta == ["meta"]


def test_cache_put_replaces_the_previous_entry_and_its_file(store: Store) -> None:
    store.cache_put_arrays("index", "old", {"v": np.arange(3)})
    store.cache_put_arrays("index", "new", {"v": np.arange(5)})
    assert store.cache_get_arrays("index", "old") is None
    assert store.cache_get_arrays("index", "new")["v"].tolist() == [0, 1, 2, 3, 4]
    assert len(list(store.cache_dir.iterdir())) == 1


def test_file_hash_is_remembered_until_the_file_changes(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paper_widgets.store.cache as store_module

    hashed: list[str] = []
    real_file_hash = store_module.file_hash
    monkeypatch.setattr(store_module, "file_hash", lambda path: hashed.append(path) or real_file_hash(path))
    dump = tmp_path / "dump.txt"
    dump.write_text("one paper", encoding="utf-8")
    a_minute_ago = time.time() - 60
    os.utime(dump, (a_minute_ago, a_minute_ago))
    first = store.file_hash(dump)
    assert store.file_hash(dump) == first
    assert len(hashed) == 1
    dump.write_text("two papers", encoding="utf-8")
    os.utime(dump, (a_minute_ago + 1, a_minute_ago + 1))
    assert store.file_hash(dump) != first
    assert len(hashed) == 2
    # Modified just now: its mtime tick may not be over yet, so it is hashed every time.
    dump.write_text("three papers", encoding="utf-8")
    assert store.file_hash(dump) == store.file_hash(dump) == real_file_hash(dump)
    assert len(hashed) == 4


def test_damaged_cache_file_is_a_miss(store: Store) -> None:
    store.cache_put_arrays("index", "h", {"v": np.arange(1000)})
    store.cache_put_frame("frame", "h", papers(("Paper A", None)))
    for file in store.cache_dir.iterdir():
        file.write_bytes(b"\x00garbage".ljust(file.stat().st_size, b"\x00"))  # same size, torn content
    assert store.cache_get_arrays("index", "h") is None
    assert store.cache_get_frame("frame", "h") is None
    for file in store.cache_dir.iterdir():
        file.unlink()
    assert store.cache_get_arrays("index", "h") is None


@pytest.mark.parametrize("disguise", ["npz", "object-dtype"])
def test_cache_files_cannot_run_code(store: Store, tmp_path: Path, disguise: str) -> None:
    """A pickle put in place of a cache file, even one of the right size, is never unpickled."""
    import json
    import pickle

    import paper_widgets.store.cache as cache_module

    ran = tmp_path / "ran"

    class Payload:
        def __reduce__(self) -> tuple[object, ...]:
            return (Path.touch, (ran,))

    store.cache_put_arrays("index", "h", {"v": np.arange(3)})
    (file,) = store.cache_dir.iterdir()
    evil = pickle.dumps(Payload())
    if disguise == "npz":  # the format of earlier versions: an .npz whose array is an object (pickled) array
        np.save(tmp_path / "v.npy", np.array([evil], dtype=object), allow_pickle=True)
        with zipfile.ZipFile(file, "w") as npz:
            npz.write(tmp_path / "v.npy", "v.npy")
    else:  # today's format, its table of contents claiming an object array
        contents = json.dumps([["v", "|O", [1], 0]]).encode()
        head = cache_module._ARRAYS_MAGIC + len(contents).to_bytes(8, "little") + contents
        file.write_bytes(head.ljust(-(-len(head) // 64) * 64, b"\0") + evil)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cache SET size = ?", (file.stat().st_size,))
    assert store.cache_get_arrays("index", "h") is None
    assert not ran.exists()


@pytest.mark.parametrize("file", ["/etc/passwd.arrays", "../outside.arrays", "sub/inner.arrays", "..", "x.pickle"])
def test_cache_paths_outside_the_cache_folder_are_a_miss(store: Store, file: str) -> None:
    store.cache_put_arrays("index", "h", {"v": np.arange(3)})
    (written,) = store.cache_dir.iterdir()
    outside = store.home / "outside.arrays"
    outside.write_bytes(written.read_bytes())  # a valid arrays file, but not in the cache folder
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cache SET file = ?, size = ?", (file, outside.stat().st_size))
    assert store.cache_get_arrays("index", "h") is None


def test_a_failed_cache_write_is_skipped_and_leaves_no_partial_file(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    import paper_widgets.store.cache as cache_module

    store.cache_put_arrays("index", "old", {"v": np.arange(3)})

    def disk_full(path: Path, arrays: object) -> None:
        path.write_bytes(b"half of it")  # a partial file, then the disk is full
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "_write_arrays", disk_full)
    assert store.cache_put_arrays("index", "new", {"v": np.arange(5)}) is False
    assert [p.suffix for p in store.cache_dir.iterdir()] == [".arrays"], "no .tmp left behind"
    assert store.cache_get_arrays("index", "old")["v"].tolist() == [0, 1, 2]


def test_a_full_disk_never_fails_a_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paper_widgets.store.cache as cache_module

    def disk_full(path: Path, *args: object) -> None:
        path.write_bytes(b"x" * 100)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(cache_module, "_write_frame", disk_full)
    monkeypatch.setattr(cache_module, "_write_arrays", disk_full)
    (tmp_path / "card.txt").write_text(CARD_SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pair.txt").write_text(PAIR_SEED.read_text(encoding="utf-8"), encoding="utf-8")
    lib = paper_widgets.load(tmp_path / "card.txt", tmp_path / "pair.txt", store=tmp_path / "store")
    assert len(lib) > 100
    assert not lib.search("gradient surgery").empty
    assert not any((tmp_path / "store" / "cache").glob("*.tmp")) if (tmp_path / "store" / "cache").exists() else True


def test_leftovers_of_a_writer_killed_mid_write_are_removed_on_open(tmp_path: Path) -> None:
    """kill -9 while a cache file is written: the next store to open removes the .tmp (not a live writer's)."""
    home = tmp_path / "store"
    script = (
        "import os, sys, numpy as np\n"
        "from paper_widgets.store import Store\n"
        "import paper_widgets.store.cache as c\n"
        "def stall(path, arrays):\n"
        "    path.write_bytes(b'x' * 1_000_000); print('writing', flush=True); sys.stdin.read()\n"
        "c._write_arrays = stall\n"
        f"Store({str(home)!r}).cache_put_arrays('index', 'h', {{'v': np.arange(3)}})\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    writer = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
    assert writer.stdout is not None and writer.stdout.readline().strip() == b"writing"
    (partial,) = (home / "cache").glob("*.tmp")
    Store(home).close()
    assert partial.exists(), "a live writer's file stays"
    writer.kill()
    writer.wait()
    Store(home).close()
    assert not partial.exists()
    assert not list((home / "cache").iterdir())


def test_many_files_are_cached_in_one_store_transaction(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a folder of small files commits their cache rows together, not one fsynced commit per file."""
    for i in range(12):
        (tmp_path / f"dump{i}.txt").write_text(
            f"Paper number {i} about things\nAn abstract that is long enough to be an abstract of paper {i}.\n",
            encoding="utf-8",
        )
    commits: list[int] = []
    real_write = Store._write

    def counting(self: Store, body: object) -> object:
        commits.append(1)
        return real_write(self, body)  # type: ignore[arg-type]

    for dump in tmp_path.glob("dump*.txt"):  # settled files: their hashes are remembered too
        os.utime(dump, (time.time() - 60, time.time() - 60))
    store = Store(tmp_path / "store")
    monkeypatch.setattr(Store, "_write", counting)
    paper_widgets.load(*sorted(tmp_path.glob("dump*.txt")), store=store)
    cache_rows = store._read(lambda conn: conn.execute("SELECT count(*) FROM cache").fetchone()[0])
    hashes = store._read(lambda conn: conn.execute("SELECT count(*) FROM file_hashes").fetchone()[0])
    # twelve files, the library and its abstracts (stored apart, compressed); twelve file hashes
    assert (cache_rows, hashes) == (14, 12)
    assert len(commits) <= 6, f"{len(commits)} commits for 14 cache entries and 12 file hashes"


# -- the library on the store --------------------------------------------------------------------


def test_library_notes_tags_status_round_trip_into_df() -> None:
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    other = lib.df["key"].iloc[1]
    assert lib.note(key) is None
    assert lib.status(key) == "unread"
    lib.set_note(key, "Merges task vectors **adaptively**.")
    lib.set_note(key, "Merges task vectors adaptively; see Table 2.")
    lib.tag(key, "merging", "mtl")
    lib.untag(key, "mtl")
    lib.set_status(key, "read")
    assert lib.note(key) == "Merges task vectors adaptively; see Table 2."
    assert [t for _, t in lib.note_history(key)] == [
        "Merges task vectors **adaptively**.",
        "Merges task vectors adaptively; see Table 2.",
    ]
    assert lib.tags(key) == ["merging"]
    row = lib.df.set_index("key").loc[key]
    assert row["note"] == "Merges task vectors adaptively; see Table 2."
    assert (row["tags"], row["status"]) == (["merging"], "read")
    blank = lib.df.set_index("key").loc[other]
    assert pd.isna(blank["note"]) and blank["tags"] == [] and blank["status"] == "unread"


def test_library_rejects_keys_it_does_not_have() -> None:
    lib = paper_widgets.load_sample()
    with pytest.raises(KeyError, match="noSuchPaper2020"):
        lib.set_note("noSuchPaper2020", "x")
    with pytest.raises(KeyError):
        lib.tags("noSuchPaper2020")


def test_notes_belong_to_the_paper_not_the_library_object(tmp_path: Path) -> None:
    first = paper_widgets.load_sample(store=tmp_path)
    key = first.df["key"].iloc[3]
    first.set_note(key, "shared thought")
    second = paper_widgets.Library.from_frame(first.df[first.df["key"] == key][["title", "abstract"]], store=tmp_path)
    assert list(second.df["key"]) == [key]
    assert second.note(key) == "shared thought"


def test_df_shows_notes_written_by_another_process(paper_widgets_home: Path) -> None:
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[5]
    assert pd.isna(lib.df.set_index("key").loc[key, "note"])
    script = (
        "import sys, paper_widgets; lib = paper_widgets.load_sample(); "
        "lib.set_note(sys.argv[1], 'from the other kernel'); lib.tag(sys.argv[1], 'remote')"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", script, key], check=True, env=env, timeout=120)
    row = lib.df.set_index("key").loc[key]
    assert (row["note"], row["tags"]) == ("from the other kernel", ["remote"])


def test_keys_recorded_once_stay_when_new_clashing_papers_load(tmp_path: Path) -> None:
    dump = tmp_path / "dump.txt"
    dump.write_text(CARD_SEED.read_text(encoding="utf-8"), encoding="utf-8")
    before = paper_widgets.load(dump).df.set_index("title")["key"]
    # Another paper whose key would be the same arrives: it gets a suffix, the recorded paper keeps its key.
    assert before["AdaMerging: Adaptive Model Merging for Multi-Task Learning"] == "AdamergingAdaptiveModel2023"
    extra = paper_widgets.Library.from_frame(
        pd.DataFrame(
            {"title": ["AdaMerging: Adaptive Model Merging, Revisited"], "abstract": ["x"], "published": ["2023-06-01"]}
        )
    )
    assert extra.df["key"].iloc[0] == "AdamergingAdaptiveModel2023a"
    after = paper_widgets.load(dump).df.set_index("title")["key"]
    pd.testing.assert_series_equal(after, before)


def test_paper_first_loaded_without_id_keeps_key_and_note_when_id_appears() -> None:
    title = "Scaling Laws for Neural Language Models"
    bare = paper_widgets.Library.from_frame(pd.DataFrame({"title": [title], "abstract": ["power laws"]}))
    key = bare.df["key"].iloc[0]
    bare.set_note(key, "loss ~ N^-0.076")
    with_id = paper_widgets.Library.from_frame(
        pd.DataFrame({"title": [title.lower()], "abstract": ["power laws"], "arxiv_id": ["2001.08361"]})
    )
    assert with_id.df["key"].iloc[0] == key
    assert with_id.df["note"].iloc[0] == "loss ~ N^-0.076"


def test_reload_of_unchanged_dumps_skips_parsing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import paper_widgets.data.readers.pool as pool_module  # where files are parsed (in this process when small)

    for seed in (CARD_SEED, PAIR_SEED):
        (tmp_path / seed.name).write_bytes(seed.read_bytes())
    parsed: list[str] = []
    real_read_path = pool_module.read_path

    def counting_read_path(path: Path, *args: object, **kwargs: object) -> object:
        parsed.append(Path(path).name)
        return real_read_path(path, *args, **kwargs)

    monkeypatch.setattr(pool_module, "read_path", counting_read_path)
    first = paper_widgets.load(tmp_path)
    assert sorted(parsed) == sorted([CARD_SEED.name, PAIR_SEED.name])

    parsed.clear()
    again = paper_widgets.load(tmp_path)
    assert parsed == []
    pd.testing.assert_frame_equal(again.df, first.df)
    assert [str(w) for w in again.warnings] == [str(w) for w in first.warnings]

    # One dump changes: only that one is parsed again; the other comes from its own cache entry.
    changed = tmp_path / PAIR_SEED.name
    changed.write_text(
        changed.read_text(encoding="utf-8")
        + "\nA Brand New Paper On Caching\nWe show that caching parsed dumps makes reopening libraries fast.\n",
        encoding="utf-8",
    )
    parsed.clear()
    updated = paper_widgets.load(tmp_path)
    assert parsed == [PAIR_SEED.name]
    assert len(updated.df) == len(first.df) + 1
    # Keys of the papers already there did not move.
    old = first.df.set_index("title")["key"]
    assert (updated.df.set_index("title")["key"].loc[old.index] == old).all()


def test_export_notes_has_one_section_per_noted_paper(tmp_path: Path) -> None:
    lib = paper_widgets.load_sample()
    noted = lib.df["key"].iloc[[2, 7]].tolist()
    lib.set_note(noted[0], "First *note*.\n\n- point")
    lib.tag(noted[0], "to-cite", "a_b")
    lib.set_note(noted[1], "Second note.")
    lib.set_status(noted[1], "reading")
    out = tmp_path / "notes.md"
    text = lib.export_notes(out)
    assert out.read_text(encoding="utf-8") == text
    assert text.startswith("# Literature notes\n")
    assert text.count("\n## ") == 2
    titles = lib.df.set_index("key")["title"]
    first = text.index(f"(`{noted[0]}`)")
    second = text.index(f"(`{noted[1]}`)")
    section = text[first:second]
    assert "- Tags: a\\_b, to-cite" in section
    assert "- Status: unread" in section
    assert "First *note*.\n\n- point" in section
    assert "- Status: reading" in text[second:] and "Second note." in text[second:]
    assert titles[noted[1]].split()[0].rstrip(":") in text[text.rindex("## ", 0, second) : second]


def test_export_escapes_untrusted_titles() -> None:
    lib = paper_widgets.Library.from_frame(
        pd.DataFrame({"title": ["<img src=x onerror=alert(1)> *Bold* [link](http://x) #1"], "abstract": ["a"]})
    )
    key = lib.df["key"].iloc[0]
    lib.set_note(key, "ok")
    heading = next(line for line in lib.export_notes().splitlines() if line.startswith("## "))
    assert heading == f"## &lt;img src=x onerror=alert(1)&gt; \\*Bold\\* \\[link\\](http\\://x) \\#1 (`{key}`)"


# -- damaged, read-only and misplaced stores: typed errors naming the file -------------------------


def test_store_folder_and_file_are_private_to_the_user(tmp_path: Path) -> None:
    with Store(tmp_path / "new" / "store") as s:
        s.set_setting("x", 1)
        assert (s.home.stat().st_mode & 0o777) == 0o700
        for path in (s.path, s.path.with_name(DB_NAME + "-wal")):
            assert (path.stat().st_mode & 0o777) == 0o600, path


def test_a_file_that_is_not_a_database_is_a_store_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / DB_NAME).write_bytes(b"these are my lecture notes, not SQLite\n" * 100)
    with pytest.raises(StoreCorrupt, match=f"{tmp_path / DB_NAME}.*not an SQLite database.*PAPER_WIDGETS_HOME"):
        Store(tmp_path)


def test_a_damaged_database_is_a_store_error_saying_what_to_do(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.assign_keys(papers(*((f"Paper {i}", None) for i in range(2000))))
        s._connection().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    data = bytearray((tmp_path / DB_NAME).read_bytes())
    page = 4096
    data[page : 8 * page] = b"\xff" * (7 * page)  # the schema's and first tables' pages
    (tmp_path / DB_NAME).write_bytes(bytes(data))
    with pytest.raises(StoreCorrupt, match=rf"{tmp_path / DB_NAME}.*(damaged|not an SQLite)"), Store(tmp_path) as s:
        s.assign_keys(papers(("Paper 1", None)))


def test_a_read_only_database_is_a_store_error_naming_it(tmp_path: Path) -> None:
    Store(tmp_path).close()
    db = tmp_path / DB_NAME
    if os.geteuid() == 0:  # root ignores permissions: make the file immutable instead
        if subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode != 0:
            pytest.skip("running as root and chattr +i is not available: cannot make a read-only file")
        undo = ["chattr", "-i", str(db)]
    else:
        db.chmod(0o400)
        undo = ["chmod", "600", str(db)]
    try:
        with pytest.raises(StoreReadOnly, match=f"{db}.*cannot be written"), Store(tmp_path) as s:
            s.set_setting("style", "myst")
    finally:
        subprocess.run(undo, check=True)


def test_a_store_home_that_is_a_file_is_a_store_error(tmp_path: Path) -> None:
    (tmp_path / "home").write_text("oops")
    with pytest.raises(StoreError, match=f"{tmp_path / 'home'} is a file"):
        Store(tmp_path / "home")


def test_an_unknown_saved_citation_style_warns_and_the_library_still_loads(tmp_path: Path) -> None:
    with Store(tmp_path) as s:
        s.set_setting("citation_style", "chicago-but-misspelt")
    lib = paper_widgets.load(CARD_SEED, store=tmp_path)
    assert len(lib) > 0
    key = lib.df["key"].iloc[0]
    with pytest.warns(paper_widgets.PaperWidgetsWarning, match="chicago-but-misspelt.*set_default_style"):
        assert lib.cite(key) == f"[@{key}]", "the constant default stands in for the unknown style"


def test_a_reload_from_the_cache_is_the_same_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Through Arrow and JSON and back: every column, dtype, list cell and warning as parsed."""
    dumps = [tmp_path / "card.txt", tmp_path / "pair.txt"]
    for path, seed in zip(dumps, (CARD_SEED, PAIR_SEED), strict=True):
        path.write_text(seed.read_text(encoding="utf-8") + "\n\nstray line\n", encoding="utf-8")
    first = paper_widgets.load(*dumps, store=tmp_path / "store")
    assert (tmp_path / "store" / "cache").is_dir()

    def no_parsing(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("parsed again instead of coming from the cache")

    monkeypatch.setattr(paper_widgets.data.readers.pool, "read_path", no_parsing)
    second = paper_widgets.load(*dumps, store=tmp_path / "store")
    # Reopened, the list columns stay Arrow lists until shown: no Python list per cell at open.
    assert isinstance(second._papers["sources"].dtype, pd.ArrowDtype)
    assert len(second) == len(first)
    key = first.df["key"].iloc[3]
    found = second.search(first[key]["title"], limit=3)
    assert found["key"].iloc[0] == key
    assert found["sources"].map(type).eq(list).all() and found["authors"].map(type).eq(list).all()
    pd.testing.assert_frame_equal(found, first.search(first[key]["title"], limit=3))
    pd.testing.assert_frame_equal(second.df, first.df)
    assert second.warnings == first.warnings
    assert second.df["sources"].map(type).eq(list).all()
