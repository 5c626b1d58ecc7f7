"""The frame cache: string columns without any value cost no bytes in the file and read back as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from paper_widgets.store import cache as cache_module
from paper_widgets.store.cache import _read_frame, _write_frame, shown_frame


def frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "key": pd.Series([f"k{i}" for i in range(n)], dtype="str"),
            "doi": pd.Series([None] * n, dtype="str"),
            "venue": pd.Series([None if i % 2 else "NeurIPS" for i in range(n)], dtype="str"),
            "upvotes": pd.array(np.arange(n), dtype="Int64"),
        }
    )


def test_a_string_column_of_nas_takes_no_bytes_and_reads_back_the_same(tmp_path: Path) -> None:
    n = 100_000
    written = frame(n)
    _write_frame(tmp_path / "with.arrow", written, {"m": 1})
    _write_frame(tmp_path / "without.arrow", written.drop(columns="doi"), {"m": 1})
    assert (tmp_path / "with.arrow").stat().st_size - (tmp_path / "without.arrow").stat().st_size < 1000
    for arrow_lists in (False, True):
        back, info = _read_frame(tmp_path / "with.arrow", arrow_lists=arrow_lists)
        assert info["meta"] == {"m": 1} and info["empty"] == ["doi"]
        assert list(back.columns) == list(written.columns)
        pd.testing.assert_frame_equal(shown_frame(back), written)
        assert back["doi"].isna().all() and back["doi"].dtype == written["doi"].dtype
        filled = back["doi"].fillna("none")
        assert (filled == "none").all()
        # a row taken, and a column written again from what was read, are as before
        assert pd.isna(back["doi"].take([5]).iloc[0])
        _write_frame(tmp_path / "again.arrow", back, None)
        pd.testing.assert_frame_equal(shown_frame(_read_frame(tmp_path / "again.arrow")[0]), written)


def test_an_empty_frame_and_a_column_with_one_value_are_kept_as_they_are(tmp_path: Path) -> None:
    written = frame(0)
    _write_frame(tmp_path / "empty.arrow", written, None)
    back, info = _read_frame(tmp_path / "empty.arrow")
    assert info["empty"] == [] and list(back.columns) == list(written.columns) and len(back) == 0
    one = frame(10)
    one.loc[3, "doi"] = "10.1/x"
    _write_frame(tmp_path / "one.arrow", one, None)
    back, info = _read_frame(tmp_path / "one.arrow")
    assert info["empty"] == []
    pd.testing.assert_frame_equal(shown_frame(back), one)


def test_whole_numbers_are_saved_in_32_bits_where_they_fit_and_read_back_as_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    n = 50_000
    written = frame(n).assign(
        comments=pd.array([None if i % 7 == 0 else i % 13 for i in range(n)], dtype="Int64"),
        row=np.arange(n, dtype=np.int64),  # numpy int64, not nullable
        big=pd.array([1 << 40] + [0] * (n - 1), dtype="Int64"),  # too large for 32 bits: stays 64
    )
    _write_frame(tmp_path / "narrow.arrow", written, None)
    with monkeypatch.context() as patched:  # as files were written before whole numbers were narrowed
        patched.setattr(cache_module, "_narrowed_ints", lambda table: (table, []))
        _write_frame(tmp_path / "wide.arrow", written, None)
    wide_size = (tmp_path / "wide.arrow").stat().st_size
    assert wide_size - (tmp_path / "narrow.arrow").stat().st_size >= 4 * 3 * n - 1024
    for name in ("narrow.arrow", "wide.arrow"):
        back, _ = _read_frame(tmp_path / name)
        pd.testing.assert_frame_equal(back, written)  # the same dtypes too: Int64 and numpy int64
        mapped, _ = _read_frame(tmp_path / name, arrow_lists=True)
        pd.testing.assert_frame_equal(
            shown_frame(mapped), shown_frame(written.assign(row=written["row"].astype("Int64")))
        )
    assert sorted(_read_frame(tmp_path / "narrow.arrow")[1]["narrowed"]) == ["comments", "row", "upvotes"]


def test_columns_of_empty_lists_or_of_none_alone_take_no_bytes_and_read_back_the_same(tmp_path: Path) -> None:
    n = 50_000
    written = frame(n).assign(
        authors=pd.Series([[] for _ in range(n)], dtype=object),
        fields=pd.Series([None] * n, dtype=object),
        citekeys=pd.Series([[] if i else ["Key2024"] for i in range(n)], dtype=object),  # one list holds a key
    )
    _write_frame(tmp_path / "with.arrow", written, None)
    _write_frame(tmp_path / "without.arrow", written.drop(columns=["authors", "fields"]), None)
    assert (tmp_path / "with.arrow").stat().st_size - (tmp_path / "without.arrow").stat().st_size < 1000
    back, info = _read_frame(tmp_path / "with.arrow")
    assert info["no_items"] == ["authors"]
    pd.testing.assert_frame_equal(back, written)
    mapped, _ = _read_frame(tmp_path / "with.arrow", arrow_lists=True)
    pd.testing.assert_frame_equal(shown_frame(mapped), written)
    _write_frame(tmp_path / "again.arrow", mapped, None)  # a reopened library written again
    pd.testing.assert_frame_equal(shown_frame(_read_frame(tmp_path / "again.arrow", arrow_lists=True)[0]), written)
    assert _read_frame(tmp_path / "again.arrow")[1]["no_items"] == ["authors"]
