"""Benchmark: what the citation picker waits for, a search over HTTP through the server extension (run by hand).

    PYTHONPATH=. python benchmarks/bench_server.py [--queries 40]

Loads the real HF API responses and a 6k-entry .bib from ``../shared/realdata`` as the user's
library, starts ``jupyter server`` with the paper_widgets extension on 127.0.0.1 and times typo'd
title queries two ways side by side: ``lib.search`` in this process (the peer: what a kernel-side
widget pays) and ``GET /paper-widgets/search`` (same engine, plus HTTP, auth, JSON and highlight
spans).  Also times how long after its start the server has the library loaded (in the
background, from the store's cache; ``/paper-widgets/status`` says when) and its first answer.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

import numpy as np

import paper_widgets as pw
from benchmarks.bench_search import percentiles

__all__: list[str] = []

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


def typo(title: str, rng: np.random.Generator) -> str:
    """``title``'s first words with two neighbouring letters swapped in one of them."""
    words = title.split()[:5]
    long_words = [i for i, w in enumerate(words) if len(w) > 4]
    if long_words:
        i = int(rng.choice(long_words))
        j = int(rng.integers(1, len(words[i]) - 2))
        w = words[i]
        words[i] = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
    return " ".join(words)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queries", type=int, default=40)
    args = parser.parse_args()
    if not REALDATA.exists():
        sys.exit(f"needs the shared real data at {REALDATA}")
    with tempfile.TemporaryDirectory() as tmp:
        home, config = Path(tmp) / "home", Path(tmp) / "config"
        config.mkdir()
        shipped = Path(__file__).resolve().parents[1] / "jupyter-config" / "server-config" / "paper_widgets.json"
        (config / "jupyter_server_config.json").write_text(shipped.read_text())
        lib = pw.load(
            REALDATA / "hf_api", REALDATA / "bib" / "cdl.bib", store=home, remember=True
        )  # the user's library
        print(f"library: {len(lib):,} papers")
        rng = np.random.default_rng(0)
        titles = lib.df["title"].sample(args.queries, random_state=0).tolist()
        queries = [typo(t, rng) for t in titles]

        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        token = secrets.token_hex(16)
        env = {**os.environ, "JUPYTER_CONFIG_DIR": str(config), "PAPER_WIDGETS_HOME": str(home)}
        server = subprocess.Popen(
            [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", "--ServerApp.ip=127.0.0.1",
             f"--ServerApp.port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}/paper-widgets"

            def answer(route: str) -> dict[str, object]:
                request = urllib.request.Request(f"{base}/{route}", headers={"Authorization": f"token {token}"})
                with urllib.request.urlopen(request, timeout=120) as response:
                    return json.loads(response.read())  # type: ignore[no-any-return]

            def get(query: str) -> list[dict[str, object]]:
                return answer(f"search?{urllib.parse.urlencode({'q': query, 'limit': 30})}")["results"]  # type: ignore[return-value]

            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/api/status?token={token}", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        sys.exit("jupyter server did not start")
                    time.sleep(0.3)
            start = time.perf_counter()
            while answer("status")["state"] == "loading":  # searches answer 503 meanwhile
                time.sleep(0.02)
            print(f"library loaded (in the background, from the store's cache): {time.perf_counter() - start:.2f} s")
            start = time.perf_counter()
            get("warm up")
            print(f"server's first answer: {time.perf_counter() - start:.3f} s")
            lib.search("warm up", limit=30)

            local, remote, same = [], [], 0
            for query in queries:
                start = time.perf_counter()
                expected = list(lib.search(query, limit=30)["key"])
                local.append(time.perf_counter() - start)
                start = time.perf_counter()
                got = [r["key"] for r in get(query)]
                remote.append(time.perf_counter() - start)
                same += got == expected
            print(f"lib.search in process (peer):  {percentiles(local)}")
            print(f"GET /paper-widgets/search:    {percentiles(remote)}")
            print(f"ratio p50 server/in-process: {np.median(remote) / np.median(local):.2f}x")
            print(f"same ranking as lib.search: {same}/{len(queries)} queries")
        finally:
            server.terminate()
            server.wait(timeout=15)


if __name__ == "__main__":
    main()
