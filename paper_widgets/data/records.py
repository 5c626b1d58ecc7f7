"""Records: the first pipeline stage after text folding.

Every parser turns its input into :class:`PaperRecord` objects (one per paper it read, tagged with
the source name and the line the paper started at) and reports problems as :class:`LoadWarning`
(recoverable: the rest of the input still loads) or :class:`DumpError` (fatal for that one input).
:func:`bounded` is the choke point every read record passes: values the frame cannot hold (dates
outside pandas' range, counts beyond int64, lone surrogates) become warnings, never a failed load.
:func:`records_frame` turns records into the column-wise frame the merge stage works on.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from itertools import repeat
from operator import attrgetter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from paper_widgets.data.text import valid_unicode

__all__ = [
    "KINDS",
    "LIST_DTYPE",
    "DumpError",
    "LoadWarning",
    "PaperRecord",
    "PaperWidgetsWarning",
    "bounded",
    "empty_lists",
    "held_lists",
    "listed",
    "python_lists",
    "records_frame",
    "summarised",
]

# Where a record came from; the merge stage ranks fields by it ("date and counts from cards,
# authors and id from JSON").
KINDS = ("card", "hf_json", "arxiv", "bibtex", "frame", "pair")
# A column of lists of strings held by Arrow (a library's sources and citekeys while it is built, every
# list column of a reopened one): offsets and one buffer, not a Python list per row.
LIST_DTYPE = pd.ArrowDtype(pa.list_(pa.string()))


class PaperWidgetsWarning(UserWarning):
    """Category of the warnings paper_widgets emits while loading, so users can filter them."""


@dataclass(frozen=True, slots=True)
class LoadWarning:
    """Something in one input that was skipped or guessed; the rest of the input still loaded."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.source if self.line is None else f"{self.source}, line {self.line}"
        return f"{where}: {self.message}"


class DumpError(ValueError):
    """One input cannot be read at all (not a format paper_widgets knows, malformed JSON, ...)."""

    def __init__(self, message: str, source: str = "<text>", line: int | None = None, column: int | None = None):
        self.message = message
        self.source = source
        self.line = line
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = self.source
        if self.line is not None:
            where += f", line {self.line}"
            if self.column is not None:
                where += f", column {self.column}"
        return f"{where}: {self.message}"

    def as_warning(self) -> LoadWarning:
        message = self.message if self.column is None else f"{self.message} (column {self.column})"
        return LoadWarning(self.source, self.line, message)


@dataclass(slots=True)
class PaperRecord:
    """One paper as one input described it; ``None`` / ``()`` mean "this input did not say"."""

    title: str
    abstract: str
    source: str
    line: int
    kind: str
    published: date | None = None
    n_authors: int | None = None
    authors: tuple[str, ...] = ()
    upvotes: int | None = None
    arxiv_id: str | None = None
    # Today's HF cards: the number after the date (links to the paper's discussion), and the
    # organisation a card is signed with instead of "N authors".
    comments: int | None = None
    organization: str | None = None
    doi: str | None = None
    # BibTeX: the user's own citekey, the entry type, the journal/booktitle decoded to Unicode, and
    # every field as written (macros and crossref resolved, LaTeX kept) so export gives it back.
    citekey: str | None = None
    entry_type: str | None = None
    venue: str | None = None
    fields: dict[str, str] | None = None


SUMMARY_LINES = 5  # warnings shown per file before "… and N more"


def summarised(problems: Iterable[LoadWarning], first: int = SUMMARY_LINES) -> list[LoadWarning]:
    """The first ``first`` problems of each file, then one "… and N more in FILE" line per file:
    a dump with 100,000 bad lines is a few lines of output, not 100,000."""
    shown: list[LoadWarning] = []
    hidden: dict[str, int] = {}
    for problem in problems:
        seen = hidden.get(problem.source, 0)
        if seen < first:
            shown.append(problem)
        hidden[problem.source] = seen + 1
    for source, count in hidden.items():
        if count > first:
            shown.append(LoadWarning(source, None, f"… and {count - first} more warnings in this file"))
    return shown


# What the frame's columns can hold: datetime64[ns] and Int64.
_DATE_RANGE = (pd.Timestamp.min.date(), pd.Timestamp.max.date())
_COUNT_RANGE = (0, 2**63 - 1)
_COUNTS = ("n_authors", "upvotes", "comments")
_TEXTS = ("title", "abstract", "source", "arxiv_id", "organization", "doi", "citekey", "entry_type", "venue")
_COUNT_VALUES = attrgetter(*_COUNTS)
_TEXT_VALUES = attrgetter(*_TEXTS)


def _warn(warnings: list[LoadWarning], record: PaperRecord, message: str) -> None:
    warnings.append(LoadWarning(record.source, record.line, message))


def _repair_unicode(record: PaperRecord, warnings: list[LoadWarning]) -> None:
    """Lone surrogates in any text of ``record`` replaced by U+FFFD, with a warning if there were any."""
    fields = record.fields or {}
    if all(
        valid_unicode(text) == text
        for text in [*_TEXT_VALUES(record), *record.authors, *fields, *fields.values()]
        if text
    ):
        return
    _warn(warnings, record, "invalid Unicode (lone surrogates) replaced by U+FFFD")
    for name in _TEXTS:
        if (value := getattr(record, name)) is not None:
            setattr(record, name, valid_unicode(value))
    record.authors = tuple(valid_unicode(author) for author in record.authors)
    if record.fields is not None:
        record.fields = {valid_unicode(k): valid_unicode(v) for k, v in record.fields.items()}


def _clear_counts_out_of_range(record: PaperRecord, warnings: list[LoadWarning]) -> None:
    for name, count in zip(_COUNTS, _COUNT_VALUES(record), strict=True):
        if count is not None and not _COUNT_RANGE[0] <= count <= _COUNT_RANGE[1]:
            size = "negative" if count < 0 else "above 2^63"
            _warn(warnings, record, f"{name.replace('n_', 'number of ')} {size}; left empty")
            setattr(record, name, None)


def _fits(record: PaperRecord) -> bool:
    """Whether every value of ``record`` fits the frame as it is: one test, true for nearly every record.

    Field by field (``record.x`` on a slot is the fastest read there is; ``attrgetter`` takes twice as
    long), so every text of ``_TEXTS`` and count of ``_COUNTS`` is named here too (tests check each)."""
    earliest, latest = _DATE_RANGE
    lowest, highest = _COUNT_RANGE
    published, n_authors, upvotes, comments = record.published, record.n_authors, record.upvotes, record.comments
    arxiv_id, organization, doi = record.arxiv_id, record.organization, record.doi
    citekey, entry_type, venue = record.citekey, record.entry_type, record.venue
    return (
        (published is None or earliest < published < latest)
        and (n_authors is None or lowest <= n_authors <= highest)
        and (upvotes is None or lowest <= upvotes <= highest)
        and (comments is None or lowest <= comments <= highest)
        # Only non-ASCII text can hold a lone surrogate, and str.isascii reads a flag.
        and record.title.isascii()
        and record.abstract.isascii()
        and record.source.isascii()
        and (arxiv_id is None or arxiv_id.isascii())
        and (organization is None or organization.isascii())
        and (doi is None or doi.isascii())
        and (citekey is None or citekey.isascii())
        and (entry_type is None or entry_type.isascii())
        and (venue is None or venue.isascii())
        and all(map(str.isascii, record.authors))
        and record.fields is None
    )


def _bounded(record: PaperRecord, warnings: list[LoadWarning]) -> PaperRecord:
    if _fits(record):
        return record
    low, high = _DATE_RANGE
    if record.published is not None and not low < record.published < high:
        _warn(warnings, record, f"date {record.published.isoformat()} is outside {low.year}–{high.year}; left empty")
        record.published = None
    lowest, highest = _COUNT_RANGE
    for count in _COUNT_VALUES(record):
        if count is not None and not lowest <= count <= highest:
            _clear_counts_out_of_range(record, warnings)
            break
    # Only non-ASCII text can hold a lone surrogate; map/all keep the usual all-ASCII check at C speed.
    if not (
        all(map(str.isascii, filter(None, _TEXT_VALUES(record))))
        and all(map(str.isascii, record.authors))
        and (not record.fields or all(map(str.isascii, [*record.fields, *record.fields.values()])))
    ):
        _repair_unicode(record, warnings)
    return record


def bounded(records: Iterable[PaperRecord], warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """``records`` with every value the library can hold: an out-of-range date or count is left
    empty and a string with lone surrogates repaired, each with a warning naming source and line."""
    return map(_bounded, records, repeat(warnings))


def _strings(values: list[str | None]) -> pd.Series:
    """``values`` as a ``str`` column; one value in every row (a file's source and kind, the DOIs a
    dump never has) is repeated by Arrow, without converting each."""
    if values and values.count(values[0]) == len(values):
        one = pa.array(values[:1], pa.large_string())
        return pd.Series(pd.arrays.ArrowStringArray(one.take(np.zeros(len(values), np.int64))), dtype="str")
    return pd.Series(values, dtype="str")


def records_frame(records: Iterable[PaperRecord]) -> pd.DataFrame:
    """The records as a frame with one row each, built column by column.

    ``authors`` are Arrow lists (:data:`LIST_DTYPE`) and ``source`` and ``kind`` categoricals: a
    million records read from dumps held a Python list and a copy of the file's name each, ~120 MB
    of a cold load's peak (the records live until the library's rows are sorted).
    """
    records = records if isinstance(records, list) else list(records)
    cols: dict[str, list[Any]] = {name: list(map(attrgetter(name), records)) for name in PaperRecord.__slots__}
    fields = np.empty(len(cols["fields"]), dtype=object)
    fields[:] = cols["fields"]
    return pd.DataFrame(
        {
            "title": _strings(cols["title"]),
            "abstract": _strings(cols["abstract"]),
            "published": pd.to_datetime(pd.Series(cols["published"], dtype=object)).astype("datetime64[ns]"),
            "n_authors": pd.array(cols["n_authors"], dtype="Int64"),
            "authors": pd.arrays.ArrowExtensionArray(pa.array(cols["authors"], LIST_DTYPE.pyarrow_dtype)),
            "upvotes": pd.array(cols["upvotes"], dtype="Int64"),
            "arxiv_id": _strings(cols["arxiv_id"]),
            "source": pd.Series(cols["source"], dtype="str").astype("category"),
            "line": np.asarray(cols["line"], dtype=np.int64),
            "kind": pd.Series(cols["kind"], dtype="str").astype("category"),
            "comments": pd.array(cols["comments"], dtype="Int64"),
            "organization": _strings(cols["organization"]),
            "doi": _strings(cols["doi"]),
            "citekey": _strings(cols["citekey"]),
            "entry_type": _strings(cols["entry_type"]),
            "venue": _strings(cols["venue"]),
            "fields": fields,
        }
    )


def empty_lists(n: int) -> pa.ListArray:
    """``n`` empty lists of strings whose offsets are zero pages never written (calloc'd)."""
    offsets = pa.py_buffer(np.zeros(n + 1, np.int32))
    empty: pa.ListArray = pa.Array.from_buffers(
        LIST_DTYPE.pyarrow_dtype, n, [None, offsets], 0, 0, [pa.array([], pa.string())]
    )
    return empty


def listed(strings: pa.Array, lengths: np.ndarray) -> pa.ListArray:
    """``strings`` (any string array, dictionary-encoded too) cut into consecutive lists of ``lengths``."""
    offsets = np.zeros(len(lengths) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    lists: pa.ListArray = pa.ListArray.from_arrays(pa.array(offsets), strings)
    return lists


def held_lists(column: pd.Series) -> dict[int, list[str]]:
    """Row position → list of the rows of ``column`` (lists, or Arrow lists) whose list is not empty;
    of Arrow lists only those rows are made Python lists (a million empty citekeys cells are not)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        lists = column.array.__arrow_array__()
        rows = np.flatnonzero(pc.list_value_length(lists).fill_null(0).to_numpy())
        return dict(zip(rows.tolist(), lists.take(pa.array(rows)).to_pylist(), strict=True))
    return {row: list(c) for row, c in enumerate(column.tolist()) if isinstance(c, (list, tuple)) and c}


def python_lists(array: Any) -> np.ndarray:
    """An Arrow list column (``array``: a pandas array of :class:`pandas.ArrowDtype`) as an object array
    holding a fresh Python list per cell, as a frame of lists has them."""
    cells = np.empty(len(array), dtype=object)
    cells[:] = array.__arrow_array__().to_pylist()
    return cells
