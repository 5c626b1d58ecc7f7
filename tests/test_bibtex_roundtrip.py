"""Real-world BibTeX: read as BibTeX reads it (several files, macros, crossref, names, LaTeX) and written back the same."""

from __future__ import annotations

import shutil
import subprocess
import warnings
from pathlib import Path

import bibtexparser
import pytest

import paper_widgets as pw
from paper_widgets.data.readers.bibtex import parse_bibtex_files
from paper_widgets.data.records import LoadWarning, PaperWidgetsWarning

ABBREV = """@string{tpami = "IEEE Transactions on Pattern Analysis and Machine Intelligence"}
@String{Knuth = "Knuth, Donald E."}
"""
REFS = r"""@article{Mueller:2019,
  author  = {M\"uller, Hans and Smith, Jr., John and {World Health Organization and Partners} and others},
  title   = {Deep {BERT} Models \& ``Quoted'' Text with \texttt{X}~and more},
  journal = tpami,
  volume  = {41},
  number  = {3},
  pages   = {1--10},
  publisher = {IEEE},
  doi     = {10.1109/TPAMI.2019.1234},
  year    = {2019}
}
@inproceedings{Knuth84,
  author    = Knuth # " and " # {Lamport, Leslie},
  title     = {Literate Programming},
  crossref  = {ProcX},
  pages     = {97--111},
  month     = feb
}
@article{mueller:2019,
  title = {A repeated key in another case},
  year  = 2020
}
"""
CROSSREF = """@proceedings{ProcX,
  title     = {Proceedings of X},
  booktitle = {Proceedings of X},
  year      = {1984},
  publisher = {ACM}
}
"""


def read(*files: tuple[str, str]) -> tuple[list, list[LoadWarning]]:
    problems: list[LoadWarning] = []
    return list(parse_bibtex_files(list(files), problems)), problems


def test_files_read_together_resolve_macros_concatenation_and_crossref() -> None:
    records, problems = read((ABBREV, "abbrev.bib"), (REFS, "refs.bib"), (CROSSREF, "crossref.bib"))
    by_key = {r.citekey: r for r in records}
    assert sorted(by_key) == ["Knuth84", "Mueller:2019"]  # the @proceedings parent is a volume, not a paper
    knuth = by_key["Knuth84"]
    assert knuth.authors == ("Donald E. Knuth", "Leslie Lamport")
    assert (knuth.entry_type, knuth.published.year, knuth.published.month) == ("inproceedings", 1984, 2)
    assert knuth.venue == "Proceedings of X" and knuth.fields["publisher"] == "ACM"
    assert "crossref" not in knuth.fields and knuth.fields["month"] == "feb"
    [repeated] = [p for p in problems if "duplicate entry key 'mueller:2019'" in p.message]
    assert (repeated.source, repeated.line) == ("refs.bib", 19)


def test_latex_is_decoded_and_names_are_split_by_bibtex_rules() -> None:
    records, _ = read((ABBREV, "abbrev.bib"), (REFS, "refs.bib"))
    mueller = next(r for r in records if r.citekey == "Mueller:2019")
    assert mueller.title == "Deep BERT Models & “Quoted” Text with X and more"
    assert mueller.authors == ("Hans Müller", "John Smith Jr.", "World Health Organization and Partners")
    assert mueller.n_authors is None  # "and others": more authors than listed
    assert mueller.venue == "IEEE Transactions on Pattern Analysis and Machine Intelligence"
    assert (mueller.doi, mueller.published.month) == ("10.1109/tpami.2019.1234", 1)
    assert {"volume", "number", "pages", "publisher", "doi", "journal"} <= set(mueller.fields)
    assert "month" not in mueller.fields  # a year-only entry stays year-only


def write_library(tmp_path: Path) -> pw.Library:
    for name, text in (("abbrev.bib", ABBREV), ("refs.bib", REFS), ("crossref.bib", CROSSREF)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PaperWidgetsWarning)
        return pw.load(tmp_path / "abbrev.bib", tmp_path / "refs.bib", tmp_path / "crossref.bib", store=tmp_path / "s")


def test_to_bibtex_gives_the_same_entries_back(tmp_path: Path) -> None:
    lib = write_library(tmp_path)
    assert sorted(lib.df["key"]) == ["Knuth84", "Mueller:2019"]
    text = lib.to_bibtex()
    parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == []
    entries = {e.key: e for e in parsed.entries}
    mueller = entries["Mueller:2019"]
    assert mueller.entry_type == "article"
    assert mueller.fields_dict["title"].value == r"Deep {BERT} Models \& ``Quoted'' Text with \texttt{X}~and more"
    assert "textbackslash" not in text  # escaped once: the user's LaTeX is written back as is
    assert [f.key for f in mueller.fields] == [
        "author",
        "title",
        "journal",
        "volume",
        "number",
        "pages",
        "publisher",
        "doi",
        "year",
    ]  # no invented month, url or eprint
    assert mueller.fields_dict["author"].value.endswith(" and others")
    assert "month = feb," in text  # the month macro, unquoted


@pytest.mark.skipif(shutil.which("bibtex") is None, reason="the bibtex program (texlive) is not installed")
def test_the_bibtex_program_accepts_the_export(tmp_path: Path) -> None:
    lib = write_library(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "export.bib").write_text(lib.to_bibtex(), encoding="utf-8")
    keys = ",".join(lib.df["key"])
    (out / "doc.aux").write_text(f"\\citation{{{keys}}}\n\\bibstyle{{plain}}\n\\bibdata{{export}}\n")
    run = subprocess.run(["bibtex", "doc"], cwd=out, capture_output=True, text=True, timeout=60)
    log = (out / "doc.blg").read_text()
    assert run.returncode == 0, log
    assert "error message" not in log and "Warning" not in log, log
    bbl = (out / "doc.bbl").read_text()
    assert "\\bibitem{Knuth84}" in bbl and "\\bibitem{Mueller:2019}" in bbl
    assert "Proceedings of X" in bbl  # the inherited booktitle stands in the entry itself
