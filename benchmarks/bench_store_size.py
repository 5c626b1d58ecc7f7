"""Benchmark: what the store keeps of N papers — abstracts compressed, the key registry — this
paper_widgets beside an older one in the same run (run by hand).

    PYTHONPATH=. python benchmarks/bench_store_size.py [--sizes 10000,100000] [--before FOLDER]
        [--corpus /work/bench1m/corpus.feather] [--tmp DIR]

For each size, each version in a fresh process:

* **abstracts**: ``store.texts.compressed_texts`` of the corpus's first N abstracts (CPU seconds,
  MB on disk, ratio to the UTF-8 text), then a search result's read: the abstracts of 20 random
  rows (median and p95 over 200 results, in ms), and a sequential read of every row;
* **real abstracts**: the same on the Hugging Face API dumps in ``../shared/realdata/hf_api`` (2k
  real abstracts: real English compresses differently from the synthetic corpus), compressed as a
  large column is (with a dictionary, though 3 MB of text would not get one);
* **key registry**: ``Store.assign_keys`` of the N titles (a third with arXiv ids) on a new store,
  then again (the papers known), CPU seconds and the SQLite file's MB.

With ``--before`` the older paper_widgets (e.g. ``/tmp/pw_before_r4``) runs the same and the
ratios after ÷ before are printed.
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

from measure import disk_mb

sys.path.insert(0, str(Path(__file__).resolve().parent))

__all__: list[str] = []

CORPUS = Path("/work/bench1m/corpus.feather")
REAL = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata" / "hf_api"


def _abstracts(n: int, corpus: Path) -> Any:
    import pyarrow as pa

    if corpus.exists():
        import pyarrow.feather as feather

        table = feather.read_table(str(corpus), columns=["abstract", "title"], memory_map=True)
        if table.num_rows >= n:
            return table.slice(0, n)
    from bench_search import make_library

    frame = make_library(n)[0]
    return pa.table({"abstract": frame["abstract"].astype(str), "title": frame["title"].astype(str)})


def _real_abstracts() -> list[str]:
    found: dict[str, None] = {}
    for path in sorted(REAL.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            continue
        items = data.get("data", []) if isinstance(data, dict) else data
        for item in items if isinstance(items, list) else []:
            paper = item.get("paper", item) if isinstance(item, dict) else None
            summary = paper.get("summary") if isinstance(paper, dict) else None
            if isinstance(summary, str) and summary:
                found[summary] = None
    return list(found)


def _texts_run(column: Any, as_large: bool = False) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    from paper_widgets.store import texts as texts_module
    from paper_widgets.store.texts import compressed_texts, texts_of

    if as_large:
        texts_module._DICTIONARY_ABOVE = 0  # older versions lack the name: then harmless

    series = pd.Series(pd.arrays.ArrowStringArray(column.cast("large_string")))
    text_mb = column.cast("large_string").buffers()[2].size / 2**20
    cpu = time.process_time()
    arrays = compressed_texts(series)
    write_s = time.process_time() - cpu
    stored_mb = sum(a.nbytes for a in arrays.values()) / 2**20
    texts = texts_of(arrays)
    rng = np.random.default_rng(0)
    results = [rng.choice(len(texts), 20, replace=False) for _ in range(200)]
    texts.take(results[0])  # the first read of a column (pages, a dictionary loaded): not a search's
    times = []
    for rows in results:
        t = time.perf_counter()
        texts.take(rows)
        times.append((time.perf_counter() - t) * 1000)
    t = time.perf_counter()
    texts.materialised()
    all_s = time.perf_counter() - t
    return {
        "text_mb": text_mb,
        "stored_mb": stored_mb,
        "ratio": stored_mb / text_mb,
        "write_cpu_s": write_s,
        "read20_p50_ms": float(np.median(times)),
        "read20_p95_ms": float(np.percentile(times, 95)),
        "read_all_s": all_s,
    }


def _keys_run(titles: list[str], tmp: str) -> dict[str, Any]:
    import pandas as pd

    from paper_widgets.store import Store

    n = len(titles)
    frame = pd.DataFrame(
        {
            "title": titles,
            "authors": [[]] * n,
            "published": pd.to_datetime(["2024-05-01"] * n),
            "arxiv_id": [f"{2000 + i // 100000}.{i % 100000:05d}" if i % 3 == 0 else None for i in range(n)],
        }
    )
    home = tempfile.mkdtemp(prefix="bench_store_size_", dir=tmp)
    store = Store(home)
    cpu = time.process_time()
    first = store.assign_keys(frame)
    first_s = time.process_time() - cpu
    cpu = time.process_time()
    again = store.assign_keys(frame)
    again_s = time.process_time() - cpu
    store.close()
    assert first.tolist() == again.tolist()
    db_mb = sum(disk_mb(p) for p in Path(home).glob("paper_widgets.sqlite3*"))
    import shutil

    shutil.rmtree(home)
    return {"keys_first_cpu_s": first_s, "keys_again_cpu_s": again_s, "db_mb": db_mb}


def child(n: int, corpus: str, tmp: str) -> dict[str, Any]:
    table = _abstracts(n, Path(corpus))
    result: dict[str, Any] = {"synthetic": _texts_run(table.column("abstract").combine_chunks())}
    real = _real_abstracts()
    if real:
        import pyarrow as pa

        result["real"] = _texts_run(pa.array(real, pa.large_string()), as_large=True)
        result["real"]["rows"] = len(real)
    result["keys"] = _keys_run(table.column("title").to_pylist(), tmp)
    return result


def _spawn(pythonpath: str, n: int, corpus: Path, tmp: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": pythonpath}
    done = subprocess.run(
        [sys.executable, __file__, "child", str(n), str(corpus), tmp], env=env, capture_output=True, text=True
    )
    if done.returncode:
        return {"error": done.stderr.strip().splitlines()[-1] if done.stderr.strip() else f"exit {done.returncode}"}
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "child":
        print(json.dumps(child(int(sys.argv[2]), sys.argv[3], sys.argv[4])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--before", help="PYTHONPATH of an older paper_widgets to run beside this one")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--tmp", default=tempfile.gettempdir(), help="folder for the stores (removed after)")
    args = parser.parse_args()
    versions = [("after", os.environ.get("PYTHONPATH", str(Path(__file__).resolve().parent.parent)))]
    if args.before:
        versions.append(("before", args.before))
    for n in (int(s) for s in args.sizes.split(",")):
        rows = {label: _spawn(path, n, args.corpus, args.tmp) for label, path in versions}
        print(f"\n=== {n:,} papers ===")
        for label, row in rows.items():
            if "error" in row:
                print(f"{label}: {row['error']}")
        ok = {label: row for label, row in rows.items() if "error" not in row}
        for kind in ("synthetic", "real"):
            print(
                f"{kind + ' abstracts':<20}{'text MB':>9}{'stored MB':>11}{'ratio':>7}{'write CPU s':>13}"
                f"{'20 rows p50 ms':>16}{'p95 ms':>8}{'all rows s':>12}"
            )
            for label, row in ok.items():
                if kind in row:
                    r = row[kind]
                    print(
                        f"{label:<20}{r['text_mb']:9.1f}{r['stored_mb']:11.1f}{r['ratio']:7.3f}{r['write_cpu_s']:13.2f}"
                        f"{r['read20_p50_ms']:16.3f}{r['read20_p95_ms']:8.3f}{r['read_all_s']:12.2f}"
                    )
        print(f"{'key registry':<20}{'DB MB':>9}{'first CPU s':>13}{'again CPU s':>13}")
        for label, row in ok.items():
            k = row["keys"]
            print(f"{label:<20}{k['db_mb']:9.1f}{k['keys_first_cpu_s']:13.2f}{k['keys_again_cpu_s']:13.2f}")
        if len(ok) == 2:
            a, b = ok["after"], ok["before"]
            parts = [
                f"{kind} abstracts stored {_ratio(a[kind]['stored_mb'], b[kind]['stored_mb'])}, "
                f"write {_ratio(a[kind]['write_cpu_s'], b[kind]['write_cpu_s'])}, "
                f"20-row read {_ratio(a[kind]['read20_p50_ms'], b[kind]['read20_p50_ms'])}"
                for kind in ("synthetic", "real")
                if kind in a and kind in b
            ]
            parts.append(
                f"key registry {_ratio(a['keys']['db_mb'], b['keys']['db_mb'])} "
                f"(first {_ratio(a['keys']['keys_first_cpu_s'], b['keys']['keys_first_cpu_s'])}, "
                f"again {_ratio(a['keys']['keys_again_cpu_s'], b['keys']['keys_again_cpu_s'])} CPU)"
            )
            print("after ÷ before: " + "; ".join(parts))


if __name__ == "__main__":
    main()
