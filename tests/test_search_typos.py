"""A query's words: found in the vocabulary together, and their typo candidates from the deletion table as from the trigrams."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from rapidfuzz.distance import OSA

import paper_widgets.search.index as index_module
from paper_widgets.search.deletions import DeletionTable
from paper_widgets.search.engine import SearchIndex

_LETTERS = "abcdeé漢\U00020000"  # a handful of letters (one astral): many words within a typo or two of each other


def _frame(title_words: list[str]) -> pd.DataFrame:
    """Titles made of ``title_words``: the i-th in i % 4 + 1 titles (ties in edits go to the most frequent)."""
    titles = [" ".join(w for i, w in enumerate(title_words) if i % 4 >= r) or "x" for r in range(4)]
    return pd.DataFrame({"title": titles, "abstract": ["x"] * len(titles)})


def _index(title_words: list[str]) -> SearchIndex:
    return SearchIndex(_frame(title_words))


def _title_words(index: SearchIndex) -> list[str]:
    return index._vocab.words_of(np.flatnonzero(index._tri_len))


def _trigram_path(index: SearchIndex, asked: list[str], limit: int) -> list[list[tuple[int, int]]]:
    """near_words_each as it was before the deletion table: every word's candidates from the trigram index."""
    held, index._deletions = index._deletions, DeletionTable.off()
    try:
        return index.near_words_each(asked, limit)
    finally:
        index._deletions = held


def _in_numpy_steps(index: SearchIndex, asked: list[str], limit: int) -> list[list[tuple[int, int]]]:
    """near_words_each with however few candidates compared and ranked in numpy steps, as many are."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(index_module, "_FEW_CANDIDATES", -1)
        return index.near_words_each(asked, limit)


def _scanned(index: SearchIndex, word: str) -> list[tuple[int, int]]:
    """Every title word within the word's typos that shares a boundary-marked trigram with it, scanned one by one:
    fewest edits first, then the most frequent in titles, then the first numbered."""

    def trigrams(text: str) -> set[str]:
        marked = f"\x01{text[: index_module._TRI_WIDTH]}\x02"
        return {marked[i : i + 3] for i in range(len(marked) - 2)}

    typos = index_module.max_typos(word)
    found = []
    for other in _title_words(index):
        edits = OSA.distance(word, other)
        if 0 < edits <= typos and trigrams(word) & trigrams(other):
            wid = index.word_id(other)
            assert wid is not None
            found.append((edits, -int(index.fields["title"].df[wid]), wid))
    return [(wid, edits) for edits, _, wid in sorted(found)]


def _edited(draw: st.DrawFn, word: str) -> str:
    """``word`` with one or two random insertions, deletions, substitutions or transpositions."""
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(word)))
        letter = draw(st.sampled_from(_LETTERS))
        kind = draw(st.sampled_from("+-=~"))
        if kind == "+":
            word = word[:at] + letter + word[at:]
        elif kind == "-":
            word = word[:at] + word[at + 1 :]
        elif kind == "=":
            word = word[:at] + letter + word[at + 1 :]
        elif at + 1 < len(word):
            word = word[:at] + word[at + 1] + word[at] + word[at + 2 :]
    return word


@st.composite
def _vocabulary_and_asked(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    vocabulary = draw(st.lists(st.text(_LETTERS, min_size=2, max_size=19), min_size=5, max_size=120, unique=True))
    edited = [_edited(draw, word) for word in draw(st.lists(st.sampled_from(vocabulary), min_size=1, max_size=12))]
    others = draw(st.lists(st.text(_LETTERS, min_size=0, max_size=20), max_size=4))
    return vocabulary, edited + others


@settings(max_examples=60, deadline=None)  # an index is built for each example
@given(_vocabulary_and_asked())
@example((["abcd", "acbd", "bacd", "abdc", "xyzw"], ["abcd", "acbd", "abcdx"]))  # "acbd": no trigram of "abcd" left
@example((["abcdabcd", "badcabcd", "abcdabdc", "aabbccdd"], ["abcdabcd", "abcdbadc", "bacdabcd"]))  # 8 letters, 2 typos
@example((["dedeede", "eddeede", "de" * 8 + "d", "de" * 8, "e" * 16, "e" * 17], ["de" * 7 + "e", "ed" * 8, "e" * 15]))
def test_the_deletion_table_finds_what_the_trigram_path_and_a_full_scan_find(
    vocabulary_and_asked: tuple[list[str], list[str]],
) -> None:
    vocabulary, asked = vocabulary_and_asked
    index = _index(vocabulary)
    assert index._deletion_table().longest, "the table is used"
    found = index.near_words_each(asked, 1000)
    assert found == _trigram_path(index, asked, 1000)
    assert found == [_scanned(index, word) for word in asked]
    assert found == _in_numpy_steps(index, asked, 1000)  # few candidates are compared one by one: the same words
    assert index.near_words_each(asked, 2) == [near[:2] for near in found]  # the first few of each: the same order


def test_a_table_made_before_rows_were_added_finds_what_one_made_after_finds() -> None:
    rng = np.random.default_rng(4)
    vocabulary = sorted({"".join(rng.choice(list("abcdefgh"), int(rng.integers(3, 15)))) for _ in range(3000)})
    titles = [" ".join(rng.choice(vocabulary, 6)) for _ in range(900)]
    df = pd.DataFrame({"title": titles, "abstract": ["x"] * len(titles)})
    grown = SearchIndex(df.iloc[:300])
    first = grown._deletion_table()
    grown.word_ids(["x"])  # the vocabulary's hashes too
    grown.sync(df)  # the new title words join the table made for the first 300 rows, the new words the hashes
    assert grown._vocab._hashed is not None
    every = grown._vocab.words()
    assert grown.word_ids([*every, "zzz"]) == [grown.word_id(w) for w in every] + [None] == [*range(len(every)), None]
    assert grown._deletions is not first and grown._deletions is not None and grown._deletions.longest
    fresh = SearchIndex(df)
    made = fresh._deletion_table()
    # word ids differ (the abstracts' words are numbered after each build's titles): the words are compared
    assert sorted(grown._vocab.words_of(grown._deletions.ids)) == sorted(fresh._vocab.words_of(made.ids))
    assert sorted(fresh._vocab.words_of(made.ids)) == sorted(_title_words(fresh))
    for table in (grown._deletions, made):  # the keys in order of their top bits, each group where it starts
        top = (table.keys >> 16).astype(np.int64)
        assert (np.diff(top) >= 0).all()
        assert table._starts.tolist() == np.searchsorted(top, np.arange(len(table._starts))).tolist()

    def entries(index: SearchIndex, table: DeletionTable) -> list[tuple[int, str]]:
        return sorted(zip(table.keys.tolist(), index._vocab.words_of(table.ids[table.ranks]), strict=True))

    assert entries(grown, grown._deletions) == entries(fresh, made)
    asked = [w[:2] + w[3:] for w in vocabulary[::7]] + [w[::-1] for w in vocabulary[::11]]
    assert [[(grown.word(i), e) for i, e in near] for near in grown.near_words_each(asked, 1000)] == [
        [(fresh.word(i), e) for i, e in near] for near in fresh.near_words_each(asked, 1000)
    ]
    assert (
        fresh.near_words_each(asked, 1000) == _trigram_path(fresh, asked, 1000) == _in_numpy_steps(fresh, asked, 1000)
    )


def test_a_library_with_more_title_words_than_the_table_holds_has_none(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(DeletionTable, "MOST_WORDS", 40)
    df = _frame([f"word{chr(97 + i)}{chr(97 + j)}" for i in range(5) for j in range(7)])  # 35 title words
    small = SearchIndex(df)
    assert small._deletion_table().longest
    more = pd.DataFrame({"title": ["wordzz worday wordaz wordby wordcz wordyy"], "abstract": ["x"]})
    small.sync(pd.concat([df, more], ignore_index=True))
    assert small._deletions is not None and not small._deletions.longest, "41 title words: switched off"
    large = _index([f"word{chr(97 + i)}{chr(97 + j)}" for i in range(6) for j in range(7)])  # 42 title words
    assert not large._deletion_table().longest
    assert large.near_words("wodrac", 10) == _trigram_path(large, ["wodrac"], 10)[0] != []


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.text("abcé\U0001d11e", min_size=1, max_size=6), min_size=0, max_size=400, unique=True),
    st.lists(st.text("abcéd", min_size=0, max_size=6), max_size=20),
    st.booleans(),
)
def test_a_querys_words_looked_up_together_are_found_as_one_by_one(
    vocab: list[str], probes: list[str], hashed_first: bool
) -> None:
    vocabulary = index_module._Vocabulary()
    vocabulary.add(vocab[: len(vocab) // 2])
    if hashed_first:
        vocabulary.find_each(["a"])  # the hashes of the first half: the second half joins them
    vocabulary = vocabulary.copy()  # as an index being extended copies it: the hashes go along
    vocabulary.add(vocab[len(vocab) // 2 :])
    assert (vocabulary._hashed is not None) == hashed_first
    asked = [*probes, *vocab[::7]]
    assert vocabulary.find_each(asked) == [vocabulary.find(word) for word in asked]
    assert vocabulary.find_each(asked) == [vocab.index(word) if word in vocab else None for word in asked]


def test_a_word_whose_hash_another_word_has_is_told_apart_by_its_bytes() -> None:
    vocabulary = index_module._Vocabulary()
    vocabulary.add(["merging", "model", "surgery"])
    key = hash("model")
    # as if "merging" and "surgery" had the hash of "model", and sorted before it
    vocabulary._hashed = np.array([key, key, key], np.int64), np.array([0, 2, 1], np.int32)
    assert vocabulary.find_each(["model", "modell"]) == [1, None]
    vocabulary._hashed = np.array([key, key], np.int64), np.array([0, 2], np.int32)  # "model" not among them
    assert vocabulary.find_each(["model"]) == [None]


def test_a_large_vocabulary_finds_words_by_bisection_and_holds_no_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(index_module, "_HASHED_WORDS", 3)
    vocabulary = index_module._Vocabulary()
    vocabulary.add(["merging", "model"])
    assert vocabulary.find_each(["model", "x"]) == [1, None] and vocabulary._hashed is not None
    vocabulary.add(["surgery", "task"])  # four words: the hashes are dropped, not extended
    assert vocabulary.find_each(["task", "merging", "y"]) == [3, 0, None] and vocabulary._hashed is None


@pytest.mark.parametrize("seed", [1, 2])
def test_completions_of_a_short_prefix_are_its_most_frequent_words_as_a_full_sort_finds(seed: int) -> None:
    rng = np.random.default_rng(seed)
    vocabulary = sorted({"".join(rng.choice(list("abcdé"), int(rng.integers(2, 9)))) for _ in range(4000)})
    weights = 1 / np.arange(1, len(vocabulary) + 1) ** 0.7
    rng.shuffle(weights)
    titles = [" ".join(rng.choice(vocabulary, 5, p=weights / weights.sum())) for _ in range(1500)]
    abstracts = [" ".join(rng.choice(vocabulary, 12, p=weights / weights.sum())) for _ in range(1500)]
    index = SearchIndex(pd.DataFrame({"title": titles, "abstract": abstracts}))
    every = [index.word(i) for i in range(index.vocab_size)]
    sampled = 0
    for prefix in ["", "a", "b", "é", "ab", "ca", "dé", "abc", "eee"]:
        words = sorted(w for w in every if w.startswith(prefix) and w != prefix)
        freq = {w: index.doc_freq(index.word_id(w) or 0) for w in words}
        for limit in (1, 2, 5, 16, 40):
            # the most frequent, in code-point order among equals; all of them in code-point order if few
            expected = words if len(words) <= limit else sorted(words, key=lambda w: -freq[w])[:limit]
            assert [index.word(i) for i in index.completions(prefix, limit)] == expected, (prefix, limit)
            sampled += len(words) > index_module._SAMPLE_EVERY * limit
    assert sampled > 10, "the sampled bound was used"


def test_a_small_librarys_typo_table_and_word_hashes_are_made_as_its_index_is_synced(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    words = [f"word{chr(97 + i)}{chr(97 + j)}" for i in range(5) for j in range(7)]
    small = _index(words)  # before any query: its first typo'd keystroke does not wait for them
    assert small._deletions is not None and small._deletions.longest and small._vocab._hashed is not None
    monkeypatch.setattr(DeletionTable, "MOST_WORDS", 10)
    monkeypatch.setattr(index_module, "_HASHED_WORDS", 10)
    large = _index(words)
    assert large._deletions is not None and not large._deletions.longest and large._vocab._hashed is None
    assert large.word_ids(["wordab", "wordzz"]) == [small.word_id("wordab"), None]
    assert large.near_words("wodrab", 5) == small.near_words("wodrab", 5) != []
