"""Search index on disk: memory-mapped reopen gives the same results, extends, and a damaged file is a miss."""

from __future__ import annotations

import json
import mmap
from contextlib import closing
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import paper_widgets
import paper_widgets.library as library
import paper_widgets.search.index as index_module
from paper_widgets.data.merge import fold_titles
from paper_widgets.search.engine import SearchIndex, search
from paper_widgets.search.tokens import WordBytes, chunk_postings
from paper_widgets.store import Store

QUERIES = ("merging", "gradent surgery", "multi-ta", "AdaMerging", "adamerg", "questions via single hop", "Café")


def mapped(array: np.ndarray) -> bool:
    """Whether ``array`` is a view of a memory-mapped file (not a copy in memory)."""
    base: object = array
    while isinstance(base, np.ndarray) and base.base is not None:
        base = base.base
    return isinstance(base.obj if isinstance(base, memoryview) else base, mmap.mmap)


def reopened(index: SearchIndex, home: Path) -> SearchIndex:
    """``index`` written to a store's cache and read back, as a fresh process would."""
    with closing(Store(home)) as store:
        assert store.cache_put_arrays("index", "h", index.to_arrays())
    with closing(Store(home)) as store:
        arrays = store.cache_get_arrays("index", "h")
    assert arrays is not None
    return SearchIndex.from_arrays(arrays)


def assert_same_index(got: SearchIndex, want: SearchIndex) -> None:
    """Same words, postings, titles and trigrams (word ids may be numbered differently)."""
    words = [want.word(i) for i in range(want.vocab_size)]
    assert sorted(got.word(i) for i in range(got.vocab_size)) == sorted(words)
    ids = np.array([got.word_id(w) for w in words])
    for name in ("title", "abstract"):
        assert np.array_equal(got.fields[name].df[ids], want.fields[name].df)
        assert np.array_equal(got.fields[name].lengths, want.fields[name].lengths)
        for wid, gid in zip(range(want.vocab_size), ids.tolist(), strict=True):
            for g, w in zip(got.postings(name, gid), want.postings(name, wid), strict=True):
                assert np.array_equal(g, w), (name, words[wid])
    rows = range(len(want))
    assert got.titles(rows) == want.titles(rows) and got.short_names(rows) == want.short_names(rows)
    for word in ("merging", "gradent", "surgry", "adamergng"):
        assert [(got.word(i), e) for i, e in got.near_words(word, 8)] == [
            (want.word(i), e) for i, e in want.near_words(word, 8)
        ]


@pytest.fixture
def df(lib: paper_widgets.Library) -> pd.DataFrame:
    return lib.df


def test_reopened_index_is_memory_mapped_and_answers_like_the_built_one(df: pd.DataFrame, tmp_path: Path) -> None:
    built = SearchIndex(df.iloc[:100])
    built.sync(df)  # two segments: every part of the index goes through the file
    again = reopened(built, tmp_path / "store")
    arrays = again.to_arrays()
    copied = [name for name, a in arrays.items() if a.size and not mapped(a) and not name.endswith(".sizes")]
    assert not copied, "read in place from the mapped file, not copied"
    assert not again.hashes.flags.writeable
    # words per row in a byte or two as the longest needs; the norms as before
    for name, field in built.fields.items():
        assert arrays[f"{name}.lengths"].dtype == (np.uint8 if field.lengths.max() < 256 else np.uint16)
    assert arrays["title.lengths"].dtype == np.uint8
    for name, field in again.fields.items():
        assert np.array_equal(field.length_norms(1.2, 0.75), built.fields[name].length_norms(1.2, 0.75))
    for query in QUERIES:
        pd.testing.assert_frame_equal(search(df, query, index=again), search(df, query, index=built))
    assert_same_index(again, built)


@pytest.mark.parametrize(("added", "bisect_cost"), [(3, 0), (3, 10**9), (2005, 0), (2005, 64)])
def test_reopened_index_extends_like_a_full_build(
    df: pd.DataFrame, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, added: int, bisect_cost: int
) -> None:
    """Few new words bisect the mapped vocabulary, many decode it into a dict: both give a full build's index."""
    monkeypatch.setattr(index_module, "_BISECT_COST", bisect_cost)  # 0: always bisect, 10**9: always a dict
    more = df.sample(added, replace=True, random_state=0).reset_index(drop=True)
    suffix = pd.Series([f" Zyx{i} Naïveté{i % 7} überneu{i}" for i in range(added)])
    more["title"] = more["title"] + suffix  # new words (some non-ASCII), and known ones in new rows
    more["abstract"] = more["abstract"].fillna("") + suffix
    grown = pd.concat([df, more], ignore_index=True)
    again = reopened(SearchIndex(df), tmp_path / "store")
    again.sync(grown)
    full = SearchIndex(grown)
    assert len(again) == len(grown)
    assert_same_index(again, full)
    for query in (*QUERIES, "zyx2", "naivete3 uberneu1", "ubernue1"):
        pd.testing.assert_frame_equal(search(grown, query, index=again), search(grown, query, index=full))
    assert search(grown, "Zyx1 ", index=again)["title"].str.endswith(" Zyx1 Naïveté1 überneu1").any()


def test_damaged_index_files_are_a_miss(df: pd.DataFrame, tmp_path: Path) -> None:
    import paper_widgets.store.cache as cache_module

    arrays = SearchIndex(df).to_arrays()
    with closing(Store(tmp_path / "store")) as store:
        store.cache_put_arrays("index", "h", arrays)
        (file,) = store.cache_dir.iterdir()
        good = file.read_bytes()
        head = len(cache_module._ARRAYS_MAGIC) + 8
        size = int.from_bytes(good[len(cache_module._ARRAYS_MAGIC) : head], "little")
        contents = json.loads(good[head : head + size])
        contents[-1][2] = [10**9]  # the last array said to reach far beyond the end
        lying = json.dumps(contents, separators=(",", ":")).encode()
        assert len(lying) <= size, "the edit fits in the same table of contents"
        lying = lying.ljust(size)  # JSON allows the trailing spaces
        damaged = {
            "truncated": good[: len(good) // 2],
            "garbage": b"\x00garbage".ljust(len(good), b"\x00"),
            "beyond the end": good[:head] + lying + good[head + size :],
            "empty": b"",
        }
        for what, data in damaged.items():
            file.write_bytes(data)
            with closing(Store(tmp_path / "store")) as other:  # a fresh reader: the size recorded is the good file's
                import sqlite3

                with sqlite3.connect(other.path) as conn:
                    conn.execute("UPDATE cache SET size = ?", (len(data),))
                assert other.cache_get_arrays("index", "h") is None, what
        file.unlink()
        assert store.cache_get_arrays("index", "h") is None


def test_arrays_of_another_index_shape_are_refused(df: pd.DataFrame) -> None:
    arrays = SearchIndex(df).to_arrays()
    for name in ("word_order", "tri_ptr", "tri_words", "titles"):
        with pytest.raises(ValueError, match="vocabulary, titles or trigrams"):
            SearchIndex.from_arrays({**arrays, name: arrays[name][:-1]})
    with pytest.raises(ValueError, match="row counts"):
        SearchIndex.from_arrays({**arrays, "hashes": arrays["hashes"][:-1]})
    with pytest.raises(KeyError):
        SearchIndex.from_arrays({k: v for k, v in arrays.items() if k != "tri_len"})
    # the layout of stores written before (a nibble of frequency a posting, "<field>.<i>.tf"): a miss, rebuilt
    before = {k: v for k, v in arrays.items() if ".tf_" not in k}
    before |= {
        k.removesuffix("_above_one"): np.zeros((len(v) * 8 + 1) // 2, np.uint8)
        for k, v in arrays.items()
        if k.endswith(".tf_above_one")
    }
    with pytest.raises(KeyError):
        SearchIndex.from_arrays(before)
    assert library._index_from(before) is None and library._index_from(arrays) is not None


def test_library_reopens_its_index_from_the_mapped_cache(
    paper_widgets_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from conftest import CARD_SEED, PAIR_SEED

    monkeypatch.setattr(library, "INDEX_CACHE_MIN_PAPERS", 1)
    first = paper_widgets.load(CARD_SEED, PAIR_SEED)
    want = {q: first.search(q) for q in QUERIES}
    hashed: list[int] = []

    def counted(df: pd.DataFrame) -> np.ndarray:
        hashed.append(len(df))
        return index_module.row_hashes(df)

    monkeypatch.setattr(library, "row_hashes", counted)
    again = paper_widgets.load(CARD_SEED, PAIR_SEED)
    for query, found in want.items():
        pd.testing.assert_frame_equal(again.search(query), found)
    assert mapped(again._index().fields["abstract"].segments[0].data), "the cached index, not a rebuild"
    assert hashed == [], "unchanged inputs name their index: no row of text is hashed to find it"


WORDS = st.text(st.characters(blacklist_categories=("Cc", "Zs", "Zl", "Zp")), min_size=1, max_size=6)


@given(st.lists(st.lists(WORDS, max_size=40, unique=True), min_size=1, max_size=4))
@settings(max_examples=60, deadline=None)
def test_vocabulary_finds_and_completes_like_a_sorted_list(batches: list[list[str]]) -> None:
    vocab = index_module._Vocabulary()
    seen: list[str] = []
    for batch in batches:
        new = [w for w in batch if w not in seen]
        vocab.add(new)
        seen += new
    assert vocab.words() == seen
    for probe in {*seen, *(w[:1] for w in seen), *(w + "a" for w in seen[:5]), "", "zz"}:
        assert vocab.find(probe) == (seen.index(probe) if probe in seen else None)
        want = sorted(w for w in seen if w.startswith(probe) and w != probe)
        assert [vocab.word(i) for i in vocab.extensions(probe).tolist()] == want
        assert vocab.words_of(vocab.extensions(probe)) == want


@given(st.lists(st.lists(st.integers(0, 300_000), max_size=30, unique=True), min_size=1, max_size=8), st.data())
@settings(max_examples=80, deadline=None)
def test_compact_postings_give_back_every_row_and_frequency(words: list[list[int]], data: st.DataObject) -> None:
    rows = np.concatenate([np.sort(np.array(w, np.int64)) for w in words]).astype(np.int32)
    tf = np.array(data.draw(st.lists(st.integers(1, 300), min_size=len(rows), max_size=len(rows))), np.int64)
    if data.draw(st.booleans()):  # words whose frequencies are all 1 store none
        tf[: len(rows) // 2] = 1
    ptr = np.cumsum([0, *map(len, words)])
    seg = index_module._Segment.encode(ptr, rows, tf)
    for w in range(len(words)):
        got_rows, got_tf = seg.postings(w)
        assert got_rows.dtype == np.int32 and got_tf.dtype == np.uint8
        assert got_rows.tolist() == sorted(words[w])
        assert got_tf.tolist() == np.minimum(tf[ptr[w] : ptr[w + 1]], 15).tolist()
    # gaps below 300,000 take 5 nibbles at most, 6 in a short list (whole bytes); a byte of padding at most per width
    assert seg.data.nbytes <= 3 * len(rows) + 8
    # a bit a posting, a nibble a frequency above 1, a count of those before every 512 postings
    above = int((tf > 1).sum())
    assert [a.nbytes for a in seg.tf.arrays()] == [(len(rows) + 7) // 8, 4 * (len(rows) // 512 + 1), (above + 1) // 2]
    assert seg.check(len(words)) and not seg.check(len(words) - 1)
    with patch.object(index_module, "_MERGE_BLOCK", 3):  # encoded a few words at a time: the same postings
        blocks = index_module._Segment.encode(ptr, rows, tf)
    for w in range(len(words)):
        assert all(map(np.array_equal, blocks.postings(w), seg.postings(w)))
    every = seg.decode_words(0, len(words))
    assert every[0].tolist() == rows.tolist() and every[1].tolist() == np.minimum(tf, 15).tolist()
    assert all(map(np.array_equal, blocks.decode_words(0, len(words)), every))


@given(st.lists(st.lists(st.integers(0, 2_000), max_size=60, unique=True), min_size=1, max_size=6), st.data())
@settings(max_examples=60, deadline=None)
def test_merged_segments_are_the_segment_of_all_their_postings(words: list[list[int]], data: st.DataObject) -> None:
    """Segments of consecutive row ranges merge into exactly the arrays one encoding of every posting gives."""
    cuts = sorted(data.draw(st.lists(st.integers(0, 2_000), max_size=3)))
    ranges = list(zip([0, *cuts], [*cuts, 2_001], strict=True))
    tf = {(w, r): data.draw(st.integers(1, 20)) for w, rs in enumerate(words) for r in rs}

    def encode(lo: int, hi: int, vocab: int) -> index_module._Segment:
        held = [sorted(r for r in rs if lo <= r < hi) for rs in words[:vocab]]
        ptr = np.cumsum([0, *map(len, held)])
        rows = np.array([r for rs in held for r in rs], np.int32)
        freqs = np.array([tf[w, r] for w, rs in enumerate(held) for r in rs], np.int64)
        return index_module._Segment.encode(ptr, rows, freqs)

    def vocab(lo: int, hi: int) -> int:  # a part built before later words existed has a shorter vocabulary
        used = [w + 1 for w, rs in enumerate(words) if any(lo <= r < hi for r in rs)]
        return data.draw(st.integers(max(used, default=0), len(words)))

    parts = [encode(lo, hi, vocab(lo, hi)) for lo, hi in ranges]
    with patch.object(index_module, "_MERGE_BLOCK", data.draw(st.sampled_from([2, 7, 1 << 22]))):
        merged = index_module._merge(parts, len(words))
        full = encode(0, 2_001, len(words))
    assert all(map(np.array_equal, merged.arrays(), full.arrays()))


@given(
    st.lists(st.lists(st.integers(0, 30), max_size=25), min_size=1, max_size=40),
    st.integers(1, 9),
    st.sampled_from([1, 5, 1 << 22]),
)
@settings(max_examples=60, deadline=None)
def test_merged_chunks_are_every_posting_and_are_let_go(texts: list[list[int]], size: int, block: int) -> None:
    """Chunks of rows, cut into pieces a block of words each and merged, give every word's rows and
    (clipped) frequencies, and the merge takes the chunks out of the list it is given."""
    docs = [" ".join(f"w{n}" for n in words) for words in texts]
    vocab: dict[str, int] = {}
    chunks = []
    for lo in range(0, len(docs), size):
        found = chunk_postings(docs[lo : lo + size])
        ids = np.array([vocab.setdefault(w, len(vocab)) for w in found.words], np.int64)
        chunks.append(index_module._Chunk.of(found, ids, lo))
    parts: list[index_module._Chunk] = list(chunks)
    del chunks
    with patch.object(index_module, "_MERGE_BLOCK", block):
        merged = index_module._merge(parts, len(vocab))
    assert parts == []
    for word, word_id in vocab.items():
        rows, tf = merged.postings(word_id)
        want = [(r, min(doc.split().count(word), 15)) for r, doc in enumerate(docs) if word in doc.split()]
        assert list(zip(rows.tolist(), tf.tolist(), strict=True)) == want


@pytest.mark.parametrize("share_above_one", [0.0, 0.12, 1.0])
def test_frequencies_come_back_from_anywhere_in_a_long_segment(share_above_one: float) -> None:
    """Words starting at every bit of a byte and in every block of the rank directory get their own frequencies."""
    rng = np.random.default_rng(17)
    counts = rng.integers(0, 40, 600)  # ~12k postings: two dozen blocks of the rank directory
    rows = np.concatenate([np.sort(rng.choice(50_000, c, replace=False)) for c in counts]).astype(np.int32)
    tf = np.where(rng.random(len(rows)) < share_above_one, rng.integers(2, 40, len(rows)), 1)
    ptr = np.cumsum([0, *counts])
    with patch.object(index_module, "_MERGE_BLOCK", 97):  # runs starting mid-byte
        seg = index_module._Segment.encode(ptr, rows, tf)
    want = np.minimum(tf, 15)
    for w in range(len(counts)):
        assert seg.postings(w)[1].tolist() == want[ptr[w] : ptr[w + 1]].tolist()
    for first in range(0, len(counts), 37):
        last = min(first + 53, len(counts))
        assert seg.decode_words(first, last)[1].tolist() == want[ptr[first] : ptr[last]].tolist()
    assert seg.check(len(counts))


def test_dense_postings_take_a_byte_and_a_half_and_long_gaps_are_kept_apart() -> None:
    rng = np.random.default_rng(0)
    dense = np.sort(rng.choice(1_000_000, 100_000, replace=False))  # gaps ~10: a byte, and a frequency nibble
    spread = np.array([0, *range(5, 1000, 5), 1 << 30])  # gaps of 5 but the last: that one is stored apart
    rare = np.array([3, 999_999, (1 << 31) - 1])  # too few for a gap stored apart to pay: 8 nibbles each
    ptr = np.cumsum([0, len(dense), len(spread), len(rare)])
    rows = np.concatenate([dense, spread, rare]).astype(np.int32)
    seg = index_module._Segment.encode(ptr, rows, np.ones(len(rows)))
    assert sum(a.nbytes for a in seg.arrays()) <= 1.55 * len(dense)
    assert seg.postings(0)[0].tolist() == dense.tolist()
    assert (seg.width & 15).tolist() == [2, 1, 8] and seg.exc.tolist() == [(1 << 30) - 995]
    assert seg.postings(1)[0].tolist() == spread.tolist() and seg.postings(2)[0].tolist() == rare.tolist()
    assert seg.postings(2)[1].tolist() == [1, 1, 1] and all(seg.width & index_module._ONCE_EACH)
    assert seg.decode_words(0, 3)[0].tolist() == rows.tolist()


def title_words(titles: list[str], words: list[str]) -> index_module._TitleWords:
    """``titles`` as a chunk whose words are ``words`` would give them (a title with another word kept apart)."""
    counts, local, apart, texts = index_module._TitleWords.folded(titles, WordBytes.of_words(words))
    name_len = index_module._name_lengths(pd.Series(titles, dtype="str"))
    return index_module._TitleWords(local, counts, np.flatnonzero(apart), texts, name_len)


@pytest.mark.parametrize("decoded", [0, 10**6])  # each call decodes its rows, or the first decodes all
def test_titles_come_back_folded_from_word_ids_or_apart(monkeypatch: pytest.MonkeyPatch, decoded: int) -> None:
    monkeypatch.setattr(index_module, "_DECODED_TITLES", decoded)
    titles = [
        "Rep-MTL: Unleashing Representation-level Task Saliency",
        "Café Müller: Naïve Überraschung",  # non-ASCII, transliterated
        "C++ & Rust: 3 ways",  # punctuation folded away
        "",
        "   ",
        "ALL CAPS:TIGHT colon",
        "Wörds of a very long short name that is not one: tail",
    ]
    df = pd.DataFrame({"title": titles, "abstract": [""] * len(titles)})
    index = SearchIndex(df)
    want = fold_titles(df["title"]).tolist()
    assert index.titles(range(len(df))) == want
    assert index.short_names(range(len(df))) == ["repmtl", "cafemuller", "crust", "", "", "allcaps", ""]
    assert index.titles([3, 0, 0]) == [want[3], want[0], want[0]]
    assert index._titles.raw_rows.tolist() == [3, 4]  # empty titles: an empty word, kept apart as nothing
    # a word of a title the vocabulary lacks (no title tokenises to it): that title is kept whole, apart
    lacking = SearchIndex(df)
    no_words = (title_words(titles, []), np.zeros(0, np.int64))
    lacking._titles = lacking._titles.empty().add([no_words], lambda w: np.full(len(w), -1), lacking.vocab_size)
    assert lacking.titles(range(len(df))) == want and len(lacking._titles.raw_rows) == len(titles)
    assert lacking.short_names(range(len(df)))[:2] == ["repmtl", "cafemuller"]
    # words its chunk lacks but the vocabulary holds: the title is kept as word ids all the same, in row order
    vocabulary = dict(zip(index._vocab.words(), range(index.vocab_size), strict=True))
    some = list(vocabulary)[::2]
    for chunk_words in ([], some):
        looked_up = SearchIndex(df)
        pieces = (title_words(titles, chunk_words), np.arange(0, index.vocab_size, 2))
        find = lambda words: np.array([vocabulary.get(w, -1) for w in words], np.int64)  # noqa: E731
        looked_up._titles = looked_up._titles.empty().add([pieces], find, looked_up.vocab_size)
        assert all(map(np.array_equal, looked_up._titles.arrays().values(), index._titles.arrays().values()))


def test_titles_survive_the_vocabulary_outgrowing_two_byte_ids() -> None:
    n = 70_000
    df = pd.DataFrame({"title": [f"Paper w{i}x: on things" for i in range(n)], "abstract": [""] * n})
    grown = SearchIndex(df.iloc[:60_000])
    assert grown._titles.id_bytes == 2
    grown.sync(df)
    assert grown._titles.id_bytes == 3 and len(grown._titles.raw_rows) == 0
    rows = [0, 59_999, 60_000, n - 1]
    assert grown.titles(rows) == [f"paper w{i}x on things" for i in rows]
    assert grown.short_names(rows) == [f"paperw{i}x" for i in rows]


def test_a_first_search_that_does_not_wait_ranks_by_titles_until_the_abstracts_are_indexed(
    paper_widgets_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``wait=False`` answers from the titles while a thread indexes the abstracts; the complete index
    then replaces it, is the one a build in one go makes, and is the one written to the cache."""
    import threading

    from conftest import CARD_SEED, PAIR_SEED

    monkeypatch.setattr(library, "INDEX_CACHE_MIN_PAPERS", 1)
    monkeypatch.setattr(library, "TITLES_FIRST_MIN_PAPERS", 1)
    lib = paper_widgets.load(CARD_SEED, PAIR_SEED)
    whole = SearchIndex(lib._papers)  # built in one go, beside the library's
    only_abstracts = np.flatnonzero((whole.fields["title"].df == 0) & (whole.fields["abstract"].df > 0))
    abstract_word = max((whole.word(i) for i in only_abstracts.tolist()), key=len)  # nothing near it in titles
    release = threading.Event()
    encode = index_module.IndexBuild.encode

    def held(build: index_module.IndexBuild, name: str, workers: object = None) -> None:
        if name == "abstract":  # the abstracts are still being indexed until the test lets them finish
            assert release.wait(60)
        encode(build, name, workers)  # type: ignore[arg-type]

    monkeypatch.setattr(index_module.IndexBuild, "encode", held)
    saved: list[str] = []
    put = Store.cache_put_arrays

    def recorded(store: Store, name: str, *args: Any) -> bool:
        saved.append(name)
        return put(store, name, *args)

    monkeypatch.setattr(Store, "cache_put_arrays", recorded)
    early = lib.search("AdaMerging", wait=False)
    assert early.attrs["indexing"].startswith("indexing abstracts") and str(lib.indexing).startswith("indexing")
    assert early["title"].str.contains("AdaMerging").iloc[0], "a title word finds its paper at once"
    assert lib.search(abstract_word, wait=False).empty, "abstracts are not searched yet"
    assert library.INDEX_CACHE not in saved, "nothing saved before it is complete"
    release.set()
    found = lib.search(abstract_word)  # waits for the complete index
    assert not found.empty and "indexing" not in found.attrs and lib.indexing is None
    assert saved.count(library.INDEX_CACHE) == 1, "saved once complete"
    assert {k: a.tobytes() for k, a in lib._index().to_arrays().items()} == {
        k: a.tobytes() for k, a in whole.to_arrays().items()
    }
    pd.testing.assert_frame_equal(lib.search("AdaMerging"), lib.search("AdaMerging", wait=False))
    again = paper_widgets.load(CARD_SEED, PAIR_SEED)
    assert mapped(again._index().fields["abstract"].segments[0].data), "the complete index was cached"
