"""Benchmark: abstracts read from their source files against the same abstracts compressed (run by hand).

    PYTHONPATH=. python benchmarks/bench_sourced.py [--dumps FOLDER | --papers 100000] [--tmp DIR] [--results 200]

Loads the dumps (today's HF layout, as bench_open writes them; without ``--dumps``, ``--papers``
of them are written first, in 100 files) into a fresh store, then reopens
the library as a large one is held (its abstracts read for the rows used) and reads, from the same
rows in the same process:

* **sourced**: the library's abstract column as the store keeps it now: references into the dump
  files (``data.spans``), the rest compressed;
* **compressed**: the same texts as the store kept them before: every row zstd-compressed in
  8-row blocks with a trained dictionary (``store.texts.compressed_texts``).

Printed: MB each takes on disk (the ``.arrays`` file's arrays), a search result's read (the
abstracts of 20 random rows: median and p95 over ``--results`` results, in ms), a 16,384-row slice
as the index build reads it, and every row in order (``lib.df``), with the ratios sourced ÷
compressed.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

__all__: list[str] = []


def _timed(read: object, repeat: int) -> np.ndarray:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        read()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return np.array(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dumps", default=None, help="a folder of dumps (e.g. bench_open's --work ones)")
    parser.add_argument("--papers", type=int, default=100_000, help="papers written when --dumps is not given")
    parser.add_argument("--tmp", default=None)
    parser.add_argument("--results", type=int, default=200)
    args = parser.parse_args()

    import paper_widgets
    from paper_widgets.data.spans import SETTLED_NS
    from paper_widgets.store import Store
    from paper_widgets.store import texts as texts_module
    from paper_widgets.store.texts import CompressedTexts, compressed_texts, texts_of

    texts_module.LAZY_ABOVE = 0  # held as a large library's are, whatever the size
    folder = Path(tempfile.mkdtemp(prefix="bench_sourced_", dir=args.tmp))
    home = folder / "store"
    try:
        if args.dumps is None:
            from bench_open import write_dumps

            args.dumps = str(folder / "dumps")
            write_dumps(args.papers, 100, None, Path(args.dumps))
            time.sleep(SETTLED_NS / 1e9)  # a file written just now is not referenced (data.spans)
        start = time.perf_counter()
        paper_widgets.load(args.dumps, store=Store(home), progress=False)
        print(f"cold load of {args.dumps}: {time.perf_counter() - start:.1f} s")
        lib = paper_widgets.load(args.dumps, store=Store(home), progress=False)
        sourced = lib._papers["abstract"].array
        assert isinstance(sourced, CompressedTexts) and sourced.sourced is not None
        start = time.process_time()
        compressed = texts_of(compressed_texts(sourced.__arrow_array__()))
        print(f"{len(sourced):,} abstracts; compressing them all as before: {time.process_time() - start:.1f} s CPU")
        n = len(sourced)
        rng = np.random.default_rng(17)
        results = [rng.integers(0, n, 20) for _ in range(args.results)]
        slices = [int(lo) for lo in rng.integers(0, max(n - 16_384, 1), 8)]
        columns = {"sourced": sourced, "compressed": compressed}
        rows: dict[str, dict[str, float]] = {}
        for name, column in columns.items():
            mb = sum(a.nbytes for a in column.arrays().values()) / 1e6
            each = iter(results)
            twenty = _timed(lambda column=column, each=each: column.take(next(each)), len(results))
            at = iter(slices)
            chunk = _timed(lambda column=column, at=at: column[(lo := next(at)) : lo + 16_384], len(slices))
            whole = _timed(column.materialised, 1)
            rows[name] = {
                "MB": mb,
                "20 rows p50": float(np.median(twenty)),
                "20 rows p95": float(np.percentile(twenty, 95)),
                "16k slice": float(np.median(chunk)),
                "every row": float(whole[0]),
            }
        assert list(sourced.take(results[0])) == list(compressed.take(results[0]))
        print(f"\n{'':<12}" + "".join(f"{k:>14}" for k in rows["sourced"]))
        for name, row in rows.items():
            print(f"{name:<12}" + "".join(f"{v:14.2f}" for v in row.values()))
        ratio = {k: rows["sourced"][k] / rows["compressed"][k] for k in rows["sourced"]}
        print(f"{'ratio':<12}" + "".join(f"{v:13.2f}x" for v in ratio.values()))
        print("(MB on disk; reads in ms: a search result's 20 rows, an index chunk, lib.df's every row)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
