"""Benchmark: indexed search vs the naive rapidfuzz title scan, on synthetic libraries (run by hand).

    PYTHONPATH=. python benchmarks/bench_search.py [--sizes 10000,100000,1000000] [--queries 100]

Synthetic papers: a title of 5–12 words (40 % with a CamelCase short name before a colon) and a
150-word abstract, words drawn from a Zipfian vocabulary of pronounceable pseudo-words plus rare
tokens, generated with numpy.  Query kinds: title prefixes cut mid-word, titles with two typos
(randomly lower-cased), two mid-frequency words from one abstract, and short names.  Reports
latency p50/p95, index build time and memory, the naive ``process.extract(q, titles,
scorer=fuzz.WRatio, limit=20)`` scan (over pre-folded titles, so case is no handicap) with the
speedup, and top-1 hit rates on typo'd titles and prefixes for both.
"""

from __future__ import annotations

import argparse
import gc
import time

import numpy as np
import pandas as pd
from measure import status_mb
from rapidfuzz import fuzz, process

from paper_widgets.data.merge import fold_titles
from paper_widgets.data.text import fold
from paper_widgets.search.engine import SearchIndex, search

__all__: list[str] = []

ABSTRACT_WORDS = 150
VOCAB = 150_000
BASELINE_QUERIES = {10_000: 100, 100_000: 40, 1_000_000: 12}  # the naive scan takes seconds at 1M


def pseudo_words(rng: np.random.Generator, n: int) -> np.ndarray:
    """``n`` distinct pronounceable words of 1–4 syllables, shuffled (rank = position)."""
    syllables = np.array([c + v + e for c in "bcdfghklmnprstvz" for v in "aeiou" for e in ("", "n", "r", "s")])
    count = rng.integers(1, 5, 3 * n)
    picks = rng.integers(0, len(syllables), (3 * n, 4))
    word = syllables[picks[:, 0]]
    for j in range(1, 4):
        word = np.where(count > j, np.char.add(word, syllables[picks[:, j]]), word)
    unique = np.unique(word)
    return rng.permutation(unique)[:n].astype(object)


def zipf_sample(rng: np.random.Generator, cdf: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    return np.searchsorted(cdf, rng.random(shape)).astype(np.int64)


def zipf_cdf(n: int, exponent: float, offset: float = 2.7) -> np.ndarray:
    weights = 1 / (np.arange(n) + offset) ** exponent
    return np.cumsum(weights / weights.sum())


def make_library(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """A synthetic library frame, the abstract word ids (n × 150) and the vocabulary."""
    rng = np.random.default_rng(seed)
    vocab = pseudo_words(rng, VOCAB)
    punctuated = np.concatenate([vocab, vocab + ",", vocab + "."])
    capital = np.array([w.capitalize() for w in vocab], dtype=object)
    abstract_cdf = zipf_cdf(len(vocab), 1.07)
    title_cdf = zipf_cdf(len(vocab) - 30, 0.9)
    ids = np.empty((n, ABSTRACT_WORDS), np.int64)
    abstracts: list[str] = []
    for lo in range(0, n, 50_000):
        m = min(n, lo + 50_000) - lo
        chunk = zipf_sample(rng, abstract_cdf, (m, ABSTRACT_WORDS))
        ids[lo : lo + m] = chunk
        forms = chunk + len(vocab) * rng.choice(3, size=chunk.shape, p=[0.92, 0.05, 0.03])
        tokens = punctuated[forms]
        rare = rng.random(chunk.shape) < 0.003  # hapax-like tokens: ids, numbers, names
        tokens[rare] = np.char.add("q", rng.integers(0, 10**9, int(rare.sum())).astype(str)).astype(object)
        abstracts += [" ".join(row) for row in tokens]
    lengths = rng.integers(5, 13, n)
    title_ids = zipf_sample(rng, title_cdf, (n, 12)) + 30
    titles = [" ".join(capital[row[:k]]) for row, k in zip(title_ids, lengths, strict=False)]
    named = rng.random(n) < 0.4
    names = np.char.add(
        np.char.add(
            pd.Series(vocab[rng.integers(0, len(vocab), n)]).str.capitalize().to_numpy().astype(str),
            pd.Series(vocab[rng.integers(0, len(vocab), n)]).str.capitalize().to_numpy().astype(str),
        ),
        np.where(rng.random(n) < 0.3, rng.integers(1, 10, n).astype(str), ""),
    )
    titles = [
        f"{name}: {title}" if is_named else title for name, title, is_named in zip(names, titles, named, strict=False)
    ]
    df = pd.DataFrame(
        {
            "title": pd.Series(titles, dtype="str"),
            "abstract": pd.Series(abstracts, dtype="str"),
            "published": pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 3650, n), unit="D"),
            "upvotes": pd.array(rng.integers(0, 300, n), dtype="Int64"),
        }
    )
    return df, ids, vocab


def typo(rng: np.random.Generator, text: str, edits: int = 2) -> str:
    chars = list(text)
    for _ in range(edits):
        letters = [i for i, c in enumerate(chars) if c.isalpha()]
        i = letters[rng.integers(len(letters))]
        kind = rng.integers(4)
        if kind == 0:
            chars[i] = chr(ord("a") + rng.integers(26))
        elif kind == 1 and len(letters) > 10:
            del chars[i]
        elif kind == 2:
            chars.insert(i, chr(ord("a") + rng.integers(26)))
        elif i + 1 < len(chars):
            chars[i], chars[i + 1] = chars[i + 1], chars[i]
    out = "".join(chars)
    return out.lower() if rng.random() < 0.5 else out


def make_queries(
    df: pd.DataFrame, ids: np.ndarray, vocab: np.ndarray, count: int, seed: int = 1
) -> dict[str, list[tuple[str, int]]]:
    """Queries of each kind with the row each was made from."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(df), count, replace=False)
    titles = df["title"].to_numpy()
    queries: dict[str, list[tuple[str, int]]] = {"prefix": [], "typo": [], "topic": [], "name": []}
    for row in rows:
        title = titles[row]
        cut = int(len(title) * rng.uniform(0.4, 0.7))
        queries["prefix"].append((title[:cut], row))
        queries["typo"].append((typo(rng, title), row))
        mid = [w for w in ids[row] if 300 <= w < 30_000]
        if len(mid) >= 2:
            a, b = rng.choice(mid, 2, replace=False)
            queries["topic"].append((f"{vocab[a]} {vocab[b]}", row))
        if ":" in title:
            queries["name"].append((title.split(":")[0], row))
    return queries


def percentiles(times: list[float]) -> str:
    ms = np.array(times) * 1000
    return f"p50 {np.percentile(ms, 50):7.2f} ms  p95 {np.percentile(ms, 95):7.2f} ms"


def bench(n: int, count: int) -> None:
    print(f"\n=== {n:,} papers ===")
    t = time.perf_counter()
    df, ids, vocab = make_library(n)
    print(f"generated in {time.perf_counter() - t:.1f} s")
    gc.collect()
    before = status_mb()
    t = time.perf_counter()
    index = SearchIndex(df)
    build = time.perf_counter() - t
    gc.collect()
    print(
        f"index build {build:.1f} s; index {index.nbytes / 2**20:.0f} MB (its arrays), "
        f"RSS +{status_mb() - before:.0f} MB, process peak RSS {status_mb('VmHWM'):.0f} MB, "
        f"vocabulary {index.vocab_size:,} words"
    )
    extra = max(1, n // 100)
    more, _, _ = make_library(extra, seed=7)
    grown = pd.concat([df, more], ignore_index=True)
    t = time.perf_counter()
    index.sync(grown)
    print(f"extend by {extra:,} papers: {time.perf_counter() - t:.2f} s (vs a full build {build:.1f} s)")
    df = grown
    queries = make_queries(df, ids, vocab, count)
    search(df, "warm up", index=index)
    found: dict[str, list[int]] = {}
    for kind, items in queries.items():
        times, ranks = [], []
        for q, row in items:
            t = time.perf_counter()
            result = search(df, q, 20, index=index)
            times.append(time.perf_counter() - t)
            hits = np.flatnonzero(result.index.to_numpy() == row)
            ranks.append(int(hits[0]) if len(hits) else -1)
        found[kind] = ranks
        top1 = np.mean(np.array(ranks) == 0)
        top5 = np.mean((np.array(ranks) >= 0) & (np.array(ranks) < 5))
        print(f"indexed  {kind:6} ({len(items):3} q): {percentiles(times)}  top-1 {top1:5.1%}  top-5 {top5:5.1%}")
    times_all = []
    for items in queries.values():
        for q, _ in items[:50]:
            t = time.perf_counter()
            search(df, q, 20, index=index)
            times_all.append(time.perf_counter() - t)
    print(f"indexed  all kinds: {percentiles(times_all)}")
    # naive baseline on a subset (each query scans every title)
    folded = fold_titles(df["title"]).tolist()
    b = BASELINE_QUERIES.get(n, 20)
    for kind in ("typo", "prefix"):
        times, hits = [], []
        for q, row in queries[kind][:b]:
            t = time.perf_counter()
            result = process.extract(fold(q), folded, scorer=fuzz.WRatio, limit=20)
            times.append(time.perf_counter() - t)
            hits.append(result[0][2] == row)
        ours = np.mean(np.array(found[kind][:b]) == 0)
        naive_p50 = np.percentile(times, 50)
        print(
            f"naive    {kind:6} ({b:3} q): {percentiles(times)}  top-1 {np.mean(hits):5.1%}"
            f"  | indexed top-1 on the same queries {ours:5.1%}"
        )
        if kind == "typo":
            ours_times = []
            for q, _ in queries[kind][:b]:
                t = time.perf_counter()
                search(df, q, 20, index=index)
                ours_times.append(time.perf_counter() - t)
            print(
                f"speedup (typo'd titles, p50 naive / p50 indexed): {naive_p50 / np.percentile(ours_times, 50):,.0f}x"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    args = parser.parse_args()
    for n in map(int, args.sizes.split(",")):
        bench(n, args.queries)


if __name__ == "__main__":
    main()
