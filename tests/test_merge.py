"""Merging records into one row per paper: identity, field choice, determinism, frame dtypes."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.merge import _sorted_codes_of_texts, fold_titles, merge_records, merge_traced, normalise_frame
from paper_widgets.data.records import PaperRecord, records_frame
from paper_widgets.data.text import fold


def rec(title: str, kind: str, source: str, **fields) -> PaperRecord:
    return PaperRecord(
        title=title, abstract=fields.pop("abstract", ""), source=source, line=fields.pop("line", 1), kind=kind, **fields
    )


RECORDS = [
    rec("Gradient Surgery for Multi-Task Learning", "pair", "b.txt", abstract="Short."),
    rec(
        "Gradient surgery for multi task learning!",
        "card",
        "a.txt",
        abstract="Longer abstract here.",
        published=pd.Timestamp("2020-01-19").date(),
        n_authors=6,
        upvotes=4,
    ),
    rec(
        "PCGrad",
        "hf_json",
        "c.json",
        arxiv_id="2001.06782v2",
        authors=("Tianhe Yu", "Saurabh Kumar"),
        upvotes=9,
        published=pd.Timestamp("2020-01-20").date(),
    ),
    rec("Gradient Surgery for Multi-Task Learning", "bibtex", "d.bib", arxiv_id="2001.06782", authors=("Tianhe Yu",)),
    rec("Another Paper", "pair", "b.txt", abstract="Other."),
    rec("", "frame", "e", abstract="untitled one"),
    rec("", "frame", "e", abstract="untitled two"),
]


def test_fold_titles_matches_fold_exactly() -> None:
    titles = ["Multi-Task  Learning!", "Ünïcode Títle — déjà vu", "", None, "a_b-c", "ＦＵＬＬ width"]
    assert fold_titles(pd.Series(titles)).tolist() == [fold(t or "") for t in titles]


@given(st.lists(st.none() | st.text(alphabet=st.sampled_from("aZ09 -_:!\t\x00éÉﬁ\u0301"), max_size=20), max_size=8))
def test_batched_title_folding_matches_fold_for_any_mix(titles: list[str | None]) -> None:
    series = pd.Series(titles, index=range(5, 5 + len(titles)), dtype=object)
    folded = fold_titles(series)
    assert folded.tolist() == [fold(t or "") for t in titles]
    assert folded.index.equals(series.index)


def test_title_folding_matches_fold_across_its_batches() -> None:
    """Titles folded a batch of bytes at a time: texts opening or closing with spaces, empty ones and
    runs of punctuation fold as :func:`fold` does on either side of every batch's bounds."""
    rng = np.random.default_rng(17)
    alphabet = np.array(list("ab09 :-'\x00\t!Z"))
    titles = ["".join(rng.choice(alphabet, int(rng.integers(0, 9)))) for _ in range(2 * 8192 + 3)]
    titles[8191:8194] = ["  lead", "", "trail  "]
    assert fold_titles(pd.Series(titles)).tolist() == [fold(t) for t in titles]


@given(st.lists(st.text(alphabet=st.sampled_from("ab \x00é"), max_size=20), max_size=30), st.integers(0, 3))
def test_title_ids_are_the_sorted_factorization(texts: list[str], skip: int) -> None:
    """Distinct titles numbered in string order, those sharing their first 16 bytes (or shorter
    ones padded alike) compared as texts; from any slice of an Arrow array."""
    array = pa.array(["", *texts], pa.large_string()).slice(min(skip, len(texts)) + 1)
    want = pd.factorize(pd.Series(array.to_pylist(), dtype=object), sort=True)[0]
    assert _sorted_codes_of_texts(array).tolist() == want.tolist()


def test_same_id_or_same_folded_title_is_one_row_with_best_fields() -> None:
    merged = merge_records(records_frame(RECORDS))
    assert len(merged) == 4
    row = merged[merged["arxiv_id"] == "2001.06782"].iloc[0]
    assert row["title"] == "Gradient surgery for multi task learning!"  # the longest title
    assert row["abstract"] == "Longer abstract here."
    assert row["published"] == pd.Timestamp("2020-01-19")  # card date beats JSON
    assert (row["n_authors"], row["upvotes"]) == (6, 9)  # authors counted on the card, the highest upvotes
    assert row["authors"] == ["Tianhe Yu", "Saurabh Kumar"]  # authors from HF JSON
    assert row["url"] == "https://huggingface.co/papers/2001.06782"
    assert row["sources"] == ["a.txt", "b.txt", "c.json", "d.bib"]
    other = merged[merged["title"] == "Another Paper"].iloc[0]
    assert (
        pd.isna(other["arxiv_id"]) and pd.isna(other["url"]) and other["authors"] == [] and pd.isna(other["n_authors"])
    )
    assert sorted(merged.loc[merged["title"] == "", "abstract"]) == ["untitled one", "untitled two"]


def test_n_authors_falls_back_to_author_list() -> None:
    merged = merge_records(records_frame([rec("X", "hf_json", "s", authors=("A", "B", "C"))]))
    assert merged["n_authors"].tolist() == [3]


def test_merge_is_independent_of_record_order() -> None:
    forward = merge_records(records_frame(RECORDS))
    for seed in range(5):
        shuffled = [RECORDS[i] for i in np.random.default_rng(seed).permutation(len(RECORDS))]
        pd.testing.assert_frame_equal(merge_records(records_frame(shuffled)), forward)


def test_transitive_identity_chains_merge() -> None:
    # A~B by title, B~C by id: all one paper.
    chain = [
        rec("Title One", "pair", "a"),
        rec("title one", "hf_json", "b", arxiv_id="1"),
        rec("Renamed", "arxiv", "c", arxiv_id="1"),
    ]
    assert len(merge_records(records_frame(chain))) == 1


def test_normalise_frame_fills_missing_columns_with_typed_unknowns() -> None:
    frame = normalise_frame(
        pd.DataFrame({"title": ["A", None], "abstract": ["x", "y"], "upvotes": [3, None], "authors": [["P"], None]})
    )
    assert frame["title"].tolist() == ["A", ""]
    assert str(frame["published"].dtype) == "datetime64[ns]" and frame["published"].isna().all()
    assert frame["upvotes"].dtype == "Int64" and frame["upvotes"].tolist()[0] == 3
    assert frame["authors"].tolist() == [["P"], []]
    assert frame["sources"].tolist() == [["<frame>"], ["<frame>"]]


def test_normalise_frame_requires_title_and_abstract() -> None:
    with pytest.raises(ValueError, match="abstract"):
        normalise_frame(pd.DataFrame({"title": ["A"]}))


def _year(y: int) -> object:
    return pd.Timestamp(f"{y}-01-01").date()


def test_same_title_of_different_years_or_first_authors_stays_apart() -> None:
    merged = merge_records(
        records_frame(
            [
                rec("Exercise and mental health", "bibtex", "a.bib", published=_year(1990), authors=("Ann Smith",)),
                rec("Exercise and Mental Health", "bibtex", "b.bib", published=_year(2017), authors=("Ann Smith",)),
                rec(
                    "C4.5: Programs for machine learning",
                    "bibtex",
                    "a.bib",
                    published=_year(1993),
                    authors=("J. R. Quinlan",),
                ),
                rec(
                    "C4.5: programs for machine learning",
                    "bibtex",
                    "b.bib",
                    published=_year(1994),
                    authors=("Ross Quinlan",),
                ),
                rec(
                    "C4.5: programs for machine learning",
                    "bibtex",
                    "c.bib",
                    published=_year(1993),
                    authors=("Salzberg, Steven",),
                ),
            ]
        )
    )
    assert sorted(merged["published"].dt.year.tolist()) == [1990, 1993, 1993, 2017]  # 1993/1994 Quinlan: one paper
    sources = [row["sources"] for _, row in merged.iterrows() if row["authors"][0].endswith("Quinlan")]
    assert sources == [["a.bib", "b.bib"]]


def test_identifiers_decide_before_titles() -> None:
    merged = merge_records(
        records_frame(
            [
                rec("Attention", "bibtex", "a.bib", doi="10.1/X", line=1),
                rec("Attention", "bibtex", "a.bib", doi="10.1/y", line=5),  # another DOI: another paper
                rec("A different title", "bibtex", "b.bib", doi="10.1/x"),  # DOIs ignore case
                rec("Attention", "hf_json", "c.json", arxiv_id="1706.03762v5"),
                rec("Attention", "arxiv", "d.jsonl", arxiv_id="1706.03763"),  # another arXiv id
            ]
        )
    )
    # DOI 10.1/x links a.bib:1 and b.bib; the title then adds c.json (no conflicting id). a.bib:5 (another
    # DOI) may take the other arXiv id: every row has at most one of each.
    assert len(merged) == 2
    by_doi = merged[merged["doi"] == "10.1/x"].iloc[0]
    assert (by_doi["sources"], by_doi["arxiv_id"]) == (["a.bib", "b.bib", "c.json"], "1706.03762")
    assert merged["doi"].tolist() == ["10.1/x", "10.1/y"] or merged["doi"].tolist() == ["10.1/y", "10.1/x"]


def test_highest_count_wins_and_every_citekey_of_a_paper_is_kept() -> None:
    merged = merge_records(
        records_frame(
            [
                rec("Paper", "hf_json", "2024-05-01.json", arxiv_id="1", upvotes=3, comments=1),
                rec("Paper", "hf_json", "2024-06-01.json", arxiv_id="1", upvotes=20, comments=4),
                rec("Paper", "bibtex", "refs.bib", citekey="smith2024paper", line=3, entry_type="article"),
                rec("Paper", "bibtex", "refs.bib", citekey="Smith24", line=9, entry_type="article"),
            ]
        )
    )
    row = merged.iloc[0]
    assert len(merged) == 1 and (row["upvotes"], row["comments"]) == (20, 4)
    assert row["citekeys"] == ["smith2024paper", "Smith24"] and row["entry_type"] == "article"


def test_papers_read_once_come_out_as_read_beside_merged_ones() -> None:
    # Most papers of a large library are read once: they pass straight through, the rest are chosen among.
    singles = [
        rec(f"Paper {i}", "card", f"{i % 3}.txt", line=i, abstract=f"Abstract {i}.", upvotes=i, comments=i % 4)
        for i in range(40)
    ]
    merged = merge_records(records_frame(singles + RECORDS))
    assert len(merged) == 40 + 4
    by_title = merged.set_index("title")
    for i in (0, 7, 39):
        row = by_title.loc[f"Paper {i}"]
        assert (row["abstract"], row["upvotes"], row["comments"], row["sources"]) == (
            f"Abstract {i}.",
            i,
            i % 4,
            [f"{i % 3}.txt"],
        )
    assert merged["title"].map(fold).is_monotonic_increasing  # rows in folded-title order
    row = merged[merged["arxiv_id"] == "2001.06782"].iloc[0]
    assert (row["upvotes"], row["sources"]) == (9, ["a.txt", "b.txt", "c.json", "d.bib"])
    for seed in range(3):
        shuffled = [(singles + RECORDS)[i] for i in np.random.default_rng(seed).permutation(len(singles) + 7)]
        pd.testing.assert_frame_equal(merge_records(records_frame(shuffled)), merged)


def test_a_record_read_twice_from_one_place_breaks_the_tie_by_its_text() -> None:
    # Same source and line (the same file given twice under one name), texts of one length: the
    # texts decide which comes first, never the input order.
    twice = [
        rec("Twice Read", "card", "a.txt", line=3, abstract="Abstract B."),
        rec("Twice Read", "card", "a.txt", line=3, abstract="Abstract A."),
    ]
    for records in (twice, twice[::-1]):
        merged = merge_records(records_frame(records))
        assert merged[["title", "abstract", "sources"]].values.tolist() == [["Twice Read", "Abstract A.", ["a.txt"]]]


@settings(deadline=None)  # a merge's first call on a busy 2-core machine took 271 ms
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["Gradient Surgery", "gradient surgery!", "", "Naïve Bayes", "ﬁne Tuning", "X"]),
            st.sampled_from(["", "An abstract.", "Another one."]),
        ),
        max_size=12,
    )
)
def test_the_merge_hands_on_each_rows_title_folded(titles_and_abstracts: list[tuple[str, str]]) -> None:
    """The citekeys' identities take the merge's folded titles (folding a million titles once, not twice):
    they are fold_titles of the rows' titles, blank titles (merged by abstract) included."""
    records = records_frame(
        [
            rec(title, "card", "a.txt", abstract=abstract, line=line)
            for line, (title, abstract) in enumerate(titles_and_abstracts, 1)
        ]
    )
    merged = merge_traced(records)
    assert merged.folded_titles.tolist() == fold_titles(merged.papers["title"]).tolist()
