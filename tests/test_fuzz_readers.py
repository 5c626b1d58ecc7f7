"""Property tests (hypothesis) over every reader and the search arguments (issue 12): whatever the
input, the only exception is DumpError (or a clear TypeError/ValueError for search arguments), no
call hangs (a deadline per example), and the good records around bad ones still load."""

from __future__ import annotations

import json
import math
import string
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import paper_widgets
from paper_widgets.data.readers.sources import read_text
from paper_widgets.data.records import DumpError, LoadWarning, records_frame

FUZZ = settings(
    max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
GOOD_TITLE = "Gradient Surgery for Multi-Task Learning"
GOOD_ABSTRACT = "While deep learning and deep reinforcement learning systems have demonstrated impressive results."

# Any code point, lone surrogates and control characters included.
anything = st.text(st.characters(exclude_categories=()), max_size=200)
fragments = st.sampled_from(
    [
        "7 authors", "·", "Jun 11, 2025 2", "Sep 29", "99999999999999999999 authors", "Submitted by x",
        "@article{", "}", "{", "[", "$\\href{x}{y}$", "<!--", "<a ", "\r", "\x00", "\ud83d", "\t", "",
        "2925-01-01", "-5", "1e30", "Upvote", "new", "Daily Papers",
    ]
)  # fmt: skip
lines = st.lists(st.one_of(anything, fragments), max_size=30)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats(allow_nan=True, allow_infinity=True)
    | anything,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(anything, inner, max_size=4),
    max_leaves=12,
)
hostile_dates = st.sampled_from(
    ["2925-01-01T00:00:00.000Z", "1066-10-14", "Mon, 2 Apr 1492 19:18:42 GMT", "2024-02-30"]
)
hostile_counts = st.integers(min_value=-(2**80), max_value=2**80)
papers = st.fixed_dictionaries(
    {"title": anything},
    optional={
        "summary": anything,
        "abstract": anything,
        "publishedAt": hostile_dates | json_values,
        "upvotes": hostile_counts | json_values,
        "authors": st.lists(st.fixed_dictionaries({"name": anything}), max_size=3) | json_values,
        "id": anything | json_values,
        "paper": json_values,
        "update_date": hostile_dates | json_values,
    },
)


def _read(text: str) -> tuple[pd.DataFrame, list[LoadWarning]]:
    """What Library.from_text does up to the frame: the only exception allowed is DumpError."""
    warnings: list[LoadWarning] = []
    try:
        records = read_text(text, "fuzz.txt", warnings)
    except DumpError:
        return records_frame([]), warnings
    frame = records_frame(records)  # dates and counts fit the frame's types
    for column in ("title", "abstract"):
        "".join(frame[column].fillna("")).encode("utf-8")  # valid Unicode only
    return frame, warnings


@FUZZ
@given(anything)
def test_any_text_reads_or_is_a_dump_error(text: str) -> None:
    _read(text)


@FUZZ
@given(lines)
def test_dump_like_text_reads_or_is_a_dump_error(parts: list[str]) -> None:
    _read("\n".join(parts))


@FUZZ
@given(st.lists(papers, max_size=5), st.integers(min_value=0, max_value=5))
def test_json_keeps_the_good_paper_among_bad_ones(bad: list[dict[str, Any]], at: int) -> None:
    items: list[object] = list(bad)
    items.insert(min(at, len(items)), {"title": GOOD_TITLE, "summary": GOOD_ABSTRACT, "upvotes": 3})
    frame, _ = _read(json.dumps(items))
    assert GOOD_TITLE in set(frame["title"])


@FUZZ
@given(st.lists(st.one_of(papers.map(json.dumps), anything.map(lambda t: t.replace("\n", " "))), max_size=8))
def test_json_lines_keep_the_good_line_among_bad_ones(bad: list[str]) -> None:
    good = json.dumps({"id": "2001.06782", "title": GOOD_TITLE, "abstract": GOOD_ABSTRACT})
    text = "\n".join([good, *bad, good])  # starts with an object line, as JSON-lines does
    frame, _ = _read(text)
    assert GOOD_TITLE in set(frame["title"])


bib_text = st.text(st.sampled_from(string.printable + "{}@\\$é\ud83d"), max_size=120)


@FUZZ
@given(
    st.lists(
        st.tuples(st.sampled_from(["article", "misc", "comment", "string", "inproceedings"]), bib_text), max_size=5
    )
)
def test_bibtex_keeps_the_good_entry_before_bad_ones(bad: list[tuple[str, str]]) -> None:
    good = f"@article{{yu2020, title={{{GOOD_TITLE}}}, author={{Yu, Tianhe}}, year={{2020}}}}\n"
    text = good + "".join(f"@{kind}{{{body}\n" for kind, body in bad)
    frame, _ = _read(text)
    assert GOOD_TITLE in set(frame["title"])


# -- search arguments -----------------------------------------------------------------------------------

argument = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-5, max_value=2**70),
    st.floats(),
    st.text(max_size=10),
    st.lists(st.one_of(st.text(max_size=5), st.integers()), max_size=3),
    st.tuples(st.one_of(st.none(), st.integers(), st.floats()), st.one_of(st.none(), st.integers())),
    st.just(math.nan),
)


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> paper_widgets.Library:
    return paper_widgets.load_sample(store=tmp_path_factory.mktemp("store"))


@FUZZ
@given(
    query=st.one_of(st.text(max_size=30), st.none(), st.integers()),
    limit=argument,
    filters=st.dictionaries(st.sampled_from(["year", "min_upvotes", "tags", "status", "sort"]), argument, max_size=3),
)
def test_search_arguments_give_results_or_a_clear_error(
    sample: paper_widgets.Library, query: Any, limit: Any, filters: dict[str, Any]
) -> None:
    try:
        found = sample.search(query, limit=limit, **filters)
    except (TypeError, ValueError) as exc:
        error = str(exc)
    else:
        assert isinstance(found, pd.DataFrame) and (limit is None or len(found) <= limit)
        return
    assert any(name in error for name in ("query", "limit", "year", "min_upvotes", "tags", "status", "sort")), error
