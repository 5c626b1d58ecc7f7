"""Files parsed in worker processes give what parsing them here gives: frames, warnings, order, failures."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from conftest import CARD_SEED, PAIR_SEED, child_pids

import paper_widgets
import paper_widgets.library as library_module
import paper_widgets.workers as workers_module
from paper_widgets.data.readers.pool import FileRecords, read_files

REPO = Path(__file__).resolve().parent.parent


def mixed_files(folder: Path) -> list[tuple[Path, str]]:
    """Dumps of both layouts, JSON, JSON-lines, a file with bytes that are not UTF-8, a binary file and a FIFO."""
    folder.mkdir()
    (folder / "cards.txt").write_bytes(CARD_SEED.read_bytes())
    (folder / "pairs.txt").write_bytes(PAIR_SEED.read_bytes())
    hf = [{"paper": {"id": "2401.00001", "title": "A JSON Paper", "summary": "About JSON.", "authors": []}}]
    (folder / "hf.json").write_text(json.dumps(hf), encoding="utf-8")
    arxiv = {"id": "2402.00002", "title": "A Lines Paper", "abstract": "About lines.", "authors": "A. Author"}
    (folder / "arxiv.jsonl").write_text(json.dumps(arxiv) + "\n" + json.dumps(arxiv) + "\n", encoding="utf-8")
    # past the first 64 KiB (read to detect the format), a line with a Latin-1 byte: a warning naming it
    pairs = b"".join(
        b"Paper %d On Things\nWe show that paper %d is good for research.\n\n" % (i, i) for i in range(1200)
    )
    (folder / "latin1.txt").write_bytes(pairs + b"Caf\xe9 Title On Things\nWe show that caf\xe9s are good.\n")
    (folder / "binary.txt").write_bytes(b"\x00\x01\x02" * 100)
    os.mkfifo(folder / "pipe.txt")
    names = ["cards.txt", "hf.json", "latin1.txt", "binary.txt", "pipe.txt", "arxiv.jsonl", "pairs.txt"]
    return [(folder / name, name) for name in names]


def assert_same(pooled: list[FileRecords], serial: list[FileRecords]) -> None:
    assert len(pooled) == len(serial)
    for got, expected in zip(pooled, serial, strict=True):
        assert got.problems == expected.problems
        assert got.failure == expected.failure
        if expected.frame is None:
            assert got.frame is None
        else:
            assert got.frame is not None and got.abstracts is not None and expected.abstracts is not None
            pd.testing.assert_frame_equal(got.frame, expected.frame)
            assert got.abstracts.unpacked().equals(expected.abstracts.unpacked())


def test_files_read_in_workers_are_the_files_read_here_in_order(tmp_path: Path) -> None:
    files = mixed_files(tmp_path / "in")
    serial = list(read_files(files, workers=0))
    assert [r.frame is None for r in serial] == [False, False, False, True, True, False, False]
    assert "binary" in str(serial[3].failure) and "FIFO" in str(serial[4].failure)
    assert [p.line for p in serial[2].problems if "not UTF-8" in p.message] == [3601, 3602]
    assert_same(list(read_files(files, workers=2)), serial)
    assert_same(list(read_files(files, workers=3)), serial)


def test_a_load_in_workers_is_the_load_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = mixed_files(tmp_path / "in")
    paths = [path for path, _ in files]
    with pytest.warns(paper_widgets.PaperWidgetsWarning):
        here = paper_widgets.load(*paths, store=tmp_path / "here", progress=False)
    monkeypatch.setattr(library_module, "pool_workers", lambda sizes: 2)  # these few kilobytes too, however busy
    with pytest.warns(paper_widgets.PaperWidgetsWarning):
        pooled = paper_widgets.load(*paths, store=tmp_path / "pooled", progress=False)
    pd.testing.assert_frame_equal(pooled.df, here.df)
    assert pooled.warnings == here.warnings
    assert len(here) > 40


def test_when_every_worker_dies_the_files_are_read_here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    files = mixed_files(tmp_path / "in")
    serial = list(read_files(files, workers=0))
    monkeypatch.setattr(workers_module, "_BOOT", "import os; os._exit(3)")  # as if killed before the first file
    assert_same(list(read_files(files, workers=2)), serial)


def test_a_reader_that_stops_early_ends_its_workers(tmp_path: Path) -> None:
    files = mixed_files(tmp_path / "in") * 4
    before = child_pids()
    reading = read_files(files, workers=2)
    next(reading)
    reading.close()
    assert child_pids() == before


def test_a_script_without_a_main_guard_is_not_run_again_by_the_workers(tmp_path: Path) -> None:
    """multiprocessing's spawn would import the script in each worker and load the library there again."""
    files = mixed_files(tmp_path / "in")
    script = tmp_path / "unguarded.py"
    script.write_text(
        textwrap.dedent(
            f"""
            import warnings
            import paper_widgets
            import paper_widgets.library
            paper_widgets.library.pool_workers = lambda sizes: 2  # these few kilobytes too, however busy
            print("script ran", flush=True)
            warnings.simplefilter("ignore")
            lib = paper_widgets.load(*{[str(p) for p, _ in files]!r}, store={str(tmp_path / "store")!r}, progress=False)
            print("rows", len(lib), flush=True)
            """
        ),
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("script ran") == 1
    assert "rows" in done.stdout


def test_without_an_interpreter_to_start_the_files_are_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = mixed_files(tmp_path / "in")
    serial = list(read_files(files, workers=0))
    monkeypatch.setattr(sys, "executable", str(tmp_path / "no-such-python"))
    assert_same(list(read_files(files, workers=2)), serial)
