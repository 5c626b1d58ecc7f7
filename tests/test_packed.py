"""Abstracts kept packed per file during a load give back every text, and the library's compressed column."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import paper_widgets.library as library_module
from paper_widgets.data.packed import FileTexts, PackedTexts, Part, joined_texts, large_strings
from paper_widgets.store import texts as texts_module
from paper_widgets.store.texts import BLOCK_ROWS, compressed_texts

FILES = st.lists(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=40), min_size=1, max_size=6)


def file_texts(files: list[list[str | None]], plain_every: int = 2) -> FileTexts:
    """Every other file packed, the others plain string columns (as records from a cache come)."""
    parts = [
        PackedTexts.of(pd.Series(values, dtype="str")) if i % plain_every else pd.Series(values, dtype="str")
        for i, values in enumerate(files)
    ]
    return FileTexts(parts)


@settings(max_examples=60, deadline=None)
@given(FILES, st.data())
def test_file_texts_give_back_any_rows(files: list[list[str | None]], data: st.DataObject) -> None:
    everything = pd.Series([v for values in files for v in values], dtype="str")
    texts = file_texts(files)
    assert len(texts) == len(everything)
    rows = np.array(
        data.draw(st.lists(st.integers(0, max(len(everything) - 1, 0)), max_size=30)) if len(everything) else []
    )
    pd.testing.assert_series_equal(texts.take(rows.astype(np.int64)), everything.take(rows).reset_index(drop=True))
    lengths = everything.take(rows).str.len().fillna(-1).to_numpy(np.int64)
    assert (texts.char_lengths(rows.astype(np.int64)) == lengths).all()
    assert texts.text_bytes() == sum(len(v.encode()) for v in everything.dropna())
    drained = [(first, strings.to_pylist()) for first, strings in texts.drain()]
    assert [first for first, _ in drained] == list(np.cumsum([0] + [len(f) for f in files])[:-1])
    assert [v for _, values in drained for v in values] == [None if pd.isna(v) else v for v in everything]
    if len(everything):
        with pytest.raises(ValueError, match="drained"):
            texts.take(np.array([0]))


@settings(max_examples=60, deadline=None)
@given(FILES)
def test_packed_and_plain_parts_joined_are_their_texts_one_after_the_other(files: list[list[str | None]]) -> None:
    everything = [v for values in files for v in values]
    parts: list[Part] = [
        PackedTexts.of(pd.Series(values, dtype="str")) if i % 2 else large_strings(pd.Series(values, dtype="str"))
        for i, values in enumerate(files)
    ]
    parts[-1] = large_strings(pd.Series(files[-1], dtype="str")).slice(1)  # a slice: offsets not from 0
    joined = joined_texts(parts)
    assert parts == [], "each part taken out once copied"
    assert joined.to_pylist() == everything[: len(everything) - len(files[-1])] + files[-1][1:]


@settings(max_examples=40, deadline=None)
@given(FILES)
def test_abstracts_put_in_row_order_a_range_at_a_time_are_the_column_compressed_whole(
    files: list[list[str | None]],
) -> None:
    everything = pd.Series([v for values in files for v in values], dtype="str")
    rng = np.random.default_rng(len(everything))
    rows = rng.permutation(len(everything))[: max(len(everything) - 3, 0)]  # a few records gave no row its abstract
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(texts_module, "LAZY_ABOVE", -1)  # compressed however small
        patch.setattr(library_module, "_RANGE_ROWS", 2 * BLOCK_ROWS)  # many ranges
        column = library_module._in_row_order(file_texts(files), rows)
    expected = compressed_texts(everything.array.__arrow_array__(), rows)
    got = column.array.arrays()
    for name in ("offsets", "blocks", "data", "nulls", "dictionary"):
        assert np.array_equal(got[name], expected[name]), name
    pd.testing.assert_series_equal(
        pd.Series(column.array.materialised()), everything.take(rows).reset_index(drop=True), check_dtype=False
    )


def test_a_large_column_put_in_row_order_shares_the_whole_columns_trained_dictionary() -> None:
    rng = np.random.default_rng(7)
    vocabulary = np.array([f"word{i}" for i in range(400)])
    abstracts = [" ".join(rng.choice(vocabulary, 60)) for _ in range(6000)]
    files: list[list[str | None]] = [list(abstracts[:2500]), list(abstracts[2500:2600]), list(abstracts[2600:])]
    everything = pd.Series(abstracts, dtype="str")
    rows = rng.permutation(len(everything))[:5900]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(texts_module, "LAZY_ABOVE", -1)
        patch.setattr(library_module, "_RANGE_ROWS", 128 * BLOCK_ROWS)  # several ranges, one dictionary
        patch.setattr(texts_module, "_DICTIONARY_ABOVE", 0)  # trained however small
        column = library_module._in_row_order(file_texts(files), rows)
        expected = compressed_texts(everything.array.__arrow_array__(), rows)
    got = column.array.arrays()
    assert len(got["dictionary"]) > 0
    for name in ("offsets", "blocks", "data", "nulls", "dictionary"):
        assert np.array_equal(got[name], expected[name]), name
    assert column.array.take(np.array([0, 5899])).tolist() == everything.take(rows[[0, 5899]]).tolist()


def test_small_abstracts_stay_an_ordinary_column() -> None:
    texts = file_texts([["a", "b"], ["c", None]])
    column = library_module._in_row_order(texts, np.array([3, 0, 2]))
    assert not isinstance(column.array, texts_module.CompressedTexts)
    assert column.tolist()[1:] == ["a", "c"] and pd.isna(column.iloc[0])
