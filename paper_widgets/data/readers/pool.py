"""Reading many files at once: each file parsed into its records frame, in worker processes when it pays.

A million papers come in a hundred dump files of ~8 MB; parsing them is most of a cold load and
each file is independent, so :func:`read_files` parses them in worker processes
(:class:`~paper_widgets.workers.Workers`: fresh interpreters, never a fork) and hands back each
file's :func:`~paper_widgets.data.records.records_frame`, its abstracts packed, in the order given;
the abstracts found byte for byte in the file are not packed but referenced
(:func:`~paper_widgets.data.spans.find_spans`): the store reads them from the file when used.

A few small files are read in this process, where starting workers would cost more than it saves;
a file whose worker failed (killed, out of memory) is read here too.  Either way every file gives
the same frame and the same warnings (file and line), and a file that cannot be read gives its
error as a warning in its place: the other files still load.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from paper_widgets.data.packed import PackedTexts, large_strings
from paper_widgets.data.readers.sources import read_path
from paper_widgets.data.records import DumpError, LoadWarning, records_frame
from paper_widgets.data.spans import find_spans
from paper_widgets.workers import Workers, worker_count

__all__ = ["POOL_MIN_BYTES", "FileRecords", "pool_workers", "read_file", "read_files"]

# Below this much input, starting workers (a fresh interpreter importing pandas, ~0.5 s of CPU each)
# costs about what two of them save over parsing in this process (~25 MB/s).
POOL_MIN_BYTES = 64 << 20


@dataclass(frozen=True, slots=True)
class FileRecords:
    """What one file gave: its records (None when it could not be read at all), the problems found
    while reading it, and the reason it could not be read (reported after those problems)."""

    frame: pd.DataFrame | None  # every records_frame column but ``abstract``
    problems: list[LoadWarning]
    failure: LoadWarning | None = None
    abstracts: PackedTexts | None = None  # the frame's abstracts, packed (or found in the file) as soon as parsed


def read_file(path: Path, source: str) -> FileRecords:
    """The records of the file at ``path`` (named ``source`` in warnings) as a frame, their abstracts
    packed; never raises for an unreadable file (see :class:`FileRecords`)."""
    found: list[LoadWarning] = []
    try:
        frame = records_frame(read_path(path, found, source))
    except DumpError as exc:  # as a warning: a DumpError does not survive pickling with its source and line
        return FileRecords(None, found, exc.as_warning())
    abstracts = large_strings(frame.pop("abstract"))
    spans = find_spans(path, abstracts, frame["line"].to_numpy())
    return FileRecords(frame, found, abstracts=PackedTexts.of(abstracts, spans))


def pool_workers(sizes: Sequence[int]) -> int:
    """How many worker processes reading files of ``sizes`` (bytes) is worth: 0 to read them here."""
    return min(worker_count(len(sizes) > 1 and sum(sizes) >= POOL_MIN_BYTES), len(sizes))


def read_files(files: Sequence[tuple[Path, str]], workers: int = 0) -> Generator[FileRecords, None, None]:
    """:func:`read_file` of each ``(path, source name)``, in that order; in ``workers`` processes
    (see :func:`pool_workers`), else in this one.

    The workers read ahead of the caller while it handles the files already read.
    """
    with Workers(workers if len(files) > 1 else 0) as pool:
        yield from pool.map(_read_file, files)


def _read_file(file: tuple[Path, str]) -> FileRecords:
    return read_file(*file)
