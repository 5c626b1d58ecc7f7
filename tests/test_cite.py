from __future__ import annotations

import html
import re

import mistune
import pandas as pd
import pytest
from nbconvert.filters.citation import citation2latex

import paper_widgets
from paper_widgets.output.cite import cite, escape_markdown, reference, short_title, snippet, split_sentences


def paper(**fields: object) -> pd.Series:
    base = {"key": "k", "title": "", "abstract": "", "authors": [], "published": pd.NaT, "arxiv_id": None, "url": None}
    return pd.Series(base | fields)


YU = paper(
    key="yuGradientSurgeryMultitask2020",
    title="Gradient Surgery for Multi-Task Learning",
    authors=["Tianhe Yu", "Saurabh Kumar", "Abhishek Gupta", "Sergey Levine"],
    published=pd.Timestamp("2020-01-19"),
    arxiv_id="2001.06782",
    url="https://huggingface.co/papers/2001.06782",
)
SAFE = paper(
    key="SafeMultitaskFailure2025",
    title="SAFE: Multitask Failure Detection for Vision-Language-Action Models",
    published=pd.Timestamp("2025-06-11"),
)
BOTH = pd.DataFrame([YU, SAFE])


def test_single_key_in_every_style():
    assert cite(SAFE, "pandoc") == "[@SafeMultitaskFailure2025]"
    assert cite(SAFE, "myst") == "{cite:p}`SafeMultitaskFailure2025`"
    assert cite(SAFE, "latex") == r"\cite{SafeMultitaskFailure2025}"
    # Without authors APA cites the short title (the part before the colon).
    intext = "(SAFE, 2025)"
    assert cite(SAFE, "cite") == f'<cite data-cite="SafeMultitaskFailure2025">{intext}</cite>'
    assert cite(SAFE, "text") == intext
    assert cite(YU, "text") == "(Yu et al., 2020)"


def test_several_keys_in_every_style():
    assert cite(BOTH, "pandoc") == "[@yuGradientSurgeryMultitask2020; @SafeMultitaskFailure2025]"
    assert cite(BOTH, "myst") == "{cite:p}`yuGradientSurgeryMultitask2020,SafeMultitaskFailure2025`"
    assert cite(BOTH, "latex") == r"\cite{yuGradientSurgeryMultitask2020,SafeMultitaskFailure2025}"
    # APA orders a citation group alphabetically.
    intext = "(SAFE, 2025; Yu et al., 2020)"
    assert cite(BOTH, "cite") == (
        f'<cite data-cite="yuGradientSurgeryMultitask2020,SafeMultitaskFailure2025">{intext}</cite>'
    )
    assert cite(BOTH, "text") == intext


def test_narrative_locator_prefix_and_suffix_in_every_syntax():
    options = {"locator": "p. 3", "prefix": "see", "suffix": "for a proof"}
    assert cite(YU, "pandoc", **options) == "[see @yuGradientSurgeryMultitask2020, p. 3, for a proof]"
    assert cite(BOTH, "pandoc", narrative=True) == "@yuGradientSurgeryMultitask2020; @SafeMultitaskFailure2025"
    assert cite(YU, "pandoc", narrative=True, locator="p. 3") == "@yuGradientSurgeryMultitask2020 [p. 3]"
    assert cite(YU, "myst", **options) == "{cite:p}`{see}yuGradientSurgeryMultitask2020{p. 3; for a proof}`"
    assert cite(YU, "myst", narrative=True) == "{cite:t}`yuGradientSurgeryMultitask2020`"
    assert cite(YU, "latex", locator="p. 3") == r"\citep[p. 3]{yuGradientSurgeryMultitask2020}"
    assert cite(YU, "latex", prefix="see", locator="p. 3") == r"\citep[see][p. 3]{yuGradientSurgeryMultitask2020}"
    assert cite(BOTH, "latex", narrative=True) == r"\citet{yuGradientSurgeryMultitask2020,SafeMultitaskFailure2025}"
    assert cite(YU, "text", locator="p. 3", prefix="see") == "(see Yu et al., 2020, p. 3)"
    assert cite(YU, "text", narrative=True) == "Yu et al. (2020)"
    assert cite(YU, "text", narrative=True, locator="p. 3") == "Yu et al. (2020, p. 3)"
    assert cite(YU, "cite", narrative=True).endswith(">Yu et al. (2020)</cite>")


def test_cite_element_becomes_latex_cite_in_nbconvert():
    assert citation2latex(f"See {cite(BOTH, 'cite')}.") == (
        r"See \cite{yuGradientSurgeryMultitask2020,SafeMultitaskFailure2025}."
    )


def test_cite_element_escapes_hostile_titles():
    hostile = paper(key="x", title='<script>alert("x")</script> & *bold* $x$: rest')
    out = cite(hostile, "cite")
    assert "<script" not in out
    assert out.startswith('<cite data-cite="x">(&lt;script&gt;alert("x")&lt;/script&gt; &amp; \\*bold\\* &#36;x&#36;')


def test_default_style_is_pandoc_and_styles_are_validated():
    assert cite(SAFE) == "[@SafeMultitaskFailure2025]"
    assert "[@SafeMultitaskFailure2025]" in snippet(SAFE)
    with pytest.raises(ValueError, match="pandoc, myst, latex, cite, text"):
        paper_widgets.set_default_style("apa")
    with pytest.raises(ValueError, match="unknown citation style"):
        cite(SAFE, "harvard")


def test_text_reference_is_the_apa_entry():
    assert reference(paper(title="T", authors=["Ann Lee"])) == "Lee, A. (n.d.). T."
    assert reference(paper(title="T", authors=["A B", "C D", "E F"])) == "B, A., D, C., & F, E. (n.d.). T."
    assert reference(YU) == (
        "Yu, T., Kumar, S., Gupta, A., & Levine, S. (2020). Gradient Surgery for Multi-Task Learning "
        "(2001.06782). arXiv. https://doi.org/10.48550/arXiv.2001.06782"
    )


def test_markdown_reference_escapes_text_links_url_and_takes_the_year_from_the_arxiv_id():
    row = paper(title="Why *this* [works]", url="https://x.org/a_b", arxiv_id="2401.00001")
    # No date, but the arXiv id says 2024: no "n.d."; the title is not printed twice.
    assert reference(row, markdown=True) == (
        r"Why \*this\* \[works\] (2401.00001). (2024). arXiv. <https://doi.org/10.48550/arXiv.2401.00001>"
    )


@pytest.mark.parametrize(
    ("title", "short"),
    [
        ("SAFE: Multitask Failure Detection", "SAFE"),
        ("Attention Is All You Need", "Attention Is All You…"),
        ("Short title", "Short title"),
        (": Leading colon keeps words", ": Leading colon keeps…"),
    ],
)
def test_short_title(title, short):
    assert short_title(title) == short


def test_sentence_splitting_copes_with_abbreviations_numbers_and_urls():
    text = (
        "We use e.g. CNNs, i.e. deep nets, as in Smith et al. (2020) and Fig. 3 shows. "
        "Accuracy rose by 3.5 points vs. the baseline of J. R. Smith! Code: https://github.com/a/b.c. "
        "Does it work? Yes.  It does. Two parts: 1. Speed. 2. Size."
    )
    assert split_sentences(text) == [
        "We use e.g. CNNs, i.e. deep nets, as in Smith et al. (2020) and Fig. 3 shows.",
        "Accuracy rose by 3.5 points vs. the baseline of J. R. Smith!",
        "Code: https://github.com/a/b.c.",
        "Does it work?",
        "Yes.",
        "It does.",
        "Two parts: 1. Speed.",
        "2. Size.",
    ]


ABSTRACT = (
    "Multi-task learning is hard. Gradients of different tasks conflict. "
    "We propose gradient surgery, which projects conflicting gradients. "
    "It improves efficiency. Surgery works with any optimizer."
)


def test_snippet_without_query_quotes_the_opening_sentences():
    row = paper(key="k", abstract=ABSTRACT)
    assert snippet(row, style="pandoc") == (
        "> Multi-task learning is hard. Gradients of different tasks conflict. …\n>\n> — [@k]\n"
    )


def test_snippet_picks_best_matching_sentences_in_text_order_with_gaps():
    row = paper(key="k", abstract=ABSTRACT)
    got = snippet(row, "surgery optimizer", sentences=2, style="myst")
    assert got == (
        "> … We propose gradient surgery, which projects conflicting gradients. … "
        "Surgery works with any optimizer.\n>\n> — {cite:p}`k`\n"
    )
    # A query no sentence matches falls back to the opening.
    assert snippet(row, "quantum", style="myst") == snippet(row, style="myst")


def _rendered_text(markdown: str) -> str:
    """What a reader sees: markdown rendered as HTML (raw HTML allowed), tags dropped, entities decoded."""
    rendered = mistune.create_markdown(escape=False)(markdown)
    return html.unescape(re.sub(r"<[^>]+>", "", rendered))


def test_snippet_escapes_hostile_abstract_so_it_renders_as_it_reads():
    abstract = (
        '<script>alert("pwned")</script> costs $5 & [click](http://evil.example) **now** \\(x\\) $$y$$. '
        "1. Use `code` | pipes # and _under_ scores @cite &amp; ~~strike~~ > quote."
    )
    row = paper(key="k", abstract=abstract, title="T")
    got = snippet(row, style="pandoc")
    quote, _, citation = got.partition("\n>\n")
    assert "<script" not in got and "$" not in got and "\\(" not in got
    assert quote.startswith("> ") and citation == "> — [@k]\n"
    rendered = mistune.create_markdown(escape=False)(quote[2:])
    assert "<a " not in rendered and "<strong>" not in rendered and "<code>" not in rendered
    assert _rendered_text(quote[2:]).strip() == abstract


@pytest.mark.parametrize("text", ["1. Not a list", "- not a list", "+ nor this", "# no heading", "> no quote", "2) no"])
def test_escape_markdown_neutralises_block_markers(text):
    rendered = mistune.create_markdown(escape=False)(escape_markdown(text))
    assert rendered.startswith("<p>") and html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() == text


def test_library_cite_and_snippet_delegate():
    lib = paper_widgets.load_sample()
    k1, k2 = lib.df["key"].iloc[:2]
    assert lib.cite([k1, k2], "pandoc") == f"[@{k1}; @{k2}]"
    assert lib.cite(k1, "myst") == f"{{cite:p}}`{k1}`"
    assert lib.cite(k1, "latex", narrative=True, locator="p. 2") == f"\\citet[p. 2]{{{k1}}}"
    got = lib.snippet(k1, "entropy", sentences=1, style="latex")
    assert got.startswith("> ") and got.endswith(f"> — \\cite{{{k1}}}\n")
    with pytest.raises(KeyError, match="did you mean"):
        lib.cite(k1.lower())
    with pytest.raises(ValueError, match="nothing to cite"):
        lib.cite([])
