"""Benchmark: cold open to the first result, two paper_widgets side by side, alternating (run by hand).

    python benchmarks/bench_first_result.py DUMPS QUERY --before FOLDER [--after FOLDER] [--rounds 2]
        [--tmp DIR] [--workers idle|none|any]

Each round runs the before code, then the after code, each in a fresh process with an empty store:
``paper_widgets.load(DUMPS)`` and then ``lib.search(QUERY, wait=False)`` (the first result, from the
titles; the abstracts' index is not waited for).  On a machine shared with other jobs, single runs
vary by more than most changes: alternating in one run and comparing medians, and CPU beside the
wall time, is what tells them apart.  Printed per run and as medians with after ÷ before:

* ``load_s`` / ``load_cpu``: ``load()``'s wall and CPU time (its worker processes' included);
* ``titles_s`` / ``titles_cpu``: the first search, which indexes the titles;
* ``first_s`` / ``first_cpu``: both, the issue's cold open to the first result;
* ``load_hwm``, ``first_hwm``: the process's peak RSS (MB) after the load and after the first result;
  ``tree_mb``: the peak RSS of the process with its worker processes up to the first result;
  ``rss_after_load``: what the process holds when ``load()`` returns.

``--workers``: ``none`` runs everything in the measured process (CPU compared without the workers'
start-up and transfers, and without the machine's load deciding whether they start), ``idle``
starts them as on an idle machine, ``any`` leaves the choice to paper_widgets (the default).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

__all__: list[str] = []

HERE = Path(__file__).resolve().parent
KEYS = (
    "load_s",
    "load_cpu",
    "titles_s",
    "titles_cpu",
    "first_s",
    "first_cpu",
    "load_hwm",
    "rss_after_load",
    "first_hwm",
    "tree_mb",
)

# The measured process: argv = dumps folder, store folder, query, workers choice.
CHILD = r"""
import json, os, resource, sys, time
sys.path.insert(0, sys.argv[5])  # benchmarks/, for measure
from measure import TreePeak, status_mb

def children_cpu():
    used = resource.getrusage(resource.RUSAGE_CHILDREN)  # worker processes, once they have ended
    return used.ru_utime + used.ru_stime

folder, home, query, workers = sys.argv[1:5]
import paper_widgets
import paper_widgets.workers

if workers != "any":  # the idle cores paper_widgets measures before starting workers, as chosen
    paper_widgets.workers._idle_cores = (lambda cores: 0.0) if workers == "none" else float
with TreePeak() as tree:
    t0, c0 = time.perf_counter(), time.process_time()
    lib = paper_widgets.load(folder, store=home, progress=False)
    t1, c1, k1 = time.perf_counter(), time.process_time(), children_cpu()
    load_hwm, after_load = status_mb("VmHWM"), status_mb("VmRSS")
    found = lib.search(query, limit=10, wait=False)
    t2, c2, k2 = time.perf_counter(), time.process_time(), children_cpu()
print(json.dumps({
    "load_s": t1 - t0, "load_cpu": c1 - c0 + k1, "titles_s": t2 - t1, "titles_cpu": c2 - c1 + k2 - k1,
    "first_s": t2 - t0, "first_cpu": c2 - c0 + k2, "load_hwm": load_hwm, "rss_after_load": after_load,
    "first_hwm": status_mb("VmHWM"), "tree_mb": tree.peak_mb, "hit": str(found["title"].iloc[0])[:50],
}))
lib.store.cache_settle()
sys.stdout.flush()
os._exit(0)  # the abstracts' index is not waited for
"""


def run(code: str, dumps: str, query: str, workers: str, tmp: Path) -> dict[str, object]:
    """One cold open by the paper_widgets in ``code``, in a fresh process with a fresh store."""
    home = Path(tempfile.mkdtemp(prefix="bench_first_", dir=tmp))
    try:
        env = {**os.environ, "PYTHONPATH": code, "PAPER_WIDGETS_HOME": str(home)}
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # bytecode cached, as in an installed package
        args = [sys.executable, "-c", CHILD, dumps, str(home), query, workers, str(HERE)]
        out = subprocess.run(args, capture_output=True, text=True, env=env, check=False)
        if out.returncode:
            return {"error": out.stderr.strip().splitlines()[-1] if out.stderr.strip() else f"exit {out.returncode}"}
        found: dict[str, object] = json.loads(out.stdout.strip().splitlines()[-1])
        return found
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dumps", help="folder of dumps (e.g. bench_open's --work DIR/dumps_N_FILES)")
    parser.add_argument("query", help="the first search (bench_open's DIR/dumps_N_FILES.json has one)")
    parser.add_argument("--before", required=True, help="PYTHONPATH of the paper_widgets to compare with")
    parser.add_argument("--after", default=str(HERE.parent), help="PYTHONPATH of this one (default: this checkout)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--tmp", type=Path, help="folder for the stores (default: the system's)")
    parser.add_argument("--workers", choices=("any", "idle", "none"), default="any")
    args = parser.parse_args()
    versions = {"before": args.before, "after": args.after}
    results: dict[str, list[dict[str, object]]] = {label: [] for label in versions}
    for r in range(args.rounds):
        for label, code in versions.items():
            row = run(code, args.dumps, args.query, args.workers, args.tmp)
            if "error" not in row:
                results[label].append(row)
            shown = " ".join(f"{k}={v:.2f}" if isinstance(v, float) else f"{k}={v}" for k, v in row.items())
            print(f"round {r} {label:<6} {shown}", flush=True)

    def median(label: str, key: str) -> float:
        return statistics.median(float(str(row[key])) for row in results[label])

    print(f"\nmedians of {args.rounds} rounds (workers: {args.workers}):")
    for label in versions:
        if results[label]:
            print(f"  {label:<7}" + " ".join(f"{k}={median(label, k):.2f}" for k in KEYS))
    if all(results.values()):
        ratios = " ".join(f"{k}={median('after', k) / median('before', k):.3f}" for k in KEYS)
        print(f"  after ÷ before: {ratios}")


if __name__ == "__main__":
    main()
