"""Benchmark: the server extension while it loads a large library (run by hand).

    PYTHONPATH=.:tests python benchmarks/bench_load_progress.py [--days 1000] [--per-day 40]

Writes ``days`` Daily Papers dumps (``tests/many_dumps.py``), makes them the user's library and
starts ``jupyter server`` with the paper_widgets extension on 127.0.0.1, which loads them in the
background.  Meanwhile it polls ``GET /paper-widgets/status`` and sends searches, and prints side
by side: how long the load takes (what a search waited before the load moved off the request),
how long a search now takes to answer "loading" (503), the status route's latency during the
load, and how many distinct progress steps a poller saw.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from jupyter_app import start_jupyter  # noqa: E402
from many_dumps import write_days  # noqa: E402

from paper_widgets.library import remember_paths  # noqa: E402

__all__: list[str] = []


def percentiles(seconds: list[float]) -> str:
    ms = np.array(seconds) * 1000
    return f"p50 {np.percentile(ms, 50):7.1f} ms  p95 {np.percentile(ms, 95):7.1f} ms  max {ms.max():7.1f} ms"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=1000)
    parser.add_argument("--per-day", type=int, default=40)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        home, root, config = base / "home", base / "root", base / "config"
        for folder in (home, root, config):
            folder.mkdir()
        shipped = ROOT / "jupyter-config" / "server-config" / "paper_widgets.json"
        (config / "jupyter_server_config.json").write_text(shipped.read_text())
        papers = write_days(base / "dumps", args.days, args.per_day)
        size = sum(path.stat().st_size for path in (base / "dumps").iterdir())
        print(f"library: {papers:,} papers in {args.days} files, {size / 2**20:.1f} MB")
        remember_paths([base / "dumps"], store=home)
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(config),
            "JUPYTER_RUNTIME_DIR": str(base / "runtime"),
            "PAPER_WIDGETS_HOME": str(home),
        }
        running = start_jupyter("server", root, env, base / "server.log")
        try:

            def ask(route: str) -> tuple[int, dict[str, object]]:
                request = urllib.request.Request(
                    f"{running.url}/paper-widgets/{route}", headers={"Authorization": f"token {running.token}"}
                )
                try:
                    with urllib.request.urlopen(request, timeout=600) as response:
                        return response.status, json.loads(response.read())
                except urllib.error.HTTPError as error:
                    return error.code, json.loads(error.read())

            started = time.perf_counter()  # the server is up: the load has just begun
            status_times, search_times, steps = [], [], set()
            while True:
                t = time.perf_counter()
                _, status = ask("status")
                status_times.append(time.perf_counter() - t)
                if status["state"] in ("ready", "failed"):  # "idle": the server is about to start loading
                    break
                steps.add((status["phase"], status["done"]))
                if len(status_times) % 10 == 0:
                    t = time.perf_counter()
                    code, _ = ask("search?q=adaptive%20gradient")
                    if code == 503:
                        search_times.append(time.perf_counter() - t)
                time.sleep(0.05)
            loaded = time.perf_counter() - started
            t = time.perf_counter()
            code, found = ask("search?q=adaptive%20gradient")
            first = time.perf_counter() - t
            print(f"final status: {status}")
            print(f"load in the background (at least; from server up): {loaded:8.2f} s")
            if search_times:
                print(f"search during the load, 503 'loading':   {percentiles(search_times)}  ({len(search_times)})")
                print(f"ratio load time / 503 answer (p50): {loaded / np.median(search_times):.0f}x")
            print(f"GET /status during the load:            {percentiles(status_times)}  ({len(status_times)})")
            print(f"distinct progress steps seen: {len(steps)}")
            print(f"first search after the load: {code}, {first * 1000:.1f} ms, {len(found['results'])} results")  # type: ignore[arg-type]
        finally:
            running.stop()


if __name__ == "__main__":
    main()
