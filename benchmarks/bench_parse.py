"""Benchmark of the parsers, each against a naive baseline in the same run (run by hand:
``python benchmarks/bench_parse.py [--mb 40] [--before FOLDER] [--papers N]``).

Every case runs in a fresh subprocess, so its time and peak RSS are its own; each ratio divides
paper_widgets' time by its naive baseline's time on the same file, in the same run.

* **pair layout** (title line, abstract line, ...): ``read_path`` against a *naive line pairing*
  that reads the file as text (universal newlines), splits it into lines, strips them, drops
  blank lines and lines that are exactly page chrome, pairs line 2k with line 2k+1 and builds one
  ``PaperRecord(title, abstract, source, line, kind)`` per pair into a list. Goal: ratio <= 2.5.
* **card layout** (2025: title, abstract, ``• N authors``, ``·``, date) and **today's layout**
  (2026: upvote count, title, abstract, ``N authors`` or an organisation, ``·``, date and comment
  count): ``read_path`` against a *naive block split* that reads the file as text, splits it into
  one block per card at the ``·`` lines, splits each block into stripped non-blank lines (keeping
  line numbers), takes upvotes/title/abstract/authors-or-organisation from the end of the block and
  the date and comment count (one regex, ``datetime.date``) from the start of the next one, and
  builds one ``PaperRecord`` per card into a list. Goal: ratio <= 1.2.
* **arXiv JSON-lines**: ``read_path`` against ``json.loads`` per line: the file is read in binary
  lines, each line is decoded by ``json.loads`` and one ``PaperRecord`` is built from ``title``,
  ``abstract``, ``id``, ``doi`` and ``authors_parsed`` (first and last names joined) into a list
  (no unwrapping, no dates, no checks). Goal: ratio <= 1.3.
* **memory**: peak RSS of streaming each format (records consumed, not kept) at two file sizes
  (``--mb`` / 4 and ``--mb``), and its growth above the peak after the imports; flat means the
  ratio large/small stays near 1 and the growth does not follow the file size.
* Times are CPU seconds of the process (``time.process_time``): the machine is shared, and the
  fastest of ``--repeat`` runs (the cases take turns) is the least disturbed.
* ``--before FOLDER``: the same cases run with an older paper_widgets (e.g. ``git archive`` of
  main) on ``PYTHONPATH``, in the same run, so before/after ratios compare like with like.
* ``--papers N`` (default 0: skipped): ``Library.from_frame`` of N papers against a row-by-row
  Python merge.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

# The code under test: this checkout, or the folder given by --before (set by the parent).
sys.path.insert(0, os.environ.get("PW_BENCH_CODE") or str(Path(__file__).resolve().parent.parent))

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
ORGANISATIONS = ["Microsoft", "Carnegie Mellon University", "Google DeepMind", "Meta AI", "Tsinghua University"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
LAYOUTS = ("pair", "card", "today")


def _sentence(rng: random.Random, n: int) -> str:
    words = [rng.choice(WORDS) for _ in range(n)]
    return words[0].capitalize() + " " + " ".join(words[1:]) + "."


def _title(rng: random.Random, i: int) -> str:
    return f"Paper{i}: " + " ".join(rng.choice(WORDS).capitalize() for _ in range(rng.randint(3, 12)))


def _abstract(rng: random.Random) -> str:
    return " ".join(_sentence(rng, rng.randint(8, 30)) for _ in range(rng.randint(4, 12)))


def _card(rng: random.Random, i: int) -> str:
    return (
        f"{_title(rng, i)}\r\n\r\n{_abstract(rng)} \r\n\r\n  • {rng.randint(1, 20)} authors\r\n·\r\n"
        f"Jun {rng.randint(1, 28)}, 2025 {rng.randint(0, 99)}\r\n\r\n"
    )


def _todays_card(rng: random.Random, i: int) -> str:
    upvotes = rng.choice(["-", str(rng.randint(1, 400))])
    signed = rng.choice(ORGANISATIONS) if rng.random() < 0.3 else f"{rng.randint(1, 30)} authors"
    when = f"{rng.choice(MONTHS)} {rng.randint(1, 28)}" + rng.choice(["", ", 2024", ", 2025"])
    comments = rng.choice(["", f" {rng.randint(1, 20)}"])
    return f"{upvotes}\n\n{_title(rng, i)}\n\n{_abstract(rng)}\n\n{signed}\n\n·\n{when}{comments}\n\n"


def write_dump(path: Path, layout: str, mb: float) -> int:
    """A synthetic page dump of ``layout`` of about ``mb`` MiB; returns the number of papers."""
    rng = random.Random(1)
    target = mb * 2**20
    header = "Get trending papers in your email inbox!\r\n\r\nSubscribe\r\n\r\nDaily Papers\r\n\r\n"
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(header + ("Jun 29\n\n" if layout == "today" else ""))
        i = 0
        while f.tell() < target:
            if layout == "card":
                f.write(_card(rng, i))
            elif layout == "today":
                f.write(_todays_card(rng, i))
            else:
                f.write(f"{_title(rng, i)}\n{_abstract(rng)}\n")
            i += 1
    return i


def write_jsonl(path: Path, mb: float) -> int:
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


def case_read(path: str) -> dict[str, Any]:
    """paper_widgets' real entry point: detect the format, parse, bound; all records in a list."""
    from paper_widgets.data.readers.sources import read_path
    from paper_widgets.data.records import LoadWarning

    warnings: list[LoadWarning] = []
    start = time.process_time()
    records = read_path(Path(path), warnings)
    return {"seconds": time.process_time() - start, "records": len(records), "warnings": len(warnings)}


def case_stream(path: str) -> dict[str, Any]:
    """Peak RSS while the parser streams a file and nothing keeps its records."""
    from paper_widgets.data.readers.dump import parse_dump
    from paper_widgets.data.readers.json import parse_jsonl
    from paper_widgets.data.records import LoadWarning

    warnings: list[LoadWarning] = []
    imported = peak_rss_mb()  # the interpreter and the imports: the same at every file size
    start = time.process_time()
    with open(path, "rb") as f:
        if path.endswith(".jsonl"):
            n = sum(1 for _ in parse_jsonl(f, path, warnings))
        else:
            n = sum(1 for _ in parse_dump(io.TextIOWrapper(f, encoding="utf-8", newline=None), path, warnings))
    return {
        "seconds": time.process_time() - start,
        "records": n,
        "rss": peak_rss_mb(),
        "parsing": peak_rss_mb() - imported,
    }


_CHROME_LINES = frozenset(["Get trending papers in your email inbox!", "Subscribe", "Daily Papers"])


def case_naive_pairs(path: str) -> dict[str, Any]:
    from paper_widgets.data.records import PaperRecord

    start = time.process_time()
    lines = Path(path).read_text(encoding="utf-8").split("\n")
    content = [(n, s) for n, s in enumerate(map(str.strip, lines), 1) if s and s not in _CHROME_LINES]
    records = [
        PaperRecord(title=title, abstract=abstract, source=path, line=n, kind="pair")
        for (n, title), (_, abstract) in zip(content[0::2], content[1::2], strict=False)
    ]
    return {"seconds": time.process_time() - start, "records": len(records)}


_NAIVE_DATE = re.compile(r"([A-Z][a-z]{2}) (\d{1,2})(?:, (\d{4}))?(?: +(\d+))?")
_NAIVE_AUTHORS = re.compile(r"[•]?\s*(\d+) authors")


def case_naive_cards(path: str) -> dict[str, Any]:
    from paper_widgets.data.records import PaperRecord

    start = time.process_time()
    months = {name: number for number, name in enumerate(MONTHS, 1)}
    records: list[PaperRecord] = []
    first_line = 1
    for block in Path(path).read_text(encoding="utf-8").split("\n·\n"):
        lines = [(n, s) for n, s in enumerate(map(str.strip, block.split("\n")), first_line) if s]
        first_line += block.count("\n") + 2
        if records:  # the block opens with the date line of the card before it
            when = _NAIVE_DATE.match(lines[0][1])
            if when:
                year = int(when.group(3)) if when.group(3) else 2026
                records[-1].published = date(year, months[when.group(1)], int(when.group(2)))
                records[-1].comments = int(when.group(4)) if when.group(4) else None
        if len(lines) < 4:
            continue
        (n, title), (_, abstract), (_, signed) = lines[-3:]
        authors = _NAIVE_AUTHORS.fullmatch(signed)
        votes = lines[-4][1]
        records.append(
            PaperRecord(
                title=title,
                abstract=abstract,
                source=path,
                line=n,
                kind="card",
                n_authors=int(authors.group(1)) if authors else None,
                organization=None if authors else signed,
                upvotes=(0 if votes == "-" else int(votes)) if votes == "-" or votes.isdigit() else None,
            )
        )
    return {"seconds": time.process_time() - start, "records": len(records)}


def case_naive_jsonl(path: str) -> dict[str, Any]:
    from paper_widgets.data.records import PaperRecord

    start = time.process_time()
    records: list[PaperRecord] = []
    with open(path, "rb") as f:
        for number, line in enumerate(f, 1):
            obj = json.loads(line)
            records.append(
                PaperRecord(
                    title=obj["title"],
                    abstract=obj["abstract"],
                    source=path,
                    line=number,
                    kind="arxiv",
                    arxiv_id=obj["id"],
                    doi=obj["doi"],
                    authors=tuple(f"{first} {last}" for last, first, *_ in obj["authors_parsed"]),
                )
            )
    return {"seconds": time.process_time() - start, "records": len(records)}


def _frame(n: int) -> pd.DataFrame:
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


def case_frame(n: str) -> dict[str, Any]:
    from paper_widgets.data.merge import merge_records, normalise_frame
    from paper_widgets.library import Library

    df = _frame(int(n))
    base = peak_rss_mb()
    start = time.process_time()
    merged = merge_records(normalise_frame(df))
    merge_seconds = time.process_time() - start
    start = time.process_time()
    lib = Library.from_frame(df)
    return {
        "merge_seconds": merge_seconds,
        "seconds": time.process_time() - start,
        "rows": len(lib.df),
        "merged_rows": len(merged),
        "rss": peak_rss_mb(),
        "rss_before": base,
    }


def case_frame_naive(n: str) -> dict[str, Any]:
    from paper_widgets.data.text import fold

    df = _frame(int(n))
    start = time.process_time()
    rows: dict[str, dict[str, Any]] = {}
    for rec in df.to_dict("records"):  # row-by-row merge by folded title
        key = fold(rec["title"])
        best = rows.setdefault(key, dict(rec))
        if len(rec["abstract"]) > len(best["abstract"]):
            best["abstract"] = rec["abstract"]
    return {"seconds": time.process_time() - start, "rows": len(rows), "rss": peak_rss_mb()}


CASES = {
    f.__name__[5:]: f
    for f in (
        case_read,
        case_stream,
        case_naive_pairs,
        case_naive_cards,
        case_naive_jsonl,
        case_frame,
        case_frame_naive,
    )
}
NAIVE = {"pair": "naive_pairs", "card": "naive_cards", "today": "naive_cards", "jsonl": "naive_jsonl"}
GOALS = {"pair": 2.5, "card": 1.2, "today": 1.2, "jsonl": 1.3}


def run(case: str, arg: str, code: str | None = None) -> dict[str, Any]:
    """``case`` in a fresh process; ``code``: a folder holding the paper_widgets to import instead of this one."""
    env = dict(os.environ, PAPER_WIDGETS_HOME=tempfile.mkdtemp(prefix="pw_bench_home_"))
    if code:
        env["PW_BENCH_CODE"] = code
    out = subprocess.run(
        [sys.executable, __file__, "--case", case, arg], capture_output=True, text=True, env=env, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def fastest(cases: dict[str, tuple[str, str, str | None]], repeat: int) -> dict[str, dict[str, Any]]:
    """The fastest of ``repeat`` runs of each case, taking turns (naive, ours, before, naive, ...) so that
    a change in the load of the shared machine hits every case alike; the minimum is the least disturbed."""
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (case, arg, code) in cases.items():
            runs[name].append(run(case, arg, code))
    return {name: min(results, key=lambda r: r["seconds"]) for name, results in runs.items()}


def write(path: Path, fmt: str, mb: float) -> int:
    return write_jsonl(path, mb) if fmt == "jsonl" else write_dump(path, fmt, mb)


def speed(tmp: Path, mb: float, repeat: int, before: str | None, formats: list[str]) -> None:
    print(f"speed: paper_widgets read_path / naive baseline, same file, best of {repeat} (goal in brackets)")
    for fmt in formats:
        path = tmp / f"{fmt}.{'jsonl' if fmt == 'jsonl' else 'txt'}"
        n = write(path, fmt, mb)
        size = path.stat().st_size / 2**20
        cases: dict[str, tuple[str, str, str | None]] = {
            "naive": (NAIVE[fmt], str(path), None),
            "ours": ("read", str(path), None),
        }
        if before:
            cases["before"] = ("read", str(path), before)
        results = fastest(cases, repeat)
        naive, ours = results["naive"], results["ours"]
        line = (
            f"  {fmt:6} {size:5.0f} MB {n:7} papers | naive {naive['seconds']:6.2f} s ({naive['records']} records) "
            f"| ours {ours['seconds']:6.2f} s ({ours['records']} records, {ours['warnings']} warnings) "
            f"ratio {ours['seconds'] / naive['seconds']:.2f} (<= {GOALS[fmt]})"
        )
        if before:
            old = results["before"]
            line += f" | before {old['seconds']:6.2f} s ratio {old['seconds'] / naive['seconds']:.2f}"
        print(line, flush=True)
        path.unlink()


def memory(tmp: Path, mb: float, before: str | None, formats: list[str]) -> None:
    print(f"memory: peak RSS streaming each format (records not kept) at {mb / 4:g} MB and {mb:g} MB")
    for fmt in formats:
        rss: dict[str, list[dict[str, Any]]] = {"ours": [], "before": []}
        for size in (mb / 4, mb):
            path = tmp / f"{fmt}.{'jsonl' if fmt == 'jsonl' else 'txt'}"
            write(path, fmt, size)
            rss["ours"].append(run("stream", str(path)))
            if before:
                rss["before"].append(run("stream", str(path), before))
            path.unlink()
        line = "  ".join(
            f"{who} {small['rss']:4.0f} -> {large['rss']:4.0f} MB (x{large['rss'] / small['rss']:.2f}; "
            f"above the imports +{small['parsing']:.0f} -> +{large['parsing']:.0f} MB)"
            for who, (small, large) in ((w, r) for w, r in rss.items() if r)
        )
        print(f"  {fmt:6} {line}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("arg", nargs="?")
    parser.add_argument("--mb", type=float, default=40, help="size of each synthetic file")
    parser.add_argument("--repeat", type=int, default=5, help="runs per case; the fastest counts (0: memory only)")
    parser.add_argument("--before", help="a folder holding an older paper_widgets, run side by side")
    parser.add_argument("--papers", type=int, default=0, help="Library.from_frame of this many papers (0: skip)")
    parser.add_argument("--formats", default=",".join((*LAYOUTS, "jsonl")), help="comma-separated subset to run")
    args = parser.parse_args()
    if args.case:
        import warnings

        warnings.simplefilter("ignore")
        print(json.dumps(CASES[args.case](args.arg)))
        return

    before = str(Path(args.before).resolve()) if args.before else None
    with tempfile.TemporaryDirectory(prefix="pw_bench_") as tmp:
        formats = args.formats.split(",")
        if args.repeat:
            speed(Path(tmp), args.mb, args.repeat, before, formats)
        memory(Path(tmp), args.mb, before, formats)
    if args.papers:
        ours, naive = run("frame", str(args.papers)), run("frame_naive", str(args.papers))
        print(
            f"from_frame {args.papers} papers (+2% duplicates): merge {ours['merge_seconds']:.1f} s, full "
            f"Library.from_frame (merge + citekeys + store) {ours['seconds']:.1f} s -> {ours['rows']} rows, peak RSS "
            f"{ours['rss']:.0f} MB (frame alone {ours['rss_before']:.0f} MB) | naive row-by-row merge "
            f"{naive['seconds']:.1f} s | ratio naive/our merge {naive['seconds'] / ours['merge_seconds']:.1f}"
        )


if __name__ == "__main__":
    main()
