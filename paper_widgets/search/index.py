"""Search stage, index half: an inverted index over the folded words of titles and abstracts.

Texts are cut into folded words by :mod:`paper_widgets.search.tokens` (a hyphenated token such
as ``Multi-Task`` also yields the joined word ``multitask``, so ``AdaMerging``-style names and
``multitask`` match either spelling), a chunk of rows at a time with numpy.  Postings are CSR
numpy arrays per field — word id → ascending row numbers (int32) and term frequencies (uint8) —
about 5 bytes per distinct word of a paper.  Rows added later become a new segment; small
segments are merged into their neighbour (like an LSM tree), so extending never rebuilds the
whole index and gives exactly the postings of a full build.

Two vocabulary indexes sit beside the postings: the sorted vocabulary for completing the word
being typed, and a character-trigram index over the title vocabulary for finding the words a
typo'd query word was meant to be (the candidates are then checked with rapidfuzz).
"""

from __future__ import annotations

import bisect
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import OSA

from paper_widgets.data.merge import fold_titles
from paper_widgets.search.tokens import tokenise

__all__ = ["FIELDS", "Progress", "SearchIndex", "max_typos", "row_hashes"]

Progress = Callable[[int], None]  # told how many more rows of a field were tokenised (each field counts once)

FIELDS = ("title", "abstract")
_CHUNK = 20_000  # rows tokenised at once: bounds the transient per-byte and per-word arrays
_MERGE_BLOCK = 1 << 22  # postings moved per step while merging
_MERGE_RATIO = 4  # merge the newest segment into its neighbour once it is this close in size
_NAME_WORDS = 4  # a title head before ":" of at most this many words is a short name
_TRI_WIDTH = 32  # words are cut to this many characters for trigrams
_SHIFT = np.int64(21)  # bits per code point in a packed trigram


def max_typos(word: str) -> int:
    """Edits tolerated in a query word: none below 4 characters, one up to 7, then two."""
    return 0 if len(word) < 4 else 1 if len(word) < 8 else 2


def row_hashes(df: pd.DataFrame) -> np.ndarray:
    """A uint64 fingerprint of each row's indexed text, to tell appended rows from changed ones."""
    # categorize=False: the same hashes, without first deduplicating texts that are nearly all distinct
    hashes: np.ndarray = pd.util.hash_pandas_object(df[list(FIELDS)].fillna(""), index=False, categorize=False)
    return np.asarray(hashes, np.uint64)


@dataclass
class _Segment:
    """Postings of one field for a run of rows: word id → (rows, term frequencies), CSR."""

    ptr: np.ndarray  # vocabulary size when built + 1; int32 for one chunk, int64 once merged
    rows: np.ndarray  # int32, ascending within a word
    tf: np.ndarray  # uint8, clipped at 255

    def counts(self, vocab_size: int) -> np.ndarray:
        """Rows per word id (the segment's document frequencies), padded to ``vocab_size``."""
        counts = np.zeros(vocab_size, np.int64)
        counts[: len(self.ptr) - 1] = np.diff(self.ptr)
        return counts


def _merge(segments: list[_Segment], vocab_size: int) -> _Segment:
    """One segment with the postings of ``segments`` (which cover increasing row ranges)."""
    ptr = np.zeros(vocab_size + 1, np.int64)
    for seg in segments:  # one vocabulary-sized array, however many segments
        ptr[1 : len(seg.ptr)] += np.diff(seg.ptr)
    np.cumsum(ptr, out=ptr)
    rows = np.empty(int(ptr[-1]), np.int32)
    tf = np.empty(int(ptr[-1]), np.uint8)
    start = ptr[:-1].copy()  # where each word's postings from the next segment go
    for seg in segments:
        for lo in range(0, len(seg.rows), _MERGE_BLOCK):  # blocks bound the int64 temporaries
            hi = min(lo + _MERGE_BLOCK, len(seg.rows))
            first = int(np.searchsorted(seg.ptr, lo, "right")) - 1  # the words with postings in the block
            last = int(np.searchsorted(seg.ptr, hi, "left"))
            in_block = np.diff(np.clip(seg.ptr[first : last + 1], lo, hi))
            word = np.repeat(np.arange(first, last), in_block)
            dest = start[word] + (np.arange(lo, hi) - seg.ptr[word])
            rows[dest] = seg.rows[lo:hi]
            tf[dest] = seg.tf[lo:hi]
        start[: len(seg.ptr) - 1] += np.diff(seg.ptr)
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

    def length_norms(self, k1: float, b: float) -> np.ndarray:
        """BM25's length normalisation ``k1 * (1 - b + b * length / avg_length)`` of every row.

        Computed once per size of the field, not for every posting list of every query.
        """
        key = (k1, b, len(self.lengths))
        cached = self.__dict__.get("_norms")
        if cached is None or cached[0] != key:
            cached = self._norms = (key, k1 * (1 - b + b * self.lengths / np.float32(self.avg_length)))
        norms: np.ndarray = cached[1]
        return norms

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

    Build it with ``SearchIndex(df)``; :meth:`extend` appends rows.  :meth:`to_arrays` and
    :meth:`from_arrays` turn it into plain numpy arrays and back, for a cache that cannot run code.
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
        self._sorted: list[str] = []  # vocabulary in code-point order, for prefix completion
        self._sorted_ids = np.zeros(0, np.int64)
        self._tri_keys = np.zeros(0, np.int64)  # sorted packed trigrams of title words
        self._tri_words = np.zeros(0, np.int64)  # word id of each entry of _tri_keys
        self._in_tri = np.zeros(0, bool)
        self._served: weakref.ref[pd.DataFrame] | None = None  # the frame last synced with

    def to_arrays(self) -> dict[str, np.ndarray]:
        """Every array of the index by name (no object arrays): what :meth:`from_arrays` takes back."""
        arrays: dict[str, np.ndarray] = {
            "titles": np.frombuffer(self._titles, np.uint8),
            "title_ptr": self._title_ptr,
            "name_len": self._name_len,
            "hashes": self.hashes,
            # folded words never contain whitespace, so a newline separates them
            "words": np.frombuffer("\n".join(self._words).encode("utf-8", "surrogatepass"), np.uint8),
            "sorted_ids": self._sorted_ids,
            "tri_keys": self._tri_keys,
            "tri_words": self._tri_words,
            "in_tri": self._in_tri,
        }
        for name, fld in self.fields.items():
            arrays[f"{name}.df"], arrays[f"{name}.lengths"] = fld.df, fld.lengths
            arrays[f"{name}.sizes"] = np.array(fld.sizes, np.int64)
            for i, seg in enumerate(fld.segments):
                arrays[f"{name}.{i}.ptr"], arrays[f"{name}.{i}.rows"], arrays[f"{name}.{i}.tf"] = (
                    seg.ptr,
                    seg.rows,
                    seg.tf,
                )
        return arrays

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> SearchIndex:
        """The index :meth:`to_arrays` took apart (KeyError/ValueError when ``arrays`` are not one)."""
        index = cls()
        index._titles = arrays["titles"].tobytes()
        index._title_ptr, index._name_len = arrays["title_ptr"], arrays["name_len"]
        index.hashes = arrays["hashes"]
        text = arrays["words"].tobytes().decode("utf-8", "surrogatepass")
        index._words = text.split("\n") if text else []
        index._ids = dict(zip(index._words, range(len(index._words)), strict=True))
        index._sorted_ids = arrays["sorted_ids"]
        index._sorted = list(map(index._words.__getitem__, index._sorted_ids.tolist()))
        index._tri_keys, index._tri_words, index._in_tri = arrays["tri_keys"], arrays["tri_words"], arrays["in_tri"]
        for name, fld in index.fields.items():
            fld.df, fld.lengths = arrays[f"{name}.df"], arrays[f"{name}.lengths"]
            fld.sizes = arrays[f"{name}.sizes"].tolist()
            fld.segments = [
                _Segment(arrays[f"{name}.{i}.ptr"], arrays[f"{name}.{i}.rows"], arrays[f"{name}.{i}.tf"])
                for i in range(len(fld.sizes))
            ]
            fld.avg_length = max(float(fld.lengths.mean()), 1.0) if len(fld.lengths) else 1.0
        if not all(len(f.lengths) == len(index.hashes) == len(index._title_ptr) - 1 for f in index.fields.values()):
            raise ValueError("the arrays do not make one index: their row counts differ")
        return index

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
        hashes = row_hashes(df) if hashes is None else hashes
        n = len(self)
        if n > len(df) or not np.array_equal(self.hashes, hashes[:n]):
            self._reset()
            n = 0
        if n < len(df):
            self.extend(df.iloc[n:], hashes[n:], progress)
        self._served = weakref.ref(df)

    def extend(self, df: pd.DataFrame, hashes: np.ndarray | None = None, progress: Progress | None = None) -> None:
        """Index ``df``'s rows as the rows following those already indexed.

        ``progress`` is called with the rows done after each chunk of each field (``2 * len(df)`` in all).
        """
        hashes = row_hashes(df) if hashes is None else hashes
        if not len(df):
            return
        first = len(self)
        known = self.vocab_size
        for name in FIELDS:
            texts = df[name].fillna("").astype("str").tolist()
            chunks = []
            for i in range(0, len(texts), _CHUNK):
                chunks.append(self._tokenise(texts[i : i + _CHUNK], first + i))
                if progress is not None:
                    progress(min(_CHUNK, len(texts) - i))
            self.fields[name].add([c[0] for c in chunks], [c[1] for c in chunks], self.vocab_size)
        for field in self.fields.values():  # words first seen in the second field
            if len(field.df) < self.vocab_size:
                field.df = np.concatenate([field.df, np.zeros(self.vocab_size - len(field.df), np.int64)])
        self.hashes = np.concatenate([self.hashes, hashes])
        self._add_titles(df["title"])
        self._index_vocabulary(known)

    # -- building -------------------------------------------------------------------------

    def _word_ids(self, words: list[str]) -> list[int]:
        """Ids of ``words``, new ones numbered in order (a C-level map: most words of a chunk are known)."""
        ids: list[int | None] = list(map(self._ids.get, words))
        for i in [i for i, wid in enumerate(ids) if wid is None]:  # ``words`` are distinct
            ids[i] = self._ids[words[i]] = len(self._words)
            self._words.append(words[i])
        return ids  # type: ignore[return-value]  # every None was replaced above

    def _tokenise(self, texts: list[str], first_row: int) -> tuple[_Segment, np.ndarray]:
        """The postings of ``texts`` (rows ``first_row``…) and their lengths in words."""
        tokens = tokenise(texts)
        ids = np.array(self._word_ids(tokens.words), np.int64)
        word, row = ids[tokens.word], tokens.row
        lengths = np.bincount(row, minlength=len(texts)).astype(np.int32)
        pairs, tf = np.unique((word << 32) | row, return_counts=True)
        word = pairs >> 32
        ptr = np.zeros(self.vocab_size + 1, np.int32)  # a chunk has far fewer postings than 2**31
        np.cumsum(np.bincount(word, minlength=self.vocab_size), out=ptr[1:])
        rows = (pairs & 0xFFFFFFFF).astype(np.int32) + np.int32(first_row)
        return _Segment(ptr, rows, np.minimum(tf, 255).astype(np.uint8)), lengths

    def _add_titles(self, titles: pd.Series) -> None:
        titles = titles.fillna("").astype("str")
        # fold turns the colon into a space, so the folded title is the folded head, a space, the folded tail
        folded = [t.encode() for t in fold_titles(titles).tolist()]
        named = titles.str.contains(":", regex=False).to_numpy(bool)
        heads = fold_titles(pd.Series([t[: t.index(":")] for t in titles[named]], dtype="str")).tolist()
        name_len = np.zeros(len(titles), np.int32)
        name_len[named] = [len(h.encode()) if h.count(" ") < _NAME_WORDS else 0 for h in heads]
        lengths = np.fromiter(map(len, folded), np.int64, len(folded))
        self._name_len = np.concatenate([self._name_len, name_len])
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

    def word(self, word_id: int) -> str:
        """The folded word with id ``word_id``."""
        return self._words[word_id]

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
        found: list[int] = ids.tolist()
        return found

    def _trigram_counts(self) -> np.ndarray:
        """Trigrams of each word in the trigram index: its length, cut to ``_TRI_WIDTH`` (cached)."""
        cached = self.__dict__.get("_tri_counts")
        if cached is None or cached[0] != len(self._tri_words):
            cached = self._tri_counts = (len(self._tri_words), np.bincount(self._tri_words, minlength=self.vocab_size))
        return cached[1]

    def near_words(self, word: str, limit: int) -> list[tuple[int, int]]:
        """Title-vocabulary words within :func:`max_typos` edits of ``word``: (word id, edits), closest first."""
        typos = max_typos(word)
        if not typos or not len(self._tri_keys):
            return []
        keys = np.unique(_trigrams([word])[0])
        lo = np.searchsorted(self._tri_keys, keys, "left")
        hi = np.searchsorted(self._tri_keys, keys, "right")
        hits = np.concatenate([self._tri_words[a:b] for a, b in zip(lo, hi, strict=False)])
        # a word more than ``typos`` characters longer or shorter is too far: drop it before counting
        hits = hits[np.abs(self._trigram_counts()[hits] - min(len(word), _TRI_WIDTH)) <= typos]
        ids, shared = np.unique(hits, return_counts=True)
        # an edit destroys at most three of the word's trigrams, a transposition four
        ids = ids[shared >= max(1, min(len(word), _TRI_WIDTH) - 4 * typos)]
        # thousands of candidates in a large library: compare them all in one rapidfuzz call
        others = list(map(self._words.__getitem__, ids.tolist()))
        edits = process.cdist([word], others, scorer=OSA.distance, score_cutoff=typos, dtype=np.int32)[0]
        close = (edits <= typos) & (np.array(others, dtype=object) != word)
        ids, edits = ids[close], edits[close]
        best = np.lexsort((ids, -self.fields["title"].df[ids], edits))[:limit]
        return list(zip(ids[best].tolist(), edits[best].tolist(), strict=False))

    def postings(self, field: str, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self.fields[field].postings(word_id)
