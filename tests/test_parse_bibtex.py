"""BibTeX parsing via bibtexparser v2."""

from __future__ import annotations

from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.readers.bibtex import parse_bibtex
from paper_widgets.data.records import LoadWarning

BIB = """% my references
@article{yu2020gradient,
  title   = {Gradient Surgery for {Multi-Task} Learning},
  author  = {Yu, Tianhe and Kumar, Saurabh and Gupta, Abhishek},
  journal = {arXiv preprint arXiv:2001.06782},
  year    = {2020},
  month   = jan,
  abstract = {While deep learning and deep reinforcement learning (RL) systems
              have demonstrated impressive results.},
}

@misc{broken,
  title = {Missing closing brace,
  year = 2021

@inproceedings{vaswani2017,
  title = {Attention Is All You Need},
  author = {Ashish Vaswani and Noam Shazeer and others},
  booktitle = {NeurIPS},
  year = 2017,
  eprint = {1706.03762},
  archivePrefix = {arXiv},
}

@misc{notitle, year = 2020}
"""


def run(text: str) -> tuple[list, list[LoadWarning]]:
    warnings: list[LoadWarning] = []
    return list(parse_bibtex(text, "refs.bib", warnings)), warnings


def test_entries_are_parsed_field_by_field() -> None:
    records, _ = run(BIB)
    first, second = records
    assert first.title == "Gradient Surgery for Multi-Task Learning"
    assert first.authors == ("Tianhe Yu", "Saurabh Kumar", "Abhishek Gupta") and first.n_authors == 3
    assert (
        first.abstract
        == "While deep learning and deep reinforcement learning (RL) systems have demonstrated impressive results."
    )
    assert (first.published, first.arxiv_id, first.line, first.kind) == (date(2020, 1, 1), "2001.06782", 2, "bibtex")
    assert second.title == "Attention Is All You Need"
    assert second.authors == ("Ashish Vaswani", "Noam Shazeer")
    assert (second.arxiv_id, second.published, second.abstract, second.line) == ("1706.03762", date(2017, 1, 1), "", 16)


def test_broken_entry_and_entry_without_title_are_warnings_with_lines() -> None:
    _, warnings = run(BIB)
    assert [(w.source, w.line) for w in warnings] == [("refs.bib", 12), ("refs.bib", 25)]
    assert "malformed entry skipped: '@misc{broken,'" in warnings[0].message
    assert "'notitle' has no title" in warnings[1].message


def test_duplicate_keys_are_warnings() -> None:
    records, warnings = run("@misc{a, title={One}}\n@misc{a, title={Two}}\n")
    assert [r.title for r in records] == ["One"]
    assert [w.line for w in warnings] == [2] and "duplicate" in warnings[0].message


def test_doi_and_url_arxiv_ids() -> None:
    records, _ = run(
        "@misc{a, title={A}, doi={10.48550/arXiv.2310.02575}}\n@misc{b, title={B}, url={https://arxiv.org/abs/2106.04489v2}}\n"
    )
    assert [r.arxiv_id for r in records] == ["2310.02575", "2106.04489"]


def test_no_entries_warns() -> None:
    records, warnings = run("% only a comment\n")
    assert records == [] and "no BibTeX entries" in str(warnings[0])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([*list('@{}=,"% \nabcXY019'), "title", "author", " and ", "year", "@misc{"])))
def test_arbitrary_bibtex_like_text_never_raises(pieces: list[str]) -> None:
    records, _ = run("".join(pieces))
    assert all(r.title for r in records)
