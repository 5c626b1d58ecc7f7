"""Search: ranking on the seed library, filters and sorts, index extension, match spans."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import CARD_SEED, PAIR_SEED

import paper_widgets
import paper_widgets.library as library
from paper_widgets.data.text import fold
from paper_widgets.search.engine import STOP_WORDS, SearchIndex, match_spans, search


def titles(result: pd.DataFrame) -> list[str]:
    return result["title"].tolist()


def rank_of(result: pd.DataFrame, prefix: str) -> int:
    found = [i for i, title in enumerate(result["title"]) if title.startswith(prefix)]
    return found[0] if found else -1


def frame(rows: list[dict[str, object]]) -> pd.DataFrame:
    df = pd.DataFrame(rows)
    df["published"] = pd.to_datetime(df["published"])
    df["upvotes"] = df["upvotes"].astype("Int64")
    return df


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("AdaMergng: Adaptiv Model Merging for Multi-Task Learnng", "AdaMerging: Adaptive Model Merging"),
        ("muisque multihop questions via single hop question compositon", "MuSiQue: Multihop Questions"),
        ("Do Langauge Models Use Thier Depth Efficiently", "Do Language Models Use Their Depth"),
        ("baleen robust multihop reasoning at scale", "Baleen: Robust Multi-Hop Reasoning"),
        ("robust multitask gradient bosting", "Robust-Multi-Task Gradient Boosting"),
    ],
)
def test_typo_titles_rank_their_paper_first(lib: library.Library, query: str, title: str) -> None:
    assert titles(lib.search(query))[0].startswith(title)


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("AdaMerging", "AdaMerging:"),
        ("MuSiQue", "MuSiQue:"),
        ("musique", "MuSiQue:"),
        ("Muisque", "MuSiQue:"),  # a typo'd short name
        ("adamerg", "AdaMerging:"),  # still being typed
        ("Rep-MTL", "Rep-MTL:"),
        ("repmtl", "Rep-MTL:"),
        ("inboxbart", "In-BoXBART:"),
        ("Do Language Models Use Th", "Do Language Models Use Their Depth"),
        ("safe failure detection", "SAFE: Multitask Failure Detection"),
    ],
)
def test_partial_titles_and_short_names_rank_in_the_top_few(lib: library.Library, query: str, title: str) -> None:
    assert 0 <= rank_of(lib.search(query, 5), title) < 3


def test_an_exact_title_wins(lib: library.Library) -> None:
    for title in lib.df["title"].iloc[::10]:
        assert lib.search(title, 3)["title"].iloc[0] == title


def test_words_only_in_an_abstract_find_the_paper(lib: library.Library) -> None:
    # "conformal" and "backtrack" occur in no title and in one abstract (SAFE's)
    assert not lib.df["title"].map(fold).str.contains("conformal|backtrack").any()
    assert titles(lib.search("backtrack"))[0].startswith("SAFE:")
    assert titles(lib.search("conformal prediction"))[0].startswith("SAFE:")
    assert titles(lib.search("residual stream sublayers"))[0].startswith("Do Language Models Use Their Depth")


def test_case_punctuation_hyphens_and_accents_do_not_matter(lib: library.Library) -> None:
    hyphenated = titles(lib.search("multi task", 10))
    assert sum("Multi-Task" in t or "Multi-task" in t for t in hyphenated) >= 5
    assert titles(lib.search("ROBUST multi-task GRADIENT boosting!"))[0] == "Robust-Multi-Task Gradient Boosting"
    assert titles(lib.search("robust multitask gradiënt bóosting"))[0] == "Robust-Multi-Task Gradient Boosting"


def test_multi_word_queries_favour_papers_matching_every_word() -> None:
    df = frame(
        [
            {"title": "Graph methods", "abstract": "graph graph graph graph", "published": "2024-01-01", "upvotes": 1},
            {"title": "Neural methods", "abstract": "neural neural neural", "published": "2024-01-01", "upvotes": 1},
            {"title": "A study", "abstract": "a graph neural model", "published": "2024-01-01", "upvotes": 1},
        ]
    )
    assert search(df, "graph neural ")["title"].iloc[0] == "A study"


@pytest.mark.parametrize("query", ["", "   ", "\t\n", "?!.", " -- :: ", "«»"])
def test_empty_whitespace_and_punctuation_queries_list_everything_newest_first(
    lib: library.Library, query: str
) -> None:
    result = lib.search(query, limit=None)
    assert len(result) == len(lib.df)
    dated = result["published"].dropna()
    assert dated.is_monotonic_decreasing
    assert result["published"].iloc[: len(dated)].notna().all()  # unknown dates last
    assert (result["score"] == 0).all()
    assert len(lib.search(query)) == 20


def test_a_pasted_abstract_finds_its_paper(lib: library.Library) -> None:
    for row in lib.df.sample(8, random_state=0).itertuples():
        result = lib.search(row.abstract, 3)
        assert result["key"].iloc[0] == row.key


def test_result_is_df_rows_plus_score_best_first(lib: library.Library) -> None:
    result = lib.search("multihop question answering", 7)
    assert len(result) == 7
    assert list(result.columns) == [*lib.df.columns, "score"]
    assert result["score"].is_monotonic_decreasing
    pd.testing.assert_frame_equal(result.drop(columns="score"), lib.df.loc[result.index])
    assert lib.search("zzqxv").empty


def test_a_reopened_librarys_results_are_its_df_rows_with_annotations_and_fresh_lists(tmp_path: Path) -> None:
    # Reopened, the library's list columns are Arrow lists and its annotations are joined only onto
    # the rows shown: the result frame (built in one go) must still be exactly those df rows.
    paper_widgets.load_sample(store=tmp_path)
    lib = paper_widgets.load_sample(store=tmp_path)
    assert lib._papers["authors"].dtype != object, "the library came from the cache"
    key = lib.search("Gradient Surgery for Multi-Task Learning", 1)["key"].iloc[0]
    lib.set_note(key, "**PCGrad**"), lib.tag(key, "mtl", "to-cite"), lib.set_status(key, "reading")
    result = lib.search("gradient surgery multi task", 5)
    assert result["key"].iloc[0] == key
    assert list(result.columns) == [*lib.df.columns, "score"]
    pd.testing.assert_frame_equal(result.drop(columns="score"), lib.df.loc[result.index])
    first = result.iloc[0]
    assert (first["note"], first["tags"], first["status"]) == ("**PCGrad**", ["mtl", "to-cite"], "reading")
    assert all(isinstance(cell, list) for column in ("authors", "sources", "tags") for cell in result[column])
    result["authors"].iloc[0].append("Someone Else")  # a fresh list per cell: the library is unchanged
    result["tags"].iloc[0].append("changed")
    again = lib.search("gradient surgery multi task", 5).iloc[0]
    assert "Someone Else" not in again["authors"] and again["tags"] == ["mtl", "to-cite"]
    assert lib.search("zzqxv").columns.tolist() == [*lib.df.columns, "score"]


def test_year_and_upvote_filters(lib: library.Library) -> None:
    in_2024 = lib.search("", limit=None, year=2024)
    assert len(in_2024) == (lib.df["published"].dt.year == 2024).sum() > 0
    ranged = lib.search("learning", limit=None, year=(2023, 2024))
    assert len(ranged) and ranged["published"].dt.year.between(2023, 2024).all()
    since = lib.search("", limit=None, year=(2025, None))
    assert len(since) and (since["published"].dt.year >= 2025).all()
    # The sample dumps carry no upvote counts (the number after a card's date counts comments).
    lib = library.Library.from_frame(lib.df.assign(upvotes=[i % 4 for i in range(len(lib.df))]))
    popular = lib.search("", limit=None, min_upvotes=2)
    assert len(popular) == (lib.df["upvotes"] >= 2).sum() > 0
    assert (popular["upvotes"] >= 2).all()


def test_tag_and_status_filters(lib: library.Library) -> None:
    keys = lib.search("multitask", 3)["key"].tolist()
    lib.tag(keys[0], "survey", "mtl")
    lib.tag(keys[1], "mtl")
    lib.set_status(keys[1], "read")
    assert set(lib.search("", limit=None, tags=["mtl"])["key"]) == set(keys[:2])
    assert lib.search("multitask", tags=["mtl", "survey"])["key"].tolist() == [keys[0]]
    assert lib.search("multitask", tags="survey")["key"].tolist() == [keys[0]]
    assert lib.search("", limit=None, status="read")["key"].tolist() == [keys[1]]
    assert keys[1] not in lib.search("multitask", limit=None, status=["unread", "reading"])["key"].tolist()
    with pytest.raises(ValueError, match="tags"):
        search(lib.df.drop(columns="tags"), "x", tags="mtl")


def test_sort_by_newest_and_upvotes(lib: library.Library) -> None:
    newest = lib.search("multi task learning", limit=None, sort="newest")
    dated = newest["published"].dropna()
    assert len(dated) > 5 and dated.is_monotonic_decreasing
    upvoted = lib.search("", limit=None, sort="upvotes")
    known = upvoted["upvotes"].dropna()
    assert known.is_monotonic_decreasing and upvoted["upvotes"].iloc[: len(known)].notna().all()
    with pytest.raises(ValueError, match="sort"):
        lib.search("x", sort="title")


def test_extending_the_index_equals_a_full_rebuild(lib: library.Library) -> None:
    df = lib.df
    grown = SearchIndex(df.iloc[:50])
    grown.sync(df.iloc[:50].copy())  # same rows, new frame: nothing to do
    assert len(grown) == 50
    grown.extend(df.iloc[50:100])
    grown.sync(df)  # the frame gained rows at the end: only those are indexed
    full = SearchIndex(df)
    assert grown.vocab_size == full.vocab_size
    vocabulary = full.titles(range(len(df))) + df["abstract"].map(fold).tolist()
    for name, field in full.fields.items():
        other = grown.fields[name]
        np.testing.assert_array_equal(field.lengths, other.lengths)
        for word in {w for text in vocabulary for w in text.split()}:  # word ids differ, postings not
            ours, theirs = full.word_id(word), grown.word_id(word)
            assert field.df[ours] == other.df[theirs]
            for a, b in zip(field.postings(ours), other.postings(theirs), strict=False):
                np.testing.assert_array_equal(a, b)
    for query in ["multitask learning", "AdaMergng", "graph neu", "safe", ""]:
        pd.testing.assert_frame_equal(search(df, query, index=grown), search(df, query, index=full))


def test_sync_rebuilds_when_rows_change_and_rejects_a_stale_index(lib: library.Library) -> None:
    df = lib.df.copy()
    index = SearchIndex(df)
    with pytest.raises(ValueError, match="sync"):
        search(df.iloc[:10], "merging", index=index)
    changed = df.copy()
    changed.loc[0, "abstract"] = "A zebrafish study."
    index.sync(changed)
    assert search(changed, "zebrafish", index=index)["key"].tolist() == [df["key"].iloc[0]]
    index.sync(df.iloc[:10])
    assert search(df.iloc[:10], "zebrafish", index=index).empty


def test_index_round_trips_through_plain_arrays(lib: library.Library) -> None:
    index = SearchIndex(lib.df.iloc[:100])
    index.sync(lib.df)  # two segments, then more rows: every part of the index is in the arrays
    arrays = index.to_arrays()
    assert all(a.dtype != object for a in arrays.values()), "nothing that would need pickle"
    restored = SearchIndex.from_arrays(arrays)
    for query in ("merging", "gradent surgery", "multi-ta", "AdaMerging"):
        pd.testing.assert_frame_equal(search(lib.df, query, index=restored), search(lib.df, query, index=index))
    restored.sync(pd.concat([lib.df, lib.df.iloc[:3]], ignore_index=True))  # and it still extends
    assert len(restored) == len(lib.df) + 3
    with pytest.raises(KeyError):
        SearchIndex.from_arrays({k: v for k, v in arrays.items() if k != "hashes"})


def test_match_spans_on_raw_text() -> None:
    text = "Robust-Multi-Task Gradient Boosting for Café Modèles (MTL)"
    spans = match_spans(text, "multitask cafe modele")
    assert [text[a:b] for a, b in spans] == ["Multi-Task", "Café", "Modèles"]
    assert [text[a:b] for a, b in match_spans(text, "multi task gradent")] == ["Multi", "Task", "Gradient"]
    assert [text[a:b] for a, b in match_spans(text, "mtl boost")] == ["Boosting", "MTL"]
    assert match_spans(text, "boost ") == []  # a finished word is not a prefix
    decomposed = "Cafe\u0301 <b>au lait</b>"
    assert [decomposed[a:b] for a, b in match_spans(decomposed, "CAFÉ b")] == ["Cafe\u0301", "b", "b"]
    assert [decomposed[a:b] for a, b in match_spans(decomposed, "bau")] == ["b>au"]
    assert match_spans(text, "") == match_spans("", "cafe") == []


def test_a_large_librarys_index_is_cached_in_the_store_and_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(library, "INDEX_CACHE_MIN_PAPERS", 100)  # the seeds count as large here
    expected = library.load_sample().search("gradient surgery", limit=5)["key"].tolist()

    def no_building(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the index was built again instead of coming from the cache")

    monkeypatch.setattr(SearchIndex, "extend", no_building)
    assert library.load_sample().search("gradient surgery", limit=5)["key"].tolist() == expected


def test_small_libraries_are_indexed_without_a_cache_file(paper_widgets_home: Path) -> None:
    lib = library.load_sample()
    parsed = sorted((paper_widgets_home / "cache").glob("*"))
    lib.search("gradient surgery")
    assert sorted((paper_widgets_home / "cache").glob("*")) == parsed, "no index file for 145 papers"


# -- common words ------------------------------------------------------------------------------------


def test_common_words_do_not_decide_a_match_nor_get_highlighted(lib: library.Library) -> None:
    query = "forget a behaviour by negating"
    found = lib.search(query, limit=None)
    content = ("forget", "behaviour", "negating")
    texts = (found["title"] + " " + found["abstract"]).map(fold)
    assert 0 < len(found) < 20, f"{len(found)} of {len(lib)} papers: 'a' and 'by' must not match them all"
    assert texts.map(lambda t: any(w in t.split() for w in content)).all(), "every match has a content word"
    for text in found["abstract"]:
        highlighted = {fold(text[a:b]) for a, b in match_spans(text, query)}
        assert highlighted and not highlighted & STOP_WORDS, highlighted
    # alone, common words are what the user asked for
    assert fold("by") in {fold(t[a:b]) for t in found["abstract"][:1] for a, b in match_spans(t, "by")}
    assert len(lib.search("for", limit=None)) > len(found)


def test_a_common_word_typed_last_completes_to_content_words_only(lib: library.Library) -> None:
    text = "An approach for all tasks"
    assert [text[a:b] for a, b in match_spans(text, "tasks a")] == ["approach", "tasks"]
    assert [text[a:b] for a, b in match_spans(text, "tasks for")] == ["tasks"]
    assert lib.search("gradient surgery fo", limit=1)["title"].tolist() == ["Gradient Surgery for Multi-Task Learning"]


# -- no step worse than linearithmic (sized to show the curve; bounds generous for a shared machine) ------


def _best_time(action: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def test_match_spans_is_linear_in_a_long_hyphen_joined_token() -> None:
    small, large = "-".join(["ab"] * 2_000), "-".join(["ab"] * 16_000)  # 6 kB and 48 kB
    assert len(match_spans(large, "ab")) == 16_000
    t_small = _best_time(lambda: match_spans(small, "abx"))
    t_large = _best_time(lambda: match_spans(large, "abx"))
    assert t_large < 2.0, f"{t_large:.2f} s for 48 kB (quadratic took minutes)"
    assert t_large < 24 * t_small + 0.05, f"8x the input took {t_large / t_small:.0f}x the time (quadratic: 64x)"


def test_index_build_is_linear_in_one_unbroken_token() -> None:
    def build(size: int) -> SearchIndex:
        return SearchIndex(pd.DataFrame({"title": ["t"], "abstract": ["x" * size + " rest"]}))

    assert build(1 << 20).word_id("x" * (1 << 20)) is not None
    t_small = _best_time(lambda: build(1 << 18))
    t_large = _best_time(lambda: build(1 << 21))  # 2 MB
    assert t_large < 3.0, f"{t_large:.2f} s for one 2 MB token (was 4 s per MB, growing)"
    assert t_large < 24 * t_small + 0.1, f"8x the input took {t_large / t_small:.0f}x the time"


def test_adding_papers_keeps_string_columns_in_one_chunk(tmp_path: Path) -> None:
    """pandas' take on a chunked Arrow string column copies the whole column: one chunk after add."""
    (tmp_path / "a.txt").write_text(CARD_SEED.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.txt").write_text(PAIR_SEED.read_text(encoding="utf-8"), encoding="utf-8")
    lib = paper_widgets.load(tmp_path / "a.txt")
    before = len(lib)
    lib.add(tmp_path / "b.txt")
    assert len(lib) > before
    for name in ("key", "title", "abstract"):
        array = lib.df[name].array
        assert not isinstance(array, pd.arrays.ArrowStringArray) or array.__arrow_array__().num_chunks == 1, name
    assert lib.df["title"].dtype == "str"
    assert not lib.search("gradient surgery").empty


def test_a_search_after_add_takes_its_rows_from_the_grown_library(tmp_path: Path) -> None:
    # Library.search keeps the frame's column arrays between searches: add() must not leave the old ones.
    lib = paper_widgets.load(CARD_SEED, store=tmp_path)
    new = sorted(set(paper_widgets.load(PAIR_SEED, store=tmp_path).df["title"]) - set(lib.df["title"]))[0]
    assert lib.search(new, 1)["title"].iloc[0] != new  # searched once: the arrays are kept
    lib.add(PAIR_SEED)
    found = lib.search(new, 3)
    assert found["title"].iloc[0] == new
    pd.testing.assert_frame_equal(found.drop(columns="score"), lib.df.loc[found.index])


# -- ranking at scale: BM25F, title prefixes, MaxScore pruning ---------------------------------------


def _filler(rng: np.random.Generator, vocabulary: list[str], count: int) -> str:
    return " ".join(rng.choice(vocabulary, count))


def test_an_abstract_about_a_topic_beats_a_title_that_mentions_one_of_its_words() -> None:
    # "graph" is in nearly every abstract but one title: scored per field, that title's idf made it win
    rng = np.random.default_rng(0)
    words = [f"w{i}" for i in range(300)]
    rows = [
        {"title": "Graph methods revisited", "abstract": f"neural {_filler(rng, words, 60)}"},
        {"title": "A study of things", "abstract": f"graph graph graph neural neural {_filler(rng, words, 60)}"},
    ]
    rows += [{"title": _filler(rng, words, 6), "abstract": f"graph {_filler(rng, words, 60)}"} for _ in range(60)]
    df = frame([{**row, "published": "2024-01-01", "upvotes": 1} for row in rows])
    assert search(df, "graph neural")["title"].iloc[0] == "A study of things"


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ("Learning to Branch fo", "Learning to Branch for Multi-Task Learning"),  # "fo" may become "for"
        ("End-To-End Memo", "End-To-End Memory Networks"),  # a repeated word is part of what is typed
        ("Multi-Task Differential Privacy Un", "Multi-Task Differential Privacy Under Distribution Skew"),
    ],
)
def test_a_title_being_typed_beats_titles_with_the_same_words_in_another_order(query: str, title: str) -> None:
    rng = np.random.default_rng(1)
    words = title.replace("-", " ").split()
    rows = [{"title": title, "abstract": f"{title}, and more."}]
    for _ in range(100):  # the same words shuffled, with words the last one typed may become
        shuffled = " ".join(rng.permutation([*words, "Fusion", "Follow", "Memorial", "Unified"]))
        rows.append({"title": shuffled, "abstract": f"{shuffled}, and more."})
    df = frame([{**row, "published": "2024-01-01", "upvotes": 1} for row in rows])
    assert search(df, query, 3)["title"].iloc[0] == title


def _pruning_library(n: int = 30_000) -> pd.DataFrame:
    """Abstracts full of a few very common words (posting lists longer than the engine reads whole)."""
    rng = np.random.default_rng(2)
    common = [f"common{i}" for i in range(8)]
    rare = [f"rare{i}" for i in range(3000)]
    titles = [" ".join(rng.choice(rare, 3)) + " " + " ".join(rng.choice(common, 2)) for _ in range(n)]
    abstracts = [" ".join(rng.choice(common, 20)) + " " + " ".join(rng.choice(rare, 5)) for _ in range(n)]
    return pd.DataFrame({"title": titles, "abstract": abstracts, "published": pd.NaT, "upvotes": pd.NA})


def test_maxscore_pruning_keeps_the_best_candidates_of_a_full_scoring() -> None:
    from paper_widgets.search import engine

    df = _pruning_library()
    index = SearchIndex(df)
    keep = 120
    for query in ("rare17 rare2020 common1 common3 common5", "rare5 rare77 common0 common2 common4 common6"):
        terms = engine._terms(index, engine._Query.parse(query + " "))
        full_rows, full_cov, full_bm25, *_ = engine._Scores(index, terms, None).run()
        rows, cov, bm25, *_ = engine._Scores(index, terms, keep).run()
        assert len(rows) < len(full_rows) / 2, "the common words' lists were read for every row"
        prelim = engine._W_COVERAGE * full_cov + engine._W_BM25 * full_bm25
        best = full_rows[np.argsort(-prelim, kind="stable")[:keep]]
        cutoff = np.sort(prelim)[-keep]
        assert set(best[prelim[np.argsort(-prelim, kind="stable")[:keep]] > cutoff]) <= set(rows.tolist())
        at = np.searchsorted(full_rows, rows)
        np.testing.assert_allclose(cov, full_cov[at], rtol=1e-5)
        np.testing.assert_allclose(bm25, full_bm25[at], rtol=1e-4)
        # and the ranked result is the one every matching row would give
        everything = search(df, query + " ", None, index=index)
        assert search(df, query + " ", 10, index=index).index.tolist() == everything.index[:10].tolist()


def test_a_long_list_is_read_whole_when_most_rows_found_may_still_rank() -> None:
    from paper_widgets.search import engine

    # "mid" in half the abstracts, "big" in half the abstracts and 30% of the titles: once "mid" is read, nearly
    # every row holding it may still rank, and looking each up in both of "big"'s lists costs more than reading them
    rng = np.random.default_rng(4)
    n = 30_000
    rare = [f"rare{i}" for i in range(3000)]
    abstracts = [
        " ".join(
            [*rng.choice(rare, 6), *(["mid"] if rng.random() < 0.5 else []), *(["big"] if rng.random() < 0.5 else [])]
        )
        for _ in range(n)
    ]
    titles = [" ".join([*rng.choice(rare, 4), *(["big"] if rng.random() < 0.3 else [])]) for _ in range(n)]
    df = pd.DataFrame({"title": titles, "abstract": abstracts, "published": pd.NaT, "upvotes": pd.NA})
    index = SearchIndex(df)
    terms = engine._terms(index, engine._Query.parse("mid big "))
    full_rows, full_cov, full_bm25, *_ = engine._Scores(index, terms, None).run()
    rows, cov, bm25, *_ = engine._Scores(index, terms, 120).run()
    np.testing.assert_array_equal(rows, full_rows)  # read whole: every matching row, not the few thousand looked up
    np.testing.assert_allclose(cov, full_cov, rtol=1e-6)
    np.testing.assert_allclose(bm25, full_bm25, rtol=1e-6)


def test_a_word_in_much_of_the_abstracts_is_read_there_only_when_it_is_the_rarest_term(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import paper_widgets.search.engine as engine

    meta = {"published": "2024-01-01", "upvotes": 1}
    common = [{"title": f"Paper {i}", "abstract": "widely used gradient methods", **meta} for i in range(40)]
    rare = [{"title": "Quokka scheduling", "abstract": "gradient methods for quokka herds", **meta}]
    df = frame(common + rare)
    index = SearchIndex(df)
    monkeypatch.setattr(engine, "_COMMON_ROWS", 10)  # "gradient" is in 41 rows: common at this scale
    read: list[str] = []
    postings = type(index.fields["abstract"]).postings

    def spy(field: object, word_id: int) -> tuple[np.ndarray, np.ndarray]:
        if field is index.fields["abstract"]:
            read.append(index.word(word_id))
        return postings(field, word_id)  # type: ignore[arg-type]

    monkeypatch.setattr(type(index.fields["abstract"]), "postings", spy)
    found = search(df, "quokka gradient ", 5, index=index)
    assert titles(found)[0] == "Quokka scheduling"
    assert "gradient" not in read, "beside a rarer word, the common word's abstract postings are never decoded"
    read.clear()
    alone = search(df, "gradient ", 50, index=index)
    assert "gradient" in read and len(alone) == 41, "alone it is the rarest term: read, every paper found"


@pytest.mark.parametrize("query", ["pruning quantization", "pruning quantization ", "quantization pruning"])
def test_two_topics_named_together_in_an_abstract_beat_one_in_the_title_and_one_in_the_abstract(query: str) -> None:
    meta = {"published": "2024-01-01", "upvotes": 1}
    filler = [
        {"title": f"Filler study {i}", "abstract": f"An unrelated study number {i} of graphs and agents.", **meta}
        for i in range(30)
    ]
    scattered = {  # one topic in the title alone, the other in passing in the abstract
        "title": "Structured Pruning of Vision Models",
        "abstract": "We remove channels from convolutional networks, then apply quantization as usual.",
        **meta,
    }
    together = {
        "title": "Compressing Language Models",
        "abstract": "We study how pruning and quantization interact when compressing language models.",
        **meta,
    }
    both_in_title = {
        "title": "Joint Pruning and Quantization",
        "abstract": "A single pass that sparsifies and rounds the weights of a network.",
        **meta,
    }
    df = frame([scattered, *filler, together])
    assert titles(search(df, query, 3))[:2] == ["Compressing Language Models", "Structured Pruning of Vision Models"]
    # named together in the title is as good as together in the abstract, and the title weighs more
    df = frame([scattered, together, *filler, both_in_title])
    assert titles(search(df, query, 3))[0] == "Joint Pruning and Quantization"


def test_sorting_by_date_lists_every_paper_matching_every_word_whatever_fields_hold_them() -> None:
    df = frame(
        [
            {"title": "Pruning at scale", "abstract": "Then quantization.", "published": "2025-01-01", "upvotes": 1},
            {"title": "Compression", "abstract": "Pruning and quantization.", "published": "2023-01-01", "upvotes": 9},
            {"title": "Pruning alone", "abstract": "Nothing else.", "published": "2026-01-01", "upvotes": 5},
        ]
    )
    assert titles(search(df, "pruning quantization ", sort="newest")) == ["Pruning at scale", "Compression"]
    assert titles(search(df, "pruning quantization ", sort="upvotes")) == ["Compression", "Pruning at scale"]


def test_a_reopened_library_sorts_and_filters_by_upvotes_and_shows_them_as_int64(tmp_path: Path) -> None:
    cards = "".join(
        f"{votes}\n\nPaper {i} About Sparse Things\n\nWe study sparse things, case {i}.\n\n3 authors\n·\nJun 11, 2025 2\n\n"
        for i, votes in enumerate([5, "-", 12, 7])
    )
    path = tmp_path / "today.txt"
    path.write_text(cards, encoding="utf-8")
    os.utime(path, (time.time() - 60, time.time() - 60))  # settled: its hash is remembered, the cache used
    paper_widgets.load(path, store=tmp_path / "store")
    lib = paper_widgets.load(path, store=tmp_path / "store")
    assert isinstance(lib._papers["upvotes"].dtype, pd.ArrowDtype), "counts stay in the memory-mapped cache"
    ranked = lib.search("", limit=None, sort="upvotes")
    assert ranked["upvotes"].tolist() == [12, 7, 5, 0] and ranked["upvotes"].dtype == "Int64"
    assert sorted(lib.search("sparse", limit=None, min_upvotes=6)["upvotes"]) == [7, 12]
    tied = lib.search("sparse things", limit=4)  # the same evidence in each: most upvoted first
    assert tied["score"].nunique() == 1 and tied["upvotes"].tolist() == [12, 7, 5, 0]
    assert lib.df["upvotes"].dtype == "Int64" and lib.df["comments"].dtype == "Int64"


def test_papers_the_query_cannot_tell_apart_come_most_upvoted_then_newest_first() -> None:
    # the same words in titles and abstracts of the same lengths: every score is the same
    same = {"title": "Sparse Kernel Methods", "abstract": "sparse kernel methods for graphs and sets"}
    votes_dates = [(3, "2024-01-01"), (9, "2023-01-01"), (9, "2024-06-01"), (None, "2025-01-01"), (3, "2025-01-01")]
    votes_dates.append((9, None))  # no date: after the dated
    df = frame([{**same, "upvotes": votes, "published": date} for votes, date in votes_dates])
    df["abstract"] = [f"{same['abstract']} {tail}" for tail in ("alpha", "beta", "gamma", "delta", "omega", "kappa")]
    found = search(df, "kernel methods", 6)
    assert found["score"].nunique() == 1
    assert found.index.tolist() == [2, 1, 5, 4, 0, 3]  # 9 votes (newer first), 3 votes (newer first), unknown last
    assert search(df, "kernel methods", 2).index.tolist() == [2, 1]  # the same order when fewer are asked for
    assert search(df, "kernel methods", 3, sort="newest").index.tolist() == [3, 4, 2]  # other sorts keep theirs
    index = SearchIndex(df)  # an index serving the frame keeps the upvotes and dates: the same order
    assert search(df, "kernel methods", 6, index=index).index.tolist() == [2, 1, 5, 4, 0, 3]
    assert index.serves(df) and not SearchIndex(df.copy()).serves(df)  # one of another frame reads the tied rows'
    assert search(df, "kernel methods", 6, index=SearchIndex(df.copy())).index.tolist() == [2, 1, 5, 4, 0, 3]
    assert search(df[["title", "abstract"]], "kernel methods", 6).index.tolist() == [0, 1, 2, 3, 4, 5]  # no votes
