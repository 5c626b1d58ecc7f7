"""Exports never overwrite without asking and are written atomically; the CLI never prints terminal
control sequences from dump text (issue 12 #3, #10)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from test_cli import Run, run  # noqa: F401  (run: the fixture running main() in-process)

import paper_widgets
from paper_widgets.output.files import write_text_atomic

ESC = "\x1b"
HOSTILE_TITLE = f"Clipboard {ESC}]52;c;ZWNobyBwd25lZA==\x07Attack{ESC}[2J With\x9b31m Title{ESC}]0;owned{ESC}\\ Here"
CLEAN_TITLE = "Clipboard ]52;c;ZWNobyBwd25lZA==Attack[2J With31m Title]0;owned\\ Here"


def _library_with_a_note(tmp_path: Path) -> paper_widgets.Library:
    lib = paper_widgets.Library.from_text(json.dumps([{"title": "A Paper", "summary": "x"}]))
    lib.set_note(lib.df["key"].iloc[0], "My precious note.")
    return lib


def test_export_notes_refuses_an_existing_file_unless_asked(tmp_path: Path) -> None:
    lib = _library_with_a_note(tmp_path)
    target = tmp_path / "literature_notes.md"
    target.write_text("notes I wrote by hand")
    with pytest.raises(FileExistsError, match="already exists; pass overwrite=True"):
        lib.export_notes(target)
    assert target.read_text() == "notes I wrote by hand"
    lib.export_notes(target, overwrite=True)
    assert "My precious note." in target.read_text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["literature_notes.md"]  # no temp file left


def test_a_failed_write_leaves_the_old_file_intact_and_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "refs.bib"
    target.write_text("old content")
    with pytest.raises(UnicodeEncodeError):  # fails half-way, as a full disk would
        write_text_atomic(target, "new start " * 1000 + "\ud800", overwrite=True)
    assert target.read_text() == "old content"
    assert [p.name for p in tmp_path.iterdir()] == ["refs.bib"]


def test_atomic_replace_keeps_the_old_permissions(tmp_path: Path) -> None:
    target = tmp_path / "shared.md"
    target.write_text("old")
    target.chmod(0o640)
    write_text_atomic(target, "new", overwrite=True)
    assert target.read_text() == "new" and target.stat().st_mode & 0o777 == 0o640


def test_cli_output_refuses_an_existing_file_without_force(tmp_path: Path, run: Run) -> None:  # noqa: F811
    dump = tmp_path / "papers.json"
    dump.write_text(json.dumps([{"title": "A Paper About Things", "summary": "x"}]))
    out = tmp_path / "refs.bib"
    out.write_text("% my hand-edited bibliography\n")
    done = run("bibtex", str(dump), "-o", str(out))
    assert done.returncode == 1
    assert f"{out} already exists; add --force to overwrite it" in done.stderr
    assert out.read_text() == "% my hand-edited bibliography\n"
    done = run("bibtex", str(dump), "-o", str(out), "--force")
    assert done.returncode == 0, done.stderr and "A Paper About Things" in out.read_text()
    assert sorted(os.listdir(tmp_path)) == ["papers.json", "refs.bib"]


def test_cli_strips_terminal_control_characters(tmp_path: Path, run: Run) -> None:  # noqa: F811
    dump = tmp_path / "papers.json"
    papers = [{"title": HOSTILE_TITLE, "summary": "Clipboard attack in a title\tand\x1b[31m abstract."}]
    dump.write_text(json.dumps(papers) + "\n")
    bad = str(tmp_path / f"bad{ESC}]0;title\x07.json")  # its warnings name it
    Path(bad).write_text(json.dumps([{"title": f"x{ESC}]0;t\x07", "publishedAt": "2999-01-01"}]))
    for args in (
        ("search", str(dump), bad, "-q", "clipboard attack"),
        ("bibtex", str(dump), bad),
        ("csl", str(dump), bad),
    ):
        done = run(*args)
        assert done.returncode == 0, done.stderr
        assert "2999-01-01 is outside" in done.stderr
        for stream in (done.stdout, done.stderr):
            assert not any((ord(c) < 32 and c not in "\t\n") or 0x7F <= ord(c) <= 0x9F for c in stream), args
    search = run("search", str(dump), "-q", "clipboard attack")
    _key, year, title = search.stdout.rstrip("\n").split("\t")
    assert title == CLEAN_TITLE and year == ""
