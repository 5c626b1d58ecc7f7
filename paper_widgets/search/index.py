"""Search stage, index half: an inverted index over the folded words of titles and abstracts.

Texts are cut into folded words by :mod:`paper_widgets.search.tokens` (a hyphenated token such
as ``Multi-Task`` also yields the joined word ``multitask``, so ``AdaMerging``-style names and
``multitask`` match either spelling), a chunk of rows at a time with numpy — in worker processes
(:class:`~paper_widgets.workers.Workers`) when there are many, each chunk's words numbered
here in order, so the index is the same byte for byte with any number of workers.  Postings are CSR
numpy arrays per field — word id → ascending row numbers and term frequencies — compressed to
about 1.4 bytes per distinct word of a paper (gaps between rows in a few nibbles each, a bit
saying whether a word occurs more than once, a nibble for those that do; see :class:`_Segment`) and decoded a whole list at a time with numpy.  Rows
added later become a new segment; small segments are merged into their neighbour (like an LSM
tree), so extending never rebuilds the whole index and gives exactly the postings of a full build.
The folded titles the ranking re-scores are kept as the ids of their words.

Two vocabulary indexes sit beside the postings: the sorted vocabulary for completing the word
being typed, and a character-trigram index over the title vocabulary for finding the words a
typo'd query word was meant to be (the candidates are then checked with rapidfuzz).  A small
library's title words also get a table of their deletion neighbourhoods
(:mod:`paper_widgets.search.deletions`), made as the index is synced, which finds the same words
with far fewer candidates to check.

Every part is a flat numpy array — the vocabulary too: one UTF-8 buffer with offsets, searched by
bisection in code-point order — so an index saved with :meth:`SearchIndex.to_arrays` reopens from
memory-mapped files without decoding or hashing a single word; a table of the vocabulary's words
(:class:`_WordTable`) exists only while a large batch of rows is being added.

Building holds each chunk's postings by the chunk's own words only, and merges a field's chunks a
block of words at a time (:func:`_merge`), encoding each block as it is put together: besides
the chunks and the result, only a few blocks' postings are ever decoded at once.  A build goes a
field at a time (:class:`IndexBuild`), the titles' words numbered first: a first search of a large
library can be answered from the titles while the abstracts are indexed on a thread, and the
index it ends with is the one built in one go.
"""

from __future__ import annotations

import bisect
import contextlib
import copy
import ctypes
import operator
import threading
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from itertools import pairwise, repeat
from typing import TypeVar, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rapidfuzz import process
from rapidfuzz.distance import OSA

from paper_widgets.data.merge import fold_titles
from paper_widgets.data.packed import STR_DTYPE
from paper_widgets.search.deletions import DeletionTable
from paper_widgets.search.tokens import (
    ChunkPostings,
    Tokens,
    WordBytes,
    chunk_postings,
    decode_words,
    ranges,
    tokenise,
    word_keys,
)
from paper_widgets.workers import Workers, worker_count

__all__ = ["FIELDS", "IndexBuild", "Progress", "SearchIndex", "max_typos", "row_hashes"]

_Value = TypeVar("_Value")
Progress = Callable[[int], None]  # told how many more rows of a field were tokenised (each field counts once)

FIELDS = ("title", "abstract")
_CHUNK = 8_192  # rows tokenised at once: bounds the transient arrays (16,384 held ~80 MB more at 1M); 32-bit (word, row) keys sort faster
# A chunk of titles is this many _CHUNKs of rows: a title is ~1/10 of an abstract's bytes, so its transient arrays
# are no larger than an abstracts chunk's, and an eighth as many chunks to number and merge (at 1M: 1.2 s less CPU)
_TITLE_CHUNKS = 8
_PARALLEL_CHUNKS = 12  # chunks (of both fields) from which worker processes pay: ~80k papers
_MERGE_BLOCK = 1 << 22  # postings moved per step while merging
_MERGE_RATIO = 4  # merge the newest segment into its neighbour once it is this close in size
_NAME_WORDS = 4  # a title head before ":" of at most this many words is a short name
# Up to this many rows (a few MB of text) each title is kept once decoded: decoding the few hundred
# a query re-scores costs more than the rest of a query in a small library.
_DECODED_TITLES = 30_000
_PROGRESS_EVERY = 0.25  # seconds between reports of the rows a background build has done
_TRI_WIDTH = 32  # words are cut to this many characters for trigrams
_TRIGRAM_WORDS = 1 << 16  # words whose trigrams are cut out at once
_END = ord("\n")  # ends each word of the vocabulary's buffer
_SHIFT = np.int64(21)  # bits per code point in a packed trigram
# A bisection of the vocabulary (~20 probes of ~1.5 µs) costs about as much as hashing or sorting
# this many words: looking up or inserting more than 1/64 as many words as the vocabulary holds
# decodes it into a dict or re-sorts it instead.
_BISECT_COST = 64
# A lookup bisects first every _FENCE-th word of the vocabulary, kept as a list of bytes (C comparisons, no
# slicing), then a run of _FENCE words: 7 slow probes instead of ~20 (a long typo'd title looks up ~10 words).
_FENCE = 128
# A vocabulary of at most this many words is also held by the Python hashes of its words (12 bytes a word: 3 MB at
# most; made as the index is synced, in 0.03 s for 10k papers' 122,797 words, 0.05 s for 100k papers' 234,746): a
# query's words are found by one numpy search, not ~10 slow probes each.  A million papers' (999,029) have none.
_HASHED_WORDS = 1 << 18
_FEW_CANDIDATES = 64  # typo candidates (found again counted) compared one by one: ~1 µs each, numpy ~70 µs in all
_SAMPLE_EVERY = 16  # completions: every so many of a prefix's words bound the frequency of its most frequent


def max_typos(word: str) -> int:
    """Edits tolerated in a query word: none below 4 characters, one up to 7, then two."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """A uint64 fingerprint of each row's indexed text, to tell appended rows from changed ones."""
    hashes = np.empty(len(df), np.uint64)
    for lo in range(0, len(df), _CHUNK):  # the Python strings of a chunk at a time
        title, abstract = (_texts(df[name], lo) for name in FIELDS)
        hashes[lo : lo + len(title)] = _row_hashes(_text_hashes(title), _text_hashes(abstract))
    return hashes


def _chunk_rows(field: str) -> int:
    """Rows of field ``field`` tokenised at once."""
    return _CHUNK * _TITLE_CHUNKS if field == "title" else _CHUNK


def _texts(column: pd.Series, lo: int, rows: int = _CHUNK) -> list[str]:
    """``rows`` rows of ``column`` from row ``lo`` as Python strings ("" for NA): a chunk at a time, not the column."""
    texts: list[str] = column.iloc[lo : lo + rows].fillna("").astype("str").tolist()
    return texts


def _text_hashes(texts: list[str]) -> np.ndarray:
    """A uint64 hash of each text (categorize=False: texts are nearly all distinct)."""
    hashes: np.ndarray = pd.util.hash_array(np.array(texts, dtype=object), categorize=False)
    return hashes


def _row_hashes(title: np.ndarray, abstract: np.ndarray) -> np.ndarray:
    """The rows' fingerprints from their titles' and abstracts' hashes (order matters: an odd multiplier)."""
    combined: np.ndarray = title * np.uint64(0x9E3779B97F4A7C15) ^ abstract
    return combined


_EXCEPTION_NIBBLES = 24  # an exception costs its position (int64 at most) and its gap (uint32): 12 bytes
_WIDEST = 8  # nibbles of the widest gap (rows are int32)
_HAS_EXCEPTIONS = 0x80  # set in a word's width byte when some of its gaps are stored apart
_ONCE_EACH = 0x40  # set in a word's width byte when it occurs once in each of its rows
_BYTE_WEIGHTS = (1 << 8 * np.arange(3)).astype(np.int32)
_NIBBLE_PAIRS = (np.arange(256) & 15 | (np.arange(256) >> 4) << 8).astype("<u2")  # a byte's two nibbles, low first
_NIBBLE_WEIGHTS = (1 << 4 * np.arange(_WIDEST)).astype(np.int32)
_FEW = 4096  # nibbles decoded with one matrix product rather than a step per nibble
_ODD_WIDTHS_FROM = 128  # postings of a word from which gaps may take an odd number of nibbles


def _offsets(values: np.ndarray) -> np.ndarray:
    """Ascending offsets as uint32 when the last fits (half the bytes of int64 on disk), else int64."""
    return values.astype(np.uint32 if not len(values) or int(values[-1]) < 1 << 32 else np.int64)


def _narrowest(counts: np.ndarray) -> np.ndarray:
    """Counts (non-negative) as uint8 or uint16 when the largest fits, else as they are (a million
    rows' word counts: 1 MB saved instead of 4)."""
    top = int(counts.max()) if len(counts) else 0
    return counts.astype(np.uint8 if top < 1 << 8 else np.uint16, copy=False) if top < 1 << 16 else counts


def _pack(nibbles: np.ndarray) -> np.ndarray:
    """Nibbles (below 16) two per byte, the first in the low half; an odd count is padded with a zero."""
    padded = np.zeros(len(nibbles) + len(nibbles) % 2, np.uint8)
    padded[: len(nibbles)] = nibbles
    packed: np.ndarray = padded[0::2] | (padded[1::2] << 4)
    return packed


def _unpack(data: np.ndarray, at: int, count: int) -> np.ndarray:
    """``count`` nibbles of ``data`` from nibble ``at`` on (uint8)."""
    # np.take of a uint16 table: one call, and faster on long runs than indexing a (256, 2) table
    nibbles: np.ndarray = _NIBBLE_PAIRS.take(data[at // 2 : (at + count + 1) // 2]).view(np.uint8)
    return nibbles[at % 2 : at % 2 + count]


def _values(nibbles: np.ndarray, width: int) -> np.ndarray:
    """Values of ``width`` nibbles each, the lowest nibble first (int32)."""
    if width == 1:
        return nibbles.astype(np.int32)
    columns = nibbles.reshape(-1, width)
    # one call: on a short list numpy's cost per call is the cost; but an int32 matrix product is no BLAS call,
    # and beyond a few thousand nibbles a step per nibble is faster (a list of 4,000 one-nibble gaps: 20x)
    if len(nibbles) <= _FEW:
        few: np.ndarray = columns.astype(np.int32) @ _NIBBLE_WEIGHTS[:width]
        return few
    values = columns[:, 0].astype(np.int32)
    for j in range(1, width):
        values |= columns[:, j].astype(np.int32) << np.int32(4 * j)
    return values


_RANK_EVERY = 512  # postings per count of a frequency rank directory: at most 64 bytes of flags counted


@dataclass
class _Frequencies:
    """A segment's term frequencies: a bit a posting, set when it is above 1 (an eighth of the postings
    in abstracts, one in two hundred in titles), then those frequencies alone, a nibble each, in
    posting order.  ``rank`` counts the bits set before every _RANK_EVERY-th posting, so a word's
    first frequency is found by counting at most 64 bytes: 1.6 bits a posting in abstracts, not 4.
    """

    above_one: np.ndarray  # uint8: a bit a posting, the lowest bit first
    rank: np.ndarray  # bits set before posting _RANK_EVERY * i (uint32 or int64): postings // _RANK_EVERY + 1
    high: np.ndarray  # uint8: the frequencies of the flagged postings (2-15), two nibbles a byte, the low first

    @classmethod
    def of(cls, above_one: np.ndarray, postings: int, high: np.ndarray) -> _Frequencies:
        """The frequencies of ``postings`` postings flagged in ``above_one`` (packed), ``high`` (unpacked) the flagged ones'."""
        rank = np.zeros(postings // _RANK_EVERY + 1, np.int64)
        counted = (len(rank) - 1) * (_RANK_EVERY // 8)  # the whole blocks before the last count: all full
        per_byte = np.bitwise_count(above_one[:counted])  # uint8, not int64: a million abstracts' take 15 MB
        np.cumsum(per_byte.reshape(len(rank) - 1, _RANK_EVERY // 8).sum(axis=1, dtype=np.int64), out=rank[1:])
        return cls(above_one, _offsets(rank), _pack(high))

    def take(self, lo: int, n: int) -> np.ndarray:
        """The frequencies of postings ``lo:lo + n`` (uint8)."""
        tf = np.ones(n, np.uint8)
        if n:
            bits = np.unpackbits(self.above_one[lo >> 3 : (lo + n + 7) >> 3], bitorder="little")[lo & 7 : (lo & 7) + n]
            flagged = int(np.count_nonzero(bits))
            if flagged:
                # np.place: a third faster than assigning through the mask on a long list
                np.place(tf, bits.view(bool), _unpack(self.high, self._before(lo), flagged))
        return tf

    def _before(self, posting: int) -> int:
        """The postings above 1 before ``posting``."""
        block = posting // _RANK_EVERY
        # at most 64 bytes and a few bits as one Python int: one call where numpy would make several
        flags = int.from_bytes(self.above_one[block * (_RANK_EVERY // 8) : (posting + 7) >> 3].tobytes(), "little")
        return int(self.rank[block]) + (flags & ((1 << (posting - block * _RANK_EVERY)) - 1)).bit_count()

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.above_one, self.rank, self.high

    def check(self, postings: int) -> bool:
        """Whether the arrays hold the frequencies of ``postings`` postings, judged by types and sizes alone."""
        typed = self.above_one.dtype == self.high.dtype == np.uint8 and self.rank.dtype in (np.uint32, np.int64)
        sized = len(self.above_one) == (postings + 7) // 8 and len(self.rank) == postings // _RANK_EVERY + 1
        return typed and sized and int(self.rank[-1]) <= 2 * len(self.high)


@dataclass
class _Segment:
    """Postings of one field for a run of rows: word id → (rows, term frequencies), CSR, compressed.

    A word's rows are kept as the gaps between them (its first row itself first), all in the same
    number of nibbles: the width that takes least room once the gaps too wide for it are stored
    apart (``exc_at``: their ascending posting numbers, ``exc``: the gaps).  Within each block of
    words the gaps of the words of one width lie together, in word order, so a run of words
    decodes with a few numpy steps per width, and one word of a whole-byte width is a byte or
    uint16 array.  Term frequencies are clipped at 15 (where BM25 has long saturated) and stored as
    :class:`_Frequencies`.  A word of fewer than _ODD_WIDTHS_FROM postings takes whole bytes per gap, so that its
    short list decodes as a plain array view; a word that occurs once in each of its rows is
    flagged and its frequencies are not read.  With the per-word arrays, 1.6 bytes a posting in
    abstracts and 3.6 in titles at 100k papers (1.9 and 3.9 with a frequency nibble a posting).
    """

    ptr: np.ndarray  # vocabulary size when built + 1: each word's first posting (uint32 or int64)
    at: np.ndarray  # nibble offset of each word's gaps in data (uint32 or int64)
    width: np.ndarray  # uint8: nibbles per gap of each word (0: no postings) | _HAS_EXCEPTIONS | _ONCE_EACH
    data: np.ndarray  # uint8: the gaps, two nibbles a byte, the low one first
    exc_at: np.ndarray  # ascending posting numbers of the gaps too wide for their word (uint32 or int64)
    exc: np.ndarray  # uint32: those gaps
    tf: _Frequencies

    @classmethod
    def of_arrays(cls, arrays: Sequence[np.ndarray]) -> _Segment:
        """The segment whose :meth:`arrays` these are."""
        ptr, at, width, data, exc_at, exc, above_one, rank, high = arrays
        return cls(ptr, at, width, data, exc_at, exc, _Frequencies(above_one, rank, high))

    @classmethod
    def encode(cls, ptr: np.ndarray, rows: np.ndarray, tf: np.ndarray) -> _Segment:
        """The segment of ``rows`` (ascending within each word of ``ptr``) and their term frequencies."""
        ptr = ptr.astype(np.int64)
        blocks = list(_word_blocks(ptr))  # a block of words at a time: bounded temporaries
        tasks = ((ptr[a : z + 1], rows[ptr[a] : ptr[z]], tf[ptr[a] : ptr[z]]) for a, z in blocks)
        return cls.from_blocks(ptr, zip(blocks, map(_encode_block, tasks), strict=True))

    @classmethod
    def from_blocks(cls, ptr: np.ndarray, blocks: Iterable[tuple[tuple[int, int], _Block]]) -> _Segment:
        """The segment of the postings counted by ``ptr`` (int64), given as the :func:`_encode_block` of
        each consecutive run ``first:last`` of its words: only one run's postings need exist at a time."""
        at = np.zeros(len(ptr) - 1, np.int64)
        width = np.zeros(len(ptr) - 1, np.uint8)
        total = int(ptr[-1])
        # room for the most (4 bytes a gap, a few of padding per run); unwritten pages cost none
        data = np.empty(4 * total + _WIDEST * len(ptr), np.uint8)
        above_one = np.zeros((total + 7) // 8 + 1, np.uint8)  # a byte more: a run's last may be padding
        high = [np.zeros(0, np.uint8)]
        size = 0  # bytes written
        exc_at, exc = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)]
        for (first, last), block in blocks:
            lo = int(ptr[first])
            at[first:last] = block.at + 2 * size
            width[first:last] = block.width
            data[size : size + len(block.data)] = block.data
            size += len(block.data)
            exc_at.append(block.wide_at + lo)
            exc.append(block.wide)
            if len(block.above_one):  # its first byte's low bits are the last run's when the run starts mid-byte
                above_one[lo // 8] |= block.above_one[0]
                above_one[lo // 8 + 1 : lo // 8 + len(block.above_one)] = block.above_one[1:]
            high.append(block.high)
        exceptions = np.concatenate(exc_at)
        return cls(
            _offsets(ptr),
            _offsets(at),
            width,
            data[:size],
            _offsets(exceptions),
            np.concatenate(exc).astype(np.uint32),
            _Frequencies.of(above_one[: (total + 7) // 8], total, np.concatenate(high)),
        )

    def postings(self, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        """The rows of ``word_id`` (int32, ascending) and its term frequencies (uint8)."""
        lo, hi = int(self.ptr[word_id]), int(self.ptr[word_id + 1])
        n, at, flags = hi - lo, int(self.at[word_id]), int(self.width[word_id])
        width = flags & 15
        if width == 2 and at % 2 == 0:  # the commonest width: a byte a gap
            gaps = self.data[at // 2 : at // 2 + n].astype(np.int32)
        elif width == 4 and at % 2 == 0:
            gaps = self.data[at // 2 : at // 2 + 2 * n].view("<u2").astype(np.int32)
        elif width == 6 and at % 2 == 0:  # short lists of a large library: three bytes
            gaps = self.data[at // 2 : at // 2 + 3 * n].reshape(-1, 3).astype(np.int32) @ _BYTE_WEIGHTS
        elif width == 8 and at % 2 == 0:
            gaps = self.data[at // 2 : at // 2 + 4 * n].view("<i4").copy()
        else:
            gaps = _values(_unpack(self.data, at, n * width), width) if n else np.zeros(0, np.int32)
        if flags & _HAS_EXCEPTIONS:
            first, last = np.searchsorted(self.exc_at, (lo, hi)).tolist()
            gaps[self.exc_at[first:last].astype(np.int64) - lo] = self.exc[first:last]
        return np.cumsum(gaps, out=gaps), np.ones(n, np.uint8) if flags & _ONCE_EACH else self.tf.take(lo, n)

    def decode_words(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows and term frequencies of the postings of words ``first:last``, word after word."""
        ptr = self.ptr[first : last + 1].astype(np.int64)
        lo, hi = int(ptr[0]), int(ptr[-1])
        counts = np.diff(ptr)
        widths = self.width[first:last] & 15
        gaps = np.zeros(hi - lo, np.int32)
        for width in np.unique(widths[counts > 0]).tolist():  # a few numpy steps per width
            words = np.flatnonzero(widths == width)
            at = self.at[first + words].astype(np.int64)
            size = counts[words] * width
            if at[-1] + size[-1] - at[0] == size.sum():  # together, as encode leaves them: one slice
                nibbles = _unpack(self.data, int(at[0]), int(size.sum()))
            else:
                where = ranges(at, size)
                nibbles = (self.data[where >> 1] >> ((where & 1) << 2).astype(np.uint8)) & np.uint8(15)
            gaps[ranges(ptr[words] - lo, counts[words])] = _values(nibbles, width)
        exc_first, exc_last = np.searchsorted(self.exc_at, (lo, hi)).tolist()
        gaps[self.exc_at[exc_first:exc_last].astype(np.int64) - lo] = self.exc[exc_first:exc_last]
        total = np.cumsum(gaps, dtype=np.int64)  # one running sum, less each word's total before its first posting
        held = counts > 0
        starts = ptr[:-1][held] - lo
        rows = total - np.repeat(total[starts] - gaps[starts], counts[held])
        return rows.astype(np.int32), self.tf.take(lo, hi - lo)

    def block(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Postings per word of words ``first:last`` (int64; none past this segment's vocabulary), then
        their rows and term frequencies, word after word."""
        held = min(last, len(self.ptr) - 1)
        counts = np.zeros(last - first, np.int64)
        if held <= first:
            return counts, np.zeros(0, np.int32), np.zeros(0, np.uint8)
        counts[: held - first] = np.diff(self.ptr[first : held + 1].astype(np.int64))
        return (counts, *self.decode_words(first, held))

    def count_into(self, counts: np.ndarray) -> None:
        """Add the rows holding each word (the segment's document frequencies) to ``counts``, by word id."""
        counts[: len(self.ptr) - 1] += np.diff(self.ptr.astype(np.int64))

    def cut(self, bounds: np.ndarray) -> list[_Segment]:
        """As :meth:`_Chunk.cut`: the segment itself for each run of words (it is kept whole)."""
        return [self] * (len(bounds) - 1)

    def arrays(self) -> tuple[np.ndarray, ...]:
        return self.ptr, self.at, self.width, self.data, self.exc_at, self.exc, *self.tf.arrays()

    def check(self, vocab_size: int) -> bool:
        """Whether the arrays make one segment, judged by their types and sizes alone (nothing is read through)."""
        offsets = (np.dtype(np.uint32), np.dtype(np.int64))
        bytes_ = np.dtype(np.uint8)
        typed = all(a.dtype in offsets for a in (self.ptr, self.at, self.exc_at))
        typed &= self.width.dtype == self.data.dtype == bytes_ and self.exc.dtype == np.uint32
        words = len(self.ptr) - 1
        postings = int(self.ptr[-1]) if words >= 0 else -1
        if not typed or not 0 <= words <= vocab_size or len(self.at) != words or len(self.width) != words:
            return False
        if len(self.exc_at) != len(self.exc) or (len(self.exc_at) and int(self.exc_at[-1]) >= postings):
            return False
        return self.tf.check(postings)


# the names of _Segment.arrays(), in order
_SEGMENT_ARRAYS = ("ptr", "at", "width", "data", "exc_at", "exc", "tf_above_one", "tf_rank", "tf_high")


def _encode_words(ptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The gaps of the words of ``ptr`` (from 0) as nibbles, the words of each width together.

    Gives each word's nibble offset and width, the nibbles, and the positions and values of the gaps too wide.
    """
    counts = np.diff(ptr)
    held = np.flatnonzero(counts)
    gaps = rows.astype(np.int32)
    gaps[1:] -= rows[:-1]
    gaps[ptr[held]] = rows[ptr[held]]
    needed = np.ones(len(gaps), np.int8)  # nibbles each gap needs
    for k in range(1, _WIDEST):
        needed += gaps >= np.int32(1 << (4 * k))
    # the words with postings only: a few new rows hold a few of a large vocabulary's words
    word = np.repeat(np.arange(len(held), dtype=np.int32), counts[held])
    per_width = np.bincount(word * np.int32(_WIDEST + 1) + needed, minlength=len(held) * (_WIDEST + 1))
    wider = per_width.reshape(len(held), _WIDEST + 1)[:, ::-1].cumsum(axis=1)[:, ::-1]  # [w, k]: needing ≥ k
    widths = np.arange(1, _WIDEST + 1)
    cost = counts[held, None] * widths + _EXCEPTION_NIBBLES * np.pad(wider[:, 2:], ((0, 0), (0, 1)))
    # a short list in whole bytes (a plain array view to decode) costs at most half a byte a posting more
    cost[counts[held] < _ODD_WIDTHS_FROM, 0::2] = np.iinfo(cost.dtype).max
    width = np.zeros(len(counts), np.uint8)
    width[held] = widths[np.argmin(cost, axis=1)]
    exceptions = np.flatnonzero(needed > np.repeat(width, counts))
    wide = gaps[exceptions]
    gaps[exceptions] = 0
    at = np.zeros(len(counts), np.int64)
    nibbles = []
    size = 0
    for nibs in np.unique(width[held]).tolist():  # the words of one width together: a few steps per width
        words = held[width[held] == nibs]
        values = gaps[ranges(ptr[words], counts[words])]
        at[words] = size + nibs * (np.cumsum(counts[words]) - counts[words])
        digits = (values[:, None] >> (4 * np.arange(nibs, dtype=np.int32))) & 15  # each gap's nibbles, lowest first
        nibbles.append(digits.astype(np.uint8).reshape(-1))
        if len(nibbles[-1]) % 2:  # each width starts on a byte: whole-byte widths read as bytes
            nibbles.append(np.zeros(1, np.uint8))
        size += len(values) * nibs + len(values) * nibs % 2
    width[np.searchsorted(ptr, exceptions, "right") - 1] |= _HAS_EXCEPTIONS  # the others skip looking them up
    return at, width, np.concatenate([np.zeros(0, np.uint8), *nibbles]), exceptions, wide


def _word_blocks(ptr: np.ndarray, size: int = _MERGE_BLOCK) -> Iterable[tuple[int, int]]:
    """Runs ``first:last`` of the words of ``ptr`` holding about ``size`` postings (or one longer word)."""
    first = 0
    while first < len(ptr) - 1:
        last = max(int(np.searchsorted(ptr, ptr[first] + size, "right")) - 1, first + 1)
        yield first, last
        first = last


@dataclass
class _Block:
    """A run of words' postings encoded as in :class:`_Segment`, positions counted from the run's start."""

    at: np.ndarray  # int64: nibble offset of each word's gaps in data
    width: np.ndarray  # uint8: the words' widths and flags
    data: np.ndarray  # uint8: the packed gaps
    wide_at: np.ndarray  # int64: posting numbers of the gaps stored apart
    wide: np.ndarray  # int32: those gaps
    above_one: np.ndarray  # uint8: the flags of _Frequencies, packed from the bit of the run's first posting on
    high: np.ndarray  # uint8: the frequencies above 1, one a byte


def _encode_block(task: tuple[np.ndarray, np.ndarray, np.ndarray]) -> _Block:
    """The :class:`_Block` of a run of words: their ``ptr`` (int64, from 0 at the run's first posting,
    which is posting ``ptr[0]`` of the segment: its place in a byte places the frequency flags), ``rows`` and ``tf``."""
    ptr, rows, tf = task
    at, width, nibbles, wide_at, wide = _encode_words(ptr - ptr[0], rows)
    held = np.flatnonzero(np.diff(ptr))
    if len(held):  # their frequencies need no decoding (most short lists)
        width[held[np.maximum.reduceat(tf, ptr[held] - ptr[0]) == 1]] |= _ONCE_EACH
    clipped = np.minimum(tf, 15).astype(np.uint8)
    above_one = np.packbits(np.concatenate([np.zeros(int(ptr[0]) % 8, bool), clipped > 1]), bitorder="little")
    return _Block(at, width, _pack(nibbles), wide_at, wide, above_one, clipped[clipped > 1])


@dataclass
class _Chunk:
    """The postings of one chunk of rows as tokenised, by word id, before they are merged and encoded
    into a segment.  Only the chunk's own words are listed: no array as long as the vocabulary."""

    words: np.ndarray  # int32: the chunk's word ids, ascending
    ptr: np.ndarray  # int32: the postings of words[i] are ptr[i]:ptr[i + 1]
    offsets: np.ndarray  # uint16 or uint32: each posting's row less first_row, ascending within a word
    above_one: np.ndarray  # int32: the postings whose term frequency is above 1 (a few percent), ascending
    high: np.ndarray  # uint8: their term frequencies, clipped at 255 (the others' is 1)
    first_row: int

    @classmethod
    def of(cls, found: ChunkPostings, ids: np.ndarray, first_row: int) -> _Chunk:
        """The postings ``found`` by the chunk's own word numbers, renumbered to the word ids ``ids`` (distinct)."""
        order = np.argsort(ids)
        counts = np.diff(found.ptr)[order]
        ptr = np.zeros(len(order) + 1, np.int32)  # a chunk has far fewer postings than 2**31
        np.cumsum(counts, out=ptr[1:])
        moved = ranges(found.ptr[order], counts)  # each word's postings, now in the order of their ids
        tf = found.tf[moved]
        above_one = np.flatnonzero(tf > 1).astype(np.int32)
        return cls(ids[order].astype(np.int32), ptr, found.rows[moved], above_one, tf[above_one], first_row)

    def block(self, first: int, last: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """As :meth:`_Segment.block`."""
        a, z = np.searchsorted(self.words, (first, last)).tolist()
        counts = np.zeros(last - first, np.int64)
        counts[self.words[a:z] - first] = np.diff(self.ptr[a : z + 1])
        lo, hi = int(self.ptr[a]), int(self.ptr[z])
        tf = np.ones(hi - lo, np.uint8)
        p, q = np.searchsorted(self.above_one, (lo, hi)).tolist()
        tf[self.above_one[p:q] - lo] = self.high[p:q]
        return counts, self.offsets[lo:hi].astype(np.int32) + np.int32(self.first_row), tf

    def count_into(self, counts: np.ndarray) -> None:
        """As :meth:`_Segment.count_into`."""
        counts[self.words] += np.diff(self.ptr)

    def cut(self, bounds: np.ndarray) -> list[_Chunk]:
        """The chunk's postings of the words ``bounds[k]:bounds[k + 1]`` for each k, each piece in arrays
        of its own (copies): a merge frees each piece once it has moved its run of words."""
        at = np.searchsorted(self.words, bounds).tolist()
        pieces = []
        for a, z in pairwise(at):
            lo, hi = int(self.ptr[a]), int(self.ptr[z])
            p, q = np.searchsorted(self.above_one, (lo, hi)).tolist()
            words, offsets, high = self.words[a:z].copy(), self.offsets[lo:hi].copy(), self.high[p:q].copy()
            above_one = self.above_one[p:q] - np.int32(lo)
            pieces.append(_Chunk(words, self.ptr[a : z + 1] - self.ptr[a], offsets, above_one, high, self.first_row))
        return pieces


@dataclass
class _TitleWords:
    """A chunk's folded titles by the chunk's own word numbers, made where the chunk is tokenised."""

    local: np.ndarray  # int32: the words of the titles made of the chunk's words, back to back
    counts: np.ndarray  # int64: words of each title (0: none, or kept in ``apart``)
    apart_rows: np.ndarray  # int64: the chunk's titles holding a word the chunk's words do not
    apart: list[str]  # those titles, folded
    name_len: np.ndarray  # uint16: see _name_lengths

    @classmethod
    def of(cls, texts: list[str], tokens: Tokens) -> _TitleWords:
        """The titles ``texts`` by the numbers of their ``tokens``' words.

        An ASCII title's folded words are its tokens' letter/digit runs, listed first, in order;
        the others (a non-ASCII letter, or no word at all) are folded here (:meth:`folded`).
        """
        n = len(texts)
        parts, part_row = tokens.word[: tokens.ascii_parts], tokens.row[: tokens.ascii_parts]
        counts = np.bincount(part_row, minlength=n)
        from_parts = np.fromiter(map(str.isascii, texts), bool, n) & (counts > 0)
        others = np.flatnonzero(~from_parts)
        other_counts, other_local, apart, apart_titles = cls.folded([texts[i] for i in others.tolist()], tokens.utf8)
        counts[others] = other_counts
        starts = np.cumsum(counts) - counts
        local = np.empty(int(counts.sum()), np.int32)
        held = np.flatnonzero(from_parts)
        local[ranges(starts[held], counts[held])] = parts[from_parts[part_row]]
        local[ranges(starts[others], counts[others])] = other_local
        titles = pd.Series(texts, dtype="str")
        return cls(local, counts, others[apart], apart_titles, _name_lengths(titles))

    @staticmethod
    def folded(texts: list[str], words: WordBytes) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[str]]:
        """The titles ``texts`` folded, by the numbers of ``words``: each one's count of words (0 when
        kept apart), the words of those not apart back to back, which are apart (a word not in
        ``words``), and those titles, folded."""
        if not texts:  # nearly every chunk: its titles are all ASCII (Arrow would still hash every word)
            return np.zeros(0, np.int64), np.zeros(0, np.int32), np.zeros(0, bool), []
        folded = _arrow(fold_titles(pd.Series(texts, dtype="str")))
        # an empty title is one empty word, which no vocabulary holds (kept apart)
        split = pc.split_pattern(folded, " ")
        counts = pc.list_value_length(split).to_numpy().astype(np.int64)
        flat = pc.list_flatten(split).cast(pa.large_binary())
        found = pc.index_in(flat, value_set=_binary(words)).fill_null(-1).to_numpy().astype(np.int64)
        owner = np.repeat(np.arange(len(counts)), counts)
        apart = np.bincount(owner[found < 0], minlength=len(counts)) > 0
        counts[apart] = 0
        return counts, found[~apart[owner]].astype(np.int32), apart, folded.filter(apart).to_pylist()


def _arrow(strings: pd.Series) -> pa.Array:
    """The Arrow array of a column of strings (no copy of Arrow-backed ones)."""
    array: pa.Array = pa.array(strings.array)
    return array


def _binary(words: WordBytes) -> pa.Array:
    """``words`` as an Arrow binary array, on their bytes."""
    buffers = [None, pa.py_buffer(words.ptr.astype(np.int64)), pa.py_buffer(words.data)]
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), len(words.ptr) - 1, buffers)


@dataclass
class _Tokenised:
    """A chunk of one field's texts as indexing takes it (made in a worker process, or here)."""

    postings: ChunkPostings
    hashes: np.ndarray  # uint64: _text_hashes of the texts
    titles: _TitleWords | None  # of a chunk of titles


def _tokenised(task: tuple[list[str], bool]) -> _Tokenised:
    """The :class:`_Tokenised` of the texts ``task[0]``, titles if ``task[1]``."""
    texts, titled = task
    tokens = tokenise(texts)
    found = chunk_postings(texts, tokens)
    return _Tokenised(found, _text_hashes(texts), _TitleWords.of(texts, tokens) if titled else None)


def _merge(parts: list[_Segment] | list[_Chunk], vocab_size: int, workers: Workers | None = None) -> _Segment:
    """One segment with the postings of ``parts`` (which cover increasing row ranges), taken out of the list.

    The merged postings are put together a block of words at a time and encoded (by ``workers``,
    when given), so besides the parts and the result only a few blocks' postings are held.  The
    chunks are cut into a piece per block first, one chunk at a time, and each piece is freed once
    its block is put together: the chunks' memory goes as the merged segment grows (at 1M papers
    the abstracts' chunks, twice their segment, are never held beside all of it).
    """
    counts = np.zeros(vocab_size, np.int64)
    for part in parts:
        part.count_into(counts)
    ptr = np.zeros(vocab_size + 1, np.int64)
    np.cumsum(counts, out=ptr[1:])
    del counts
    blocks = list(_word_blocks(ptr))
    bounds = np.array([first for first, _ in blocks] + [vocab_size], np.int64)
    pieces: list[deque[_Segment | _Chunk]] = [deque(parts.pop(0).cut(bounds)) for _ in range(len(parts))]

    def tasks() -> Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        for first, last in blocks:
            lo = int(ptr[first])
            parts_blocks = (part.popleft().block(first, last) for part in pieces)
            rows, tf = _interleaved(parts_blocks, ptr[first:last] - lo, int(ptr[last]) - lo)
            # the pieces just freed lie between pieces of later blocks: holes no block's arrays fit in
            _return_freed_memory()
            yield ptr[first : last + 1], rows, tf

    encoded = map(_encode_block, tasks()) if workers is None else workers.map(_encode_block, tasks())
    return _Segment.from_blocks(ptr, zip(blocks, encoded, strict=True))


def _interleaved(
    blocks: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]], starts: np.ndarray, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The rows and term frequencies of a run of words put together from each part's :meth:`_Segment.block`
    (``blocks``: the parts in row order), ``starts``: where each word's ``size`` postings in all begin."""
    rows = np.empty(size, np.int32)
    tf = np.empty(size, np.uint8)
    start = starts.astype(np.int64)  # a copy: where each word's postings from the next part go
    for part_counts, rows_of_part, tf_of_part in blocks:
        dest = ranges(start, part_counts)
        rows[dest], tf[dest] = rows_of_part, tf_of_part
        start += part_counts
    return rows, tf


# A field of at most this many postings keeps them decoded besides (5 bytes a posting: 20 MB at most, the
# abstracts of ~30k papers; 6 MB for 10k papers' abstracts, 0.4 MB for their titles): a query in a small
# library reads ~16 lists, whose decoding was a tenth of its time.  Above it (a library's abstracts from
# ~30k papers, its titles from ~450k) the compressed postings alone: a million papers' would take 350 MB.
_DECODED_POSTINGS = 4_000_000


@dataclass(eq=False)
class _Decoded:
    """A field's postings decoded, CSR: word ``w``'s rows (int32, ascending) and term frequencies (uint8)
    are ``rows[ptr[w]:ptr[w + 1]]`` and ``tf[...]`` (read only: queries share them)."""

    ptr: np.ndarray  # int64
    rows: np.ndarray
    tf: np.ndarray

    def __post_init__(self) -> None:
        self._ptr = self.ptr.data  # read as Python ints: a tenth of the time of indexing the array

    @classmethod
    def of(cls, segments: Sequence[_Segment]) -> _Decoded:
        counts = np.zeros(max((len(s.ptr) - 1 for s in segments), default=0), np.int64)
        for segment in segments:
            segment.count_into(counts)
        ptr = np.zeros(len(counts) + 1, np.int64)
        np.cumsum(counts, out=ptr[1:])
        if len(segments) == 1:  # nearly always in a small library: decoded as it lies
            rows, tf = segments[0].decode_words(0, len(counts))
        else:
            rows, tf = _interleaved((s.block(0, len(counts)) for s in segments), ptr[:-1], int(ptr[-1]))
        ptr.flags.writeable = rows.flags.writeable = tf.flags.writeable = False
        return cls(ptr, rows, tf)

    def postings(self, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`_Field.postings` (views: read only)."""
        lo, hi = self.span(word_id)
        return self.rows[lo:hi], self.tf[lo:hi]

    def span(self, word_id: int) -> tuple[int, int]:
        """Where the word's postings lie in ``rows`` (or in anything aligned with them); none for a word
        added since the field's postings were."""
        if word_id + 1 >= len(self._ptr):
            return 0, 0
        return self._ptr[word_id], self._ptr[word_id + 1]

    def places_in(self, other: _Decoded, rows: int) -> np.ndarray:
        """Where each posting is among the same word's postings in ``other`` (int32; -1: not there), for a
        library of ``rows`` rows: a word's title rows among its abstract rows, a binary search per posting."""
        places = np.full(len(self.rows), -1, np.int32)
        words = min(len(self.ptr), len(other.ptr)) - 1
        for first, last in _word_blocks(other.ptr[: words + 1], _PLACES_BLOCK):  # bounded temporaries
            lo, hi, other_lo = int(self.ptr[first]), int(self.ptr[last]), int(other.ptr[first])
            owner = np.repeat(np.arange(first, last), np.diff(self.ptr[first : last + 1]))
            keys = owner * rows + self.rows[lo:hi]
            counts = np.diff(other.ptr[first : last + 1])
            other_keys = (
                np.repeat(np.arange(first, last) * rows, counts) + other.rows[other_lo : other_lo + counts.sum()]
            )
            at = np.minimum(np.searchsorted(other_keys, keys), max(len(other_keys) - 1, 0))
            found = np.flatnonzero(other_keys[at] == keys) if len(other_keys) else np.zeros(0, np.intp)
            places[lo + found] = at[found] + other_lo - other.ptr[owner[found]]
        places.flags.writeable = False
        return places

    @property
    def nbytes(self) -> int:
        return self.ptr.nbytes + self.rows.nbytes + self.tf.nbytes


_PLACES_BLOCK = 1 << 20  # postings searched at once by _Decoded.places_in (~25 MB of temporaries)


class _Field:
    """The postings, document frequencies and row lengths of one text field."""

    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.sizes: list[int] = []  # rows per segment
        self.df = np.zeros(0, np.int32)  # rows holding each word
        self.lengths = np.zeros(0, np.int32)
        self.avg_length = 1.0
        self._decoded: tuple[tuple[_Segment, ...], _Decoded | None] = ((), None)  # decoded(), for those segments

    def add(
        self, chunks: list[_Chunk], lengths: list[np.ndarray], vocab_size: int, workers: Workers | None = None
    ) -> None:
        """Append a segment of the postings of consecutive new row chunks, then merge small neighbours
        (encoded by ``workers``, when given)."""
        new = _merge(chunks, vocab_size, workers)
        self.segments.append(new)
        self.sizes.append(sum(map(len, lengths)))
        self.lengths = np.concatenate([self.lengths, *lengths])
        self.avg_length = max(float(self.lengths.mean()), 1.0)
        df = np.zeros(vocab_size, np.int32)
        df[: len(self.df)] = self.df
        new.count_into(df)
        self.df = df
        while len(self.sizes) > 1 and self.sizes[-1] * _MERGE_RATIO >= self.sizes[-2]:
            self.segments[-2:] = [_merge(self.segments[-2:], vocab_size, workers)]
            self.sizes[-2:] = [self.sizes[-2] + self.sizes[-1]]

    def copy(self) -> _Field:
        """A field to add to without changing this one (their arrays are shared until then)."""
        field = _Field()
        field.segments, field.sizes = list(self.segments), list(self.sizes)
        field.df, field.lengths, field.avg_length = self.df, self.lengths, self.avg_length
        field._decoded = self._decoded  # the same segments: still theirs
        return field

    def with_blank_rows(self, rows: int, vocab_size: int) -> _Field:
        """A copy followed by ``rows`` rows whose texts are not indexed yet (no words), for a vocabulary of ``vocab_size``."""
        field = self.copy()
        field.lengths = np.concatenate([self.lengths, np.zeros(rows, np.int32)])
        field.df = np.concatenate([self.df, np.zeros(vocab_size - len(self.df), self.df.dtype)])
        return field

    def length_norms(self, k1: float, b: float) -> np.ndarray:
        """BM25's length normalisation ``k1 * (1 - b + b * length / avg_length)`` of every row.

        Computed once per size of the field, not for every posting list of every query.
        """
        key = (k1, b, len(self.lengths))
        cached = self.__dict__.get("_norms")
        if cached is None or cached[0] != key:
            # in float64 whatever the lengths' width (uint8 / float32 would be float32)
            relative = np.divide(self.lengths, np.float32(self.avg_length), dtype=np.float64)
            cached = self._norms = (key, k1 * (1 - b + b * relative))
        norms: np.ndarray = cached[1]
        return norms

    def decoded(self) -> _Decoded | None:
        """The postings decoded, while the field holds at most _DECODED_POSTINGS (decoded at the first call
        after its segments change, which :meth:`SearchIndex.sync` makes: ~15 ms for 10k papers' abstracts)."""
        segments, decoded = self._decoded
        if len(segments) != len(self.segments) or not all(map(operator.is_, segments, self.segments)):
            large = sum(int(s.ptr[-1]) for s in self.segments) > _DECODED_POSTINGS
            self._decoded = tuple(self.segments), None if large else _Decoded.of(self.segments)
            segments, decoded = self._decoded
        return decoded

    def postings(self, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows containing ``word_id`` (ascending) and its frequency in each (read only)."""
        decoded = self.decoded()
        if decoded is not None:
            return decoded.postings(word_id)
        parts = [s.postings(word_id) for s in self.segments if word_id + 1 < len(s.ptr)]
        if len(parts) == 1:
            return parts[0]
        return (
            np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32),
            np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.uint8),
        )

    @property
    def nbytes(self) -> int:
        postings = sum(a.nbytes for s in self.segments for a in s.arrays())
        decoded = self._decoded[1]
        return postings + self.df.nbytes + self.lengths.nbytes + (0 if decoded is None else decoded.nbytes)


class _Vocabulary:
    """Words by id in one UTF-8 buffer, each ended by a newline (folded words hold no whitespace),
    with their offsets, and the ids in code-point order — the UTF-8 byte order — for bisection."""

    def __init__(self, data: np.ndarray | None = None, ptr: np.ndarray | None = None, order: np.ndarray | None = None):
        self.data = np.zeros(0, np.uint8) if data is None else data
        self.ptr = np.zeros(1, np.int64) if ptr is None else ptr  # word i is data[ptr[i]:ptr[i + 1] - 1]
        self.order = np.zeros(0, np.int32) if order is None else order
        self._views()

    def copy(self) -> _Vocabulary:
        """A vocabulary to add to without changing this one (its words' hashes, if held, to be added to as well)."""
        copied = _Vocabulary(self.data, self.ptr, self.order)
        copied._hashed = self._hashed
        return copied

    def _views(self) -> None:
        """Memoryviews of the arrays, for bisection: slicing or indexing one costs a fraction of an array's."""
        self._view, self._ptr_view, self._order_view = self.data.data, self.ptr.data, self.order.data
        self._fences: list[bytes] | None = None  # every _FENCE-th word in code-point order, once looked up
        self._hashed: tuple[np.ndarray, np.ndarray] | None = None  # the words' Python hashes, sorted, and their ids

    def __len__(self) -> int:
        return len(self.ptr) - 1

    def _bytes(self, word_id: int) -> bytes:
        ptr = self._ptr_view
        return self._view[ptr[word_id] : ptr[word_id + 1] - 1].tobytes()

    def _sorted(self, rank: int) -> bytes:
        return self._bytes(self._order_view[rank])

    def word(self, word_id: int) -> str:
        return self._bytes(word_id).decode("utf-8", "surrogatepass")

    def words_of(self, ids: np.ndarray) -> list[str]:
        """The words with ``ids``, decoded at once (thousands of typo candidates in a large library)."""
        return self._text(self._gather(ids)[0])

    def joined(self, ids: np.ndarray, counts: np.ndarray) -> list[str]:
        """The words ``ids`` joined by single spaces, ``counts[i]`` of them into the i-th text."""
        text, ends = self._gather(ids)
        text[text == _END] = ord(" ")
        text[ends[np.cumsum(counts)[counts > 0] - 1] - 1] = _END  # the newline after each text's last word stays
        texts = self._text(text)
        if counts.all():
            return texts
        rest = iter(texts)
        return ["" if count == 0 else next(rest) for count in counts.tolist()]

    def _gather(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The UTF-8 of the words with ``ids``, each with its newline, and where each ends."""
        starts = self.ptr[ids].astype(np.int64)  # uint32 differences would wrap below zero
        lengths = self.ptr[ids + 1] - starts
        ends = np.cumsum(lengths)
        at = np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)
        return self.data[at], ends

    @staticmethod
    def _text(text: np.ndarray) -> list[str]:
        """The texts of newline-ended UTF-8 ``text``."""
        return text.tobytes().decode("utf-8", "surrogatepass").split("\n")[:-1]

    def binary(self) -> pa.Array:
        """Every word, by id, as an Arrow binary array."""
        return _without_ends(self.data, self.ptr)

    def words(self) -> list[str]:
        """Every word, by id (decodes the whole vocabulary: for adding many rows, not for lookups)."""
        return self._view.tobytes().decode("utf-8", "surrogatepass").split("\n")[:-1]

    def _rank(self, key: bytes, after: bool = False) -> int:
        """How many words sort before ``key`` (``after``: or equal to it): bisection among the fences, then
        among the words between two of them."""
        if self._fences is None:
            self._fences = [w.encode("utf-8", "surrogatepass") for w in self.words_of(self.order[::_FENCE])]
        side = bisect.bisect_right if after else bisect.bisect_left
        fence = side(self._fences, key)  # the rank is above fence - 1's and at most fence's
        lo, hi = max((fence - 1) * _FENCE + 1, 0), min(fence * _FENCE, len(self))
        return side(range(len(self)), key, lo, hi, key=self._sorted)

    def find(self, word: str) -> int | None:
        key = word.encode("utf-8", "surrogatepass")
        rank = self._rank(key)
        return int(self.order[rank]) if rank < len(self) and self._sorted(rank) == key else None

    def hashed(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The words' Python hashes, sorted, and their ids: made at the first call; None for a large vocabulary."""
        if self._hashed is None and len(self) <= _HASHED_WORDS:
            self._hashed = _sorted_hashes(self.words(), 0)
        return self._hashed

    def find_each(self, words: Sequence[str]) -> list[int | None]:
        """:meth:`find` of each of ``words``: in a small vocabulary (:data:`_HASHED_WORDS`) by their Python hashes."""
        held = self.hashed()
        if held is None:
            return [self.find(word) for word in words]
        hashes, ids = held
        keys = [hash(word) for word in words]
        found: list[int | None] = []
        for word, key, at in zip(words, keys, np.searchsorted(hashes, keys).tolist(), strict=True):
            found.append(None)
            while at < len(hashes) and hashes[at] == key:  # a hash shared by another word is told apart by the bytes
                if self._bytes(int(ids[at])) == word.encode("utf-8", "surrogatepass"):
                    found[-1] = int(ids[at])
                    break
                at += 1
        return found

    def extensions(self, prefix: str) -> np.ndarray:
        """Ids of the words that start with ``prefix`` and are longer, in code-point order."""
        key = prefix.encode("utf-8", "surrogatepass")
        return self.order[self._rank(key, after=True) : self._rank(key + b"\xff")]  # 0xff is never UTF-8

    def add(self, new: list[str]) -> None:
        """Append ``new`` (words not in the vocabulary yet) with the next ids."""
        if not new:
            return
        known, hashed = len(self), self._hashed
        added = np.frombuffer(("\n".join(new) + "\n").encode("utf-8", "surrogatepass"), np.uint8)
        starts = np.append(0, np.flatnonzero(added == _END) + 1)  # of each new word in ``added``, and its end
        self.data = np.concatenate([self.data, added])
        self.ptr = _offsets(np.concatenate([self.ptr, self.ptr[-1] + starts[1:]]))
        self._views()
        ranks = _code_point_order(_without_ends(added, starts))
        fresh = ranks + known
        if not known:
            order = fresh
        elif len(new) * _BISECT_COST < known:  # bisect the old order (self.order is still the old one)
            keys = [new[r].encode("utf-8", "surrogatepass") for r in ranks.tolist()]
            at = [bisect.bisect_left(range(known), key, key=self._sorted) for key in keys]
            order = np.insert(self.order, at, fresh)
        else:
            order = _code_point_order(self.binary())
        self.order = order.astype(np.int32)
        self._views()
        if hashed is not None and len(self) <= _HASHED_WORDS:  # held already: the new words join it
            more, ids = _sorted_hashes(new, known)
            where = np.searchsorted(hashed[0], more)
            self._hashed = np.insert(hashed[0], where, more), np.insert(hashed[1], where, ids)

    @property
    def nbytes(self) -> int:
        hashed = 0 if self._hashed is None else sum(a.nbytes for a in self._hashed)
        return self.data.nbytes + self.ptr.nbytes + self.order.nbytes + hashed


def _sorted_hashes(words: list[str], first_id: int) -> tuple[np.ndarray, np.ndarray]:
    """The Python hashes of ``words`` (ids ``first_id`` on), sorted, and the ids in that order (int32)."""
    hashes = np.fromiter(map(hash, words), np.int64, len(words))
    order = np.argsort(hashes)
    return hashes[order], (order + first_id).astype(np.int32)


def _without_ends(data: np.ndarray, ptr: np.ndarray) -> pa.Array:
    """The newline-ended words ``data[ptr[i]:ptr[i + 1] - 1]`` as an Arrow binary array."""
    ptr = ptr.astype(np.int64)
    lengths = np.diff(ptr) - 1
    offsets = np.zeros(len(ptr), np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return _binary(WordBytes(data[ranges(ptr[:-1], lengths)], offsets))


def _code_point_order(words: pa.Array) -> np.ndarray:
    """The positions of UTF-8 ``words`` in code-point order (int64): the order of their bytes, which Arrow
    sorts in C (Python's sort of half a million words took 0.27 s)."""
    order: np.ndarray = pc.sort_indices(words).to_numpy().astype(np.int64)
    return order


def _id_bytes(vocab_size: int) -> int:
    """Bytes a word id takes in a title: two for a small vocabulary, three up to 16.7 million words."""
    return 2 if vocab_size <= 1 << 16 else 3 if vocab_size <= 1 << 24 else 4


def _id_digits(ids: np.ndarray, width: int) -> np.ndarray:
    """Word ids as ``width`` little-endian bytes each, back to back (uint8)."""
    digits: np.ndarray = ids.astype("<u4").view(np.uint8).reshape(-1, 4)[:, :width].reshape(-1)
    return digits


def _id_values(digits: np.ndarray, width: int) -> np.ndarray:
    """The word ids ``_id_digits`` made ``digits`` of (int64)."""
    columns = digits.reshape(-1, width)
    ids = columns[:, 0].astype(np.int64)
    for j in range(1, width):
        ids |= columns[:, j].astype(np.int64) << (8 * j)
    return ids


@dataclass
class _Titles:
    """The folded titles of the rows, each as the vocabulary ids of its words — a folded title is its
    words joined by single spaces — in a third of the room of their UTF-8; a title not made of
    vocabulary words is kept as UTF-8 apart.  A title's short name, if any, is its first ``name_len`` bytes."""

    ids: np.ndarray  # uint8: the titles' word ids back to back, each in id_bytes little-endian bytes
    ptr: np.ndarray  # row r's words are ids ptr[r]:ptr[r + 1] (uint32 or int64)
    name_len: np.ndarray  # uint16: bytes of each title's short name (0: none)
    raw_rows: np.ndarray  # int64: ascending rows whose title is kept as UTF-8
    raw_ptr: np.ndarray  # int64: their titles are raw[raw_ptr[i]:raw_ptr[i + 1]]
    raw: np.ndarray  # uint8
    id_bytes: int  # fixed by the vocabulary's size

    _NAMES = ("titles", "title_ptr", "name_len", "raw_title_rows", "raw_title_ptr", "raw_titles")

    @classmethod
    def empty(cls) -> _Titles:
        none = np.zeros(0, np.uint8)
        return cls(
            none, np.zeros(1, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.int64), np.zeros(1, np.int64), none, 2
        )

    def arrays(self) -> dict[str, np.ndarray]:
        return dict(
            zip(self._NAMES, (self.ids, self.ptr, self.name_len, self.raw_rows, self.raw_ptr, self.raw), strict=True)
        )

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray], vocab_size: int) -> _Titles:
        ids, ptr, name_len, raw_rows, raw_ptr, raw = (arrays[name] for name in cls._NAMES)
        return cls(ids, ptr, name_len, raw_rows, raw_ptr, raw, _id_bytes(vocab_size))

    def fits(self) -> bool:
        """Whether the arrays make one set of titles, judged by their types and sizes alone."""
        ends = int(self.ptr[-1]) * self.id_bytes == len(self.ids) and int(self.raw_ptr[-1]) == len(self.raw)
        sizes = len(self.ptr) == len(self.name_len) + 1 and len(self.raw_ptr) == len(self.raw_rows) + 1
        typed = self.ids.dtype == self.raw.dtype == np.uint8 and self.name_len.dtype == np.uint16
        return ends and sizes and typed and self.ptr.dtype in (np.uint32, np.int64) and self.raw_ptr.dtype == np.int64

    @property
    def nbytes(self) -> int:
        return sum(a.nbytes for a in self.arrays().values())

    def add(
        self, chunks: list[tuple[_TitleWords, np.ndarray]], find: Callable[[list[str]], np.ndarray], vocab_size: int
    ) -> _Titles:
        """These titles and those of ``chunks`` after them (each with the word ids of its chunk's words);
        ``find`` gives the ids of words (-1: none), ``vocab_size`` is the new size."""
        width = _id_bytes(vocab_size)
        ids = [self.ids if width == self.id_bytes else _id_digits(_id_values(self.ids, self.id_bytes), width)]
        counts, names, raw_rows, raw = [], [], [self.raw_rows], []
        lo = len(self.ptr) - 1  # the row of the chunk's first title
        for words, chunk_ids in chunks:
            count = words.counts.copy()
            found = chunk_ids[words.local]
            if words.apart:  # a word the chunk's texts lack may still be a word of the vocabulary
                flat = " ".join(words.apart).split(" ")
                apart_ids = find(flat)
                apart_counts = np.fromiter(map(str.count, words.apart, repeat(" ")), np.int64, len(words.apart)) + 1
                owner = np.repeat(np.arange(len(words.apart)), apart_counts)
                held = np.bincount(owner[apart_ids < 0], minlength=len(words.apart)) == 0
                if held.any():  # rare: their ids go in among the others', in row order
                    count[words.apart_rows[held]] = apart_counts[held]
                    merged = np.empty(int(count.sum()), np.int64)
                    starts = np.cumsum(count) - count
                    rescued = np.zeros(len(count), bool)
                    rescued[words.apart_rows[held]] = True
                    merged[ranges(starts[rescued], count[rescued])] = apart_ids[held[owner]]
                    merged[ranges(starts[~rescued], count[~rescued])] = found
                    found = merged
                raw_rows.append(words.apart_rows[~held] + lo)
                raw += [text.encode() for text, kept in zip(words.apart, held.tolist(), strict=True) if not kept]
            ids.append(_id_digits(found, width))
            counts.append(count)
            names.append(words.name_len)
            lo += len(count)
        sizes = np.fromiter(map(len, raw), np.int64, len(raw))
        return _Titles(
            np.concatenate(ids),
            _offsets(
                np.concatenate([self.ptr.astype(np.int64), int(self.ptr[-1]) + np.cumsum(np.concatenate(counts))])
            ),
            np.concatenate([self.name_len, *names]),
            np.concatenate(raw_rows),
            np.concatenate([self.raw_ptr, self.raw_ptr[-1] + np.cumsum(sizes)]),
            np.concatenate([self.raw, np.frombuffer(b"".join(raw), np.uint8)]),
            width,
        )

    def texts(self, rows: np.ndarray, vocab: _Vocabulary) -> list[str]:
        """The folded titles of ``rows``."""
        starts, ends = self.ptr[rows].astype(np.int64), self.ptr[rows + 1].astype(np.int64)
        digits = self.ids.reshape(-1, self.id_bytes).take(ranges(starts, ends - starts), axis=0)  # 5x a fancy index
        texts = vocab.joined(_id_values(digits, self.id_bytes), ends - starts)
        if len(self.raw_rows):
            at = np.minimum(np.searchsorted(self.raw_rows, rows), len(self.raw_rows) - 1)
            for i in np.flatnonzero(self.raw_rows[at] == rows).tolist():
                texts[i] = self.raw[self.raw_ptr[at[i]] : self.raw_ptr[at[i] + 1]].tobytes().decode()
        return texts


def _name_lengths(titles: pd.Series) -> np.ndarray:
    """UTF-8 bytes of the folded short name of each title, or 0 (uint16)."""
    # fold turns the colon into a space, so the folded title is the folded head, a space, the folded tail
    parts = pc.split_pattern(_arrow(titles), ":", max_splits=1)  # a third of the time of a regex
    named = pc.equal(pc.list_value_length(parts), 2).fill_null(False).to_numpy(zero_copy_only=False)
    head = pc.list_element(parts.filter(named), 0)
    heads = _arrow(fold_titles(pd.Series(pd.arrays.ArrowStringArray(head, dtype=STR_DTYPE))))
    short = pc.less(pc.count_substring(heads, " "), _NAME_WORDS).to_numpy(zero_copy_only=False)
    name_len = np.zeros(len(titles), np.int64)
    name_len[named] = np.where(short, pc.binary_length(heads).to_numpy(), 0)
    return np.where(name_len < 1 << 16, name_len, 0).astype(np.uint16)


def _trigrams(vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Packed boundary-marked character trigrams of each word, and which word each belongs to."""
    keys, owners = [np.zeros(0, np.int64)], [np.zeros(0, np.int32)]
    for lo in range(0, len(vocab), _TRIGRAM_WORDS):  # bounded temporaries: a slice at a time
        words = vocab[lo : lo + _TRIGRAM_WORDS]
        points = np.frombuffer("".join(words).encode("utf-32-le", "surrogatepass"), np.uint32)
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        cut = np.minimum(lengths, _TRI_WIDTH)  # a word's first _TRI_WIDTH characters
        # each word as its start marker, its characters and its end marker (folded words hold no control characters)
        block = np.cumsum(cut + 2) - (cut + 2)
        marked = np.empty(int(block[-1] + cut[-1] + 2) if len(words) else 0, np.int64)
        marked[block], marked[block + cut + 1] = 1, 2
        marked[ranges(block + 1, cut)] = points[ranges(np.cumsum(lengths) - lengths, cut)]
        first = ranges(block, cut)  # a trigram starts at each character's place but the last two
        keys.append((marked[first] << (2 * _SHIFT)) | (marked[first + 1] << _SHIFT) | marked[first + 2])
        owners.append(np.repeat(np.arange(lo, lo + len(words), dtype=np.int32), cut))
    if len(keys) == 2:  # one slice: no copy
        return keys[1], owners[1]
    return np.concatenate(keys), np.concatenate(owners)


def _by_key(keys: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_trigrams`' ``keys`` sorted, with their ``owner`` (ascending) moved along: ordered by (key, owner).

    Titles' words are made of a few dozen characters: ranked among those present, a trigram is a
    number below their count cubed, sorted by one or two stable 16-bit passes (numpy's radix sort)
    in a third of the time of sorting int64.  Failing that (many distinct characters), the code
    points are packed into one int64 in as few bits as the widest needs, then the owner, and sorted.
    """
    if not len(keys):
        return keys, owner
    mask = np.int64((1 << int(_SHIFT)) - 1)
    present = np.zeros(1 << int(_SHIFT), bool)
    for k in range(3):
        present[keys >> (k * _SHIFT) & mask] = True
    rank = (np.cumsum(present, dtype=np.int64) - 1).astype(np.uint32)
    symbols = int(rank[-1]) + 1
    if symbols**3 <= 1 << 32:
        dense = rank[keys >> (2 * _SHIFT)]
        dense *= np.uint32(symbols)
        dense += rank[keys >> _SHIFT & mask]
        dense *= np.uint32(symbols)
        dense += rank[keys & mask]
        order = np.argsort(dense.astype(np.uint16), kind="stable")  # the low 16 bits (all of them below 2**16)
        if symbols**3 > 1 << 16:  # then the high 16 bits, stable: the order of the low bits stays among equal ones
            order = order[np.argsort((dense[order] >> np.uint32(16)).astype(np.uint16), kind="stable")]
            return keys[order], owner[order]
        # the sorted keys are each trigram's key as often as it occurs: no gather of the keys
        every = np.arange(symbols**3, dtype=np.int64)
        point = np.flatnonzero(present).astype(np.int64)  # the code point of each rank
        key_of = point[every // symbols**2] << (2 * _SHIFT) | point[every // symbols % symbols] << _SHIFT
        return np.repeat(key_of | point[every % symbols], np.bincount(dense, minlength=symbols**3)), owner[order]
    widest = int(np.flatnonzero(present)[-1])
    bits, owner_bits = widest.bit_length(), int(owner[-1]).bit_length() if len(owner) else 0
    if 3 * bits + owner_bits > 62:  # wide characters (CJK) in a large vocabulary: sort the keys as they are
        order = np.argsort(keys, kind="stable")
        return keys[order], owner[order]
    width, lower = np.int64(bits), np.int64((1 << bits) - 1)
    packed = (keys >> (2 * _SHIFT) << (2 * width)) | ((keys >> _SHIFT & mask) << width) | (keys & mask)
    packed = (packed << np.int64(owner_bits)) | owner
    packed.sort()
    owners = (packed & np.int64((1 << owner_bits) - 1)).astype(owner.dtype)
    packed >>= np.int64(owner_bits)
    return (packed >> (2 * width) << (2 * _SHIFT)) | ((packed >> width & lower) << _SHIFT) | (packed & lower), owners


def _trigram_set(word: str) -> set[int]:
    """:func:`_trigrams` of one word, distinct: in Python, a fraction of numpy's cost for one word."""
    points = [1, *map(ord, word[:_TRI_WIDTH]), 2]
    shift = int(_SHIFT)
    return {(a << 2 * shift) | (b << shift) | c for a, b, c in zip(points, points[1:], points[2:], strict=False)}


def _share_a_trigram(word: str, other: str) -> bool:
    return not _trigram_set(word).isdisjoint(_trigram_set(other))


def _word_trigrams(word: str) -> np.ndarray:
    """:func:`_trigrams` of one word, distinct and sorted."""
    return np.array(sorted(_trigram_set(word)), np.int64)


class _WordNumbers:
    """Numbers the words of the chunks being indexed, chunk after chunk: a word of the vocabulary by
    its id, a new one by the next id, new ones in order of their first occurrence.

    A few new rows look their words up in a dict and find the vocabulary's by bisection; once a
    chunk holds more than 1/_BISECT_COST as many words as the vocabulary, every word goes into a
    :class:`_WordTable` instead, which finds a chunk's words with a few numpy steps.  Many chunks
    at once (:meth:`ids_each`) are numbered by one Arrow hash of the vocabulary's words and theirs.
    """

    def __init__(self, vocab: _Vocabulary) -> None:
        self.vocab = vocab
        self.new: list[str] = []
        self.lookup: dict[str, int] = {}  # the words looked up or added so far, while there is no table
        self.tabled = not len(vocab)  # whether words are found in a table (self.table, made when first needed)
        self.table: _WordTable | None = None

    @property
    def size(self) -> int:
        """The vocabulary's size with the new words."""
        return len(self.vocab) + len(self.new)

    def _table(self) -> _WordTable:
        """The table of the vocabulary's words and the new ones."""
        if self.table is None:
            self.table = _WordTable(self.vocab)
            added = WordBytes.of_words(self.new)
            self.table.add(added, added.keys(), np.arange(len(added.ptr) - 1), len(self.vocab))
        return self.table

    def ids(self, found: ChunkPostings) -> np.ndarray:
        """The ids of the words of a chunk (int64); the new ones are numbered and remembered."""
        self.tabled |= len(found.words) * _BISECT_COST > len(self.vocab)
        if self.tabled:
            ids = self._table().ids(found.utf8, found.keys)
        else:  # C-level maps: most words of a chunk are known, and its words are distinct
            ids = np.fromiter(map(self.lookup.get, found.words, repeat(-1)), np.int64, len(found.words))
            for i in np.flatnonzero(ids < 0).tolist():  # the vocabulary's words not looked up yet
                known = self.vocab.find(found.words[i])
                if known is not None:
                    ids[i] = self.lookup[found.words[i]] = known
        missing = np.flatnonzero(ids < 0)
        ids[missing] = np.arange(self.size, self.size + len(missing))
        if self.tabled:
            self._table().add(found.utf8, found.keys[missing], missing, self.size)
        else:
            self.lookup.update(zip(map(found.words.__getitem__, missing.tolist()), ids[missing].tolist(), strict=True))
        self.new += map(found.words.__getitem__, missing.tolist())
        return ids

    def ids_each(self, chunks: list[ChunkPostings]) -> list[np.ndarray]:
        """:meth:`ids` of each of ``chunks`` in turn (the same numbers).  Once they hold more than
        1/_BISECT_COST as many words as the vocabulary, all at once: Arrow's hash kernel over the
        known words (distinct: their codes are their ids) and then every chunk's words gives each
        new word the next code in order of first occurrence — as numbering chunk after chunk does —
        in a tenth of the time of the table (a million titles: 0.15 s instead of 1.9)."""
        if sum(len(found.keys) for found in chunks) * _BISECT_COST <= self.size:
            return [self.ids(found) for found in chunks]
        known = self.vocab.binary()
        if self.new:
            known = pa.concat_arrays([known, _binary(WordBytes.of_words(self.new))])
        codes = pc.dictionary_encode(pa.concat_arrays([known, *(_binary(found.utf8) for found in chunks)]))
        ids = codes.indices.to_numpy().astype(np.int64)
        self.new += decode_words(codes.dictionary.slice(self.size))
        self.tabled, self.table = True, None  # the table lacks the words just numbered: made again when needed
        ends = np.cumsum([len(known)] + [len(found.keys) for found in chunks]).tolist()
        return [ids[lo:hi] for lo, hi in pairwise(ends)]

    def find(self, words: list[str]) -> np.ndarray:
        """The ids of ``words`` numbered so far (int64; -1 for the others)."""
        if not self.tabled:
            found: np.ndarray = np.fromiter(map(self.lookup.get, words, repeat(-1)), np.int64, len(words))
            return found
        utf8 = WordBytes.of_words(words)
        return self._table().ids(utf8, utf8.keys())


class _WordTable:
    """Words by id, found by a 64-bit key of their UTF-8 (:func:`~paper_widgets.search.tokens.word_keys`)
    in a sorted array; a word whose key matches is compared byte for byte, so no two words are ever merged."""

    def __init__(self, vocab: _Vocabulary) -> None:
        ptr = vocab.ptr.astype(np.int64)
        self.starts, self.lengths = ptr[:-1], np.diff(ptr) - 1  # each word of the vocabulary ends in a newline
        self._data = vocab.data.copy()  # grows by doubling: words are appended chunk after chunk
        self._used = len(vocab.data)
        keys = word_keys(self._data, self.starts, self.lengths)
        self.order = np.argsort(keys, kind="stable")  # ids by key
        self.keys = keys[self.order]

    def ids(self, words: WordBytes, keys: np.ndarray) -> np.ndarray:
        """The id of each of ``words`` (with ``keys``), -1 for those the table does not hold (int64)."""
        ids = np.full(len(keys), -1, np.int64)
        if not len(self.keys):
            return ids
        at = np.empty(len(keys), np.int64)
        by_key = np.argsort(keys)  # sorted needles: each search starts where the last ended (cache-friendly)
        at[by_key] = np.searchsorted(self.keys, keys[by_key])
        matched = np.flatnonzero(self.keys[np.minimum(at, len(self.keys) - 1)] == keys)
        same = self._same(self.order[at[matched]], words, matched)
        ids[matched[same]] = self.order[at[matched[same]]]
        for i in matched[~same].tolist():  # another word with the same key: look at the rest of that key's
            for j in range(int(at[i]) + 1, int(np.searchsorted(self.keys, keys[i], "right"))):
                if self._same(self.order[j : j + 1], words, np.array([i]))[0]:
                    ids[i] = self.order[j]
        return ids

    def add(self, words: WordBytes, keys: np.ndarray, which: np.ndarray, first_id: int) -> None:
        """Add ``words[which]`` (with ``keys``) with the ids ``first_id`` on."""
        lengths = np.diff(words.ptr)[which]
        data = words.data[ranges(words.ptr[which], lengths)]
        if self._used + len(data) > len(self._data):
            grown = np.empty(max(2 * len(self._data), self._used + len(data)), np.uint8)
            grown[: self._used] = self._data[: self._used]
            self._data = grown
        self._data[self._used : self._used + len(data)] = data
        self.starts = np.concatenate([self.starts, self._used + np.cumsum(lengths) - lengths])
        self.lengths = np.concatenate([self.lengths, lengths])
        self._used += len(data)
        rank = np.argsort(keys, kind="stable")
        at = np.searchsorted(self.keys, keys[rank], "right")  # after equal keys: ids ascend within a key
        self.keys = np.insert(self.keys, at, keys[rank])
        self.order = np.insert(self.order, at, first_id + rank)

    def _same(self, ids: np.ndarray, words: WordBytes, which: np.ndarray) -> np.ndarray:
        """Whether word ``ids[k]`` of the table has the bytes of ``words[which[k]]``, for each k."""
        lengths = np.diff(words.ptr)[which]
        same: np.ndarray = self.lengths[ids] == lengths
        held = np.flatnonzero(same)
        mine = self._data[ranges(self.starts[ids[held]], lengths[held])]
        theirs = words.data[ranges(words.ptr[which[held]], lengths[held])]
        differs = np.repeat(np.arange(len(held)), lengths[held])[mine != theirs]
        same[held[np.unique(differs)]] = False
        return same


class IndexBuild:
    """An index extended by the rows of a frame a field at a time: the titles first, then the abstracts.

    :meth:`SearchIndex.extend` runs both fields in one go.  :meth:`titles_first` does the titles
    now (a sixteenth of the words) and leaves the abstracts to :meth:`finish_in_background`: meanwhile
    :attr:`titled` is an index of the titles alone (its new rows' abstracts hold no words yet; it is
    not :attr:`~SearchIndex.complete`), and :meth:`result` is the complete index, byte for byte the one
    ``extend`` makes — the words are numbered in the same order, the titles' first.
    """

    def __init__(self, base: SearchIndex, df: pd.DataFrame, progress: Progress | None = None) -> None:
        self.base, self.df, self.progress = base, df, progress
        self.numbers = _WordNumbers(base._vocab)
        self.starts = {name: range(0, len(df), _chunk_rows(name)) for name in FIELDS}
        self.rows_done = 0  # rows of either field tokenised so far (2 * len(df) in all)
        self.text_hashes: dict[str, list[np.ndarray]] = {name: [] for name in FIELDS}
        self.titles: list[tuple[_TitleWords, np.ndarray]] = []  # each chunk's titles and its words' ids
        self.numbered: dict[str, tuple[list[_Chunk], list[np.ndarray], int]] = {}  # chunks, lengths, vocabulary size
        self.fields: dict[str, _Field] = {}  # the fields encoded, with the new rows
        self.title_words = 0  # new words numbered with the titles
        self.titled: SearchIndex | None = None
        self._words: SearchIndex | None = None  # the base with the titles' words and trigrams
        self._thread: threading.Thread | None = None
        self._complete: SearchIndex | None = None
        self._error: BaseException | None = None

    @classmethod
    def titles_first(
        cls, base: SearchIndex, df: pd.DataFrame, progress: Progress | None = None, workers: int | None = None
    ) -> IndexBuild:
        """The build of ``df``'s rows after ``base``'s with the titles indexed (:attr:`titled`), the
        abstracts not yet (``progress``: as for :meth:`SearchIndex.extend`, here for the titles only;
        ``workers``: processes tokenising the titles, none by default)."""
        build = cls(base, df, progress)
        # by default in this process: the titles' words are numbered once all are tokenised, so workers had
        # nothing to hide their start and hand-over behind (1M titles on this 2-core machine: 5.5 s of CPU
        # here, against 4.9-5.3 s wall with two workers idle and 11.8 s with them on a busy machine, +125 MB)
        with Workers(0 if workers is None else workers) as pool:
            build.number("title", pool.map(_tokenised, build.tasks(["title"])))
            build.encode("title", pool)
        words = build.title_index()
        titled = words.copy()
        titled._titles = base._titles.add(build.titles, build.numbers.find, build.numbers.size)
        titled.fields["abstract"] = base.fields["abstract"].with_blank_rows(len(df), titled.vocab_size)
        build.titled = titled
        return build

    def finish_in_background(self, hashes: np.ndarray | None = None, workers: int | None = None) -> None:
        """Index the abstracts on a thread of its own (:meth:`done`, :meth:`result`); ``hashes``: the new
        rows' :func:`row_hashes`, when the caller has them."""
        self.progress = None  # a progress bar belongs to the caller's thread: rows_done tells how far
        self._thread = threading.Thread(
            target=self._finish, args=(hashes, workers), name="index abstracts", daemon=True
        )
        self._thread.start()

    def _finish(self, hashes: np.ndarray | None, workers: int | None) -> None:
        try:
            _return_freed_memory()  # this thread's allocations cannot reuse what the titles' build freed
            with Workers(self.workers(["abstract"], workers)) as pool:
                self.number("abstract", pool.map(_tokenised, self.tasks(["abstract"])))
                _return_freed_memory()
                self.encode("abstract", pool)
            complete = SearchIndex()
            self.finish(complete, hashes)
            _return_freed_memory()  # what the build freed, kept by this thread's heap otherwise
            if len(complete) == len(self.df):  # the index of this very frame: syncing it with the frame is free
                complete._served = weakref.ref(self.df)
            self._complete = complete
        except BaseException as error:  # raised by result(), in the caller's thread
            self._error = error

    def done(self) -> bool:
        """Whether the abstracts are indexed (or their indexing failed: :meth:`result` raises its error)."""
        return self._thread is not None and not self._thread.is_alive()

    def result(self, progress: Progress | None = None) -> SearchIndex:
        """The complete index, once the abstracts are (waits for them, telling ``progress`` of the rows done)."""
        if self._thread is None:
            self.progress = progress
            self._finish(None, None)
        else:
            told = self.rows_done
            while self._thread.is_alive():
                self._thread.join(_PROGRESS_EVERY)
                if progress is not None and self.rows_done > told:
                    progress(self.rows_done - told)
                    told = self.rows_done
        if self._error is not None:
            raise self._error
        assert self._complete is not None, "set by _finish when it raised nothing"
        return self._complete

    # -- the steps ------------------------------------------------------------------------------

    def workers(self, names: Sequence[str], workers: int | None) -> int:
        """Worker processes for tokenising the fields ``names``: ``workers`` or as many as pay."""
        chunks = sum(len(self.starts[name]) for name in names)  # of about the same bytes each, titles' or abstracts'
        return worker_count(chunks >= _PARALLEL_CHUNKS) if workers is None else workers

    def tasks(self, names: Sequence[str]) -> Iterator[tuple[list[str], bool]]:
        """What :func:`_tokenised` takes: the Python strings of one chunk at a time (1 GB fewer at 1M)."""
        return (
            (_texts(self.df[name], i, _chunk_rows(name)), name == "title") for name in names for i in self.starts[name]
        )

    def number(self, name: str, tokenised: Iterator[_Tokenised]) -> None:
        """Number the words of field ``name``'s chunks, taken from ``tokenised`` (one per chunk): the titles'
        all at once (:meth:`_WordNumbers.ids_each`; a tenth of the abstracts' postings, held meanwhile), the
        abstracts' chunk by chunk."""
        chunks, lengths = [], []
        held: list[tuple[int, _Tokenised]] = []
        for i, chunk in zip(self.starts[name], tokenised, strict=False):  # this field's chunks: starts goes first
            if name == "title":
                held.append((i, chunk))
            else:
                chunks.append(_Chunk.of(chunk.postings, self.numbers.ids(chunk.postings), len(self.base) + i))
            lengths.append(chunk.postings.lengths)
            self.text_hashes[name].append(chunk.hashes)
            self.rows_done += len(chunk.postings.lengths)
            if self.progress is not None:
                self.progress(len(chunk.postings.lengths))
        numbered = self.numbers.ids_each([chunk.postings for _, chunk in held])
        for (i, chunk), ids in zip(held, numbered, strict=True):
            chunks.append(_Chunk.of(chunk.postings, ids, len(self.base) + i))
            if chunk.titles is not None:
                self.titles.append((chunk.titles, ids))
        del held
        self.numbered[name] = chunks, lengths, self.numbers.size
        if name == "title":
            self.title_words = len(self.numbers.new)

    def encode(self, name: str, workers: Workers | None = None) -> None:
        """Merge and encode field ``name``'s numbered chunks after the base's postings."""
        chunks, lengths, vocab_size = self.numbered.pop(name)
        field = self.base.fields[name].copy()
        field.add(chunks, lengths, vocab_size, workers)
        self.fields[name] = field

    def title_index(self) -> SearchIndex:
        """The base's vocabulary and trigrams with the titles' new words (their field encoded), and the
        title field: what the titled index and the complete one share."""
        if self._words is None:
            words = self.base.copy()
            words._vocab.add(self.numbers.new[: self.title_words])
            words.fields["title"] = self.fields["title"]
            words.hashes = np.concatenate([self.base.hashes, np.zeros(len(self.df), np.uint64)])  # not known yet
            words.complete = False
            words._add_trigrams(len(self.base._vocab), self.numbers.new[: self.title_words])
            self._words = words
        return self._words

    def finish(self, into: SearchIndex, hashes: np.ndarray | None = None) -> None:
        """Make ``into`` the complete index, both fields encoded (``hashes``: see :meth:`SearchIndex.extend`)."""
        words, numbers = self.title_index(), self.numbers
        into._titles = self.base._titles.add(self.titles, numbers.find, numbers.size)
        into._vocab = words._vocab.copy()
        into._vocab.add(numbers.new[self.title_words :])
        into.fields = {name: field.copy() for name, field in self.fields.items()}  # the titled index keeps its own
        for field in into.fields.values():  # words first seen in the second field
            if len(field.df) < numbers.size:
                field.df = np.concatenate([field.df, np.zeros(numbers.size - len(field.df), field.df.dtype)])
        if hashes is None:
            hashes = _row_hashes(*(np.concatenate(self.text_hashes[name]) for name in FIELDS))
        into.hashes = np.concatenate([self.base.hashes, hashes])
        into._tri_keys, into._tri_ptr, into._tri_words, into._tri_len = (
            words._tri_keys,
            words._tri_ptr,
            words._tri_words,
            words._tri_len,
        )
        into._deletions = words._deletions  # with the titles' new words, if it was made
        into._add_trigrams(len(words._vocab), numbers.new[self.title_words :])  # none: these are no title words
        into.complete = True


def _return_freed_memory() -> None:
    """Give the free pages of every C heap back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    A thread allocates from a heap (arena) of its own: without this, what the background build
    frees stays in the process, and it cannot reuse what the caller's thread freed before it.
    """
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).malloc_trim(0)


class SearchIndex:
    """Inverted index of a frame's ``title`` and ``abstract`` columns, addressed by row number.

    Build it with ``SearchIndex(df)``; :meth:`extend` appends rows.  :meth:`to_arrays` and
    :meth:`from_arrays` turn it into plain numeric numpy arrays and back, for a cache that cannot
    run code; ``from_arrays`` only wraps them, so read-only memory-mapped arrays serve as they are.
    """

    def __init__(self, df: pd.DataFrame | None = None) -> None:
        self._reset()
        if df is not None:
            self.sync(df)

    def _reset(self) -> None:
        self.fields = {name: _Field() for name in FIELDS}
        self._titles = _Titles.empty()
        self.hashes = np.zeros(0, np.uint64)
        self._vocab = _Vocabulary()
        # the packed trigrams of title words, distinct and sorted; the words of _tri_keys[i] are
        # _tri_words[_tri_ptr[i]:_tri_ptr[i + 1]]
        self._tri_keys = np.zeros(0, np.int64)
        self._tri_ptr = np.zeros(1, np.int64)
        self._tri_words = np.zeros(0, np.int32)
        self._tri_len = np.zeros(0, np.uint8)  # trigrams of each word in _tri_keys (0: none, not a title word)
        self._deletions: DeletionTable | None = None  # the title words' deletion neighbourhoods, once made
        self._served: weakref.ref[pd.DataFrame] | None = None  # the frame last synced with
        self._served_values: dict[Callable[[pd.DataFrame], object], object] = {}  # served_value's, for that frame
        self._recent_titles: tuple[bytes, list[str]] = (b"", [])  # the rows titles() was last asked for, and theirs
        self._decoded_titles: list[str | None] = []  # each title once decoded, while the library is small
        # _places' array, and the decoded postings of the titles and the abstracts it was found for
        self._title_places: tuple[_Decoded | None, _Decoded | None, np.ndarray] = (None, None, np.zeros(0, np.int32))
        # False for an index of titles whose abstracts are still being indexed (IndexBuild.titled)
        self.complete = True

    def copy(self) -> SearchIndex:
        """An index to extend without changing this one (their arrays are shared until then)."""
        index = copy.copy(self)  # not SearchIndex(): nothing is reset
        index.fields = {name: field.copy() for name, field in self.fields.items()}
        index._vocab = self._vocab.copy()
        index._served, index._recent_titles, index._decoded_titles = None, (b"", []), []
        return index

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array of the index by name (all numeric): what :meth:`from_arrays` takes back."""
        if not self.complete:
            raise ValueError("an index of titles whose abstracts are still being indexed is not saved")
        arrays: dict[str, np.ndarray] = {
            **self._titles.arrays(),
            "hashes": self.hashes,
            "words": self._vocab.data,
            "word_ptr": self._vocab.ptr,
            "word_order": self._vocab.order,
            "tri_keys": self._tri_keys,
            "tri_ptr": self._tri_ptr,
            "tri_words": self._tri_words,
            "tri_len": self._tri_len,
        }
        for name, fld in self.fields.items():
            arrays[f"{name}.df"], arrays[f"{name}.lengths"] = fld.df, _narrowest(fld.lengths)
            arrays[f"{name}.sizes"] = np.array(fld.sizes, np.int64)
            for i, seg in enumerate(fld.segments):
                arrays.update({f"{name}.{i}.{part}": a for part, a in zip(_SEGMENT_ARRAYS, seg.arrays(), strict=True)})
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SearchIndex:
        """The index :meth:`to_arrays` took apart (KeyError/ValueError when ``arrays`` are not one).

        Nothing is decoded or copied: only the sizes of the arrays are checked against each other.
        """
        index = cls()
        index.hashes = arrays["hashes"]
        index._vocab = _Vocabulary(arrays["words"], arrays["word_ptr"], arrays["word_order"])
        index._titles = _Titles.from_arrays(arrays, len(index._vocab))
        index._tri_keys, index._tri_ptr = arrays["tri_keys"], arrays["tri_ptr"]
        index._tri_words, index._tri_len = arrays["tri_words"], arrays["tri_len"]
        for name, fld in index.fields.items():
            fld.df, fld.lengths = arrays[f"{name}.df"], arrays[f"{name}.lengths"]
            fld.sizes = arrays[f"{name}.sizes"].tolist()
            fld.segments = [
                _Segment.of_arrays([arrays[f"{name}.{i}.{part}"] for part in _SEGMENT_ARRAYS])
                for i in range(len(fld.sizes))
            ]
            fld.avg_length = max(float(fld.lengths.mean()), 1.0) if len(fld.lengths) else 1.0
        rows, vocab = len(index.hashes), len(index._vocab)
        if not all(len(f.lengths) == rows == len(index._titles.ptr) - 1 for f in index.fields.values()):
            raise ValueError("the arrays do not make one index: their row counts differ")
        sizes = [len(index._vocab.order), len(index._tri_len), *(len(f.df) for f in index.fields.values())]
        ends = [int(index._vocab.ptr[-1]), int(index._tri_ptr[-1])]
        ends_fit = ends == [len(index._vocab.data), len(index._tri_words)] and index._titles.fits()
        if sizes != [vocab] * len(sizes) or len(index._tri_ptr) != len(index._tri_keys) + 1 or not ends_fit:
            raise ValueError("the arrays do not make one index: the vocabulary, titles or trigrams do not fit")
        if not all(seg.check(vocab) for fld in index.fields.values() for seg in fld.segments):
            raise ValueError("the arrays do not make one index: postings do not fit")
        return index

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def vocab_size(self) -> int:
        return len(self._vocab)

    @property
    def nbytes(self) -> int:
        """Memory held by the index's arrays (mapped pages count whether read or not)."""
        arrays = sum(f.nbytes for f in self.fields.values()) + self.hashes.nbytes + self._titles.nbytes
        arrays += self._vocab.nbytes + self._title_places[2].nbytes
        arrays += 0 if self._deletions is None else self._deletions.nbytes
        return arrays + sum(a.nbytes for a in (self._tri_keys, self._tri_ptr, self._tri_words, self._tri_len))

    def sync(self, df: pd.DataFrame, hashes: np.ndarray | None = None, progress: Progress | None = None) -> None:
        """Bring the index up to date with ``df``, whose row numbers it uses.

        Free when ``df`` is the frame last synced and has not grown (frames are treated as
        immutable: edit a copy); rows appended since are indexed incrementally; if earlier rows
        changed or moved, the index is rebuilt. ``hashes``: :func:`row_hashes` of ``df``, when
        the caller has them already; ``progress``: see :meth:`extend`.
        """
        served = None if self._served is None else self._served()
        if served is not None and served is df and len(df) == len(self):
            return
        if not self.complete:  # its abstracts are not indexed: it serves searches until the complete index is there
            self._reset()
        n = len(self)
        if n:  # to compare with the rows indexed already (a build hashes the rows as it tokenises them)
            hashes = row_hashes(df) if hashes is None else hashes
            if n > len(df) or not np.array_equal(self.hashes, hashes[:n]):
                self._reset()
                n = 0
        if n < len(df):
            self.extend(df.iloc[n:], None if hashes is None else hashes[n:], progress)
        self._served = weakref.ref(df)
        self._served_values = {}
        self._places()  # a small library's postings decoded now rather than at its first query
        self._vocab.hashed()  # and its words' hashes and typo table: a first keystroke does not wait for them
        self._deletion_table()

    def extend(
        self,
        df: pd.DataFrame,
        hashes: np.ndarray | None = None,
        progress: Progress | None = None,
        workers: int | None = None,
    ) -> None:
        """Index ``df``'s rows as the rows following those already indexed.

        ``progress`` is called with the rows done after each chunk of each field (``2 * len(df)`` in all).
        ``workers``: processes tokenising chunks beside this one (the index is the same with any number);
        by default as many as pay (:func:`~paper_widgets.workers.worker_count`, from
        :data:`_PARALLEL_CHUNKS` chunks), 0 for none.
        """
        if not len(df):
            return
        build = IndexBuild(self, df, progress)
        with Workers(build.workers(FIELDS, workers)) as pool:
            # both fields' chunks in one run of workers: they tokenise abstracts while titles are numbered here
            tokenised = pool.map(_tokenised, build.tasks(FIELDS))
            for name in FIELDS:
                build.number(name, tokenised)
            for name in FIELDS:  # then the workers encode blocks of words
                build.encode(name, pool)
        build.finish(self, hashes)

    # -- building -------------------------------------------------------------------------

    def _add_trigrams(self, known: int, new_words: list[str]) -> None:
        """Add the trigrams of the words that are title words now but were not (ids ``known`` on are ``new_words``)."""
        tri_len = np.zeros(self.vocab_size, np.uint8)
        tri_len[: len(self._tri_len)] = self._tri_len
        fresh = np.flatnonzero((self.fields["title"].df > 0) & (tri_len == 0))
        if len(fresh):
            seen_before = fresh[fresh < known]  # fresh is ascending: these come first
            words = self._vocab.words_of(seen_before) + [
                new_words[i - known] for i in fresh[len(seen_before) :].tolist()
            ]
            keys, owner = _trigrams(words)
            if self._deletions is not None:  # held already: the new title words join it
                self._deletions = self._deletions.added(fresh, words, int(np.count_nonzero(tri_len)) + len(fresh))
            del words
            tri_len[fresh] = np.bincount(owner, minlength=len(fresh))
            # a few arrays the size of every trigram (millions), each dropped once used: not all at once
            keys, owners = _by_key(keys, owner)
            del owner
            owners = fresh.astype(np.int32)[owners]
            if len(self._tri_words):
                known_keys = np.repeat(self._tri_keys, np.diff(self._tri_ptr))
                at = np.searchsorted(known_keys, keys, "right")  # a linear merge into the sorted trigrams
                keys, owners = np.insert(known_keys, at, keys), np.insert(self._tri_words, at, owners)
                del known_keys, at
            self._tri_words = owners
            starts = np.flatnonzero(np.diff(keys, prepend=-1))  # packed trigrams are never negative
            self._tri_keys, self._tri_ptr = keys[starts], np.append(starts, len(keys)).astype(np.int64)
        self._tri_len = tri_len

    # -- lookups --------------------------------------------------------------------------

    def serves(self, df: pd.DataFrame) -> bool:
        """Whether ``df`` is the frame this index was last synced with."""
        return self._served is not None and self._served() is df

    def served_value(self, df: pd.DataFrame, compute: Callable[[pd.DataFrame], _Value]) -> _Value:
        """``compute(df)``, kept while ``df`` is the frame this index serves (last synced with: treated as
        immutable, see :meth:`sync`) — what every search of that frame would otherwise compute again."""
        if not self.serves(df):
            return compute(df)
        if compute not in self._served_values:
            self._served_values[compute] = compute(df)
        return cast(_Value, self._served_values[compute])

    def titles(self, rows: Iterable[int]) -> list[str]:
        """The folded titles of ``rows``."""
        at = np.fromiter(rows, np.int64)
        texts = self._title_texts(at)
        self._recent_titles = (at.tobytes(), texts)  # a ranking asks for the same rows' short names next
        return texts

    def short_names(self, rows: Iterable[int]) -> list[str]:
        """The folded, space-free short name before the colon of each row's title ("Rep-MTL: …" → "repmtl"), or ""."""
        at = np.fromiter(rows, np.int64)
        sizes = self._titles.name_len[at]
        named = np.flatnonzero(sizes)  # few titles have a short name: only theirs are decoded
        key, recent = self._recent_titles
        texts = [recent[i] for i in named.tolist()] if key == at.tobytes() else self._title_texts(at[named])
        names = [""] * len(at)
        for i, text in zip(named.tolist(), texts, strict=True):
            names[i] = text.encode()[: sizes[i]].decode().replace(" ", "")
        return names

    def _title_texts(self, rows: np.ndarray) -> list[str]:
        """The folded titles of ``rows``: of a small library, each kept once decoded."""
        if len(self) > _DECODED_TITLES:
            return self._titles.texts(rows, self._vocab)
        decoded, wanted = self._decoded_titles, rows.tolist()
        if len(decoded) < len(self):  # titles are only ever appended (or all reset)
            decoded += [None] * (len(self) - len(decoded))
        texts = [decoded[row] for row in wanted]
        if None in texts:  # not all at the first query: decoding ten thousand titles took it 8 ms
            missing = [row for row in dict.fromkeys(wanted) if decoded[row] is None]
            for row, text in zip(missing, self._titles.texts(np.array(missing, np.int64), self._vocab), strict=True):
                decoded[row] = text
            texts = [decoded[row] for row in wanted]
        return cast(list[str], texts)  # every one decoded by now

    def word(self, word_id: int) -> str:
        """The folded word with id ``word_id``."""
        return self._vocab.word(word_id)

    def word_id(self, word: str) -> int | None:
        """The id of a folded word, or None when no indexed text contains it."""
        return self._vocab.find(word)

    def word_ids(self, words: Sequence[str]) -> list[int | None]:
        """:meth:`word_id` of each of ``words`` (a query's: looked up together)."""
        return self._vocab.find_each(words)

    def in_titles(self, word_id: int) -> bool:
        return bool(self.fields["title"].df[word_id] > 0)

    def doc_freq(self, word_id: int) -> int:
        """Rows whose title or abstract contains the word (an upper bound: the sum of both)."""
        return int(self.fields["title"].df[word_id] + self.fields["abstract"].df[word_id])

    def completions(self, prefix: str, limit: int) -> list[int]:
        """Up to ``limit`` most frequent words that start with ``prefix`` (not ``prefix`` itself)."""
        ids = self._vocab.extensions(prefix)
        if len(ids) > limit:
            freq = self.fields["title"].df[ids] + self.fields["abstract"].df[ids]
            top = np.arange(len(ids))
            if len(ids) > _SAMPLE_EVERY * limit:  # a letter or two: thousands of words, of which few frequent
                # the limit-th most frequent of a sample: at least as many words are as frequent, and only they
                # can be among the most frequent (sorting all 7,000 words starting with "r" took 75 µs)
                sample = freq[::_SAMPLE_EVERY]
                top = np.flatnonzero(freq >= np.partition(sample, len(sample) - limit)[len(sample) - limit])
            ids = ids[top[np.argsort(-freq[top], kind="stable")[:limit]]]
        found: list[int] = ids.tolist()
        return found

    def near_words(self, word: str, limit: int) -> list[tuple[int, int]]:
        """Title-vocabulary words within :func:`max_typos` edits of ``word``: (word id, edits), closest first."""
        return self.near_words_each([word], limit)[0]

    def near_words_each(self, words: Sequence[str], limit: int) -> list[list[tuple[int, int]]]:
        """:meth:`near_words` of each of ``words`` (up to ``limit`` each): a typo'd title asks about most of its
        words, whose candidates are decoded, compared and ranked together (a few numpy steps for them all)."""
        near: list[list[tuple[int, int]]] = [[] for _ in words]
        asked = [i for i, word in enumerate(words) if max_typos(word)]
        if not asked or not len(self._tri_keys):
            return near
        typos = np.array([max_typos(words[i]) for i in asked])
        # the words the deletion table holds all the candidates of are looked up there together; others by trigrams
        table = self._deletion_table()
        held = [table.covers(words[i], t) for i, t in zip(asked, typos.tolist(), strict=True)]
        in_table = [j for j, h in enumerate(held) if h]
        asker, ids = table.candidates([words[asked[j]] for j in in_table], typos[in_table].tolist())
        if len(in_table) < len(asked):
            rest = [j for j, h in enumerate(held) if not h]
            found = [self._near_candidates(words[asked[j]]) for j in rest]  # distinct, ascending
            asker = np.concatenate([np.array(in_table, np.int64)[asker], np.repeat(rest, [len(f) for f in found])])
            ids = np.concatenate([ids, *found])
        # a word of at most four letters per typo may keep no trigram within its typos ("acbd" for "abcd"): the
        # trigram path never finds such words, so those the table finds are dropped (floored) too
        floored = {j for j, (i, h) in enumerate(zip(asked, held, strict=True)) if h and len(words[i]) <= 4 * typos[j]}
        if len(ids) <= _FEW_CANDIDATES:  # a small library's few: compared and ranked one by one, no numpy steps
            ranked: list[list[tuple[int, int, int]]] = [[] for _ in asked]
            title_df = self.fields["title"].df
            for j, wid in set(zip(asker.tolist(), ids.tolist(), strict=True)):  # the table may find a word again
                word, other = words[asked[j]], self._vocab.word(wid)
                distance = OSA.distance(word, other, score_cutoff=int(typos[j]))
                if 0 < distance <= typos[j] and (j not in floored or _share_a_trigram(word, other)):
                    ranked[j].append((distance, -int(title_df[wid]), wid))
            for j, i in enumerate(asked):
                near[i] = [(wid, distance) for distance, _, wid in sorted(ranked[j])[:limit]]
            return near
        if in_table:  # each query word's candidates together, distinct and ascending, as the trigram path's are
            pairs = np.unique(asker << 32 | ids)
            asker, ids = pairs >> 32, (pairs & 0xFFFFFFFF).astype(np.int32)
        # thousands of candidates in a large library: each query word's compared in one rapidfuzz call
        others = self._vocab.words_of(ids)
        bounds = np.searchsorted(asker, np.arange(len(asked) + 1)).tolist()
        edits = np.zeros(len(ids), np.int32)
        for j, i in enumerate(asked):
            a, b = bounds[j], bounds[j + 1]
            if b > a:
                edits[a:b] = process.cdist(
                    [words[i]], others[a:b], scorer=OSA.distance, score_cutoff=int(typos[j]), dtype=np.int32
                )[0]
        close = (edits <= typos[asker]) & (edits > 0)  # not the word itself
        for j in floored:
            for k in (bounds[j] + np.flatnonzero(close[bounds[j] : bounds[j + 1]])).tolist():
                close[k] = _share_a_trigram(words[asked[j]], others[k])
        asker, ids, edits = asker[close], ids[close], edits[close]
        best = np.lexsort((ids, -self.fields["title"].df[ids], edits, asker))  # each query word's together
        bounds = np.searchsorted(asker, np.arange(len(asked) + 1)).tolist()  # asker is still ascending
        for j, i in enumerate(asked):
            chosen = best[bounds[j] : bounds[j + 1]][:limit]
            near[i] = list(zip(ids[chosen].tolist(), edits[chosen].tolist(), strict=True))
        return near

    def _deletion_table(self) -> DeletionTable:
        """The title words' deletion neighbourhoods, made at the first sync or typo'd word and kept (off if large)."""
        if self._deletions is None:
            if np.count_nonzero(self._tri_len) > DeletionTable.MOST_WORDS:
                self._deletions = DeletionTable.off()
            else:
                title = np.flatnonzero(self._tri_len)
                self._deletions = DeletionTable.of(title, self._vocab.words_of(title))
        return self._deletions

    def _near_candidates(self, word: str) -> np.ndarray:
        """Title words (ids, ascending) that may be within :func:`max_typos` edits of ``word``, by the trigrams they share."""
        typos, ours = max_typos(word), min(len(word), _TRI_WIDTH)
        keys = _word_trigrams(word)
        at = np.minimum(np.searchsorted(self._tri_keys, keys), len(self._tri_keys) - 1)
        at = at[self._tri_keys[at] == keys]
        lo, hi = self._tri_ptr[at].tolist(), self._tri_ptr[at + 1].tolist()
        hits: np.ndarray = np.concatenate(
            [self._tri_words[a:b] for a, b in zip(lo, hi, strict=True)] or [np.zeros(0, np.int32)]
        )
        # a word more than ``typos`` characters longer or shorter is too far: drop it before counting
        lengths = self._tri_len[hits]
        hits = hits[(lengths >= max(ours - typos, 0)) & (lengths <= ours + typos)]
        if not len(hits):
            return hits
        # then each word's trigrams in common are one run (np.unique's steps, without its overhead); a trigram's
        # words are ascending, so the hits are a few sorted runs, which timsort merges (numpy's default sort took
        # 5-14x as long on them)
        hits.sort(kind="stable")
        starts = np.flatnonzero(np.concatenate(([True], hits[1:] != hits[:-1])))
        ids, shared = hits[starts], np.diff(starts, append=len(hits))
        most = 4 * typos  # trigrams of the word the typos destroy at most: the bound for any word, checked first
        enough = shared >= max(1, ours - most)
        ids, shared = ids[enough], shared[enough]
        # Of the word's trigrams, an insertion destroys at most two, a deletion or substitution three, a
        # transposition four, and as many of the title word's (the other way round for insertions and deletions);
        # all others are in both words, and shared counts the title word's that are the word's.  A length apart
        # is an insertion or deletion for certain: a 9-letter word, two typos allowed, would otherwise need a
        # single trigram in common, which thousands of words have.
        theirs = self._tri_len[ids].astype(np.int64)
        inserted, deleted = np.maximum(theirs - ours, 0), np.maximum(ours - theirs, 0)  # at least, to match lengths
        kept = np.maximum(ours - (most - 2 * inserted - deleted), theirs - (most - inserted - 2 * deleted))
        uncut = (theirs < _TRI_WIDTH) & (ours < _TRI_WIDTH)  # a word cut short ends in a trigram it lacks
        found: np.ndarray = ids[~uncut | (shared >= kept)]
        return found

    def postings(self, field: str, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self.fields[field].postings(word_id)

    def title_places(self, word_id: int) -> np.ndarray | None:
        """Where each of the word's title rows (:meth:`postings`) is among its abstract rows (int32; -1: not
        there), while both fields' postings are held decoded; else None."""
        places = self._places()
        if places is None:
            return None
        titles = self._title_places[0]
        assert titles is not None, "set by _places"
        lo, hi = titles.span(word_id)
        return places[lo:hi]

    def _places(self) -> np.ndarray | None:
        """:meth:`title_places` of every title posting, found once after the postings change, with both
        fields' postings decoded if small (at 10k papers: 16 ms, 6 to find the places; 4 bytes a title posting)."""
        title, abstract = self.fields["title"].decoded(), self.fields["abstract"].decoded()
        if title is None or abstract is None:
            return None
        held_title, held_abstract, places = self._title_places
        if held_title is not title or held_abstract is not abstract:
            places = title.places_in(abstract, len(self))
            self._title_places = title, abstract, places
        return places
