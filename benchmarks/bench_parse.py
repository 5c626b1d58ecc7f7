"""Benchmark of the data layer (run by hand: ``python benchmarks/bench_parse.py [--mb 100]``).

Each case runs in a fresh subprocess so its peak RSS is its own:

* page dumps (card and pair layout): parse throughput in MB/s (goal >= 50 MB/s), against a
  naive parser that reads the whole file and labels lines by length;
* arXiv JSON-lines: peak RSS while streaming, against ``json.load`` of the same data as one list;
* 1M papers: ``Library.from_frame`` time and RSS, against a row-by-row Python merge.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

WORDS = [
    "model",
    "task",
    "learning",
    "multi",
    "data",
    "neural",
    "transfer",
    "large",
    "language",
    "agent",
    "vision",
    "graph",
    "benchmark",
]


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _title(rng: random.Random, i: int) -> str:
    return f"Paper{i}: " + " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(3, 12)))


def _abstract(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(4, 12)))


def write_dump(path: Path, layout: str, mb: int) -> int:
    rng = random.Random(1)
    target = mb * 2**20
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("Get trending papers in your email inbox!\r\n\r\nSubscribe\r\n\r\nDaily Papers\r\n\r\n")
        i = 0
        while f.tell() < target:
            if layout == "card":
                f.write(
                    f"{_title(rng, i)}\r\n\r\n{_abstract(rng)} \r\n\r\n  • {rng.randint(1, 20)} authors\r\n·\r\nJun {rng.randint(1, 28)}, 2025 {rng.randint(0, 99)}\r\n\r\n"
                )
            else:
                f.write(f"{_title(rng, i)}\n{_abstract(rng)}\n")
            i += 1
    return i


def write_jsonl(path: Path, mb: int) -> int:
    rng = random.Random(2)
    target = mb * 2**20
    with open(path, "w", encoding="utf-8") as f:
        i = 0
        while f.tell() < target:
            obj = {
                "id": f"{2000 + i // 100000:04d}.{i % 100000:05d}",
                "submitter": "Someone",
                "authors": "A. One, B. Two and C. Three",
                "title": _title(rng, i),
                "comments": "12 pages",
                "journal-ref": None,
                "doi": None,
                "license": None,
                "abstract": "  " + _abstract(rng).replace(". ", ".\n", 3) + "\n",
                "versions": [{"version": "v1", "created": "Mon, 2 Apr 2007 19:18:42 GMT"}],
                "update_date": "2008-11-13",
                "authors_parsed": [["One", "A.", ""], ["Two", "B.", ""], ["Three", "C.", ""]],
            }
            f.write(json.dumps(obj) + "\n")
            i += 1
    return i


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- cases (each runs in its own process) ---------------------------------------------------


def case_dump(path: str) -> dict:
    from paper_widgets.data.readers.sources import read_path
    from paper_widgets.data.records import LoadWarning

    warnings: list[LoadWarning] = []
    start = time.perf_counter()
    records = read_path(Path(path), warnings)
    return {
        "seconds": time.perf_counter() - start,
        "records": len(records),
        "warnings": len(warnings),
        "rss": peak_rss_mb(),
    }


def case_dump_naive(path: str) -> dict:
    # Read everything, split lines, call a line a title when it is short and the next one is long.
    start = time.perf_counter()
    lines = [ln.strip() for ln in Path(path).read_text(encoding="utf-8").splitlines() if ln.strip()]
    records = [(a, b) for a, b in itertools.pairwise(lines) if len(a) < 150 and len(b) >= 150]
    return {"seconds": time.perf_counter() - start, "records": len(records), "rss": peak_rss_mb()}


def case_jsonl(path: str) -> dict:
    from paper_widgets.data.readers.json import parse_jsonl
    from paper_widgets.data.records import LoadWarning

    warnings: list[LoadWarning] = []
    start = time.perf_counter()
    with open(path, "rb") as f:
        n = sum(1 for _ in parse_jsonl(f, path, warnings))  # streamed: records are not kept
    return {"seconds": time.perf_counter() - start, "records": n, "rss": peak_rss_mb()}


def case_jsonl_naive(path: str) -> dict:
    start = time.perf_counter()
    data = json.loads("[" + ",".join(Path(path).read_text(encoding="utf-8").splitlines()) + "]")
    return {"seconds": time.perf_counter() - start, "records": len(data), "rss": peak_rss_mb()}


def _frame(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(3)
    ids = np.arange(n)
    titles = pd.Series([f"Paper {i} on Multi-Task {WORDS[i % len(WORDS)]} Learning" for i in ids])
    dup = rng.choice(n, n // 50, replace=False)  # 2% duplicates with other case/punctuation
    titles = pd.concat([titles, titles[dup].str.upper() + "!"], ignore_index=True)
    m = len(titles)
    return pd.DataFrame(
        {
            "title": titles,
            "abstract": pd.Series(["We study a thing. It works."] * m),
            "published": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, m), unit="D"),
            "upvotes": rng.integers(0, 100, m),
            "arxiv_id": pd.Series(
                [f"24{i % 12 + 1:02d}.{i:05d}" if i % 3 == 0 else None for i in range(m)], dtype="str"
            ),
        }
    )


def case_frame(n: str) -> dict:
    from paper_widgets.data.merge import merge_records, normalise_frame
    from paper_widgets.library import Library

    df = _frame(int(n))
    base = peak_rss_mb()
    start = time.perf_counter()
    merged = merge_records(normalise_frame(df))
    merge_seconds = time.perf_counter() - start
    start = time.perf_counter()
    lib = Library.from_frame(df)
    return {
        "merge_seconds": merge_seconds,
        "seconds": time.perf_counter() - start,
        "rows": len(lib.df),
        "merged_rows": len(merged),
        "rss": peak_rss_mb(),
        "rss_before": base,
    }


def case_frame_naive(n: str) -> dict:
    from paper_widgets.data.text import fold

    df = _frame(int(n))
    start = time.perf_counter()
    rows: dict[str, dict] = {}
    for rec in df.to_dict("records"):  # row-by-row merge by folded title
        key = fold(rec["title"])
        best = rows.setdefault(key, dict(rec))
        if len(rec["abstract"]) > len(best["abstract"]):
            best["abstract"] = rec["abstract"]
    return {"seconds": time.perf_counter() - start, "rows": len(rows), "rss": peak_rss_mb()}


CASES = {
    f.__name__[5:]: f for f in (case_dump, case_dump_naive, case_jsonl, case_jsonl_naive, case_frame, case_frame_naive)
}


def run(case: str, arg: str) -> dict:
    env = dict(os.environ, PAPER_WIDGETS_HOME=tempfile.mkdtemp(prefix="pw_bench_home_"))
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, arg], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("arg", nargs="?")
    parser.add_argument("--mb", type=int, default=100, help="size of each synthetic dump")
    parser.add_argument("--papers", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.case:
        import warnings

        warnings.simplefilter("ignore")
        print(json.dumps(CASES[args.case](args.arg)))
        return

    with tempfile.TemporaryDirectory(prefix="pw_bench_") as tmp:
        for layout in ("card", "pair"):
            path = Path(tmp) / f"{layout}.txt"
            n = write_dump(path, layout, args.mb)
            mb = path.stat().st_size / 2**20
            ours, naive = run("dump", str(path)), run("dump_naive", str(path))
            print(
                f"{layout} dump {mb:.0f} MB, {n} papers: {mb / ours['seconds']:.0f} MB/s ({ours['records']} records, "
                f"{ours['warnings']} warnings, peak RSS {ours['rss']:.0f} MB) | naive length rule "
                f"{mb / naive['seconds']:.0f} MB/s ({naive['records']} records) | speed ratio ours/naive "
                f"{naive['seconds'] / ours['seconds']:.2f}"
            )
            path.unlink()
        path = Path(tmp) / "arxiv.jsonl"
        n = write_jsonl(path, 2 * args.mb)
        mb = path.stat().st_size / 2**20
        ours, naive = run("jsonl", str(path)), run("jsonl_naive", str(path))
        print(
            f"arXiv JSON-lines {mb:.0f} MB, {n} papers: streamed {mb / ours['seconds']:.0f} MB/s, peak RSS "
            f"{ours['rss']:.0f} MB | naive json.load of everything {mb / naive['seconds']:.0f} MB/s, peak RSS "
            f"{naive['rss']:.0f} MB | RSS ratio naive/ours {naive['rss'] / ours['rss']:.1f}"
        )
    ours, naive = run("frame", str(args.papers)), run("frame_naive", str(args.papers))
    print(
        f"from_frame {args.papers} papers (+2% duplicates): merge {ours['merge_seconds']:.1f} s, full Library.from_frame "
        f"(merge + citekeys + store) {ours['seconds']:.1f} s -> {ours['rows']} rows, peak RSS {ours['rss']:.0f} MB "
        f"(frame alone {ours['rss_before']:.0f} MB) | naive row-by-row merge {naive['seconds']:.1f} s "
        f"| ratio naive/our merge {naive['seconds'] / ours['merge_seconds']:.1f}"
    )


if __name__ == "__main__":
    main()
