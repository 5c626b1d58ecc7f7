"""Text folding shared by merging, citekeys and search.

Folding makes comparisons ignore case, accents, punctuation, hyphens and
whitespace, so ``"Multi-Task"`` and ``"multi task"`` fold to the same words.
Folding is only ever used for comparing and indexing; the library keeps the
original text untouched.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["fold", "is_text", "valid_unicode", "words"]

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def fold(text: str) -> str:
    """Lower-case ``text``, strip accents and turn every run of non-word characters into one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    without_accents = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return _NON_WORD.sub(" ", without_accents.casefold()).strip()


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
