"""LaTeX and PDF export: nbconvert exporters that turn a literature notebook into a natbib paper.

``jupyter nbconvert --to paper_widgets_latex nb.ipynb`` (or ``paper_widgets_pdf``; entry points in
``pyproject.toml``) converts every citation syntax paper_widgets writes or reads into natbib:
pandoc ``[see @k, p. 3]`` → ``\\citep[see][p.~3]{k}``, narrative ``@k`` → ``\\citet{k}``, MyST
``{cite:p}`` / ``{cite:t}`` likewise, ``\\cite`` → ``\\citep`` and ``<cite data-cite="k">`` →
``\\citep{k}``.  The References cell is dropped; the bibliography comes from ``references.bib``
beside the notebook (see :func:`paper_widgets.output.bibliography.update_notebook`), set with
natbib's ``plainnat``.  The PDF is built with pdflatex and bibtex.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nbconvert.exporters import LatexExporter, PDFExporter
from nbconvert.preprocessors import Preprocessor
from traitlets import Unicode, default

from paper_widgets.output.bibliography import BIB_NAME, blank_code, is_references_cell
from paper_widgets.output.export import latex_escape

__all__ = ["NatbibCitations", "PaperWidgetsLatexExporter", "PaperWidgetsPDFExporter"]

TEMPLATES = Path(__file__).with_name("templates")
TEMPLATE_NAME = "paper_widgets_latex"

_KEY = r"\w(?:[\w:.#$%&+?<>~/-]*\w)?"
# A bracketed pandoc citation group: "[see @a, p. 3; -@b]" (not a link: no "(" after the "]").
_PANDOC_GROUP = re.compile(r"\[(?P<body>[^\[\]]*?(?<![\w.+])-?@[^\[\]]*)\](?![(\[])")
_PANDOC_ITEM = re.compile(rf"^(?P<prefix>.*?)-?@(?:\{{(?P<braced>[^}}]+)\}}|(?P<key>{_KEY}))(?P<suffix>.*)$", re.DOTALL)
# Narrative pandoc citation, "@key" or "@key [p. 3]"; not an e-mail address.
_PANDOC_NARRATIVE = re.compile(rf"(?<![\w@.+\\/:=-])@(?P<key>{_KEY})(?:\s?\[(?P<note>[^\[\]@]*)\])?")
_MYST = re.compile(r"\{cite(?::(?P<kind>[\w-]+))?\}`(?P<body>[^`]*)`")
_MYST_ITEM = re.compile(r"^\s*(?:\{(?P<prefix>[^{}]*)\})?(?P<key>[^{}]*?)(?:\{(?P<suffix>[^{}]*)\})?\s*$")
_PLAIN_LATEX_CITE = re.compile(r"\\cite(?=\s*[\[{])")  # natbib's \cite is textual; ours were parenthetical
_HTML_CITE = re.compile(
    r"<cite\b[^>]*?\bdata-cite\s*=\s*(?:\"(?P<dq>[^\"]*)\"|'(?P<sq>[^']*)')[^>]*>.*?</cite>", re.DOTALL
)
_NARRATIVE_MYST_KINDS = frozenset(["t", "ts", "ct", "cts", "author", "authors", "cauthor", "cauthors"])


def _natbib(command: str, keys: list[str], prefix: str = "", postnote: str = "") -> str:
    """``\\citep[prefix][postnote]{keys}`` with only the notes that are there; note text LaTeX-escaped."""
    prefix, postnote = latex_escape(prefix.strip()), latex_escape(postnote.strip().lstrip(",").strip())
    notes = f"[{prefix}][{postnote}]" if prefix else (f"[{postnote}]" if postnote else "")
    return f"\\{command}{notes}{{{','.join(keys)}}}"


def _pandoc_group(match: re.Match[str]) -> str:
    items = [_PANDOC_ITEM.match(part.strip()) for part in match["body"].split(";")]
    if not all(items):
        return match.group()  # "[email me @ noon]": not a citation
    found = [item for item in items if item is not None]
    keys = [(item["braced"] or item["key"]).strip() for item in found]
    return _natbib("citep", keys, found[0]["prefix"], found[-1]["suffix"])


def _pandoc_narrative(match: re.Match[str]) -> str:
    return _natbib("citet", [match["key"]], "", match["note"] or "")


def _myst(match: re.Match[str]) -> str:
    items = [_MYST_ITEM.match(part) for part in match["body"].split(",")]
    found = [item for item in items if item is not None and item["key"].strip()]
    if not found:
        return match.group()
    command = "citet" if match["kind"] in _NARRATIVE_MYST_KINDS else "citep"
    keys = [item["key"].strip() for item in found]
    return _natbib(command, keys, found[0]["prefix"] or "", found[-1]["suffix"] or "")


def _html_cite(match: re.Match[str]) -> str:
    import html

    listed = html.unescape(match["dq"] if match["dq"] is not None else match["sq"])
    return _natbib("citep", [key.strip() for key in listed.split(",") if key.strip()])


def _substitute(source: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str]) -> str:
    """``pattern`` replaced in ``source`` outside code spans, fences and HTML comments."""
    pieces, last = [], 0
    for match in pattern.finditer(blank_code(source)):
        original = pattern.match(source, match.start())
        if original is None or original.end() != match.end():
            continue
        pieces += [source[last : match.start()], replace(original)]
        last = match.end()
    return "".join([*pieces, source[last:]])


def natbib_markdown(source: str) -> str:
    """Markdown ``source`` with every citation turned into a natbib command (raw LaTeX that pandoc keeps)."""
    for pattern, replace in (
        (_HTML_CITE, _html_cite),
        (_MYST, _myst),
        (_PANDOC_GROUP, _pandoc_group),
        (_PANDOC_NARRATIVE, _pandoc_narrative),
    ):
        source = _substitute(source, pattern, replace)
    return _substitute(source, _PLAIN_LATEX_CITE, lambda match: "\\citep")


class NatbibCitations(Preprocessor):
    """Drop the References cell, turn citations into natbib and point the template at the .bib file."""

    bib_name = Unicode(BIB_NAME, help="The BibTeX file beside the notebook").tag(config=True)
    bib_style = Unicode("plainnat", help="The natbib bibliography style (.bst)").tag(config=True)

    def preprocess(self, nb: Any, resources: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        nb.cells = [cell for cell in nb.cells if not is_references_cell(cell)]
        for cell in nb.cells:
            if cell.cell_type == "markdown":
                cell.source = natbib_markdown(cell.source)
        folder = Path(resources.get("metadata", {}).get("path") or ".")
        bib = folder / self.bib_name
        if bib.is_file():
            # bibtex finds it by name beside the .tex, or through BIBINPUTS, to which nbconvert's
            # PDF build adds the notebook's folder.
            resources["paper_widgets_bibliography"] = bib.stem
            resources["paper_widgets_bibstyle"] = self.bib_style
        else:
            self.log.warning("%s not found beside the notebook: the document has no bibliography", bib)
        return nb, resources


class PaperWidgetsLatexExporter(LatexExporter):
    """``--to paper_widgets_latex``: LaTeX with natbib citations and the notebook's bibliography."""

    export_from_notebook = "LaTeX with citations (paper_widgets)"

    @default("extra_template_basedirs")
    def _template_dirs(self) -> list[str]:
        return [*LatexExporter._default_extra_template_basedirs(self), str(TEMPLATES)]

    @default("template_name")
    def _template_name(self) -> str:
        return TEMPLATE_NAME

    def _init_preprocessors(self) -> None:
        super()._init_preprocessors()  # type: ignore[no-untyped-call]
        self.register_preprocessor(NatbibCitations, enabled=True)  # type: ignore[no-untyped-call]


class PaperWidgetsPDFExporter(PaperWidgetsLatexExporter, PDFExporter):
    """``--to paper_widgets_pdf``: the same document built with pdflatex and bibtex."""

    export_from_notebook = "PDF with citations (paper_widgets)"

    @default("latex_command")
    def _pdflatex(self) -> list[str]:
        return ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "{filename}"]
