"""Check: an older paper_widgets and this one give the same citekeys for the same papers (run by hand).

    PYTHONPATH=. python benchmarks/check_citekeys_same.py --before /tmp/pw_before_main [--papers 100000]

N synthetic papers made to clash (few title words, many stop words, hyphens and accents, a handful
of surnames in several forms, a few years, repeated titles, arXiv ids with and without versions,
some .bib keys of the user's own) go, in a fresh process per code base, through

1. ``citekeys.assign_keys`` (no store),
2. ``Store.assign_keys`` on an empty store (a cold open), then
3. ``Store.assign_keys`` again on the same store with a second batch that shares papers with the
   first and adds new ones (known papers keep their keys, new ones get suffixes past them).

Every key of every step must be identical; the time of each step is printed side by side.
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from paper_widgets.store import Store

__all__: list[str] = []

_WORDS = ["deep", "learning", "of", "the", "multi-task", "naïve", "Müller's", "graph", "for", "a", "3D", "王", "on"]
_NAMES = ["Tianhe Yu", "Yu, Tianhe", "Ann Müller", "Bo Smith Jr.", "Zoë Åberg", "王 小明", "", "de la Cruz"]


def papers(n: int, seed: int) -> list[dict[str, Any]]:
    """``n`` clash-prone papers (JSON-ready records)."""
    rng = random.Random(seed)
    out: list[dict[str, Any]] = []
    for i in range(n):
        title = " ".join(rng.choices(_WORDS, k=rng.randint(1, 6))).capitalize()
        name = rng.choice(_NAMES)
        arxiv = f"24{rng.randint(1, 12):02d}.{rng.randint(0, n):05d}" + rng.choice(["", "v2"])
        out.append(
            {
                "title": title if rng.random() > 0.02 else "",
                "authors": [name] if name else [],
                "published": f"{rng.randint(2019, 2024)}-0{rng.randint(1, 9)}-01" if rng.random() > 0.05 else None,
                "arxiv_id": arxiv if rng.random() > 0.4 else None,
                "citekeys": [f"own{seed}x{i}", f"extra{seed}x{i}"] if rng.random() < 0.01 else [],
            }
        )
    return out


def run(records_file: str, home: str) -> dict[str, Any]:
    """Child: the keys and timings of the three steps."""
    import pandas as pd

    from paper_widgets.data.citekeys import assign_keys
    from paper_widgets.store import Store

    records = json.loads(Path(records_file).read_text())
    first = pd.DataFrame(records["first"])
    second = pd.DataFrame(records["second"])
    for frame in (first, second):
        frame["published"] = pd.to_datetime(frame["published"])
    timings: dict[str, float] = {}
    keys: dict[str, list[str]] = {}
    steps: tuple[tuple[str, Callable[[Store], pd.Series]], ...] = (
        ("citekeys.assign_keys", lambda _store: assign_keys(first)),
        ("store, empty", lambda store: store.assign_keys(first)),
        ("store, second batch", lambda store: store.assign_keys(second)),
    )
    for step, body in steps:
        store = Store(home)
        start = time.process_time()
        keys[step] = body(store).tolist()
        timings[step] = time.process_time() - start
        store.close()
    return {"keys": keys, "timings": timings}


def child(pythonpath: str, records_file: str) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as home:
        done = subprocess.run(
            [sys.executable, __file__, "--child", records_file, home],
            env={"PYTHONPATH": pythonpath, "PATH": "/usr/bin:/bin", "PAPER_WIDGETS_HOME": home},
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode:
        raise SystemExit(f"the child on {pythonpath} failed:\n{done.stderr}")
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", help="folder holding the older paper_widgets package (required)")
    parser.add_argument("--papers", type=int, default=100_000)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(*args.child)))
        return
    if not args.before:
        parser.error("--before is required")
    first = papers(args.papers, seed=1)
    # The second batch: every other paper of the first (some with authors now) and as many new ones.
    second = [dict(p, authors=p["authors"] or ["New Author"]) for p in first[::2]] + papers(args.papers // 2, seed=2)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as records_file:
        json.dump({"first": first, "second": second}, records_file)
        records_file.flush()
        before = child(args.before, records_file.name)
        after = child(str(Path(__file__).resolve().parent.parent), records_file.name)
    failed = False
    print(f"{args.papers} papers: step, CPU s before / after (ratio), keys identical")
    for step, old_keys in before["keys"].items():
        new_keys = after["keys"][step]
        same = old_keys == new_keys
        failed |= not same
        old_s, new_s = before["timings"][step], after["timings"][step]
        print(f"  {step:<22} {old_s:7.2f} / {new_s:7.2f} ({new_s / old_s:.2f}x)  {'yes' if same else 'NO'}")
        if not same:
            diff = [(i, a, b) for i, (a, b) in enumerate(zip(old_keys, new_keys, strict=True)) if a != b]
            print(f"    {len(diff)} differ, e.g. {diff[:5]}")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
