"""Search stage: ranked, typo-tolerant search of a paper frame, and match spans for highlighting.

A query is folded into words (:func:`paper_widgets.data.text.words`); each word becomes a *term*
whose stand-ins come from the :class:`~paper_widgets.search.index.SearchIndex`: the word itself,
completions of the word still being typed, and title words within one or two typos.  Candidate
generation is BM25F over the postings of those words (a word's title and abstract frequencies
weighted and added before saturation, under one idf) plus an idf-weighted coverage that favours
papers matching every term, and among those the papers holding the terms together in one field.
Long posting lists (common words) are read whole only while they can still change the best
candidates (MaxScore); after that they are looked up for the candidates alone, unless so many
candidates are left that reading the lists whole costs less.  The best few hundred candidates,
and the papers holding most of the query in their title, are re-scored with rapidfuzz against
their folded titles, so an exact or near-exact title, a title being typed, a typo'd title and a
short name before the colon win without scanning every title.
An empty query lists every paper, newest first.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from pandas.api.extensions import ExtensionArray
from pandas.arrays import NumpyExtensionArray
from rapidfuzz import fuzz, process
from rapidfuzz.distance import OSA

from paper_widgets.data.text import words
from paper_widgets.search.index import SearchIndex, max_typos
from paper_widgets.search.tokens import compounds
from paper_widgets.store import shown_column
from paper_widgets.vocabulary import SORTS

try:  # a frame put together from its arrays, unchecked (pandas >= 2.3)
    from pandas.api.internals import create_dataframe_from_blocks as _frame_from_blocks
except ImportError:  # pragma: no cover - older pandas: the DataFrame constructor
    _frame_from_blocks = None
# what pandas makes of column names (str; object before pandas 3): given, not inferred at each result frame
_LABELS = pd.Index(["score"]).dtype

__all__ = ["STOP_WORDS", "SearchIndex", "column_arrays", "match_spans", "result_frame", "search", "search_rows"]

_K1, _B = 1.2, 0.75  # BM25
_FIELD_WEIGHT = {"title": 2.0, "abstract": 1.0}
_COMPLETIONS = 16  # stand-ins for the word being typed
_COMPLETION_WEIGHT = 0.8
_NEAR_WORDS = 4  # stand-ins for a word that is not a title word
_TYPO_WEIGHT = (1.0, 0.8, 0.6)  # by number of edits
_LONG_QUERY = 8  # more distinct words than this: a pasted text, matched on its rarest words only
_LONG_TERMS = 16  # at most 16: _Scores keeps a bit per term in uint16
_COMMON_ROWS = 100_000  # a stand-in in more abstracts than this is read there only for a query's rarest term
_LONG_LIST = 20_000  # postings: before reading a term's lists this long, check whether they can matter
_READ_BUDGET = 300_000  # postings read whole, after which longer lists count only for the rows found
_LOOKUP_COST = 1  # looking a row up in a list left (binary search, then scoring it) costs about a posting read whole
_READ_TOGETHER = 1 << 20  # postings read whole at once at most (the terms' arrays are ~50 bytes a posting)
_TITLED = 0.5  # share of a query's words in a title that makes it a title being typed (re-scored whatever its BM25)
# of coverage, the share counted only within a paper's best field: two topics named together in one abstract
# (or title) say more than one named in the title and the other somewhere in the abstract (Elasticsearch's
# best_fields reasoning); a title that outranks on its field weight alone no longer buries such a paper
_TOGETHER = 0.5
_STAND_INS_HELD = 3  # of one query word's stand-ins, a paper holds at most this many (for MaxScore's bounds)
_RESCORE = 120  # candidates re-scored against their titles (and as many typed titles)
# score = coverage + BM25 (normalised) + title similarity + near-exact title + short-name bonus
_W_COVERAGE, _W_BM25, _W_TITLE, _W_EXACT = 0.8, 0.3, 0.3, 0.5
_NAME_EXACT, _NAME_PREFIX = 0.4, 0.2
_SIMILAR_FLOOR = 0.85  # below: words in common by chance (WRatio scores any shared word ~0.6-0.8), not a title
_EXACT_FLOOR = 0.85  # fuzz.ratio from which a title counts as near-exact
_BOUND_SLACK = 1e-4  # float32 rounding of the scores against their bounds
_CEILING_SLACK = 1e-5  # float32 rounding of a ratio (0-1) against the WRatio a row needs
_PARTIAL_TOKEN_CEILING = 0.95 * 0.9  # the most WRatio takes of a partial token ratio
_TIE_COLUMNS = ("upvotes", "published")  # papers tied in score: the most upvoted first, then the newest
# English function words: beside other words they neither decide a match nor get highlighted
# (they still count in title similarity); a query made of them alone matches them as usual.
_STOP_TEXT = (
    "a about above after again against all am an and any are as at be because been before being below "
    "between both but by can could did do does doing down during each few for from further had has have "
    "having he her here hers him his how i if in into is it its itself just me more most my no nor not "
    "of off on once only or other our ours out over own same she should so some such than that the their "
    "theirs them then there these they this those through to too under until up very was we were what "
    "when where which while who whom why will with would you your yours"
)
STOP_WORDS = frozenset(_STOP_TEXT.split())
_BYTE_BITS = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float32)  # [byte, bit]: whether it is set
_BYTE_BITS.flags.writeable = False
_STOP_PREFIXES = frozenset(stop[:end] for stop in STOP_WORDS for end in range(1, len(stop) + 1))


@dataclass
class _Term:
    """One query word and the indexed words standing in for it: (word id, weight, search abstracts)."""

    word: str
    idf: float
    variants: list[tuple[int, float, bool]] = field(default_factory=list)
    optional: bool = False  # a word being typed that may become a stop word: missing it costs no coverage

    @property
    def weight(self) -> float:
        """What matching the term adds to a row's coverage."""
        return 0.0 if self.optional else self.idf


@dataclass
class _Query:
    words: list[str]  # every distinct folded word, in order
    partial: bool  # the last word is still being typed: complete it
    long: bool
    text: str  # every word, stop words too: what titles are compared with

    @classmethod
    def parse(cls, query: str) -> _Query:
        every = words(query)
        folded = list(dict.fromkeys(every))
        partial = bool(folded) and not query[-1].isspace()
        content = [w for w in folded if w not in STOP_WORDS]
        if partial and folded[-1] in STOP_WORDS and folded[-1] not in content:
            content.append(folded[-1])  # "fo" may become "forgetting": complete it (the word itself is dropped)
        kept = content if any(w not in STOP_WORDS for w in content) else folded
        return cls(kept, partial and kept[-1] == folded[-1], len(kept) > _LONG_QUERY, " ".join(every))

    def drops(self, word: str) -> bool:
        """Whether ``word`` (a stop word typed last) stands only for its completions, not itself."""
        return word in STOP_WORDS and any(w not in STOP_WORDS for w in self.words)


def _idf(n: int, df: int) -> float:
    return math.log1p((n - df + 0.5) / (df + 0.5))


def _terms(index: SearchIndex, query: _Query) -> list[_Term]:
    n = len(index)
    terms = []
    ids = index.word_ids(query.words)
    # a word no title holds is typo'd: its likeliest meanings, looked up for every such word at once
    held = zip(query.words, ids, strict=True)
    typod = [] if query.long else [word for word, wid in held if wid is None or not index.in_titles(wid)]
    near = dict(zip(typod, index.near_words_each(typod, _NEAR_WORDS), strict=True))
    for i, (word, wid) in enumerate(zip(query.words, ids, strict=True)):
        term = _Term(word, _idf(n, 0))
        if wid is not None and not query.drops(word):
            term.variants.append((wid, 1.0, True))
            term.idf = _idf(n, min(index.doc_freq(wid), n))
        if not query.long:
            if query.partial and i == len(query.words) - 1:
                # completions are title words: in abstracts they would touch much of a large library
                # a letter or two start thousands of words: fewer stand-ins, each with long lists, for them
                wanted = min(_COMPLETIONS, 4 * len(word))
                completions = [c for c in index.completions(word, wanted) if not query.drops(index.word(c))]
                term.variants += [(c, _COMPLETION_WEIGHT, False) for c in completions]
            term.variants += [(c, _TYPO_WEIGHT[edits], True) for c, edits in near.get(word, ())]
        if wid is None and term.variants:  # as rare as its likeliest stand-in, not as a word found nowhere
            term.idf = _idf(n, min(index.doc_freq(term.variants[0][0]), n))
        # "fo" may become "for", which the stop words leave unmatched: papers titled "… for …" must not lose for it
        term.optional = query.partial and i == len(query.words) - 1 and word in _STOP_PREFIXES
        if query.drops(word):  # a stop word typed last stands for its completions only
            if not term.variants:
                continue
            term.idf = _idf(n, min(index.doc_freq(term.variants[0][0]), n))
        terms.append(term)
    if query.long:  # a pasted abstract: its rarest known words identify it
        known = sorted((t for t in terms if t.variants), key=lambda t: -t.idf)
        terms = known[:_LONG_TERMS]
    return terms


@dataclass
class _Postings:
    """One field's postings of a word: rows, term frequencies, and the field's BM25 length norms."""

    rows: np.ndarray
    tf: np.ndarray
    norms: np.ndarray  # k1 x (1 - b + b x length / average length) of every row
    weight: float  # the field's weight
    in_title: bool
    places: np.ndarray | None = None  # of title rows: where each is among the word's abstract rows (-1: not there)

    def pseudo_tf(self, at: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """BM25F's length-normalised, field-weighted term frequency of the postings ``at`` (rows ``rows``)."""
        return _pseudo_tf(self.weight, self.tf.take(at), self.norms.take(rows))


def _pseudo_tf(weight: float, tf: np.ndarray, norms: np.ndarray) -> np.ndarray:
    """BM25F's pseudo-frequency of term frequencies ``tf`` in a field of weight ``weight``, rows of length norms ``norms``."""
    pseudo: np.ndarray = np.float32(weight * _K1) * tf / norms
    return pseudo


@dataclass
class _Read:
    """Postings of one field read together, stand-in after stand-in: rows, pseudo-frequencies, postings per stand-in."""

    rows: np.ndarray  # intp
    pseudo: np.ndarray
    counts: np.ndarray  # int64, one per stand-in

    def keys(self, n: int) -> np.ndarray:
        """Each posting's (stand-in, row) as one int64 (``n``: rows of the library): ascending."""
        keys: np.ndarray = self.rows + np.repeat(np.arange(len(self.counts), dtype=np.int64) * n, self.counts)
        return keys


@dataclass
class _Word:
    """A word standing in for a query term, with its postings in the fields searched."""

    lists: list[_Postings]
    factor: float  # idf x the stand-in's weight x (k1 + 1): what BM25F multiplies the saturated frequency by

    @property
    def size(self) -> int:
        return sum(len(p.rows) for p in self.lists)


def _words(index: SearchIndex, term: _Term, longest: int | None = None) -> list[_Word]:
    """The stand-ins of ``term`` that occur, each scored as one BM25F term over title and abstract.

    ``longest``: abstract postings of stand-ins in more abstracts than this are left out before they are decoded.
    """
    n = len(index)
    title, abstract = index.fields["title"], index.fields["abstract"]
    title_norms, abstract_norms = title.length_norms(_K1, _B), abstract.length_norms(_K1, _B)
    found = []
    for wid, weight, in_abstract in term.variants:
        in_titles, in_abstracts = int(title.df[wid]), int(abstract.df[wid])  # postings of the word in each field
        lists = []
        if in_titles:  # the title list stays: a common word typed as part of a title still identifies it
            places = index.title_places(wid)
            lists.append(_Postings(*title.postings(wid), title_norms, _FIELD_WEIGHT["title"], True, places))
        if in_abstract and in_abstracts and (longest is None or in_abstracts <= longest):
            lists.append(_Postings(*abstract.postings(wid), abstract_norms, _FIELD_WEIGHT["abstract"], False))
        if lists:  # idf by the rows holding it in either field (an upper bound: their sum)
            found.append(_Word(lists, _idf(n, min(in_titles + in_abstracts, n)) * weight * (_K1 + 1)))
    return found


class _Scores:
    """Per-row evidence of a query: idf-weighted count of matched terms and BM25F summed over terms.

    The count (coverage) gives ``_TOGETHER`` of its weight only to the terms found in the row's
    best single field, the title or the abstract: BM25F alone lets a title word outrank, on its
    field weight, an abstract naming every topic asked for.

    BM25F (Robertson & Zaragoza): a word's frequencies in title and abstract are length-normalised,
    weighted by field and added *before* saturation, under one idf for the paper.  Per-field idfs
    would give a word's title matches the far larger idf of the short title field, and papers that
    merely mention a topic word in their title outrank those whose abstract is about it.

    Terms are read rarest first, every posting of a short list.  Before a long list, MaxScore
    (Turtle & Flood) decides whether the lists left can still lift a row that none of the read
    lists found into the ``keep`` best: when even all of them together cannot beat the
    ``keep``-th best score so far, they are looked up only for the rows that may still make it
    (binary search in each sorted list), instead of scoring every posting of every common word.

    Rows are gathered with ``ndarray.take``: numpy's fancy indexing with int32 rows, or along the
    second axis of the (2, rows) bits, took 2–10× as long for the ~100k rows a query at a million
    papers gathers several times.
    """

    def __init__(self, index: SearchIndex, terms: list[_Term], keep: int | None) -> None:
        self.n = len(index)
        self.total = sum(t.weight for t in terms) or 1.0
        self.keep = keep
        # A word in a tenth of a large library's abstracts beside rarer ones adds next to nothing to the
        # ranking, but decoding and looking up those postings dominated the slowest queries.
        rarest = max(terms, key=lambda t: t.idf, default=None)
        plan = [(t, _words(index, t, None if t is rarest or keep is None else _COMMON_ROWS)) for t in terms]
        self.plan = sorted(((t, w) for t, w in plan if w), key=lambda p: sum(w.size for w in p[1]))

    def _bounds(self, scale: float) -> list[float]:
        """The most each planned term can add to a row's preliminary score (saturation stays below 1).

        A paper holds a few of a term's stand-ins at most (a typed prefix has sixteen completions):
        the bound counts the ``_STAND_INS_HELD`` strongest.
        """
        return [
            _W_COVERAGE * t.weight / self.total
            + scale * sum(sorted((w.factor for w in words), reverse=True)[:_STAND_INS_HELD])
            for t, words in self.plan
        ]

    def run(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows that may rank, their coverage (0–1), BM25F (0–1 of the best), title coverage (0–1) and the share of
        the query they match in any field (0–1, the coverage without the best-field part), aligned."""
        bm25 = np.zeros(self.n, np.float32)  # > 0 exactly where a row matched (idf and weights are positive)
        # bit t of a row: term t found in its title (0) or abstract (1); or-ing counts a row once per term,
        # whichever of the term's stand-ins it holds, with less memory touched than float coverages
        assert len(self.plan) <= 16, "a query has _LONG_TERMS terms at most"
        bits = np.uint8 if len(self.plan) <= 8 else np.uint16  # a byte a row for queries up to eight words
        fields = np.zeros((2, self.n), bits)
        sizes = [sum(w.size for w in stand_ins) for _, stand_ins in self.plan]
        # the terms that MaxScore may leave unread: before reading one, check whether it can still matter
        checked = [self.keep is not None and t > 0 and size > _LONG_LIST for t, size in enumerate(sizes)]
        t = 0
        while t < len(self.plan):
            if checked[t]:
                survivors = self._survivors(bm25, fields, t, forced=sum(sizes[:t]) > _READ_BUDGET)
                if survivors is not None:
                    alive, bar = survivors
                    return self._finish(alive, *self._coverages(fields.take(alive, axis=1)), bm25.take(alive), t, bar)
            # the terms up to the next check are read together, a bounded number of postings at a time
            last, size = t + 1, sizes[t]
            while last < len(self.plan) and not checked[last] and size + sizes[last] <= _READ_TOGETHER:
                last, size = last + 1, size + sizes[last]
            self._read(bm25, fields, t, last)
            t = last
        rows = np.flatnonzero(bm25 > 0)
        return self._finish(rows, *self._coverages(fields.take(rows, axis=1)), bm25.take(rows), len(self.plan))

    def _read(self, bm25: np.ndarray, fields: np.ndarray, first: int, last: int) -> None:
        """Add every posting of the terms ``first:last`` to ``bm25`` and set their bits in ``fields``.

        The postings of all their stand-ins are handled together, a few numpy steps per field
        rather than a dozen per stand-in (those steps were most of a query in a small library).
        A stand-in's title and abstract frequencies meet where the index says its title rows are
        among its abstract rows (:meth:`SearchIndex.title_places`, a small library's), else by one
        binary search of (stand-in, row) keys; each stand-in's saturated scores are then added to
        ``bm25`` in plan order, as if read one by one, so the float32 sums do not depend on what
        was read together.
        """
        words = [w for _, stand_ins in self.plan[first:last] for w in stand_ins]
        owners = [t for t in range(first, last) for _ in self.plan[t][1]]
        title, abstract = (self._field_postings(words, owners, fields, in_title) for in_title in (True, False))
        at, shared = self._in_abstracts(words, title, abstract)
        abstract.pseudo[at[shared]] += title.pseudo[shared]  # a stand-in's rows are distinct: no repeated index
        # a title row found in the abstracts is counted there; as a title row it adds 0 (exactly nothing), which
        # costs less than leaving it out
        title.pseudo[shared] = 0
        factors = np.array([w.factor for w in words], np.float32)
        parts = []
        for part in (abstract, title):
            saturated = np.repeat(factors, part.counts) * part.pseudo / (np.float32(_K1) + part.pseudo)
            parts.append((part.rows, saturated, [0, *np.cumsum(part.counts).tolist()]))
        for j in range(len(words)):
            for rows, saturated, ends in parts:
                if ends[j + 1] > ends[j]:
                    bm25[rows[ends[j] : ends[j + 1]]] += saturated[ends[j] : ends[j + 1]]

    def _in_abstracts(self, words: list[_Word], title: _Read, abstract: _Read) -> tuple[np.ndarray, np.ndarray]:
        """Where each title posting of ``words`` read is among their abstract postings read, and whether it is there."""
        places = [p.places for word in words for p in word.lists if p.in_title]
        known = [p for p in places if p is not None]
        if known and len(known) == len(places):  # the index knows: a small library's
            at: np.ndarray = np.concatenate(known)
            found = at >= 0
            found &= np.repeat(abstract.counts > 0, title.counts)  # a stand-in's abstract postings may be unread
            starts = np.cumsum(abstract.counts) - abstract.counts  # of each stand-in's in the abstracts read
            return at + np.repeat(starts, title.counts), found
        keys, title_keys = abstract.keys(self.n), title.keys(self.n)
        at = np.minimum(np.searchsorted(keys, title_keys), max(len(keys) - 1, 0))
        return at, keys[at] == title_keys if len(keys) else np.zeros(len(title_keys), bool)

    def _field_postings(self, words: list[_Word], owners: list[int], fields: np.ndarray, in_title: bool) -> _Read:
        """The postings of one field of ``words`` (stand-ins of the terms ``owners``), word after word, with each
        term's bit set in ``fields`` for the rows holding it there."""
        lists = [(j, p) for j, word in enumerate(words) for p in word.lists if p.in_title == in_title]
        if not lists:
            return _Read(np.zeros(0, np.intp), np.zeros(0), np.zeros(len(words), np.int64))
        # intp: numpy converts other indices every time
        rows = np.concatenate([p.rows for _, p in lists], dtype=np.intp, casting="safe")
        held, bit = fields[0 if in_title else 1], fields.dtype.type
        counts = [0] * len(words)  # postings per stand-in: a list per field at most
        start = end = 0
        for i, (j, p) in enumerate(lists):
            counts[j] = len(p.rows)
            end += len(p.rows)
            # a term's stand-ins lie together and share its bit: one step for them all (a row repeated is harmless)
            if i + 1 == len(lists) or owners[lists[i + 1][0]] != owners[j]:
                held[rows[start:end]] |= bit(1 << owners[j])
                start = end
        sample = lists[0][1]  # one field: one weight and one set of length norms
        pseudo = _pseudo_tf(sample.weight, np.concatenate([p.tf for _, p in lists]), sample.norms.take(rows))
        return _Read(rows, pseudo, np.array(counts, np.int64))

    def _coverages(self, bits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Weights of the terms found in any field, in the title and in the abstract, from the rows' ``bits`` (2 × rows)."""
        # a table per byte of the bits: the summed weight of the terms whose bits are set
        weights = np.zeros(16, np.float32)
        weights[: len(self.plan)] = [t.weight for t, _ in self.plan]
        low, high = _BYTE_BITS @ weights[:8], _BYTE_BITS @ weights[8:]

        def weight(held: np.ndarray) -> np.ndarray:
            summed: np.ndarray = (
                low.take(held) if held.dtype == np.uint8 else low.take(held & 255) + high.take(held >> 8)
            )
            return summed

        return weight(bits[0] | bits[1]), weight(bits[0]), weight(bits[1])

    def _survivors(
        self, bm25: np.ndarray, fields: np.ndarray, start: int, forced: bool
    ) -> tuple[np.ndarray, _Bar] | None:
        """The rows that may still rank if the terms from ``start`` on are not read whole, and the bar they must reach.

        ``fields``: which terms each row holds in its title and its abstract (bits, 2 × rows).
        """
        assert self.keep is not None
        weights = [t.weight for t, _ in self.plan]
        if not forced and sum(weights[start:]) >= max(sum(weights[:start]), _TITLED * self.total):
            # a row none of the lists read holds may still get a title covered as well as the best rows' (the
            # title bar is at most what the lists read cover): it may rank, whatever the scores, so skip them
            return None
        scale = _W_BM25 / max(float(bm25.max()), 1e-9)
        if not forced and sum(self._bounds(scale)[start:]) >= _W_COVERAGE * sum(weights[:start]) / self.total + _W_BM25:
            return None  # likewise when the terms left may add more than the best row's score so far
        rows = np.flatnonzero(bm25 > 0).astype(np.int32)  # the postings' dtype: binary search then casts nothing
        if len(rows) < self.keep:
            return None
        coverage, titled, abstracted = self._coverages(fields.take(rows, axis=1))
        together = _together(coverage, titled, abstracted)
        score = np.float32(_W_COVERAGE / self.total) * together + np.float32(scale) * bm25.take(rows)
        titles = titled / np.float32(self.total)
        # the keep-th best of any rows is a lower bound: of those matching two terms or more, when enough do
        several = coverage > np.float32(max(t.weight for t, _ in self.plan[:start]) * 1.0001)
        pool = several if several.sum() >= self.keep else slice(None)
        bar = _Bar(_kth(score[pool], self.keep), max(_kth(titles[pool], self.keep), _TITLED), scale)
        # a row none of the lists read holds may get everything the rest add: can that still rank?
        if not forced and bar.reachable(np.zeros(1, np.float32), np.zeros(1, np.float32), *self._rest(scale, start))[0]:
            return None
        alive = rows[bar.reachable(score, titles, *self._rest(scale, start))]
        # when most rows read may still rank (a low bar), looking each up in every list left costs more than
        # reading the lists whole: at 100k papers, 33k rows looked up in 3 lists of 60k postings took 5.5 ms,
        # reading them 1.8 (at a million, a higher cost per lookup lengthened the 5% slowest queries)
        left = [w for _, stand_ins in self.plan[start:] for w in stand_ins]
        if len(alive) * sum(len(w.lists) for w in left) * _LOOKUP_COST > sum(w.size for w in left):
            return None
        return alive, bar

    def _rest(self, scale: float, start: int) -> tuple[list[float], list[float]]:
        """The most each term from ``start`` on adds to a preliminary score and to a title coverage."""
        return self._bounds(scale)[start:], [t.weight / self.total for t, _ in self.plan[start:]]

    def _finish(
        self,
        rows: np.ndarray,
        coverage: np.ndarray,
        titled: np.ndarray,
        abstracted: np.ndarray,
        bm25: np.ndarray,
        start: int,
        bar: _Bar | None = None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Add the terms from ``start`` on to ``rows`` (ascending) by binary search; normalise.

        With a ``bar``, the terms that can add most go first, and after each the rows that can no
        longer reach the bar with the terms left are dropped (MaxScore's shrinking candidate set).
        """
        rest = list(range(start, len(self.plan)))
        if bar is not None:
            bounds = self._bounds(bar.scale)
            rest.sort(key=lambda t: -bounds[t])
        for i, t in enumerate(rest):
            term, stand_ins = self.plan[t]
            hit = np.zeros(len(rows), bool)
            hit_title = np.zeros(len(rows), bool)
            hit_abstract = np.zeros(len(rows), bool)
            for word in stand_ins:
                found = np.zeros(len(rows), np.float32)
                for postings in word.lists:
                    at = np.minimum(np.searchsorted(postings.rows, rows), len(postings.rows) - 1)
                    present = postings.rows.take(at) == rows
                    found[present] += postings.pseudo_tf(at[present], rows[present])
                    if postings.in_title:
                        hit_title |= present
                    else:
                        hit_abstract |= present
                bm25 += np.float32(word.factor) * found / (np.float32(_K1) + found)
                hit |= found > 0
            coverage[hit] += np.float32(term.weight)
            titled[hit_title] += np.float32(term.weight)
            abstracted[hit_abstract] += np.float32(term.weight)
            if bar is not None and i + 1 < len(rest):
                together = _together(coverage, titled, abstracted)
                score = np.float32(_W_COVERAGE / self.total) * together + np.float32(bar.scale) * bm25
                left = rest[i + 1 :]
                alive = bar.reachable(
                    score,
                    titled / np.float32(self.total),
                    [bounds[u] for u in left],
                    [self.plan[u][0].weight / self.total for u in left],
                )
                rows, coverage, bm25 = rows[alive], coverage[alive], bm25[alive]
                titled, abstracted = titled[alive], abstracted[alive]
        matched = coverage / np.float32(self.total)
        coverage = _together(coverage, titled, abstracted) / np.float32(self.total)
        titled /= np.float32(self.total)
        bm25 /= np.float32(max(float(bm25.max(initial=0)), 1e-9))
        return rows, coverage, bm25, titled, matched


def _together(coverage: np.ndarray, titled: np.ndarray, abstracted: np.ndarray) -> np.ndarray:
    """Coverage with the ``_TOGETHER`` share counted in each row's best field alone (never more than ``coverage``)."""
    best: np.ndarray = np.float32(1 - _TOGETHER) * coverage + np.float32(_TOGETHER) * np.maximum(titled, abstracted)
    return best


def _kth(values: np.ndarray, k: int) -> float:
    """The ``k``-th largest of ``values`` (the smallest when there are fewer)."""
    if len(values) <= k:
        return float(values.min(initial=0))
    # selecting near the front: numpy's introselect crawls when it selects near the back among many ties
    return -float(np.partition(-values, k - 1)[k - 1])


@dataclass
class _Bar:
    """What a row must reach to rank: the keep-th best preliminary score or the keep-th best title coverage so far."""

    score: float
    title: float
    scale: float  # BM25F's weight per unit when the bar was set

    def reachable(self, score: np.ndarray, titles: np.ndarray, bounds: list[float], weights: list[float]) -> np.ndarray:
        """Which rows, given terms left that add at most ``bounds`` to a score and ``weights`` to a title, may reach it."""
        either: np.ndarray = np.logical_or(
            score + np.float32(sum(bounds)) >= np.float32(self.score),
            titles + np.float32(sum(weights)) >= np.float32(self.title),
        )
        return either


def _floats(counts: pd.Series | ExtensionArray, missing: float) -> np.ndarray:
    """Whole numbers (``Int64``, or Arrow's in a reopened library) as floats, ``missing`` where unknown."""
    if isinstance(counts.dtype, pd.ArrowDtype):  # Arrow's whole numbers take no float for their missing values
        counts = counts.astype("Float64")
    floats: np.ndarray = counts.to_numpy("float64", na_value=missing)  # Int64's directly: a third of the time
    return floats


def _filter_mask(
    df: pd.DataFrame,
    rows: np.ndarray,
    year: int | tuple[int | None, int | None] | None,
    min_upvotes: int | None,
    tags: str | Iterable[str] | None,
    status: str | Iterable[str] | None,
) -> np.ndarray:
    """Which of ``rows`` pass every filter given (unknown dates and upvotes fail theirs)."""
    mask = np.ones(len(rows), bool)
    if year is not None:
        lo, hi = (year, year) if isinstance(year, int) else year
        published = df["published"].to_numpy()[rows]
        years = published.astype("datetime64[Y]").astype(np.int64) + 1970
        mask &= ~np.isnat(published)
        if lo is not None:
            mask &= years >= lo
        if hi is not None:
            mask &= years <= hi
    if min_upvotes is not None:
        upvotes = _floats(df["upvotes"].iloc[rows], np.nan)
        mask &= upvotes >= min_upvotes
    if tags is not None:
        if "tags" not in df.columns:
            raise ValueError("cannot filter by tags: the library has no 'tags' column")
        wanted = {tags} if isinstance(tags, str) else set(tags)
        mask &= np.fromiter(
            (isinstance(t, Iterable) and wanted.issubset(t) for t in df["tags"].iloc[rows]), bool, len(rows)
        )
    if status is not None:
        if "status" not in df.columns:
            raise ValueError("cannot filter by status: the library has no 'status' column")
        statuses = [status] if isinstance(status, str) else list(status)
        mask &= df["status"].iloc[rows].isin(statuses).to_numpy(bool)
    return mask


def _order(df: pd.DataFrame, rows: np.ndarray, sort: str, relevance: np.ndarray) -> np.ndarray:
    """Positions into ``rows``, newest or most upvoted first (unknowns last), ties by relevance."""
    if sort == "newest":
        key = ~df["published"].to_numpy()[rows].view(np.int64)  # NaT is the smallest int64: last
    else:
        key = -_floats(df["upvotes"].iloc[rows], -np.inf)
    order: np.ndarray = np.lexsort((rows, -relevance, key))
    return order


def _best_first(
    index: SearchIndex,
    df: pd.DataFrame,
    rows: np.ndarray,
    scores: np.ndarray,
    limit: int | None,
    columns: Mapping[str, ExtensionArray] | None = None,
) -> np.ndarray:
    """Positions into ``rows`` by ``scores``, best first, at most ``limit``.

    Papers the query cannot tell apart (equal scores: the same evidence) come most upvoted first,
    then newest, then in the library's order: of two papers matching equally, the one more readers
    found worth an upvote (the order of Hugging Face's daily lists) is the likelier one wanted.
    """
    order: np.ndarray = np.lexsort((rows, -scores))[:limit]
    if not len(order):
        return order
    contenders = np.flatnonzero(scores >= scores[order[-1]])  # every row that may take one of the places
    top = scores[order]  # best first: a tie among the places is two equal neighbours
    if len(contenders) == len(order) and not np.any(top[1:] == top[:-1]):
        return order
    at = rows[contenders]
    if index.serves(df):
        keys = index.served_value(df, _popularity)
        keys = None if keys is None else (keys[0][at], keys[1][at])
    else:  # another frame of the same papers (a library's, annotated, or a cached index's): the tied rows' keys
        # alone, from the two columns' arrays (a frame's iloc of the two columns cost ~0.4 ms a query, the arrays' 0.03)
        keys = _popularity_of(columns or _tie_columns(df), at)
    if keys is None:
        return order
    ranked: np.ndarray = contenders[np.lexsort((at, ~keys[1], -keys[0], -scores[contenders]))][:limit]
    return ranked


def _popularity(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray] | None:
    """:func:`_popularity_of` every row of ``df`` (~10 ms at a million papers, once, for the frame an index serves)."""
    return _popularity_of(_tie_columns(df))


def _tie_columns(df: pd.DataFrame) -> dict[str, ExtensionArray]:
    """The arrays of ``df``'s columns that tell tied papers apart (those it has)."""
    return {name: df[name].array for name in _TIE_COLUMNS if name in df.columns}


def _popularity_of(
    columns: Mapping[str, ExtensionArray], rows: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray] | None:
    """Each paper's upvotes (float32, unknown: -inf) and date (int64; NaT, the smallest, ~ puts last), of the
    positions ``rows`` or of every row, from a frame's ``columns``: the tie rule's keys.  None without those columns."""
    if not all(name in columns for name in _TIE_COLUMNS):
        return None
    upvotes, published = columns["upvotes"], columns["published"]
    if rows is not None:
        upvotes, published = upvotes.take(rows), published.take(rows)
    return _floats(upvotes, -np.inf).astype(np.float32), np.asarray(published.to_numpy()).view(np.int64)


def _title_scores(query: str, titles: list[str], scorer: Callable[..., float], floor: float) -> np.ndarray:
    """``scorer``'s similarity (0–1) of ``query`` to each title, 0 below ``floor``: the score counts nothing there,
    and rapidfuzz gives up on a title early once it cannot reach it."""
    scores: np.ndarray = process.cdist([query], titles, scorer=scorer, dtype=np.float32, score_cutoff=100 * floor)[0]
    return scores / 100


def _rescore(
    index: SearchIndex, rows: np.ndarray, coverage: np.ndarray, bm25: np.ndarray, query: _Query, keep: int | None = None
) -> np.ndarray:
    """Final scores of candidate ``rows``: index evidence plus rapidfuzz title similarity.

    ``keep``: only the ``keep`` best scores are wanted, exactly; a row that cannot be among them
    scores less than they do (-inf when never compared).  WRatio, the dearest part, adds at most
    ``_W_TITLE``, and rapidfuzz's cut-off makes it cheap for a title that cannot reach a
    given similarity: asking only for what a row needs to rank saves most of it, and a row whose
    WRatio cannot reach that however the title reads (:func:`_similarity_ceilings`) is not compared.
    """
    score = _W_COVERAGE * coverage + _W_BM25 * bm25
    if query.long or not len(rows):  # a pasted abstract is not a title
        return score
    titles = index.titles(rows.tolist())
    # every title's ratio, not only those over _EXACT_FLOOR (the same time): the WRatio ceilings read them too
    if query.partial:  # a title being typed: as near-exact as a whole title when the title starts with it
        heads = [title[: len(query.text)] for title in titles]
        both = _title_scores(query.text, titles + heads, fuzz.ratio, 0)  # one call: less overhead
        ratios = both[: len(titles)]
        exact = np.maximum(ratios, both[len(titles) :])
    else:
        ratios = exact = _title_scores(query.text, titles, fuzz.ratio, 0)
    exact = np.float32(_W_EXACT) * _over_floor(exact, _EXACT_FLOOR)
    names = np.zeros(len(rows), np.float32)
    if len(query.text.split()) <= 4:  # a short name is a few words at most
        joined = query.text.replace(" ", "")
        for i, name in enumerate(index.short_names(rows.tolist())):
            if name == joined:
                names[i] = _NAME_EXACT
            elif name and query.partial and len(joined) >= 3 and name.startswith(joined):
                names[i] = _NAME_PREFIX

    def scored(at: np.ndarray, needed: float = _SIMILAR_FLOOR) -> np.ndarray:
        """Final scores of the rows ``at``; those whose WRatio is under ``needed`` (rapidfuzz stops early) get none."""
        similar = _title_scores(query.text, [titles[i] for i in at.tolist()], fuzz.WRatio, needed)
        final: np.ndarray = score[at] + _lift(similar) + exact[at] + names[at]
        return final

    if not keep or keep >= len(rows):
        return scored(np.arange(len(rows)))
    # the likeliest first: WRatio for the keep rows scoring best without it; the keep-th best of their final scores
    # (the bar) then leaves the others only as much of it as can lift each to the bar; below, a row scores -inf or
    # its score without WRatio, both under the bar: it cannot rank, and rapidfuzz gives up on it early
    final = np.full(len(rows), -np.inf, np.float32)
    without = score + exact + names
    order = np.argsort(-without, kind="stable")
    final[order[:keep]] = scored(order[:keep])
    # the others in one call (a call and the numpy steps around it cost more than the bar rising between smaller
    # calls saves): those WRatio's whole weight lifts to the bar, and of those needing more than a partial token
    # ratio gives, only those whose title's WRatio ceiling reaches it
    bar = _kth(final, keep) - _BOUND_SLACK
    rest = order[keep:][without[order[keep:]] >= bar - _W_TITLE]
    highest = without[rest] + np.float32(_W_TITLE)
    far = np.flatnonzero(highest < bar + np.float32(_W_TITLE - _PARTIAL_TOKEN_LIFT))
    if len(far):
        ceilings = _similarity_ceilings(query.text, [titles[i] for i in rest[far].tolist()], ratios[rest[far]])
        highest[far] = without[rest[far]] + _lift(ceilings)
    at = rest[highest >= bar]
    if len(at):  # rapidfuzz asked for what the first, the likeliest, needs
        final[at] = scored(at, _SIMILAR_FLOOR + (1 - _SIMILAR_FLOOR) * max(bar - float(without[at[0]]), 0) / _W_TITLE)
    return final


def _lift(similarity: np.ndarray) -> np.ndarray:
    """What titles' WRatio ``similarity`` (0–1, float32) adds to their rows' scores."""
    lift: np.ndarray = np.float32(_W_TITLE) * _over_floor(similarity, _SIMILAR_FLOOR)
    return lift


def _over_floor(similarity: np.ndarray, floor: float) -> np.ndarray:
    """How far ``similarity`` (0–1, float32) is from ``floor`` to 1, as a share (0 under the floor).

    Only the floor needs clipping: in float32 a similarity of 1 comes out at most 1 (just under, for the
    floors of 0.85 here), and np.clip costs twice np.maximum on a few hundred values.
    """
    share: np.ndarray = np.maximum((similarity - floor) / (1 - floor), 0)
    return share


_PARTIAL_TOKEN_LIFT = float(_lift(np.array(_PARTIAL_TOKEN_CEILING + _CEILING_SLACK, np.float32)))  # the most it adds


def _similarity_ceilings(query: str, titles: list[str], ratios: np.ndarray) -> np.ndarray:
    """What :func:`fuzz.WRatio <rapidfuzz.fuzz.WRatio>` of ``query`` and each title can reach at most (0–1, a
    little over), given their :func:`fuzz.ratio <rapidfuzz.fuzz.ratio>` ``ratios`` (0–1).

    WRatio is the best of the ratio and, for strings of lengths within 1.5 of each other, 0.95 x a
    token ratio (at most 0.95); else of 0.9 x the partial ratio (the ratio of the shorter string
    and a part of the longer: at most 2L / (shorter + L), L their longest common subsequence, which
    the ratio 2L / (shorter + longer) gives) and 0.855 x a partial token ratio.  A long query
    shares too little with most titles of other papers for the partial ratio, their dearest part.
    """
    ceilings: np.ndarray = np.maximum(ratios, np.float32(0.95))
    lengths = np.fromiter(map(len, titles), np.int64, len(titles))
    # WRatio's partial ratios: a length ratio of 1.5 or more (at 1.5 exactly, 0.95 bounds either way)
    at = np.flatnonzero((lengths > len(query) * 3 // 2) | (lengths <= (len(query) * 2 - 1) // 3))
    if len(at):  # the ratio, under 2L / (shorter + longer), is under 0.9 x the partial ratio's bound there
        common = np.rint(ratios[at] * (lengths[at] + len(query)) / 2)  # L, exactly: float32 is off by far less
        partial = 1.8 * common / np.maximum(np.minimum(lengths[at], len(query)) + common, 1)
        ceilings[at] = np.maximum(partial, _PARTIAL_TOKEN_CEILING)
    ceilings += np.float32(_CEILING_SLACK)
    return ceilings


class _ColumnArrays(dict[str, ExtensionArray]):
    """A frame's column arrays by name, and the column labels of the result frames made of them (by their names)."""

    def __init__(self, arrays: Iterable[tuple[str, ExtensionArray]]) -> None:
        super().__init__(arrays)
        self._labels: dict[tuple[str, ...], pd.Index] = {}

    def labels(self, names: tuple[str, ...]) -> pd.Index:
        """``names`` as a result frame's column labels: made once (an index of text costs ~0.1 ms right after a
        search), each frame given a view of its own (one frame's ``columns.name`` set is not another's)."""
        if names not in self._labels:
            self._labels[names] = pd.Index(names, dtype=_LABELS)
        return self._labels[names].view()


def column_arrays(df: pd.DataFrame) -> dict[str, ExtensionArray]:
    """Each column's array by name: what :func:`result_frame` takes rows from.

    Getting them from a frame costs more than taking a page of results from them (a Series per
    column), so a caller searching the same frame again keeps them (and with them the column labels
    of its result frames).
    """
    return _ColumnArrays((str(name), column.array) for name, column in df.items())


def result_frame(
    columns: Mapping[str, ExtensionArray],
    index: pd.Index,
    rows: np.ndarray,
    scores: np.ndarray,
    extra: Mapping[str, object] | None = None,
) -> pd.DataFrame:
    """The rows ``rows`` (positions) of a frame's ``columns`` (:func:`column_arrays`) and ``index``, then
    ``extra``'s columns, then ``scores`` as ``score``.

    ``extra``: columns aligned with ``rows`` (arrays); one named like a column of the frame takes its place.
    Columns come back as :attr:`Library.df <paper_widgets.Library.df>` shows them
    (:func:`~paper_widgets.store.shown_column`), each keeping its array's dtype.  The frame is put
    together from the arrays as its blocks (:func:`pandas.api.internals.create_dataframe_from_blocks`):
    a frame ``take``, or the DataFrame constructor checking and inferring every column, cost more
    than the rest of a search of a small library.
    """
    extra = extra or {}
    taken: dict[str, object] = {}
    for name, array in columns.items():
        taken[name] = extra[name] if name in extra else shown_column(array.take(rows))
    taken.update((name, values) for name, values in extra.items() if name not in taken)
    taken["score"] = np.asarray(scores, np.float64)
    shown = index.take(rows)  # index[rows] checks for every other kind of key first
    if _frame_from_blocks is None:  # pandas before 2.3
        return pd.DataFrame(taken, index=shown, copy=False)
    if any(len(values) != len(rows) for values in extra.values()):  # type: ignore[arg-type]
        raise ValueError(f"every extra column must hold {len(rows)} values, one per row")
    blocks = [(_block_values(values), np.array([i])) for i, values in enumerate(taken.values())]
    names = tuple(taken)
    labels = columns.labels(names) if isinstance(columns, _ColumnArrays) else pd.Index(names, dtype=_LABELS)
    return _frame_from_blocks(blocks, shown, labels)


def _block_values(values: object) -> object:
    """A column's values as a block holds them: an extension array as it is, numpy values as one 2-D row."""
    if isinstance(values, NumpyExtensionArray):
        values = values.to_numpy()
    if isinstance(values, np.ndarray):
        return values.reshape(1, -1)
    if isinstance(values, ExtensionArray):
        return values
    return pd.array(values)


def search(
    df: pd.DataFrame,
    query: str,
    limit: int | None = 20,
    *,
    index: SearchIndex | None = None,
    sort: str = "relevance",
    year: int | tuple[int | None, int | None] | None = None,
    min_upvotes: int | None = None,
    tags: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
) -> pd.DataFrame:
    """Rows of ``df`` matching ``query`` plus a ``score`` column, best first, at most ``limit``.

    ``index`` is an index of ``df``'s titles and abstracts kept between calls (the caller keeps it
    current with :meth:`SearchIndex.sync`); without one, an index is built for this call.
    Filters: ``year`` (a year or an inclusive ``(lo, hi)``, either end None), ``min_upvotes``,
    ``tags`` (a paper must have all), ``status`` (one or several).  ``sort`` is ``"relevance"``
    (an empty query then lists newest first), ``"newest"`` or ``"upvotes"``.
    """
    # the index keeps the arrays of the frame it serves: getting them costs about as much as the result frame
    columns = column_arrays(df) if index is None else index.served_value(df, column_arrays)
    found = search_rows(
        df,
        query,
        limit,
        index=index,
        sort=sort,
        year=year,
        min_upvotes=min_upvotes,
        tags=tags,
        status=status,
        columns=columns,
    )
    return result_frame(columns, df.index, *found)


def search_rows(
    df: pd.DataFrame,
    query: str,
    limit: int | None = 20,
    *,
    index: SearchIndex | None = None,
    sort: str = "relevance",
    year: int | tuple[int | None, int | None] | None = None,
    min_upvotes: int | None = None,
    tags: str | Iterable[str] | None = None,
    status: str | Iterable[str] | None = None,
    columns: Mapping[str, ExtensionArray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`search` finds: the positions in ``df`` of the rows it shows, best first, and their scores.

    ``columns``: ``df``'s :func:`column_arrays`, when the caller has them (the rows tied at the top are told
    apart by two of them).
    """
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {', '.join(SORTS)}, not {sort!r}")
    if limit is not None and limit < 0:
        raise ValueError(f"limit must be >= 0 or None, not {limit}")
    if year is not None and not isinstance(year, (int, tuple)):
        raise TypeError(f"year must be an int or a (lo, hi) tuple, not {year!r}")
    index = SearchIndex(df) if index is None else index
    if len(index) != len(df):
        raise ValueError(f"the search index has {len(index)} rows but the frame {len(df)}: sync it first")
    parsed = _Query.parse(query)
    filtered = any(f is not None for f in (year, min_upvotes, tags, status))
    if not parsed.words:
        rows = np.arange(len(df))
        rows = rows[_filter_mask(df, rows, year, min_upvotes, tags, status)] if filtered else rows
        rows = rows[_order(df, rows, "upvotes" if sort == "upvotes" else "newest", np.zeros(len(rows)))][:limit]
        return rows, np.zeros(len(rows))
    terms = _terms(index, parsed)
    # every matching row counts when all are asked for, sorted otherwise or filtered; else only the best can
    pruned = sort == "relevance" and limit is not None and not filtered
    rows, coverage, bm25, titled, matched = _Scores(index, terms, max(_RESCORE, limit or 0) if pruned else None).run()
    if filtered:
        keep = _filter_mask(df, rows, year, min_upvotes, tags, status)
        rows, coverage, bm25, titled, matched = rows[keep], coverage[keep], bm25[keep], titled[keep], matched[keep]
        bm25 /= np.float32(max(float(bm25.max(initial=0)), 1e-9))
    if not len(rows):
        return rows, np.zeros(0)
    if sort == "relevance":
        k = len(rows) if limit is None else min(len(rows), max(_RESCORE, limit))
        prelim = _W_COVERAGE * coverage + _W_BM25 * bm25
        best = _largest(prelim, k) if k < len(rows) else np.arange(len(rows))
        if k < len(rows):  # and the papers whose titles hold the most of the query: a title being typed
            titled_rows = np.flatnonzero(titled >= np.float32(_TITLED))
            if len(titled_rows) > k:
                titled_rows = titled_rows[_largest((titled + np.float32(0.01) * prelim)[titled_rows], k)]
            best = _sorted_union(best, titled_rows)
        scores = _rescore(index, rows[best], coverage[best], bm25[best], parsed, limit)
        order = _best_first(index, df, rows[best], scores, limit, columns)
        return rows[best[order]], scores[order]
    # newest / most upvoted among the papers matching the most terms
    best = np.flatnonzero(matched >= matched.max() - 1e-6)
    order = best[_order(df, rows[best], sort, coverage[best] + bm25[best])][:limit]
    return rows[order], _rescore(index, rows[order], coverage[order], bm25[order], parsed)


def _largest(values: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest ``values`` (``k`` < their number), in no order: the set
    ``np.argpartition(-values, k - 1)[:k]`` gives, which among values tied at the ``k``-th depends on its algorithm.

    That selection crawls over thousands of candidates (~80 µs for 7,000); a value most likely
    under the ``k``-th, read off a strided sample, leaves a few hundred to select among instead,
    when it leaves at least ``k`` and no tie at the ``k``-th makes the set depend on the algorithm.
    """
    stride = k // 8  # the sample's 25th largest: ~3k values reach it, under k about once in a thousand
    if stride > 1 and len(values) > 16 * k:
        rank = 3 * k // stride
        pool = np.flatnonzero(values >= -np.partition(-values[::stride], rank)[rank])
        if len(pool) >= k:  # every value over the k-th is in the pool
            pooled = values[pool]
            reached = pooled >= -np.partition(-pooled, k - 1)[k - 1]  # the k largest and any tied with the k-th
            if np.count_nonzero(reached) == k:  # none tied: the k largest are one set
                chosen: np.ndarray = pool[reached]
                return chosen
    top: np.ndarray = np.argpartition(-values, k - 1)[:k]
    return top


def _sorted_union(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.union1d`` of two arrays of distinct values, without its overhead (a third of the time)."""
    both = np.concatenate((a, b))
    both.sort()
    union: np.ndarray = both[np.concatenate(([True], both[1:] != both[:-1]))]
    return union


# -- highlighting ---------------------------------------------------------------------------

_CHUNK = re.compile(r"\S+")
# a run of letters/digits, with any combining accents (text may be NFD): what fold keeps as a word
_PIECE = re.compile(r"(?:[^\W_]|[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f])+")


def match_spans(text: str, query: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of ``text`` (raw, unfolded) that match words of ``query``.

    Stop words (:data:`STOP_WORDS`) are not highlighted beside other words, as they do not decide
    a match in :func:`search` either.  Comparison is folded (case, accents, hyphens ignored; ``multitask`` matches ``Multi-Task``
    whole), the last query word matches as a prefix while it is being typed, and a query word
    that occurs nowhere in ``text`` matches words within :func:`max_typos` edits.  Spans are sorted
    and disjoint, so a UI can escape the text between and inside them itself.
    """
    parsed = _Query.parse(query)
    if not parsed.words or not text:
        return []
    wanted = set(parsed.words)
    prefix = parsed.words[-1] if parsed.partial else None
    # candidate spans: each word piece, and each hyphen/punctuation compound as a whole
    # (start, end, folded word, shortest prefix that may match it)
    pieces: list[tuple[int, int, str, int]] = []
    for chunk in _CHUNK.finditer(text):
        parts = [
            (chunk.start() + m.start(), chunk.start() + m.end(), "".join(words(m.group())), 0)
            for m in _PIECE.finditer(chunk.group())
        ]
        parts = [p for p in parts if p[2]]
        pieces += parts
        joined = compounds([p[2] for p in parts])[len(parts) :]  # none beyond a few parts: no n² runs
        runs = [(i, j) for i in range(len(parts)) for j in range(i + 2, len(parts) + 1)] if joined else []
        # a compound matches a prefix only beyond its first part, which matches on its own
        pieces += [
            (parts[i][0], parts[j - 1][1], word, len(parts[i][2]) + 1)
            for (i, j), word in zip(runs, joined, strict=False)
        ]
    spans, found = [], set()
    for start, end, word, shortest in pieces:
        if parsed.drops(word):  # a stop word beside content words: it decided nothing
            continue
        is_prefix = prefix is not None and len(prefix) >= shortest and word.startswith(prefix)
        hit = word if word in wanted else prefix if is_prefix else None
        if hit:
            spans.append((start, end))
            found.add(hit)
    missing = [] if parsed.long else [w for w in parsed.words if w not in found and max_typos(w)]
    for start, end, word, _ in pieces:
        for q in missing:
            typos = max_typos(q)
            if abs(len(word) - len(q)) <= typos and OSA.distance(word, q, score_cutoff=typos) <= typos:
                spans.append((start, end))
                break
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
