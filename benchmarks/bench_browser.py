"""Benchmark: keystroke-to-results latency of the PaperBrowser on a synthetic library (run by hand).

    PYTHONPATH=. python benchmarks/bench_browser.py [--size 1000000] [--queries 20]

Builds the synthetic library of ``benchmarks/bench_search.py``, opens a PaperBrowser on it (no
JupyterLab: widget messages go nowhere) and types queries one character at a time.  Reports how
long ``type_query(prefix)`` takes for every prefix — what a user waits for after pausing
(debounce delay not included) — and compares the work of the debounced box (one search per pause)
with searching on every keystroke (what a non-debounced box does when typing 5 keys a second).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np
import pandas as pd

from benchmarks.bench_search import make_library, make_queries, percentiles
from paper_widgets.library import Library
from paper_widgets.widget.browser import PaperBrowser

__all__: list[str] = []


def synthetic_library(n: int) -> tuple[Library, dict[str, list[tuple[str, int]]]]:
    df, ids, vocab = make_library(n)
    queries = make_queries(df, ids, vocab, 40)
    df["n_authors"] = pd.array(np.full(n, 3), dtype="Int64")
    for column, value in (("authors", []), ("sources", ["synthetic"])):
        cells = np.empty(n, object)
        cells[:] = [list(value) for _ in range(n)]
        df[column] = cells
    df["arxiv_id"] = pd.Series([None] * n, dtype="str")
    df["url"] = pd.Series([None] * n, dtype="str")
    lib = Library(df)  # not Library.from_frame: merging 1M synthetic papers is not what is measured here
    t = time.perf_counter()
    df.insert(0, "key", lib.store.assign_keys(df).astype("str"))  # the store must know the keys for notes
    print(f"citekeys assigned and stored in {time.perf_counter() - t:.1f} s")
    return Library(df, store=lib.store), queries


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("PAPER_WIDGETS_HOME", tempfile.mkdtemp())
    t = time.perf_counter()
    lib, queries = synthetic_library(args.size)
    print(f"{args.size:,} synthetic papers in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    browser = PaperBrowser(lib)
    print(f"PaperBrowser opened in {time.perf_counter() - t:.1f} s (includes building the search index)")
    typed = [q for kind in ("prefix", "topic", "name") for q, _ in queries[kind][: args.queries // 3 + 1]]
    per_key, last_key, total_keys = [], [], 0
    for query in typed:
        browser.type_query("")
        for i in range(1, len(query) + 1):
            start = time.perf_counter()
            browser.type_query(query[:i])
            elapsed = time.perf_counter() - start
            per_key.append(elapsed)
            total_keys += 1
        last_key.append(elapsed)
    print(f"type_query per keystroke ({total_keys} prefixes): {percentiles(per_key)}  max {max(per_key) * 1000:.0f} ms")
    print(f"type_query full query  ({len(typed)} queries):  {percentiles(last_key)}")
    every, debounced = sum(per_key), sum(last_key)
    print(
        f"search work for {len(typed)} typed queries: every keystroke {every:.1f} s, debounced {debounced:.1f} s "
        f"(ratio {every / debounced:.1f}x)"
    )
    browser.type_query("")
    start = time.perf_counter()
    for _ in range(10):
        browser.select_next()
    print(f"select_next (detail + note editor): {(time.perf_counter() - start) / 10 * 1000:.1f} ms")
    start = time.perf_counter()
    browser.next_page()
    print(f"next_page: {(time.perf_counter() - start) * 1000:.1f} ms")


if __name__ == "__main__":
    main()
