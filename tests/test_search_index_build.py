"""Building the search index: in chunks, in blocks of words and in worker processes, byte for byte the same index."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from unittest.mock import patch

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from test_search_tokens import TEXTS, reference

import paper_widgets.search.index as index_module
import paper_widgets.search.tokens as tokens_module
from paper_widgets.search.engine import search_rows
from paper_widgets.search.index import IndexBuild, SearchIndex
from paper_widgets.search.tokens import chunk_postings

ROOT = Path(__file__).resolve().parent.parent
WORDS = ["Multi-Task", "model", "merging", "Café", "naïve", "x2", "AdaMerging", "of", "the", "GPT-4o", "ﬁne", "a"]


def frame(rows: int, seed: int) -> pd.DataFrame:
    """Titles and abstracts drawn from a small vocabulary plus a word of each row's own (new words in every chunk)."""
    rng = np.random.default_rng(seed)
    pick = [" ".join(rng.choice(WORDS, size=int(rng.integers(0, 12))).tolist()) for _ in range(2 * rows)]
    own = [f"w{seed}x{i}" for i in range(rows)]
    return pd.DataFrame(
        {
            "title": [f"{t} {w}" for t, w in zip(pick[:rows], own, strict=True)],
            "abstract": [None if i % 97 == 5 else t for i, t in enumerate(pick[rows:])],
        }
    )


def arrays_of(index: SearchIndex) -> dict[str, tuple[str, bytes]]:
    return {name: (str(a.dtype), np.ascontiguousarray(a).tobytes()) for name, a in index.to_arrays().items()}


@pytest.mark.parametrize("workers", [1, 2])
def test_worker_processes_build_the_index_serial_tokenising_builds(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    monkeypatch.setattr(index_module, "_CHUNK", 300)  # 10 chunks a field: words are first seen in many of them
    first, more = frame(3000, 1), frame(700, 2)
    serial, parallel = SearchIndex(), SearchIndex()
    serial.extend(first, workers=0)
    done: list[int] = []
    parallel.extend(first, progress=done.append, workers=workers)
    assert arrays_of(parallel) == arrays_of(serial)
    chunks = len(range(0, 3000, 300 * index_module._TITLE_CHUNKS)) + 10  # titles take larger chunks
    assert sum(done) == 2 * len(first) and len(done) == chunks, "each chunk of each field is reported once"
    serial.extend(more, workers=0)  # onto an index that knows most words: their ids come from the vocabulary
    parallel.extend(more, workers=workers)
    assert arrays_of(parallel) == arrays_of(serial)
    assert parallel.word_id("w2x699") is not None and len(parallel) == 3700


@given(st.lists(TEXTS.map(" ".join), min_size=1, max_size=25), st.integers(1, 6), st.sampled_from([1, 5, 1 << 22]))
@settings(max_examples=60, deadline=None)
def test_chunks_merged_a_block_of_words_at_a_time_give_the_index_built_in_one_go(
    texts: list[str], chunk: int, block: int
) -> None:
    texts = [t.replace("\ud800", "") for t in texts]  # a frame's strings are UTF-8: no lone surrogates
    df = pd.DataFrame({"title": texts, "abstract": texts[::-1]})
    whole = SearchIndex()
    whole.extend(df, workers=0)
    with patch.object(index_module, "_CHUNK", chunk), patch.object(index_module, "_MERGE_BLOCK", block):
        pieces = SearchIndex()
        pieces.extend(df, workers=0)
    assert arrays_of(pieces) == arrays_of(whole)


@given(TEXTS)
@settings(max_examples=60, deadline=None)
def test_chunk_postings_list_each_word_of_each_text_with_its_count(texts: list[str]) -> None:
    found = chunk_postings(texts)
    want: dict[tuple[str, int], int] = {}
    for word, row in reference(texts):
        want[word, row] = want.get((word, row), 0) + 1
    got = {
        (word, int(row)): int(tf)
        for i, word in enumerate(found.words)
        for row, tf in zip(
            found.rows[found.ptr[i] : found.ptr[i + 1]], found.tf[found.ptr[i] : found.ptr[i + 1]], strict=True
        )
    }
    assert got == want and found.words == list(dict.fromkeys(word for word, _ in reference(texts)))
    assert all(
        np.all(np.diff(found.rows[a:z].astype(np.int64)) > 0)
        for a, z in zip(found.ptr[:-1], found.ptr[1:], strict=True)
    )
    assert found.lengths.tolist() == [sum(row == i for _, row in reference(texts)) for i in range(len(texts))]


def test_a_script_without_a_main_guard_builds_in_workers_and_runs_once(tmp_path: Path) -> None:
    """Workers never import the caller's ``__main__`` (multiprocessing's spawn would run this script again)."""
    script = tmp_path / "script.py"
    script.write_text(
        textwrap.dedent(
            """
            import pandas as pd
            from paper_widgets.search.index import SearchIndex

            df = pd.DataFrame({"title": [f"Model merging {i}" for i in range(400)], "abstract": ["Multi-Task"] * 400})
            index = SearchIndex()
            index.extend(df, workers=2)
            print("built", len(index), index.word_id("multitask") is not None)
            """
        )
    )
    out = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PYTHONPATH": str(ROOT)},
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split("\n") == ["built 400 True", ""]


def test_words_with_equal_keys_are_told_apart_and_the_word_table_takes_over_mid_build(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Keys cut to 10 bits make many words share one: the index still numbers every word apart."""
    base, more = frame(2000, 3), frame(200, 4)
    more["title"] = ["Model merging brandnew"] * 20 + more["title"].iloc[20:].tolist()  # a first chunk of 3 words
    want = SearchIndex()
    for df in (base, more):
        want.extend(df, workers=0)
    real_keys = tokens_module.word_keys

    def few_keys(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
        keys: np.ndarray = real_keys(data, starts, lengths) & np.uint64(1023)
        return keys

    monkeypatch.setattr(tokens_module, "word_keys", few_keys)
    monkeypatch.setattr(index_module, "word_keys", few_keys)
    monkeypatch.setattr(index_module, "_CHUNK", 20)  # the 3 words are looked up by bisection, the rest in a table
    got = SearchIndex()
    for df in (base, more):
        got.extend(df, workers=0)
    assert arrays_of(got) == arrays_of(want)
    assert got.word_id("brandnew") == want.word_id("brandnew") is not None


@pytest.mark.parametrize("workers", [0, 1])
def test_an_index_built_titles_first_is_byte_for_byte_the_one_extend_builds(
    monkeypatch: pytest.MonkeyPatch, workers: int
) -> None:
    """The titles are indexed first (a search meanwhile ranks by titles alone), the abstracts on a thread."""
    monkeypatch.setattr(index_module, "_CHUNK", 300)  # words first seen in many chunks, of both fields
    first, more = frame(2000, 3), frame(700, 4)
    more.loc[5, "abstract"] = "zzonlyabstract Multi-Task"  # a word of the abstracts alone
    whole = SearchIndex()
    whole.extend(first, workers=0)
    base = SearchIndex()
    base.extend(first, workers=0)
    before = arrays_of(base)
    whole.extend(more, workers=0)
    done: list[int] = []
    build = IndexBuild.titles_first(base, more, progress=done.append, workers=workers)
    titled = build.titled
    assert titled is not None and not titled.complete and len(titled) == 2700
    assert sum(done) == len(more), "the titles' rows are reported; the abstracts' are counted in rows_done"
    # the titles are searchable, every row's: the new rows' abstracts are not yet
    assert search_rows(pd.concat([first, more], ignore_index=True), "w4x699", 5, index=titled)[0].tolist() == [2699]
    assert titled.word_id("w4x699") is not None and titled.word_id("zzonlyabstract") is None
    assert titled.postings("abstract", titled.word_id("model") or 0)[0].max() < 2000
    with pytest.raises(ValueError, match="not saved"):
        titled.to_arrays()
    build.finish_in_background(workers=workers)
    complete = build.result()
    assert build.done() and build.rows_done == 2 * len(more)
    assert complete.complete and arrays_of(complete) == arrays_of(whole)
    assert arrays_of(base) == before, "the index extended is left as it was"
    assert titled.word_id("zzonlyabstract") is None and not titled.complete, "and so is the titled one"


def test_a_titled_index_synced_is_rebuilt_whole() -> None:
    df = frame(500, 5)
    titled = IndexBuild.titles_first(SearchIndex(), df, workers=0).titled
    assert titled is not None
    titled.sync(df)
    assert titled.complete and arrays_of(titled) == arrays_of(SearchIndex(df))


def test_a_failing_abstract_build_raises_in_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    build = IndexBuild.titles_first(SearchIndex(), frame(50, 6), workers=0)

    def broken(*_: object) -> None:
        raise MemoryError("no room")

    monkeypatch.setattr(IndexBuild, "encode", broken)
    build.finish_in_background(workers=0)
    with pytest.raises(MemoryError, match="no room"):
        build.result()


@given(st.lists(st.text(st.characters(blacklist_categories=("Cc", "Zs")), min_size=1, max_size=40), max_size=30))
@settings(max_examples=60, deadline=None)
def test_the_vocabularys_trigrams_are_each_words_own(words: list[str]) -> None:
    """Built for many words at once (a slice of three at a time here), as the query side makes them for one."""
    with patch.object(index_module, "_TRIGRAM_WORDS", 3):
        keys, owners = index_module._trigrams(words)
    for i, word in enumerate(words):
        mine = keys[owners == i]
        assert len(mine) == min(len(word), index_module._TRI_WIDTH), "one a character of the first 32"
        assert np.unique(mine).tolist() == index_module._word_trigrams(word).tolist()


@given(st.lists(st.text(st.characters(blacklist_categories=("Cc", "Zs")), min_size=1, max_size=12), max_size=40))
@settings(max_examples=80, deadline=None)
def test_trigrams_sorted_packed_are_sorted_by_key_then_word(words: list[str]) -> None:
    """Packed with the code points in as few bits as they need (or as they are, when too wide), as a stable sort."""
    keys, owners = index_module._trigrams(words)
    order = np.argsort(keys, kind="stable")
    got_keys, got_owners = index_module._by_key(keys, owners)
    assert got_keys.tolist() == keys[order].tolist() and got_owners.tolist() == owners[order].tolist()
    assert got_owners.dtype == owners.dtype


@given(st.lists(st.text(st.sampled_from("ab :-É1 ")), max_size=20))
@settings(max_examples=80, deadline=None)
def test_a_titles_short_name_is_its_folded_head_before_the_first_colon(titles: list[str]) -> None:
    from paper_widgets.data.text import fold

    def reference(title: str) -> int:
        if ":" not in title:
            return 0
        head = fold(title.split(":", 1)[0])
        return len(head.encode()) if head.count(" ") < index_module._NAME_WORDS else 0

    got = index_module._name_lengths(pd.Series(titles, dtype="str")).tolist()
    assert got == [reference(title) for title in titles]


@given(
    st.lists(TEXTS.map(" ".join), min_size=1, max_size=30),
    st.lists(st.sampled_from([*WORDS, "brandnew", "日本", "é"]), max_size=8),
    st.integers(1, 8),
)
@settings(max_examples=60, deadline=None)
def test_chunks_numbered_all_at_once_get_the_numbers_of_one_chunk_after_another(
    texts: list[str], vocabulary: list[str], size: int
) -> None:
    """Arrow's hash over the vocabulary and every chunk's words numbers them as the chunk-by-chunk table does,
    and numbering goes on from there (a table or lookups) as it would have."""
    texts = [t.replace("\ud800", "") for t in texts]
    chunks = [chunk_postings(texts[lo : lo + size]) for lo in range(0, len(texts), size)]
    last = chunk_postings(["brandnew Multi-Task zzlast", *texts[:2]])  # numbered after them, one at a time
    vocab = index_module._Vocabulary()
    vocab.add(list(dict.fromkeys(w.lower() for w in vocabulary)))
    one_by_one, at_once = index_module._WordNumbers(vocab), index_module._WordNumbers(vocab)
    want = [one_by_one.ids(found).tolist() for found in chunks]
    with patch.object(index_module, "_BISECT_COST", 1 << 40):  # any batch counts as large
        got = [ids.tolist() for ids in at_once.ids_each(chunks)]
    assert got == want and at_once.new == one_by_one.new
    assert at_once.ids(last).tolist() == one_by_one.ids(last).tolist() and at_once.new == one_by_one.new
    assert at_once.find(["zzlast", "nosuchword"]).tolist() == one_by_one.find(["zzlast", "nosuchword"]).tolist()


@pytest.mark.parametrize(
    "alphabet", ["ab", "abcdefghijklmnopqrstuvwxyz0123456789", "αβγδεζηθικλμνξοπρστυφχψωabcdefghij" * 3]
)
def test_trigrams_of_few_and_many_characters_are_sorted_by_key_then_word(alphabet: str) -> None:
    """One 16-bit pass (few characters), two (up to ~1,600), as the stable sort of the keys."""
    rng = np.random.default_rng(len(alphabet))
    letters = sorted(set(alphabet)) + [chr(0x4E00 + i) for i in range(2000 if len(alphabet) > 40 else 0)]
    words = ["".join(rng.choice(letters, size=int(rng.integers(1, 12)))) for _ in range(3000)]
    keys, owners = index_module._trigrams(words)
    order = np.argsort(keys, kind="stable")
    got_keys, got_owners = index_module._by_key(keys, owners)
    assert got_keys.tolist() == keys[order].tolist() and got_owners.tolist() == owners[order].tolist()
