"""Citations and snippets: the output stage that turns library rows into text for notebooks and papers.

Functions here take rows (``pd.Series``) or frames of ``lib.df`` rows in the order they should be
cited; the :class:`~paper_widgets.Library` facade looks keys up and delegates.  Text from dumps is
untrusted, so everything that reaches markdown or HTML goes through :func:`escape_markdown`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable
from typing import Any

import pandas as pd
from rapidfuzz import fuzz, process

from paper_widgets.data.text import words
from paper_widgets.output.csl import GAP, CslStyle, csl_bibliography, csl_citation, short_title
from paper_widgets.vocabulary import DEFAULT_STYLE, STYLES

__all__ = [
    "check_style",
    "cite",
    "escape_markdown",
    "markdown_citation",
    "markdown_reference",
    "reference",
    "short_title",
    "snippet",
    "split_sentences",
    "unknown_key",
]


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


def _frame(rows: pd.Series | pd.DataFrame) -> pd.DataFrame:
    return rows.to_frame().T if isinstance(rows, pd.Series) else rows


def reference(row: pd.Series, *, markdown: bool = False, csl: CslStyle | None = None) -> str:
    """The reference-list entry of ``row`` in the CSL style ``csl`` (default APA); ``markdown=True``
    escapes it for a markdown cell (see :func:`markdown_reference`)."""
    text = csl_bibliography(_frame(row), csl)[0][1]
    return markdown_reference(text) if markdown else text


def markdown_reference(entry: str) -> str:
    """A plain reference-list ``entry`` escaped for markdown, its trailing URL made a link."""
    url = re.search(r"\s(https?://[^\s<>\\]+?)\.?$", entry)
    if url is None:
        return escape_markdown(entry)
    return f"{escape_markdown(entry[: url.start()])} <{url[1]}>{entry[url.end(1) :]}"


def _rows(rows: pd.Series | pd.DataFrame) -> list[pd.Series]:
    return [rows] if isinstance(rows, pd.Series) else [row for _, row in rows.iterrows()]


def _cite_tag(rows: list[pd.Series], label: str) -> str:
    # nbconvert's citation2latex replaces any element carrying data-cite with \cite{<attribute value>}
    # (the value is HTML-unescaped by html.parser), so "k1,k2" becomes \cite{k1,k2}.
    keys = html.escape(",".join(row["key"] for row in rows), quote=True)
    return f'<cite data-cite="{keys}">{escape_markdown(label)}</cite>'


def _bracketed(text: str | None) -> str:
    return text.replace("{", "(").replace("}", ")").replace(",", ";") if text else ""


def cite(
    rows: pd.Series | pd.DataFrame,
    style: str | None = None,
    *,
    narrative: bool = False,
    locator: str | None = None,
    prefix: str | None = None,
    suffix: str | None = None,
    csl: CslStyle | None = None,
) -> str:
    """Cite one row (a ``Series``) or every row of a frame, in order, in ``style`` (default: DEFAULT_STYLE).

    ``pandoc`` → ``[see @k1; @k2, p. 3]`` (narrative ``@k1``), ``myst`` → ``{cite:p}`{see}k1,k2{p. 3}```
    (narrative ``{cite:t}``), ``latex`` → ``\\cite{k1,k2}`` (natbib ``\\citep[see][p. 3]{…}`` with a
    locator or prefix, ``\\citet`` narrative), ``cite`` → ``<cite data-cite="k1,k2">(Yu et al., 2020)</cite>``,
    ``text`` → the in-text citation of the CSL style ``csl`` (default APA): "(Yu et al., 2020, p. 3)".
    ``locator`` ("p. 3", "chap. 2"), ``prefix`` ("see") and ``suffix`` go where each syntax puts them.
    """
    style = check_style(style)
    rows = _rows(rows)
    if not rows:
        raise ValueError("nothing to cite")
    keys = [row["key"] for row in rows]
    after = ", ".join(part for part in (locator, suffix) if part)
    if style == "pandoc":
        if narrative:
            return "; ".join(f"@{k}" for k in keys) + (f" [{after}]" if after else "")
        before = f"{prefix} " if prefix else ""
        return "[" + before + "; ".join(f"@{k}" for k in keys) + (f", {after}" if after else "") + "]"
    if style == "myst":
        # sphinxcontrib-bibtex and mystmd both read "{pre}key{post}"; both split keys at commas.
        items = list(keys)
        if prefix:
            items[0] = "{" + _bracketed(prefix) + "}" + items[0]
        if after:
            items[-1] += "{" + _bracketed(after) + "}"
        return ("{cite:t}`" if narrative else "{cite:p}`") + ",".join(items) + "`"
    if style == "latex":
        if narrative or prefix or after:
            notes = f"[{prefix or ''}][{after}]" if prefix else (f"[{after}]" if after else "")
            return ("\\citet" if narrative else "\\citep") + notes + "{" + ",".join(keys) + "}"
        return "\\cite{" + ",".join(keys) + "}"
    text = csl_citation(pd.DataFrame(rows), csl, narrative=narrative, locator=locator, prefix=prefix, suffix=suffix)
    return _cite_tag(rows, text) if style == "cite" else text


def markdown_citation(
    rows: pd.Series | pd.DataFrame, style: str | None = None, *, csl: CslStyle | None = None, **options: Any
) -> str:
    """:func:`cite`, but safe to put into a markdown cell (the ``text`` style escaped)."""
    style = check_style(style)
    if style == "text":
        return escape_markdown(cite(rows, style, csl=csl, **options))
    return cite(rows, style, csl=csl, **options)


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


def snippet(
    row: pd.Series,
    query: str | None = None,
    sentences: int = 2,
    style: str | None = None,
    *,
    csl: CslStyle | None = None,
) -> str:
    """A markdown blockquote of the ``sentences`` abstract sentences that best match ``query``
    (the opening ones without a query), kept in text order with "…" for gaps, then the citation
    (``text`` style: the in-text citation of the CSL style ``csl``)."""
    if sentences < 1:
        raise ValueError("sentences must be at least 1")
    found = split_sentences(row.get("abstract") or "")
    quote = _quote(found, _choose(found, query, sentences)) if found else escape_markdown(row.get("title") or "")
    return f"> {quote}\n>\n> — {markdown_citation(row, style, csl=csl)}\n"
