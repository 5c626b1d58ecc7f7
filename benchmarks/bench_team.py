"""Benchmark of the team store (run by hand): PostgreSQL side by side with the embedded SQLite store.

    PYTHONPATH=. python benchmarks/bench_team.py                 # 100k-paper open, 8 clients x 200 ops
    PYTHONPATH=. python benchmarks/bench_team.py 20000 4 50      # quick: open size, clients, ops each

Needs PostgreSQL's server binaries (Debian's ``postgresql``): a throwaway, fsyncing cluster is
started on a loopback port (tests/pg_cluster.py) and removed at the end.

1. Opening an N-paper library (synthetic JSON-lines dump), PostgreSQL vs the local store: the
   first load (parse, record every citekey); an uncached open, as a second member's first
   session (parse, resolve keys against the recorded identities); a reopen that hits the local
   cache. Each includes the first ``lib.df`` (every annotation read).
2. Concurrent clients: C processes on one 10k-paper library alternate a search (results joined
   with their annotations) and a note save, against each backend; per-operation latency
   p50/p95 and the total throughput.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from bench_store import WORDS, NoCacheStore, write_dump
from pg_cluster import Cluster, postgres_binaries

import paper_widgets
from paper_widgets.store import Store
from paper_widgets.store.team import grant_team, init_team_database

__all__: list[str] = []

CLIENT_PAPERS = 10_000


def timed(label: str, action: object) -> float:
    started = time.perf_counter()
    action()  # type: ignore[operator]
    elapsed = time.perf_counter() - started
    print(f"  {label:<58} {elapsed:8.2f} s", flush=True)
    return elapsed


def open_library(dump: Path, store: str | Store) -> int:
    lib = paper_widgets.load(dump, store=store)
    return len(lib.df)  # the first df access reads every annotation


def client(dump: str, store: str, ops: int, seed: int) -> None:
    """One member: load the library, then alternate a search and a note save; prints latencies as JSON."""
    lib = paper_widgets.load(dump, store=store)
    rng = random.Random(seed)
    keys = lib.df["key"].tolist()
    lib.search("warm up the index")
    searches, writes = [], []
    print("ready", flush=True)
    sys.stdin.readline()  # start together
    started = time.perf_counter()
    for i in range(ops):
        t = time.perf_counter()
        if i % 2 == 0:
            lib.search(" ".join(rng.choices(WORDS, k=2)), limit=20)
            searches.append(time.perf_counter() - t)
        else:
            lib.set_note(rng.choice(keys), f"client {seed} note {i}", shared=bool(i % 4 == 1))
            writes.append(time.perf_counter() - t)
    print(json.dumps({"search": searches, "write": writes, "wall": time.perf_counter() - started}), flush=True)


def run_clients(dump: Path, store: str, clients: int, ops: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, "--client", str(dump), store, str(ops), str(seed)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        for seed in range(clients)
    ]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    started = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = [json.loads(proc.communicate(timeout=3600)[0]) for proc in procs]
    wall = time.perf_counter() - started
    searches = sorted(x for r in results for x in r["search"])
    writes = sorted(x for r in results for x in r["write"])

    def pct(values: list[float], q: float) -> float:
        return values[min(len(values) - 1, int(q * len(values)))] * 1000

    return {
        "search p50 ms": pct(searches, 0.5),
        "search p95 ms": pct(searches, 0.95),
        "write p50 ms": pct(writes, 0.5),
        "write p95 ms": pct(writes, 0.95),
        "ops/s": (len(searches) + len(writes)) / wall,
        "mean ms": statistics.fmean(searches + writes) * 1000,
    }


def main(size: int, clients: int, ops: int) -> None:
    if postgres_binaries() is None:
        sys.exit("bench_team needs PostgreSQL's server binaries (apt-get install postgresql)")
    cluster = Cluster(durable=True)
    work = Path(tempfile.mkdtemp(prefix="bench-team-"))
    try:
        for name in ("open_team", "clients_team"):
            cluster.sql("postgres", f"CREATE DATABASE {name}")
            init_team_database(cluster.url("postgres", name))
            grant_team(cluster.url("postgres", name), ["alice"])
        os.environ["PAPER_WIDGETS_HOME"] = str(work / "home")  # the local store (and the cache) of both

        print(f"opening a {size:,}-paper team library (PostgreSQL: fsync on, same machine)")
        dump = work / "papers.jsonl"
        write_dump(dump, size)
        team, local = cluster.url("alice", "open_team"), str(work / "local")
        steps = (
            ("first load: parse, record keys", lambda s: s),
            ("open uncached: parse, resolve keys", lambda s: NoCacheStore(s)),
            ("reopen: local cache hit", lambda s: s),
        )
        for label, opened in steps:
            pg = timed(f"{label}, PostgreSQL", lambda opened=opened: open_library(dump, opened(team)))
            lo = timed(f"{label}, local store", lambda opened=opened: open_library(dump, opened(local)))
            print(f"  {label}: PostgreSQL / local {pg / lo:.2f}x")
        print()

        print(f"{clients} concurrent clients x {ops} ops (half searches, half note saves), {CLIENT_PAPERS:,} papers")
        client_dump = work / "client.jsonl"
        write_dump(client_dump, CLIENT_PAPERS, seed=11)
        rows = {
            "PostgreSQL": run_clients(client_dump, cluster.url("alice", "clients_team"), clients, ops),
            "SQLite": run_clients(client_dump, str(work / "clients_local"), clients, ops),
        }
        metrics = list(rows["SQLite"])
        print(f"  {'':<12}" + "".join(f"{m:>15}" for m in metrics))
        for name, row in rows.items():
            print(f"  {name:<12}" + "".join(f"{row[m]:>15.1f}" for m in metrics))
        ratio = {m: rows["PostgreSQL"][m] / rows["SQLite"][m] for m in metrics}
        print(f"  {'PG / SQLite':<12}" + "".join(f"{ratio[m]:>14.2f}x" for m in metrics))
    finally:
        cluster.close()
        shutil.rmtree(work, ignore_errors=True)  # the dumps and both local stores: ~0.5 GB at 100k papers


if __name__ == "__main__":
    if sys.argv[1:2] == ["--client"]:
        client(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        args = [int(a) for a in sys.argv[1:]]
        main(*(args + [100_000, 8, 200][len(args) :]))
