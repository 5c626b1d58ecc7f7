"""Texts left in their source files: where each is (found where a file is parsed), read back when used.

A library is always opened from its files (``load`` hashes them and reuses its caches only for
unchanged ones), and most abstracts are byte for byte a stretch of the file they came from (a
dump's abstract is one line).  So the store need not hold a second copy of them: a record's
abstract can be a reference, the byte offset of its UTF-8 in its file (:func:`find_spans`, in the
worker that parsed the file), and is read back with ``pread`` for the rows asked
(:func:`read_spans`).

Exact by construction: a reference is kept only where the file's bytes there are exactly the
parsed text's UTF-8 (any text the parser changed, JSON-escaped, unwrapped or repaired, is kept
as text), with the CRC-32 of those bytes.  A file is referenced only when settled (modified more
than :data:`SETTLED_NS` before it was read, as git's index does for racy files).  A read checks
that the file still has the size, modification time and inode it had then; where it does not
(touched, copied back, or changed), and for the few rows of a search result always, each text
read is checked against its CRC-32: a file whose texts changed is an error
(:class:`SourceChanged`) telling the user to load the library again, never wrong text.
"""

from __future__ import annotations

import io
import mmap
import os
import time
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pyarrow as pa

__all__ = ["SETTLED_NS", "FileSpans", "SourceChanged", "SourceFile", "file_signature", "find_spans", "read_spans"]

# A file modified this recently when read is not referenced: a second change within its mtime's
# tick would keep size and mtime (git's "racy" files); store.file_hash remembers hashes by the same rule.
SETTLED_NS = 2_000_000_000
# Texts shorter than this stay text: a reference costs ~16 bytes of store, about what they compress to.
_MIN_BYTES = 24
# Where a record's text is looked for: from the start of its record's line to the next record's,
# or this far when the next record starts elsewhere (a miss never scans the rest of the file).
_WINDOW = 1 << 16
_PROBE = 32  # the text's first bytes are looked for (a short find is ~20x faster), then the whole compared
# A read of at most this many spans of a file (a search result's) checks each against its CRC-32 always.
_FEW_SPANS = 32
_DENSE = 4  # spans of over a quarter of a file are read through a memory map of it


class SourceFile(NamedTuple):
    """A file texts are read from, as it was when they were found in it."""

    path: str
    size: int
    mtime_ns: int
    inode: int


class SourceChanged(ValueError):
    """A file the library's texts are read from changed since the library was loaded."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(
            f"{path} {why} since the library was loaded, so its papers' abstracts can no longer be read "
            "from it; load the library again (paper_widgets.load(...)) to read the file anew"
        )
        self.path = path


@dataclass(frozen=True, slots=True)
class FileSpans:
    """Where the texts of a column are in ``file``: each row's byte offset (-1 when it is not there)
    and the CRC-32 of its bytes."""

    file: SourceFile
    starts: np.ndarray  # int64
    checksums: np.ndarray  # uint32


def file_signature(stat: os.stat_result) -> tuple[int, int, int]:
    """What tells a file changed without reading it (size, mtime, inode), as git's index does."""
    return stat.st_size, stat.st_mtime_ns, stat.st_ino


def find_spans(path: Path, texts: pa.LargeStringArray, lines: np.ndarray) -> FileSpans | None:
    """Where the texts of ``texts`` (one per record, the record starting at line ``lines``, 1-based)
    are in the file at ``path``; None when the file cannot be read, is not settled, or has none of them."""
    try:
        with open(path, "rb") as f:
            before = os.fstat(f.fileno())
            if time.time_ns() - before.st_mtime_ns <= SETTLED_NS:
                return None
            data = f.read()
            after = os.fstat(f.fileno())
    except OSError:
        return None
    utf16 = data[:2] in (b"\xff\xfe", b"\xfe\xff")  # a UTF-16 file holds no UTF-8 spans
    if utf16 or file_signature(before) != file_signature(after):
        return None
    n = len(texts)
    if not n or texts.buffers()[2] is None:
        return None
    starts = np.full(n, -1, np.int64)
    checksums = np.zeros(n, np.uint32)
    separator = 10 if b"\n" in data else 13  # CR-only files count lines by CR
    line_starts = np.concatenate([[0], np.flatnonzero(np.frombuffer(data, np.uint8) == separator) + 1])
    record_lines = np.clip(np.asarray(lines, np.int64), 1, len(line_starts)) - 1
    lo_at = line_starts[record_lines]
    # to the next record's line when it comes later, else a window: every miss scans a bounded stretch
    following = np.append(lo_at[1:], -1)
    hi_at = np.where(following > lo_at, following, lo_at + _WINDOW)
    ends = np.frombuffer(texts.buffers()[1], np.int64, n + 1, texts.offset * 8)
    raw = texts.buffers()[2].to_pybytes()  # bytes: slices compare with memcmp (memoryview's go item by item)
    valid = texts.is_valid().to_numpy(zero_copy_only=False) if texts.null_count else np.ones(n, bool)
    find, startswith = data.find, data.startswith
    tried = valid & (np.diff(ends) >= _MIN_BYTES)
    line_lo, resume = -1, 0  # records on one line (a JSON document's) are looked for after the one found before
    for i, a, z, lo, hi in zip(
        np.flatnonzero(tried).tolist(),
        ends[:-1][tried].tolist(),
        ends[1:][tried].tolist(),
        lo_at[tried].tolist(),
        hi_at[tried].tolist(),
        strict=True,
    ):
        if lo == line_lo:
            lo, hi = resume, max(hi, resume + _WINDOW)
        else:
            line_lo, resume = lo, lo
        text = raw[a:z]
        at = find(text[:_PROBE], lo, hi + _PROBE)
        if at < 0 or not startswith(text, at):
            at = find(text, lo, hi + len(text))  # its first bytes came earlier too: the whole text, once
        if at >= 0:
            starts[i] = at
            checksums[i] = zlib.crc32(text)
            resume = at + z - a
    if not (starts >= 0).any():
        return None
    return FileSpans(SourceFile(str(Path(path).resolve()), *file_signature(before)), starts, checksums)


def read_spans(
    files: Sequence[SourceFile], file_of: np.ndarray, starts: np.ndarray, lengths: np.ndarray, checksums: np.ndarray
) -> pa.Array:
    """The texts at ``starts`` (``lengths`` bytes, CRC-32 ``checksums``) in ``files[file_of]``, in that
    order, as an Arrow ``large_string`` array; :class:`SourceChanged` when a file's texts are not
    those the spans were found for."""
    file_of, starts, lengths = (np.asarray(a, np.int64) for a in (file_of, starts, lengths))
    by_file = np.argsort(file_of, kind="stable")  # each file opened once, its spans read in one go
    bounds = np.flatnonzero(np.diff(file_of[by_file])) + 1
    pieces = []
    for part in np.split(by_file, bounds):  # the rows of one file
        if len(part):
            pieces.append(_file_bytes(files[int(file_of[part[0]])], starts[part], lengths[part], checksums[part]))
    offsets = np.zeros(len(starts) + 1, np.int64)
    np.cumsum(lengths[by_file], out=offsets[1:])
    text = np.concatenate(pieces) if pieces else np.zeros(0, np.uint8)
    strings = pa.LargeStringArray.from_buffers(len(starts), pa.py_buffer(offsets), pa.py_buffer(text))
    try:
        strings.validate(full=True)
    except pa.ArrowInvalid as error:  # bytes that are no longer UTF-8: the file changed within its signature
        raise SourceChanged(files[int(file_of[by_file[0]])].path, "changed") from error
    if np.array_equal(by_file, np.arange(len(by_file))):
        return strings
    places = np.empty(len(by_file), np.int64)
    places[by_file] = np.arange(len(by_file))
    return strings.take(pa.array(places))


def _file_bytes(file: SourceFile, starts: np.ndarray, lengths: np.ndarray, checksums: np.ndarray) -> np.ndarray:
    """The bytes of the spans of ``file`` (``starts``, ``lengths``) one after the other; :class:`SourceChanged`
    when the file is gone, or its bytes there are not those found (checked by ``checksums`` for a
    few spans, or when the file's signature is not the one recorded)."""
    try:
        opened = open(file.path, "rb", buffering=0)  # noqa: SIM115  # closed by the with below
    except OSError as error:
        raise SourceChanged(file.path, f"could not be opened ({error.strerror or error})") from error
    with opened:
        unchanged = file_signature(os.fstat(opened.fileno())) == (file.size, file.mtime_ns, file.inode)
        # Most of a file (every row for df): the file mapped, each page faulted in once.  A few spans
        # of many files (a slice of rows being indexed): one pread a span (~1 us; mapping the file
        # cost more in page faults, per read, than the copies), or a seek and a read without pread.
        spans = zip(starts.tolist(), lengths.tolist(), strict=True)
        if _DENSE * int(lengths.sum()) > file.size and 0 < file.size == os.fstat(opened.fileno()).st_size:
            with mmap.mmap(opened.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
                pieces = [mapped[start : start + length] for start, length in spans]
        elif hasattr(os, "pread"):
            fd = opened.fileno()
            pieces = [os.pread(fd, length, start) for start, length in spans]
        else:
            pieces = [_seek_read(opened, start, length) for start, length in spans]
    text = np.frombuffer(b"".join(pieces), np.uint8)
    if len(text) != int(lengths.sum()):  # a span beyond the end of the file
        raise SourceChanged(file.path, "was truncated")
    if not unchanged or len(starts) <= _FEW_SPANS:  # touched, copied back or changed; or a search result
        _check(file, text, lengths, checksums)
    return text


def _seek_read(opened: io.FileIO, start: int, length: int) -> bytes:
    """``length`` bytes of ``opened`` from ``start`` (fewer at its end: the caller checks)."""
    opened.seek(start)
    return opened.read(length) or b""


def _check(file: SourceFile, text: np.ndarray, lengths: np.ndarray, checksums: np.ndarray) -> None:
    """:class:`SourceChanged` unless each of the texts one after the other in ``text`` has its CRC-32."""
    at = 0
    for length, checksum in zip(lengths.tolist(), checksums.tolist(), strict=True):
        if zlib.crc32(text[at : at + length].data) != checksum:
            raise SourceChanged(file.path, "changed")
        at += length
