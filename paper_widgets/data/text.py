"""Text folding shared by merging, citekeys and search.

Folding makes comparisons ignore case, accents, punctuation, hyphens and
whitespace, so ``"Multi-Task"`` and ``"multi task"`` fold to the same words.
Folding is only ever used for comparing and indexing; the library keeps the
original text untouched.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = [
    "ARXIV_VERSION",
    "MONTHS",
    "fold",
    "is_text",
    "month_number",
    "text_items",
    "valid_unicode",
    "without_arxiv_version",
    "words",
]

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
# BibTeX's month macros, which are also the three-letter abbreviations of dumps and arXiv dates.
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_MONTH_NUMBERS = {name: number for number, name in enumerate(MONTHS, 1)}
ARXIV_VERSION = re.compile(r"v\d+$", re.IGNORECASE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def fold(text: str) -> str:
    """Lower-case ``text``, strip accents and turn every run of non-word characters into one space."""
    if not text.isascii():  # ASCII text has nothing to decompose (a query is folded on every keystroke)
        decomposed = unicodedata.normalize("NFKD", text)
        text = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", text.casefold()).strip()


def words(text: str) -> list[str]:
    """The folded words of ``text``."""
    folded = fold(text)
    return folded.split() if folded else []


def is_text(value: object) -> bool:
    """Whether a cell of the library holds real text: a string that is not blank (NA, None and "" are not)."""
    return isinstance(value, str) and bool(value.strip())


def valid_unicode(text: str) -> str:
    """``text`` with lone surrogates (which JSON ``"\\ud83d"`` escapes can produce, and which no
    encoder, database or terminal accepts) replaced by U+FFFD; everything else kept."""
    return text if text.isascii() else _LONE_SURROGATE.sub("\ufffd", text)


def text_items(value: object) -> list[str]:
    """The non-blank strings of a list cell (authors, sources); a lone string counts as a one-item list."""
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple)):
        return [item for item in value if is_text(item)]
    if hasattr(value, "tolist"):  # a numpy array cell
        return text_items(value.tolist())
    return []


def month_number(text: str) -> int | None:
    """1–12 for a month name or abbreviation (``"Sep"``, ``"september"``) or number (``"9"``), else None."""
    number = _MONTH_NUMBERS.get(text.lower())  # "Sep": the common case, one lookup
    if number:
        return number
    text = text.strip().lower()
    if text.isdigit():
        return int(text) if 1 <= int(text) <= 12 else None
    return _MONTH_NUMBERS.get(text[:3])


def without_arxiv_version(arxiv_id: str) -> str:
    """``"2406.12345v2"`` → ``"2406.12345"``: the id that names every version of a paper."""
    return ARXIV_VERSION.sub("", arxiv_id.strip())
