"""Search stage, tokeniser: the folded words of a batch of texts, as numpy arrays.

Every text is split on whitespace into tokens and each token yields ``compounds(words(token))``
(:func:`paper_widgets.data.text.words`; a hyphenated ``Multi-Task`` gives multi, task and the joined
multitask).  Doing that per token in Python costs minutes at a million abstracts, so the batch is
joined into one UTF-8 byte buffer and the ASCII tokens — nearly all of them — are lower-cased,
cut into letter/digit runs and joined into compounds with numpy.  Only tokens holding a
non-ASCII byte go through :func:`~paper_widgets.data.text.fold` one by one.  Distinct words are told
apart exactly by Arrow's hash kernel (``dictionary_encode``), which compares their bytes.

:func:`chunk_postings` is what indexing asks of a chunk: its words with 64-bit keys of their bytes
(:func:`word_keys`, for finding them in a large vocabulary) and its postings by the chunk's own
word numbers; :class:`~paper_widgets.workers.Workers` runs it in worker processes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from paper_widgets.data.text import words

__all__ = [
    "ChunkPostings",
    "Tokens",
    "WordBytes",
    "chunk_postings",
    "compounds",
    "decode_words",
    "ranges",
    "tokenise",
    "word_keys",
]

_COMPOUND_PARTS = 4  # longer punctuated tokens (URLs, formulas) are not joined
# Compound runs (first part, end part) of a token with n parts, in the order compounds() lists them.
_RUNS = {n: [(i, j) for i in range(n) for j in range(i + 2, n + 1)] for n in range(2, _COMPOUND_PARTS + 1)}
# bytes.translate tables (C speed, unlike a numpy lookup): byte classes, and ASCII lower case
_SPACE, _WORD, _OTHER, _NON_ASCII = b"\x00\x01\x02\x03"
_CLASSES = bytes(
    _SPACE
    if chr(b) in "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x00"  # str.split()'s ASCII whitespace, and NUL
    else _WORD
    if chr(b).isascii() and chr(b).isalnum()  # what fold keeps of ASCII text
    else _OTHER
    if b < 0x80
    else _NON_ASCII
    for b in range(256)
)
_LOWER = bytes(range(256)).lower()
_KEYED_BYTES = 64  # words up to this long are keyed with numpy, eight bytes a round
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_LOW_BYTES = np.array([(1 << 8 * k) - 1 for k in range(8)] + [(1 << 64) - 1], np.uint64)  # masks by byte count


def compounds(parts: list[str]) -> list[str]:
    """``parts`` of one whitespace-free token plus its joined runs: Multi-Task → multi, task, multitask."""
    if not 1 < len(parts) <= _COMPOUND_PARTS:
        return parts
    return parts + ["".join(parts[i:j]) for i, j in _RUNS[len(parts)]]


@dataclass
class Tokens:
    """Word occurrences of a batch of texts."""

    words: list[str]  # distinct words, in order of first occurrence
    word: np.ndarray  # int64 index into ``words`` of each occurrence
    row: np.ndarray  # int64 text of each occurrence
    utf8: WordBytes  # ``words`` as UTF-8
    # the first ``ascii_parts`` occurrences are the letter/digit runs of the all-ASCII tokens, in text
    # order: an ASCII text's folded words (the compounds and the words of other tokens come after)
    ascii_parts: int


@dataclass
class WordBytes:
    """Words as UTF-8 back to back: word ``i`` is ``data[ptr[i]:ptr[i + 1]]``."""

    data: np.ndarray  # uint8
    ptr: np.ndarray  # int64

    @classmethod
    def of(cls, strings: pa.Array) -> WordBytes:
        """The bytes of an Arrow binary or string array (of 32- or 64-bit offsets)."""
        offsets = (
            np.int64 if pa.types.is_large_binary(strings.type) or pa.types.is_large_string(strings.type) else np.int32
        )
        offset_buffer, data_buffer = strings.buffers()[1:3]
        ptr = np.frombuffer(offset_buffer, offsets, len(strings) + 1, strings.offset * np.dtype(offsets).itemsize)
        data = np.frombuffer(data_buffer, np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
        return cls(data, ptr.astype(np.int64))

    @classmethod
    def of_words(cls, words: list[str]) -> WordBytes:
        """The UTF-8 of ``words`` (a lone surrogate's as ``fold`` passes it)."""
        encoded = [word.encode("utf-8", "surrogatepass") for word in words]
        ptr = np.zeros(len(words) + 1, np.int64)
        np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), out=ptr[1:])
        return cls(np.frombuffer(b"".join(encoded), np.uint8), ptr)

    def keys(self) -> np.ndarray:
        """:func:`word_keys` of the words."""
        return word_keys(self.data, self.ptr[:-1], np.diff(self.ptr))


def word_keys(data: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """A 64-bit key of each word ``data[start:start + length]``: equal words have equal keys, and
    unequal ones almost never (a caller that must tell them apart compares the bytes of equal keys).

    Eight bytes at a time for words of up to ``_KEYED_BYTES``, blake2b for the rare longer ones.
    """
    padded = np.concatenate([data, np.zeros(8, np.uint8)])
    window = np.ndarray((len(padded) - 7,), "<u8", padded, 0, (1,))  # the eight bytes from every offset
    keys: np.ndarray = lengths.astype(np.uint64) * _GOLDEN
    todo = np.flatnonzero((lengths > 0) & (lengths <= _KEYED_BYTES))
    for offset in range(0, _KEYED_BYTES, 8):
        todo = todo[lengths[todo] > offset]
        piece = window[starts[todo] + offset] & _LOW_BYTES[np.minimum(lengths[todo] - offset, 8)]
        keys[todo] = _mix(keys[todo] ^ piece)
    for i in np.flatnonzero(lengths > _KEYED_BYTES).tolist():
        word = data[starts[i] : starts[i] + lengths[i]].tobytes()
        keys[i] = int.from_bytes(hashlib.blake2b(word, digest_size=8).digest(), "little")
    return keys


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: every bit of ``z`` (uint64) moves about half the bits of the result."""
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    mixed: np.ndarray = z ^ (z >> np.uint64(31))
    return mixed


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Starts and ends of the runs of True in ``mask``."""
    edges = np.flatnonzero(mask[1:] != mask[:-1]) + 1
    if mask[:1].any():
        edges = np.concatenate([[0], edges])
    if mask[-1:].any():
        edges = np.concatenate([edges, [len(mask)]])
    return edges[0::2], edges[1::2]


def ranges(starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """Every index of the ranges ``[start, start + length)``, range after range (int64)."""
    ends = np.cumsum(lengths)
    return np.repeat(starts.astype(np.int64) - (ends - lengths), lengths) + np.arange(int(ends[-1]) if len(ends) else 0)


def _token_numbers(classes: np.ndarray, part_start: np.ndarray, part_end: np.ndarray) -> np.ndarray:
    """Which token each part belongs to, numbered from 0: a new token begins after whitespace."""
    gap_start, gap_len = part_end[:-1], part_start[1:] - part_end[:-1]
    spaced = classes[gap_start] == _SPACE  # most gaps are one byte: a space or a hyphen
    long = np.flatnonzero(gap_len > 1)
    if len(long):
        in_gap = classes[ranges(gap_start[long], gap_len[long])] == _SPACE
        spaced[long] = np.logical_or.reduceat(in_gap, np.cumsum(gap_len[long]) - gap_len[long])
    token = np.zeros(len(part_start), np.int64)
    np.cumsum(spaced, out=token[1:])
    return token


def _compounds(part_token: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Joined runs of the tokens with 2–4 parts: first part, number of parts, the token's last part, place.

    The place (1, 2, …) orders a token's runs after its last part, as :func:`compounds` lists them.
    """
    n_parts = np.bincount(part_token)
    first_part = np.cumsum(n_parts) - n_parts
    runs = [
        (first_part[tokens] + i, np.full(len(tokens), j - i), first_part[tokens] + n - 1, np.full(len(tokens), 1 + k))
        for n, pairs in _RUNS.items()
        for tokens in [np.flatnonzero(n_parts == n)]
        for k, (i, j) in enumerate(pairs)
    ]
    first, count, last, place = (np.concatenate(column).astype(np.int64) for column in zip(*runs, strict=False))
    return first, count, last, place


def _unicode_words(
    data: bytes, starts: np.ndarray, ends: np.ndarray
) -> tuple[bytes, np.ndarray, np.ndarray, np.ndarray]:
    """Words of the tokens ``data[start:end]``, folded in Python: their bytes, lengths, tokens and places."""
    cache: dict[bytes, list[bytes]] = {}
    found: list[bytes] = []
    token: list[int] = []
    place: list[int] = []
    for t, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=False)):
        chunk = data[start:end]
        folded = cache.get(chunk)
        if folded is None:  # Unicode whitespace (a no-break space) splits the token, as str.split() does
            text = chunk.decode("utf-8", "surrogatepass")
            folded = cache[chunk] = [w.encode() for piece in text.split() for w in compounds(words(piece))]
        found += folded
        token += [t] * len(folded)
        place += range(len(folded))
    length = np.fromiter(map(len, found), np.int64, len(found))
    return b"".join(found), length, np.array(token, np.int64), np.array(place, np.int64)


def _first_occurrence_order(codes: np.ndarray, position: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Renumber ``codes`` by first ``position``; also the old code of each new one."""
    first = np.full(int(codes.max(initial=-1)) + 1, np.iinfo(np.int64).max)
    np.minimum.at(first, codes, position)
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    return rank[codes], order


def decode_words(strings: pa.Array) -> list[str]:
    """The UTF-8 ``strings`` as Python strings (a lone surrogate's, as ``fold`` passes it, decoded too)."""
    try:
        return strings.cast(pa.large_string()).to_pylist()  # type: ignore[no-any-return]
    except pa.ArrowInvalid:
        return [word.decode("utf-8", "surrogatepass") for word in strings.to_pylist()]


def _unicode_tokens(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Byte ranges (start, end) of the whitespace-separated tokens holding a non-ASCII byte."""
    spaces = np.flatnonzero(classes == _SPACE)
    before = np.unique(np.searchsorted(spaces, np.flatnonzero(classes == _NON_ASCII)))  # spaces before each
    starts = np.concatenate([[0], spaces + 1])[before]
    ends = np.concatenate([spaces, [len(classes)]])[before]
    return starts, ends


def tokenise(texts: list[str]) -> Tokens:
    """The words of every whitespace-separated token of every text, as ``compounds(words(token))``."""
    # the arrays as long as the texts' bytes or words are dropped once used: they make a worker's peak
    encoded = [t.encode("utf-8", "surrogatepass") for t in texts]
    text_start = np.cumsum([0] + [len(e) + 1 for e in encoded[:-1]])
    data = b"\n".join(encoded)
    del encoded
    classes = np.frombuffer(data.translate(_CLASSES), np.uint8)
    in_parts = classes == _WORD
    part_start, part_end = _runs(in_parts)
    uni_start, uni_end = (np.zeros(0, np.int64),) * 2 if data.isascii() else _unicode_tokens(classes)
    if len(uni_start):  # the parts of a token with a non-ASCII byte come from fold instead
        keep = np.searchsorted(uni_start, part_start, "right") == np.searchsorted(uni_end, part_start, "right")
        part_start, part_end = part_start[keep], part_end[keep]
        in_parts[ranges(uni_start, uni_end - uni_start)] = False
    part_len = part_end - part_start
    parts_per_text = np.diff(np.searchsorted(part_start, text_start), append=len(part_start))
    part_row = np.repeat(np.arange(len(texts)), parts_per_text)

    first, count, last, place = _compounds(_token_numbers(classes, part_start, part_end))
    del classes
    ends = np.concatenate([[0], np.cumsum(part_len)])
    joined_len = ends[first + count] - ends[first]
    members = ranges(first, count)  # the parts of every compound, compound after compound
    lowered = np.frombuffer(data.translate(_LOWER), np.uint8)
    joined_data = lowered[ranges(part_start[members], part_len[members])]
    folded_data, folded_len, folded_token, folded_place = _unicode_words(data, uni_start, uni_end)
    del data

    # every word back to back (parts, compounds, folded words), told apart exactly by Arrow's hash kernel
    buf = np.concatenate([lowered[in_parts], joined_data, np.frombuffer(folded_data, np.uint8)])
    del lowered, in_parts, joined_data, members
    offsets = np.zeros(len(part_len) + len(joined_len) + len(folded_len) + 1, np.int64)
    np.cumsum(np.concatenate([part_len, joined_len, folded_len]), out=offsets[1:])
    strings = pa.LargeBinaryArray.from_buffers(
        pa.large_binary(), len(offsets) - 1, [None, pa.py_buffer(offsets), pa.py_buffer(buf)]
    )
    codes = pc.dictionary_encode(strings)
    del strings, buf, offsets
    # first occurrence: by byte position of the token's word, then by place among its words
    width = int(max(place.max(initial=0), folded_place.max(initial=0))) + 1
    folded_at = uni_start[folded_token]
    position = np.concatenate([part_start * width, part_start[last] * width + place, folded_at * width + folded_place])
    word, order = _first_occurrence_order(codes.indices.to_numpy().astype(np.int64), position)
    del position
    distinct = codes.dictionary.take(pa.array(order))
    del codes
    row = np.concatenate([part_row, part_row[first], np.searchsorted(text_start, folded_at, "right") - 1])
    return Tokens(decode_words(distinct), word, row, WordBytes.of(distinct), len(part_len))


@dataclass
class ChunkPostings:
    """The postings of a chunk of texts by the chunk's own word numbers (what a worker sends back):
    word ``i`` is ``words[i]`` and occurs in texts ``rows[ptr[i]:ptr[i + 1]]`` (ascending), ``tf`` times each."""

    words: list[str]  # distinct words, in order of first occurrence
    utf8: WordBytes  # the same words as UTF-8
    keys: np.ndarray  # uint64: their word_keys
    ptr: np.ndarray  # int64
    rows: np.ndarray  # uint16 (a chunk of at most 65,536 texts) or uint32
    tf: np.ndarray  # uint8: term frequencies, clipped at 255
    lengths: np.ndarray  # int32: words in each text


def chunk_postings(texts: list[str], tokens: Tokens | None = None) -> ChunkPostings:
    """The words of ``texts`` (their :func:`tokenise`, unless given as ``tokens``) as postings grouped
    by word, rows ascending."""
    tokens = tokenise(texts) if tokens is None else tokens
    row_bits = max(len(texts) - 1, 1).bit_length()
    # one sort of (word, row) keys; 32-bit keys when they fit sort in about half the time
    key_type = np.uint32 if len(tokens.words) << row_bits <= 1 << 32 else np.uint64
    keys = tokens.word.astype(key_type) << key_type(row_bits) | tokens.row.astype(key_type)
    pairs, tf = np.unique(keys, return_counts=True)
    word = pairs >> key_type(row_bits)
    ptr = np.zeros(len(tokens.words) + 1, np.int64)
    np.cumsum(np.bincount(word, minlength=len(tokens.words)), out=ptr[1:])
    rows = (pairs & key_type((1 << row_bits) - 1)).astype(np.uint16 if len(texts) <= 1 << 16 else np.uint32)
    lengths = np.bincount(tokens.row, minlength=len(texts)).astype(np.int32)
    tf_clipped = np.minimum(tf, 255).astype(np.uint8)
    return ChunkPostings(tokens.words, tokens.utf8, tokens.utf8.keys(), ptr, rows, tf_clipped, lengths)
