"""Progress bars for long work: reading files and building the search index (tqdm.auto: text here)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from conftest import CARD_SEED, PAIR_SEED

import paper_widgets
import paper_widgets.library as library


@pytest.fixture
def dumps(tmp_path: Path) -> list[Path]:
    paths = [tmp_path / "card.txt", tmp_path / "pair.txt"]
    for path, seed in zip(paths, (CARD_SEED, PAIR_SEED), strict=True):
        path.write_text(seed.read_text(encoding="utf-8"), encoding="utf-8")
    return paths


def test_progress_true_shows_reading_and_indexing(dumps: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    lib = paper_widgets.load(*dumps, progress=True)
    assert "Reading papers" in capsys.readouterr().err
    lib.search("gradient surgery")
    err = capsys.readouterr().err
    assert "Indexing papers" in err and f"/{2 * len(lib)} [" in err, "both fields of every paper"


def test_small_work_is_quiet_by_default_and_false_is_always_quiet(
    dumps: list[Path], capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)  # as on a terminal
    # Work shorter than the delay stays quiet (a long delay: a loaded CI machine may take seconds).
    monkeypatch.setattr(library, "PROGRESS_DELAY", 60.0)
    paper_widgets.load(*dumps).search("gradient surgery")
    assert capsys.readouterr().err == "", "a second of work shows no bar"
    monkeypatch.setattr(library, "PROGRESS_DELAY", 0.0)  # now every piece of work counts as long
    paper_widgets.load(*dumps, store=dumps[0].parent / "other").search("gradient surgery")
    assert "Indexing papers" in capsys.readouterr().err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)  # a pipe or a log file: no bar unless asked
    paper_widgets.load(*dumps, store=dumps[0].parent / "fourth").search("gradient surgery")
    assert capsys.readouterr().err == ""
    paper_widgets.load(*dumps, store=dumps[0].parent / "third", progress=False).search("gradient surgery")
    assert capsys.readouterr().err == ""


def test_adding_papers_extends_the_index_with_progress(dumps: list[Path], capsys: pytest.CaptureFixture[str]) -> None:
    lib = paper_widgets.load(dumps[0], progress=True)
    lib.search("gradient")
    capsys.readouterr()
    before = len(lib)
    lib.add(dumps[1])
    lib.search("gradient")
    err = capsys.readouterr().err
    grown = 2 * (len(lib) - before)
    assert "Reading papers" in err and f"/{grown} [" in err, "only the new papers are indexed"


def test_a_progress_function_is_told_each_step_instead_of_a_bar(
    dumps: list[Path], capsys: pytest.CaptureFixture[str]
) -> None:
    steps: list[tuple[str, int, int]] = []
    lib = paper_widgets.load(*dumps, progress=lambda phase, done, total: steps.append((phase, done, total)))
    lib.search("gradient surgery")  # the index is built on the first search, with the same reporting
    assert capsys.readouterr().err == "", "no bar drawn"
    size = sum(path.stat().st_size for path in dumps)
    reading = [step for step in steps if step[0] == "Reading papers"]
    assert reading[0] == ("Reading papers", 0, size) and reading[-1] == ("Reading papers", size, size)
    assert len(reading) == 1 + len(dumps), "once at the start, then after each file"
    indexing = [step for step in steps if step[0] == "Indexing papers"]
    assert indexing[0] == ("Indexing papers", 0, 2 * len(lib)) and indexing[-1][1] == 2 * len(lib)
    assert steps == reading + indexing
    done = [step[1] for step in indexing]
    assert done == sorted(done)


def test_no_work_or_progress_false_never_imports_tqdm() -> None:
    # A reopened library whose index came from the cache has nothing to index: no bar, no tqdm import
    # (importing tqdm.auto costs a tenth of a second of the reopen).
    import subprocess

    code = (
        "import sys, paper_widgets.library as library\n"
        "with library._progress_bar(0, 'Indexing papers', ' rows', True) as bar: bar.update(0)\n"
        "with library._progress_bar(10, 'Indexing papers', ' rows', False) as bar: bar.update(10)\n"
        "assert 'tqdm' not in sys.modules, 'tqdm imported'\n"
        "with library._progress_bar(10, 'Indexing papers', ' rows', True) as bar: bar.update(10)\n"
        "assert 'tqdm' in sys.modules\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    assert "/10.0 [" in out.stderr and "/0" not in out.stderr, "only the bar with work to do is drawn"
