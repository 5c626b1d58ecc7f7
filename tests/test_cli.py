"""The command line, run in-process through ``main(argv)``; one subprocess smoke test runs the real entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bibtexparser
import nbformat
import pytest
from conftest import CARD_SEED, PAIR_SEED, SEEDS
from nbformat.v4 import new_markdown_cell, new_notebook

import paper_widgets
from paper_widgets.cli import main

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Done:
    returncode: int
    stdout: str
    stderr: str


Run = Callable[..., Done]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    """``run(*argv, cwd=None)``: ``main(argv)`` with its exit status (argparse's SystemExit included) and output."""

    def run(*args: str, cwd: Path | None = None) -> Done:
        capsys.readouterr()  # only this command's output
        with monkeypatch.context() as local:
            if cwd is not None:
                local.chdir(cwd)
            try:
                status = main(list(args))
            except SystemExit as exit_:  # --help, --version and usage errors
                status = exit_.code if isinstance(exit_.code, int) else 1
        out, err = capsys.readouterr()
        return Done(status, out, err)

    return run


def test_the_installed_entry_point_runs_in_a_subprocess() -> None:
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # PAPER_WIDGETS_HOME comes from the autouse fixture
    done = subprocess.run(
        [sys.executable, "-m", "paper_widgets", "info", str(SEEDS)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "papers: 145" in done.stdout


def test_info_counts_papers_and_formats(run: Run):
    done = run("info", str(SEEDS))
    assert done.returncode == 0, done.stderr
    assert "files: 2 (dump: 2)" in done.stdout
    assert "papers: 145" in done.stdout
    assert "warnings: 0" in done.stdout


def test_info_reports_load_warnings_on_stderr(run: Run, tmp_path):
    missing = tmp_path / "nope.txt"
    done = run("info", str(CARD_SEED), str(missing))
    assert done.returncode == 0
    assert "papers: 35" in done.stdout
    assert done.stderr.startswith("paper-widgets: warning:") and "nope.txt" in done.stderr


def test_nothing_loaded_is_exit_1(run: Run, tmp_path):
    done = run("bibtex", str(tmp_path / "missing.txt"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "paper-widgets: error: no papers could be loaded" in done.stderr


def test_search_prints_key_year_title_and_fails_on_no_match(run: Run):
    done = run("search", str(CARD_SEED), str(PAIR_SEED), "-q", "model merging", "-n", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    keys = set(paper_widgets.load_sample().df["key"])
    assert all(line.split("\t")[0] in keys and len(line.split("\t")) == 3 for line in lines)
    assert "merg" in done.stdout.lower()
    nothing = run("search", str(SEEDS), "-q", "qqqzzzxxyy")
    assert nothing.returncode == 1 and "no papers match" in nothing.stderr


def test_bibtex_and_csl_to_files(run: Run, tmp_path):
    done = run("bibtex", str(SEEDS), "-o", "refs.bib", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 145 BibTeX entries to refs.bib" in done.stderr
    parsed = bibtexparser.parse_string((tmp_path / "refs.bib").read_text(encoding="utf-8"))
    assert len(parsed.entries) == 145 and not parsed.failed_blocks

    done = run("csl", str(SEEDS))
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert len(items) == 145 and {item["type"] for item in items} == {"article"}


def test_keys_are_the_same_from_the_cli_and_the_library(run: Run):
    lib = paper_widgets.load_sample()
    items = json.loads(run("csl", str(SEEDS)).stdout)
    assert sorted(item["id"] for item in items) == sorted(lib.df["key"])


def test_refs_for_a_notebook(run: Run, tmp_path):
    key = paper_widgets.load_sample().df["key"].iloc[0]
    path = tmp_path / "paper.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell(f"See [@{key}] and @unknown.")]), path)
    done = run("refs", str(path), str(SEEDS), "--style", "pandoc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f'## References\n\n<noframes class="paper-widgets-references">\n\n- [@{key}]: ')
    assert "**Missing:** unknown" in done.stdout


def test_refs_write_updates_the_notebook_in_place_and_writes_the_bib_beside_it(run: Run, tmp_path: Path) -> None:
    lib = paper_widgets.load_sample()
    first, second = lib.df["key"].iloc[:2]
    path = tmp_path / "paper.ipynb"
    cells = [new_markdown_cell(f"See {lib.cite(first, 'myst')}."), new_markdown_cell("Old list", metadata={})]
    cells[1].metadata["paper_widgets"] = {"role": "references"}
    nbformat.write(new_notebook(cells=cells), path)
    done = run("refs", str(path), str(SEEDS), "--style", "text", "--csl", "ieee", "--write")
    assert done.returncode == 0, done.stderr
    written = nbformat.read(path, as_version=4)
    assert len(written.cells) == 2  # the References cell was replaced, not added
    assert written.cells[1].source.startswith("## References") and "[1\\]" in written.cells[1].source
    assert written.cells[1].metadata["tags"] == ["remove-cell"]
    entries = bibtexparser.parse_string((tmp_path / "references.bib").read_text(encoding="utf-8")).entries
    assert [entry.key for entry in entries] == [first]
    # Citing a second paper and refreshing adds exactly that entry.
    written.cells[0].source += f" Also {lib.cite(second, 'pandoc')}."
    nbformat.write(written, path)
    assert run("refs", str(path), str(SEEDS), "--write", "--bib", "paper.bib").returncode == 0
    entries = bibtexparser.parse_string((tmp_path / "paper.bib").read_text(encoding="utf-8")).entries
    assert [entry.key for entry in entries] == [first, second]
    assert run("refs", str(path), str(SEEDS), "--csl", "no-such-style").returncode == 1


def test_unwritable_output_is_exit_1(run: Run, tmp_path):
    done = run("bibtex", str(SEEDS), "-o", str(tmp_path / "no" / "such" / "dir.bib"))
    assert done.returncode == 1 and "cannot write" in done.stderr


@pytest.mark.parametrize(
    "args",
    [(), ("frobnicate",), ("search", str(SEEDS)), ("search", str(SEEDS), "-q", "x", "-n", "0"), ("info",)],
)
def test_usage_errors_are_exit_2(run: Run, args):
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == "" and "usage: paper-widgets" in done.stderr


def test_help_and_version(run: Run):
    assert run("--version").stdout.strip() == f"paper-widgets {paper_widgets.__version__}"
    for command in ("info", "search", "bibtex", "csl", "refs", "library"):
        done = run(command, "--help")
        assert done.returncode == 0 and f"usage: paper-widgets {command}" in done.stdout


def test_library_add_show_remove(run: Run, tmp_path: Path) -> None:
    show = run("library", "show")
    assert show.returncode == 1 and "the library is empty" in show.stderr
    assert len(paper_widgets.load_default()) == 145, "empty: the samples"

    added = run("library", "add", str(CARD_SEED))
    assert added.returncode == 0, added.stderr
    assert added.stdout.splitlines() == [str(CARD_SEED)]
    assert run("library", "add", str(PAIR_SEED), str(CARD_SEED)).stdout.splitlines() == [str(CARD_SEED), str(PAIR_SEED)]
    assert run("library", "show").stdout.splitlines() == [str(CARD_SEED), str(PAIR_SEED)]
    assert len(paper_widgets.load_default()) == 145

    removed = run("library", "remove", str(PAIR_SEED))
    assert removed.returncode == 0 and removed.stdout.splitlines() == [str(CARD_SEED)]
    assert len(paper_widgets.load_default()) == 35


def test_library_errors_change_nothing(run: Run, tmp_path: Path) -> None:
    run("library", "add", str(CARD_SEED))
    typo = run("library", "add", str(PAIR_SEED), str(tmp_path / "nope.txt"))
    assert typo.returncode == 1 and "nope.txt: no such file or directory" in typo.stderr
    assert run("library", "show").stdout.splitlines() == [str(CARD_SEED)], "all or nothing"
    missing = run("library", "remove", str(tmp_path / "never-added"))
    assert missing.returncode == 1 and "not in the library" in missing.stderr
    for usage in (("library",), ("library", "add"), ("library", "frobnicate")):
        assert run(*usage).returncode == 2


def test_read_only_commands_never_change_the_users_library(run: Run) -> None:
    run("library", "add", str(CARD_SEED))
    for command in (("info", str(PAIR_SEED)), ("search", str(PAIR_SEED), "-q", "model"), ("csl", str(PAIR_SEED))):
        assert run(*command).returncode == 0
    assert run("library", "show").stdout.splitlines() == [str(CARD_SEED)]
