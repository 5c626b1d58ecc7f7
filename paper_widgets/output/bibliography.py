"""Notebook bibliographies: the output stage that finds what a notebook cites and writes its references.

Citations are recognised in every syntax :func:`paper_widgets.output.cite.cite` produces, plus their
common variants: pandoc ``[@k]``, ``[see @k1, p. 3; @k2]``, ``-@k``, ``@{k}`` and narrative ``@k``;
MyST ``{cite}`k1,k2``` (and ``{cite:p}``, ``{cite:t}``, …); LaTeX ``\\cite{}``, ``\\citep[p. 3]{}``,
``\\citet{}``, …; and HTML ``<cite data-cite="k">`` (what nbconvert turns into ``\\cite{}``).
Only markdown cells count, and nothing inside code fences, inline code or HTML comments.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Mapping

import nbformat
import pandas as pd

from paper_widgets.kernel.protocol import METADATA_KEY, REFERENCES_ROLE
from paper_widgets.output.cite import check_style, escape_markdown, markdown_citation, reference

__all__ = ["REFERENCES_METADATA", "REFERENCES_ROLE", "cited_keys", "is_references_cell", "references"]

# Cell metadata marking the generated References cell (the plugin sets it on upsert); that cell is skipped.
REFERENCES_METADATA: dict[str, dict[str, str]] = {METADATA_KEY: {"role": REFERENCES_ROLE}}
HEADING = "## References"

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_MYST_ROLE = re.compile(r"\{cite(?::[\w-]+)?\}$")
_CITATION = re.compile(
    r"""
      \{cite(?::[\w-]+)?\}`(?P<myst>[^`]*)`                                   # MyST role
    | \\(?:no|paren|text|auto|foot|super)?cite(?:[pt]|alp|alt|author|year)?\*?
        (?:\s*\[[^\]]*\]){0,2}\s*\{(?P<latex>[^}]*)\}                        # LaTeX / natbib / biblatex
    | <[A-Za-z][\w-]*\b[^>]*?\bdata-cite\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')   # HTML (nbconvert)
    | (?<![\w@.+\\/:=-])-?@\{(?P<braced>[^}]+)\}                             # pandoc @{key}
    | (?<![\w@.+\\/:=-])-?@(?P<pandoc>[\w](?:\w|[:.\#$%&+?<>~/-](?=\w))*)    # pandoc @key; not e-mail
    """,
    re.VERBOSE,
)


def is_references_cell(cell: Mapping) -> bool:
    """Whether ``cell`` is the generated References cell (its metadata carries the marker)."""
    marker = cell.get("metadata", {}).get(METADATA_KEY, {})
    return isinstance(marker, Mapping) and marker.get("role") == REFERENCES_ROLE


def _blank(match: re.Match[str]) -> str:
    """The match replaced by spaces (newlines kept), so later positions stay comparable."""
    return re.sub(r"[^\n]", " ", match.group())


def _without_code(source: str) -> str:
    """``source`` with fenced code blocks, inline code and HTML comments blanked out (MyST roles kept)."""
    lines, fence = [], None
    for line in source.split("\n"):
        opening = _FENCE_OPEN.match(line)
        if fence is None and opening:
            fence = opening.group(1)
            lines.append("")
        elif fence is not None:
            closing = _FENCE_OPEN.match(line)
            if (
                closing
                and closing.group(1)[0] == fence[0]
                and len(closing.group(1)) >= len(fence)
                and not line.strip().lstrip(fence[0])
            ):
                fence = None
            lines.append("")
        else:
            lines.append(line)
    text = _HTML_COMMENT.sub(_blank, "\n".join(lines))

    def code_span(match: re.Match[str]) -> str:
        # {cite}`k1,k2` looks like inline code to a code-span scanner; keep the role's argument.
        return match.group() if _MYST_ROLE.search(text[max(0, match.start() - 40) : match.start()]) else _blank(match)

    return _INLINE_CODE.sub(code_span, text)


def _keys_in(source: str) -> list[str]:
    keys = []
    for match in _CITATION.finditer(_without_code(source)):
        if match["pandoc"] is not None or match["braced"] is not None:
            keys.append((match["pandoc"] or match["braced"]).strip())
            continue
        listed = match["myst"] if match["myst"] is not None else match["latex"]
        if listed is None:
            listed = html.unescape(match["dq"] if match["dq"] is not None else match["sq"])
        keys += [k.strip() for k in listed.split(",") if k.strip() not in ("", "*")]  # \nocite{*}
    return keys


def _notebook(notebook: str | os.PathLike[str] | Mapping) -> nbformat.NotebookNode:
    if isinstance(notebook, (str, os.PathLike)):
        return nbformat.read(os.fspath(notebook), as_version=4)
    return notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.from_dict(notebook)


def cited_keys(notebook: str | os.PathLike[str] | Mapping) -> list[str]:
    """Every key cited in the markdown cells of ``notebook`` (a path or nbformat object), in order
    of first appearance; the References cell itself is skipped."""
    seen: dict[str, None] = {}
    for cell in _notebook(notebook).get("cells", []):
        if cell.get("cell_type") == "markdown" and not is_references_cell(cell):
            source = cell.get("source", "")
            for key in _keys_in("".join(source) if isinstance(source, list) else source):
                seen.setdefault(key, None)
    return list(seen)


def references(
    notebook: str | os.PathLike[str] | Mapping,
    lib_or_frame: object,
    style: str = "text",
) -> str:
    """The markdown References section for ``notebook``: ``## References`` and one list item per
    cited key, in order of first citation.

    ``lib_or_frame`` is a :class:`~paper_widgets.Library` or its ``df``.  With ``style="text"``
    an item is the readable reference; with another style the item starts with the citation in
    that style (so pandoc, MyST or LaTeX can link it) followed by the reference.  Keys the library
    does not know are listed as missing.
    """
    frame = lib_or_frame.df if hasattr(lib_or_frame, "df") else lib_or_frame
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a Library or a DataFrame, got {type(lib_or_frame).__name__}")
    style = check_style(style)
    by_key = frame.set_index("key", drop=False)
    items = []
    for key in cited_keys(notebook):
        if key not in by_key.index:
            items.append(f"- **Missing:** {escape_markdown(key)} is cited but not in the library")
            continue
        row = by_key.loc[key]
        text = reference(row, markdown=True)
        items.append(f"- {text}" if style == "text" else f"- {markdown_citation(row, style)}: {text}")
    body = "\n".join(items) if items else "_No citations found in this notebook._"
    return f"{HEADING}\n\n{body}\n"
