from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import bibtexparser
import nbformat
import pytest
from conftest import CARD_SEED, PAIR_SEED, SEEDS
from nbformat.v4 import new_markdown_cell, new_notebook

import paper_widgets

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(ROOT)}  # PAPER_WIDGETS_HOME comes from the autouse fixture
    return subprocess.run(
        [sys.executable, "-m", "paper_widgets", *args], capture_output=True, text=True, env=env, cwd=cwd, timeout=120
    )


def test_info_counts_papers_and_formats():
    done = run("info", str(SEEDS))
    assert done.returncode == 0, done.stderr
    assert "files: 2 (dump: 2)" in done.stdout
    assert "papers: 145" in done.stdout
    assert "warnings: 0" in done.stdout


def test_info_reports_load_warnings_on_stderr(tmp_path):
    missing = tmp_path / "nope.txt"
    done = run("info", str(CARD_SEED), str(missing))
    assert done.returncode == 0
    assert "papers: 35" in done.stdout
    assert done.stderr.startswith("paper-widgets: warning:") and "nope.txt" in done.stderr


def test_nothing_loaded_is_exit_1(tmp_path):
    done = run("bibtex", str(tmp_path / "missing.txt"))
    assert done.returncode == 1
    assert done.stdout == ""
    assert "paper-widgets: error: no papers could be loaded" in done.stderr


def test_search_prints_key_year_title_and_fails_on_no_match():
    done = run("search", str(CARD_SEED), str(PAIR_SEED), "-q", "model merging", "-n", "3")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 3
    keys = set(paper_widgets.load_sample().df["key"])
    assert all(line.split("\t")[0] in keys and len(line.split("\t")) == 3 for line in lines)
    assert "merg" in done.stdout.lower()
    nothing = run("search", str(SEEDS), "-q", "qqqzzzxxyy")
    assert nothing.returncode == 1 and "no papers match" in nothing.stderr


def test_bibtex_and_csl_to_files(tmp_path):
    done = run("bibtex", str(SEEDS), "-o", "refs.bib", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "wrote 145 BibTeX entries to refs.bib" in done.stderr
    parsed = bibtexparser.parse_string((tmp_path / "refs.bib").read_text(encoding="utf-8"))
    assert len(parsed.entries) == 145 and not parsed.failed_blocks

    done = run("csl", str(SEEDS))
    assert done.returncode == 0, done.stderr
    items = json.loads(done.stdout)
    assert len(items) == 145 and {item["type"] for item in items} == {"article"}


def test_keys_are_the_same_from_the_cli_and_the_library():
    lib = paper_widgets.load_sample()
    items = json.loads(run("csl", str(SEEDS)).stdout)
    assert sorted(item["id"] for item in items) == sorted(lib.df["key"])


def test_refs_for_a_notebook(tmp_path):
    key = paper_widgets.load_sample().df["key"].iloc[0]
    path = tmp_path / "paper.ipynb"
    nbformat.write(new_notebook(cells=[new_markdown_cell(f"See [@{key}] and @unknown.")]), path)
    done = run("refs", str(path), str(SEEDS), "--style", "pandoc")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f'## References\n\n<noframes class="paper-widgets-references">\n\n- [@{key}]: ')
    assert "**Missing:** unknown" in done.stdout


def test_refs_write_updates_the_notebook_in_place_and_writes_the_bib_beside_it(tmp_path):
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


def test_unwritable_output_is_exit_1(tmp_path):
    done = run("bibtex", str(SEEDS), "-o", str(tmp_path / "no" / "such" / "dir.bib"))
    assert done.returncode == 1 and "cannot write" in done.stderr


@pytest.mark.parametrize(
    "args",
    [(), ("frobnicate",), ("search", str(SEEDS)), ("search", str(SEEDS), "-q", "x", "-n", "0"), ("info",)],
)
def test_usage_errors_are_exit_2(args):
    done = run(*args)
    assert done.returncode == 2
    assert done.stdout == "" and "usage: paper-widgets" in done.stderr


def test_help_and_version():
    assert run("--version").stdout.strip() == f"paper-widgets {paper_widgets.__version__}"
    for command in ("info", "search", "bibtex", "csl", "refs"):
        done = run(command, "--help")
        assert done.returncode == 0 and f"usage: paper-widgets {command}" in done.stdout


def test_main_in_process_returns_status(capsys):
    from paper_widgets.cli import main

    assert main(["info", str(CARD_SEED)]) == 0
    assert "papers: 35" in capsys.readouterr().out
