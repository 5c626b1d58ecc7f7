"""Benchmark: topic hit@1 of paper_widgets and tantivy with tied results counted fairly (run by hand).

    PYTHONPATH=. python benchmarks/bench_topic_ties.py --corpus FOLDER [--index-cache FOLDER] [--depth 200]

A topic query of ``bench_peers.py`` is two mid-frequency words of one abstract; the paper it was
taken from is the one counted as found.  Many papers hold both words once in an abstract of the same
length and neither in the title: no ranking can tell them apart, and which of them comes first is a
tie rule (ours: most upvoted, then newest, then the library's order; tantivy's: its document
order).  Raw hit@1 then measures the tie rule.  This prints, per engine, raw hit@1 and the expected
hit@1 when tied results come in a random order (the target's share of the best score's ties,
McSherry & Najork, "Computing information retrieval performance measures efficiently in the
presence of tied scores", ECIR 2008), and, for the queries where the two engines put different
papers first, whether those papers score the same.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy

__all__: list[str] = []


def _tie_share(rows: list[int], scores: list[float], target: int) -> float:
    """The chance that ``target`` comes first when the results tied at the best score come in a random order."""
    tied = [row for row, score in zip(rows, scores, strict=True) if score == scores[0]]
    return 1 / len(tied) if target in tied else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a folder with corpus.feather and queries.json")
    parser.add_argument("--index-cache", type=Path, help="a folder to save and reuse paper_widgets' built index in")
    parser.add_argument("--depth", type=int, default=200, help="results read per query to count the ties")
    args = parser.parse_args()

    import pyarrow.feather as feather
    from bench_peers import PaperWidgets, Tantivy, _tantivy_query

    from paper_widgets.search.engine import search

    df = feather.read_table(args.corpus / "corpus.feather").combine_chunks().to_pandas()
    topics = json.loads((args.corpus / "queries.json").read_text())["topic"]
    work = Path(tempfile.mkdtemp(prefix="bench_topic_ties_"))
    try:
        ours = PaperWidgets(df, work, args.index_cache)
        theirs = Tantivy(df, work)
        found: dict[str, list[tuple[list[int], list[float]]]] = {"paper_widgets": [], "tantivy": []}
        for text, _ in topics:
            result = search(df, text, args.depth, index=ours.index)
            found["paper_widgets"].append((result.index.tolist(), result["score"].tolist()))
            query: Any = _tantivy_query(theirs.index, theirs.schema, text)
            hits = theirs.searcher.search(query, args.depth).hits
            rows = [int(theirs.searcher.doc(address)["row"][0]) for _, address in hits]
            found["tantivy"].append((rows, [float(score) for score, _ in hits]))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{len(df):,} papers, {len(topics)} topic queries, the best {args.depth} results of each")
    print(f"{'':16}{'raw hit@1':>12}{'tie-aware hit@1':>18}")
    for name, results in found.items():
        raw = sum(bool(rows) and rows[0] == target for (rows, _), (_, target) in zip(results, topics, strict=True))
        fair = sum(
            _tie_share(rows, scores, target)
            for (rows, scores), (_, target) in zip(results, topics, strict=True)
            if rows
        )
        print(f"{name:16}{raw / len(topics):>12.1%}{fair / len(topics):>18.1%}")
    ties = differ = 0
    for (ours_found, theirs_found), (_, target) in zip(
        zip(found["paper_widgets"], found["tantivy"], strict=True), topics, strict=True
    ):
        (our_rows, our_scores), (their_rows, _) = ours_found, theirs_found
        if not our_rows or not their_rows or (our_rows[0] == target) == (their_rows[0] == target):
            continue
        differ += 1
        score_of = dict(zip(our_rows, our_scores, strict=True))
        ties += their_rows[0] in score_of and score_of[their_rows[0]] == our_scores[0]
    print(f"queries where one engine puts the target first and the other not: {differ}, of which {ties} are")
    print("exact ties in paper_widgets' scores (tantivy's first paper scores as ours does): decided by the tie rule")


if __name__ == "__main__":
    main()
