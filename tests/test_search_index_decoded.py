"""A small library's postings held decoded: the same lists as the compressed segments give, kept right as rows are
added, and switched off above their size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_search_index_build import frame

import paper_widgets.search.index as index_module
from paper_widgets.search.engine import search_rows
from paper_widgets.search.index import SearchIndex


def compressed(index: SearchIndex, field: str, word_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The postings of ``word_id`` decoded from the field's compressed segments, one after the other."""
    parts = [s.postings(word_id) for s in index.fields[field].segments if word_id + 1 < len(s.ptr)]
    rows = np.concatenate([np.zeros(0, np.int32), *(rows for rows, _ in parts)])
    tf = np.concatenate([np.zeros(0, np.uint8), *(tf for _, tf in parts)])
    return rows, tf


def assert_postings_are_the_compressed_ones(index: SearchIndex) -> None:
    for name in index_module.FIELDS:
        for word_id in range(index.vocab_size):
            rows, tf = index.postings(name, word_id)
            expected_rows, expected_tf = compressed(index, name, word_id)
            assert rows.dtype == np.int32 and tf.dtype == np.uint8
            assert np.array_equal(rows, expected_rows), (name, index.word(word_id))
            assert np.array_equal(tf, expected_tf), (name, index.word(word_id))


def test_held_postings_are_the_compressed_ones_as_rows_are_added(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_CHUNK", 100)  # several chunks: words first seen in many of them
    parts = [frame(900, 1), frame(60, 2), frame(40, 3), frame(500, 4)]
    df = parts[0]
    index = SearchIndex(df)
    held = [f._decoded[1] for f in index.fields.values()]
    assert all(d is not None for d in held), "decoded as the index is built, not at its first query"
    assert all(f.decoded() is d for f, d in zip(index.fields.values(), held, strict=True)), "and kept"
    assert_postings_are_the_compressed_ones(index)
    segments_seen = set()
    for part in parts[1:]:
        before = index.copy()  # an index extended from this one must leave this one's postings as they were
        kept = {name: [before.postings(name, w) for w in range(before.vocab_size)] for name in index_module.FIELDS}
        df = pd.concat([df, part], ignore_index=True)
        index.sync(df)  # appended rows: a new segment, merged into its neighbour when close in size
        segments_seen.add(len(index.fields["abstract"].segments))
        assert_postings_are_the_compressed_ones(index)
        for name, lists in kept.items():
            for w, (rows, tf) in enumerate(lists):
                again = before.postings(name, w)
                assert np.array_equal(again[0], rows) and np.array_equal(again[1], tf)
    assert segments_seen >= {1, 2}, "both one segment and several were read"
    new_word = index.word_id("w4x499")
    assert new_word is not None and index.postings("title", new_word)[0].tolist() == [len(df) - 1]


def test_held_postings_are_read_only() -> None:
    index = SearchIndex(frame(200, 5))
    rows, tf = index.postings("abstract", index.word_id("model") or 0)
    assert len(rows)
    with pytest.raises(ValueError, match="read-only"):
        rows[0] = 7
    with pytest.raises(ValueError, match="read-only"):
        tf[0] = 7


def test_postings_are_not_held_above_their_size(monkeypatch: pytest.MonkeyPatch) -> None:
    df = frame(600, 6)
    index = SearchIndex(df)
    sizes = {name: sum(int(s.ptr[-1]) for s in f.segments) for name, f in index.fields.items()}
    small, large = sorted(sizes, key=sizes.__getitem__)
    assert sizes[small] < sizes[large]
    # between the two: the smaller field's postings are held, the larger's are not
    monkeypatch.setattr(index_module, "_DECODED_POSTINGS", sizes[small])
    index = SearchIndex(df)
    assert index.fields[small].decoded() is not None
    assert index.fields[large].decoded() is None
    assert_postings_are_the_compressed_ones(index)
    held = index.fields[small].nbytes
    # rows added beyond the size: the smaller field's held postings are let go
    index.sync(pd.concat([df, frame(100, 7)], ignore_index=True))
    assert index.fields[small].decoded() is None
    assert index.fields[small].nbytes < held, "compressed postings alone: less than with the decoded ones besides"
    assert_postings_are_the_compressed_ones(index)


QUERIES = ["multi task model merging", "adamergng", "cafe naive", "gpt 4o fine", "w8x1", "mod", "merging of the"]


def test_a_search_finds_the_same_with_postings_held_or_not(monkeypatch: pytest.MonkeyPatch) -> None:
    df = frame(1500, 8)
    held = SearchIndex(df)
    assert held.fields["abstract"].decoded() is not None
    found = {q: search_rows(df, q, 10, index=held) for q in QUERIES}
    monkeypatch.setattr(index_module, "_DECODED_POSTINGS", 0)
    compressed_only = SearchIndex(df)
    assert compressed_only.fields["abstract"].decoded() is None
    for q, (rows, scores) in found.items():
        again_rows, again_scores = search_rows(df, q, 10, index=compressed_only)
        assert len(rows), q
        assert rows.tolist() == again_rows.tolist() and scores.tolist() == again_scores.tolist(), q


def assert_title_places_are_where_the_abstracts_hold_the_rows(index: SearchIndex) -> None:
    for word_id in range(index.vocab_size):
        places = index.title_places(word_id)
        assert places is not None
        title_rows = index.postings("title", word_id)[0].tolist()
        abstract_rows = index.postings("abstract", word_id)[0].tolist()
        expected = [abstract_rows.index(row) if row in abstract_rows else -1 for row in title_rows]
        assert places.tolist() == expected, index.word(word_id)


def test_title_places_say_where_each_title_row_is_among_the_abstract_rows(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_PLACES_BLOCK", 50)  # many blocks of words
    df = frame(500, 9)
    index = SearchIndex(df)
    assert_title_places_are_where_the_abstracts_hold_the_rows(index)
    found = sum(int(np.count_nonzero(np.asarray(index.title_places(w)) >= 0)) for w in range(index.vocab_size))
    assert found > 100, "titles and abstracts share many words"
    index.sync(pd.concat([df, frame(80, 10)], ignore_index=True))  # new rows, new words: found again
    assert_title_places_are_where_the_abstracts_hold_the_rows(index)
    monkeypatch.setattr(index_module, "_DECODED_POSTINGS", 0)
    assert SearchIndex(df).title_places(0) is None, "only while both fields' postings are held decoded"
