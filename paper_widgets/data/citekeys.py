"""Citekeys: the pipeline stage after merging that gives every unique paper its citation key.

Keys follow Better BibTeX's default ``[auth:lower][shorttitle3_3][year]`` so users of Zotero
recognise them: ``yuGradientSurgeryMultitask2020`` for "Gradient Surgery for Multi-Task
Learning" by Tianhe Yu et al. (2020).

* Only ASCII letters and digits are emitted, so every key matches ``[A-Za-z][A-Za-z0-9_:-]*``
  and is accepted by pandoc, LaTeX/BibTeX and MyST alike.  Names and titles in other scripts are
  transliterated with ``anyascii`` (ISC licence): "Müller" → ``muller``, "王" → ``wang``.
* Keys are unique ignoring case, because BibTeX compares keys that way (a second ``Yu2020`` next
  to ``yu2020`` is a "repeated entry").
* Papers without known authors get the title words and year only.  Hugging Face "title/abstract"
  dumps carry no authors at all, so a placeholder such as ``anon`` would prefix most keys of such a
  library with the same noise while adding nothing that tells two papers apart.
* Clashes get suffixes ``a``, ``b``, … ``z``, ``aa``, … in the order of the papers' stable identity
  (:func:`paper_identity`), never in row order, so the same set of papers always gets the same keys.
* Keys handed out earlier (``reserved``, from the notes store) are kept verbatim and count as taken:
  a new paper that clashes with one gets a suffix instead of stealing or shifting it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from itertools import compress, count, filterfalse, groupby, islice, product
from operator import itemgetter
from string import ascii_lowercase

import numpy as np
import pandas as pd
from anyascii import anyascii

from paper_widgets.data.merge import ASCII_FOLD, fold_titles
from paper_widgets.data.text import fold, without_arxiv_version

__all__ = [
    "KEY_PATTERN",
    "USER_KEY_PATTERN",
    "assign_keys",
    "base_keys",
    "paper_identities",
    "paper_identity",
    "title_identities",
]

KEY_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_:-]*")
# What BibTeX accepts as a key a user wrote (d2l's "Vaswani.Shazeer.Parmar.ea.2017", "Foo09:tec").
USER_KEY_PATTERN = re.compile(r"[^\s,{}()\"#%'=\\~]+")

TITLE_WORDS = 3
# Better BibTeX's skip-words (articles, prepositions, conjunctions), English plus the common
# particles of other languages that appear in paper titles.
_STOP_WORDS = frozenset(
    [
        "a",
        "ab",
        "aboard",
        "about",
        "above",
        "across",
        "after",
        "against",
        "al",
        "along",
        "amid",
        "among",
        "an",
        "and",
        "anti",
        "around",
        "as",
        "at",
        "before",
        "behind",
        "below",
        "beneath",
        "beside",
        "besides",
        "between",
        "beyond",
        "but",
        "by",
        "d",
        "da",
        "das",
        "de",
        "del",
        "dell",
        "della",
        "delle",
        "dem",
        "den",
        "der",
        "des",
        "despite",
        "die",
        "do",
        "down",
        "du",
        "during",
        "ein",
        "eine",
        "einem",
        "einen",
        "einer",
        "eines",
        "el",
        "en",
        "et",
        "except",
        "for",
        "from",
        "gli",
        "i",
        "il",
        "in",
        "inside",
        "into",
        "is",
        "l",
        "la",
        "las",
        "le",
        "les",
        "like",
        "lo",
        "los",
        "near",
        "nor",
        "of",
        "off",
        "on",
        "onto",
        "or",
        "over",
        "past",
        "per",
        "plus",
        "round",
        "save",
        "since",
        "so",
        "some",
        "sur",
        "than",
        "the",
        "through",
        "to",
        "toward",
        "towards",
        "un",
        "una",
        "unas",
        "under",
        "underneath",
        "une",
        "unlike",
        "uno",
        "unos",
        "until",
        "up",
        "upon",
        "versus",
        "via",
        "von",
        "while",
        "with",
        "within",
        "without",
        "yet",
        "zu",
        "zum",
    ]
)
# "Multi-Task" is one word in a key (``Multitask``), as in Better BibTeX; so is "Don't".
_JOINERS = re.compile(r"(?<=\w)[-‐‑’'](?=\w)")
_NON_WORD = re.compile(r"[\W_]+")
_ASCII_WORD = re.compile(r"[a-z0-9]+")
_SEP = "\x00"  # separates the titles of a batch; see ASCII_FOLD
_NAME_SUFFIXES = frozenset({"jr", "sr", "ii", "iii", "iv"})
# Prefix for keys that would otherwise be empty or start with a digit ("3D Gaussians" without authors).
_FALLBACK_PREFIX = "paper"


def _fold(text: str) -> str:
    """:func:`paper_widgets.data.text.fold`, with a shortcut for pure-ASCII text (same result, several times faster)."""
    if text.isascii():
        return _NON_WORD.sub(" ", text.lower()).strip()
    return fold(text)


def paper_identity(title: str, arxiv_id: str | None) -> str:
    """The stable identity of a paper: its arXiv id (version dropped) when known, else its folded title.

    The notes store keys persisted citekeys by this identity, so it must not depend on anything
    that changes between loads (row order, upvotes, which dump the paper came from).
    """
    if isinstance(arxiv_id, str) and arxiv_id.strip():
        return "arxiv:" + without_arxiv_version(arxiv_id.lower())
    return "title:" + _fold(title or "")


def _ascii_words(text: str) -> list[str]:
    """The folded words of ``text`` reduced to ASCII letters and digits, hyphenated words joined."""
    if text.isascii():  # the common case, kept to one regex pass because 1M titles go through here
        return _ASCII_WORD.findall(text.lower().replace("-", "").replace("'", ""))
    # Same words as fold() gives, transliterated: "naïve" → "naive", "Øresund" → "oresund", "王" → "wang".
    text = _NON_WORD.sub(" ", _JOINERS.sub("", text))
    return _ASCII_WORD.findall(anyascii(text).lower())


def _title_part(title: str) -> str:
    """The first significant title words, TitleCased and concatenated: ``GradientSurgeryMultitask``."""
    significant = [w for w in _ascii_words(title) if w not in _STOP_WORDS]
    return "".join(w.capitalize() for w in significant[:TITLE_WORDS])


_BATCH_TITLES = 1 << 16  # titles split in one pass: a million at once held four copies of their text


def _ascii_title_parts(titles: list[str]) -> list[str]:
    """:func:`_title_part` of ASCII ``titles`` (none holding NUL), splitting :data:`_BATCH_TITLES` in one pass."""
    if len(titles) > _BATCH_TITLES:
        return [
            part
            for at in range(0, len(titles), _BATCH_TITLES)
            for part in _ascii_title_parts(titles[at : at + _BATCH_TITLES])
        ]
    if not titles:
        return []
    # _ascii_words of all titles at once: drop - and ', then fold (ASCII_FOLD keeps the separators)
    joined = _SEP.join(titles).encode("ascii").translate(ASCII_FOLD, b"-'").decode("ascii")
    parts: list[str] = []
    for folded in joined.split(_SEP):
        # Most titles open with TITLE_WORDS significant words: split off only those (a third faster at 1M).
        first = folded.split(None, TITLE_WORDS)[:TITLE_WORDS]
        if len(first) < TITLE_WORDS or not _STOP_WORDS.isdisjoint(first):
            first = list(islice(filterfalse(_STOP_WORDS.__contains__, folded.split()), TITLE_WORDS))
        parts.append("".join(map(str.capitalize, first)))
    return parts


def _title_parts(titles: list[str]) -> list[str]:
    """:func:`_title_part` of every title; the ASCII ones (nearly all) vectorised."""
    simple = np.fromiter(map(str.isascii, titles), bool, len(titles))
    simple &= np.fromiter((_SEP not in t for t in titles), bool, len(titles))
    parts = np.empty(len(titles), dtype=object)
    parts[simple] = _ascii_title_parts(list(compress(titles, simple)))
    # The others go through anyascii one by one: each distinct title once.
    others = list(compress(titles, ~simple))
    other_parts = {title: _title_part(title) for title in set(others)}
    parts[~simple] = list(map(other_parts.__getitem__, others))
    return [str(part) for part in parts]


def _surname(name: str) -> str:
    """The lower-cased ASCII surname in ``name`` ("Tianhe Yu" or "Yu, Tianhe"), or ``""``."""
    if "," in name:
        return "".join(_ascii_words(name.split(",", 1)[0]))
    tokens = name.split()
    while tokens and _fold(tokens[-1]) in _NAME_SUFFIXES:
        tokens.pop()
    return "".join(_ascii_words(tokens[-1])) if tokens else ""


def _first_author(authors: object) -> str:
    if isinstance(authors, (list, tuple)) and authors and isinstance(authors[0], str):
        return authors[0].strip()
    return ""


def base_keys(frame: pd.DataFrame) -> pd.Series:
    """The unsuffixed generated key of every row (columns ``title``, ``authors``, ``published``)."""
    # A batch of rows at a time: a million titles as Python strings were ~150 MB at a load's peak.
    batches = [_base_keys(frame.iloc[at : at + _BATCH_TITLES]) for at in range(0, len(frame), _BATCH_TITLES)]
    return pd.Series(np.concatenate(batches) if batches else [], index=frame.index, dtype=object)


def _base_keys(frame: pd.DataFrame) -> np.ndarray:
    """:func:`base_keys` of a batch of rows, as an object array."""
    titles = frame["title"].fillna("").astype(str).tolist()
    first_authors = [_first_author(a) for a in frame["authors"].tolist()]
    # Authors repeat (surnames are worked out once per name); titles hardly do, so deduplicating
    # them would cost more than it saves.
    surname = {a: _surname(a) for a in set(first_authors)}
    # Years repeat too: each distinct one written once ("" for none: the last of ``written``).
    year_codes, years = pd.factorize(pd.to_datetime(frame["published"]).dt.year)
    written = np.array([str(int(year)) for year in years] + [""], dtype=object)
    # object arrays concatenate element-wise in C, a million keys without a Python loop
    keys: np.ndarray = _objects(map(surname.__getitem__, first_authors)) + _objects(_title_parts(titles))
    keys += written[year_codes]
    fallback = np.fromiter((not key[:1].isalpha() for key in keys), bool, len(keys))
    keys[fallback] = _FALLBACK_PREFIX + keys[fallback]
    return keys


def _objects(values: Iterable[str]) -> np.ndarray:
    """``values`` as a 1-d object array (whose ``+`` concatenates strings element-wise)."""
    return np.array(list(values), dtype=object)


def _suffixes() -> Iterator[str]:
    """``""``, ``a`` … ``z``, ``aa`` … ``zz``, ``aaa`` …"""
    yield ""
    for length in count(1):
        for letters in product(ascii_lowercase, repeat=length):
            yield "".join(letters)


def title_identities(titles: pd.Series, folded: pd.Series | None = None) -> pd.Series:
    """:func:`paper_identity` of every title as if no arXiv id were known, folded in one batch;
    ``folded``: :func:`~paper_widgets.data.merge.fold_titles` of ``titles`` when the caller has it."""
    folded = fold_titles(titles) if folded is None else folded.set_axis(titles.index)
    return "title:" + folded.astype(object)


def paper_identities(titles: pd.Series, arxiv_ids: pd.Series, by_title: pd.Series | None = None) -> pd.Series:
    """:func:`paper_identity` of every (title, arXiv id) pair; ``by_title``: :func:`title_identities`
    of ``titles`` when the caller has them already (folding is the costly part)."""
    by_title = title_identities(titles) if by_title is None else by_title
    identities = by_title.to_numpy(dtype=object, copy=True)
    given = np.flatnonzero(arxiv_ids.notna().to_numpy(bool))  # only rows with an id are looked at (dumps have none)
    for row, arxiv_id in zip(given.tolist(), arxiv_ids.iloc[given].astype(object).tolist(), strict=True):
        if isinstance(arxiv_id, str) and arxiv_id.strip():
            identities[row] = "arxiv:" + without_arxiv_version(arxiv_id.lower())
    return pd.Series(identities, index=titles.index, dtype=object)


def _identities(frame: pd.DataFrame) -> pd.Series:
    """:func:`paper_identity` of every row."""
    return paper_identities(frame["title"], frame["arxiv_id"])


def _one_paper_per_key(reserved: Mapping[str, str]) -> dict[str, str]:
    """``reserved`` checked, and with each key kept by one identity only (the smallest) should it repeat."""
    owner: dict[str, str] = {}
    for identity, key in reserved.items():
        if not isinstance(key, str) or not USER_KEY_PATTERN.fullmatch(key):
            raise ValueError(f"reserved citekey {key!r} for {identity!r} is not a BibTeX key")
        owner[key] = min(owner.get(key, identity), identity)
    return {identity: key for key, identity in owner.items()}


def assign_keys(frame: pd.DataFrame, reserved: Mapping[str, str] | None = None) -> pd.Series:
    """One unique citekey per row of ``frame`` (same index).

    ``frame`` needs the columns ``title``, ``authors``, ``published`` and ``arxiv_id``.
    ``reserved`` maps :func:`paper_identity` → key handed out earlier; those papers keep their
    key and every reserved key counts as taken for the others.
    """
    reserved = _one_paper_per_key(reserved or {})
    reserved_keys = set(reserved.values())
    original_index = frame.index
    # positional labels (the caller's index may repeat), and only the columns keys are made of
    frame = frame[["title", "authors", "published", "arxiv_id"]].reset_index(drop=True)
    base = base_keys(frame)
    folded_keys = base.str.lower()  # keys compare ignoring case, as in BibTeX
    keys = base.copy()

    # Identities only matter for rows that may be reserved or clash; computing them is the cost.
    if reserved:
        contested = pd.Series(True, index=base.index)
    else:
        contested = folded_keys.duplicated(keep=False)
    identity = _identities(frame[contested])
    title = frame.loc[contested, "title"].fillna("").astype(str)

    # A reserved key stays with its paper (should an identity occur twice, with the first by title).
    wants_reserved = identity[identity.isin(reserved.keys())]
    by_title = title[wants_reserved.index].sort_values(kind="stable")
    winners = wants_reserved[by_title.index].drop_duplicates()
    keys[winners.index] = winners.map(reserved)

    # Every plain base key counts as taken as well, so a suffixed key ("fooBar2020a") can never
    # collide with another paper's unsuffixed key.  Keys compare ignoring case, as in BibTeX.
    reserved_folded = {key.lower() for key in reserved_keys}
    taken = reserved_folded | set(folded_keys.tolist())
    open_base = base[contested & ~base.index.isin(winners.index)]
    folded_base = folded_keys[open_base.index]
    clashing = open_base[folded_base.duplicated(keep=False) | folded_base.isin(reserved_folded)]
    order = pd.DataFrame(
        {
            "folded": folded_base[clashing.index],
            "base": clashing,
            "identity": identity[clashing.index],
            "title": title[clashing.index],
        }
    )
    order = order.sort_values(["folded", "base", "identity", "title"], kind="stable")
    suffixed: dict[int, str] = {}
    rows = zip(order["folded"].tolist(), order["base"].tolist(), order.index.tolist(), strict=True)
    for folded, group in groupby(rows, key=itemgetter(0)):
        suffixes = _suffixes()
        if folded in reserved_folded:
            next(suffixes)  # the bare base belongs to a reserved paper
        for _, base_key, row in group:
            key = base_key + next(suffixes)
            while key != base_key and key.lower() in taken:
                key = base_key + next(suffixes)
            taken.add(key.lower())
            suffixed[row] = key
    keys[list(suffixed)] = list(suffixed.values())
    return keys.set_axis(original_index)
