"""Citekeys for 1M papers: assign_keys vs a naive per-row implementation (run by hand).

    PYTHONPATH=. python benchmarks/bench_citekeys.py [N]

The naive version folds every title with the shared ``fold`` and sorts every row to assign
suffixes; assign_keys folds ASCII titles with one regex pass, caches per distinct title/author and
only sorts rows whose key clashes.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd

from paper_widgets.data.citekeys import _STOP_WORDS, _surname, assign_keys, paper_identity
from paper_widgets.data.text import fold

VOCAB = np.array(
    [
        "alpha",
        "beta",
        "gamma",
        "delta",
        "learning",
        "model",
        "vision",
        "language",
        "large",
        "the",
        "of",
        "for",
        "multi-task",
        "diffusion",
        "transformer",
        "agents",
        "reasoning",
        "scaling",
    ]
)


def papers(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    # Few distinct first words, so keys clash a lot; every 20th title has accents (the slower path).
    titles = [" ".join(rng.choice(VOCAB, 6)) + (" Über naïve" if i % 20 == 0 else "") for i in range(n)]
    return pd.DataFrame(
        {
            "title": titles,
            "authors": [[f"Ann Smith{i % 5000}"] if i % 4 else [] for i in range(n)],
            "published": pd.to_datetime(rng.integers(1.5e9, 1.75e9, n), unit="s"),
            "arxiv_id": [f"{2000 + i % 500}.{i:05d}" if i % 3 else None for i in range(n)],
        }
    )


def naive(frame: pd.DataFrame) -> list[str]:
    bases = []
    for title, authors, published in zip(frame["title"], frame["authors"], frame["published"], strict=False):
        significant = [w for w in fold(title.replace("-", "")).split() if w not in _STOP_WORDS][:3]
        key = (_surname(authors[0]) if authors else "") + "".join(w.capitalize() for w in significant)
        bases.append(key + ("" if pd.isna(published) else str(published.year)))
    identities = [paper_identity(t, a) for t, a in zip(frame["title"], frame["arxiv_id"], strict=False)]
    keys, counts = [""] * len(bases), {}
    for i in sorted(range(len(bases)), key=lambda i: (bases[i], identities[i])):
        n = counts.get(bases[i], 0)
        counts[bases[i]] = n + 1
        keys[i] = bases[i] + (_suffix(n) if n else "")
    return keys


def _suffix(n: int) -> str:
    letters = ""
    while n:
        n, r = divmod(n - 1, 26)
        letters = chr(97 + r) + letters
    return letters


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    frame = papers(n)
    start = time.perf_counter()
    keys = assign_keys(frame)
    ours = time.perf_counter() - start
    reserved = {
        paper_identity(t, a): k
        for t, a, k in zip(frame["title"][:10_000], frame["arxiv_id"][:10_000], keys, strict=False)
    }
    start = time.perf_counter()
    again = assign_keys(frame, reserved)
    with_reserved = time.perf_counter() - start
    start = time.perf_counter()
    naive(frame)
    slow = time.perf_counter() - start
    assert keys.is_unique and again.is_unique and (again == keys).all()
    print(f"{n:,} papers, {keys.str.len().mean():.1f} chars/key, {n - frame['title'].nunique():,} repeated titles")
    print(f"assign_keys:                 {ours:6.2f} s")
    print(f"assign_keys, 10k reserved:   {with_reserved:6.2f} s")
    print(f"naive per-row:               {slow:6.2f} s   ({slow / ours:.1f}x slower)")


if __name__ == "__main__":
    main()
