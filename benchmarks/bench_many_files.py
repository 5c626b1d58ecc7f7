"""Benchmark: loading a folder of many small files, cold (parse + cache writes) and warm (from the cache).

    PYTHONPATH=. python benchmarks/bench_many_files.py [FOLDER]   (default ../shared/realdata/hf_api)

Each pass runs in a fresh process on a fresh store; prints MB/s and files/s, and beside them the
naive baseline of the same run: ``json.loads`` of every file with no store at all.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

__all__: list[str] = []


def child(folder: str, store: str, passes: int) -> list[float]:
    import warnings

    import paper_widgets

    warnings.simplefilter("ignore")
    times = []
    for _ in range(passes):
        start = time.perf_counter()
        paper_widgets.load(folder, store=store)
        times.append(time.perf_counter() - start)
    return times


def naive(folder: str) -> float:
    start = time.perf_counter()
    for path in sorted(Path(folder).rglob("*")):
        if path.is_file():
            json.loads(path.read_bytes())
    return time.perf_counter() - start


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        print(json.dumps(child(sys.argv[2], sys.argv[3], int(sys.argv[4]))))
        return
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared" / "realdata" / "hf_api")
    files = [p for p in folder.rglob("*") if p.is_file()]
    mb = sum(p.stat().st_size for p in files) / 2**20
    with tempfile.TemporaryDirectory(prefix="pw_many_") as store:
        out = subprocess.run(
            [sys.executable, __file__, "--child", str(folder), store, "2"], capture_output=True, text=True, check=True
        )
        cold, warm = json.loads(out.stdout.strip().splitlines()[-1])
    base = naive(str(folder))
    print(f"{len(files)} files, {mb:.1f} MB in {folder}")
    for label, seconds in (
        ("cold load (parse + cache)", cold),
        ("warm load (cache)", warm),
        ("naive json.loads", base),
    ):
        print(f"{label:27} {seconds:6.2f} s  {mb / seconds:6.1f} MB/s  {len(files) / seconds:7.1f} files/s")
    print(f"cold / naive {cold / base:.1f}x; warm / naive {warm / base:.1f}x")


if __name__ == "__main__":
    main()
