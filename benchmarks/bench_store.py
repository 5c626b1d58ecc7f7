"""Benchmark of the notes store (run by hand): reopening persisted libraries and writing notes.

    PYTHONPATH=. python benchmarks/bench_store.py            # 100k and 1M papers
    PYTHONPATH=. python benchmarks/bench_store.py 20000      # quick run with other sizes

For each size a synthetic Hugging Face JSON-lines dump is written and loaded three ways:

* first load: parse, merge, assign and record citekeys, fill the cache;
* naive reopen: the same dump parsed from scratch (keys already recorded, cache disabled);
* cached reopen: content hash matches, so the library frame is unpickled from the cache.

Then 10k notes are written one transaction (one fsync) per note, as ``set_note`` does,
and as one batch via ``Store.set_notes``.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import paper_widgets
from paper_widgets.store import Store

__all__: list[str] = []

WORDS = [
    "adaptive",
    "attention",
    "benchmark",
    "contrastive",
    "diffusion",
    "efficient",
    "graph",
    "language",
    "latent",
    "learning",
    "model",
    "multimodal",
    "network",
    "neural",
    "optimisation",
    "policy",
    "reasoning",
    "retrieval",
    "robust",
    "scaling",
    "sparse",
    "transformer",
    "vision",
    "agents",
    "alignment",
    "tokens",
    "memory",
    "planning",
    "inference",
    "distillation",
]


class NoCacheStore(Store):
    """The naive approach: every load parses from scratch."""

    def cache_get(self, name: str, content_hash: str) -> Any | None:
        return None

    def cache_put(self, name: str, content_hash: str, value: Any) -> None:
        return None


def write_dump(path: Path, n: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    sentences = [" ".join(rng.choices(WORDS, k=18)).capitalize() + "." for _ in range(500)]
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            title = " ".join(rng.choices(WORDS, k=6)).title() + f" {i}"
            paper = {
                "id": f"{2300 + i // 100_000}.{i % 100_000:05d}",
                "title": title,
                "summary": " ".join(rng.choices(sentences, k=7)),
                "authors": [{"name": f"Author{rng.randrange(5000)} Surname{rng.randrange(5000)}"} for _ in range(4)],
                "publishedAt": f"2024-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T00:00:00.000Z",
                "upvotes": rng.randrange(200),
            }
            f.write(json.dumps(paper) + "\n")


def timed(label: str, action: Any) -> tuple[float, Any]:
    start = time.perf_counter()
    result = action()
    elapsed = time.perf_counter() - start
    print(f"  {label:<44} {elapsed:8.2f} s")
    return elapsed, result


def bench_open(n: int, work: Path) -> None:
    dump = work / f"papers_{n}.jsonl"
    home = work / f"home_{n}"
    write_dump(dump, n)
    print(f"\n{n:,} papers ({dump.stat().st_size / 2**20:.0f} MiB JSON-lines)")
    timed("first load (parse + keys + fill cache)", lambda: paper_widgets.load(dump, store=home))
    naive, lib = timed("naive reopen (parse from scratch)", lambda: paper_widgets.load(dump, store=NoCacheStore(home)))
    cached, lib = timed("cached reopen (same content hash)", lambda: paper_widgets.load(dump, store=home))
    timed("first lib.df (notes/tags/status joined)", lambda: lib.df)
    assert len(lib.df) == n
    print(f"  naive / cached: {naive / cached:.1f}x faster")
    built, _ = timed("first search (builds and caches the index)", lambda: lib.search("attention"))
    reopened, _ = timed(
        "cached reopen + first search (index cached)", lambda: paper_widgets.load(dump, store=home).search("attention")
    )
    print(
        f"  reopen with index: {reopened:.1f} s; parse and build from scratch: {naive + built:.1f} s "
        f"({(naive + built) / reopened:.1f}x)"
    )
    cache_bytes = sum(p.stat().st_size for p in (home / "cache").glob("*.pickle"))
    print(f"  cache files: {cache_bytes / 2**20:.0f} MiB")


def bench_notes(work: Path, n: int = 10_000) -> None:
    print(f"\nwriting {n:,} notes (synchronous=FULL, WAL)")
    store = Store(work / "notes_home")
    dump = work / "notes_dump.jsonl"
    write_dump(dump, n, seed=11)
    keys = paper_widgets.load(dump, store=store).df["key"].tolist()
    texts = [f"Note {i}: " + "remember this " * 20 for i in range(n)]

    def one_by_one() -> None:
        for key, text in zip(keys, texts, strict=False):
            store.set_note(key, text)

    single, _ = timed(f"{n:,} x set_note (one transaction each)", one_by_one)
    batch, _ = timed(f"set_notes of {n:,} (one transaction)", lambda: store.set_notes(zip(keys, texts, strict=False)))
    print(f"  per note: {single / n * 1e3:.2f} ms acknowledged; batch is {single / batch:.0f}x faster")
    with Store(store.home) as other:
        timed("annotations() with 10k notes", other.annotations)


def main(sizes: list[int]) -> None:
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        work = Path(tmp)
        for n in sizes:
            bench_open(n, work)
        bench_notes(work)


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100_000, 1_000_000])
