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
from collections.abc import Iterator, Mapping
from itertools import count, groupby, product
from operator import itemgetter
from string import ascii_lowercase

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from anyascii import anyascii

from paper_widgets.data.merge import ASCII_FOLD, fold_titles
from paper_widgets.data.packed import STR_DTYPE, large_strings, release_arrow_memory, text_bytes, text_offsets
from paper_widgets.data.records import held_lists
from paper_widgets.data.text import fold, without_arxiv_version

__all__ = [
    "KEY_PATTERN",
    "USER_KEY_PATTERN",
    "arxiv_identities",
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


_BATCH_TITLES = 1 << 16  # titles split at once: bounds the words held (a million titles' were ~12M)
_STOP_WORD_ARRAY = pa.array(sorted(_STOP_WORDS), pa.large_string())
_NOTHING = pa.scalar("", pa.large_string())
_JOINER = "\x01"  # stands for - and ' (see _WORD_BYTES) until the words are split
# Byte → itself lower-cased if an ASCII letter or digit; - and ' → _JOINER, dropped from the words
# once split ("Multi-Task" is one word, ``Multitask``); any other → a space (ASCII_FOLD, but for
# NUL, which it keeps to separate texts).  Folds ASCII titles into words with one lookup per byte.
_WORD_BYTES = bytes(
    ord(_JOINER) if chr(byte) in "-'" else 32 if byte == 0 else folded for byte, folded in enumerate(ASCII_FOLD)
)


def _title_parts(titles: pa.LargeStringArray) -> pa.LargeStringArray:
    """:func:`_title_part` of every title; the ASCII ones (nearly all) by Arrow kernels, a batch at a time."""
    parts = [_batch_title_parts(titles.slice(at, _BATCH_TITLES)) for at in range(0, len(titles), _BATCH_TITLES)]
    return pa.concat_arrays(parts) if parts else pa.array([], pa.large_string())


def _batch_title_parts(titles: pa.LargeStringArray) -> pa.LargeStringArray:
    folded = pc.ascii_trim_whitespace(_ascii_folded(titles))
    # Most titles open with TITLE_WORDS significant words: split off only those (the rest stays one piece).
    parts, complete = _significant_words(pc.ascii_split_whitespace(folded, max_splits=TITLE_WORDS), TITLE_WORDS)
    # The others take the first significant ones of all their words.
    longer = np.flatnonzero(~complete)
    longer_parts, _ = _significant_words(pc.ascii_split_whitespace(folded.take(longer)))
    # Titles that are not ASCII go through anyascii one by one: each distinct title once.
    others = np.flatnonzero(~pc.string_is_ascii(titles).to_numpy(zero_copy_only=False))
    texts = titles.take(others).to_pylist()
    other_parts = {title: _title_part(title) for title in set(texts)}
    # Each row's part from the last of these that has it
    place = np.arange(len(titles))
    place[longer] = len(titles) + np.arange(len(longer))
    place[others] = len(titles) + len(longer) + np.arange(len(others))
    every = pa.concat_arrays([parts, longer_parts, pa.array([other_parts[t] for t in texts], pa.large_string())])
    taken: pa.LargeStringArray = every.take(place)
    return taken


def _ascii_folded(texts: pa.LargeStringArray) -> pa.LargeStringArray:
    """``texts`` with every byte looked up in :data:`_WORD_BYTES` (text that is not ASCII comes out as
    spaces): where a regular expression took 1.5 s a million."""
    offsets = text_offsets(texts)
    folded = text_bytes(texts).translate(_WORD_BYTES)
    return pa.LargeStringArray.from_buffers(
        len(texts), pa.py_buffer(offsets - offsets[0]), pa.py_buffer(folded), texts.buffers()[0]
    )


def _significant_words(pieces: pa.ListArray, limit: int | None = None) -> tuple[pa.LargeStringArray, np.ndarray]:
    """The first :data:`TITLE_WORDS` of each list of folded words that are no stop words, capitalised and
    concatenated; and whether that is all of them.

    ``limit``: only the first ``limit`` pieces of each list are words (then the rest of the text may follow).
    """
    starts = pieces.offsets.to_numpy()
    words = pc.list_flatten(pieces)
    rows = pc.list_parent_indices(pieces).to_numpy()
    if limit is not None:
        first = np.arange(len(words)) - (starts[rows] - starts[0]) < limit
        words, rows = words.filter(pa.array(first)), rows[first]
    words = pc.replace_substring(words, _JOINER, "")
    keep = ~pc.is_in(words, value_set=_STOP_WORD_ARRAY).to_numpy(zero_copy_only=False)
    keep &= pc.binary_length(words).to_numpy(zero_copy_only=False) > 0
    per_row = np.bincount(rows[keep], minlength=len(pieces))
    kept_before_row = np.cumsum(per_row) - per_row
    rank = np.cumsum(keep) - 1 - kept_before_row[rows]  # of each kept word among its title's kept words
    chosen = pc.ascii_capitalize(words.filter(pa.array(keep & (rank < TITLE_WORDS))))
    offsets = np.concatenate([[0], np.cumsum(np.minimum(per_row, TITLE_WORDS))]).astype(np.int32)
    joined: pa.LargeStringArray = pc.binary_join(pa.ListArray.from_arrays(pa.array(offsets), chosen), _NOTHING)
    return joined, (per_row >= TITLE_WORDS) | (np.diff(starts) <= (limit or len(words)))


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
    return pd.Series(_base_keys(frame).to_numpy(zero_copy_only=False), index=frame.index, dtype=object)


def _base_keys(frame: pd.DataFrame) -> pa.LargeStringArray:
    """:func:`base_keys` as an Arrow array."""
    # A batch of rows at a time: what a million keys are made of, held at once, was ~150 MB at a load's peak.
    batches = [_batch_base_keys(frame.iloc[at : at + _BATCH_TITLES]) for at in range(0, len(frame), _BATCH_TITLES)]
    return pa.concat_arrays(batches) if batches else pa.array([], pa.large_string())


def _batch_base_keys(frame: pd.DataFrame) -> pa.LargeStringArray:
    titles = large_strings(frame["title"].fillna("").astype("str"))
    # Most papers of a dump have no authors listed: only the others are looked at, each name once.
    # (a merged frame's authors are Arrow lists: only the listed rows become Python lists)
    listed_authors = held_lists(frame["authors"])
    listed = np.fromiter(listed_authors, np.int64, len(listed_authors))
    first_authors = [_first_author(a) for a in listed_authors.values()]
    surname = {a: _surname(a) for a in set(first_authors)}
    surnames: pa.Scalar | pa.LargeStringArray = _NOTHING
    if len(listed):
        by_row = np.full(len(frame), "", dtype=object)
        by_row[listed] = [surname[a] for a in first_authors]
        surnames = pa.array(by_row, pa.large_string())
    # Years repeat: each distinct one written once ("" for none: the last of ``written``).
    year_codes, years = pd.factorize(pd.to_datetime(frame["published"]).dt.year)
    written = pa.array([str(int(year)) for year in years] + [""], pa.large_string())
    parts = (surnames, _title_parts(titles), written.take(year_codes % len(written)))
    keys: pa.LargeStringArray = pc.binary_join_element_wise(*parts, _NOTHING)
    # Keys are ASCII; one that would start with a digit or be empty starts with the fallback prefix.
    letter_first = pc.ascii_is_alpha(pc.utf8_slice_codeunits(keys, 0, 1))
    release_arrow_memory()  # the batch's words, freed: not kept by Arrow's allocator on top of the next
    if pc.all(letter_first).as_py() is not False:
        return keys
    prefixes = pc.if_else(letter_first, _NOTHING, pa.scalar(_FALLBACK_PREFIX, pa.large_string()))
    prefixed: pa.LargeStringArray = pc.binary_join_element_wise(prefixes, *parts, _NOTHING)
    return prefixed


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
    return "title:" + folded.astype(STR_DTYPE)  # (Arrow strings: joined in C, hashed from their bytes)


def paper_identities(titles: pd.Series, arxiv_ids: pd.Series, by_title: pd.Series | None = None) -> pd.Series:
    """:func:`paper_identity` of every (title, arXiv id) pair; ``by_title``: :func:`title_identities`
    of ``titles`` when the caller has them already (folding is the costly part)."""
    by_title = title_identities(titles) if by_title is None else by_title
    identities = by_title.to_numpy(dtype=object, copy=True)
    by_arxiv = arxiv_identities(arxiv_ids).to_numpy()
    given = np.flatnonzero(pd.notna(by_arxiv))
    identities[given] = by_arxiv[given]
    return pd.Series(identities, index=titles.index, dtype=object)


def arxiv_identities(arxiv_ids: pd.Series) -> pd.Series:
    """:func:`paper_identity` of the rows that have an arXiv id (same index); None for the others."""
    identities = np.full(len(arxiv_ids), None, dtype=object)
    given = np.flatnonzero(arxiv_ids.notna().to_numpy(bool))  # only rows with an id are looked at (dumps have none)
    for row, arxiv_id in zip(given.tolist(), arxiv_ids.iloc[given].astype(object).tolist(), strict=True):
        if isinstance(arxiv_id, str) and arxiv_id.strip():
            identities[row] = "arxiv:" + without_arxiv_version(arxiv_id.lower())
    return pd.Series(identities, index=arxiv_ids.index, dtype=object)


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
    base_array = _base_keys(frame)
    folded_array = pc.ascii_lower(base_array)  # keys compare ignoring case, as in BibTeX (and are ASCII)
    codes = pc.dictionary_encode(folded_array).indices.to_numpy()  # (pandas' factorize of it took twice as long)
    repeated = np.bincount(codes)[codes] > 1
    keys = base_array.to_numpy(zero_copy_only=False)
    del base_array, codes
    release_arrow_memory()  # what the keys were made of: not kept by Arrow's allocator at the load's peak

    # Identities only matter for rows that may be reserved or clash; computing them is the cost.
    contested = np.ones(len(frame), bool) if reserved else repeated
    if not contested.any():
        return pd.Series(keys, index=original_index, dtype=object)
    rows = np.flatnonzero(contested)
    base = pd.Series(keys[rows], index=rows, dtype=object)
    folded_keys = base.str.lower()
    identity = _identities(frame.iloc[rows])
    title = frame["title"].iloc[rows].fillna("").astype(str)

    # A reserved key stays with its paper (should an identity occur twice, with the first by title).
    wants_reserved = identity[identity.isin(reserved.keys())]
    by_title = title[wants_reserved.index].sort_values(kind="stable")
    winners = wants_reserved[by_title.index].drop_duplicates()
    keys[winners.index] = winners.map(reserved).to_numpy(dtype=object)

    # Every plain base key counts as taken as well, so a suffixed key ("fooBar2020a") can never
    # collide with another paper's unsuffixed key.  Keys compare ignoring case, as in BibTeX.
    reserved_folded = {key.lower() for key in reserved_keys}
    open_base = base[~base.index.isin(winners.index)]
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
    taken = reserved_folded | _taken_like(folded_array, order["folded"].unique().tolist())
    groups = zip(order["folded"].tolist(), order["base"].tolist(), order.index.tolist(), strict=True)
    for folded, group in groupby(groups, key=itemgetter(0)):
        suffixes = _suffixes()
        if folded in reserved_folded:
            next(suffixes)  # the bare base belongs to a reserved paper
        for _, base_key, row in group:
            key = base_key + next(suffixes)
            while key != base_key and key.lower() in taken:
                key = base_key + next(suffixes)
            taken.add(key.lower())
            keys[row] = key
    return pd.Series(keys, index=original_index, dtype=object)


def _taken_like(folded_keys: pa.LargeStringArray, bases: list[str]) -> set[str]:
    """Those of ``folded_keys`` that a suffixed key of one of ``bases`` (folded) could equal.

    ``base + suffix`` (lower-case letters) keeps the base's stem (what is left once trailing letters
    are cut), so the keys with another stem never clash: at a million keys only a few are held.
    """
    if not bases:
        return set()
    stems = pc.replace_substring_regex(pa.array(bases, pa.large_string()), "[a-z]+$", "")
    alike = pc.is_in(pc.replace_substring_regex(folded_keys, "[a-z]+$", ""), value_set=stems)
    return set(folded_keys.filter(alike).to_pylist())
