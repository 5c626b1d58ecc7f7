"""Search stage, typo half: the title words within one or two edits of a query word, by deletion neighbourhoods.

Two words are within ``k`` edits (optimal string alignment: insertions, deletions, substitutions,
adjacent transpositions) only if deleting at most ``k`` characters from each leaves the same
string: an insertion is undone by deleting the inserted character, a substitution or a
transposition by deleting the character at its place (one of the two swapped) from both.  So
every title word's variants with none, one or two characters deleted are hashed into one table,
and a query word's own variants find, in a few numpy steps, the few title words that may be
within its typos — where the trigram index of :mod:`paper_widgets.search.index` finds hundreds
for a word of 8-10 letters with two typos, since hardly any of its trigrams must survive them.
The candidates are checked with rapidfuzz as the trigram path's are.

A variant is hashed as a polynomial in a fixed odd number over its code points, modulo 2**64 —
for all variants of all words of one length at once, one integer matrix product with the
weights each deletion leaves each place — and keyed by the hash's high 32 bits.  Two strings
with the same key are not always equal, so a key finds a superset of the words; never fewer.

Memory: about ``1 + L + L(L - 1)/2`` entries of 6 bytes for a title word of ``L`` characters
(``L`` up to :data:`_LONGEST`; longer words go the trigram path), and a 256 KB directory.  The
37,659 title words of 10,000 synthetic papers take 10.4 MB, 1.69 million entries (made as the
index is synced, in 0.06-0.15 s CPU); at :attr:`DeletionTable.MOST_WORDS` title words (the ranks
held are 16-bit) about 18 MB.  Above that — 100,000 synthetic papers have 159,874 title
words, a million 549,337 — there is no table (nothing is made or held) and the trigram path serves
every word.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np

from paper_widgets.search.tokens import ranges

__all__ = ["DeletionTable"]

_LONGEST = 16  # characters of the longest title word held: a word has ~L²/2 variants
_BASE = np.uint64(0x9E3779B97F4A7C15)  # odd: the polynomial's powers never vanish modulo 2**64
_HIGH = np.uint64(32)
_GROUP_BITS = 16
_GROUP_SHIFT = np.uint32(32 - _GROUP_BITS)


def _weights(length: int, width: int) -> np.ndarray:
    """What each place of a word of ``length`` characters counts for in the hash of each of its variants
    (uint64, a row per variant: the word itself, then each one-character deletion, then each two-character
    one): the power of the base for its place in the variant, 0 where it is deleted and past the word's
    end up to ``width`` places."""
    powers = np.cumprod(np.full(length, _BASE, np.uint64))  # base**1 .. base**length, wrapping modulo 2**64
    first, second = np.triu_indices(length, 1)
    none = np.array([length])  # a deleted "place" past the end: nothing deleted
    gone = np.stack(
        [
            np.concatenate([none, np.arange(length), first]),
            np.concatenate([none, np.full(length, length), second]),
        ],
        axis=1,
    )
    places = np.arange(length)
    before = (places > gone[:, :1]).astype(np.int64) + (places > gone[:, 1:])  # deleted places before each place
    weights = np.zeros((len(gone), width), np.uint64)
    weights[:, :length] = np.where((places == gone[:, :1]) | (places == gone[:, 1:]), 0, powers[places - before])
    return weights


def _code_points(words: list[str]) -> np.ndarray:
    """The code points of ``words`` (all of one length), back to back (uint64)."""
    points = np.frombuffer("".join(words).encode("utf-32-le", "surrogatepass"), np.uint32)
    return points.astype(np.uint64)


def _keys(hashes: np.ndarray) -> np.ndarray:
    """The table's keys of variants' ``hashes``: their high 32 bits, the best mixed."""
    keys: np.ndarray = (hashes >> _HIGH).astype(np.uint32)
    return keys


class DeletionTable:
    """The keys of every held title word's variants (uint32) and the word each is of, as its rank (uint16) in
    ``ids`` — the title words' ids in the order they were added — grouped by the key's top 16 bits, where
    each group starts in a directory: a lookup reads a group or two of cache lines, independent of each
    other, where bisecting the keys waited for a dozen reads one after the other (4x as long, caches cold)."""

    MOST_WORDS: ClassVar[int] = 1 << 16  # title words held at most (ranks are uint16): ~18 MB

    def __init__(self, keys: np.ndarray, ranks: np.ndarray, ids: np.ndarray, longest: int) -> None:
        self.keys, self.ranks, self.ids = keys, ranks, ids
        self.longest = longest  # characters of the longest word held; 0: the table is off
        self._starts = np.zeros((1 << _GROUP_BITS) + 1, np.uint32)  # where each group of keys starts, and the end
        np.cumsum(np.bincount(keys >> _GROUP_SHIFT, minlength=1 << _GROUP_BITS), out=self._starts[1:])
        # each group's start and end side by side: one read for both
        self._bounds = np.lib.stride_tricks.sliding_window_view(self._starts, 2)
        # the weights of each length, with zeros for the places up to the longest: any word's fit any other's
        self._weights = {length: _weights(length, longest) for length in range(1, longest + 1)}

    @classmethod
    def off(cls) -> DeletionTable:
        """A table that holds no word: every word goes the trigram path."""
        return cls(np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.int32), 0)

    @classmethod
    def of(cls, ids: np.ndarray, words: list[str]) -> DeletionTable:
        """The table of title words ``words`` with ids ``ids`` (off if they are more than it holds)."""
        empty = cls(np.zeros(0, np.uint32), np.zeros(0, np.uint16), np.zeros(0, np.int32), _LONGEST)
        return empty.added(ids, words, len(ids))

    def added(self, ids: np.ndarray, words: list[str], title_words: int) -> DeletionTable:
        """This table with title words ``words`` (ids ``ids``, new to it) added, when the title vocabulary
        then has ``title_words`` words; off once they are more than it holds."""
        if not self.longest or title_words > self.MOST_WORDS:
            return DeletionTable.off()
        lengths = np.fromiter(map(len, words), np.int64, len(words))
        keys, ranks = [np.zeros(0, np.uint32)], [np.zeros(0, np.uint16)]
        for length in np.unique(lengths[lengths <= self.longest]).tolist():
            which = np.flatnonzero(lengths == length)
            points = _code_points([words[i] for i in which.tolist()]).reshape(len(which), length)
            weights = self._weights[length][:, :length]
            keys.append(_keys(points @ weights.T).reshape(-1))
            ranks.append(np.repeat((len(self.ids) + which).astype(np.uint16), len(weights)))
        key, rank = np.concatenate(keys), np.concatenate(ranks)
        order = np.argsort((key >> _GROUP_SHIFT).astype(np.uint16), kind="stable")  # grouped: one radix pass
        key, rank = key[order], rank[order]
        if len(self.keys):  # each at the end of its group (in group order: an empty group ends where the next does)
            at = self._starts[(key >> _GROUP_SHIFT) + 1].astype(np.int64)
            key, rank = np.insert(self.keys, at, key), np.insert(self.ranks, at, rank)
        return DeletionTable(key, rank, np.append(self.ids, ids).astype(np.int32), self.longest)

    def covers(self, word: str, typos: int) -> bool:
        """Whether every title word within ``typos`` edits of ``word`` is held."""
        return len(word) + typos <= self.longest

    def candidates(self, words: list[str], typos: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """The title words one of whose variants has the key of a variant of one of ``words`` (each covered,
        with its ``typos``) with at most its ``typos`` deletions — all those within its typos, and a few
        more: (which word, title word id) of each key in common (int64, int32; a word may be found again)."""
        if not words:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        # every variant of every word hashed at once: the rows of one deletion come first
        variants = [
            self._weights[len(word)][: 1 + len(word) if allowed == 1 else None]
            for word, allowed in zip(words, typos, strict=True)
        ]
        asker = np.repeat(np.arange(len(words)), [len(rows) for rows in variants])
        padded = "".join(word.ljust(self.longest, "\0") for word in words)  # past a word's end its weights are 0
        points = _code_points([padded]).reshape(len(words), self.longest)
        asked = _keys(np.einsum("ij,ij->i", np.concatenate(variants), points[asker]))
        lo, hi = self._bounds[asked >> _GROUP_SHIFT].astype(np.int64).T
        count = hi - lo
        at = ranges(lo, count)  # the entries of each key's group
        same = self.keys[at] == np.repeat(asked, count)
        return np.repeat(asker, count)[same], self.ids[self.ranks[at[same]]]

    @property
    def nbytes(self) -> int:
        return self.keys.nbytes + self.ranks.nbytes + self.ids.nbytes + sum(w.nbytes for w in self._weights.values())
