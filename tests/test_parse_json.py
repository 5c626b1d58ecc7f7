"""HF API JSON and arXiv JSON-lines parsing."""

from __future__ import annotations

import contextlib
import io
import json
import re
from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.readers.json import parse_json, parse_jsonl, unwrap
from paper_widgets.data.records import DumpError, LoadWarning

PAPER = {
    "id": "2506.09937",
    "title": "SAFE: Multitask Failure Detection for\n  Vision-Language-Action Models",
    "summary": "While vision-language-action models (VLAs) have shown\npromising robotic behaviors.\n\nA second paragraph\nwrapped here.",
    "authors": [{"_id": "x", "name": "Qiao Gu"}, {"name": "Yuanliang Ju"}, {"name": "  "}],
    "publishedAt": "2025-06-11T17:59:15.000Z",
    "upvotes": 2,
}
ARXIV = {
    "id": "0704.0001",
    "title": "Calculation of prompt diphoton production cross sections at Tevatron and\n  LHC energies",
    "abstract": "  A fully differential calculation in perturbative quantum chromodynamics is\npresented for the production of massive photon pairs.\n",
    "authors": "C. Bal\\'azs, E. L. Berger and C.-P. Yuan",
    "authors_parsed": [["Balázs", "C.", ""], ["Berger", "E. L.", ""], ["Yuan", "C. -P.", ""]],
    "update_date": "2008-11-13",
    "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
}


def run(parser, data, source: str = "papers.json"):
    warnings: list[LoadWarning] = []
    return list(parser(data, source, warnings)), warnings


def test_unwrap_joins_hard_wraps_and_keeps_paragraphs() -> None:
    assert unwrap("  one\ntwo  \n  three\n\n four\nfive ") == "one two three\n\nfour five"
    assert unwrap("no wraps") == "no wraps"


def test_daily_papers_list() -> None:
    text = json.dumps(
        [
            {"paper": PAPER, "title": "ignored", "numComments": 3},
            {"paper": dict(PAPER, id="2501.00001", title="Other")},
        ],
        indent=2,
    )
    records, warnings = run(parse_json, text)
    assert warnings == []
    first = records[0]
    assert first.title == "SAFE: Multitask Failure Detection for Vision-Language-Action Models"
    assert (
        first.abstract
        == "While vision-language-action models (VLAs) have shown promising robotic behaviors.\n\nA second paragraph wrapped here."
    )
    assert first.authors == ("Qiao Gu", "Yuanliang Ju") and first.n_authors == 2
    assert (first.published, first.upvotes, first.arxiv_id, first.kind) == (
        date(2025, 6, 11),
        2,
        "2506.09937",
        "hf_json",
    )
    assert [r.line for r in records] == [i + 1 for i, line in enumerate(text.splitlines()) if line == "  {"]


def test_search_results_and_bare_paper_list_and_single_object() -> None:
    search = [{"paper": PAPER, "highlightedTitle": "x"}]
    assert [r.arxiv_id for r in run(parse_json, json.dumps(search))[0]] == ["2506.09937"]
    assert [r.arxiv_id for r in run(parse_json, json.dumps([PAPER]))[0]] == ["2506.09937"]
    records, _ = run(parse_json, json.dumps(PAPER, indent=1))
    assert [(r.arxiv_id, r.line) for r in records] == [("2506.09937", 1)]


def test_bad_items_are_warnings_good_ones_load() -> None:
    text = '[\n  {"paper": {"title": "Good", "summary": "s"}},\n  {"paper": {"summary": "no title"}},\n  42\n]'
    records, warnings = run(parse_json, text)
    assert [r.title for r in records] == ["Good"]
    assert [(w.line, w.message) for w in warnings] == [
        (3, "paper object without a title skipped"),
        (4, "expected a paper object, found int; skipped"),
    ]


def test_text_is_kept_literal() -> None:
    records, _ = run(parse_json, json.dumps({"title": "A &amp; <i>B</i>", "summary": "x &lt; y"}))
    assert (records[0].title, records[0].abstract) == ("A &amp; <i>B</i>", "x &lt; y")


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('[\n  {"title": "a",}\n]', 2, 17),
        ('[\n {"title": "a"}\n {"title": "b"}]', 3, 2),
        ('{"title": "a"} trailing', 1, 16),
        ("[", 1, 2),
    ],
)
def test_malformed_json_is_dump_error_with_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(DumpError) as info:
        run(parse_json, text, "bad.json")
    assert (info.value.source, info.value.line, info.value.column) == ("bad.json", line, column)
    assert str(info.value).startswith(f"bad.json, line {line}, column {column}: malformed JSON")


def test_json_that_is_not_papers_is_dump_error() -> None:
    with pytest.raises(DumpError, match="neither a paper nor a list"):
        run(parse_json, '{"models": []}')


def test_empty_list_warns() -> None:
    records, warnings = run(parse_json, "[]")
    assert records == [] and "empty JSON list" in str(warnings[0])


def test_arxiv_jsonl() -> None:
    lines = [json.dumps(ARXIV), "", json.dumps(dict(ARXIV, id="0704.0002", authors_parsed=[], versions=[]))]
    records, warnings = run(parse_jsonl, io.StringIO("\n".join(lines)))
    assert warnings == []
    first = records[0]
    assert first.title == "Calculation of prompt diphoton production cross sections at Tevatron and LHC energies"
    assert first.abstract.startswith(
        "A fully differential calculation in perturbative quantum chromodynamics is presented"
    )
    assert first.authors == ("C. Balázs", "E. L. Berger", "C. -P. Yuan")
    assert (first.published, first.arxiv_id, first.kind, first.upvotes, first.line) == (
        date(2007, 4, 2),
        "0704.0001",
        "arxiv",
        None,
        1,
    )
    second = records[1]
    assert second.authors == ("C. Bal\\'azs", "E. L. Berger", "C.-P. Yuan")  # literal, no LaTeX decoding
    # no versions: the id's month, never update_date (2008-11-13, when the metadata last changed)
    assert (second.published, second.line) == (date(2007, 4, 1), 3)


def test_arxiv_affiliations_are_not_names_and_doi_is_kept() -> None:
    obj = dict(
        ARXIV,
        doi="10.1103/PhysRevD.76.013009",
        authors_parsed=[["Jaffe", "Arthur", "", "Harvard University"], ["Iliev", "B. Z.", "Jr", "INR,\n  Sofia"]],
    )
    records, _ = run(parse_jsonl, io.StringIO(json.dumps(obj)))
    assert records[0].authors == ("Arthur Jaffe", "B. Z. Iliev Jr")
    assert records[0].doi == "10.1103/physrevd.76.013009"


def test_hf_list_wrapped_in_status_and_python_repr_items() -> None:
    item = {"paper": PAPER, "title": PAPER["title"]}
    wrapped = {"status": "ok", "date": "2025-01-10", "count": 2, "data": [item, repr(item)]}
    records, warnings = run(parse_json, json.dumps(wrapped))
    assert [r.arxiv_id for r in records] == ["2506.09937", "2506.09937"] and warnings == []
    evil = {"data": ["{'paper': __import__('os').system('echo owned')}"], "status": "ok"}
    records, warnings = run(parse_json, json.dumps(evil))
    assert records == [] and "not a paper object" in warnings[0].message  # literals only: nothing runs


def test_jsonl_bad_lines_are_warnings_with_line_and_column() -> None:
    text = json.dumps(ARXIV) + '\n{"id": "1", "title": \n' + b"\xff\xfe".decode("latin-1") + "\n[1]\n"
    lines = [line.encode("latin-1") if "\xff" in line else line.encode() for line in text.splitlines(keepends=True)]
    records, warnings = run(parse_jsonl, lines, "snap.jsonl")
    assert [r.arxiv_id for r in records] == ["0704.0001"]
    assert [w.line for w in warnings] == [2, 3, 4]
    assert "column 21" in warnings[0].message and "list" in warnings[2].message


def test_jsonl_is_streamed() -> None:
    def lines():
        for i in range(10_000):
            yield json.dumps(dict(ARXIV, id=f"0704.{i:04d}"))

    stream = parse_jsonl(lines(), "gen", [])
    assert next(stream).arxiv_id == "0704.0000"
    assert sum(1 for _ in stream) == 9_999


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_json_text_never_raises_anything_but_dump_error(text: str) -> None:
    with contextlib.suppress(DumpError):
        run(parse_json, text)
    run(parse_jsonl, io.StringIO(text))


@settings(max_examples=200, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda c: (
            st.lists(c)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "paper",
                        "title",
                        "summary",
                        "abstract",
                        "authors",
                        "id",
                        "publishedAt",
                        "upvotes",
                        "versions",
                        "authors_parsed",
                        "name",
                        "created",
                    ]
                ),
                c,
            )
        ),
        max_leaves=20,
    )
)
def test_arbitrary_json_values_never_raise_anything_but_dump_error(value: object) -> None:
    with contextlib.suppress(DumpError):
        run(parse_json, json.dumps(value))
    run(parse_jsonl, [json.dumps(value)])


def _unwrap_by_the_definition(text: str) -> str:
    """Paragraphs split at blank lines, line breaks inside them (with their blanks) made one space."""
    paragraphs = re.split(r"\n[ \t]*\n\s*", text.strip())
    return "\n\n".join(re.sub(r"[ \t]*\n[ \t]*", " ", p) for p in paragraphs)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["word", "x.", " ", "\t", "\n", "\r", "\u3000", "\xa0", "é"]), max_size=30))
def test_unwrap_fast_path_agrees_with_the_definition(parts: list[str]) -> None:
    text = "".join(parts)
    assert unwrap(text) == _unwrap_by_the_definition(text)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["", " ", "\t", "\r", "\x0c", "\u3000", "\ufeff"]),
            st.sampled_from(["", " ", "\r", "\x0c", "\u3000", "\r\n"]),
            st.booleans(),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_jsonl_lines_read_like_json_loads_of_the_stripped_line(shapes: list[tuple[str, str, bool]]) -> None:
    """Whatever surrounds the object on a line (str or bytes lines, with or without a newline), the
    line reads exactly when ``json.loads`` reads it once stripped, as the C-scanner fast path must keep."""
    lines: list[str | bytes] = []
    expected = []
    for number, (before, after, as_bytes) in enumerate(shapes, 1):
        text = before + json.dumps(dict(ARXIV, id=f"0704.{number:04d}")) + after + "\n"
        line = text.encode() if as_bytes else text
        lines.append(line)
        try:
            json.loads(line.strip())
        except ValueError:
            continue
        expected.append(f"0704.{number:04d}")
    records, _ = run(parse_jsonl, lines)
    assert [r.arxiv_id for r in records] == expected
