"""Benchmark: topic hit@1 of paper_widgets and tantivy with tied results counted fairly (run by hand).

    PYTHONPATH=. python benchmarks/bench_topic_ties.py --corpus FOLDER [--index-cache FOLDER] [--depth 200]
        [--more-sets K]     # K more sets of 100 topic queries from the same synthetic library
        [--real PATH ...]   # topic queries made the same way from real papers (files paper_widgets loads)

A topic query of ``bench_peers.py`` is two mid-frequency words of one abstract; the paper it was
taken from is the one counted as found.  Many papers hold both words once in an abstract of the same
length and neither in the title: no ranking can tell them apart, and which of them comes first is a
tie rule (ours: most upvoted, then newest, then the library's order; tantivy's: its document
order).  Raw hit@1 then measures the tie rule.  This prints, per engine, raw hit@1 and the expected
hit@1 when tied results come in a random order (the target's share of the best score's ties,
McSherry & Najork, "Computing information retrieval performance measures efficiently in the
presence of tied scores", ECIR 2008), and, for the queries where the two engines put different
papers first, whether those papers score the same.

One set of 100 queries decides hit@1 to about ±5 points (a binomial's standard error at 45 %):
``--more-sets`` regenerates the corpus' synthetic library (``bench_search.make_library``, checked
equal to the corpus) and draws more topic queries from it with other seeds, and the difference
between the engines is then given with a 95 % paired bootstrap interval.  In the synthetic library
a title is drawn independently of its abstract, so a paper holding the query's words in its title
is never the one the query was taken from; ``--real`` asks the same kind of queries of real papers,
whose titles name what their abstracts are about.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy

__all__: list[str] = []

SET_SIZE = 100  # topic queries per set, as bench_peers draws them
ENGINES = ("paper_widgets", "tantivy")
# a real topic word: in at least this many abstracts, and in at most this share of them (as the synthetic
# queries' words sit between the 300th and the 30,000th most frequent of 150,000)
REAL_MIN_ABSTRACTS, REAL_MAX_SHARE = 3, 0.03


def _tie_share(rows: list[int], scores: list[float], target: int) -> float:
    """The chance that ``target`` comes first when the results tied at the best score come in a random order."""
    tied = [row for row, score in zip(rows, scores, strict=True) if score == scores[0]]
    return 1 / len(tied) if target in tied else 0.0


def _results(df: Any, queries: list[tuple[str, int]], depth: int, cache: Path | None) -> dict[str, list[Any]]:
    """Each engine's best ``depth`` (rows, scores) for each query, on the papers of ``df``."""
    from bench_peers import PaperWidgets, Tantivy, _tantivy_query

    from paper_widgets.search.engine import search

    work = Path(tempfile.mkdtemp(prefix="bench_topic_ties_"))
    try:
        ours = PaperWidgets(df, work, cache)
        theirs = Tantivy(df, work)
        found: dict[str, list[tuple[list[int], list[float]]]] = {name: [] for name in ENGINES}
        for text, _ in queries:
            result = search(df, text, depth, index=ours.index)
            found["paper_widgets"].append((result.index.tolist(), result["score"].tolist()))
            query: Any = _tantivy_query(theirs.index, theirs.schema, text)
            hits = theirs.searcher.search(query, depth).hits
            rows = [int(theirs.searcher.doc(address)["row"][0]) for _, address in hits]
            found["tantivy"].append((rows, [float(score) for score, _ in hits]))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return found


def _hits(found: list[tuple[list[int], list[float]]], queries: list[tuple[str, int]]) -> tuple[np.ndarray, np.ndarray]:
    """Per query: whether the target came first (raw), and its expected hit@1 with ties in a random order."""
    raw = [bool(rows) and rows[0] == target for (rows, _), (_, target) in zip(found, queries, strict=True)]
    fair = [
        _tie_share(rows, scores, target) if rows else 0.0
        for (rows, scores), (_, target) in zip(found, queries, strict=True)
    ]
    return np.array(raw, float), np.array(fair)


def _report(title: str, found: dict[str, list[Any]], queries: list[tuple[str, int]]) -> None:
    """Raw and tie-aware hit@1 of each engine, and with many queries the paired difference's 95 % interval."""
    print(f"\n{title}")
    print(f"{'':16}{'raw hit@1':>12}{'tie-aware hit@1':>18}")
    hits = {name: _hits(results, queries) for name, results in found.items()}
    for name, (raw, fair) in hits.items():
        print(f"{name:16}{raw.mean():>12.1%}{fair.mean():>18.1%}")
    if len(queries) <= SET_SIZE:
        return
    rng = np.random.default_rng(0)
    draws = rng.integers(0, len(queries), (2000, len(queries)))
    for which, label in ((0, "raw"), (1, "tie-aware")):
        diff = hits["paper_widgets"][which] - hits["tantivy"][which]
        lo, hi = np.percentile(diff[draws].mean(axis=1), [2.5, 97.5])
        print(
            f"paper_widgets - tantivy, {label}: {diff.mean():+.1%} (95% paired bootstrap interval {lo:+.1%} to {hi:+.1%})"
        )


def _differing(found: dict[str, list[Any]], queries: list[tuple[str, int]]) -> None:
    """For the queries where one engine puts the target first and the other not: are they tied in ours?"""
    ties = differ = 0
    for (ours_found, theirs_found), (_, target) in zip(
        zip(found["paper_widgets"], found["tantivy"], strict=True), queries, strict=True
    ):
        (our_rows, our_scores), (their_rows, _) = ours_found, theirs_found
        if not our_rows or not their_rows or (our_rows[0] == target) == (their_rows[0] == target):
            continue
        differ += 1
        score_of = dict(zip(our_rows, our_scores, strict=True))
        ties += their_rows[0] in score_of and score_of[their_rows[0]] == our_scores[0]
    print(f"queries where one engine puts the target first and the other not: {differ}, of which {ties} are")
    print("exact ties in paper_widgets' scores (tantivy's first paper scores as ours does): decided by the tie rule")


def _more_synthetic(df: Any, sets: int) -> list[tuple[str, int]]:
    """``sets`` × 100 more topic queries of the corpus ``df``, from its synthetic library regenerated."""
    from bench_search import make_library, make_queries

    library, ids, vocab = make_library(len(df))
    for column in ("title", "abstract"):
        if library[column].tolist() != df[column].tolist():
            raise SystemExit(f"the corpus is not bench_search.make_library({len(df)}): its {column}s differ")
    queries: list[tuple[str, int]] = []
    for seed in range(2, 2 + sets):  # bench_peers' own set is seed 1
        queries += [(text, int(row)) for text, row in make_queries(library, ids, vocab, SET_SIZE, seed)["topic"]]
    return queries


def _real(paths: list[str], count: int) -> tuple[Any, list[tuple[str, int]]]:
    """Real papers with an abstract, loaded from ``paths``, and up to ``count`` topic queries of them."""
    import paper_widgets
    from paper_widgets.data.text import words
    from paper_widgets.search.engine import STOP_WORDS

    with tempfile.TemporaryDirectory(prefix="bench_topic_ties_store_") as store:
        df = paper_widgets.load(*paths, store=store, progress=False).df
    df = df.loc[df["abstract"].fillna("").str.len() > 0, ["title", "abstract", "published", "upvotes"]]
    df = df.reset_index(drop=True)
    held = [set(words(text)) for text in df["abstract"].tolist()]
    abstracts = Counter(word for each in held for word in each)
    most = REAL_MAX_SHARE * len(df)

    def topical(word: str) -> bool:
        return REAL_MIN_ABSTRACTS <= abstracts[word] <= most and word not in STOP_WORDS and not word.isdigit()

    rng = np.random.default_rng(1)
    queries = []
    for row in rng.choice(len(df), min(len(df), count), replace=False).tolist():
        mid = sorted(word for word in held[row] if topical(word))
        if len(mid) >= 2:
            first, second = rng.choice(mid, 2, replace=False)
            queries.append((f"{first} {second}", row))
    return df, queries


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a folder with corpus.feather and queries.json")
    parser.add_argument("--index-cache", type=Path, help="a folder to save and reuse paper_widgets' built index in")
    parser.add_argument("--depth", type=int, default=200, help="results read per query to count the ties")
    parser.add_argument("--more-sets", type=int, default=0, help="more sets of 100 topic queries of the corpus")
    parser.add_argument("--real", nargs="+", default=[], help="files or folders of real papers to ask topics of")
    args = parser.parse_args()

    import pyarrow.feather as feather

    df = feather.read_table(args.corpus / "corpus.feather").combine_chunks().to_pandas()
    topics = [(text, int(row)) for text, row in json.loads((args.corpus / "queries.json").read_text())["topic"]]
    found = _results(df, topics, args.depth, args.index_cache)
    _report(
        f"{len(df):,} papers, the corpus' {len(topics)} topic queries, the best {args.depth} results of each",
        found,
        topics,
    )
    _differing(found, topics)
    if args.more_sets:
        more = _more_synthetic(df, args.more_sets)
        _report(
            f"the same papers, {len(more)} more topic queries ({args.more_sets} more seeds)",
            _results(df, more, args.depth, args.index_cache),
            more,
        )
    if args.real:
        real, queries = _real(args.real, SET_SIZE * max(args.more_sets, 1))
        _report(
            f"{len(real):,} real papers with an abstract, {len(queries)} topic queries made the same way",
            _results(real, queries, args.depth, None),
            queries,
        )


if __name__ == "__main__":
    main()
