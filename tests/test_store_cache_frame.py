"""The frame cache: string columns without any value cost no bytes in the file and read back as before."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

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
