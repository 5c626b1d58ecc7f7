"""Benchmark: what a note, tag or status write costs the next search (run by hand).

    PYTHONPATH=. python benchmarks/bench_note_write.py [--sizes 100000,1000000] [--corpus DIR]
        [--before FOLDER]   # also an older paper_widgets (e.g. ``git archive`` of main), same run

Issue 17 asks that a search right after a note/tag/status write cost at most 5 ms more than the same
search without one (it once cost 0.53 s at 1M, because every write re-annotated every row).  A
library of N synthetic papers (``bench_search.make_library``, or the first N rows of ``DIR/corpus.feather``
written by ``bench_peers.py``) is opened with ``Library.from_frame`` in a temporary store; then for each
query, the search is timed three times without a write (the best is the baseline) and once right after
writing a note, a tag or a status to a paper in its results.  Printed: the median and worst extra ms per
write kind, beside the baseline search.  Each paper_widgets copy runs in its own subprocess.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__: list[str] = []

QUERIES = 30
WRITES = ("note", "tag", "status")


def _corpus(n: int, corpus: Path | None) -> Any:
    import pandas as pd

    if corpus is not None:
        return pd.read_feather(corpus / "corpus.feather").iloc[:n].reset_index(drop=True)
    from bench_search import make_library

    return make_library(n)[0]


def run_child(n: int, corpus: Path | None) -> dict[str, Any]:
    # the store of the library measured (its index cache: ~0.9 GB at 1M papers) goes with the run
    with tempfile.TemporaryDirectory(prefix="bench_note_write_") as home:
        os.environ["PAPER_WIDGETS_HOME"] = home
        return _measure(n, corpus)


def _measure(n: int, corpus: Path | None) -> dict[str, Any]:
    import warnings

    import paper_widgets

    df = _corpus(n, corpus)
    rng = np.random.default_rng(7)
    queries = [" ".join(str(t).split()[:4]) for t in df["title"].iloc[rng.integers(0, n, QUERIES)]]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = paper_widgets.Library.from_frame(df)
    lib.search(queries[0])  # index built, caches warm
    extra: dict[str, list[float]] = {kind: [] for kind in WRITES}
    plain = []
    for i, query in enumerate(queries):
        times = []
        for _ in range(3):
            started = time.perf_counter()
            found = lib.search(query, 10)
            times.append(time.perf_counter() - started)
        plain.append(min(times))
        key = str(found["key"].iloc[0])
        kind = WRITES[i % len(WRITES)]
        if kind == "note":
            lib.set_note(key, f"note {i}")
        elif kind == "tag":
            lib.tag(key, f"t{i}")
        else:
            lib.set_status(key, "read")
        started = time.perf_counter()
        lib.search(query, 10)
        extra[kind].append(time.perf_counter() - started - min(times))
    lib.store.close()
    return {"plain_ms": float(np.median(plain) * 1000), **{k: [x * 1000 for x in v] for k, v in extra.items()}}


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        corpus = Path(sys.argv[i + 2]) if sys.argv[i + 2] != "-" else None
        print(json.dumps(run_child(int(sys.argv[i + 1]), corpus)))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100000,1000000")
    parser.add_argument("--corpus", type=Path, help="a folder with bench_peers' corpus.feather")
    parser.add_argument("--before", help="a folder holding an older paper_widgets")
    args = parser.parse_args()
    copies = {"paper_widgets": None, **({"before": args.before} if args.before else {})}
    for n in map(int, args.sizes.split(",")):
        print(f"\n=== {n:,} papers ===")
        print(f"{'':14}{'search ms':>10}" + "".join(f"{w + ' +ms med/max':>20}" for w in WRITES))
        for name, path in copies.items():
            env = {**os.environ, "PYTHONPATH": path} if path else None
            argv = [sys.executable, __file__, "--child", str(n), str(args.corpus or "-")]
            out = subprocess.run(argv, capture_output=True, text=True, check=False, env=env)
            if out.returncode:
                print(f"{name}: failed: {out.stderr.strip().splitlines()[-1:]}")
                continue
            row = json.loads(out.stdout.strip().splitlines()[-1])
            cells = "".join(f"{np.median(row[w]):>11.2f} / {max(row[w]):>6.2f}" for w in WRITES)
            print(f"{name:14}{row['plain_ms']:>10.2f}{cells}", flush=True)


if __name__ == "__main__":
    main()
