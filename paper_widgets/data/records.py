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
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from paper_widgets.data.text import valid_unicode

__all__ = [
    "KINDS",
    "DumpError",
    "LoadWarning",
    "PaperRecord",
    "PaperWidgetsWarning",
    "bounded",
    "records_frame",
    "summarised",
]

# Where a record came from; the merge stage ranks fields by it ("date and counts from cards,
# authors and id from JSON").
KINDS = ("card", "hf_json", "arxiv", "bibtex", "frame", "pair")


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
    authors: tuple[str, ...] = field(default_factory=tuple)
    upvotes: int | None = None
    arxiv_id: str | None = None


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


def _bounded(record: PaperRecord, warnings: list[LoadWarning]) -> PaperRecord:
    def warn(message: str) -> None:
        warnings.append(LoadWarning(record.source, record.line, message))

    low, high = _DATE_RANGE
    if record.published is not None and not low < record.published < high:
        warn(f"date {record.published.isoformat()} is outside {low.year}–{high.year}; left empty")
        record.published = None
    for name in ("n_authors", "upvotes"):
        count = getattr(record, name)
        if count is not None and not _COUNT_RANGE[0] <= count <= _COUNT_RANGE[1]:
            size = "negative" if count < 0 else "above 2^63"
            warn(f"{name.replace('n_', 'number of ')} {size}; left empty")
            setattr(record, name, None)
    texts = (record.title, record.abstract, record.arxiv_id or "", *record.authors)
    if not all(text.isascii() for text in texts) and any(valid_unicode(text) != text for text in texts):
        warn("invalid Unicode (lone surrogates) replaced by U+FFFD")
        record.title, record.abstract = valid_unicode(record.title), valid_unicode(record.abstract)
        record.arxiv_id = None if record.arxiv_id is None else valid_unicode(record.arxiv_id)
        record.authors = tuple(valid_unicode(author) for author in record.authors)
    return record


def bounded(records: Iterable[PaperRecord], warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """``records`` with every value the library can hold: an out-of-range date or count is left
    empty and a string with lone surrogates repaired, each with a warning naming source and line."""
    return (_bounded(record, warnings) for record in records)


def records_frame(records: Iterable[PaperRecord]) -> pd.DataFrame:
    """The records as a frame with one row each, built column by column."""
    cols: dict[str, list[object]] = {name: [] for name in PaperRecord.__slots__}
    for r in records:
        cols["title"].append(r.title)
        cols["abstract"].append(r.abstract)
        cols["source"].append(r.source)
        cols["line"].append(r.line)
        cols["kind"].append(r.kind)
        cols["published"].append(r.published)
        cols["n_authors"].append(r.n_authors)
        cols["authors"].append(list(r.authors))
        cols["upvotes"].append(r.upvotes)
        cols["arxiv_id"].append(r.arxiv_id)
    authors = np.empty(len(cols["authors"]), dtype=object)
    authors[:] = cols["authors"]
    return pd.DataFrame(
        {
            "title": pd.Series(cols["title"], dtype="str"),
            "abstract": pd.Series(cols["abstract"], dtype="str"),
            "published": pd.to_datetime(pd.Series(cols["published"], dtype=object)).astype("datetime64[ns]"),
            "n_authors": pd.array(cols["n_authors"], dtype="Int64"),
            "authors": authors,
            "upvotes": pd.array(cols["upvotes"], dtype="Int64"),
            "arxiv_id": pd.Series(cols["arxiv_id"], dtype="str"),
            "source": pd.Series(cols["source"], dtype="str"),
            "line": np.asarray(cols["line"], dtype=np.int64),
            "kind": pd.Series(cols["kind"], dtype="str"),
        }
    )
