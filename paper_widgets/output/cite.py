"""Citations and snippets: the output stage that turns library rows into text for notebooks and papers.

Functions here take rows (``pd.Series``) or frames of ``lib.df`` rows in the order they should be
cited; the :class:`~paper_widgets.Library` facade looks keys up and delegates.  Text from dumps is
untrusted, so everything that reaches markdown or HTML goes through :func:`escape_markdown`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable

import pandas as pd
from rapidfuzz import fuzz, process

from paper_widgets.data.text import is_text, words
from paper_widgets.vocabulary import DEFAULT_STYLE, STYLES

__all__ = [
    "check_style",
    "cite",
    "escape_markdown",
    "markdown_citation",
    "reference",
    "short_title",
    "snippet",
    "split_sentences",
    "unknown_key",
]

SHORT_TITLE_WORDS = 4
TEXT_AUTHORS = 3  # "A, B and C"; more become "A et al."
GAP = "…"


def check_style(style: str | None) -> str:
    """``style`` if it is one of :data:`~paper_widgets.vocabulary.STYLES`, :data:`DEFAULT_STYLE` for ``None``;
    else ValueError.  (The user's saved default is the Library's to apply: it passes it in.)"""
    if style is None:
        return DEFAULT_STYLE
    if style not in STYLES:
        raise ValueError(f"unknown citation style {style!r}; choose one of {', '.join(STYLES)}")
    return style


def unknown_key(key: str, known: Iterable[str]) -> KeyError:
    """The KeyError for a citekey the library lacks, naming the closest known keys."""
    close = [match for match, _, _ in process.extract(key, list(known), scorer=fuzz.ratio, limit=3, score_cutoff=60)]
    hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
    return KeyError(f"no paper with key {key!r} in this library{hint}")


# -- markdown escaping ---------------------------------------------------------------------------

# Structure characters get a backslash; characters that JupyterLab reads before markdown does
# (``$`` and ``\`` start math there) or that are HTML become character references, which every
# CommonMark renderer shows literally.  ``@`` would start a pandoc citation.
_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "\\": "&#92;", "$": "&#36;"}
_SPECIAL = re.compile(r"[&<>\\$`*_\[\]#|~@]")
_LINE_START_MARKER = re.compile(r"^(\d+)([.)])|^([-+=])(?=\s|$)")
_WHITESPACE = re.compile(r"\s+")


def escape_markdown(text: str) -> str:
    """``text`` as one markdown line that renders exactly as it reads (whitespace runs become one space)."""
    text = _WHITESPACE.sub(" ", text).strip()
    text = _SPECIAL.sub(lambda m: _ENTITIES.get(m.group()) or "\\" + m.group(), text)
    # "1. Intro" or "- item" at the start of a line would become a list.
    return _LINE_START_MARKER.sub(lambda m: f"{m[1]}\\{m[2]}" if m[1] else f"\\{m[3]}", text)


# -- references and citations ---------------------------------------------------------------------


def _year(row: pd.Series) -> str | None:
    published = row.get("published")
    return None if published is None or pd.isna(published) else str(pd.Timestamp(published).year)


def short_title(title: str) -> str:
    """The part of ``title`` before its colon, else its first few words ("…" when cut)."""
    title = _WHITESPACE.sub(" ", title or "").strip()
    head = title.split(":", 1)[0].strip()
    if ":" in title and head:
        return head
    cut = title.split(" ")
    return title if len(cut) <= SHORT_TITLE_WORDS else " ".join(cut[:SHORT_TITLE_WORDS]) + GAP


def _authors_text(authors: object) -> str:
    """ "A", "A and B", "A, B and C", or "A et al." for more; "" when unknown."""
    names = [a.strip() for a in authors if is_text(a)] if isinstance(authors, (list, tuple)) else []
    if len(names) > TEXT_AUTHORS:
        return f"{names[0]} et al."
    if len(names) > 1:
        return ", ".join(names[:-1]) + " and " + names[-1]
    return "".join(names)


def _sentence(text: str) -> str:
    """``text`` ending in a full stop (unless it already ends in ``.``, ``?`` or ``!``)."""
    return text if text.endswith((".", "?", "!")) else text + "."


def reference(row: pd.Series, *, markdown: bool = False) -> str:
    """A plain human-readable reference: ``Authors (year). Title. arXiv:id. url``.

    Without authors the title takes their place (``Title (2024). arXiv:…``), as APA does.
    ``markdown=True`` escapes the text and makes the URL a link.
    """
    title = _WHITESPACE.sub(" ", row.get("title") or "").strip() or "Untitled"
    year = f"({_year(row) or 'n.d.'})"
    authors = _authors_text(row.get("authors"))
    parts = [f"{authors} {year}.", _sentence(title)] if authors else [f"{title} {year}."]
    arxiv_id = row.get("arxiv_id")
    if is_text(arxiv_id):
        parts.append(_sentence(f"arXiv:{arxiv_id.strip()}"))
    text = " ".join(parts)
    url = row.get("url")
    if not is_text(url):
        return escape_markdown(text) if markdown else text
    if not markdown:
        return f"{text} {url.strip()}"
    link = f"<{url}>" if re.fullmatch(r"https?://[^\s<>\\]+", url) else escape_markdown(url)
    return f"{escape_markdown(text)} {link}"


def _rows(rows: pd.Series | pd.DataFrame) -> list[pd.Series]:
    return [rows] if isinstance(rows, pd.Series) else [row for _, row in rows.iterrows()]


def _cite_tag(rows: list[pd.Series]) -> str:
    # nbconvert's citation2latex replaces any element carrying data-cite with \cite{<attribute value>}
    # (the value is HTML-unescaped by html.parser), so "k1,k2" becomes \cite{k1,k2}.
    keys = html.escape(",".join(row["key"] for row in rows), quote=True)
    labels = []
    for row in rows:
        year = _year(row)
        label = escape_markdown(short_title(row.get("title") or "") or row["key"])
        labels.append(f"{label} ({year})" if year else label)
    return f'<cite data-cite="{keys}">{"; ".join(labels)}</cite>'


def cite(rows: pd.Series | pd.DataFrame, style: str | None = None) -> str:
    """Cite one row (a ``Series``) or every row of a frame, in order, in ``style`` (default: DEFAULT_STYLE).

    ``pandoc`` → ``[@k1; @k2]``, ``myst`` → ``{cite}`k1,k2```, ``latex`` → ``\\cite{k1,k2}``,
    ``cite`` → ``<cite data-cite="k1,k2">Short Title (2025); …</cite>``, ``text`` → one plain
    reference per line.
    """
    style = check_style(style)
    rows = _rows(rows)
    if not rows:
        raise ValueError("nothing to cite")
    keys = [row["key"] for row in rows]
    if style == "pandoc":
        return "[" + "; ".join(f"@{k}" for k in keys) + "]"
    if style == "myst":
        return "{cite}`" + ",".join(keys) + "`"
    if style == "latex":
        return "\\cite{" + ",".join(keys) + "}"
    if style == "cite":
        return _cite_tag(rows)
    return "\n".join(reference(row) for row in rows)


def markdown_citation(rows: pd.Series | pd.DataFrame, style: str | None = None) -> str:
    """:func:`cite`, but safe to put into a markdown cell (the ``text`` style escaped)."""
    style = check_style(style)
    if style == "text":
        return "; ".join(reference(row, markdown=True) for row in _rows(rows))
    return cite(rows, style)


# -- sentences and snippets ------------------------------------------------------------------------

# Words whose trailing period does not end a sentence (compared lower-cased, without the period).
_ABBREVIATIONS = frozenset(
    [
        "al",
        "e.g",
        "eg",
        "i.e",
        "ie",
        "cf",
        "vs",
        "fig",
        "figs",
        "eq",
        "eqs",
        "sec",
        "sect",
        "tab",
        "ref",
        "refs",
        "no",
        "nos",
        "vol",
        "pp",
        "p",
        "approx",
        "ca",
        "resp",
        "dr",
        "mr",
        "mrs",
        "ms",
        "prof",
        "st",
        "inc",
        "jr",
        "sr",
        "viz",
        "w.r.t",
        "wrt",
    ]
)
# A candidate end: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?]+[\"'”’)\]]*\s+")
_LAST_WORD = re.compile(r"(\S+)$")


def _ends_sentence(before: str, after: str) -> bool:
    """Whether the punctuation ending ``before`` closes a sentence, ``after`` being the rest."""
    if not after or after[0].islower():
        return False  # "approx. the", "e.g. convolutional"
    last = _LAST_WORD.search(before)
    word = last.group(1) if last else ""
    if not word.endswith("."):
        return True  # "!" or "?" (or "." inside a closing quote)
    stem = word.rstrip(".").lstrip("([\"'").lower()
    if stem in _ABBREVIATIONS or re.fullmatch(r"\d{1,2}", stem):
        return False  # "1. First, …" opens an enumeration
    # Initials ("J. Smith", "U.S. Army"); a lone capital letter rarely ends a sentence.
    return not re.fullmatch(r"(?:[a-z]\.)*[a-z]", stem)


def split_sentences(text: str) -> list[str]:
    """The sentences of ``text``; copes with "e.g.", "et al.", "i.e.", "Fig. 3", "vs.", initials,
    decimals and URLs (a period needs following whitespace to end a sentence)."""
    text = _WHITESPACE.sub(" ", text or "").strip()
    sentences, start = [], 0
    for boundary in _BOUNDARY.finditer(text):
        end = boundary.end()
        before = text[start : boundary.start() + len(boundary.group().rstrip())]
        if before.strip() and _ends_sentence(text[: boundary.start() + 1], text[end:]):
            sentences.append(before.strip())
            start = end
    if text[start:].strip():
        sentences.append(text[start:].strip())
    return sentences


def _scores(sentences: list[str], query: str) -> list[float]:
    """How well each sentence matches the query: 1 per query word present, ½ per prefix match."""
    terms = set(words(query))
    scores = []
    for sentence in sentences:
        present = set(words(sentence))
        score = 0.0
        for term in terms:
            if term in present:
                score += 1
            elif len(term) >= 4 and any(w.startswith(term) or (term.startswith(w) and len(w) >= 4) for w in present):
                score += 0.5  # "merge" ~ "merging", "agents" ~ "agent"
        scores.append(score)
    return scores


def _choose(sentences: list[str], query: str | None, n: int) -> list[int]:
    """Indices of the sentences to quote, in text order."""
    if query and words(query):
        scores = _scores(sentences, query)
        if any(scores):
            ranked = sorted(range(len(sentences)), key=lambda i: (-scores[i], i))
            return sorted(i for i in ranked[:n] if scores[i] > 0) or list(range(min(n, len(sentences))))
    return list(range(min(n, len(sentences))))


def _quote(sentences: list[str], chosen: Iterable[int]) -> str:
    chosen = list(chosen)
    parts, previous = [], -1
    for i in chosen:
        if i != previous + 1:
            parts.append(GAP)
        parts.append(escape_markdown(sentences[i]))
        previous = i
    if chosen and previous != len(sentences) - 1:
        parts.append(GAP)
    return " ".join(parts)


def snippet(row: pd.Series, query: str | None = None, sentences: int = 2, style: str | None = None) -> str:
    """A markdown blockquote of the ``sentences`` abstract sentences that best match ``query``
    (the opening ones without a query), kept in text order with "…" for gaps, then the citation."""
    if sentences < 1:
        raise ValueError("sentences must be at least 1")
    found = split_sentences(row.get("abstract") or "")
    quote = _quote(found, _choose(found, query, sentences)) if found else escape_markdown(row.get("title") or "")
    return f"> {quote}\n>\n> — {markdown_citation(row, style)}\n"
