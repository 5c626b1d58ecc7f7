"""Benchmark: paper_widgets' search side by side with its peers on the same corpora and queries (run by hand).

    PYTHONPATH=. python benchmarks/bench_peers.py [--sizes 10000,100000] [--queries 100] [--peers ...]
        [--before FOLDER]   # also an older paper_widgets (e.g. ``git archive`` of main), same run
        [--corpus FOLDER]   # read corpus.feather + queries.json written before (write_corpus) instead of --sizes
        [--index-cache FOLDER]  # save paper_widgets' built index there and reuse it while the index code is unchanged
        [--skip-reopen]     # no reopen children (with --index-cache paper_widgets writes no store to reopen)

Peers: paper_widgets (``SearchIndex`` + ``search``), tantivy-py (BM25; fuzzy title terms, the last
word as a prefix), the same tantivy candidates re-scored by our title ranking (tantivy as our
index, the evaluation issue 17 asks for; reopen as tantivy plus the titles), SQLite FTS5 (``unicode61``, BM25 with the title weighted, the last word as a
prefix) and the naive rapidfuzz WRatio scan over folded titles.  The corpus is the synthetic library
of ``bench_search.py`` (written once to a Feather file); the query kinds are typo'd titles, title
prefixes as typed (cut mid-word), topics (two mid-frequency words of one abstract) and short names
(the CamelCase acronym before a colon).

Every peer runs in its own subprocess, so its peak RSS is its own, and once more in a fresh process
that reopens what it saved and answers one query (reopen time from interpreter start, peak RSS).
Printed per peer and size: build time, on-disk size, latency p50/p95/p99/max over every query,
hit@1/@10 per kind, peak RSS, reopen time and RSS, and paper_widgets ÷ peer ratios.
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

import numpy as np
from measure import disk_mb, status_mb

sys.path.append(str(Path(__file__).resolve().parent.parent))  # after PYTHONPATH: it may name another copy
sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__: list[str] = []

PEERS = ("paper_widgets", "tantivy", "tantivy_rescored", "fts5", "rapidfuzz")
KINDS = ("typo", "prefix", "topic", "name")
LIMIT = 10
NAIVE_QUERIES = {10_000: 100, 100_000: 25, 1_000_000: 6}  # per kind: the scan costs ~1 s per query at 1M
SLOWEST = 10  # the slowest queries of each paper_widgets peer are printed with their kind


# -- the peers: build, persist, query, reopen ---------------------------------------------------------


def _index_code_digest() -> str:
    """A digest of the imported paper_widgets' index code: a saved index is reused only while it is unchanged."""
    import hashlib

    import paper_widgets.search.index as index_module

    folder = Path(index_module.__file__).parent
    digest = hashlib.sha256()
    for name in ("index.py", "tokens.py"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:16]


def _index_folder(df: Any, cache: Path) -> Path:
    return cache / f"index_{len(df)}_{_index_code_digest()}"


def _cached_index(df: Any, cache: Path) -> Any:
    """The SearchIndex of ``df`` saved under ``cache`` for this index code and corpus size, built and saved if absent."""
    from paper_widgets.search.engine import SearchIndex

    folder = _index_folder(df, cache)
    if (folder / "done").exists():
        names = (folder / "done").read_text().split()
        return SearchIndex.from_arrays({name: np.load(folder / f"{name}.npy") for name in names})
    index = SearchIndex(df)
    folder.mkdir(parents=True, exist_ok=True)
    arrays = index.to_arrays()
    for name, array in arrays.items():
        np.save(folder / f"{name}.npy", np.asarray(array))
    (folder / "done").write_text("\n".join(arrays))
    return index


class PaperWidgets:
    def __init__(self, df: Any, work: Path, cache: Path | None = None) -> None:
        from paper_widgets.search.engine import SearchIndex, search
        from paper_widgets.store import Store

        self.df, self._search = df, search
        if cache is not None:  # reused across runs: the build time then measures loading, not building
            self.index = _cached_index(df, cache)
            self.disk = _index_folder(df, cache)  # the index's arrays (.npy), not the frame
            return
        self.index = SearchIndex(df)
        store = Store(work / "store")
        if hasattr(store, "cache_put_frame"):
            store.cache_put_frame("frame", "h", df)
            store.cache_put_arrays("index", "h", self.index.to_arrays())
        else:  # the pickle cache of paper_widgets before issue 17 (for BEFORE numbers)
            store.cache_put("frame", "h", df)  # type: ignore[attr-defined]
            store.cache_put("index", "h", self.index)  # type: ignore[attr-defined]
        store.close()
        self.disk = work / "store"

    def query(self, text: str) -> list[int]:
        return self._search(self.df, text, LIMIT, index=self.index).index.tolist()  # type: ignore[no-any-return]

    @staticmethod
    def reopen(work: Path, text: str) -> list[int]:
        from paper_widgets.search.engine import SearchIndex, search
        from paper_widgets.store import Store

        store = Store(work / "store")
        if hasattr(store, "cache_get_frame"):
            frame, arrays = store.cache_get_frame("frame", "h"), store.cache_get_arrays("index", "h")
            assert frame is not None and arrays is not None, "the cache was written by this benchmark"
            df, index = frame[0], SearchIndex.from_arrays(arrays)
        else:
            df, index = store.cache_get("frame", "h"), store.cache_get("index", "h")  # type: ignore[attr-defined]
        return search(df, text, LIMIT, index=index).index.tolist()  # type: ignore[no-any-return]


def _tantivy_query(index: Any, schema: Any, text: str) -> Any:
    import re

    import tantivy

    words = re.findall(r"[^\W_]+", text.lower())
    partial = bool(words) and not text[-1:].isspace()
    clauses = []
    for i, word in enumerate(words):
        distance = 0 if len(word) < 4 else 1 if len(word) < 8 else 2
        prefix = partial and i == len(words) - 1
        title = tantivy.Query.fuzzy_term_query(schema, "title", word, distance, True, prefix)
        clauses.append((tantivy.Occur.Should, tantivy.Query.boost_query(title, 2.0)))
        clauses.append((tantivy.Occur.Should, tantivy.Query.term_query(schema, "abstract", word)))
    return tantivy.Query.boolean_query(clauses)


class Tantivy:
    def __init__(self, df: Any, work: Path) -> None:
        import tantivy

        builder = tantivy.SchemaBuilder()
        builder.add_text_field("title", stored=False)
        builder.add_text_field("abstract", stored=False)
        builder.add_integer_field("row", stored=True, fast=True)
        self.schema = builder.build()
        path = work / "tantivy"
        path.mkdir()
        self.index = tantivy.Index(self.schema, path=str(path))
        writer = self.index.writer(heap_size=200_000_000, num_threads=1)
        for row, (title, abstract) in enumerate(zip(df["title"].tolist(), df["abstract"].tolist(), strict=True)):
            writer.add_document(tantivy.Document(title=title, abstract=abstract, row=row))
        writer.commit()
        writer.wait_merging_threads()
        self.index.reload()
        self.searcher = self.index.searcher()
        self.disk = path

    def query(self, text: str) -> list[int]:
        return self._run(self.index, self.searcher, self.schema, text)

    @staticmethod
    def _run(index: Any, searcher: Any, schema: Any, text: str) -> list[int]:
        hits = searcher.search(_tantivy_query(index, schema, text), LIMIT).hits
        return [int(searcher.doc(address)["row"][0]) for _, address in hits]  # the row, as an app would need it

    @staticmethod
    def reopen(work: Path, text: str) -> list[int]:
        import tantivy

        index = tantivy.Index.open(str(work / "tantivy"))
        return Tantivy._run(index, index.searcher(), index.schema, text)


class TantivyRescored(Tantivy):
    """tantivy's BM25 + fuzzy candidates re-scored by paper_widgets' title ranking: tantivy as our index."""

    def __init__(self, df: Any, work: Path) -> None:
        from paper_widgets.data.merge import fold_titles

        super().__init__(df, work)
        self.titles = fold_titles(df["title"]).tolist()
        heads = df["title"].str.split(":", n=1).str[0].where(df["title"].str.contains(":", regex=False), "")
        self.names = fold_titles(heads.fillna("")).str.replace(" ", "").tolist()

    def query(self, text: str) -> list[int]:
        import numpy as np
        from rapidfuzz import fuzz, process

        from paper_widgets.data.text import fold
        from paper_widgets.search import engine

        hits = self.searcher.search(_tantivy_query(self.index, self.schema, text), engine._RESCORE).hits
        if not hits:
            return []
        rows = [int(self.searcher.doc(address)["row"][0]) for _, address in hits]
        bm25 = np.array([score for score, _ in hits], np.float32) / max(hits[0][0], 1e-9)
        query = fold(text)
        titles = [self.titles[r] for r in rows]
        similar = process.cdist([query], titles, scorer=fuzz.WRatio, dtype=np.float32)[0] / 100
        exact = process.cdist([query], titles, scorer=fuzz.ratio, dtype=np.float32)[0] / 100
        score = (engine._W_COVERAGE + engine._W_BM25) * bm25 + engine._W_TITLE * similar
        score += engine._W_EXACT * np.clip((exact - 0.85) / 0.15, 0, 1)
        joined = query.replace(" ", "")
        score += [engine._NAME_EXACT if self.names[r] == joined else 0.0 for r in rows]
        return [rows[i] for i in np.argsort(-score, kind="stable")[:LIMIT]]

    @staticmethod
    def reopen(work: Path, text: str) -> list[int]:
        return Tantivy.reopen(work, text)


class Fts5:
    def __init__(self, df: Any, work: Path) -> None:
        import sqlite3

        self.path = work / "fts5.sqlite3"
        self.conn = sqlite3.connect(self.path)
        self.conn.execute("CREATE VIRTUAL TABLE papers USING fts5(title, abstract, tokenize='unicode61')")
        with self.conn:
            self.conn.executemany(
                "INSERT INTO papers (rowid, title, abstract) VALUES (?, ?, ?)",
                zip(range(len(df)), df["title"].tolist(), df["abstract"].tolist(), strict=True),
            )
        self.conn.execute("INSERT INTO papers(papers) VALUES ('optimize')")
        self.conn.commit()
        self.disk = self.path

    @staticmethod
    def _match(text: str) -> str:
        import re

        words = re.findall(r"[^\W_]+", text.lower())
        partial = bool(words) and not text[-1:].isspace()
        terms = [f'"{w}"' + ("*" if partial and i == len(words) - 1 else "") for i, w in enumerate(words)]
        return " OR ".join(terms) or '""'

    def query(self, text: str) -> list[int]:
        return self._run(self.conn, text)

    @staticmethod
    def _run(conn: Any, text: str) -> list[int]:
        sql = "SELECT rowid FROM papers WHERE papers MATCH ? ORDER BY bm25(papers, 2.0, 1.0) LIMIT ?"
        return [row for (row,) in conn.execute(sql, (Fts5._match(text), LIMIT))]

    @staticmethod
    def reopen(work: Path, text: str) -> list[int]:
        import sqlite3

        return Fts5._run(sqlite3.connect(work / "fts5.sqlite3"), text)


class RapidfuzzScan:
    def __init__(self, df: Any, work: Path) -> None:
        from paper_widgets.data.merge import fold_titles

        self.titles = fold_titles(df["title"]).tolist()
        self.disk = work.parent / "corpus.feather"  # nothing of its own: it scans the titles

    def query(self, text: str) -> list[int]:
        from rapidfuzz import fuzz, process

        from paper_widgets.data.text import fold

        return [row for _, _, row in process.extract(fold(text), self.titles, scorer=fuzz.WRatio, limit=LIMIT)]

    @staticmethod
    def reopen(work: Path, text: str) -> list[int]:
        import pandas as pd
        from rapidfuzz import fuzz, process

        from paper_widgets.data.merge import fold_titles
        from paper_widgets.data.text import fold

        titles = fold_titles(pd.read_feather(work.parent / "corpus.feather", columns=["title"])["title"]).tolist()
        return [row for _, _, row in process.extract(fold(text), titles, scorer=fuzz.WRatio, limit=LIMIT)]


IMPLEMENTATIONS: dict[str, Any] = {
    "paper_widgets": PaperWidgets,
    "pw_before": PaperWidgets,  # another copy of paper_widgets (--before): the same code path, older code
    "tantivy": Tantivy,
    "tantivy_rescored": TantivyRescored,
    "fts5": Fts5,
    "rapidfuzz": RapidfuzzScan,
}


# -- child processes ------------------------------------------------------------------------------------


def run_peer(peer: str, work: Path, cache: Path | None) -> dict[str, Any]:
    import pyarrow.feather as feather

    # one chunk per column, like a frame the readers build (pandas' take on a chunked string column is ~1000x slower)
    df = feather.read_table(work / "corpus.feather").combine_chunks().to_pandas()
    queries = json.loads((work / "queries.json").read_text())
    own = work / peer
    own.mkdir()
    start = time.perf_counter()
    impl = PaperWidgets(df, own, cache) if cache is not None and peer in ("paper_widgets", "pw_before") else None
    impl = impl or IMPLEMENTATIONS[peer](df, own)
    build = time.perf_counter() - start
    times: list[float] = []
    cpu_times: list[float] = []  # this process's CPU time per query: what a shared machine's load does not inflate
    asked: list[tuple[str, str]] = []  # (kind, query) of each time
    ranks: dict[str, list[int]] = {}
    cap = NAIVE_QUERIES.get(len(df), 10) if peer == "rapidfuzz" else None
    impl.query("warm up")
    for kind in KINDS:
        ranks[kind] = []
        for text, row in queries[kind][:cap]:
            t, cpu = time.perf_counter(), time.process_time()
            found = impl.query(text)
            times.append(time.perf_counter() - t)
            cpu_times.append(time.process_time() - cpu)
            asked.append((kind, text))
            ranks[kind].append(found.index(row) if row in found else -1)
    slowest = [(times[i] * 1000, *asked[i]) for i in np.argsort(times)[::-1][:SLOWEST]]
    return {
        "build_s": build,
        "disk_mb": disk_mb(impl.disk),
        "times": times,
        "cpu_times": cpu_times,
        "slowest": slowest,
        "ranks": ranks,
        "peak_rss_mb": status_mb("VmHWM"),
    }


def reopen_child(peer: str, work: Path, text: str) -> dict[str, Any]:
    started = float(sys.argv[sys.argv.index("--started") + 1])
    found = IMPLEMENTATIONS[peer].reopen(work / peer, text)
    return {"reopen_s": time.time() - started, "reopen_rss_mb": status_mb("VmHWM"), "found": len(found)}


# -- the parent: corpus, children, table -------------------------------------------------------------------


def write_corpus(n: int, count: int, work: Path) -> None:
    from bench_search import make_library, make_queries

    df, ids, vocab = make_library(n)
    queries = make_queries(df, ids, vocab, count)
    df.to_feather(work / "corpus.feather")
    plain = {k: [(q, int(row)) for q, row in v] for k, v in queries.items()}
    (work / "queries.json").write_text(json.dumps(plain))


def child(args: list[str], before: str | None = None) -> dict[str, Any]:
    """Run this script with ``args`` in a fresh process; ``before``: a paper_widgets copy to import instead."""
    env = {**os.environ, "PYTHONPATH": before} if before else None
    out = subprocess.run([sys.executable, __file__, *args], capture_output=True, text=True, check=False, env=env)
    if out.returncode:
        return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def summary(result: dict[str, Any]) -> dict[str, float]:
    ms = np.array(result["times"]) * 1000
    row = {f"p{p}": float(np.percentile(ms, p)) for p in (50, 95, 99)}
    row["max"] = float(ms.max())
    cpu = np.array(result.get("cpu_times", [np.nan])) * 1000
    row |= {f"cpu p{p}": float(np.percentile(cpu, p)) for p in (50, 95, 99)} | {"cpu max": float(cpu.max())}
    for kind, ranks in result["ranks"].items():
        r = np.array(ranks)
        row[f"{kind}@1"] = float(np.mean(r == 0)) if len(r) else float("nan")
        row[f"{kind}@10"] = float(np.mean(r >= 0)) if len(r) else float("nan")
    return row


def bench(
    n: int | None, count: int, peers: list[str], keep: Path | None, before: str | None, options: argparse.Namespace
) -> None:
    """One table: on a fresh corpus of ``n`` papers, or (``n`` None) on the corpus in ``options.corpus``."""
    work = Path(tempfile.mkdtemp(prefix=f"bench_peers_{n or 'corpus'}_", dir=keep))
    try:
        t = time.perf_counter()
        if n is None:  # the peers read the given corpus through links in their own work folder
            for name in ("corpus.feather", "queries.json"):
                (work / name).symlink_to(options.corpus.resolve() / name)
            what = f"corpus {options.corpus}"
        else:
            write_corpus(n, count, work)
            what = f"{n:,} papers; corpus written in {time.perf_counter() - t:.1f} s"
        queries = json.loads((work / "queries.json").read_text())
        print(f"\n=== {what} ===", flush=True)
        probe = queries["typo"][0][0]
        cache = ["--index-cache", str(options.index_cache.resolve())] if options.index_cache else []
        rows: dict[str, dict[str, Any]] = {}
        for peer in peers:
            old = before if peer == "pw_before" else None
            result = child(["--child", peer, str(work), *cache], old)
            if "error" in result:
                print(f"{peer}: failed: {result['error']}", flush=True)
                continue
            rows[peer] = {**summary(result), **{k: result[k] for k in ("build_s", "disk_mb", "peak_rss_mb")}}
            reopen: dict[str, Any] = {}
            if not options.skip_reopen and not (cache and peer in ("paper_widgets", "pw_before")):
                reopen = child(["--reopen", peer, str(work), probe, "--started", str(time.time())], old)
            rows[peer].update({k: reopen.get(k, float("nan")) for k in ("reopen_s", "reopen_rss_mb")})
            print(f"{peer}: done ({len(result['times'])} queries)", flush=True)
            if peer in ("paper_widgets", "pw_before"):
                for ms, kind, text in result["slowest"]:
                    print(f"    {ms:8.1f} ms  {kind:6}  {text!r}")
        print_table(rows)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(rows: dict[str, dict[str, Any]]) -> None:
    columns = [
        ("p50", "p50 ms", "{:.2f}"),
        ("p95", "p95 ms", "{:.2f}"),
        ("p99", "p99 ms", "{:.2f}"),
        ("max", "max ms", "{:.1f}"),
        *[(f"cpu {p}", f"cpu {p} ms", "{:.2f}") for p in ("p50", "p95", "p99", "max")],
        *[(f"{k}@{n}", f"{k}@{n}", "{:.0%}") for k in KINDS for n in (1, 10)],
        ("build_s", "build s", "{:.1f}"),
        ("disk_mb", "disk MB", "{:.0f}"),
        ("peak_rss_mb", "peak RSS MB", "{:.0f}"),
        ("reopen_s", "reopen s", "{:.2f}"),
        ("reopen_rss_mb", "reopen RSS MB", "{:.0f}"),
    ]
    peers = list(rows)
    ours = rows.get("paper_widgets")
    header = f"{'':14}" + "".join(f"{p:>18}" for p in peers)
    if ours:
        header += "".join(f"{'pw/' + p[:8]:>13}" for p in peers if p != "paper_widgets")
    print(header)
    for key, label, fmt in columns:
        line = f"{label:14}" + "".join(f"{fmt.format(rows[p][key]):>18}" for p in peers)
        if ours:
            for p in peers:
                if p != "paper_widgets":
                    other = rows[p][key]
                    ratio = ours[key] / other if other else float("nan")
                    line += f"{ratio:>12.2f}x"
        print(line)


def main() -> None:
    if "--child" in sys.argv:
        i = sys.argv.index("--child")
        cache = Path(sys.argv[sys.argv.index("--index-cache") + 1]) if "--index-cache" in sys.argv else None
        print(json.dumps(run_peer(sys.argv[i + 1], Path(sys.argv[i + 2]), cache)))
        return
    if "--reopen" in sys.argv:
        i = sys.argv.index("--reopen")
        print(json.dumps(reopen_child(sys.argv[i + 1], Path(sys.argv[i + 2]), sys.argv[i + 3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--queries", type=int, default=100, help="queries per kind")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--tmp", type=Path, default=None, help="folder for the corpora and indexes")
    parser.add_argument("--before", help="a folder holding an older paper_widgets: adds the peer pw_before")
    parser.add_argument("--corpus", type=Path, help="a folder with corpus.feather and queries.json (no --sizes)")
    parser.add_argument("--index-cache", type=Path, help="a folder to save and reuse paper_widgets' built index in")
    parser.add_argument("--skip-reopen", action="store_true", help="do not measure reopening")
    args = parser.parse_args()
    peers = list(dict.fromkeys(args.peers.split(",")))  # each peer once: its folder is made fresh
    peers += ["pw_before"] if args.before and "pw_before" not in peers else []
    for n in [None] if args.corpus else map(int, args.sizes.split(",")):
        bench(n, args.queries, peers, args.tmp, args.before, args)


if __name__ == "__main__":
    main()
