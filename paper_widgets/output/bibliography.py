"""Notebook bibliographies: the output stage that finds what a notebook cites and writes its references.

The References cell serves every reader of the notebook.  JupyterLab shows its list (rendered with a
CSL style).  Publishing tools print their own bibliography from ``references.bib`` (written beside
the notebook with exactly the cited entries), so the list sits in a ``<noframes>`` element: a block
of raw HTML for pandoc (dropped from docx/LaTeX/PDF, never displayed in HTML), for Sphinx/Jupyter
Book 1 and mystmd, while JupyterLab's sanitizer removes the tag and keeps the list.  The cell's
``remove-cell`` tag makes Jupyter Book 1 and mystmd leave it out altogether.

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
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from paper_widgets.kernel.protocol import METADATA_KEY, REFERENCES_ROLE, REMOVE_TAG
from paper_widgets.output.cite import check_style, markdown_citation, markdown_reference
from paper_widgets.output.csl import CslStyle, csl_bibliography, with_arxiv_dates
from paper_widgets.output.export import to_bibtex
from paper_widgets.output.markdown import escape_markdown

if TYPE_CHECKING:
    import nbformat

__all__ = [
    "BIB_NAME",
    "REFERENCES_METADATA",
    "REFERENCES_ROLE",
    "REMOVE_TAG",
    "blank_code",
    "cited_keys",
    "is_references_cell",
    "references",
    "update_notebook",
    "write_bibliography",
]

# Cell metadata marking the generated References cell (the plugin sets it on upsert); that cell is skipped.
REFERENCES_METADATA: dict[str, dict[str, str]] = {METADATA_KEY: {"role": REFERENCES_ROLE}}
HEADING = "## References"
BIB_NAME = "references.bib"

_FENCE_OPEN = re.compile(r"^ {0,3}(`{3,}|~{3,})")
_INLINE_CODE = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
_MYST_ROLE = re.compile(r"\{cite(?::[\w-]+)?\}$")
_MYST_NOTES = re.compile(r"^\s*\{[^{}]*\}|\{[^{}]*\}\s*$")
# Every variable-length part of a citation stops at the next character that could open another
# one ("<", "[", "{"), so text full of unclosed openers ("<a <a <a …") is scanned in linear time.
_CITATION = re.compile(
    r"""
      \{cite(?::[\w-]+)?\}`(?P<myst>[^`]*)`                                   # MyST role
    | \\(?:no|paren|text|auto|foot|super)?cite(?:[pt]|alp|alt|author|year)?\*?
        (?:\s*\[[^][]*\]){0,2}\s*\{(?P<latex>[^{}]*)\}                     # LaTeX / natbib / biblatex
    | <[A-Za-z][\w-]*\b[^<>]*?\bdata-cite\s*=\s*(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)')  # HTML (nbconvert)
    | (?<![\w@.+\\/:=-])-?@\{(?P<braced>[^}]+)\}                             # pandoc @{key}
    | (?<![\w@.+\\/:=-])-?@(?P<pandoc>[\w](?:\w|[:.\#$%&+?<>~/-](?=\w))*)    # pandoc @key; not e-mail
    """,
    re.VERBOSE,
)


def is_references_cell(cell: Mapping[str, Any]) -> bool:
    """Whether ``cell`` is the generated References cell (its metadata carries the marker)."""
    marker = cell.get("metadata", {}).get(METADATA_KEY, {})
    return isinstance(marker, Mapping) and marker.get("role") == REFERENCES_ROLE


def _blank(text: str) -> str:
    """``text`` replaced by spaces (newlines kept), so later positions stay comparable."""
    return re.sub(r"[^\n]", " ", text)


def _without_comments(text: str) -> str:
    """``text`` with every closed ``<!-- … -->`` blanked out; found with ``str.find`` in one pass
    (a regex retried from each of many unclosed ``<!--`` would be quadratic)."""
    parts, done = [], 0
    while (opening := text.find("<!--", done)) >= 0:
        closing = text.find("-->", opening + 4)
        if closing < 0:
            break  # no comment can close after this point either
        end = closing + 3
        parts += [text[done:opening], _blank(text[opening:end])]
        done = end
    return "".join(parts) + text[done:]


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
    text = _without_comments("\n".join(lines))

    def code_span(match: re.Match[str]) -> str:
        # {cite}`k1,k2` looks like inline code to a code-span scanner; keep the role's argument.
        return (
            match.group()
            if _MYST_ROLE.search(text[max(0, match.start() - 40) : match.start()])
            else _blank(match.group())
        )

    return _INLINE_CODE.sub(code_span, text)


def blank_code(source: str) -> str:
    """``source`` with code (fenced, inline) and HTML comments blanked out, positions kept: where
    citations may be looked for (MyST role arguments are kept)."""
    return _without_code(source)


def _keys_in(source: str) -> list[str]:
    keys = []
    for match in _CITATION.finditer(_without_code(source)):
        if match["pandoc"] is not None or match["braced"] is not None:
            keys.append((match["pandoc"] or match["braced"]).strip())
            continue
        listed = match["myst"] if match["myst"] is not None else match["latex"]
        if listed is None:
            listed = html.unescape(match["dq"] if match["dq"] is not None else match["sq"])
        # MyST roles may wrap a key in "{see}key{p. 3}" (prefix, locator); \nocite{*} cites no key.
        keys += [_MYST_NOTES.sub("", k).strip() for k in listed.split(",") if k.strip() not in ("", "*")]
    return keys


def _notebook(notebook: str | os.PathLike[str] | Mapping[str, Any]) -> nbformat.NotebookNode:
    # Imported on use: nbformat pulls in jsonschema (~1 s), which importing the package or opening
    # a PaperBrowser must not pay for.
    import nbformat

    if isinstance(notebook, (str, os.PathLike)):
        read: nbformat.NotebookNode = nbformat.read(os.fspath(notebook), as_version=4)  # type: ignore[no-untyped-call]
        return read
    return notebook if isinstance(notebook, nbformat.NotebookNode) else nbformat.from_dict(notebook)  # type: ignore[no-untyped-call]


def cited_keys(notebook: str | os.PathLike[str] | Mapping[str, Any]) -> list[str]:
    """Every key cited in the markdown cells of ``notebook`` (a path or nbformat object), in order
    of first appearance; the References cell itself is skipped."""
    seen: dict[str, None] = {}
    for cell in _notebook(notebook).get("cells", []):
        if cell.get("cell_type") == "markdown" and not is_references_cell(cell):
            source = cell.get("source", "")
            for key in _keys_in("".join(source) if isinstance(source, list) else source):
                seen.setdefault(key, None)
    return list(seen)


def _frame(lib_or_frame: object) -> pd.DataFrame:
    frame = getattr(lib_or_frame, "df", lib_or_frame)
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"expected a Library or a DataFrame, got {type(lib_or_frame).__name__}")
    return frame


def references(
    notebook: str | os.PathLike[str] | Mapping[str, Any],
    lib_or_frame: object,
    style: str = "text",
    *,
    csl: CslStyle | None = None,
) -> str:
    """The markdown of the References cell for ``notebook``: ``## References`` and one list item per
    cited key, in order of first citation.

    ``lib_or_frame`` is a :class:`~paper_widgets.Library` or its ``df``.  An item is the paper's
    reference in the CSL style ``csl`` (default APA); with a ``style`` other than ``"text"`` it starts
    with the citation in that style.  Keys the library does not know are listed as missing.  The
    list is wrapped so that publishing tools do not print it (see the module docstring).
    """
    frame = _frame(lib_or_frame)
    style = check_style(style)
    by_key = frame.set_index("key", drop=False)
    cited = cited_keys(notebook)
    known = by_key.loc[[key for key in cited if key in by_key.index]].reset_index(drop=True)
    items = []
    # One bibliography for all, so numeric styles number the papers and author-date styles sort them.
    for key, entry in csl_bibliography(known, csl) if len(known) else []:
        text = markdown_reference(entry)
        items.append(
            f"- {text}" if style == "text" else f"- {markdown_citation(by_key.loc[key], style, csl=csl)}: {text}"
        )
    items += [
        f"- **Missing:** {escape_markdown(key)} is cited but not in the library"
        for key in cited
        if key not in by_key.index
    ]
    body = "\n".join(items) if items else "_No citations found in this notebook._"
    return f'{HEADING}\n\n<noframes class="paper-widgets-references">\n\n{body}\n\n</noframes>\n'


def write_bibliography(
    notebook: str | os.PathLike[str] | Mapping[str, Any],
    lib_or_frame: object,
    path: str | os.PathLike[str],
) -> list[str]:
    """Write the BibTeX of exactly the papers ``notebook`` cites (keys as cited) to ``path``; returns
    the keys written.  Cited keys the library lacks are left out (the References cell names them)."""
    frame = _frame(lib_or_frame)
    by_key = frame.set_index("key", drop=False)
    keys = [key for key in cited_keys(notebook) if key in by_key.index]
    cited = with_arxiv_dates(by_key.loc[keys].reset_index(drop=True))
    Path(path).write_text(to_bibtex(cited), encoding="utf-8")
    return keys


def update_notebook(
    path: str | os.PathLike[str],
    lib_or_frame: object,
    style: str = "text",
    *,
    csl: CslStyle | None = None,
    bib_name: str = BIB_NAME,
) -> Path:
    """Create or refresh the References cell of the notebook file at ``path`` (appended when it has
    none) and write its ``bib_name`` beside it; returns the path of the .bib file."""
    import nbformat

    notebook = _notebook(path)
    text = references(notebook, lib_or_frame, style, csl=csl)
    cell = next((c for c in notebook.cells if is_references_cell(c)), None)
    if cell is None:
        cell = nbformat.v4.new_markdown_cell(text)  # type: ignore[no-untyped-call]
        notebook.cells.append(cell)
    cell.source = text
    cell.metadata.update(REFERENCES_METADATA)
    tags = list(cell.metadata.get("tags", []))
    cell.metadata["tags"] = tags if REMOVE_TAG in tags else [*tags, REMOVE_TAG]
    bib_path = Path(path).parent / bib_name
    write_bibliography(notebook, lib_or_frame, bib_path)
    nbformat.write(notebook, os.fspath(path))  # type: ignore[no-untyped-call]
    return bib_path
