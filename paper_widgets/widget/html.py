"""Browser stage, rendering half: library rows as safe HTML for the paper browser's list and detail pane.

Everything here is a pure function of ``lib.df`` rows, so it is tested without widgets.  Dump text
is untrusted: every text segment goes through :func:`html.escape`, highlighting wraps only the
spans :meth:`paper_widgets.Library.match_spans` found in the raw text (minus common words,
which neither decide a match nor deserve a highlight), and only well-formed ``http(s)`` URLs (and
arXiv ids) become links.  Colours and fonts come from JupyterLab's theme variables, so the panel
follows the light and dark themes.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from paper_widgets import Library

__all__ = ["STYLE_SHEET", "detail_html", "highlight", "link", "load_warnings_html", "result_rows_html", "safe_url"]

# No quotes, angle brackets, whitespace or backslashes: nothing that could leave the href attribute.
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[^\s\"'<>\\`]*)?")
_ARXIV_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")
MAX_AUTHORS = 12  # more are summarised as "first 12 … and N more"
LIST_AUTHORS = 2  # the list's author column: "A, B et al."
MAX_WARNINGS = 20  # load problems listed in the panel; lib.warnings has them all
# Function words a query may contain ("forget a behaviour by negating") that are no evidence of a
# match: a highlight on every "a" and "by" hides the words that made the paper match.
COMMON_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "into",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "via",
        "was",
        "we",
        "were",
        "which",
        "with",
    ]
)

# Scoped to the panel; JupyterLab's theme variables (with fallbacks for other frontends).  Below
# 760 px the panes wrap: the detail pane goes under the list at full width instead of shrinking;
# in a list narrower than 520 px the authors column gives its room to the titles.
STYLE_SHEET = """<style>
.paper-widgets { font-family: var(--jp-ui-font-family, system-ui, sans-serif);
  font-size: var(--jp-ui-font-size1, 13px); color: var(--jp-content-font-color1, inherit); }
.paper-widgets .pw-panes { display: flex; flex-flow: row wrap; gap: 8px; align-items: stretch; }
.paper-widgets .pw-results { flex: 1 1 380px; min-width: 300px; height: 340px; margin: 0; }
.paper-widgets .pw-detail { flex: 1 1 360px; min-width: 300px; height: 340px; overflow: auto; margin: 0;
  padding: 0 8px; box-sizing: border-box; }
.paper-widgets .pw-rows { height: 338px; overflow-y: auto; outline: none; box-sizing: border-box;
  container-type: inline-size;
  border: var(--jp-border-width, 1px) solid var(--jp-border-color1, #bdbdbd); border-radius: 2px;
  background: var(--jp-layout-color1, transparent); }
.paper-widgets .pw-rows:focus { border-color: var(--jp-brand-color1, #1976d2); }
.paper-widgets .pw-row { display: grid; grid-template-columns: minmax(0, 1fr) 3.2em 3.6em minmax(0, 9em);
  gap: 8px; padding: 3px 6px; cursor: pointer; line-height: 1.5; border-left: 3px solid transparent; }
.paper-widgets .pw-row > span { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.paper-widgets .pw-row .pw-col-year, .paper-widgets .pw-row .pw-col-upvotes { text-align: right;
  font-variant-numeric: tabular-nums; color: var(--jp-content-font-color2, inherit); }
.paper-widgets .pw-row .pw-col-authors { color: var(--jp-content-font-color2, inherit); }
.paper-widgets .pw-row:hover { background: var(--jp-layout-color2, rgba(128, 128, 128, 0.15)); }
.paper-widgets .pw-row[aria-selected="true"] { background: var(--jp-layout-color2, rgba(128, 128, 128, 0.2));
  border-left-color: var(--jp-brand-color1, #1976d2); }
.paper-widgets .pw-empty { padding: 12px; color: var(--jp-content-font-color2, inherit); }
.paper-widgets mark.pw-mark { color: inherit; border-radius: 2px; padding: 0 1px;
  background: color-mix(in srgb, var(--jp-warn-color1, #f57c00) 35%, transparent); }
.paper-widgets .pw-paper { font-family: var(--jp-content-font-family, inherit);
  color: var(--jp-content-font-color1, inherit); line-height: 1.45; }
.paper-widgets .pw-facts, .paper-widgets .pw-key, .paper-widgets .pw-sources {
  color: var(--jp-content-font-color2, inherit); }
.paper-widgets .pw-feedback, .paper-widgets .pw-count { min-height: 1.5em; }
@container (max-width: 520px) {
  .paper-widgets .pw-row { grid-template-columns: minmax(0, 1fr) 3.2em 3.6em; }
  .paper-widgets .pw-row .pw-col-authors { display: none; }
}
</style>"""


def _stripped(value: object) -> str | None:
    """A cell's text without surrounding blanks; None for NA, None, non-strings and blank text."""
    return value.strip() or None if isinstance(value, str) else None


def _strings(value: object) -> list[str]:
    """The non-blank strings of a list column cell (lists may be missing in hand-made frames)."""
    return [v for v in value if _stripped(v)] if isinstance(value, (list, tuple)) else []


def safe_url(url: object) -> str | None:
    """``url`` when it is a well-formed http(s) URL, else None (``javascript:``, ``data:``, junk)."""
    text = _stripped(url)
    return text if text and _HTTP_URL.fullmatch(text) else None


def link(url: str, label: str) -> str:
    """An ``<a>`` opening ``url`` (already checked by :func:`safe_url`) in a new tab."""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'
    )


def _telling_spans(text: str, query: str) -> list[tuple[int, int]]:
    """The spans of ``text`` matching ``query``, without those that are only a common word."""
    return [
        (start, end) for start, end in Library.match_spans(text, query) if text[start:end].lower() not in COMMON_WORDS
    ]


def highlight(text: str, query: str) -> str:
    """``text`` escaped, with the spans matching ``query`` (common words aside) wrapped in ``<mark>``."""
    out, last = [], 0
    for start, end in _telling_spans(text, query):
        out += [html.escape(text[last:start]), '<mark class="pw-mark">', html.escape(text[start:end]), "</mark>"]
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def _date(row: Mapping[str, Any]) -> str | None:
    published = row.get("published")
    return None if published is None or pd.isna(published) else pd.Timestamp(published).strftime("%Y-%m-%d")


def _count(row: Mapping[str, Any], column: str) -> int | None:
    value = row.get(column)
    return None if value is None or pd.isna(value) else int(value)


def _authors(row: Mapping[str, Any]) -> str | None:
    names = _strings(row.get("authors"))
    if names:
        shown = ", ".join(names[:MAX_AUTHORS])
        return shown + (f" and {len(names) - MAX_AUTHORS} more" if len(names) > MAX_AUTHORS else "")
    n = _count(row, "n_authors")
    return None if n is None else f"{n} author{'s' * (n != 1)}"


def _list_authors(row: Mapping[str, Any]) -> str:
    names = _strings(row.get("authors"))
    if names:
        return ", ".join(names[:LIST_AUTHORS]) + (" et al." if len(names) > LIST_AUTHORS else "")
    n = _count(row, "n_authors")
    return "" if n is None else f"{n} author{'s' * (n != 1)}"


def result_rows_html(rows: pd.DataFrame, query: str, selected: str | None, empty: str) -> str:
    """The result list: one row per paper (title with matched words marked, year, upvotes, authors).

    Rows carry their citekey in ``data-key`` for the JupyterLab plugin, which turns clicks and the
    search box's arrow keys into picks; ``empty`` is what the list says when there are no rows.
    """
    out = ['<div class="pw-rows tex2jax_ignore" tabindex="0" role="listbox" aria-label="Search results">']
    if not len(rows):
        out.append(f'<div class="pw-empty">{html.escape(empty)}</div>')
    columns = [c for c in ("key", "title", "published", "upvotes", "authors", "n_authors") if c in rows.columns]
    # Plain dicts from whole columns: a Series per row costs more than the HTML.
    for values in zip(*(rows[c].tolist() for c in columns), strict=True):
        row = dict(zip(columns, values, strict=True))
        key = str(row["key"])
        title = " ".join(str(row.get("title") or "Untitled").split())
        date = _date(row)
        upvotes = _count(row, "upvotes")
        authors = _list_authors(row)
        hint = " · ".join(p for p in (title, date, authors) if p)
        out.append(
            f'<div class="pw-row" role="option" data-key="{html.escape(key, quote=True)}"'
            f' aria-selected="{"true" if key == selected else "false"}" title="{html.escape(hint, quote=True)}">'
            f'<span class="pw-col-title">{highlight(title, query)}</span>'
            f'<span class="pw-col-year">{date[:4] if date else ""}</span>'
            f'<span class="pw-col-upvotes">{"" if upvotes is None else f"▲{upvotes}"}</span>'
            f'<span class="pw-col-authors">{html.escape(authors)}</span></div>'
        )
    out.append("</div>")
    return "".join(out)


def detail_html(row: pd.Series, query: str = "") -> str:
    """The detail pane for one paper: title, date, authors, upvotes, links, highlighted abstract, sources."""
    facts = []
    if date := _date(row):
        facts.append(html.escape(date))
    if authors := _authors(row):
        facts.append(html.escape(authors))
    if (upvotes := _count(row, "upvotes")) is not None:
        facts.append(f"▲ {upvotes} upvotes")
    links = []
    if url := safe_url(row.get("url")):
        links.append(link(url, "Hugging Face" if "huggingface.co/" in url else url))
    arxiv_id = row.get("arxiv_id")
    if (arxiv := _stripped(arxiv_id)) and _ARXIV_ID.fullmatch(arxiv):
        links.append(link(f"https://arxiv.org/abs/{arxiv}", f"arXiv:{arxiv}"))
    sources = _strings(row.get("sources"))
    # tex2jax_ignore: JupyterLab typesets widget HTML with MathJax, and "$" in abstracts is not math.
    parts = [
        '<div class="pw-paper tex2jax_ignore">',
        f'<h3 class="pw-title" style="margin:4px 0 6px">{highlight(str(row.get("title") or "Untitled"), query)}</h3>',
        f'<div class="pw-facts">{" · ".join(facts)}</div>',
        f'<div class="pw-key">Key: <code>{html.escape(str(row["key"]))}</code></div>',
    ]
    if links:
        parts.append(f'<div class="pw-links">{" · ".join(links)}</div>')
    abstract = str(row.get("abstract") or "")
    parts.append(
        f'<p class="pw-abstract" style="margin-top:8px">{highlight(abstract, query) if abstract else "<em>No abstract.</em>"}</p>'
    )
    if sources:
        parts.append(f'<div class="pw-sources">Sources: {html.escape(", ".join(sources))}</div>')
    parts.append("</div>")
    return "\n".join(parts)


def load_warnings_html(problems: Sequence[object]) -> str:
    """One line on what the library could not read, the problems (file and line each) folded under it."""
    if not problems:
        return ""
    shown = "".join(f"<li>{html.escape(str(problem))}</li>" for problem in problems[:MAX_WARNINGS])
    more = f"<li>… and {len(problems) - MAX_WARNINGS} more in lib.warnings</li>" if len(problems) > MAX_WARNINGS else ""
    plural = "s" * (len(problems) != 1)
    return (
        f'<details class="tex2jax_ignore"><summary>{len(problems)} problem{plural} while loading; '
        f"everything else loaded</summary><ul>{shown}{more}</ul></details>"
    )
