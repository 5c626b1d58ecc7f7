from __future__ import annotations

import nbformat
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_raw_cell

import paper_widgets
from paper_widgets.output.bibliography import REFERENCES_METADATA, cited_keys, references
from paper_widgets.output.cite import cite, snippet

MIXED = new_notebook(
    cells=[
        new_markdown_cell(
            "As @first shows [see @second, p. 3; -@third] and {cite:p}`fourth,fifth`, "
            "also \\citep[p.~2]{sixth, seventh}.\n"
            "Mail jane.doe@example.com or see https://medium.com/@someone/post."
        ),
        new_code_cell("x = '@incode'  # [@incode2] {cite}`incode3`"),
        new_raw_cell("[@inraw]"),
        new_markdown_cell(
            'Inline `@notakey` and `` [@nope] `` then <cite data-cite="eighth,ninth">T (2020)</cite>\n'
            "```python\n[@fenced]\n```\n~~~\n@fenced2\n~~~\n<!-- [@commented] -->\n"
            "{cite}`tenth` and again @first. End @{eleventh}. \\nocite{*} Escaped \\@notcited."
        ),
        new_markdown_cell("{cite:t}`twelfth` and \\citet{thirteenth} and <span data-cite='fourteenth'>x</span>"),
        new_markdown_cell("## References\n\n- [@inrefs]", metadata=REFERENCES_METADATA),
    ]
)


def test_finds_every_syntax_in_first_appearance_order():
    assert cited_keys(MIXED) == [
        "first",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
        "eleventh",
        "twelfth",
        "thirteenth",
        "fourteenth",
    ]


def test_reads_notebooks_from_a_path_and_plain_dicts(tmp_path):
    path = tmp_path / "n.ipynb"
    nbformat.write(MIXED, path)
    assert cited_keys(path) == cited_keys(str(path)) == cited_keys(MIXED)
    assert cited_keys(dict(MIXED)) == cited_keys(MIXED)


def test_our_own_citations_and_snippets_are_found_and_escaped_abstracts_are_not():
    row = pd.Series(
        {
            "key": "k1",
            "title": "T",
            "abstract": "Mentions @fake [@fake2] and {cite}`fake3`.",
            "published": pd.NaT,
            "authors": [],
            "arxiv_id": None,
            "url": None,
        }
    )
    cells = [new_markdown_cell(cite(row, style)) for style in ("pandoc", "myst", "latex", "cite")]
    cells.append(new_markdown_cell(snippet(row, style="text")))
    assert cited_keys(new_notebook(cells=cells)) == ["k1"]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "key": "first",
                "title": "First *Paper*",
                "authors": ["Ann Lee"],
                "published": pd.Timestamp("2024-05-01"),
                "arxiv_id": "2405.00001",
                "url": "https://huggingface.co/papers/2405.00001",
                "abstract": "",
            },
            {
                "key": "third",
                "title": "Third",
                "authors": [],
                "published": pd.NaT,
                "arxiv_id": None,
                "url": None,
                "abstract": "",
            },
        ]
    )


def test_references_section_in_text_style():
    nb = new_notebook(cells=[new_markdown_cell("See [@third; @first] and @missing_key.")])
    # APA sorts the list by author (the title standing in for a missing one); the arXiv DOI is linked.
    assert references(nb, frame()) == (
        '## References\n\n<noframes class="paper-widgets-references">\n\n'
        "- Lee, A. (2024). First \\*Paper\\* (2405.00001). arXiv. <https://doi.org/10.48550/arXiv.2405.00001>\n"
        "- Third. (n.d.).\n"
        "- **Missing:** missing\\_key is cited but not in the library\n\n</noframes>\n"
    )


def test_references_in_a_numeric_csl_style_are_numbered_in_citation_order():
    nb = new_notebook(cells=[new_markdown_cell("See [@third; @first].")])
    items = references(nb, frame(), csl="ieee").split("\n")[4:6]
    assert items == [
        "- \\[1\\] “Third”.",
        "- \\[2\\] A. Lee, “First \\*Paper\\*”, May 01, 2024, arXiv: 2405.00001. doi: 10.48550/arXiv.2405.00001.",
    ]


def test_references_section_in_other_styles_leads_with_the_citation():
    nb = new_notebook(cells=[new_markdown_cell("See @first.")])
    assert references(nb, frame(), style="latex") == (
        '## References\n\n<noframes class="paper-widgets-references">\n\n- \\cite{first}: Lee, A. (2024). '
        "First \\*Paper\\* (2405.00001). arXiv. <https://doi.org/10.48550/arXiv.2405.00001>\n\n</noframes>\n"
    )
    with pytest.raises(ValueError, match="unknown citation style"):
        references(nb, frame(), style="apa")


def test_references_with_a_library_and_no_citations():
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[3]
    nb = new_notebook(cells=[new_markdown_cell(lib.cite(key, "myst"))])
    assert paper_widgets.references(nb, lib).splitlines()[4].startswith("- ")
    assert references(new_notebook(), lib) == (
        '## References\n\n<noframes class="paper-widgets-references">\n\n'
        "_No citations found in this notebook._\n\n</noframes>\n"
    )
