"""Merging stage: records from every input → one row per unique paper (before citekeys).

Identifiers come first: two records are the same paper when they share an arXiv id (version
dropped) or a DOI.  A folded title (:func:`paper_widgets.data.text.fold`: case, accents,
punctuation and whitespace ignored) joins records only when they are compatible where both know:
no different arXiv id or DOI, years at most one apart, the same first-author surname.  So
"Exercise and mental health" of 1990 and of 2017 stay two papers.  Groups are the connected
components of those links.  Each field of a group comes from the record most likely to have it
right: the date from page cards, then JSON, then a bibliography; upvotes and comments the highest
count seen (a paper listed again later has more); authors and arXiv id from JSON; the longest
abstract; entry type, venue and BibTeX fields from the bibliography, whose citekeys all name the row.  Ties are broken by a stable identity of
the record (kind, source, line, text), never by input order, so any file order gives the same
frame.  Everything is column-wise so a million rows merge in seconds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from paper_widgets.data.packed import (
    STR_DTYPE,
    FileTexts,
    large_strings,
    no_strings,
    no_text,
    one_array,
    release_arrow_memory,
    text_bytes,
    text_offsets,
)
from paper_widgets.data.records import KINDS, LIST_DTYPE, empty_lists, listed, python_lists
from paper_widgets.data.text import ARXIV_VERSION, fold, text_items

__all__ = [
    "ASCII_FOLD",
    "COLUMNS",
    "STR_DTYPE",
    "Merged",
    "fold_titles",
    "hf_url",
    "merge_records",
    "merge_traced",
    "normalise_frame",
]

# Column → dtype of the merged frame (``key`` is added by the citekey stage).
COLUMNS: dict[str, object] = {
    "title": "str",
    "abstract": "str",
    "published": "datetime64[ns]",
    "n_authors": "Int64",
    "authors": object,
    "upvotes": "Int64",
    "arxiv_id": "str",
    "url": "str",
    "sources": object,
    "comments": "Int64",
    "organization": "str",
    "doi": "str",
    "entry_type": "str",
    "venue": "str",
    "fields": object,
    # every citekey a bibliography gave this paper, the first one the row's key (see data.citekeys)
    "citekeys": object,
}

# Which kind of input is trusted first for a field (unlisted kinds come after, in KINDS order).
_PRIORITY: dict[str, tuple[str, ...]] = {
    "published": ("card", "hf_json", "arxiv", "bibtex", "frame", "pair"),
    "n_authors": ("card", "hf_json", "arxiv", "bibtex", "frame", "pair"),
    "authors": ("hf_json", "arxiv", "bibtex", "frame", "card", "pair"),
    "arxiv_id": ("hf_json", "arxiv", "bibtex", "frame", "card", "pair"),
    "organization": ("card", "hf_json", "frame"),
    "doi": ("bibtex", "arxiv", "hf_json", "frame"),
    "entry_type": ("bibtex", "frame"),
    "venue": ("bibtex", "frame"),
    "fields": ("bibtex", "frame"),
}
# Counts only grow: the highest one seen is the latest.
_HIGHEST = ("upvotes", "comments")
_YEAR_TOLERANCE = 1
_HF_PAPERS = "https://huggingface.co/papers/"
# fold for ASCII text as one bytes.translate: letters lower-cased, digits kept, anything else a space
# (runs of spaces are then collapsed); NUL is kept, to separate the texts of a batch
ASCII_FOLD = bytes(b if chr(b).isascii() and (chr(b).isalnum() or b == 0) else 32 for b in range(256)).lower()
_SPACE = ord(" ")
_FOLD_BYTES = ASCII_FOLD.replace(b"\x00", b" ")  # a NUL in a title is no letter either
_SPACES = re.compile(b" +")
_FOLD_BATCH = 1 << 13  # titles folded at once: their bytes' masks stay in the CPU's cache


def fold_titles(titles: pd.Series) -> pd.Series:
    """:func:`fold` of every title; the ASCII ones (same result: lower-cased, every run of other than
    letters and digits one space) a batch of bytes at a time (:func:`_fold_ascii`), without a Python
    string each (at a million titles those were ~550 MB at the merge's peak, and slower)."""
    strings = large_strings(titles.fillna("").astype("str"))
    offsets = text_offsets(strings)
    # the folded texts, written a batch at a time into one buffer (never longer than the titles)
    text = np.empty(int(offsets[-1] - offsets[0]), np.uint8)
    bounds = np.zeros(len(strings) + 1, np.int64)
    for at in range(0, len(strings), _FOLD_BATCH):
        kept, kept_bounds = _fold_ascii(strings.slice(at, _FOLD_BATCH))
        start = bounds[at]
        text[start : start + len(kept)] = kept
        bounds[at + 1 : at + len(kept_bounds)] = start + kept_bounds[1:]
    folded = pa.LargeStringArray.from_buffers(len(strings), pa.py_buffer(bounds), pa.py_buffer(text[: bounds[-1]]))
    out = pd.Series(pd.arrays.ArrowStringArray(folded, dtype=STR_DTYPE), index=titles.index)
    others = np.flatnonzero(~pc.string_is_ascii(strings).to_numpy(zero_copy_only=False))
    if len(others):  # accents, ligatures, full-width letters: unicodedata, one title at a time
        out.iloc[others] = [fold(title) for title in titles.iloc[others].fillna("").astype("str").tolist()]
    return out


def _fold_ascii(texts: pa.LargeStringArray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`fold` of ASCII ``texts`` (no NA; others come out wrong) as their bytes and where each
    starts (and the last ends): every byte looked up in :data:`_FOLD_BYTES`, then the spaces dropped
    that follow no letter or digit of the same text or precede none (a regular expression over a
    million titles took ~1.2 s, this a quarter of that)."""
    offsets = text_offsets(texts)
    text = text_bytes(texts).translate(_FOLD_BYTES)
    folded = np.frombuffer(text, np.uint8)
    starts, ends = offsets[:-1] - offsets[0], offsets[1:] - offsets[0]
    word = folded != _SPACE
    keep = word.copy()
    keep[:-1] |= word[1:]  # a space before a letter or digit ...
    texts_at = np.flatnonzero(ends > starts)  # (not empty)
    keep[ends[texts_at] - 1] = word[ends[texts_at] - 1]  # ... of the same text
    for at in texts_at[~word[starts[texts_at]]].tolist():  # the run of spaces a text opens with (rare): none kept
        leading = _SPACES.match(text, int(starts[at]), int(ends[at]))
        keep[starts[at] : leading.end() if leading else starts[at]] = False
    # each text's bytes dropped before it (a few a title: counted by position, not by a running sum of every byte)
    bounds = offsets - offsets[0]
    return folded[keep], bounds - np.searchsorted(np.flatnonzero(~keep), bounds)


def hf_url(arxiv_ids: pd.Series) -> pd.Series:
    """The Hugging Face paper page for each known arXiv id, NA otherwise."""
    if no_text(arxiv_ids):
        return pd.Series(no_strings(len(arxiv_ids)), index=arxiv_ids.index)
    return (_HF_PAPERS + arxiv_ids.astype("str")).where(arxiv_ids.notna()).astype("str")


def _object_column(values: object, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = values
    return out


def normalise_frame(df: pd.DataFrame, source: str = "<frame>") -> pd.DataFrame:
    """``df`` (at least ``title`` and ``abstract``) as a records frame with every column typed.

    Missing columns are filled with "unknown" (NA, NaT, empty list); ``sources``, when present,
    is kept as the record's origins.
    """
    missing = {"title", "abstract"} - set(df.columns)
    if missing:
        raise ValueError(f"a library frame needs the columns title and abstract; missing: {', '.join(sorted(missing))}")
    n = len(df)
    index = pd.RangeIndex(n)

    def column(name: str, dtype: object) -> pd.Series:
        if name in df.columns:
            return pd.Series(df[name].to_numpy(), index=index).astype(dtype)
        return pd.Series(pd.NA if dtype in ("Int64",) else None, index=index, dtype=dtype)

    out = pd.DataFrame(
        {
            "title": column("title", object).fillna("").astype("str"),
            "abstract": column("abstract", object).fillna("").astype("str"),
            "published": pd.to_datetime(_values(df, "published", index), errors="coerce").astype("datetime64[ns]")
            if "published" in df.columns
            else pd.Series(pd.NaT, index=index, dtype="datetime64[ns]"),
            "n_authors": pd.to_numeric(_values(df, "n_authors", index), errors="coerce").astype("Int64")
            if "n_authors" in df.columns
            else pd.Series(pd.NA, index=index, dtype="Int64"),
            "upvotes": pd.to_numeric(_values(df, "upvotes", index), errors="coerce").astype("Int64")
            if "upvotes" in df.columns
            else pd.Series(pd.NA, index=index, dtype="Int64"),
            "arxiv_id": column("arxiv_id", "str"),
            "comments": pd.to_numeric(_values(df, "comments", index), errors="coerce").astype("Int64")
            if "comments" in df.columns
            else pd.Series(pd.NA, index=index, dtype="Int64"),
            **{name: column(name, "str") for name in ("organization", "doi", "entry_type", "venue")},
        }
    )
    out["fields"] = _object_column(
        [f if isinstance(f, dict) else None for f in df["fields"]] if "fields" in df.columns else [None] * n, n
    )
    out["citekey"] = column("citekey", "str")
    out["authors"] = (
        _object_column([text_items(a) for a in df["authors"]], n)
        if "authors" in df.columns
        else _object_column([[] for _ in range(n)], n)
    )
    if "sources" in df.columns:
        out["sources"] = _object_column([text_items(s) or [source] for s in df["sources"]], n)
    else:
        out["sources"] = _object_column([[source]] * n, n)
    out["line"] = np.arange(1, n + 1, dtype=np.int64)
    out["kind"] = pd.Series("frame", index=index, dtype="str")
    return out


def _values(df: pd.DataFrame, name: str, index: pd.RangeIndex) -> pd.Series:
    """``df[name]`` re-indexed, in its own dtype (no round trip through objects)."""
    return pd.Series(df[name].to_numpy(), index=index)


def _kind_rank(kinds: tuple[np.ndarray, pd.Index], order: Sequence[str]) -> np.ndarray:
    """Position of each record's kind in ``order`` (unlisted kinds after the listed ones); ``kinds``:
    the records' kinds factorized once (a handful of kinds: rank those only)."""
    codes, distinct = kinds
    ranks: np.ndarray = np.array([order.index(k) if k in order else len(order) for k in distinct], np.int64)
    ranked: np.ndarray = ranks[codes]
    return ranked


def _propagate(labels: np.ndarray, keys: Sequence[pd.Series]) -> np.ndarray:
    """Connected components of "same label or same non-null key", as the smallest label."""
    present = [(k.notna().to_numpy(), k.dropna().to_numpy()) for k in keys]
    while True:  # label propagation; converges in a couple of rounds for real data
        new = labels.copy()
        for has_key, values in present:
            if has_key.any():
                new[has_key] = pd.Series(new[has_key]).groupby(values).transform("min").to_numpy()
        if np.array_equal(new, labels):
            return labels
        labels = new


def _author_lists(authors: pd.Series) -> pa.ListArray:
    """The records' authors as one Arrow list array (:data:`~paper_widgets.data.records.LIST_DTYPE`),
    an empty list where none is known (any cell not a list of names: None, NA)."""
    if authors.dtype == LIST_DTYPE:
        lists = one_array(authors.array.__arrow_array__())
    else:  # a frame's own lists (normalise_frame) or cells left None
        lists = pa.array([a if isinstance(a, list) else None for a in authors.tolist()], LIST_DTYPE.pyarrow_dtype)
    filled: pa.ListArray = lists.fill_null(pa.scalar([], LIST_DTYPE.pyarrow_dtype)) if lists.null_count else lists
    return filled


def _sorted_codes(names: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """``pd.factorize(names.fillna(""), sort=True)``; of a categorical (the records' sources) from its few
    categories, without a string per row."""
    if not isinstance(names.dtype, pd.CategoricalDtype):
        codes, distinct = pd.factorize(names.fillna("").astype("str").reset_index(drop=True), sort=True)
        return codes, distinct
    categories = np.array([*names.cat.categories.astype("str"), ""], dtype=object)  # "" for NA: the last code
    codes = names.cat.codes.to_numpy(np.int64)
    codes[codes < 0] = len(categories) - 1
    distinct, category_code = np.unique(categories, return_inverse=True)  # sorted as Python sorts strings
    code = category_code[codes]
    used = np.unique(code)  # as factorize, the names present only
    renumbered = np.zeros(len(distinct), np.int64)
    renumbered[used] = np.arange(len(used))
    return renumbered[code], pd.Index(distinct[used], dtype="str")


def _sorted_codes_of_texts(texts: pa.LargeStringArray) -> np.ndarray:
    """``pd.factorize(texts, sort=True)[0]`` (``texts`` without NA): the distinct texts found by hashing,
    then put in order by their first 16 bytes as two integers, and only those that share them by
    comparing the texts (pandas' sorted factorize of a million titles took ~1.5 s, this about half)."""
    encoded = pc.dictionary_encode(texts)
    release_arrow_memory()  # the hash table of a million titles, before the numbers they are sorted by
    distinct = encoded.dictionary
    heads = _text_heads(distinct, 0), _text_heads(distinct, 8)
    order = np.lexsort(heads[::-1])
    same = np.ones(max(len(distinct) - 1, 0), bool)  # distinct text order[i + 1] opens as order[i] does
    for head in heads:
        ordered = head[order]
        same &= ordered[1:] == ordered[:-1]
    tied = np.zeros(len(distinct), bool)
    tied[1:] |= same
    tied[:-1] |= same
    at = np.flatnonzero(tied)
    if len(at):
        runs = np.cumsum(np.concatenate([[True], ~same]))[at]  # which run of equal openings each is in
        texts_tied = order[at]
        ranked = pa.table({"run": runs, "text": distinct.take(texts_tied)})
        order[at] = texts_tied[pc.sort_indices(ranked, [("run", "ascending"), ("text", "ascending")]).to_numpy()]
    rank = np.empty(len(order), np.int64)
    rank[order] = np.arange(len(order))
    codes: np.ndarray = rank[encoded.indices.to_numpy(zero_copy_only=False)]
    return codes


def _text_heads(texts: pa.LargeStringArray, skip: int) -> np.ndarray:
    """The 8 bytes of each text after its first ``skip`` as a big-endian integer, zeros past its end."""
    offsets = text_offsets(texts)
    starts, lengths = offsets[:-1] + skip, np.clip(np.diff(offsets) - skip, 0, 8)
    buffer = texts.buffers()[2]
    size = 0 if buffer is None else buffer.size
    heads = np.zeros(len(texts), np.uint64)
    if size >= 8:  # every 8 bytes of the buffer, one integer each (a view, overlapping)
        words = np.ndarray((size - 7,), ">u8", buffer=buffer, strides=(1,))
        inside = np.flatnonzero((lengths > 0) & (starts < size - 7))
        heads[inside] = words[starts[inside]]
    for row in np.flatnonzero((lengths > 0) & (starts >= size - 7)).tolist():  # the buffer's last few bytes
        heads[row] = int.from_bytes(
            memoryview(buffer)[starts[row] : starts[row] + lengths[row]].tobytes().ljust(8, b"\0"), "big"
        )
    short = np.flatnonzero((lengths > 0) & (lengths < 8))  # bytes past a text's end are the next text's: cleared
    cut = (8 * (8 - lengths[short])).astype(np.uint64)
    heads[short] = (heads[short] >> cut) << cut
    return heads


def _surnames(authors: pd.Series) -> pd.Series:
    """The folded last word of each record's first author (None when unknown)."""
    firsts = [a[0] if isinstance(a, list) and a and isinstance(a[0], str) else "" for a in authors]
    surname = {f: fold(f).rpartition(" ")[2] or None for f in set(firsts)}  # names repeat: fold each once
    return pd.Series([surname[f] for f in firsts], index=authors.index, dtype=object)


@dataclass(slots=True)
class _Facts:
    """What same-titled records say about the paper they describe (see :func:`_compatible`)."""

    arxiv_ids: set[str] = field(default_factory=set)
    dois: set[str] = field(default_factory=set)
    surnames: set[str] = field(default_factory=set)
    years: set[int] = field(default_factory=set)

    def add(self, other: _Facts) -> None:
        self.arxiv_ids |= other.arxiv_ids
        self.dois |= other.dois
        self.surnames |= other.surnames
        self.years |= other.years


def _compatible(a: _Facts, b: _Facts) -> bool:
    """Whether two sets of same-titled records may be one paper: nothing known differs."""
    for left, right in ((a.arxiv_ids, b.arxiv_ids), (a.dois, b.dois), (a.surnames, b.surnames)):
        if left and right and left != right:
            return False
    years = a.years | b.years
    return not years or max(years) - min(years) <= _YEAR_TOLERANCE


def _title_links(rec: pd.DataFrame, title_ids: np.ndarray, id_groups: np.ndarray) -> pd.Series:
    """A link label per record: records with the same label are joined by their title.

    Within one folded title, the identifier groups are clustered so that a cluster holds no
    conflicting arXiv id, DOI, first-author surname or years more than one apart.  Titles whose
    records all agree (nearly all) are one cluster without any Python loop.
    """
    links = pd.Series(title_ids.astype(np.int64) * 2, index=rec.index)  # even: the whole title is one cluster
    shared = pd.Series(title_ids).duplicated(keep=False).to_numpy()  # only titles of several records matter
    if not shared.any():
        return links
    some = rec[shared]
    facts = pd.DataFrame(
        {
            "title": title_ids[shared],
            "group": id_groups[shared],
            "arxiv_id": some["arxiv_id"],
            "doi": some["doi"],
            "surname": _surnames(some["authors"]),
            "year": some["published"].dt.year,
        },
        index=some.index,
    )
    by_title = facts.groupby("title")
    agree = (
        (by_title["arxiv_id"].transform("nunique") <= 1)
        & (by_title["doi"].transform("nunique") <= 1)
        & (by_title["surname"].transform("nunique") <= 1)
        & ((by_title["year"].transform("max") - by_title["year"].transform("min")).fillna(0) <= _YEAR_TOLERANCE)
    )
    if agree.all():
        return links
    offset = 2 * (int(title_ids.max()) + 1)
    # The few titles whose records disagree: cluster their identifier groups in plain Python.
    units: dict[tuple[int, int], tuple[_Facts, list[int]]] = {}
    rows = facts[~agree].sort_values(["title", "group"], kind="stable")
    for index, title, group, arxiv_id, doi, surname, year in zip(
        rows.index,
        rows["title"],
        rows["group"],
        rows["arxiv_id"],
        rows["doi"],
        rows["surname"],
        rows["year"],
        strict=True,
    ):
        facts_of, members = units.setdefault((int(title), int(group)), (_Facts(), []))
        members.append(index)
        for known, value in ((facts_of.arxiv_ids, arxiv_id), (facts_of.dois, doi), (facts_of.surnames, surname)):
            if isinstance(value, str) and value:
                known.add(value)
        if not pd.isna(year):
            facts_of.years.add(int(year))
    clusters: list[tuple[int, _Facts]] = []  # (link label, what its records say) of the current title
    current_title = -1
    for (title, _), (unit, members) in units.items():
        if title != current_title:
            clusters, current_title = [], title
        home = next((c for c in clusters if _compatible(c[1], unit)), None)
        if home is None:
            home = (offset, _Facts())
            offset += 1
            clusters.append(home)
        home[1].add(unit)
        links[members] = home[0]
    return links


def _record_order(
    rec: pd.DataFrame, abstracts: FileTexts, group: np.ndarray, kind_rank: np.ndarray, source_rank: np.ndarray
) -> np.ndarray:
    """The records' stable total order: by group, kind, first source, line, then title and abstract.

    Integer keys decide all but records read twice from the same place; only then are the texts
    compared, and only theirs (sorting a million abstracts would cost more than the rest of the merge).
    """
    line = rec["line"].to_numpy(np.int64)
    order: np.ndarray = np.lexsort((line, source_rank, kind_rank, group))
    keys = np.stack([group, kind_rank, source_rank, line])[:, order]
    same = (np.diff(keys, axis=1) == 0).all(axis=0)  # record order[i + 1] ties with order[i]
    if not same.any():
        return order
    tied = np.zeros(len(order), bool)
    tied[order[1:][same]] = tied[order[:-1][same]] = True
    # the other records' integer keys differ from every other's: their texts cannot change the order
    texts = pd.Series("", index=rec.index, dtype="str")
    texts[tied] = abstracts.take(np.flatnonzero(tied)).to_numpy()
    texts = pd.DataFrame({"g": group, "k": kind_rank, "s": source_rank, "l": line, "t": rec["title"], "a": texts})
    ordered: np.ndarray = texts.sort_values(list(texts.columns), kind="stable").index.to_numpy()
    return ordered


@dataclass(frozen=True, slots=True)
class Merged:
    """The merged frame but its abstracts, and where each record went: the caches store each abstract once from this."""

    papers: pd.DataFrame  # every column of COLUMNS but ``abstract``
    row: np.ndarray  # per record: its paper's row in ``papers``
    abstract_from: np.ndarray  # per row: the record whose abstract it has
    folded_titles: pd.Series  # per row: its title folded (fold_titles), as the citekeys' identities need it

    @property
    def gave_abstract(self) -> np.ndarray:
        """Per record: whether its row has its abstract."""
        gave = np.zeros(len(self.row), bool)
        gave[self.abstract_from] = True
        return gave


def merge_records(records: pd.DataFrame) -> pd.DataFrame:
    """One row per unique paper from a records frame (see :func:`normalise_frame`), without ``key``.

    ``records`` needs ``sources`` (list per row) or ``source`` (str per row).
    Rows come out sorted by (smallest) folded title, i.e. independent of input order.
    """
    merged = merge_traced(records)
    papers = merged.papers
    abstracts = records["abstract"].reset_index(drop=True).astype("str").array.take(merged.abstract_from)
    papers.insert(1, "abstract", pd.Series(abstracts, index=papers.index))
    for name in ("authors", "sources", "citekeys"):  # a frame of lists, as COLUMNS says
        papers[name] = pd.Series(python_lists(papers[name].array), index=papers.index, dtype=object)
    return papers


def merge_traced(records: pd.DataFrame, abstracts: FileTexts | None = None) -> Merged:
    """:func:`merge_records` but the abstracts: a million of them are taken in the order they are
    kept in (see ``store.texts``), not copied here; where each record went, whose abstract each row has.
    ``authors``, ``sources`` and ``citekeys`` are Arrow lists (:data:`~paper_widgets.data.records.LIST_DTYPE`,
    the sources' names dictionary-encoded), as a reopened library has them: a Python list per row of a
    million was ~190 MB at a cold load's peak.  String columns without a value hold no memory
    (:func:`~paper_widgets.data.packed.no_strings`).

    ``abstracts``: the records' abstracts when ``records`` has no ``abstract`` column (a load keeps
    them packed: only those of papers read twice, or without a title, are unpacked here).
    """
    if abstracts is None:
        abstracts = FileTexts([records["abstract"]])
    rec = records.reset_index(drop=True)
    for name in COLUMNS:
        if name not in rec.columns and name not in ("abstract", "sources", "url", "citekeys"):
            rec[name] = _object_column([None] * len(rec), len(rec)) if COLUMNS[name] is object else None
    if "citekey" not in rec.columns:
        rec["citekey"] = None
    authors = _author_lists(rec["authors"])
    rec["authors"] = pd.arrays.ArrowExtensionArray(authors)
    rec["arxiv_id"] = rec["arxiv_id"].str.strip().str.replace(ARXIV_VERSION, "", regex=True).replace("", None)
    if not no_text(rec["doi"]):  # a dump library has none: its column stays unwritten zero pages
        rec["doi"] = rec["doi"].astype("str").str.strip().str.lower().replace("", None)
    folded = fold_titles(rec["title"])
    release_arrow_memory()  # folding's intermediate copies of a million titles (~150 MB), before factorizing
    # An empty title identifies nothing: such records merge only on the same abstract (or id).
    blank = folded == ""
    same_title = folded
    if blank.any():
        same_title = folded.copy()
        same_title[blank] = ("\x00" + abstracts.take(np.flatnonzero(blank)).fillna("")).to_numpy()
    title_ids = _sorted_codes_of_texts(large_strings(same_title))
    del same_title
    release_arrow_memory()  # factorizing a million titles left ~200 MB in Arrow's pool
    id_groups = _propagate(np.arange(len(rec)), [rec["arxiv_id"], rec["doi"]])
    links = _title_links(rec, title_ids, id_groups)
    components = _propagate(np.arange(len(rec)), [pd.Series(id_groups), links])
    # A stable total order of the records that ignores input order.
    # Records of files have one source each: their names are not made into a list per record.
    source_lists = rec["sources"].to_numpy() if "sources" in rec.columns else None
    if source_lists is None:
        source_codes, source_names = _sorted_codes(rec["source"])
    else:
        source_codes, source_names = _sorted_codes(pd.Series([s[0] if s else "" for s in source_lists], dtype="str"))
    # Groups are numbered by their smallest title id, so rows come out in folded-title order; papers
    # sharing a title are ordered by where they were first read.
    source_rank = source_codes.astype(np.int64)
    where = source_rank * (int(rec["line"].max()) + 1 if len(rec) else 1) + rec["line"].to_numpy(np.int64)
    labels = pd.DataFrame({"component": components, "title": title_ids, "where": where})
    firsts = labels.groupby("component").agg(title=("title", "min"), where=("where", "min"))
    rank = pd.Series(np.arange(len(firsts)), index=firsts.sort_values(["title", "where"]).index)
    group: np.ndarray = rank[components].to_numpy()
    n_groups = len(firsts)
    # the labels that made the groups: ~60 MB at a million records, not held while the rows are made
    del title_ids, id_groups, links, components, where, labels, firsts, rank
    kinds = pd.factorize(rec["kind"], use_na_sentinel=False)
    kind_rank = _kind_rank(kinds, KINDS)
    order = _record_order(rec, abstracts, group, kind_rank, source_rank)
    del kind_rank, source_rank
    release_arrow_memory()
    position = np.empty(len(rec), np.int64)
    position[order] = np.arange(len(rec))  # each record's place in the stable order
    sizes = np.bincount(group, minlength=n_groups)
    first = order[np.searchsorted(group[order], np.arange(n_groups))]  # each group's first record
    multi = sizes[group] > 1  # records sharing their paper with others: the only ones to choose among

    def picked(choice: np.ndarray, preference: list[np.ndarray]) -> np.ndarray:
        """Per group, the first record by ``preference`` (most significant first) among ``choice``; else its first."""
        picks: np.ndarray = first.copy()
        candidates = np.flatnonzero(choice & multi)
        if len(candidates):
            keys = [position[candidates], *(p[candidates] for p in reversed(preference)), group[candidates]]
            ranked = candidates[np.lexsort(keys)]
            groups, at = np.unique(group[ranked], return_index=True)
            picks[groups] = ranked[at]
        return picks

    def taken(name: str, picks: np.ndarray) -> pd.Series:
        values = rec[name]
        if no_text(values):
            return pd.Series(no_strings(n_groups), index=pd.RangeIndex(n_groups))
        if values.dtype == object:  # a plain object array: iterating its extension array costs 10x
            return pd.Series(values.to_numpy()[picks], index=pd.RangeIndex(n_groups), dtype=object)
        return pd.Series(values.array.take(picks), index=pd.RangeIndex(n_groups))

    out = pd.DataFrame(index=pd.RangeIndex(n_groups))
    everything = np.ones(len(rec), bool)
    # Longest text wins (first in the stable order on ties); only groups of several records compare.
    longest = {
        "title": picked(everything, [-_text_lengths(rec["title"], multi)]),
        "abstract": picked(everything, [-_abstract_lengths(abstracts, multi)]),
    }
    out["title"] = taken("title", longest["title"])
    # the rows' folded titles now: the records' (a million strings) are not held while the rows are made
    row_folded = pd.Series(folded.array.take(longest["title"]), index=pd.RangeIndex(n_groups))
    del folded
    release_arrow_memory()
    has_authors = pc.list_value_length(authors).to_numpy(zero_copy_only=False) > 0
    for name, trusted in _PRIORITY.items():
        known = has_authors if name == "authors" else rec[name].notna().to_numpy(bool)
        out[name] = taken(name, picked(known, [_kind_rank(kinds, trusted)]))
    for name in _HIGHEST:  # the highest count of each group
        values = taken(name, first).astype("Int64")
        if multi.any():
            highest = rec.loc[multi, name].astype("Int64").groupby(group[multi]).max()
            values.iloc[highest.index.to_numpy()] = highest.array
        out[name] = values
    lengths = pc.list_value_length(one_array(out["authors"].array.__arrow_array__())).to_numpy(zero_copy_only=False)
    counted = pd.array(lengths, dtype="Int64")
    counted[lengths == 0] = pd.NA
    out["n_authors"] = out["n_authors"].astype("Int64").fillna(pd.Series(counted, index=out.index))
    out["published"] = out["published"].astype("datetime64[ns]")
    out["upvotes"] = out["upvotes"].astype("Int64")
    out["arxiv_id"] = out["arxiv_id"].astype("str")
    out["url"] = hf_url(out["arxiv_id"])
    for name, dtype in COLUMNS.items():
        if dtype == "str" and name != "abstract":
            out[name] = out[name].astype("str")
    # In record order (the first is the row's key); one list per group without a per-group pandas call.
    citekeys: dict[int, list[str]] = {}
    keyed = order[rec["citekey"].notna().to_numpy(bool)[order]]
    for row_group, key in zip(group[keyed].tolist(), rec["citekey"].take(keyed).tolist(), strict=True):
        if key not in citekeys.setdefault(row_group, []):
            citekeys[row_group].append(key)
    if citekeys:
        out["fields"] = _object_column([f if isinstance(f, dict) else None for f in out["fields"].tolist()], n_groups)
        lengths = np.zeros(n_groups, np.int64)
        lengths[list(citekeys)] = [len(keys) for keys in citekeys.values()]
        flat = [key for g in sorted(citekeys) for key in citekeys[g]]
        out["citekeys"] = pd.arrays.ArrowExtensionArray(listed(pa.array(flat, pa.string()), lengths))
    else:
        out["citekeys"] = pd.arrays.ArrowExtensionArray(empty_lists(n_groups))
    out["sources"] = _row_sources(source_codes, source_names, source_lists, group, first, multi)

    kept = [name for name in COLUMNS if name != "abstract"]
    return Merged(out[kept].reset_index(drop=True), group, longest["abstract"], row_folded)


def _row_sources(
    codes: np.ndarray,
    names: pd.Index,
    source_lists: np.ndarray | None,
    group: np.ndarray,
    first: np.ndarray,
    multi: np.ndarray,
) -> pd.Series:
    """Each row's sources, sorted, as Arrow lists: from the records' first sources (``codes`` into the
    sorted ``names``) or, when the records came with lists of sources (``source_lists``), from those.

    The names are dictionary-encoded in the order they first appear (as the library cache stores them,
    see ``store.cache``) when they repeat: a million rows read from a hundred files hold a code each.
    """
    n_groups = len(first)
    if source_lists is not None:  # a frame's own lists (from_frame): few rows, each set in Python
        sources = source_lists[first]  # a copy: the few groups of several records change
        for row_group, lists in pd.Series(source_lists[multi]).groupby(group[multi], sort=True):
            sources[row_group] = sorted({s for lst in lists for s in lst})
        return pd.Series(pd.arrays.ArrowExtensionArray(pa.array(sources.tolist(), LIST_DTYPE.pyarrow_dtype)))
    # each (row, source) once, in row order and then in name order (the codes' order: names are sorted)
    pairs = np.sort(group.astype(np.int64) * max(len(names), 1) + codes)
    pairs = pairs[np.diff(pairs, prepend=-1) != 0]  # np.unique (hash-based) took ~0.9 s a million, this ~0.06
    rows, row_codes = np.divmod(pairs, max(len(names), 1))
    lengths = np.bincount(rows, minlength=n_groups)
    positions, distinct = pd.factorize(row_codes)  # by first appearance, as Arrow's dictionary_encode numbers them
    strings = pa.array(np.asarray(names, dtype=object), pa.string())
    if 2 * len(distinct) > len(row_codes):  # few repeats: the names themselves
        return pd.Series(pd.arrays.ArrowExtensionArray(listed(strings.take(pa.array(row_codes)), lengths)))
    encoded = pa.DictionaryArray.from_arrays(pa.array(positions.astype(np.int32)), strings.take(pa.array(distinct)))
    return pd.Series(pd.arrays.ArrowExtensionArray(listed(encoded, lengths)))


def _abstract_lengths(abstracts: FileTexts, rows: np.ndarray) -> np.ndarray:
    """:func:`_text_lengths` of packed abstracts: only those at ``rows`` are unpacked."""
    lengths = np.zeros(len(abstracts), np.int64)
    if rows.any():
        lengths[rows] = abstracts.char_lengths(np.flatnonzero(rows))
    return lengths


def _text_lengths(texts: pd.Series, rows: np.ndarray) -> np.ndarray:
    """The length of each text at ``rows`` (a mask; -1 for NA), 0 elsewhere: no other row is compared."""
    lengths = np.zeros(len(texts), np.int64)
    if rows.any():
        lengths[rows] = texts[rows].astype("str").str.len().fillna(-1).to_numpy(np.int64)
    return lengths
