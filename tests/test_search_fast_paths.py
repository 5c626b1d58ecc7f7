"""Search fast paths: each gives exactly the ranking of the plain computation it shortcuts."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

import paper_widgets.search.index as index_module
from paper_widgets.data.text import fold, words
from paper_widgets.search import engine
from paper_widgets.search.engine import SearchIndex


def _library(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    """Titles and abstracts from one made-up vocabulary (with Zipf-like word frequencies), some with a short name."""
    rng = np.random.default_rng(seed)
    syllables = ["ka", "lor", "mi", "sen", "tu", "var", "no", "res", "di", "gan", "hu", "pel"]
    vocabulary = sorted({"".join(rng.choice(syllables, rng.integers(2, 5))) for _ in range(1500)})
    weights = 1 / np.arange(1, len(vocabulary) + 1)
    weights /= weights.sum()

    def text(count: int) -> str:
        return " ".join(rng.choice(vocabulary, count, p=weights))

    titles = [
        (f"{text(1).title()}Net: " if rng.random() < 0.3 else "") + text(int(rng.integers(3, 9))).title()
        for _ in range(n)
    ]
    abstracts = [f"{text(40)} for the {text(30)}" for _ in range(n)]
    published = pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    upvotes = pd.array(rng.integers(0, 50, n), dtype="Int64")
    return pd.DataFrame({"title": titles, "abstract": abstracts, "published": published, "upvotes": upvotes})


def _typo(rng: np.random.Generator, text: str) -> str:
    at = int(rng.integers(1, len(text) - 1))
    return text[:at] + text[at + 1] + text[at] + text[at + 2 :]


def _queries(df: pd.DataFrame, count: int = 60, seed: int = 6) -> list[str]:
    """Typo'd titles, titles being typed, two abstract words, short names, single words."""
    rng = np.random.default_rng(seed)
    found = []
    for row in rng.choice(len(df), count, replace=False).tolist():
        title, abstract = df["title"].iloc[row], df["abstract"].iloc[row].split()
        found += [_typo(rng, title), title[: int(rng.integers(4, len(title)))], " ".join(rng.choice(abstract, 2))]
        found += [
            title.split(":")[0] if ":" in title else abstract[0],
            abstract[int(rng.integers(len(abstract)))] + " ",
        ]
    return found


@pytest.fixture(scope="module")
def library() -> tuple[pd.DataFrame, SearchIndex, list[str]]:
    df = _library()
    return df, SearchIndex(df), _queries(df)


def _candidates(index: SearchIndex, query: str) -> tuple[np.ndarray, ...]:
    parsed = engine._Query.parse(query)
    rows, coverage, bm25, *_ = engine._Scores(index, engine._terms(index, parsed), None).run()
    return rows, coverage, bm25


@pytest.mark.parametrize("keep", [1, 10, 40])
def test_title_rescoring_of_the_best_few_gives_their_scores_and_order_from_scoring_all(
    library: tuple[pd.DataFrame, SearchIndex, list[str]], keep: int
) -> None:
    _, index, queries = library
    pruned = 0
    for query in queries:
        rows, coverage, bm25 = _candidates(index, query)
        parsed = engine._Query.parse(query)
        every = engine._rescore(index, rows, coverage, bm25, parsed)
        best = engine._rescore(index, rows, coverage, bm25, parsed, keep)
        assert np.isfinite(every).all()
        order = np.lexsort((rows, -every))[:keep]
        assert np.lexsort((rows, -best))[:keep].tolist() == order.tolist(), query
        assert best[order].tolist() == every[order].tolist(), query  # the very same floats
        assert (best <= every).all(), "a row not compared in full scores less than it would, never more"
        rest = np.ones(len(rows), bool)
        rest[order] = False
        assert (best[rest] <= best[order].min()).all()  # ties go to the lower row
        pruned += int((best[rest] < every[rest]).sum())
    assert pruned > 0, "every row was compared in full: the bar was never used"


@given(st.text(alphabet=st.characters(max_codepoint=127)))
def test_folding_ascii_text_skips_decomposition_with_the_same_result(text: str) -> None:
    # the same text behind an accented word takes the Unicode path: its fold is "e" and this text's
    assert fold(text) == fold("é " + text)[2:]


@given(st.text(min_size=1, max_size=80))
def test_one_words_trigrams_are_those_of_the_batch_computation(text: str) -> None:
    for word in words(text):  # what near_words is asked about: folded words
        assert np.array_equal(index_module._word_trigrams(word), np.unique(index_module._trigrams([word])[0]))


def test_vocabulary_lookups_find_words_added_later() -> None:
    df = _library(300)
    index = SearchIndex(df.iloc[:200])
    index.extend(df.iloc[200:])  # new words: the vocabulary's arrays are replaced
    words = [index.word(i) for i in range(index.vocab_size)]
    assert [index.word_id(w) for w in words] == list(range(index.vocab_size))
    assert index.word_id(words[0] + "zzz") is None
    prefix = words[-1][:2]
    assert sorted(index.word(i) for i in index._vocab.extensions(prefix)) == sorted(
        w for w in words if w.startswith(prefix) and w != prefix
    )


def _reference_bm25(index: SearchIndex, plan: list[tuple[engine._Term, list[engine._Word]]]) -> dict[int, float]:
    """BM25F of every row, summed stand-in by stand-in in plain Python from each list's postings."""
    scores: dict[int, float] = {}
    for _, stand_ins in plan:
        for word in stand_ins:
            pseudo: dict[int, float] = {}
            for postings in word.lists:
                for row, tf in zip(postings.rows.tolist(), postings.tf.tolist(), strict=True):
                    norm = float(postings.norms[row])
                    pseudo[row] = pseudo.get(row, 0.0) + postings.weight * engine._K1 * tf / norm
            for row, value in pseudo.items():
                scores[row] = scores.get(row, 0.0) + word.factor * value / (engine._K1 + value)
    return scores


def test_postings_read_together_score_as_read_term_by_term_and_as_bm25f_says(
    library: tuple[pd.DataFrame, SearchIndex, list[str]],
) -> None:
    _, index, queries = library
    for query in queries[:60]:
        scores = engine._Scores(index, engine._terms(index, engine._Query.parse(query)), None)
        bits = np.uint8 if len(scores.plan) <= 8 else np.uint16
        together = np.zeros(len(index), np.float32), np.zeros((2, len(index)), bits)
        scores._read(*together, 0, len(scores.plan))
        apart = np.zeros(len(index), np.float32), np.zeros((2, len(index)), bits)
        for t in range(len(scores.plan)):
            scores._read(*apart, t, t + 1)
        assert np.array_equal(together[0], apart[0]) and np.array_equal(together[1], apart[1]), query
        reference = _reference_bm25(index, scores.plan)
        assert sorted(reference) == np.flatnonzero(together[0]).tolist()
        np.testing.assert_allclose(together[0][list(reference)], list(reference.values()), rtol=1e-5)
        for t, (_, stand_ins) in enumerate(scores.plan):  # bit t: the rows holding term t in that field
            for field, in_title in enumerate((True, False)):
                held = {r for w in stand_ins for p in w.lists if p.in_title == in_title for r in p.rows.tolist()}
                assert set(np.flatnonzero(together[1][field] & bits(1 << t)).tolist()) == held


def test_a_small_librarys_titles_are_decoded_when_first_asked_for_and_kept() -> None:
    df = _library(400)
    index = SearchIndex(df.iloc[:300])
    everything = index._titles.texts(np.arange(300), index._vocab)
    assert index.titles([5, 7, 5]) == [everything[5], everything[7], everything[5]]
    assert sum(text is not None for text in index._decoded_titles) == 2, "only the titles asked for are decoded"
    index.extend(df.iloc[300:])  # appended rows: their titles too, once asked for
    rows = np.random.default_rng(3).integers(0, 400, 200).tolist()
    assert index.titles(rows) == [index._titles.texts(np.array([row]), index._vocab)[0] for row in rows]


def test_how_many_postings_are_read_at_once_changes_no_result(
    library: tuple[pd.DataFrame, SearchIndex, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    df, index, queries = library
    together = [engine.search_rows(df, query, 10, index=index) for query in queries[:40]]
    monkeypatch.setattr(engine, "_READ_TOGETHER", 1)  # a term at a time
    for query, (rows, scores) in zip(queries[:40], together, strict=True):
        apart_rows, apart_scores = engine.search_rows(df, query, 10, index=index)
        assert apart_rows.tolist() == rows.tolist() and apart_scores.tolist() == scores.tolist(), query


def test_a_result_takes_the_served_frames_columns_once_and_another_frames_afresh() -> None:
    df = _library(300)
    index = SearchIndex(df)  # serves df
    calls: list[pd.DataFrame] = []

    def counted(frame: pd.DataFrame) -> dict[str, object]:
        calls.append(frame)
        return dict(engine.column_arrays(frame))

    first = index.served_value(df, counted)
    assert index.served_value(df, counted) is first and calls == [df]  # kept for the frame served
    other = df.assign(title=df["title"].str.upper())
    assert index.served_value(other, counted) is not first and len(calls) == 2  # not the frame served: computed
    query = df["title"].iloc[7]
    assert engine.search(df, query, 5, index=index)["title"].iloc[0] == query
    index.sync(other)  # the same rows' texts changed: now it serves ``other``, and shows other's columns
    assert engine.search(other, query, 5, index=index)["title"].iloc[0] == query.upper()
    assert index.served_value(other, counted) is index.served_value(other, counted) and len(calls) == 3


@given(
    st.lists(st.text("abcé", min_size=1, max_size=6), min_size=0, max_size=900, unique=True),
    st.lists(st.text("abcéd", min_size=0, max_size=6), max_size=20),
)
@example([f"{i:b}" for i in range(1, 700, 2)] + ["c" * 9], ["0", "1", "10", "1000000", "1111"])
def test_vocabulary_lookups_through_fences_find_what_a_sorted_list_finds(vocab: list[str], probes: list[str]) -> None:
    vocabulary = index_module._Vocabulary()
    vocabulary.add(vocab[: len(vocab) // 2])
    vocabulary.find("b")  # the fences of the words so far
    vocabulary.add(vocab[len(vocab) // 2 :])  # the fences of the first half are dropped with its order
    for word in [*probes, *vocab[::37]]:
        assert vocabulary.find(word) == (vocab.index(word) if word in vocab else None)
        ids = vocabulary.extensions(word).tolist()
        assert [vocab[i] for i in ids] == sorted(w for w in vocab if w.startswith(word) and w != word)


def test_near_words_finds_every_title_word_within_its_typos_as_a_full_scan_does() -> None:
    df = _library(1500)
    index = SearchIndex(df)
    title_words = sorted({w for title in df["title"] for w in words(title)})
    rng = np.random.default_rng(3)
    asked = [_typo(rng, w) for w in title_words[::5]] + ["kakakakaka", "lorlorlorlor", "zzzzz"]
    # an edit destroys at most four of a word's trigrams (one per letter): only a word of more than four per typo
    # keeps one in common with every word within its typos (a shorter one may be missed: "hnuo" for "huno")
    asked = [word for word in asked if len(word) > 4 * index_module.max_typos(word) > 0]
    _assert_near_words_match_a_full_scan(index, title_words, asked)


def test_near_words_of_words_with_letters_added_or_dropped_are_those_a_full_scan_finds() -> None:
    """The trigrams a title word must share depend on its length: two letters longer or shorter than the word
    asked about, both typos are an insertion or a deletion, which destroy fewer trigrams than a transposition."""
    df = _library(1500)
    index = SearchIndex(df)
    title_words = sorted({w for title in df["title"] for w in words(title)})
    rng = np.random.default_rng(11)

    def edited(word: str, kinds: str) -> str:
        for kind in kinds:
            at = int(rng.integers(0, len(word)))
            letter = str(rng.choice(list("aeiklmnorstuv")))
            word = word[:at] + letter + word[at:] if kind == "+" else word[:at] + word[at + 1 :]
        return word

    asked = [edited(w, str(rng.choice(["++", "--", "+", "-", "+-"]))) for w in title_words[::4]]
    asked = [word for word in asked if len(word) > 4 * index_module.max_typos(word) > 0]
    _assert_near_words_match_a_full_scan(index, title_words, asked)


def test_near_words_of_a_whole_query_at_once_are_each_words_own() -> None:
    df = _library(800)
    index = SearchIndex(df)
    title_words = sorted({w for title in df["title"] for w in words(title)})
    rng = np.random.default_rng(8)
    typod = [_typo(rng, w) for w in title_words[::9] if len(w) > 3]
    # among them a word allowed no typo, one near nothing and a title word itself; then no words at all
    asked = [*typod[:20], "ka", "qqqqqqqq", title_words[-1], *typod[20:]]
    each = [index.near_words(word, 3) for word in asked]
    assert sum(map(bool, each)) > 20 and not each[20] and not each[21]
    assert index.near_words_each(asked, 3) == each
    assert index.near_words_each([], 3) == [] and index.near_words_each(["ka", "qqqqqqqq"], 3) == [[], []]


def test_a_result_frame_put_together_from_blocks_is_the_frame_the_constructor_makes() -> None:
    from paper_widgets.store import shown_column

    df = _library(50)
    df["authors"] = pd.array([["Ada", "Bo"]] * 50, dtype=pd.ArrowDtype(pa.list_(pa.string())))
    df["n_authors"] = pd.array(range(50), dtype="int64[pyarrow]")
    df.index = pd.Index([f"k{i}" for i in range(50)])
    rows, scores = np.array([7, 3, 41]), np.array([0.9, 0.5, 0.1], np.float32)
    extra = {"title": pd.array(["x", "y", "z"], dtype="str"), "tags": pd.array(np.array([[], ["t"], []], object))}
    found = engine.result_frame(engine.column_arrays(df), df.index, rows, scores, extra)
    expected = pd.DataFrame(
        {name: (extra[name] if name in extra else shown_column(df[name].array.take(rows))) for name in df.columns}
        | {"tags": extra["tags"], "score": scores.astype(np.float64)},
        index=df.index[rows],
    )
    pd.testing.assert_frame_equal(found, expected)
    assert found["authors"].iloc[0] == ["Ada", "Bo"] and found["authors"].iloc[0] is not found["authors"].iloc[1]
    found.loc["k7", "title"] = "changed"  # a frame like any other: it can be edited
    assert found.loc["k7", "title"] == "changed" and df["title"].iloc[7] != "changed"
    with pytest.raises(ValueError, match="3 values"):
        engine.result_frame(engine.column_arrays(df), df.index, rows, scores, {"note": pd.array(["a"], dtype="str")})


def _assert_near_words_match_a_full_scan(index: SearchIndex, title_words: list[str], asked: list[str]) -> None:
    """Each word of ``asked`` (over 100 of them) has as near words those a scan of every title word finds
    within its typos, in near_words' order: fewest edits, most frequent, first numbered."""
    from rapidfuzz.distance import OSA

    assert len(asked) > 100
    for word in asked:
        typos = index_module.max_typos(word)
        scanned = sorted(
            (OSA.distance(word, w), -int(index.fields["title"].df[index.word_id(w)]), index.word_id(w))
            for w in title_words
            if 0 < OSA.distance(word, w) <= typos
        )
        assert index.near_words(word, 1000) == [(wid, edits) for edits, _, wid in scanned], word


_WORDS = st.text(alphabet="abcdeilnorstu", min_size=1, max_size=9)


@given(st.lists(_WORDS, min_size=1, max_size=12), st.lists(st.lists(_WORDS, max_size=25), min_size=1, max_size=8))
@example(["abc", "def"], [["abcdefg"], ["abcdefghi"], [], ["ab", "de", "xyz", "uv"]])  # length ratios 1.5 exactly, ~1.3
def test_a_titles_wratio_ceiling_is_never_under_its_wratio(
    query_words: list[str], titles_words: list[list[str]]
) -> None:
    from rapidfuzz import fuzz, process

    query, titles = " ".join(query_words), [" ".join(title) for title in titles_words]
    ratios = engine._title_scores(query, titles, fuzz.ratio, 0)  # as the engine has them
    ceilings = engine._similarity_ceilings(query, titles, ratios)
    wratios = process.cdist([query], titles, scorer=fuzz.WRatio, dtype=np.float64)[0] / 100
    assert (ceilings >= wratios).all(), [(t, c, w) for t, c, w in zip(titles, ceilings, wratios, strict=True) if c < w]


def test_long_typod_titles_leave_uncompared_the_titles_whose_wratio_ceiling_is_under_the_bar(
    library: tuple[pd.DataFrame, SearchIndex, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    from rapidfuzz import fuzz

    df, index, _ = library
    rng = np.random.default_rng(9)
    queries = [_typo(rng, title) for title in df["title"] if len(title) > 50][:40]
    compared: list[int] = []
    title_scores = engine._title_scores

    def counted(query: str, titles: list[str], scorer: Callable[..., float], floor: float) -> np.ndarray:
        compared.extend([len(titles)] if scorer is fuzz.WRatio else [])
        return title_scores(query, titles, scorer, floor)

    def rescored(query: str) -> tuple[list[float], int]:
        rows, coverage, bm25 = _candidates(index, query)
        compared.clear()
        best = engine._rescore(index, rows, coverage, bm25, engine._Query.parse(query), 10)
        return sorted(best.tolist(), reverse=True)[:10], sum(compared)

    monkeypatch.setattr(engine, "_title_scores", counted)
    bounded = [rescored(query) for query in queries]
    unbounded_ceilings = lambda query, titles, ratios: np.ones(len(titles))  # noqa: E731 - every title may reach
    monkeypatch.setattr(engine, "_similarity_ceilings", unbounded_ceilings)
    unbounded = [rescored(query) for query in queries]
    assert [best for best, _ in bounded] == [best for best, _ in unbounded]  # the same ten scores, to the bit
    assert sum(n for _, n in bounded) < 0.9 * sum(n for _, n in unbounded)


@given(
    st.integers(0, 2**32 - 1),
    st.integers(1_000, 40_000),
    st.sampled_from([120, 130, 400]),
    st.sampled_from([3, 50, 10**6]),
)
def test_the_largest_candidates_are_the_set_a_full_selection_picks(seed: int, n: int, k: int, distinct: int) -> None:
    # few distinct values: ties at the k-th, where the set depends on the selection's algorithm; many: one set
    values = np.random.default_rng(seed).integers(0, distinct, n).astype(np.float32) / np.float32(7)
    assert set(engine._largest(values, k).tolist()) == set(np.argpartition(-values, k - 1)[:k].tolist())


@given(st.sets(st.integers(0, 10**6), min_size=1), st.sets(st.integers(0, 10**6)))
def test_the_sorted_union_of_candidates_is_numpys(a: set[int], b: set[int]) -> None:
    first, second = np.array(sorted(a), np.int64)[::-1], np.array(sorted(b), np.int64)
    assert engine._sorted_union(first, second).tolist() == np.union1d(first, second).tolist()


@pytest.mark.parametrize("rows", [[7, 3, 41], [0, 10, 20], [5], []])
def test_a_result_frames_index_and_column_labels_are_those_of_indexing_the_frame(rows: list[int]) -> None:
    df = _library(50)  # a RangeIndex: rows in a steady step keep one, others become an Index of int64
    at, scores = np.array(rows, np.int64), np.linspace(1, 0, len(rows))
    found = engine.result_frame(engine.column_arrays(df), df.index, at, scores)
    expected = df.iloc[at].assign(score=scores)
    pd.testing.assert_frame_equal(found, expected, check_index_type=True, check_column_type=True)
    assert type(found.index) is type(df.index[at]) and found.index.equals(df.index[at])
    assert found.columns.dtype == pd.Index([*df.columns, "score"]).dtype


def test_result_frames_of_the_same_columns_have_the_same_labels_each_named_on_its_own() -> None:
    df = _library(50)
    columns = engine.column_arrays(df)
    extra = {"note": pd.array(["a", None], dtype="str")}
    first = engine.result_frame(columns, df.index, np.array([3, 4]), np.array([0.5, 0.2]), extra)
    second = engine.result_frame(columns, df.index, np.array([9, 1]), np.array([0.7, 0.1]), extra)
    plain = engine.result_frame(columns, df.index, np.array([9, 1]), np.array([0.7, 0.1]))
    assert first.columns.tolist() == second.columns.tolist() == [*df.columns, "note", "score"]
    assert plain.columns.tolist() == [*df.columns, "score"] and plain.columns.dtype == first.columns.dtype
    first.columns.name = "fields"  # a frame like any other: renaming its labels leaves the others'
    assert (
        second.columns.name is None
        and engine.result_frame(columns, df.index, np.array([0, 2]), np.ones(2), extra).columns.name is None
    )


@given(
    st.lists(
        st.tuples(
            st.sampled_from([0.5, 0.25, 1.0, -np.inf]), st.one_of(st.none(), st.integers(0, 3)), st.integers(0, 4)
        ),
        min_size=1,
        max_size=30,
    ),
    st.one_of(st.none(), st.integers(1, 12)),
)
@example([(1.0, 0, 1), (0.5, 0, 1), (0.5, 3, 1)], 2)  # the last place tied with a row left out: the upvotes decide
def test_the_best_rows_come_by_score_then_upvotes_then_date_then_the_frames_order(
    papers: list[tuple[float, int | None, int]], limit: int | None
) -> None:
    scores = np.array([score for score, _, _ in papers], np.float32)
    df = pd.DataFrame(
        {
            "upvotes": pd.array([votes for _, votes, _ in papers], dtype="Int64"),
            "published": pd.to_datetime([f"202{day}-01-01" if day else None for _, _, day in papers]),
        }
    )
    rows = np.arange(len(papers))[::-1].copy()  # candidates in no particular order of the frame
    scores = scores[rows]
    index = SearchIndex(pd.DataFrame({"title": [""], "abstract": [""]}))  # serves another frame: the columns are read
    order = engine._best_first(index, df, rows, scores, limit, engine.column_arrays(df))

    def rule(at: int) -> tuple[float, float, float, int]:
        score, votes, day = papers[rows[at]]
        return (-score, -(votes if votes is not None else -np.inf), -(day or -np.inf), int(rows[at]))

    assert order.tolist() == sorted(range(len(rows)), key=rule)[:limit]


def test_a_whole_similarity_is_at_most_a_whole_share_over_either_floor() -> None:
    # _over_floor clips only at the floor: the share of a perfect similarity must not pass 1 in float32
    for floor in (engine._SIMILAR_FLOOR, engine._EXACT_FLOOR):
        shares = engine._over_floor(np.array([1.0, floor, 0.0], np.float32), floor)
        assert shares[0] <= 1 and shares[0] > 0.999 and shares[1] == 0 and shares[2] == 0
