"""Markdown escaping: the one way untrusted text (titles, abstracts, tags, keys from dumps) enters markdown.

Every output that writes markdown (citations, snippets, the References cell, exported notes, the
widget's inserts) builds it with :func:`escape_markdown`, so the text renders exactly as typed in
CommonMark renderers, in JupyterLab *and* in the MathJax pass JupyterLab runs over the rendered page.
"""

from __future__ import annotations

import re

__all__ = ["escape_markdown"]

# MathJax typesets the rendered page, not the markdown source: an entity such as ``&#36;`` still
# becomes ``$`` on the page and pairs with the next one into live TeX.  MathJax never joins text
# across element boundaries, so a ``$`` or ``\`` alone in its own span can open no delimiter
# (``$``, ``$$``, ``\(``, ``\[``, ``\begin``); as entities inside the span JupyterLab's markdown
# pre-pass does not see them either.  Pandoc reads the span natively (LaTeX gets ``\$``).
_MATH_CHARACTERS = {"$": "<span>&#36;</span>", "\\": "<span>&#92;</span>"}
# HTML becomes character references; markdown structure characters get a backslash (``@`` would
# start a pandoc citation or an e-mail link, ``://`` and ``www.`` a GFM autolink to a URL in the text).
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", **_MATH_CHARACTERS}
_SPECIAL = re.compile(r"[&<>\\$`*_\[\]#|~@]|:(?=//)|(?<=\bwww)\.", re.IGNORECASE)
_LINE_START_MARKER = re.compile(r"^(\d+)([.)])|^([-+=])(?=\s|$)")
_WHITESPACE = re.compile(r"\s+")


def escape_markdown(text: str) -> str:
    """``text`` as one markdown line that renders exactly as it reads (whitespace runs become one space)."""
    text = _WHITESPACE.sub(" ", str(text)).strip()
    text = _SPECIAL.sub(lambda m: _ENTITIES.get(m.group()) or "\\" + m.group(), text)
    # "1. Intro" or "- item" at the start of a line would become a list.
    return _LINE_START_MARKER.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)
