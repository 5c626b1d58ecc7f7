"""Benchmark: the search index alone — build, size on disk, reopen, extend — now and before (run by hand).

    PYTHONPATH=. python benchmarks/bench_index.py --corpus /work/bench1m [--rows 100000] [--before FOLDER]

Reads ``corpus.feather`` and ``queries.json`` as written by ``bench_peers.write_corpus`` (the first
``--rows`` papers).  Each step runs in a fresh process, once per paper_widgets copy (this one, and
``--before``, e.g. main exported at the start of a round), so peak RSS is the step's own:

- build: ``SearchIndex(df)``, then ``cache_put_arrays`` into a store; build seconds (wall, and CPU
  of the process and its worker processes), RSS with the papers loaded, peak RSS while building
  (VmHWM reset through /proc/self/clear_refs), the worker processes' peak RSS (summed), the index file's size;
  then the build of a first ``Library.search(wait=False)``: seconds to the titles' index and its first
  result (``titles_s``), and to the complete index, the abstracts indexed on a thread (``complete_s``);
- reopen: from interpreter start, import paper_widgets' search and store (seconds), open the store,
  ``cache_get_arrays`` + ``SearchIndex.from_arrays`` (seconds), the first query (seconds; the paper
  table it needs is an uncompressed Arrow copy the build step saved, memory-mapped: the frame
  cache's business, but mapped it adds only the pages the query reads); peak RSS; then CPU
  milliseconds per query of each kind in queries.json;
- extend: after a reopen, ``extend`` by one more paper, then 1,000 more (the corpus' first papers
  again, each with a new title word); seconds each (without the row hashing ``sync`` does first
  to tell appended rows from changed ones).

The frame needed to answer queries is the corpus read memory-mapped, identical for both copies.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import TreePeak, disk_mb, status_mb

__all__: list[str] = []

STEPS = ("build", "reopen", "extend")
QUERIES = 40  # per kind, after the first


def cpu_seconds() -> float:
    """CPU seconds of this process and of its ended children (the index's worker processes)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def reset_peak_rss() -> bool:
    """Start VmHWM afresh from the current RSS (Linux ≥ 4.0); False where that is not allowed."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        return False
    return True


def papers(corpus: Path, rows: int) -> Any:
    """The first ``rows`` papers' titles and abstracts as Arrow-backed strings, like a library's frame."""
    import pyarrow as pa

    table = pa.ipc.open_file(pa.memory_map(str(corpus / "corpus.feather"))).read_all()  # lz4: decompressed
    df = table.select(["title", "abstract"]).slice(0, rows).combine_chunks().to_pandas()
    del table
    pa.default_memory_pool().release_unused()  # the rest of the corpus, kept by Arrow's allocator
    return df


def mapped_papers(work: Path) -> Any:
    """The papers the build step saved uncompressed, memory-mapped: only the rows a query shows are read."""
    import pyarrow as pa

    return pa.ipc.open_file(pa.memory_map(str(work / "papers.arrow"))).read_all().to_pandas()


def save_papers(df: Any, work: Path) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(df, preserve_index=False)
    with pa.ipc.new_file(str(work / "papers.arrow"), table.schema) as writer:
        writer.write_table(table, max_chunksize=len(table) or None)


def step(name: str, corpus: Path, rows: int, work: Path, started: float) -> dict[str, float]:
    from paper_widgets.search.engine import SearchIndex, search
    from paper_widgets.store import Store

    query = json.loads((corpus / "queries.json").read_text())["typo"][0][0]
    if name == "build":
        df = papers(corpus, rows)
        save_papers(df, work)
        SearchIndex(df.iloc[:2000])  # warm up: lazy imports and cold files are not the build's cost
        frame = status_mb()
        peak_reset = reset_peak_rss()  # the build's own peak, not reading the whole corpus
        start, cpu = time.perf_counter(), cpu_seconds()
        with TreePeak(0.1, own=False) as workers:
            index = SearchIndex(df)
        build, build_cpu = time.perf_counter() - start, cpu_seconds() - cpu
        peak = status_mb("VmHWM") if peak_reset else float("nan")
        store = Store(work / "store")
        put = getattr(store, "cache_put_arrays", None)
        if put is not None:
            put("index", "h", index.to_arrays())
        else:  # the pickle cache of paper_widgets before issue 17
            store.cache_put("index", "h", index)  # type: ignore[attr-defined]
        store.close()
        disk = disk_mb(work / "store" / "cache")
        del index
        return {
            "build_s": build,
            "build_cpu_s": build_cpu,
            "frame_rss_mb": frame,
            "build_peak_mb": peak,
            "workers_peak_mb": workers.peak_mb,
            "disk_mb": disk,
            **titles_first(df, query),
        }
    imported = time.time() - started
    start = time.perf_counter()
    store = Store(work / "store")
    arrays = store.cache_get_arrays("index", "h")
    assert arrays is not None, "written by the build step"
    index = SearchIndex.from_arrays(arrays)
    opened = time.perf_counter() - start
    df = mapped_papers(work)  # not counted: the frame cache's part
    start = time.perf_counter()
    found = search(df, query, 10, index=index)
    first = time.perf_counter() - start
    result = {"import_s": imported, "open_s": opened, "first_query_s": first, "reopen_rss_mb": status_mb("VmHWM")}
    result["hits"] = float(len(found))
    if name == "reopen":  # then every query kind, in CPU time: robust to a machine shared with other jobs
        kinds = json.loads((corpus / "queries.json").read_text())
        for kind, pairs in kinds.items():
            texts = [text for text, row in pairs if row < rows][:QUERIES]
            cpu = time.process_time()
            for text in texts:
                search(df, text, 10, index=index)
            result[f"{kind}_cpu_ms"] = (time.process_time() - cpu) / max(len(texts), 1) * 1000
        result.update(decode_ns(index))
    if name == "extend":  # a reopen too, but only the extension is reported
        import pandas as pd

        result = {}
        more = papers(corpus, 1001)  # the first papers again, each with a new word: rows as a library adds them
        more["title"] = more["title"] + [f" Zq{i}x" for i in range(len(more))]
        for lo, hi, key in ((0, 1, "extend_1_s"), (1, 1001, "extend_1000_s")):
            start = time.perf_counter()
            index.extend(more.iloc[lo:hi])  # the index's own work: sync would first hash every row
            result[key] = time.perf_counter() - start
        assert len(search(pd.concat([df, more], ignore_index=True), query, 10, index=index))
    return result


def titles_first(df: Any, query: str) -> dict[str, float]:
    """The build a first ``Library.search(wait=False)`` makes (where this copy has it): seconds (wall,
    and CPU with the worker processes) to the index of the titles and its first result, then to the
    complete index; empty for a copy without it."""
    import paper_widgets.search.index as index_module
    from paper_widgets.search.engine import search

    build_titles_first = getattr(index_module, "IndexBuild", None)
    if build_titles_first is None:
        return {}
    start, cpu = time.perf_counter(), cpu_seconds()
    build = build_titles_first.titles_first(index_module.SearchIndex(), df)
    search(df, query, 10, index=build.titled)
    titled, titled_cpu = time.perf_counter() - start, cpu_seconds() - cpu
    build.finish_in_background()
    build.result()
    return {
        "titles_s": titled,
        "titles_cpu_s": titled_cpu,
        "complete_s": time.perf_counter() - start,
        "complete_cpu_s": cpu_seconds() - cpu,
    }


def decode_ns(index: Any) -> dict[str, float]:
    """Nanoseconds per posting to decode ``postings`` (rows and frequencies) of long and of short lists.

    Long: the 50 words in most abstracts (the lists the slowest queries read); short: 2,000 words of
    5–50 postings (what typo and prefix stand-ins mostly are), a list's fixed cost included.
    """
    import numpy as np

    result = {}
    df = np.asarray(index.fields["abstract"].df)
    for name, words in (
        ("long", np.argsort(-df, kind="stable")[:50]),
        ("short", np.flatnonzero((df >= 5) & (df <= 50))[:2000]),
    ):
        for wid in words.tolist():  # once, so that the mapped pages are read in: decoding, not the disk
            index.postings("abstract", wid)
        cpu = time.process_time()
        for wid in words.tolist():
            index.postings("abstract", wid)
        result[f"decode_{name}_ns"] = (time.process_time() - cpu) / max(int(df[words].sum()), 1) * 1e9
    return result


def child(args: list[str], path: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": path}
    args = [*args, "--started", str(time.time())]
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        return {"message": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--before", help="a folder holding an older paper_widgets")
    parser.add_argument("--tmp", type=Path, default=None)
    parser.add_argument("--step", choices=STEPS, help=argparse.SUPPRESS)
    parser.add_argument("--work", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--started", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.step:
        print(json.dumps(step(args.step, args.corpus, args.rows, args.work, args.started)))
        return
    copies = {"paper_widgets": str(Path(__file__).resolve().parent.parent)}
    copies |= {"before": args.before} if args.before else {}
    rows: dict[str, dict[str, float]] = {}
    for label, path in copies.items():
        work = Path(tempfile.mkdtemp(prefix="bench_index_", dir=args.tmp))
        try:
            rows[label] = {}
            base = ["--corpus", str(args.corpus), "--rows", str(args.rows), "--work", str(work)]
            for name in STEPS:
                result = child([*base, "--step", name], path)
                if "message" in result:
                    print(f"{label} {name}: failed: {result['message']}", flush=True)
                    break
                rows[label].update(result)
            print(f"{label}: done", flush=True)
        finally:
            shutil.rmtree(work, ignore_errors=True)
    keys = [
        "build_s",
        "build_cpu_s",
        "frame_rss_mb",
        "build_peak_mb",
        "workers_peak_mb",
        "disk_mb",
        "titles_s",
        "titles_cpu_s",
        "complete_s",
        "complete_cpu_s",
        "import_s",
        "open_s",
        "first_query_s",
        "reopen_rss_mb",
    ]
    keys += [key for key in next(iter(rows.values()), {}) if key.endswith(("_cpu_ms", "_ns"))]
    keys += ["extend_1_s", "extend_1000_s"]
    print(
        f"\n{args.rows:,} papers"
        + "".join(f"{label:>16}" for label in rows)
        + ("       now/before" if len(rows) > 1 else "")
    )
    for key in keys:
        values = [rows[label].get(key, float("nan")) for label in rows]
        ratio = f"{values[0] / values[1]:>16.2f}x" if len(values) > 1 and values[1] else ""
        print(f"{key:14}" + "".join(f"{v:>16.3f}" for v in values) + ratio)


if __name__ == "__main__":
    main()
