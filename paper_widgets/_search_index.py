"""Search stage, index half: an inverted index over the folded words of titles and abstracts.

Every text is split on whitespace and each distinct raw token is folded once with
:func:`paper_widgets._text.words` (a hyphenated token such as ``Multi-Task`` also yields the
joined word ``multitask``, so ``AdaMerging``-style names and ``multitask`` match either spelling).
Postings are CSR numpy arrays per field — word id → ascending row numbers (int32) and term
frequencies (uint8) — about 5 bytes per distinct word of a paper, built a chunk of rows at a
time with pandas/numpy (a distinct raw token is folded once, never per occurrence).  Rows added
later become a new segment; small segments are merged into their neighbour (like an LSM tree), so
extending never rebuilds the whole index and gives exactly the postings of a full build.

Two vocabulary indexes sit beside the postings: the sorted vocabulary for completing the word
being typed, and a character-trigram index over the title vocabulary for finding the words a
typo'd query word was meant to be (the candidates are then checked with rapidfuzz).
"""

from __future__ import annotations

import bisect
import itertools
import weakref
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz.distance import OSA

from paper_widgets._merge import fold_titles
from paper_widgets._text import words

__all__ = ["FIELDS", "SearchIndex", "compounds", "max_typos", "row_hashes"]

FIELDS = ("title", "abstract")
_CHUNK = 50_000  # rows tokenised at once: bounds the transient per-token arrays
_SEP = "\x00"  # row separator token inside a chunk; folds to no word
_RAW_CACHE = 1_000_000  # raw token → word ids memo, cleared when it grows past this
_MERGE_BLOCK = 1 << 22  # postings moved per step while merging
_MERGE_RATIO = 4  # merge the newest segment into its neighbour once it is this close in size
_COMPOUND_PARTS = 4  # longer punctuated tokens (URLs, formulas) are not joined
_NAME_WORDS = 4  # a title head before ":" of at most this many words is a short name
_TRI_WIDTH = 32  # words are cut to this many characters for trigrams
_SHIFT = np.int64(21)  # bits per code point in a packed trigram


def max_typos(word: str) -> int:
    """Edits tolerated in a query word: none below 4 characters, one up to 7, then two."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def compounds(parts: list[str]) -> list[str]:
    """``parts`` of one whitespace-free token plus its joined runs: Multi-Task → multi, task, multitask."""
    if not 1 < len(parts) <= _COMPOUND_PARTS:
        return parts
    runs = ["".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 2, len(parts) + 1)]
    return parts + runs


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """A uint64 fingerprint of each row's indexed text, to tell appended rows from changed ones."""
    return pd.util.hash_pandas_object(df[list(FIELDS)].fillna(""), index=False).to_numpy()


@dataclass
class _Segment:
    """Postings of one field for a run of rows: word id → (rows, term frequencies), CSR."""

    ptr: np.ndarray  # int64, vocabulary size when built + 1
    rows: np.ndarray  # int32, ascending within a word
    tf: np.ndarray  # uint8, clipped at 255

    def counts(self, vocab_size: int) -> np.ndarray:
        """Rows per word id (the segment's document frequencies), padded to ``vocab_size``."""
        counts = np.zeros(vocab_size, np.int64)
        counts[: len(self.ptr) - 1] = np.diff(self.ptr)
        return counts


def _merge(segments: list[_Segment], vocab_size: int) -> _Segment:
    """One segment with the postings of ``segments`` (which cover increasing row ranges)."""
    counts = [s.counts(vocab_size) for s in segments]
    ptr = np.zeros(vocab_size + 1, np.int64)
    np.cumsum(np.sum(counts, axis=0), out=ptr[1:])
    rows = np.empty(int(ptr[-1]), np.int32)
    tf = np.empty(int(ptr[-1]), np.uint8)
    start = ptr[:-1].copy()  # where each word's postings from the next segment go
    for seg, cnt in zip(segments, counts):
        for lo in range(0, len(seg.rows), _MERGE_BLOCK):  # blocks bound the int64 temporaries
            pos = np.arange(lo, min(lo + _MERGE_BLOCK, len(seg.rows)))
            word = np.searchsorted(seg.ptr, pos, "right") - 1
            dest = start[word] + (pos - seg.ptr[word])
            rows[dest] = seg.rows[pos]
            tf[dest] = seg.tf[pos]
        start += cnt
    return _Segment(ptr, rows, tf)


class _Field:
    """The postings, document frequencies and row lengths of one text field."""

    def __init__(self) -> None:
        self.segments: list[_Segment] = []
        self.sizes: list[int] = []  # rows per segment
        self.df = np.zeros(0, np.int64)
        self.lengths = np.zeros(0, np.int32)
        self.avg_length = 1.0

    def add(self, segments: list[_Segment], lengths: list[np.ndarray], vocab_size: int) -> None:
        """Append the segments of consecutive new row chunks, then merge small neighbours."""
        new = _merge(segments, vocab_size) if len(segments) > 1 else segments[0]
        self.segments.append(new)
        self.sizes.append(sum(map(len, lengths)))
        self.lengths = np.concatenate([self.lengths, *lengths])
        self.avg_length = max(float(self.lengths.mean()), 1.0)
        df = np.zeros(vocab_size, np.int64)
        df[: len(self.df)] = self.df
        self.df = df + new.counts(vocab_size)
        while len(self.sizes) > 1 and self.sizes[-1] * _MERGE_RATIO >= self.sizes[-2]:
            self.segments[-2:] = [_merge(self.segments[-2:], vocab_size)]
            self.sizes[-2:] = [self.sizes[-2] + self.sizes[-1]]

    def postings(self, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        """Rows containing ``word_id`` (ascending) and its frequency in each."""
        parts = [
            (s.rows[s.ptr[word_id] : s.ptr[word_id + 1]], s.tf[s.ptr[word_id] : s.ptr[word_id + 1]])
            for s in self.segments
            if word_id + 1 < len(s.ptr)
        ]
        if len(parts) == 1:
            return parts[0]
        return (
            np.concatenate([p[0] for p in parts]) if parts else np.zeros(0, np.int32),
            np.concatenate([p[1] for p in parts]) if parts else np.zeros(0, np.uint8),
        )

    @property
    def nbytes(self) -> int:
        postings = sum(s.ptr.nbytes + s.rows.nbytes + s.tf.nbytes for s in self.segments)
        return postings + self.df.nbytes + self.lengths.nbytes


def _trigrams(vocab: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Packed boundary-marked character trigrams of each word, and which word each belongs to."""
    if not vocab:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    arr = np.array(vocab, dtype=f"<U{_TRI_WIDTH}")
    n = len(arr)
    lengths = np.char.str_len(arr)
    padded = np.zeros((n, _TRI_WIDTH + 2), np.int64)
    padded[:, 0] = 1  # start marker: folded words never contain control characters
    padded[:, 1:-1] = arr.view(np.uint32).reshape(n, _TRI_WIDTH)
    padded[np.arange(n), lengths + 1] = 2  # end marker
    packed = (padded[:, :-2] << (2 * _SHIFT)) | (padded[:, 1:-1] << _SHIFT) | padded[:, 2:]
    valid = np.arange(_TRI_WIDTH)[None, :] < lengths[:, None]
    return packed[valid], np.repeat(np.arange(n), lengths)


class SearchIndex:
    """Inverted index of a frame's ``title`` and ``abstract`` columns, addressed by row number.

    Build it with ``SearchIndex(df)``; :meth:`extend` appends rows.  Pickles as plain numpy
    arrays, lists and dicts, so it can be cached alongside the library.
    """

    def __init__(self, df: pd.DataFrame | None = None) -> None:
        self._reset()
        if df is not None:
            self.sync(df)

    def _reset(self) -> None:
        self.fields = {name: _Field() for name in FIELDS}
        # folded titles, UTF-8 back to back: row r is _titles[_title_ptr[r]:_title_ptr[r + 1]],
        # its short name (if any) the first _name_len[r] bytes
        self._titles = b""
        self._title_ptr = np.zeros(1, np.int64)
        self._name_len = np.zeros(0, np.int32)
        self.hashes = np.zeros(0, np.uint64)
        self._ids: dict[str, int] = {}
        self._words: list[str] = []
        self._raw: dict[str, tuple[int, ...]] = {}
        self._sorted: list[str] = []  # vocabulary in code-point order, for prefix completion
        self._sorted_ids = np.zeros(0, np.int64)
        self._tri_keys = np.zeros(0, np.int64)  # sorted packed trigrams of title words
        self._tri_words = np.zeros(0, np.int64)  # word id of each entry of _tri_keys
        self._in_tri = np.zeros(0, bool)
        self._served: weakref.ref[pd.DataFrame] | None = None  # the frame last synced with

    def __getstate__(self) -> dict[str, object]:
        return {**self.__dict__, "_served": None}  # weak references do not pickle

    def __len__(self) -> int:
        return len(self.hashes)

    @property
    def vocab_size(self) -> int:
        return len(self._words)

    @property
    def nbytes(self) -> int:
        """Approximate memory held by the index (arrays exactly, vocabulary estimated)."""
        arrays = sum(f.nbytes for f in self.fields.values()) + self.hashes.nbytes + len(self._titles)
        arrays += self._title_ptr.nbytes + self._name_len.nbytes
        arrays += self._sorted_ids.nbytes + self._tri_keys.nbytes + self._tri_words.nbytes + self._in_tri.nbytes
        # dict slot + str object per word, and a list slot in _words and in _sorted
        vocab = sum(49 + len(w) for w in self._words) + 120 * len(self._words)
        return arrays + vocab

    def sync(self, df: pd.DataFrame) -> None:
        """Bring the index up to date with ``df``, whose row numbers it uses.

        Free when ``df`` is the frame last synced and has not grown (frames are treated as
        immutable: edit a copy); rows appended since are indexed incrementally; if earlier rows
        changed or moved, the index is rebuilt.
        """
        if self._served is not None and self._served() is df and len(df) == len(self):
            return
        hashes = row_hashes(df)
        n = len(self)
        if n > len(df) or not np.array_equal(self.hashes, hashes[:n]):
            self._reset()
            n = 0
        self.extend(df.iloc[n:], hashes[n:])
        self._served = weakref.ref(df)

    def extend(self, df: pd.DataFrame, hashes: np.ndarray | None = None) -> None:
        """Index ``df``'s rows as the rows following those already indexed."""
        hashes = row_hashes(df) if hashes is None else hashes
        if not len(df):
            return
        first = len(self)
        known = self.vocab_size
        for name in FIELDS:
            texts = df[name].fillna("").astype("str").tolist()
            chunks = [self._tokenise(texts[i : i + _CHUNK], first + i) for i in range(0, len(texts), _CHUNK)]
            self.fields[name].add([c[0] for c in chunks], [c[1] for c in chunks], self.vocab_size)
        for field in self.fields.values():  # words first seen in the second field
            if len(field.df) < self.vocab_size:
                field.df = np.concatenate([field.df, np.zeros(self.vocab_size - len(field.df), np.int64)])
        self.hashes = np.concatenate([self.hashes, hashes])
        self._add_titles(df["title"])
        self._index_vocabulary(known)
        self._raw.clear()  # only worth its memory while a batch is tokenised

    # -- building -------------------------------------------------------------------------

    def _word_id(self, word: str) -> int:
        wid = self._ids.get(word)
        if wid is None:
            wid = self._ids[word] = len(self._words)
            self._words.append(word)
        return wid

    def _tokenise(self, texts: list[str], first_row: int) -> tuple[_Segment, np.ndarray]:
        """The postings of ``texts`` (rows ``first_row``…) and their lengths in words."""
        joined = f" {_SEP} ".join(texts)
        if joined.count(_SEP) != len(texts) - 1:  # a text holds the separator itself
            joined = f" {_SEP} ".join(t.replace(_SEP, " ") for t in texts)
        codes, raw = pd.factorize(np.array(joined.split(), dtype=object))
        is_sep = np.fromiter((r == _SEP for r in raw), bool, len(raw))  # not ==: numpy drops NULs
        row = np.cumsum(is_sep[codes])
        keep = ~is_sep[codes]
        codes, row = codes[keep], row[keep]
        # raw token → its folded word ids, as CSR over the distinct raw tokens of the chunk
        folded = [self._raw.get(r) for r in raw]
        new = [i for i, ids in enumerate(folded) if ids is None]
        if len(self._raw) + len(new) > _RAW_CACHE:
            self._raw.clear()
        # fold_titles is fold, vectorised for ASCII: the same words at a fraction of the time
        for i, text in zip(new, fold_titles(pd.Series(raw[new], dtype="str")).tolist()):
            folded[i] = self._raw[raw[i]] = tuple(map(self._word_id, compounds(text.split())))
        n_words = np.fromiter(map(len, folded), np.int64, len(folded))
        flat = np.fromiter(itertools.chain.from_iterable(folded), np.int64, int(n_words.sum()))
        starts = np.zeros(len(folded), np.int64)
        np.cumsum(n_words[:-1], out=starts[1:])
        per_token = n_words[codes]
        total = int(per_token.sum())
        token_start = np.repeat(starts[codes] - (np.cumsum(per_token) - per_token), per_token)
        word = flat[token_start + np.arange(total)]
        row = np.repeat(row, per_token)
        lengths = np.bincount(row, minlength=len(texts)).astype(np.int32)
        pairs, tf = np.unique((word << 32) | row, return_counts=True)
        word = pairs >> 32
        ptr = np.zeros(self.vocab_size + 1, np.int64)
        np.cumsum(np.bincount(word, minlength=self.vocab_size), out=ptr[1:])
        rows = (pairs & 0xFFFFFFFF).astype(np.int32) + np.int32(first_row)
        return _Segment(ptr, rows, np.minimum(tf, 255).astype(np.uint8)), lengths

    def _add_titles(self, titles: pd.Series) -> None:
        head, colon, tail = zip(*(t.partition(":") for t in titles.fillna("").astype("str"))) if len(titles) else ((),) * 3
        head = [h.encode() for h in fold_titles(pd.Series(head, dtype="str")).tolist()]
        tail = [t.encode() for t in fold_titles(pd.Series(tail, dtype="str")).tolist()]
        folded = [h + b" " + t if h and t else h or t for h, t in zip(head, tail)]
        lengths = np.fromiter(map(len, folded), np.int64, len(folded))
        name_len = [len(h) if c and h.count(b" ") < _NAME_WORDS else 0 for h, c in zip(head, colon)]
        self._name_len = np.concatenate([self._name_len, np.array(name_len, np.int32)])
        self._title_ptr = np.concatenate([self._title_ptr, self._title_ptr[-1] + np.cumsum(lengths)])
        self._titles += b"".join(folded)

    def _index_vocabulary(self, known: int) -> None:
        """Add words new since ``known`` to the sorted vocabulary and title words to the trigrams."""
        if self.vocab_size > known:
            new = sorted(self._words[known:])
            self._sorted = sorted(self._sorted + new)  # two sorted runs: a linear merge
            self._sorted_ids = np.fromiter(map(self._ids.__getitem__, self._sorted), np.int64, self.vocab_size)
        in_tri = np.zeros(self.vocab_size, bool)
        in_tri[: len(self._in_tri)] = self._in_tri
        fresh = np.flatnonzero((self.fields["title"].df > 0) & ~in_tri)
        if len(fresh):
            keys, owner = _trigrams([self._words[i] for i in fresh])
            keys = np.concatenate([self._tri_keys, keys])
            owners = np.concatenate([self._tri_words, fresh[owner]])
            order = np.argsort(keys, kind="stable")
            self._tri_keys, self._tri_words = keys[order], owners[order]
            in_tri[fresh] = True
        self._in_tri = in_tri

    # -- lookups --------------------------------------------------------------------------

    def titles(self, rows: Iterable[int]) -> list[str]:
        """The folded titles of ``rows``."""
        ptr, buf = self._title_ptr, self._titles
        return [buf[ptr[r] : ptr[r + 1]].decode() for r in rows]

    def short_names(self, rows: Iterable[int]) -> list[str]:
        """The folded, space-free short name before the colon of each row's title ("Rep-MTL: …" → "repmtl"), or ""."""
        ptr, buf, size = self._title_ptr, self._titles, self._name_len
        return [buf[ptr[r] : ptr[r] + size[r]].decode().replace(" ", "") for r in rows]

    def word_id(self, word: str) -> int | None:
        """The id of a folded word, or None when no indexed text contains it."""
        return self._ids.get(word)

    def in_titles(self, word_id: int) -> bool:
        return bool(self.fields["title"].df[word_id] > 0)

    def doc_freq(self, word_id: int) -> int:
        """Rows whose title or abstract contains the word (an upper bound: the sum of both)."""
        return int(self.fields["title"].df[word_id] + self.fields["abstract"].df[word_id])

    def completions(self, prefix: str, limit: int) -> list[int]:
        """Up to ``limit`` most frequent words that start with ``prefix`` (not ``prefix`` itself)."""
        lo = bisect.bisect_right(self._sorted, prefix)
        hi = bisect.bisect_left(self._sorted, prefix + "\U0010ffff", lo)
        ids = self._sorted_ids[lo:hi]
        if len(ids) > limit:
            freq = self.fields["title"].df[ids] + self.fields["abstract"].df[ids]
            ids = ids[np.argsort(-freq, kind="stable")[:limit]]
        return ids.tolist()

    def near_words(self, word: str, limit: int) -> list[tuple[int, int]]:
        """Title-vocabulary words within :func:`max_typos` edits of ``word``: (word id, edits), closest first."""
        typos = max_typos(word)
        if not typos or not len(self._tri_keys):
            return []
        keys = np.unique(_trigrams([word])[0])
        lo = np.searchsorted(self._tri_keys, keys, "left")
        hi = np.searchsorted(self._tri_keys, keys, "right")
        hits = np.concatenate([self._tri_words[a:b] for a, b in zip(lo, hi)])
        ids, shared = np.unique(hits, return_counts=True)
        # an edit destroys at most three of the word's trigrams, a transposition four
        ids = ids[shared >= max(1, min(len(word), _TRI_WIDTH) - 4 * typos)]
        found = []
        for wid in ids.tolist():
            other = self._words[wid]
            if other != word and abs(len(other) - len(word)) <= typos:
                edits = OSA.distance(word, other, score_cutoff=typos)
                if edits <= typos:
                    found.append((edits, -int(self.fields["title"].df[wid]), wid))
        return [(wid, edits) for edits, _, wid in sorted(found)[:limit]]

    def postings(self, field: str, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self.fields[field].postings(word_id)
