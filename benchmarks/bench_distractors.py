"""Benchmark: ranking quality of the seed papers alone and hidden among synthetic distractors (run by hand).

    PYTHONPATH=. python benchmarks/bench_distractors.py [--distractors 50000] [--before FOLDER]

The seed library (``../shared/seeds``, real Daily Papers dumps) is searched with held-out queries
made from each seed paper: its title cut mid-word as typed (prefix, hit@1), its title with two typos
(typo, hit@1), three distinctive words of its abstract that are not in its title (concept, hit@3),
and the same concept words with common words around them ("for", "a", "by", … must not decide a
match: hit@3).  Then the same queries run with the seeds hidden among ``--distractors`` synthetic
papers written from the seeds' own vocabulary (title words drawn from the seed titles' word
frequencies, abstracts from the seed abstracts'), so every query word also occurs in distractors.
``--before FOLDER`` runs an older paper_widgets (e.g. main exported there) on the same queries in
a child process and prints its row beside ours.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__: list[str] = []

SEEDS = Path(__file__).resolve().parent.parent.parent / "shared" / "seeds"
GOALS = {"prefix@1": 0.95, "typo@1": 0.99, "concept@3": 0.95, "common@3": 0.95}
COMMON = ("for", "a", "by", "the", "of", "with")


def seed_frame() -> pd.DataFrame:
    import paper_widgets

    if not SEEDS.is_dir():
        sys.exit(f"no seed dumps at {SEEDS}: the benchmark needs the shared data")
    df = paper_widgets.load(str(SEEDS)).df
    keep = df["title"].notna() & df["abstract"].fillna("").str.len().gt(200)
    return df.loc[keep, ["title", "abstract", "published", "upvotes"]].reset_index(drop=True)


def distractors(seeds: pd.DataFrame, count: int, seed: int = 0) -> pd.DataFrame:
    """``count`` papers whose title and abstract words follow the seeds' title and abstract word frequencies."""
    rng = np.random.default_rng(seed)

    def sampler(texts: pd.Series) -> tuple[np.ndarray, np.ndarray]:
        counts = Counter(w for text in texts for w in str(text).split())
        words = np.array(list(counts), dtype=object)
        freq = np.array(list(counts.values()), np.float64)
        return words, np.cumsum(freq / freq.sum())

    title_words, title_cdf = sampler(seeds["title"])
    abstract_words, abstract_cdf = sampler(seeds["abstract"])
    title_len = seeds["title"].str.split().str.len().to_numpy()
    abstract_len = seeds["abstract"].str.split().str.len().to_numpy()

    def texts(words: np.ndarray, cdf: np.ndarray, lengths: np.ndarray) -> list[str]:
        sizes = rng.choice(lengths, count)
        picks = words[np.minimum(np.searchsorted(cdf, rng.random(int(sizes.sum()))), len(words) - 1)]
        return [" ".join(picks[a:b]) for a, b in zip(np.cumsum(sizes) - sizes, np.cumsum(sizes), strict=True)]

    return pd.DataFrame(
        {
            "title": pd.Series(texts(title_words, title_cdf, title_len), dtype="str"),
            "abstract": pd.Series(texts(abstract_words, abstract_cdf, abstract_len), dtype="str"),
            "published": pd.to_datetime("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, count), unit="D"),
            "upvotes": pd.array(rng.integers(0, 300, count), dtype="Int64"),
        }
    )


def held_out_queries(seeds: pd.DataFrame, seed: int = 1) -> dict[str, list[tuple[str, int]]]:
    """Queries of each kind with the seed row each was made from."""
    from bench_search import typo

    from paper_widgets.data.text import words

    rng = np.random.default_rng(seed)
    document_freq = Counter(w for text in seeds["abstract"] for w in set(words(str(text))))
    queries: dict[str, list[tuple[str, int]]] = {"prefix": [], "typo": [], "concept": [], "common": []}
    for row, (title, abstract) in enumerate(zip(seeds["title"], seeds["abstract"], strict=True)):
        cut = int(len(title) * rng.uniform(0.4, 0.7))
        queries["prefix"].append((title[:cut], row))
        queries["typo"].append((typo(rng, title), row))
        in_title = set(words(title))
        # distinctive: in this abstract and at most two others of the seeds, long enough to be a concept
        candidates = sorted(
            {w for w in words(str(abstract)) if w not in in_title and len(w) > 4 and document_freq[w] <= 3}
        )
        if len(candidates) >= 3:
            picked = [str(w) for w in rng.choice(candidates, 3, replace=False)]
            queries["concept"].append((" ".join(picked), row))
            mixed = [picked[0], COMMON[row % 3], picked[1], COMMON[3 + row % 3], picked[2]]
            queries["common"].append((" ".join(mixed) + " ", row))
    return queries


def quality(df: pd.DataFrame, queries: dict[str, list[tuple[str, int]]]) -> dict[str, float]:
    from paper_widgets.search.engine import SearchIndex, search

    index = SearchIndex(df)
    found = {}
    for kind, items in queries.items():
        cut = 3 if kind in ("concept", "common") else 1
        hits = [row in search(df, text, cut, index=index).index.tolist() for text, row in items]
        found[f"{kind}@{cut}"] = float(np.mean(hits))
    return found


def measure(count: int) -> dict[str, dict[str, float]]:
    seeds = seed_frame()
    queries = held_out_queries(seeds)
    hidden = pd.concat([seeds, distractors(seeds, count)], ignore_index=True)  # seeds keep rows 0…
    return {"seeds alone": quality(seeds, queries), f"+{count:,} distractors": quality(hidden, queries)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--distractors", type=int, default=50_000)
    parser.add_argument("--before", help="a folder holding an older paper_widgets, run on the same queries")
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON (for --before)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_distractors_") as home:
        # a store of its own for each version: never the user's, which an older version may not read
        os.environ["PAPER_WIDGETS_HOME"] = home
        run(args)


def run(args: argparse.Namespace) -> None:
    rows = {f"{k}": v for k, v in measure(args.distractors).items()}
    if args.json:
        print(json.dumps(rows))
        return
    table = {f"paper_widgets, {k}": v for k, v in rows.items()}
    if args.before:
        env = {
            **os.environ,
            "PYTHONPATH": args.before,
            "PAPER_WIDGETS_HOME": os.environ["PAPER_WIDGETS_HOME"] + "/before",
        }
        cmd = [sys.executable, __file__, "--distractors", str(args.distractors), "--json"]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        table.update({f"before, {k}": v for k, v in json.loads(out.stdout.splitlines()[-1]).items()})
    print(f"{'':34}" + "".join(f"{k:>11}" for k in GOALS))
    for label, row in table.items():
        print(f"{label:34}" + "".join(f"{row[k]:>11.2f}" for k in GOALS))
    print(f"{'goal':34}" + "".join(f"{f'>= {v:.2f}':>11}" for v in GOALS.values()))


if __name__ == "__main__":
    main()
