"""Benchmark: where a query's CPU time goes, stage by stage, for the slowest queries (run by hand).

    PYTHONPATH=. python benchmarks/bench_query_stages.py --corpus FOLDER --index-cache FOLDER
        [--before FOLDER] [--slowest 20] [--reps 7] [--limit 10] [--rounds 2]

``--corpus``: a folder with corpus.feather and queries.json (``bench_peers.write_corpus``); the
index comes from ``--index-cache`` as ``bench_peers`` saves it (built there once for each index
code) and is synced to the frame, as a library's is.  Each paper_widgets copy (this one, and ``--before``'s) runs in its own fresh process,
alternately, ``--rounds`` times: on a shared machine only an alternating A/B in one run compares.
A child times every query ``--reps`` times (CPU time, ``time.process_time``) and keeps each
query's minimum; it prints p50/p95/p99/max of those, then the same minimum per stage, summed
over its ``--slowest`` queries and divided by their number: the query's words and their
stand-ins (typo candidates included), reading the postings, the title re-scoring, the order of
ties and the result frame.  Stages are timed by wrapping the engine's functions of those names
that the copy has (the wrappers cost a few µs a query: compare stages between copies, and the
totals of the first pass, which runs unwrapped).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy

__all__: list[str] = []

# (module attribute path, label): the engine's stages, as far as a copy has them
STAGES = (
    ("engine._terms", "words and stand-ins"),
    ("index.SearchIndex.near_words_each", "  of which typo candidates"),
    ("engine._Scores.__init__", "postings decoded"),
    ("engine._Scores.run", "postings scored"),
    ("engine._rescore", "title re-scoring"),
    ("engine._title_scores", "  of which rapidfuzz"),
    ("engine._best_first", "ties ordered"),
    ("engine.column_arrays", "frame's columns"),
    ("engine.result_frame", "result frame"),
)


def _wrap(owner: Any, name: str, label: str, spent: dict[str, float]) -> None:
    """Replace ``owner.name`` by a wrapper adding its CPU time to ``spent[label]``."""
    original: Callable[..., Any] = getattr(owner, name)

    @functools.wraps(original)
    def timed(*args: Any, **kwargs: Any) -> Any:
        start = time.process_time()
        try:
            return original(*args, **kwargs)
        finally:
            spent[label] = spent.get(label, 0.0) + time.process_time() - start

    setattr(owner, name, timed)


def run_child(corpus: Path, cache: Path, slowest: int, reps: int, limit: int) -> dict[str, Any]:
    import pyarrow.feather as feather
    from bench_peers import _cached_index

    import paper_widgets.search.engine as engine
    import paper_widgets.search.index as index_module

    df = feather.read_table(corpus / "corpus.feather").combine_chunks().to_pandas()
    queries = [text for kind in json.loads((corpus / "queries.json").read_text()).values() for text, _ in kind]
    index = _cached_index(df, cache)
    index.sync(df)  # it serves df, as an index built from it does and a library's (synced as it opens)
    for text in queries[:20]:  # warm up
        engine.search(df, text, limit, index=index)
    best: dict[str, float] = {}
    for _ in range(reps):
        for text in queries:
            start = time.process_time()
            engine.search(df, text, limit, index=index)
            best[text] = min(best.get(text, float("inf")), time.process_time() - start)
    ms = np.array(list(best.values())) * 1000
    slow = sorted(best, key=best.__getitem__, reverse=True)[:slowest]
    modules = {"engine": engine, "index": index_module}
    spent: dict[str, float] = {}
    for path, label in STAGES:
        head, *middle, name = path.split(".")
        owner: Any = modules[head]
        for part in middle:
            owner = getattr(owner, part, None)
        if owner is not None and hasattr(owner, name):
            _wrap(owner, name, label, spent)
    stages: dict[str, float] = {}
    for text in slow:
        fewest: dict[str, float] = {}
        for _ in range(reps):
            spent.clear()
            start = time.process_time()
            engine.search(df, text, limit, index=index)
            spent["search (wrapped)"] = time.process_time() - start
            for label, seconds in spent.items():
                fewest[label] = min(fewest.get(label, float("inf")), seconds)
        for label, seconds in fewest.items():
            stages[label] = stages.get(label, 0.0) + seconds * 1000 / len(slow)
    percentiles = dict(zip(("p50", "p95", "p99"), np.percentile(ms, [50, 95, 99]).tolist(), strict=True))
    return {**percentiles, "max": float(ms.max()), "slowest": sum(best[t] for t in slow) * 1000 / len(slow), **stages}


def child(code: Path, args: argparse.Namespace) -> dict[str, Any]:
    """This script's child run in a fresh process importing the paper_widgets copy in ``code``."""
    command = [sys.executable, __file__, "--child", str(args.corpus), str(args.index_cache)]
    command += [str(args.slowest), str(args.reps), str(args.limit)]
    env = {**os.environ, "PYTHONPATH": str(code)}
    out = subprocess.run(command, capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        raise SystemExit(f"{code}: {out.stderr.strip()}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    if "--child" in sys.argv:
        corpus, cache, slowest, reps, limit = sys.argv[sys.argv.index("--child") + 1 :]
        print(json.dumps(run_child(Path(corpus), Path(cache), int(slowest), int(reps), int(limit))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True, help="a folder with corpus.feather and queries.json")
    parser.add_argument("--index-cache", type=Path, required=True, help="where bench_peers saves the built index")
    parser.add_argument("--before", type=Path, help="a folder holding an older paper_widgets, measured alternately")
    parser.add_argument("--slowest", type=int, default=20, help="queries whose stages are timed")
    parser.add_argument("--reps", type=int, default=7, help="runs of each query: its minimum counts")
    parser.add_argument("--limit", type=int, default=10, help="results asked for (bench_peers asks for 10)")
    parser.add_argument("--rounds", type=int, default=2, help="alternations of the copies")
    args = parser.parse_args()
    copies = {"paper_widgets": Path(__file__).resolve().parent.parent}
    if args.before:
        copies = {"pw_before": args.before, **copies}
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in copies}
    for _ in range(args.rounds):
        for name, code in copies.items():
            runs[name].append(child(code, args))
    best = {name: {key: min(run[key] for run in done) for key in done[0]} for name, done in runs.items()}
    # the totals, then the stages a copy has in pipeline order, then the wrapped search they are part of
    staged = [label for _, label in STAGES if any(label in result for result in best.values())]
    keys = ["p50", "p95", "p99", "max", "slowest", *staged, "search (wrapped)"]
    print(
        f"CPU ms per query, the best of {args.rounds} alternating runs; stages: the mean of the {args.slowest} slowest"
    )
    print(f"{'':28}" + "".join(f"{name:>15}" for name in best) + ("       ratio" if len(best) == 2 else ""))
    for key in keys:
        values = [result.get(key, float("nan")) for result in best.values()]
        line = f"{key:28}" + "".join(f"{value:>15.3f}" for value in values)
        if len(values) == 2 and values[0]:
            line += f"{values[1] / values[0]:>11.2f}x"
        print(line)


if __name__ == "__main__":
    main()
