"""Benchmark: cold open of N papers from Daily Papers dumps, and reopen of the saved library (run by hand).

    PYTHONPATH=. python benchmarks/bench_open.py [--sizes 10000,100000] [--files 100]
        [--corpus /work/bench1m/corpus.feather] [--before FOLDER] [--tmp DIR] [--keep] [--work DIR] [--assume-idle]

Issue 17's targets at 1M papers: cold open from dumps ≤ 30 s with peak RSS ≤ 1.5 GB, store folder
≤ 600 MB, reopen (after ``import paper_widgets``, open the saved library and get the first result)
≤ 0.5 s with RSS ≤ 400 MB.

The first N papers of the corpus (title, abstract, date, upvotes; ``bench_peers.write_corpus``'s
Feather file, else ``bench_search.make_library``) are written as dump files in today's HF card
layout (upvotes on their own line, title, abstract, ``• N authors``, ``·``, date and comments),
split over ``--files`` files.  Then, each in a fresh process:

* **naive**: read every file and split it into its cards (the floor any parser stands on), then
  a pandas frame of the titles and abstracts;
* **cold**: ``paper_widgets.load(folder, store=HOME)`` with ``PAPER_WIDGETS_HOME=HOME`` empty,
  then ``lib.search(q)``;
* **reopen**: ``import paper_widgets``; ``paper_widgets.load(folder, store=HOME)``; ``lib.search(q)``:
  the saved library frame and (from 20k papers on) its search index come from the store's cache.
  "reopen s" is the issue's measure: after ``import paper_widgets``, the wall time to open the
  saved library and get the first result; "from launch" adds the interpreter start and the import
  (pandas alone takes 0.3–0.5 s to import on this machine).

``--assume-idle`` starts worker processes (parsing, tokenising) in both versions as on an idle machine:
on a shared one, whether a load starts them varies from run to run and swamps what is compared.

"cold s" is the cold open to the first result: ``load()`` and then ``lib.search(q, wait=False)``,
which answers once the titles are indexed (the abstracts are indexed behind it); "complete s" waits
for the whole index (``lib.search(q)``, the Python API's default).

``--work DIR`` keeps the written dumps in ``DIR/dumps_N_FILES`` and reuses them in later runs (writing
1M papers' dumps takes minutes); the stores are made afresh in ``DIR`` each run and removed after.
``--reopens K`` reopens K times (page cache warm after the first) and reports the median run.

The phases are timed by wrapping paper_widgets' own functions in the child (file hashing,
parsing, records frames, merge, citekeys and their store writes, frame cache reads/writes, index
hashing/build/cache, search, annotation joins); "other" is the rest of the wall time.  For each
phase the growth of the peak RSS (VmHWM) during it is printed too, so the phase that sets the peak
is visible.  With ``--before`` the same is run on an older paper_widgets in the same run, and the
ratios after ÷ before are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import inspect
import itertools
import json
import math
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from measure import TreePeak, disk_mb, status_mb

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__: list[str] = []

CORPUS = Path("/work/bench1m/corpus.feather")
MAX_RSS_MB = 6144.0  # --max-rss-mb default: a child that grows past it stops (an error in the table)
TARGETS = {"cold_s": 30.0, "cold_rss_mb": 1536.0, "store_mb": 600.0, "reopen_s": 0.5, "reopen_rss_mb": 400.0}
# (phase name, module, attribute path): wrapped in the child to time paper_widgets' own steps.
PHASES = (
    ("hash files", "paper_widgets.store", "Store.file_hash"),
    ("parse", "paper_widgets.library", "read_path"),
    ("parse (all files, pooled)", "paper_widgets.library", "read_files"),
    ("records frame", "paper_widgets.library", "records_frame"),
    ("join records", "paper_widgets.library", "_concatenated"),
    ("merge", "paper_widgets.library", "merge_records"),
    ("merge", "paper_widgets.library", "merge_traced"),
    ("citekeys+store", "paper_widgets.store", "Store.assign_keys"),
    ("sort by key", "paper_widgets.library", "_reordered"),
    ("frame cache write", "paper_widgets.store", "Store.cache_put_frame"),
    ("frame cache read", "paper_widgets.store", "Store.cache_get_frame"),
    ("key aliases", "paper_widgets.store", "Store.key_aliases"),
    ("index hashes", "paper_widgets.library", "row_hashes"),
    ("index cache read", "paper_widgets.store", "Store.cache_get_arrays"),
    ("index from cache", "paper_widgets.search.index", "SearchIndex.from_arrays"),
    ("index build", "paper_widgets.search.index", "SearchIndex.sync"),
    ("index titles", "paper_widgets.search.index", "IndexBuild.titles_first"),  # search(wait=False)'s first step
    ("index abstracts (waited)", "paper_widgets.search.index", "IndexBuild.result"),
    ("index to arrays", "paper_widgets.search.index", "SearchIndex.to_arrays"),
    ("index cache write", "paper_widgets.store", "Store.cache_put_arrays"),
    ("progress bars", "paper_widgets.library", "_progress_bar"),
    ("search", "paper_widgets.library", "search"),
    ("search", "paper_widgets.library", "search_rows"),  # what Library.search ranks with, since result_frame
    ("annotate", "paper_widgets.library", "annotate"),
    ("annotate", "paper_widgets.library", "annotation_columns"),  # the rows shown, since search_rows
    ("result frame", "paper_widgets.library", "result_frame"),
)


# -- writing the dumps ----------------------------------------------------------------------------------


def corpus_frame(n: int, corpus: Path | None) -> Any:
    """The first ``n`` papers of ``corpus`` (a Feather file), else a generated library of ``n`` papers."""
    if corpus is not None and corpus.exists():
        import pyarrow.feather as feather

        table = feather.read_table(str(corpus), memory_map=True)
        if table.num_rows >= n:
            return table.slice(0, n).to_pandas()
    from bench_search import make_library

    return make_library(n)[0]


def write_dumps(n: int, files: int, corpus: Path | None, folder: Path) -> tuple[str, float]:
    """Write ``n`` papers as today's-layout dump files in ``folder``; returns a query and the size in MB."""
    import numpy as np

    df = corpus_frame(n, corpus)
    rng = np.random.default_rng(17)
    authors = rng.integers(1, 30, n)
    comments = rng.integers(0, 12, n)
    dates = df["published"].dt.strftime("%b %-d, %Y").tolist()
    titles, abstracts, upvotes = df["title"].tolist(), df["abstract"].tolist(), df["upvotes"].tolist()
    folder.mkdir(parents=True)
    header = (
        "Get trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\nby AK and the research community\n\n"
    )
    bounds = np.linspace(0, n, files + 1).astype(int)
    for f, (lo, hi) in enumerate(itertools.pairwise(bounds)):
        cards = [
            f"{upvotes[i] or '-'}\n\n{titles[i]}\n\n{abstracts[i]}\n\n• {authors[i]} authors\n\n·\n{dates[i]} {comments[i]}\n\n"
            for i in range(lo, hi)
        ]
        (folder / f"{f:04d}.txt").write_text(header + "".join(cards), encoding="utf-8")
    words = titles[n // 2].split()
    return " ".join(words[:3]).lower(), disk_mb(folder)


# -- the children -------------------------------------------------------------------------------------


def _instrument(timings: dict[str, list[float]]) -> None:
    """Wrap each of :data:`PHASES` that this paper_widgets has to add its seconds and peak-RSS growth."""
    import importlib

    for phase, module_name, attribute in PHASES:
        owner: Any = importlib.import_module(module_name)
        *path, name = attribute.split(".")
        for part in path:
            owner = getattr(owner, part, None)
        if owner is None or not hasattr(owner, name):
            continue
        original = getattr(owner, name)

        def timed(*args: Any, _original: Callable[..., Any] = original, _phase: str = phase, **kw: Any) -> Any:
            peak, start = status_mb("VmHWM"), time.perf_counter()
            try:
                return _original(*args, **kw)
            finally:
                spent = timings.setdefault(_phase, [0.0, 0.0])
                spent[0] += time.perf_counter() - start
                spent[1] += status_mb("VmHWM") - peak

        def timed_generator(
            *args: Any, _original: Callable[..., Any] = original, _phase: str = phase, **kw: Any
        ) -> Iterator[Any]:
            items = _original(*args, **kw)
            while True:  # each step timed: the caller's work between them is not this phase's
                peak, start = status_mb("VmHWM"), time.perf_counter()
                try:
                    item = next(items)
                except StopIteration:
                    return
                finally:
                    spent = timings.setdefault(_phase, [0.0, 0.0])
                    spent[0] += time.perf_counter() - start
                    spent[1] += status_mb("VmHWM") - peak
                yield item

        wrapper = timed_generator if inspect.isgeneratorfunction(original) else timed
        setattr(owner, name, functools.wraps(original)(wrapper))


def run_naive(folder: str) -> dict[str, Any]:
    import pandas as pd

    start = time.perf_counter()
    cards = 0
    titles: list[str] = []
    abstracts: list[str] = []
    for path in sorted(Path(folder).iterdir()):
        blocks = path.read_text(encoding="utf-8").split("\n\n")[4:]  # the header, then 6 blocks per card
        cards += len(blocks) // 6
        titles += blocks[1::6]
        abstracts += blocks[2::6]
    split = time.perf_counter() - start
    frame = pd.DataFrame({"title": pd.Series(titles, dtype="str"), "abstract": pd.Series(abstracts, dtype="str")})
    total = time.perf_counter() - start
    return {"split_s": split, "frame_s": total, "rows": len(frame), "rss_mb": status_mb("VmHWM")}


def _guard(limit_mb: float) -> None:
    """Exit this process (an error for the parent) once its RSS passes ``limit_mb``: the machine is shared."""
    import threading

    def watch() -> None:
        while True:
            rss = status_mb("VmRSS")
            if rss > limit_mb:
                print(f"stopped: RSS {rss:.0f} MB over the --max-rss-mb limit {limit_mb:.0f} MB", file=sys.stderr)
                os._exit(3)
            time.sleep(0.1)

    threading.Thread(target=watch, daemon=True).start()


def run_open(folder: str, home: str, query: str, phase: str, launched: str) -> dict[str, Any]:
    start = time.perf_counter()
    since_launch = time.time() - float(launched)  # fork, exec and interpreter start before this line
    import paper_widgets

    imported = time.perf_counter()
    timings: dict[str, list[float]] = {}
    _instrument(timings)
    if os.environ.get("BENCH_OPEN_ASSUME_IDLE"):  # --assume-idle: workers start as if every core were idle
        import paper_widgets.workers

        paper_widgets.workers._idle_cores = float  # type: ignore[assignment]
    opened, cpu = time.perf_counter(), time.process_time()
    with TreePeak() as tree:  # worker processes parsing files count too
        lib = paper_widgets.load(folder, store=home, progress=False)
    loaded, load_cpu, load_rss = time.perf_counter(), time.process_time() - cpu, status_mb("VmHWM")
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    load_cpu += children.ru_utime + children.ru_stime  # the workers' CPU (once they have ended)
    early, titled, first_tree, first_cpu = None, loaded, float("nan"), float("nan")
    if query and "wait" in inspect.signature(lib.search).parameters:  # the first result from the titles alone
        with TreePeak() as first:  # a worker indexing the titles since the load counts too
            early = lib.search(query, limit=10, wait=False)
        titled, first_tree = time.perf_counter(), max(first.peak_mb, tree.peak_mb, load_rss)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        first_cpu = time.process_time() - cpu + children.ru_utime + children.ru_stime  # workers ended by now
    found = lib.search(query, limit=10) if query else lib._papers.iloc[:0]  # --no-search: the load alone
    searched = time.perf_counter()
    return {
        "import_s": imported - start,
        "load_s": loaded - opened,
        "search_s": searched - loaded,  # to the first result of the complete index
        "titles_first_s": titled - loaded if early is not None else float("nan"),  # search(wait=False)
        "titles_hit": str(early["title"].iloc[0]) if early is not None and len(early) else "",
        "first_tree_rss_mb": first_tree,  # peak RSS with worker processes, to the first result from the titles
        "first_cpu_s": first_cpu,  # CPU to that first result, the workers' included
        "total_s": searched - opened,  # after import: the reopen
        "from_launch_s": since_launch + searched - start,  # process launch to first result
        "cpu_s": time.process_time() - cpu,  # less at the mercy of other processes on a shared machine
        "load_cpu_s": load_cpu,
        "load_rss_mb": load_rss,  # peak RSS of the load alone (the first search builds the index after it)
        "load_tree_rss_mb": max(tree.peak_mb, load_rss),  # with its worker processes
        "worker_peak_mb": children.ru_maxrss / 1024,  # the largest worker's peak
        "rss_mb": status_mb("VmHWM"),
        "rows": len(lib._papers),
        "hit": str(found["title"].iloc[0]) if len(found) else "",
        "phases": timings,
    }


def child(args: list[str], pythonpath: str, home: str | None = None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": pythonpath}  # BENCH_OPEN_MAX_RSS_MB comes from main()
    # Bytecode cached as in an installed package (pip compiles it): else every reopen compiles paper_widgets anew.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if home is not None:
        env["PAPER_WIDGETS_HOME"] = home
    if args[0] == "open":
        args = [*args, str(time.time())]  # the child's wall time counts from here (see run_open)
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


# -- the report ---------------------------------------------------------------------------------------


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _first_result_s(cold: dict[str, Any]) -> float:
    """Cold open to the first result: from the titles where the code answers early, else the complete index."""
    early = cold["titles_first_s"]
    return float(cold["total_s"] if math.isnan(early) else cold["load_s"] + early)


def _dumps(n: int, files: int, corpus: Path | None, folder: Path) -> dict[str, Any]:
    """Write the dumps into ``folder`` (query and size in ``folder.json`` beside it: load reads every file
    inside), or reuse those written before."""
    record = folder.with_suffix(".json")
    if record.exists() and len(list(folder.glob("*.txt"))) == files:
        return json.loads(record.read_text())  # type: ignore[no-any-return]
    shutil.rmtree(folder, ignore_errors=True)
    written = child(["write", str(n), str(files), str(corpus), str(folder)], os.environ.get("PYTHONPATH", ""))
    if "error" not in written:
        written["mb"] = disk_mb(folder)  # before the record joins them
        record.write_text(json.dumps(written))
    return written


def store_parts_mb(home: Path) -> dict[str, float]:
    """The store folder's MB by part: SQLite (its tables), the library frame, its abstracts, the
    record caches, the search index (from the cache table's names), anything else."""
    import sqlite3

    parts = dict.fromkeys(("sqlite", "frame", "abstracts", "records", "index", "other"), 0.0)
    cache = home / "cache"
    named: dict[str, str] = {}
    database = home / "paper_widgets.sqlite3"
    if database.exists():
        with contextlib.closing(sqlite3.connect(database)) as conn:
            named = {str(file): str(name) for name, file in conn.execute("SELECT name, file FROM cache")}
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        mb = path.stat().st_size / 1e6
        name = named.get(path.name, "") if path.parent == cache else None
        if name is None:
            part = "sqlite" if path.name.startswith("paper_widgets.sqlite3") else "other"
        elif "|texts:" in name:
            part = "abstracts"
        elif name.startswith("library:"):
            part = "frame"
        elif name.startswith("records:"):
            part = "records"
        elif name.startswith("search-index"):
            part = "index"
        else:
            part = "other"
        parts[part] += mb
    return parts


def _print_cold_load(rows: dict[str, dict[str, Any]]) -> None:
    """The cold open split in ``load()`` (the issue's cold-open target) and the first search after it."""
    print(
        f"\n{'cold':<8}{'load s':>9}{'load CPU':>10}{'load RSS':>10}{'+workers':>10}{'1 worker':>10}"
        f"{'1st search s':>14}{'search RSS':>12}{'titles 1st s':>14}{'1st tree MB':>13}{'1st CPU s':>11}"
    )
    for label, row in rows.items():
        cold = row["cold"]
        if "error" in cold or "load_rss_mb" not in cold:
            continue
        print(
            f"{label:<8}{cold['load_s']:9.2f}{cold['load_cpu_s']:10.2f}{cold['load_rss_mb']:10.0f}"
            f"{cold.get('load_tree_rss_mb', float('nan')):10.0f}{cold.get('worker_peak_mb', 0.0):10.0f}"
            f"{cold['search_s']:14.2f}{cold['rss_mb']:12.0f}{cold.get('titles_first_s', float('nan')):14.2f}"
            f"{cold.get('first_tree_rss_mb', float('nan')):13.0f}{cold.get('first_cpu_s', float('nan')):11.2f}"
        )
    print(f"{'target':<8}{TARGETS['cold_s']:9.2f}{'':>10}{TARGETS['cold_rss_mb']:10.0f}{TARGETS['cold_rss_mb']:10.0f}")
    if all("load_rss_mb" in rows.get(v, {}).get("cold", {}) for v in ("after", "before")):
        a, b = rows["after"]["cold"], rows["before"]["cold"]
        print(
            f"load after ÷ before: wall {_ratio(a['load_s'], b['load_s'])}, CPU {_ratio(a['load_cpu_s'], b['load_cpu_s'])}, "
            f"peak RSS {_ratio(a['load_rss_mb'], b['load_rss_mb'])}, "
            f"with workers {_ratio(a['load_tree_rss_mb'], b['load_tree_rss_mb'])}"
        )


def bench(
    n: int,
    files: int,
    corpus: Path | None,
    before: str | None,
    tmp: Path | None,
    keep: bool,
    searching: bool,
    reuse: Path | None = None,
    reopens: int = 1,
) -> None:
    work = Path(tempfile.mkdtemp(prefix=f"bench_open_{n}_", dir=reuse or tmp))
    dumps = reuse / f"dumps_{n}_{files}" if reuse else work / "dumps"
    try:
        t = time.perf_counter()
        written = _dumps(n, files, corpus, dumps)
        if "error" in written:
            print(f"writing {n:,} papers failed: {written['error']}")
            return
        query, size = written["query"] if searching else "", written["mb"]
        print(
            f"\n=== {n:,} papers in {files} dump files, {size:.0f} MB (written or found in {time.perf_counter() - t:.0f} s) ==="
        )
        naive = child(["naive", str(dumps)], os.environ.get("PYTHONPATH", ""))
        print(
            f"naive read+split {naive.get('split_s', float('nan')):.2f} s, + pandas frame "
            f"{naive.get('frame_s', float('nan')):.2f} s, peak RSS {naive.get('rss_mb', float('nan')):.0f} MB"
        )
        versions = [("after", os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parent.parent)))]
        if before:
            versions.append(("before", before))
        rows: dict[str, dict[str, Any]] = {}
        for label, pythonpath in versions:
            home = work / f"home_{label}"
            home.mkdir()
            cold = child(["open", str(dumps), str(home), query, "cold"], pythonpath, str(home))
            runs = [
                child(["open", str(dumps), str(home), query, "reopen"], pythonpath, str(home)) for _ in range(reopens)
            ]
            failed = [run for run in runs if "error" in run]
            reopen = failed[0] if failed else sorted(runs, key=lambda run: run["from_launch_s"])[len(runs) // 2]
            if len(runs) > 1 and not failed:
                times = ", ".join(f"{run['from_launch_s']:.3f}" for run in runs)
                print(f"[{label}] reopens (s from launch): {times}")
            rows[label] = {"cold": cold, "reopen": reopen, "store_mb": disk_mb(home)}
            parts = ", ".join(f"{part} {mb:.1f}" for part, mb in store_parts_mb(home).items())
            print(f"[{label}] store folder {rows[label]['store_mb']:.1f} MB: {parts}")
            if "error" in cold or "error" in reopen:
                print(f"{label}: cold {cold.get('error', 'ok')}; reopen {reopen.get('error', 'ok')}")
                continue
            for name, run in (("cold", cold), ("reopen", reopen)):
                print(f"\n[{label}] {name} phases (s, peak RSS growth MB):")
                phases = run["phases"]
                for phase, (seconds, grown) in sorted(phases.items(), key=lambda kv: -kv[1][0]):
                    print(f"  {phase:<18} {seconds:8.3f} s  {grown:+8.0f} MB")
                other = run["load_s"] + run["search_s"] - sum(s for s, _ in phases.values())
                print(f"  {'other':<18} {other:8.3f} s")
        print(
            f"\n{'':<8}{'cold s':>9}{'cold RSS':>10}{'store MB':>10}{'reopen s':>10}{'reopen RSS':>11}"
            f"{'complete s':>11}{'import s':>10}{'from launch':>12}{'cold CPU s':>12}{'reopen CPU s':>14}"
        )
        for label, row in rows.items():
            cold, reopen = row["cold"], row["reopen"]
            if "error" in cold or "error" in reopen:
                continue
            print(
                f"{label:<8}{_first_result_s(cold):9.2f}{cold['rss_mb']:10.0f}{row['store_mb']:10.0f}"
                f"{reopen['total_s']:10.3f}{reopen['rss_mb']:11.0f}{cold['total_s']:11.2f}"
                f"{reopen['import_s']:10.2f}{reopen['from_launch_s']:12.3f}"
                f"{cold['cpu_s']:12.2f}{reopen['cpu_s']:14.3f}"
            )
        goal = TARGETS
        print(
            f"{'target':<8}{goal['cold_s']:9.2f}{goal['cold_rss_mb']:10.0f}{goal['store_mb']:10.0f}"
            f"{goal['reopen_s']:10.3f}{goal['reopen_rss_mb']:11.0f}"
        )
        _print_cold_load(rows)
        after = rows["after"]
        if "error" not in after["cold"] and "split_s" in naive:
            print(
                f"after ÷ naive read+split: cold {_ratio(_first_result_s(after['cold']), naive['split_s'])}, "
                f"peak RSS {_ratio(after['cold']['rss_mb'], naive['rss_mb'])}"
            )
        if "before" in rows and all("error" not in rows[v][p] for v in rows for p in ("cold", "reopen")):
            b = rows["before"]
            print(
                f"after ÷ before: cold {_ratio(after['cold']['total_s'], b['cold']['total_s'])} "
                f"(CPU {_ratio(after['cold']['cpu_s'], b['cold']['cpu_s'])}), "
                f"cold RSS {_ratio(after['cold']['rss_mb'], b['cold']['rss_mb'])}, "
                f"store {_ratio(after['store_mb'], b['store_mb'])}, "
                f"first result {_ratio(_first_result_s(after['cold']), _first_result_s(b['cold']))}, "
                f"reopen {_ratio(after['reopen']['total_s'], b['reopen']['total_s'])} "
                f"(from launch {_ratio(after['reopen']['from_launch_s'], b['reopen']['from_launch_s'])}) "
                f"(CPU {_ratio(after['reopen']['cpu_s'], b['reopen']['cpu_s'])}), "
                f"reopen RSS {_ratio(after['reopen']['rss_mb'], b['reopen']['rss_mb'])}"
            )
        for label, row in rows.items():  # search(wait=False): load, then the first result from the titles
            cold = row["cold"]
            if cold.get("titles_hit"):
                titles = cold["load_s"] + cold["titles_first_s"]
                print(f"[{label}] load + first result from the titles: {titles:.2f} s ({cold['titles_hit'][:60]!r})")
        hits = {label: (row["cold"].get("hit"), row["reopen"].get("hit")) for label, row in rows.items()}
        print(f"first result for {query!r}: {hits}")
    finally:
        if keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] in ("naive", "open", "write"):
        _guard(float(os.environ.get("BENCH_OPEN_MAX_RSS_MB", "inf")))
    if len(sys.argv) > 1 and sys.argv[1] == "write":  # in a child: the corpus frame is not kept by the parent
        query, size = write_dumps(int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4]), Path(sys.argv[5]))
        print(json.dumps({"query": query, "mb": size}))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "naive":
        print(json.dumps(run_naive(sys.argv[2])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "open":
        print(json.dumps(run_open(*sys.argv[2:7])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--corpus", type=Path, default=CORPUS, help="Feather file of papers (else generated)")
    parser.add_argument("--before", help="PYTHONPATH of an older paper_widgets to run beside this one")
    parser.add_argument("--tmp", type=Path, help="folder for the dumps and stores (default: the system's)")
    parser.add_argument("--keep", action="store_true", help="keep the dumps and stores")
    parser.add_argument("--work", type=Path, help="folder whose dumps (dumps_N_FILES) are reused between runs")
    parser.add_argument("--reopens", type=int, default=1, help="reopen this many times; the median is reported")
    parser.add_argument(
        "--no-search", action="store_true", help="time the loads alone (no search index: at 1M it needs GBs)"
    )
    parser.add_argument("--max-rss-mb", type=float, default=MAX_RSS_MB, help="stop a child whose RSS passes this")
    parser.add_argument(
        "--assume-idle",
        action="store_true",
        help="start worker processes as on an idle machine (both versions): others' jobs then share the cores",
    )
    args = parser.parse_args()
    os.environ["BENCH_OPEN_MAX_RSS_MB"] = str(args.max_rss_mb)  # every child inherits the limit
    if args.assume_idle:
        os.environ["BENCH_OPEN_ASSUME_IDLE"] = "1"
    for n in (int(s) for s in args.sizes.split(",")):
        bench(n, args.files, args.corpus, args.before, args.tmp, args.keep, not args.no_search, args.work, args.reopens)


if __name__ == "__main__":
    main()
