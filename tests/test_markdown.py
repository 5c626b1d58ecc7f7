"""The one markdown escaper for untrusted text (issue 12 #1); the real-browser check is tests/browser/test_literal_text.py."""

from __future__ import annotations

import html
import re

import mistune
import pypandoc
import pytest

from paper_widgets.output.markdown import escape_markdown

PAYLOADS = [
    r"$\href{http://evil.example}{\text{Download}}$",
    r"\rule{900px}{600px} and $$x^2$$ and \(y\) and \[z\]",
    r"\begin{align}a\end{align} \style{color:red}{x}",
    '<img src=x onerror="alert(1)"> <a href="http://evil.example">click</a>',
    "see http://evil.example, www.evil.example or me@evil.example",
]


def _math_free(markdown: str) -> str:
    """``markdown`` without the spans that hold a lone ``$`` or ``\\``."""
    return markdown.replace("<span>&#36;</span>", "").replace("<span>&#92;</span>", "")


@pytest.mark.parametrize("text", PAYLOADS)
def test_dollars_and_backslashes_stand_alone_in_their_own_element(text: str) -> None:
    escaped = escape_markdown(text)
    # MathJax only pairs delimiters within one text run: no "$" or "\" may share a run with other text.
    assert "$" not in escaped and "&#36;" not in _math_free(escaped) and "&#92;" not in _math_free(escaped)
    # The backslashes left are markdown escapes of one punctuation character: the page shows no "\\".
    assert "\\" not in re.sub(r"\\[!-/:-@\[-`{-~]", "", _math_free(escaped))


@pytest.mark.parametrize("text", PAYLOADS)
def test_commonmark_shows_the_text_as_typed_without_links_or_tags(text: str) -> None:
    rendered = mistune.create_markdown(escape=False, plugins=["url"])(escape_markdown(text))
    assert re.findall(r"<(\w+)", rendered) == ["p"] + ["span"] * (text.count("$") + text.count("\\"))
    assert html.unescape(re.sub(r"<[^>]+>", "", rendered)).strip() == text


def test_pandoc_keeps_the_characters_for_latex() -> None:
    latex = pypandoc.convert_text(escape_markdown(r"costs $5 \emph{x}"), "latex", format="markdown")
    assert latex.strip() == r"costs {\$}5 {\textbackslash{}}emph\{x\}"
