"""The records and the merge hold list and repetitive columns compactly: Arrow lists, categoricals,
string columns without a value as no memory; with the values plain lists and strings would have."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.merge import merge_records, merge_traced
from paper_widgets.data.packed import FileTexts, no_text
from paper_widgets.data.records import LIST_DTYPE, PaperRecord, held_lists, records_frame
from paper_widgets.library import _concatenated


def rec(title: str, source: str, line: int = 1, **fields: object) -> PaperRecord:
    kind = str(fields.pop("kind", "card"))
    return PaperRecord(title=title, abstract=f"About {title}.", source=source, line=line, kind=kind, **fields)  # type: ignore[arg-type]


RECORDS = [
    rec("Gradient Surgery", "b.txt"),
    rec("Gradient surgery!", "a.txt", 2, upvotes=4),
    rec("PCGrad", "c.json", kind="hf_json", arxiv_id="2001.06782", authors=("Tianhe Yu", "Saurabh Kumar")),
    rec("Gradient Surgery", "d.bib", kind="bibtex", arxiv_id="2001.06782", authors=("Tianhe Yu",), citekey="yu2020"),
    rec("Another Paper", "b.txt", 3),
]


def _lists(column: pd.Series) -> list[list[str]]:
    return [list(cell) for cell in column.tolist()]


def test_records_frame_holds_authors_as_arrow_lists_and_sources_and_kinds_as_categories() -> None:
    frame = records_frame(RECORDS)
    assert frame["authors"].dtype == LIST_DTYPE
    assert _lists(frame["authors"]) == [[], [], ["Tianhe Yu", "Saurabh Kumar"], ["Tianhe Yu"], []]
    assert isinstance(frame["source"].dtype, pd.CategoricalDtype) and isinstance(
        frame["kind"].dtype, pd.CategoricalDtype
    )
    assert frame["source"].tolist() == ["b.txt", "a.txt", "c.json", "d.bib", "b.txt"]
    assert frame["kind"].tolist() == ["card", "card", "hf_json", "bibtex", "card"]
    assert records_frame([])["authors"].dtype == LIST_DTYPE


def test_the_merge_keeps_list_columns_as_arrow_lists_with_the_values_merge_records_gives() -> None:
    traced = merge_traced(records_frame(RECORDS)).papers
    plain = merge_records(records_frame(RECORDS))
    for name in ("authors", "sources", "citekeys"):
        assert isinstance(traced[name].dtype, pd.ArrowDtype), name
        assert plain[name].dtype == object and all(type(cell) is list for cell in plain[name]), name
        assert _lists(traced[name]) == plain[name].tolist(), name
    assert plain["sources"].tolist() == [["b.txt"], ["a.txt", "b.txt", "c.json", "d.bib"]]
    assert plain["authors"].tolist() == [[], ["Tianhe Yu", "Saurabh Kumar"]]
    assert plain["citekeys"].tolist() == [[], ["yu2020"]]
    assert plain["n_authors"].tolist() == [pd.NA, 2]


def test_repeated_source_names_are_dictionary_encoded_and_sorted_as_python_sorts_them() -> None:
    names = ["z.txt", "Ä.txt", "a.txt", "é.txt"]
    records = [rec(f"Paper {i}", names[i % len(names)], i) for i in range(40)]
    records.append(rec("Paper 0", "é.txt", 99))  # read again from another file: both names, sorted
    sources = merge_traced(records_frame(records)).papers["sources"]
    assert pa.types.is_dictionary(sources.dtype.pyarrow_dtype.value_type)
    values = _lists(sources)
    assert values[0] == sorted(["z.txt", "é.txt"])
    assert all(len(cell) == 1 for cell in values[1:])
    few = merge_traced(records_frame([rec("One", "x.txt"), rec("Two", "y.txt")])).papers["sources"]
    assert few.dtype == LIST_DTYPE and _lists(few) == [["x.txt"], ["y.txt"]]  # nothing repeats: the names


@settings(deadline=None)  # what is checked is the rows' lists; the machine may be busy
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Alpha", "alpha!", "Beta", ""]),
            st.sampled_from(["a.txt", "B.txt", "ä.txt", "a.txt"]),
            st.sampled_from([(), ("Ann Lee",), ("Bo Li", "Cy Ng")]),
        ),
        max_size=10,
    )
)
def test_each_row_lists_the_sources_of_the_records_that_went_to_it(
    picks: list[tuple[str, str, tuple[str, ...]]],
) -> None:
    records = [rec(title, source, line, authors=authors) for line, (title, source, authors) in enumerate(picks, 1)]
    frame = records_frame(records)
    merged = merge_traced(frame)
    sources = _lists(merged.papers["sources"])
    for row, cell in enumerate(sources):
        assert cell == sorted({r.source for r, to in zip(records, merged.row, strict=True) if to == row})
    authors = _lists(merged.papers["authors"])
    for row, cell in enumerate(authors):  # one of its records' lists, or none
        assert cell in [list(r.authors) for r, to in zip(records, merged.row, strict=True) if to == row]


def test_joining_parsed_and_cached_records_gives_one_arrow_and_one_categorical_column() -> None:
    parsed = records_frame(RECORDS[:3]).drop(columns="abstract")
    cached = records_frame(RECORDS[3:]).drop(columns="abstract")
    # as a record cache reads back: Python lists, and categories of another dtype
    cached["authors"] = pd.Series([list(a) for a in _lists(cached["authors"])], dtype=object)
    cached["source"] = pd.Categorical(cached["source"].astype(object))
    joined = _concatenated([parsed, cached])
    assert joined["authors"].dtype == LIST_DTYPE
    assert _lists(joined["authors"]) == [list(r.authors) for r in RECORDS]
    assert isinstance(joined["source"].dtype, pd.CategoricalDtype)
    assert joined["source"].tolist() == [r.source for r in RECORDS]
    whole = records_frame(RECORDS).drop(columns="abstract")
    pd.testing.assert_frame_equal(
        merge_traced(joined, _abstracts()).papers, merge_traced(whole, _abstracts()).papers, check_exact=True
    )


def _abstracts() -> FileTexts:
    return FileTexts([pd.Series([r.abstract for r in RECORDS], dtype="str")])


def test_string_columns_without_a_value_stay_empty_through_join_and_merge() -> None:
    parts = [records_frame([rec(f"T{i}", "a.txt", i)]).drop(columns="abstract") for i in range(3)]
    joined = _concatenated(parts)
    assert all(no_text(joined[name]) for name in ("doi", "venue", "organization", "citekey", "entry_type"))
    merged = merge_traced(joined, _texts(3)).papers
    for name in ("doi", "venue", "organization", "entry_type", "url", "arxiv_id"):
        assert no_text(merged[name]) and merged[name].dtype == "str" and merged[name].isna().all(), name


def _texts(n: int) -> FileTexts:
    return FileTexts([pd.Series([f"About T{i}." for i in range(n)], dtype="str")])


def test_held_lists_reads_only_the_rows_with_items() -> None:
    python = pd.Series([[], ["k1"], None, ["k2", "k3"]], dtype=object)
    arrow = pd.Series(pd.arrays.ArrowExtensionArray(pa.array(python.tolist(), LIST_DTYPE.pyarrow_dtype)))
    assert held_lists(python) == held_lists(arrow) == {1: ["k1"], 3: ["k2", "k3"]}
