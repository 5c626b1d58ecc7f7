"""Merging stage: records from every input → one row per unique paper (before citekeys).

Two records are the same paper when they share an arXiv id or a folded title
(:func:`paper_widgets.data.text.fold`: case, accents, punctuation and whitespace ignored); the
relation is transitive, so groups are the connected components of that graph.  Each field of a
group comes from the record most likely to have it right: date and counts from page cards,
authors and arXiv id from JSON, the longest abstract.  Ties are broken by a stable identity of
the record (kind, source, line, text), never by input order, so any file order gives the same
frame.  Everything is column-wise so a million rows merge in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import compress

import numpy as np
import pandas as pd

from paper_widgets.data.records import KINDS
from paper_widgets.data.text import fold

__all__ = ["ASCII_FOLD", "COLUMNS", "fold_titles", "hf_url", "merge_records", "normalise_frame"]

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
}

# Which kind of input is trusted first for a field (unlisted kinds come after, in KINDS order).
_PRIORITY: dict[str, tuple[str, ...]] = {
    "published": ("card", "hf_json", "arxiv", "bibtex", "frame", "pair"),
    "n_authors": ("card", "hf_json", "arxiv", "bibtex", "frame", "pair"),
    "upvotes": ("card", "hf_json", "frame", "arxiv", "bibtex", "pair"),
    "authors": ("hf_json", "arxiv", "bibtex", "frame", "card", "pair"),
    "arxiv_id": ("hf_json", "arxiv", "bibtex", "frame", "card", "pair"),
}
_HF_PAPERS = "https://huggingface.co/papers/"
_SEP = "\x00"  # separates the titles of a batch; see ASCII_FOLD
# fold for ASCII text as one bytes.translate: letters lower-cased, digits kept, anything else a space
# (runs of spaces are then collapsed); NUL is kept, to separate the texts of a batch
ASCII_FOLD = bytes(b if chr(b).isascii() and (chr(b).isalnum() or b == 0) else 32 for b in range(256)).lower()


def fold_titles(titles: pd.Series) -> pd.Series:
    """:func:`fold` of every title; the ASCII ones (same result) in a few C-level passes over all at once."""
    values = titles.fillna("").astype("str").tolist()
    simple = np.fromiter(map(str.isascii, values), bool, len(values))
    joined = _SEP.join(compress(values, simple))
    if joined.count(_SEP) != simple.sum() - 1:  # a title holds the separator: fold each on its own
        simple[:] = False
    folded = np.array(values, dtype=object)
    if simple.any():
        pieces = joined.encode("ascii").translate(ASCII_FOLD).decode("ascii").split(_SEP)
        folded[simple] = list(map(" ".join, map(str.split, pieces)))
    folded[~simple] = list(map(fold, compress(values, ~simple)))
    return pd.Series(folded, index=titles.index, dtype="str")


def hf_url(arxiv_ids: pd.Series) -> pd.Series:
    """The Hugging Face paper page for each known arXiv id, NA otherwise."""
    return (_HF_PAPERS + arxiv_ids.astype("str")).where(arxiv_ids.notna()).astype("str")


def _object_column(values: object, n: int) -> np.ndarray:
    out = np.empty(n, dtype=object)
    out[:] = values
    return out


def _clean_authors(value: object) -> list[str]:
    if isinstance(value, str):
        return [value] if value.strip() else []
    if isinstance(value, (list, tuple, np.ndarray)):
        return [str(a) for a in value if isinstance(a, str) and a.strip()]
    return []


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
        }
    )
    out["authors"] = (
        _object_column([_clean_authors(a) for a in df["authors"]], n)
        if "authors" in df.columns
        else _object_column([[] for _ in range(n)], n)
    )
    if "sources" in df.columns:
        out["sources"] = _object_column([_clean_authors(s) or [source] for s in df["sources"]], n)
    else:
        out["sources"] = _object_column([[source]] * n, n)
    out["line"] = np.arange(1, n + 1, dtype=np.int64)
    out["kind"] = pd.Series("frame", index=index, dtype="str")
    return out


def _values(df: pd.DataFrame, name: str, index: pd.RangeIndex) -> pd.Series:
    """``df[name]`` re-indexed, in its own dtype (no round trip through objects)."""
    return pd.Series(df[name].to_numpy(), index=index)


def _kind_rank(kinds: pd.Series, order: Sequence[str]) -> np.ndarray:
    """Position of each record's kind in ``order`` (unlisted kinds after the listed ones)."""
    codes, distinct = pd.factorize(kinds, use_na_sentinel=False)  # a handful of kinds: rank those only
    return np.array([order.index(k) if k in order else len(order) for k in distinct], np.int64)[codes]


def _components(title_ids: np.ndarray, arxiv_ids: pd.Series) -> np.ndarray:
    """Connected components of "same folded title or same arXiv id", as the smallest title id."""
    group = title_ids.copy()
    has_id = arxiv_ids.notna().to_numpy()
    if not has_id.any():
        return group
    ids = arxiv_ids[has_id].to_numpy()
    while True:  # label propagation; converges in a couple of rounds for real data
        by_id = pd.Series(group[has_id]).groupby(ids).transform("min").to_numpy()
        new = group.copy()
        new[has_id] = by_id
        new = pd.Series(new).groupby(title_ids).transform("min").to_numpy()
        if np.array_equal(new, group):
            return group
        group = new


def merge_records(records: pd.DataFrame) -> pd.DataFrame:
    """One row per unique paper from a records frame (see :func:`normalise_frame`), without ``key``.

    ``records`` needs ``sources`` (list per row) or ``source`` (str per row).
    Rows come out sorted by (smallest) folded title, i.e. independent of input order.
    """
    rec = records.reset_index(drop=True)
    if "sources" not in rec.columns:
        rec["sources"] = _object_column([[s] for s in rec["source"]], len(rec))
    rec["arxiv_id"] = rec["arxiv_id"].str.strip().str.replace(r"v\d+$", "", regex=True).replace("", None)
    folded = fold_titles(rec["title"])
    # An empty title identifies nothing: such records merge only on the same abstract (or id).
    blank = folded == ""
    folded[blank] = "\x00" + rec.loc[blank, "abstract"].fillna("")
    title_ids = pd.factorize(folded, sort=True)[0]
    rec["group"] = _components(title_ids, rec["arxiv_id"])
    # A stable total order of the records that ignores input order.
    rec["first_source"] = [s[0] if s else "" for s in rec["sources"]]
    rec["kind_rank"] = _kind_rank(rec["kind"], KINDS)
    base_order = ["group", "kind_rank", "first_source", "line", "title", "abstract"]
    rec = rec.sort_values(base_order, kind="stable").reset_index(drop=True)

    groups = rec.groupby("group", sort=True)
    out = pd.DataFrame(index=pd.Index(groups.size().index, name=None))
    # Longest text wins (first in the stable order on ties).
    for name in ("title", "abstract"):
        lengths = rec[name].str.len()
        best = lengths.groupby(rec["group"]).idxmax()
        out[name] = rec.loc[best.to_numpy(), name].to_numpy()
    for name, kinds in _PRIORITY.items():
        rank = _kind_rank(rec["kind"], kinds)
        values = rec[name]
        if name == "authors":
            values = _object_column([a if len(a) else None for a in values], len(values))
        ordered = pd.DataFrame({"group": rec["group"], "rank": rank, "v": values}).sort_values(
            ["group", "rank"], kind="stable"
        )
        out[name] = ordered.groupby("group", sort=True)["v"].first()
    out["authors"] = _object_column([a if isinstance(a, list) else [] for a in out["authors"]], len(out))
    counted = pd.array([len(a) if a else None for a in out["authors"]], dtype="Int64")
    out["n_authors"] = out["n_authors"].astype("Int64").fillna(pd.Series(counted, index=out.index))
    out["published"] = out["published"].astype("datetime64[ns]")
    out["upvotes"] = out["upvotes"].astype("Int64")
    out["arxiv_id"] = out["arxiv_id"].astype("str")
    out["url"] = hf_url(out["arxiv_id"])

    # sources: every origin, sorted; singletons (almost all rows at scale) without a Python groupby.
    sizes = groups.size()
    single = sizes[sizes == 1].index
    sources = pd.Series(None, index=out.index, dtype=object)
    first_rows = rec.drop_duplicates("group").set_index("group")
    sources[single] = first_rows.loc[single, "sources"].to_numpy()
    multi = rec[rec["group"].isin(sizes[sizes > 1].index)]
    for group, lists in multi.groupby("group", sort=True)["sources"]:
        sources[group] = sorted({s for lst in lists for s in lst})
    out["sources"] = _object_column(list(sources), len(out))

    # Groups are labelled by their smallest title id, and title ids follow folded-title order.
    return out[list(COLUMNS)].reset_index(drop=True)
