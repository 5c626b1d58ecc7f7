"""Abstracts stored once, compressed: the CompressedTexts column and the library and record caches over it."""

from __future__ import annotations

import os
import random
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import paper_widgets
from paper_widgets.data.readers.sources import read_path
from paper_widgets.store import Store
from paper_widgets.store import texts as texts_module
from paper_widgets.store.texts import BLOCK_ROWS, CompressedTexts, compressed_texts, texts_of

TEXTS = st.lists(st.one_of(st.none(), st.text(max_size=40)), max_size=3 * BLOCK_ROWS + 5)


def packed(values: list[str | None]) -> CompressedTexts:
    return texts_of(compressed_texts(pd.Series(values, dtype="str")))


@settings(max_examples=60, deadline=None)
@given(TEXTS, st.data())
def test_compressed_texts_give_back_every_row_slice_and_take(values: list[str | None], data: st.DataObject) -> None:
    texts = packed(values)
    plain = pd.Series(values, dtype="str")
    assert len(texts) == len(values)
    pd.testing.assert_series_equal(pd.Series(texts.materialised()), plain)
    assert (texts.isna() == plain.isna().to_numpy()).all()
    if values:
        rows = data.draw(st.lists(st.integers(0, len(values) - 1), max_size=50))
        pd.testing.assert_series_equal(pd.Series(texts.take(rows)), plain.take(rows).reset_index(drop=True))
        lo, hi = sorted(data.draw(st.tuples(st.integers(0, len(values)), st.integers(0, len(values)))))
        sliced = pd.Series(texts[lo:hi]).astype("str")  # the whole column stays compressed: as str here
        pd.testing.assert_series_equal(sliced, plain.iloc[lo:hi].reset_index(drop=True))
        at = data.draw(st.integers(-len(values), len(values) - 1))
        expected = plain.iloc[at]
        assert texts[at] == expected or (pd.isna(texts[at]) and pd.isna(expected))


def test_rows_compressed_in_another_order_a_slice_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The library's abstracts are taken in key order a pass at a time: every pass boundary holds."""
    monkeypatch.setattr(texts_module, "_PASS_ROWS", 2 * BLOCK_ROWS)
    rng = np.random.default_rng(5)
    values = [None if i % 17 == 3 else f"text {i} " + "é" * int(rng.integers(0, 30)) for i in range(7 * BLOCK_ROWS + 9)]
    order = rng.permutation(len(values))
    texts = texts_of(compressed_texts(pd.Series(values, dtype="str"), order))
    expected = pd.Series(values, dtype="str").take(order).reset_index(drop=True)
    pd.testing.assert_series_equal(pd.Series(texts.materialised()), expected)
    again = texts_of(compressed_texts(pd.Series(texts)))  # compressed already: its arrays as they are
    pd.testing.assert_series_equal(pd.Series(again.materialised()), expected)


def test_a_frame_column_of_compressed_texts_reads_like_a_str_column() -> None:
    values = [f"abstract {i} " * (i % 7) for i in range(200)] + [None]
    frame = pd.DataFrame({"n": np.arange(len(values)), "abstract": pd.Series(packed(values))})
    plain = pd.DataFrame({"n": np.arange(len(values)), "abstract": pd.Series(values, dtype="str")})
    # what search results, the index build and its row hashes do with the column
    pd.testing.assert_frame_equal(frame.take([150, 3, 200, 3]), plain.take([150, 3, 200, 3]))
    pd.testing.assert_frame_equal(frame.iloc[40:90], plain.iloc[40:90])
    assert (
        frame["abstract"].iloc[0:5].fillna("").astype("str").tolist() == plain["abstract"].iloc[0:5].fillna("").tolist()
    )
    hashed = pd.util.hash_pandas_object(frame[["abstract"]].fillna(""), index=False, categorize=False)
    expected = pd.util.hash_pandas_object(plain[["abstract"]].fillna(""), index=False, categorize=False)
    assert (hashed.to_numpy() == expected.to_numpy()).all()
    assert frame["abstract"].tolist()[:3] == values[:3]
    with pytest.raises(IndexError):
        frame["abstract"].array[len(values)]


def test_arrays_that_do_not_describe_a_column_are_refused() -> None:
    arrays = compressed_texts(pd.Series(["a" * 100] * 100, dtype="str"))
    for name, broken in [
        ("blocks", arrays["blocks"][:-1]),
        ("offsets", arrays["offsets"][::-1].copy()),
        ("data", arrays["data"][:-1]),
        ("nulls", np.array([10**6])),
        ("offsets", arrays["offsets"].astype(np.float64)),
    ]:
        with pytest.raises(ValueError):
            texts_of({**arrays, name: broken})
    # offsets are checked where they are read (a reopen reads none of them): an error, never a crash
    backwards = arrays["offsets"].copy()
    backwards[40] = backwards[42] + 7
    texts = texts_of({**arrays, "offsets": backwards})
    assert texts[3] == "a" * 100
    with pytest.raises(ValueError):
        texts.take([41])


def test_a_large_column_is_compressed_with_a_dictionary_trained_on_it(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = random.Random(3)
    values = [None if i % 97 == 5 else f"We study {words(rng, 70)}." for i in range(3000)]
    column = pd.Series(values, dtype="str")
    monkeypatch.setattr(texts_module, "_DICTIONARY_ABOVE", 1 << 40)
    plain = compressed_texts(column)
    monkeypatch.setattr(texts_module, "_DICTIONARY_ABOVE", 1 << 20)  # the column holds ~1.9 MB
    arrays = compressed_texts(column)
    assert len(plain["dictionary"]) == 0 and len(arrays["dictionary"]) > 0
    assert len(arrays["data"]) < 0.9 * len(plain["data"])  # the dictionary's 110 KB pay off in larger columns
    texts = texts_of(arrays)
    pd.testing.assert_series_equal(pd.Series(texts.materialised()), column)
    rows = [2999, 5, 0, 1234, 5]
    pd.testing.assert_series_equal(pd.Series(texts.take(rows)), column.take(rows).reset_index(drop=True))
    # written and read back as the store does: the arrays as they are
    again = texts_of(compressed_texts(pd.Series(texts)))
    assert again[1234] == values[1234]
    # a damaged dictionary or block is an error naming it, never a crash or wrong text
    with pytest.raises(ValueError, match="damaged compressed texts"):
        texts_of({**arrays, "dictionary": arrays["dictionary"][:100].copy()}).take([0])
    damaged = arrays["data"].copy()
    damaged[arrays["blocks"][3] : arrays["blocks"][4]] ^= 0x5A
    with pytest.raises(ValueError, match="block 3"):
        texts_of({**arrays, "data": damaged}).take([3 * texts_module.BLOCK_ROWS])


def write_dumps(folder: Path, papers: dict[str, list[tuple[str, str]]]) -> list[Path]:
    """Pair-layout dumps (title line, abstract line), settled (old mtimes) so their hashes are remembered."""
    folder.mkdir(exist_ok=True)
    paths = []
    for name, rows in papers.items():
        path = folder / name
        path.write_text("".join(f"{title}\n{abstract}\n\n" for title, abstract in rows), encoding="utf-8")
        os.utime(path, (time.time() - 60, time.time() - 60))
        paths.append(path)
    return paths


def words(rng: random.Random, n: int) -> str:
    vocabulary = ["model", "data", "learning", "graph", "vision", "robust", "sparse", "token", "reason", "agent"]
    return " ".join(f"{rng.choice(vocabulary)}{rng.randrange(1000)}" for _ in range(n))


def corpus(rng: random.Random, files: int, per_file: int) -> dict[str, list[tuple[str, str]]]:
    return {
        f"dump{f}.txt": [
            (f"Paper {f} {i} On {words(rng, 4).title()}", f"We study {words(rng, 60)}.") for i in range(per_file)
        ]
        for f in range(files)
    }


@pytest.mark.parametrize("lazy_above", [0, texts_module.LAZY_ABOVE])
def test_reopen_reads_abstracts_only_for_the_rows_used_and_df_has_them_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lazy_above: int
) -> None:
    """A large library's abstracts stay compressed in memory (as if this one were large: ``lazy_above`` 0);
    a small library's are decompressed as it opens."""
    monkeypatch.setattr(texts_module, "LAZY_ABOVE", lazy_above)
    paths = write_dumps(tmp_path / "dumps", corpus(random.Random(1), 3, 40))
    first = paper_widgets.load(*paths, store=tmp_path / "store")
    again = paper_widgets.load(*paths, store=tmp_path / "store")
    for lib in (first, again):
        assert isinstance(lib._papers["abstract"].array, CompressedTexts) == (lazy_above == 0)
    pd.testing.assert_frame_equal(again.df, first.df)
    assert again.df["abstract"].dtype == "str"  # lib.df: ordinary pandas columns
    key = first.df["key"].iloc[17]
    assert again[key]["abstract"] == first.df.set_index("key").loc[key, "abstract"]
    found = again.search(first.df["title"].iloc[5])
    assert found["abstract"].iloc[0] == first.df["abstract"].iloc[5]
    assert found["abstract"].dtype == "str"


def test_the_store_holds_each_abstract_once_compressed(tmp_path: Path) -> None:
    papers = corpus(random.Random(2), 4, 150)
    paths = write_dumps(tmp_path / "dumps", papers)
    raw = sum(len(abstract.encode()) for rows in papers.values() for _, abstract in rows)
    lib = paper_widgets.load(*paths, store=tmp_path / "store")
    assert len(lib) == 600
    store = Store(tmp_path / "store")
    try:
        rows = store._read(lambda conn: conn.execute("SELECT name, hash, size FROM cache").fetchall())
        sizes = {name: size for name, _, size in rows}
        hashes = {name: digest for name, digest, _ in rows}
        # the library's abstracts compressed (~30 % here); the record caches without them (they held
        # every abstract again, compressed, beside the library's uncompressed copy)
        assert sum(size for name, size in sizes.items() if name.endswith("|texts:abstract")) < 0.4 * raw
        assert sum(size for name, size in sizes.items() if name.startswith("records:")) < 0.2 * raw
        for path in paths:
            name = f"records:{os.path.realpath(path)}"
            cached = store.cache_get_frame(name, hashes[name])
            assert cached is not None
            records = cached[0]
            assert records["abstract"].isna().all()  # every row holds its own record's abstract
            assert (records["row"] >= 0).all()
    finally:
        store.close()


@pytest.mark.parametrize("lazy_above", [0, texts_module.LAZY_ABOVE])
def test_one_changed_file_reloads_like_a_fresh_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lazy_above: int
) -> None:
    """Papers in two files, the longer abstract in either: after one file changes the library is the
    same as one loaded from scratch, and only the changed file was read again."""
    import paper_widgets.data.readers.pool as pool_module  # where files are parsed (in this process when small)

    monkeypatch.setattr(texts_module, "LAZY_ABOVE", lazy_above)

    rng = random.Random(3)
    papers = corpus(rng, 3, 30)
    for i in range(10):  # dump1 lists ten papers of dump0 again: half with a longer abstract, half shorter
        title, abstract = papers["dump0.txt"][i]
        papers["dump1.txt"].append((title, abstract + " And more." if i % 2 else abstract[: len(abstract) // 2]))
    paths = write_dumps(tmp_path / "dumps", papers)
    first = paper_widgets.load(*paths, store=tmp_path / "store")
    assert len(first) == 90
    key = first.df.set_index("title").loc[papers["dump0.txt"][3][0], "key"]
    first.set_note(key, "kept")
    first.tag(key, "mine")

    read: list[str] = []
    real_read_path = read_path

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        read.append(Path(path).name)
        return real_read_path(path, *args, **kwargs)

    monkeypatch.setattr(pool_module, "read_path", counting)
    papers["dump2.txt"] = [*papers["dump2.txt"][5:], ("A Paper Added Later", "We add " + words(rng, 30) + ".")]
    write_dumps(tmp_path / "dumps", {"dump2.txt": papers["dump2.txt"]})
    updated = paper_widgets.load(*paths, store=tmp_path / "store")
    assert read == ["dump2.txt"]
    monkeypatch.setattr(pool_module, "read_path", real_read_path)
    fresh = paper_widgets.load(*paths, store=tmp_path / "fresh")
    columns = [c for c in fresh.df.columns if c not in ("key", "note", "tags", "status")]
    by_title = ["title", "abstract"]
    pd.testing.assert_frame_equal(
        updated.df[columns].sort_values(by_title).reset_index(drop=True),
        fresh.df[columns].sort_values(by_title).reset_index(drop=True),
    )
    assert updated.note(key) == "kept" and updated.tags(key) == ["mine"]
    longer = papers["dump1.txt"][-9][1]  # paper 1 of dump0, longer in dump1
    assert longer in set(updated.df["abstract"])

    # and again after the other file changes: dump0's cached records still find their abstracts
    read.clear()
    monkeypatch.setattr(pool_module, "read_path", counting)
    papers["dump1.txt"] = papers["dump1.txt"][:-1]
    write_dumps(tmp_path / "dumps", {"dump1.txt": papers["dump1.txt"]})
    again = paper_widgets.load(*paths, store=tmp_path / "store")
    assert read == ["dump1.txt"]
    monkeypatch.setattr(pool_module, "read_path", real_read_path)
    fresh = paper_widgets.load(*paths, store=tmp_path / "fresh2")
    pd.testing.assert_frame_equal(
        again.df[columns].sort_values(by_title).reset_index(drop=True),
        fresh.df[columns].sort_values(by_title).reset_index(drop=True),
    )


def test_a_damaged_abstracts_file_is_a_miss_and_the_files_are_read_again(tmp_path: Path) -> None:
    paths = write_dumps(tmp_path / "dumps", corpus(random.Random(4), 2, 50))
    expected = paper_widgets.load(*paths, store=tmp_path / "store").df
    with Store(tmp_path / "store") as store:
        files = store._read(lambda conn: conn.execute("SELECT name, file FROM cache").fetchall())
    texts = [file for name, file in files if name.endswith("|texts:abstract")]
    assert len(texts) == 1
    target = tmp_path / "store" / "cache" / texts[0]
    size = target.stat().st_size
    target.unlink()  # cache files are replaced, never rewritten in place: a library reading it keeps its copy
    target.write_bytes(b"\0" * size)  # same size, nothing readable
    again = paper_widgets.load(*paths, store=tmp_path / "store")
    pd.testing.assert_frame_equal(again.df, expected)


def test_without_a_library_cache_the_record_caches_keep_every_abstract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A file that cannot be hashed (a FIFO) means no library cache: the other files' record caches
    then hold their own abstracts, and the next load reads them from there."""
    import paper_widgets.data.readers.pool as pool_module  # where files are parsed (in this process when small)

    paths = write_dumps(tmp_path / "dumps", corpus(random.Random(6), 2, 20))
    fifo = tmp_path / "dumps" / "pipe.txt"
    os.mkfifo(fifo)
    with pytest.warns(paper_widgets.PaperWidgetsWarning, match="pipe.txt"):
        first = paper_widgets.load(*paths, fifo, store=tmp_path / "store")
    assert len(first) == 40
    read: list[str] = []

    def counting(path: Path, *args: Any, **kwargs: Any) -> Any:
        read.append(Path(path).name)
        return read_path(path, *args, **kwargs)

    monkeypatch.setattr(pool_module, "read_path", counting)
    with pytest.warns(paper_widgets.PaperWidgetsWarning, match="pipe.txt"):
        again = paper_widgets.load(*paths, fifo, store=tmp_path / "store")
    assert read == []  # the dumps came from their record caches (the FIFO is refused unread)
    pd.testing.assert_frame_equal(again.df, first.df)


def test_a_large_library_shows_a_paper_its_summary_and_citations_without_decompressing_every_abstract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(texts_module, "LAZY_ABOVE", 0)  # as if large: abstracts stay compressed
    paths = write_dumps(tmp_path / "dumps", corpus(random.Random(7), 2, 30))
    paper_widgets.load(*paths, store=tmp_path / "store")
    lib = paper_widgets.load(*paths, store=tmp_path / "store")
    key = lib._papers["key"].iloc[7]
    lib.set_note(key, "worth citing")
    lib.search("study")  # building the search index reads every abstract, once

    def everything(self: CompressedTexts) -> object:
        raise AssertionError("every abstract decompressed")

    monkeypatch.setattr(CompressedTexts, "materialised", everything)
    assert "60 papers" in lib._repr_html_() and "1 with notes" in lib._repr_html_()
    assert lib[key]["note"] == "worth citing" and lib[key]["abstract"].startswith("We study")
    assert "@" in lib.to_bibtex([key]) and lib.cite(key)
    assert len(lib.search("study", limit=5)) == 5


def test_adding_files_to_a_compressed_library(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts_module, "LAZY_ABOVE", 0)  # as if large: abstracts stay compressed
    papers = corpus(random.Random(8), 3, 25)
    paths = write_dumps(tmp_path / "dumps", papers)
    paper_widgets.load(*paths[:2], store=tmp_path / "store")
    lib = paper_widgets.load(*paths[:2], store=tmp_path / "store")
    assert isinstance(lib._papers["abstract"].array, CompressedTexts)
    assert len(lib.search("study")) > 0  # an index to extend
    lib.add(paths[2])
    expected = {abstract for rows in papers.values() for _, abstract in rows}
    assert len(lib) == 75 and set(lib.df["abstract"]) == expected
    title, abstract = papers["dump2.txt"][4]
    found = lib.search(title, limit=1)
    assert found["title"].iloc[0] == title and found["abstract"].iloc[0] == abstract


def test_a_browser_opens_on_a_large_library_without_decompressing_every_abstract(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paper_widgets import PaperBrowser

    monkeypatch.setattr(texts_module, "LAZY_ABOVE", 0)  # as if large: abstracts stay compressed
    paths = write_dumps(tmp_path / "dumps", corpus(random.Random(9), 2, 30))
    cards = "".join(f"Dated Paper {y}\n\nWe study {y}.\n\n• 2 authors\n·\nJun 11, {y}\n\n" for y in (2019, 2024, 2021))
    (tmp_path / "dumps" / "cards.txt").write_text(cards, encoding="utf-8")
    paths.append(tmp_path / "dumps" / "cards.txt")
    paper_widgets.load(*paths, store=tmp_path / "store")
    lib = paper_widgets.load(*paths, store=tmp_path / "store")
    assert lib.years == (2019, 2024)
    lib.search("study")  # building the search index reads every abstract, once

    def everything(self: CompressedTexts) -> object:
        raise AssertionError("every abstract decompressed")

    monkeypatch.setattr(CompressedTexts, "materialised", everything)
    browser = PaperBrowser(lib, page_size=5)
    assert browser.year == lib.years and len(browser.results) == 5
    assert browser.results["abstract"].str.len().min() > 0
