"""Abstracts held compressed while a load goes on: each file's texts one LZ4 block, 60 % of their size.

A million abstracts are ~1.3 GB of text, and a cold load holds every one of them from the first
file parsed until the library's rows are in their final order.  So each file's abstracts are
packed as soon as it is parsed (:class:`PackedTexts`, made by the worker that parsed it), and the
load's abstracts are a :class:`FileTexts`: its files' packed texts (or plain string arrays, for
records that came from a cache), which unpacks a file only to hand out the few rows the merge
compares, or to pass every text on once, file by file (:meth:`FileTexts.drain`).

The texts a worker found byte for byte in the file it parsed (:func:`~paper_widgets.data.spans.find_spans`)
are not packed at all: the file still holds them, and they are read from it when a row is asked for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TypeAlias

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from paper_widgets.data.spans import FileSpans, SourceFile, read_spans

__all__ = [
    "STR_DTYPE",
    "FileTexts",
    "PackedTexts",
    "Part",
    "joined_texts",
    "large_strings",
    "no_strings",
    "no_text",
    "one_array",
    "release_arrow_memory",
    "text_bytes",
    "text_offsets",
]

STR_DTYPE = pd.StringDtype("pyarrow", na_value=np.nan)  # the "str" dtype of the library's text columns
# LZ4: packs at ~450 MB/s and unpacks at ~4 GB/s, to 60 % of the size (zstd level 1: 37 %, but packing
# a million abstracts took ~15 s of CPU and unpacking them again, for each merge lookup, ~5 s).
_CODEC = "lz4_raw"


def one_array(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """``column`` as one Arrow array: a single chunk as it is (combining chunks copies even one)."""
    if isinstance(column, pa.ChunkedArray):
        return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()
    return column


def large_strings(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.LargeStringArray:
    """``column`` (strings, NA allowed) as one Arrow ``large_string`` array (no copy when it is one)."""
    if isinstance(column, pd.Series):
        array = column.array
        column = array.__arrow_array__() if hasattr(array, "__arrow_array__") else pa.array(column, pa.large_string())
    strings: pa.LargeStringArray = one_array(column).cast(pa.large_string())
    return strings


def no_strings(n: int) -> pd.arrays.ArrowStringArray:
    """A ``str`` column of ``n`` NAs whose buffers are zero pages never written (calloc'd): a million
    rows' offsets cost no memory until something reads them (a dump library's DOIs, venues, ...)."""
    offsets, validity = np.zeros(n + 1, np.int64), np.zeros(-(-n // 8), np.uint8)
    strings = pa.LargeStringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(b""), pa.py_buffer(validity), n)
    return pd.arrays.ArrowStringArray(strings, dtype=STR_DTYPE)


def no_text(column: pd.Series) -> bool:
    """Whether ``column`` is a ``str`` column of NAs alone (counted by Arrow: no row is read)."""
    array = column.array
    return isinstance(array, pd.arrays.ArrowStringArray) and array.__arrow_array__().null_count == len(array)


def text_offsets(strings: pa.LargeStringArray) -> np.ndarray:
    """Where each row of ``strings`` starts in its text buffer, and where the last ends (a view of the
    array's own offsets, a slice's included: they need not start at 0)."""
    if not len(strings):
        return np.zeros(1, np.int64)
    return np.frombuffer(strings.buffers()[1], np.int64, len(strings) + 1, strings.offset * 8)


def text_bytes(strings: pa.LargeStringArray) -> bytes:
    """The text of ``strings``' rows as one bytes, from the first's start to the last's end (a slice's
    own rows only): what :func:`text_offsets` less its first point into."""
    offsets = text_offsets(strings)
    data = strings.buffers()[2]
    return bytes(memoryview(data if data is not None else b"")[offsets[0] : offsets[-1]])


@dataclass(frozen=True, slots=True)
class PackedTexts:
    """A column of texts as one compressed frame: where each row starts (and the last ends) in the
    text, which rows are NA (None: none), and the text's UTF-8, compressed; with ``spans``, the text
    of the rows found in a file is not in ``data`` (it holds the others' only)."""

    offsets: np.ndarray
    valid: np.ndarray | None
    data: bytes
    spans: FileSpans | None = None

    @classmethod
    def of(cls, column: pd.Series | pa.Array | pa.ChunkedArray, spans: FileSpans | None = None) -> PackedTexts:
        strings = large_strings(column)
        ends = text_offsets(strings)
        offsets = ends - ends[0]
        kept = strings if spans is None else strings.filter(pa.array(spans.starts < 0))
        kept_ends = text_offsets(kept)
        size = int(kept_ends[-1] - kept_ends[0])
        text = kept.buffers()[2] if len(kept) else None
        data = pa.Codec(_CODEC).compress(text.slice(int(kept_ends[0]), size)).to_pybytes() if size and text else b""
        valid = strings.is_valid().to_numpy(zero_copy_only=False) if strings.null_count else None
        return cls(offsets, valid, data, spans)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def unpacked(self, *, from_file: bool = True) -> pa.LargeStringArray:
        """The texts as an Arrow array; ``from_file=False``: those in the file as NA (not read)."""
        in_file = np.zeros(len(self), bool) if self.spans is None else self.spans.starts >= 0
        lengths = np.diff(self.offsets)
        offsets = self.offsets if not in_file.any() else np.concatenate([[0], np.cumsum(np.where(in_file, 0, lengths))])
        size = int(offsets[-1])
        text = pa.Codec(_CODEC).decompress(self.data, decompressed_size=size) if size else pa.py_buffer(b"")
        valid = np.ones(len(self), bool) if self.valid is None else self.valid
        validity = None if self.valid is None else pa.py_buffer(np.packbits(valid, bitorder="little"))
        if in_file.any():
            validity = pa.py_buffer(np.packbits(valid & ~in_file, bitorder="little"))
        strings = pa.LargeStringArray.from_buffers(len(self), pa.py_buffer(offsets), text, validity)
        strings.validate(full=True)  # UTF-8 and offsets that fit: the packed bytes came from another process
        if not in_file.any() or not from_file:
            return strings
        return _with_read(strings, in_file, self._read(np.flatnonzero(in_file)))

    def take(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts at ``rows`` (positions, any order): those in the file read from it, only they."""
        rows = np.asarray(rows, np.int64)
        in_file = np.zeros(len(rows), bool) if self.spans is None else self.spans.starts[rows] >= 0
        taken: pa.LargeStringArray = self.unpacked(from_file=False).take(pa.array(rows))
        return _with_read(taken, in_file, self._read(rows[in_file])) if in_file.any() else taken

    def _read(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts of ``rows`` (all in the file), read from it."""
        spans = self.spans
        assert spans is not None
        lengths = self.offsets[rows + 1] - self.offsets[rows]
        file_of = np.zeros(len(rows), np.int64)
        read: pa.LargeStringArray = read_spans(
            [spans.file], file_of, spans.starts[rows], lengths, spans.checksums[rows]
        )
        return read

    def references(self) -> tuple[SourceFile | None, np.ndarray, np.ndarray, np.ndarray]:
        """Where the texts are: the file (None: none is), each row's offset in it (-1: not there),
        length and CRC-32."""
        lengths = np.diff(self.offsets)
        if self.spans is None:
            return None, np.full(len(self), -1, np.int64), lengths, np.zeros(len(self), np.uint32)
        return self.spans.file, self.spans.starts, lengths, self.spans.checksums


def _with_read(strings: pa.LargeStringArray, in_file: np.ndarray, read: pa.LargeStringArray) -> pa.LargeStringArray:
    """``strings`` with its rows ``in_file`` (NA there) replaced by ``read``, in order."""
    joined = pa.concat_arrays([strings, read])
    places = np.arange(len(strings))
    places[in_file] = len(strings) + np.arange(len(read))
    taken: pa.LargeStringArray = joined.take(pa.array(places))
    return taken


Part: TypeAlias = "PackedTexts | pa.LargeStringArray"


def _unpacked(part: Part, from_file: bool = True) -> pa.LargeStringArray:
    return part.unpacked(from_file=from_file) if isinstance(part, PackedTexts) else part


def _text_size(part: Part) -> int:
    """Bytes of UTF-8 of ``part``'s texts."""
    ends = part.offsets if isinstance(part, PackedTexts) else text_offsets(part)
    return int(ends[-1] - ends[0])


def joined_texts(parts: list[Part]) -> pa.LargeStringArray:
    """The texts of ``parts`` (packed, or Arrow ``large_string`` arrays) one after the other as one
    Arrow array.  Each part is put straight into its place and taken out of ``parts`` once there
    (joining them as they are, or unpacking each first, would hold the texts twice); Arrow's memory
    is given back after each array part, before the next pages of the joined text are touched.
    """
    sizes = [_text_size(part) for part in parts]
    rows = sum(len(part) for part in parts)
    text = np.empty(sum(sizes), np.uint8)
    offsets = np.zeros(rows + 1, np.int64)
    valid = np.ones(rows, bool)
    codec = pa.Codec(_CODEC)
    from_elsewhere = False  # packed parts came from another process: the result is checked
    parts.reverse()  # taken from the end: each dropped once copied
    row = at = 0
    for size in sizes:
        part = parts.pop()
        n = len(part)
        if isinstance(part, PackedTexts) and part.spans is not None:
            part = part.unpacked()  # some of its texts are in a file: read, then copied as any array
        if isinstance(part, PackedTexts):
            from_elsewhere = True
            if size:
                text[at : at + size] = np.frombuffer(codec.decompress(part.data, decompressed_size=size), np.uint8)
            offsets[row + 1 : row + n + 1] = part.offsets[1:] + at
            if part.valid is not None:
                valid[row : row + n] = part.valid
        else:
            ends = text_offsets(part)
            if size:
                text[at : at + size] = np.frombuffer(part.buffers()[2], np.uint8, size, int(ends[0]))
            offsets[row + 1 : row + n + 1] = ends[1:] - ends[0] + at
            if part.null_count:
                valid[row : row + n] = part.is_valid().to_numpy(zero_copy_only=False)
            del part, ends
            release_arrow_memory()
        row, at = row + n, at + size
    validity = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
    strings = pa.LargeStringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(text), validity)
    if from_elsewhere:
        strings.validate(full=True)  # UTF-8 and offsets that fit
    return strings


class FileTexts:
    """The texts of a load, file by file (each packed or a plain string array), rows numbered across files."""

    def __init__(self, parts: Sequence[Part | pd.Series]) -> None:
        self._parts: list[Part | None] = [p if isinstance(p, PackedTexts) else large_strings(p) for p in parts]
        sizes = [len(p) for p in self._parts if p is not None]
        self._starts = np.concatenate([[0], np.cumsum(sizes, dtype=np.int64)]).astype(np.int64)

    def __len__(self) -> int:
        return int(self._starts[-1])

    def text_bytes(self) -> int:
        """The size of every text, unpacked."""
        sizes = [
            int(p.offsets[-1]) if isinstance(p, PackedTexts) else int(pc.sum(pc.binary_length(p)).as_py() or 0)
            for p in self._parts
            if p is not None
        ]
        return sum(sizes)

    def take(self, rows: np.ndarray) -> pd.Series:
        """The texts at ``rows`` (positions across files, any order) as a ``str`` column: each file
        holding some is unpacked once (meant for a few rows, or rows of a few files)."""
        rows = np.asarray(rows, np.int64)
        file_of = np.searchsorted(self._starts, rows, side="right") - 1
        pieces, places = [], []
        for f in np.unique(file_of).tolist():
            part = self._parts[f]
            if part is None:
                raise ValueError("these texts were drained")
            mine = np.flatnonzero(file_of == f)
            local = rows[mine] - self._starts[f]
            pieces.append(part.take(local) if isinstance(part, PackedTexts) else part.take(pa.array(local)))
            places.append(mine)
        strings = pa.concat_arrays(pieces) if pieces else pa.array([], pa.large_string())
        if places:
            strings = strings.take(pa.array(np.argsort(np.concatenate(places), kind="stable")))
        return pd.Series(pd.arrays.ArrowStringArray(strings, dtype=STR_DTYPE))

    def char_lengths(self, rows: np.ndarray) -> np.ndarray:
        """The length in characters of the texts at ``rows`` (-1 for NA), as ``str.len`` counts."""
        lengths: np.ndarray = self.take(rows).str.len().fillna(-1).to_numpy(np.int64)
        return lengths

    def references(self) -> tuple[list[SourceFile], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Where the texts are in files: the files, and per row the file (-1: in none), offset, length
        and CRC-32."""
        files: dict[SourceFile, int] = {}
        found = []
        for part in self._parts:
            if part is None:
                raise ValueError("these texts were drained")
            if isinstance(part, PackedTexts):
                file, starts, lengths, checksums = part.references()
            else:
                file, starts, lengths = None, np.full(len(part), -1, np.int64), np.diff(text_offsets(part))
                checksums = np.zeros(len(part), np.uint32)
            number = -1 if file is None else files.setdefault(file, len(files))
            found.append((np.where(starts >= 0, number, -1), starts, lengths, checksums))
        if not found:
            none = np.zeros(0, np.int64)
            return [], none, none, none, np.zeros(0, np.uint32)
        file_of, starts, lengths, checksums = (np.concatenate(arrays) for arrays in zip(*found, strict=True))
        return list(files), file_of, starts, lengths, checksums

    def drain(self, *, from_file: bool = True) -> Iterator[tuple[int, pa.LargeStringArray]]:
        """Each file's texts, unpacked one file at a time with the position of its first row; each is
        let go of once passed on (these texts are empty afterwards).  ``from_file=False``: the texts
        that are in files come as NA, unread (see :meth:`references`)."""
        for f, part in enumerate(self._parts):
            if part is None:
                raise ValueError("these texts were drained")
            self._parts[f] = None
            yield int(self._starts[f]), _unpacked(part, from_file)


def release_arrow_memory() -> None:
    """Give the memory Arrow's allocator kept from freed arrays back to the system.

    Otherwise a large column freed (the files' chunks once joined, the records once merged) stays
    in the process, and the next large allocation (numpy arrays, Python lists, the search index:
    another allocator) comes on top.
    """
    pa.default_memory_pool().release_unused()
