"""Browser stage, rendering half: library rows as safe HTML and one-line labels for the paper browser.

Everything here is a pure function of a ``lib.df`` row, so it is tested without widgets.  Dump text
is untrusted: every text segment goes through :func:`html.escape`, highlighting wraps only the
spans :func:`paper_widgets.search.engine.match_spans` found in the raw text, and only well-formed
``http(s)`` URLs (and arXiv ids) become links.
"""

from __future__ import annotations

import html
import re

import pandas as pd

from paper_widgets.data.text import is_text
from paper_widgets.search.engine import match_spans

__all__ = ["detail_html", "highlight", "link", "result_label", "safe_url"]

# No quotes, angle brackets, whitespace or backslashes: nothing that could leave the href attribute.
_HTTP_URL = re.compile(r"https?://[A-Za-z0-9.-]+(?::\d+)?(?:/[^\s\"'<>\\`]*)?")
_ARXIV_ID = re.compile(r"(?:\d{4}\.\d{4,5}|[a-z-]+(?:\.[A-Z]{2})?/\d{7})(?:v\d+)?")
MAX_AUTHORS = 12  # more are summarised as "first 12 … and N more"


def _strings(value: object) -> list[str]:
    """The non-blank strings of a list column cell (lists may be missing in hand-made frames)."""
    return [v for v in value if is_text(v)] if isinstance(value, (list, tuple)) else []


def safe_url(url: object) -> str | None:
    """``url`` when it is a well-formed http(s) URL, else None (``javascript:``, ``data:``, junk)."""
    return url.strip() if is_text(url) and _HTTP_URL.fullmatch(url.strip()) else None


def link(url: str, label: str) -> str:
    """An ``<a>`` opening ``url`` (already checked by :func:`safe_url`) in a new tab."""
    return (
        f'<a href="{html.escape(url, quote=True)}" target="_blank" rel="noopener noreferrer">{html.escape(label)}</a>'
    )


def highlight(text: str, query: str) -> str:
    """``text`` escaped, with the spans matching ``query`` wrapped in ``<mark>``."""
    out, last = [], 0
    for start, end in match_spans(text, query):
        out += [html.escape(text[last:start]), "<mark>", html.escape(text[start:end]), "</mark>"]
        last = end
    out.append(html.escape(text[last:]))
    return "".join(out)


def _date(row: pd.Series) -> str | None:
    published = row.get("published")
    return None if published is None or pd.isna(published) else pd.Timestamp(published).strftime("%Y-%m-%d")


def _count(row: pd.Series, column: str) -> int | None:
    value = row.get(column)
    return None if value is None or pd.isna(value) else int(value)


def _authors(row: pd.Series) -> str | None:
    names = _strings(row.get("authors"))
    if names:
        shown = ", ".join(names[:MAX_AUTHORS])
        return shown + (f" and {len(names) - MAX_AUTHORS} more" if len(names) > MAX_AUTHORS else "")
    n = _count(row, "n_authors")
    return None if n is None else f"{n} author{'s' * (n != 1)}"


def result_label(row: pd.Series) -> str:
    """One plain-text line for the result list: title · date · upvotes · authors (the list shows text, not HTML)."""
    title = " ".join(str(row.get("title") or "Untitled").split())
    parts = [title if len(title) <= 90 else title[:89] + "…"]
    if date := _date(row):
        parts.append(date)
    if (upvotes := _count(row, "upvotes")) is not None:
        parts.append(f"▲{upvotes}")
    n = len(_strings(row.get("authors"))) or _count(row, "n_authors")
    if n:
        parts.append(f"{n} author{'s' * (n != 1)}")
    return " · ".join(parts)


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
    if is_text(arxiv_id) and _ARXIV_ID.fullmatch(arxiv_id.strip()):
        links.append(link(f"https://arxiv.org/abs/{arxiv_id.strip()}", f"arXiv:{arxiv_id.strip()}"))
    sources = _strings(row.get("sources"))
    # tex2jax_ignore: JupyterLab typesets widget HTML with MathJax, and "$" in abstracts is not math.
    parts = [
        '<div class="pw-paper tex2jax_ignore" style="line-height:1.45">',
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
