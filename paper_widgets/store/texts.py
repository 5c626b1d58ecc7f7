"""Store stage, texts: a column of long texts (abstracts) stored once, compressed, read for the rows used.

A million abstracts are ~1.5 GB of text; memory-mapped uncompressed they made most of the store
folder.  Here they are zstd-compressed in blocks of :data:`BLOCK_ROWS` rows with a dictionary
trained on the column itself (the words and phrases abstracts share), so reading one row
decompresses ~12 KB and the whole column takes about a third of its size on disk.
:func:`compressed_texts` turns a string column into plain numeric arrays (the store's ``.arrays``
files, memory-mapped: nothing read back can run code); :class:`CompressedTexts` is the pandas
column over them, which decompresses only what it is asked for: a search result's rows, a slice
being indexed, or every row once something needs them all (``Library.df``).

Abstracts that are byte for byte a stretch of the file they were loaded from are not stored at
all: the column keeps where they are (:mod:`paper_widgets.data.spans`: file, offset, length) and
reads them from the file when used; only the others are compressed (``Sourced``).
"""

from __future__ import annotations

import builtins
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import zstandard
from pandas.api.extensions import ExtensionArray, ExtensionDtype

from paper_widgets.data.packed import STR_DTYPE, large_strings, text_offsets
from paper_widgets.data.spans import SourceFile, read_spans

__all__ = [
    "BLOCK_ROWS",
    "LAZY_ABOVE",
    "CompressedTexts",
    "Sourced",
    "compressed_texts",
    "held",
    "narrowed",
    "read_lazily",
    "texts_of",
    "trained_dictionary",
    "training_rows",
]

# Rows per compressed block and the zstd level, measured on 100k synthetic abstracts and on 2k real
# ones (Hugging Face's): with the trained dictionary 8 abstracts (~12 KB) decompress in ~15 us, a
# 20-row search result in ~0.5 ms, and compress to 34 % of their size (real text: 33 %), against
# 39 % (42 %) for the earlier zstd level 1 in blocks of 16 without a dictionary, which read in
# ~0.7 ms.  16-row blocks are 1 % smaller and twice as slow to read; level 6 is 3 % smaller and
# compresses three times as slowly; level 1 is 5 % larger and barely faster.
BLOCK_ROWS = 8
_LEVEL = 3
# zstd's own default dictionary size, trained (fastCOVER, fixed parameters: ~0.2 s) on this many
# rows spread over the column; a column under _DICTIONARY_ABOVE bytes of text is compressed without
# one (it would not pay for itself, and it is decompressed whole when the library opens anyway).
_DICTIONARY_BYTES = 112_640
_TRAINING_ROWS = 5000
_DICTIONARY_ABOVE = 64 * _DICTIONARY_BYTES  # ~5000 abstracts: the dictionary costs 5 % of what it saves
# Text columns larger than this stay compressed in memory; smaller ones are decompressed whole (a
# search result's 20 rows cost ~0.8 ms to decompress, 0.1 ms to take from memory: at 10k papers
# that is half the budget, and 15 MB of abstracts are not worth saving).
LAZY_ABOVE = 64 << 20
_PASS_ROWS = 1 << 16  # rows taken at a time by compressed_texts (whole blocks): ~100 MB of abstracts


def compressed_texts(
    column: pd.Series | pa.Array | pa.ChunkedArray, order: np.ndarray | None = None, dictionary: bytes | None = None
) -> dict[str, np.ndarray]:
    """The numeric arrays storing ``column`` (strings, NA allowed), or its rows in ``order``
    (positions): see :class:`CompressedTexts`.  ``dictionary``: the zstd dictionary to compress
    with (b"": none), when the column is one part of a larger one (see :func:`trained_dictionary`);
    None: one trained on ``column`` itself.

    ``offsets``: where each row's UTF-8 starts in the concatenated text (and where the last ends);
    ``blocks``: where each block's compressed bytes start in ``data`` (and where the last ends);
    ``nulls``: the NA rows; ``dictionary``: the zstd dictionary every block was compressed with
    (empty: none).  The rows are taken and compressed :data:`_PASS_ROWS` at a time, so
    reordering a million abstracts never holds a second uncompressed copy of them.
    """
    if isinstance(column, pd.Series) and isinstance(column.array, CompressedTexts) and order is None:
        return column.array.arrays()  # compressed already, or read from files (a reopened library written again)
    strings = large_strings(column)  # a single chunk as it is: a million abstracts are not copied
    n = len(strings) if order is None else len(order)
    if dictionary is None:
        dictionary = _column_dictionary(strings)
    compressor = zstandard.ZstdCompressor(
        level=_LEVEL,
        dict_data=zstandard.ZstdCompressionDict(dictionary) if dictionary else None,
        # the offsets say how long each block is, and the file has one dictionary: 5 bytes a block saved
        write_content_size=False,
        write_checksum=False,
        write_dict_id=False,
    )
    packed = bytearray()  # grown in place (realloc): never the compressed text twice
    blocks = np.zeros(-(-n // BLOCK_ROWS) + 1, np.int64)
    offsets = np.zeros(n + 1, np.int64)
    nulls = []
    for first in range(0, n, _PASS_ROWS):
        part = strings.slice(first, _PASS_ROWS) if order is None else strings.take(order[first : first + _PASS_ROWS])
        ends = text_offsets(part)  # this (maybe sliced) array's offsets into its text buffer: from ``start``
        start = int(ends[0])
        offsets[first : first + len(part) + 1] = ends - start + offsets[first]
        text = part.buffers()[2] or pa.py_buffer(b"")
        for lo in range(0, len(part), BLOCK_ROWS):
            a, z = int(ends[lo]), int(ends[min(lo + BLOCK_ROWS, len(part))])
            if z > a:
                packed += compressor.compress(text.slice(a, z - a))
            blocks[(first + lo) // BLOCK_ROWS + 1] = len(packed)
        if part.null_count:
            nulls.append(first + np.flatnonzero(part.is_null().to_numpy(zero_copy_only=False)))
    data = np.frombuffer(packed, np.uint8)
    return {
        "offsets": offsets,
        "blocks": blocks,
        "data": data,
        "nulls": np.concatenate([np.zeros(0, np.int64), *nulls]),
        "dictionary": np.frombuffer(dictionary, np.uint8),
    }


def narrowed(arrays: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """``arrays`` (of :func:`compressed_texts` or :meth:`CompressedTexts.arrays`) as they are saved: the
    text offsets and file offsets in 32 bits and the file numbers in 16 when they fit (a million rows:
    8 MB less a column); :func:`texts_of` takes either width."""
    fits = {"offsets": np.uint32, "source_start": np.uint32, "source_file": np.int16}
    limits = {np.uint32: 1 << 32, np.int16: 1 << 15}
    saved = dict(arrays)
    for name, dtype in fits.items():
        array = saved.get(name)
        if array is not None and (not len(array) or int(array.max()) < limits[dtype]):
            saved[name] = array.astype(dtype)
    return saved


def training_rows(n: int) -> np.ndarray:
    """The rows of an ``n``-row column whose texts train its dictionary: :data:`_TRAINING_ROWS`, spread over it."""
    return np.unique(np.linspace(0, n - 1, _TRAINING_ROWS).astype(np.int64)) if n else np.zeros(0, np.int64)


def trained_dictionary(samples: Sequence[bytes], text_bytes: int) -> bytes:
    """A zstd dictionary trained on ``samples`` (the texts at :func:`training_rows` of a column of
    ``text_bytes`` bytes of text, in row order); b"" when the column is too small for one to pay
    (or too uniform for zstd to train one)."""
    if text_bytes < _DICTIONARY_ABOVE:
        return b""
    try:
        return zstandard.train_dictionary(_DICTIONARY_BYTES, [s for s in samples if s], k=1024, d=8).as_bytes()
    except zstandard.ZstdError:
        return b""


def _column_dictionary(strings: pa.LargeStringArray) -> bytes:
    """:func:`trained_dictionary` for the column ``strings``."""
    ends = text_offsets(strings)
    text = memoryview(strings.buffers()[2] or b"")
    samples = [bytes(text[ends[row] : ends[row + 1]]) for row in training_rows(len(strings)).tolist()]
    return trained_dictionary(samples, int(ends[-1] - ends[0]))


def read_lazily(text_bytes: int) -> bool:
    """Whether a column of ``text_bytes`` of text is held compressed and read for the rows used."""
    return text_bytes > LAZY_ABOVE


def held(texts: CompressedTexts) -> CompressedTexts | pd.arrays.ArrowStringArray:
    """``texts`` as a library holds them: decompressed unless :func:`read_lazily`."""
    return texts if read_lazily(texts.text_bytes) else texts.materialised()


def texts_of(arrays: Mapping[str, np.ndarray]) -> CompressedTexts:
    """The column stored in ``arrays`` (from :func:`compressed_texts`, or :meth:`CompressedTexts.arrays`
    of one whose rows are partly read from files); ValueError when they do not fit."""
    offsets, blocks, data, nulls, dictionary = (
        arrays[name] for name in ("offsets", "blocks", "data", "nulls", "dictionary")
    )
    n = len(offsets) - 1
    if (
        n < 0
        or len(blocks) != -(-n // BLOCK_ROWS) + 1
        or offsets.dtype not in (np.uint32, np.int64)
        or blocks.dtype != np.int64
        or data.dtype != np.uint8
        or dictionary.dtype != np.uint8
        or (n and offsets[0] != 0)  # the rest of the offsets are checked for the blocks read (a reopen reads none)
        or blocks[0] != 0
        or np.any(np.diff(blocks) < 0)
        or blocks[-1] != len(data)
        or (len(nulls) and (nulls.min() < 0 or nulls.max() >= n))
    ):
        raise ValueError("not a compressed text column")
    # zstd reads the dictionary when a block is first decompressed: a damaged one is an error there
    loaded = zstandard.ZstdCompressionDict(dictionary.tobytes()) if len(dictionary) else None
    sourced = Sourced.of(arrays) if "source_files" in arrays else None
    return CompressedTexts(offsets, blocks, data, nulls, loaded, sourced)


@dataclass(frozen=True, slots=True)
class Sourced:
    """Where each row of a column is: at ``start`` in ``files[file]`` (``length`` bytes, CRC-32
    ``checksum``), or, where ``file`` is -1, row ``start`` of the column's compressed texts."""

    files: list[SourceFile]
    file: np.ndarray  # int32 (int16 as saved by :func:`narrowed`)
    start: np.ndarray  # int64 (uint32 as saved)
    length: np.ndarray  # uint32
    checksum: np.ndarray  # uint32

    @classmethod
    def of(cls, arrays: Mapping[str, np.ndarray]) -> Sourced:
        """The references stored in ``arrays`` (see :meth:`arrays`); ValueError when they do not fit."""
        file, start, length, checksum = (
            arrays[name] for name in ("source_file", "source_start", "source_length", "source_crc")
        )
        try:
            listed = json.loads(arrays["source_files"].tobytes())
            files = [SourceFile(str(p), int(size), int(mtime), int(inode)) for p, size, mtime, inode in listed]
        except (TypeError, ValueError) as error:
            raise ValueError(f"not a list of source files: {error}") from error
        if (
            file.dtype not in (np.int16, np.int32)
            or start.dtype not in (np.uint32, np.int64)
            or length.dtype != np.uint32
            or checksum.dtype != np.uint32
            or not len(file) == len(start) == len(length) == len(checksum)
        ):  # the rows' values are checked as they are read (a reopen reads none)
            raise ValueError("not the references of a text column")
        return cls(files, file, start, length, checksum)

    def arrays(self) -> dict[str, np.ndarray]:
        listed = json.dumps([list(f) for f in self.files], ensure_ascii=False).encode()
        return {
            "source_file": self.file,
            "source_start": self.start,
            "source_length": self.length,
            "source_crc": self.checksum,
            "source_files": np.frombuffer(listed, np.uint8),
        }

    def read(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts of ``rows`` (all in files) read from their files."""
        file = self.file[rows].astype(np.int64)
        if len(file) and file.max() >= len(self.files):
            raise ValueError("damaged text references: no such file")
        lengths = self.length[rows].astype(np.int64)
        read: pa.LargeStringArray = read_spans(self.files, file, self.start[rows], lengths, self.checksum[rows])
        return read


class CompressedTextDtype(ExtensionDtype):  # type: ignore[misc]  # pandas has no type stubs here
    """The dtype of :class:`CompressedTexts`: strings, read as ``str`` when used."""

    name = "compressed_str"
    type = str
    na_value = np.nan

    @classmethod
    def construct_array_type(cls) -> builtins.type[CompressedTexts]:
        return CompressedTexts


class CompressedTexts(ExtensionArray):  # type: ignore[misc]
    """A read-only string column decompressed on use; slices and takes come out as plain ``str`` arrays."""

    def __init__(
        self,
        offsets: np.ndarray,
        blocks: np.ndarray,
        data: np.ndarray,
        nulls: np.ndarray,
        dictionary: zstandard.ZstdCompressionDict | None,
        sourced: Sourced | None = None,
    ) -> None:
        self._offsets, self._blocks, self._data, self._nulls = offsets, blocks, data, nulls
        self._dictionary = dictionary
        self._sourced = sourced  # None: every row is compressed here

    # -- reading -----------------------------------------------------------------------------------

    def _decoded(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts of ``rows`` (positions, any order, repeats allowed) as an Arrow array."""
        rows = np.asarray(rows, np.int64)
        sourced = self._sourced
        if sourced is None:
            return self._decompressed(rows)
        here = sourced.file[rows] < 0
        if here.all():
            return self._decompressed(sourced.start[rows])
        if not here.any():
            return sourced.read(rows)
        parts = pa.concat_arrays([self._decompressed(sourced.start[rows[here]]), sourced.read(rows[~here])])
        places = np.empty(len(rows), np.int64)
        places[here] = np.arange(int(here.sum()))
        places[~here] = np.arange(int(here.sum()), len(rows))
        taken: pa.LargeStringArray = parts.take(pa.array(places))
        return taken

    def _decompressed(self, rows: np.ndarray) -> pa.LargeStringArray:
        """The texts of ``rows`` of the compressed column (positions, any order, repeats allowed)."""
        n = len(self._offsets) - 1
        if len(rows) and (rows.min() < 0 or rows.max() >= n):
            raise ValueError("damaged text references: no such compressed row")
        wanted = np.unique(rows // BLOCK_ROWS)
        # one per read (~30 us): a decompressor may not be shared by threads, the dictionary may
        try:
            decompressor = zstandard.ZstdDecompressor(dict_data=self._dictionary)
        except zstandard.ZstdError as error:
            raise ValueError(f"damaged compressed texts: their dictionary: {error}") from error
        parts, first_rows = [], []
        for b in wanted.tolist():
            lo, hi = b * BLOCK_ROWS, min((b + 1) * BLOCK_ROWS, n)
            size = int(self._offsets[hi]) - int(self._offsets[lo])
            if size:
                compressed = self._data[self._blocks[b] : self._blocks[b + 1]]
                try:
                    parts.append(decompressor.decompress(compressed.data, max_output_size=size))
                except zstandard.ZstdError as error:
                    raise ValueError(f"damaged compressed texts: block {b}: {error}") from error
            first_rows.append(np.arange(lo, hi))
        local_rows = np.concatenate(first_rows) if first_rows else np.zeros(0, np.int64)
        lengths = self._offsets[local_rows + 1].astype(np.int64) - self._offsets[local_rows]
        if (lengths < 0).any():
            raise ValueError("damaged compressed texts: offsets go backwards")
        offsets = np.zeros(len(local_rows) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        validity = None
        if len(self._nulls):
            valid = ~np.isin(local_rows, self._nulls)
            if not valid.all():
                validity = pa.py_buffer(np.packbits(valid, bitorder="little"))
        text = pa.py_buffer(b"".join(parts))
        decoded = pa.LargeStringArray.from_buffers(len(local_rows), pa.py_buffer(offsets), text, validity)
        decoded.validate(full=True)  # UTF-8 and offsets within the text: a damaged file is an error, never a crash
        # every block read is whole: a row's place among them is its block's place, then its own
        places = np.searchsorted(local_rows, rows)
        if len(rows) == len(local_rows) and np.array_equal(places, np.arange(len(rows))):
            return decoded
        taken: pa.LargeStringArray = decoded.take(pa.array(places))
        return taken

    def _strings(self, rows: np.ndarray) -> pd.arrays.ArrowStringArray:
        return pd.arrays.ArrowStringArray(self._decoded(rows), dtype=STR_DTYPE)

    def arrays(self) -> dict[str, np.ndarray]:
        """The numeric arrays this column is stored in (see :func:`compressed_texts`)."""
        dictionary = self._dictionary.as_bytes() if self._dictionary is not None else b""
        arrays = {
            "offsets": self._offsets,
            "blocks": self._blocks,
            "data": self._data,
            "nulls": self._nulls,
            "dictionary": np.frombuffer(dictionary, np.uint8),
        }
        return arrays if self._sourced is None else arrays | self._sourced.arrays()

    @property
    def sourced(self) -> Sourced | None:
        """Where the rows read from files are (None: every row is compressed here)."""
        return self._sourced

    @property
    def text_bytes(self) -> int:
        """The size of the text decompressed (and read from files)."""
        sourced = self._sourced
        referenced = 0 if sourced is None else int(sourced.length[sourced.file >= 0].sum(dtype=np.int64))
        return int(self._offsets[-1]) + referenced

    def materialised(self) -> pd.arrays.ArrowStringArray:
        """Every row as an ordinary ``str`` array (in memory)."""
        return self._strings(np.arange(len(self)))

    # -- the ExtensionArray interface -----------------------------------------------------------

    @property
    def dtype(self) -> CompressedTextDtype:
        return CompressedTextDtype()

    def __len__(self) -> int:
        return len(self._offsets) - 1 if self._sourced is None else len(self._sourced.file)

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())

    def __getitem__(self, item: Any) -> Any:
        if isinstance(item, (int, np.integer)):
            position = int(item) + len(self) if item < 0 else int(item)
            if not 0 <= position < len(self):
                raise IndexError(f"index {item} is out of bounds for {len(self)} rows")
            value = self._decoded(np.array([position]))[0].as_py()
            return np.nan if value is None else value
        if isinstance(item, tuple) and len(item) == 1:
            item = item[0]
        if isinstance(item, slice) and item.indices(len(self)) == (0, len(self), 1):
            return self.copy()  # pandas' way of selecting the whole column: nothing to decompress
        rows = np.arange(len(self))[item]  # slices, boolean masks and position arrays as numpy reads them
        return self._strings(np.atleast_1d(rows))

    def take(self, indices: Sequence[int] | np.ndarray, *, allow_fill: bool = False, fill_value: Any = None) -> Any:
        positions = np.asarray(indices, np.int64)
        if allow_fill:
            missing = positions == -1
            if (positions < -1).any():
                raise ValueError("take: indices below -1 with allow_fill")
            taken = self._strings(np.where(missing, 0, positions))
            if missing.any():
                taken[missing] = fill_value if fill_value is not None else np.nan
            return taken
        positions = np.where(positions < 0, positions + len(self), positions)
        if len(positions) and (positions.min() < 0 or positions.max() >= len(self)):
            raise IndexError("take: index out of bounds")
        return self._strings(positions)

    def fillna(self, value: Any = None, limit: int | None = None, copy: bool = True) -> Any:
        if not len(self._nulls):
            return self.copy() if copy else self
        return self.materialised().fillna(value, limit=limit)

    def isna(self) -> np.ndarray:
        mask = np.zeros(len(self._offsets) - 1, bool)
        mask[self._nulls] = True
        sourced = self._sourced
        if sourced is None:
            return mask
        here = sourced.file < 0
        rows = np.zeros(len(self), bool)
        rows[here] = mask[sourced.start[here]]
        return rows

    def copy(self) -> CompressedTexts:
        # read-only: shared arrays, dictionary and references
        return CompressedTexts(self._offsets, self._blocks, self._data, self._nulls, self._dictionary, self._sourced)

    @classmethod
    def _from_sequence(cls, scalars: Any, *, dtype: Any = None, copy: bool = False) -> CompressedTexts:
        strings = pa.array([None if pd.isna(s) else str(s) for s in scalars], type=pa.large_string())
        return texts_of(compressed_texts(strings))

    @classmethod
    def _from_factorized(cls, values: np.ndarray, original: ExtensionArray) -> CompressedTexts:
        return cls._from_sequence(values)

    @classmethod
    def _concat_same_type(cls, to_concat: Sequence[CompressedTexts]) -> CompressedTexts:
        joined = pa.chunked_array([a.materialised().__arrow_array__() for a in to_concat], pa.large_string())
        return texts_of(compressed_texts(joined))

    def astype(self, dtype: Any, copy: bool = True) -> Any:
        if isinstance(dtype, CompressedTextDtype):
            return self.copy() if copy else self
        return self.materialised().astype(dtype, copy=False)

    def __arrow_array__(self, type: Any = None) -> pa.Array:
        decoded = self._decoded(np.arange(len(self)))
        return decoded if type is None else decoded.cast(type)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        return np.asarray(self.materialised(), dtype=dtype)

    def __iter__(self) -> Iterator[Any]:
        step = 64 * BLOCK_ROWS
        for lo in range(0, len(self), step):
            yield from self[lo : lo + step]

    def tolist(self) -> list[Any]:
        return list(self.materialised().tolist())

    def __eq__(self, other: object) -> Any:
        return self.materialised() == other

    def _values_for_factorize(self) -> tuple[np.ndarray, Any]:
        values, na_value = self.materialised()._values_for_factorize()
        return values, na_value

    def _hash_pandas_object(self, *, encoding: str, hash_key: str, categorize: bool) -> np.ndarray:
        hashed: np.ndarray = self.materialised()._hash_pandas_object(
            encoding=encoding, hash_key=hash_key, categorize=categorize
        )
        return hashed
