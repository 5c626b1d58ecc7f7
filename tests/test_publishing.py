"""Publishing pipelines, run for real on a notebook whose References cell and references.bib were
written by ``paper-widgets refs --write``: pandoc (the pypandoc-binary wheel), nbconvert's LaTeX/PDF
with pdflatex + bibtex, mystmd (Jupyter Book 2) and Sphinx + myst-nb + sphinxcontrib-bibtex (what
Jupyter Book 1 runs).  The commands come from README's "Publishing" section.  Each test checks that
every cited key resolves to its entry and that the bibliography appears exactly once.
"""

from __future__ import annotations

import html
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from xml.etree import ElementTree

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

import paper_widgets

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
PAPERS = [
    {
        "paper": {
            "id": "2001.06782",
            "title": "Gradient Surgery for Multi-Task Learning",
            "summary": "We project conflicting gradients.",
            "authors": [{"name": n} for n in ("Tianhe Yu", "Saurabh Kumar", "Abhishek Gupta", "Sergey Levine")],
            "publishedAt": "2020-01-19T00:00:00.000Z",
        }
    },
    {
        "paper": {
            "id": "2310.02575",
            # Accented names and LaTeX specials must survive BibTeX and pdflatex.
            "title": "Ünïcode Names: Merging 50% of Models & $Tasks_1$ #2",
            "summary": "Merging.",
            "authors": [{"name": n} for n in ("José Müller", "Zoë Ağaoğlu", "Åsa Øster")],
            "publishedAt": "2023-10-04T00:00:00.000Z",
        }
    },
    {
        "paper": {
            "id": "2112.01234",
            "title": "An Author-less Survey of Task Arithmetic",
            "summary": "S.",
            "authors": [],
        }
    },
]
PAPER_TITLES = [paper["paper"]["title"] for paper in PAPERS]
TITLES = {  # words of each title that every bibliography style prints
    "yu": "Gradient Surgery for Multi-Task Learning",
    "muller": "Merging 50",
    "anon": "Author-less Survey of Task Arithmetic",
}


def readme_command(program: str) -> list[str]:
    """The command of README's Publishing section that starts with ``program``."""
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## Publishing\n", 1)[1].split("\n## ", 1)[0]
    for block in re.findall(r"```bash\n(.*?)```", section, re.DOTALL):
        for line in block.splitlines():
            command = line.split("  #", 1)[0].strip()
            if command.startswith(program):
                return shlex.split(command)
    raise AssertionError(f"README's Publishing section shows no `{program}` command")


def run(command: list[str], cwd: Path, timeout: int = 300) -> subprocess.CompletedProcess[str]:
    pandoc = Path(pytest.importorskip("pypandoc").get_pandoc_path()).parent  # nbconvert runs `pandoc`
    env = os.environ | {"PYTHONPATH": str(ROOT), "PATH": os.pathsep.join([str(BIN), str(pandoc), os.environ["PATH"]])}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{shlex.join(command)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, str]:
    """The papers loaded as the user's library (what ``refs --write`` without sources cites from)."""
    sources = tmp_path / "sources" / "papers.json"
    sources.parent.mkdir()
    sources.write_text(json.dumps(PAPERS), encoding="utf-8")
    lib = paper_widgets.load(sources, remember=True)
    found = {
        short: lib.df.loc[lib.df["title"].str.contains(title, regex=False), "key"] for short, title in TITLES.items()
    }
    assert all(len(key) == 1 for key in found.values())
    return {short: key.iloc[0] for short, key in found.items()}


def write_paper(folder: Path, *markdown: str) -> Path:
    """``paper.ipynb`` with these markdown cells, then README's ``refs --write`` run on it."""
    notebook = new_notebook(cells=[new_markdown_cell("# Notes"), *map(new_markdown_cell, markdown)])
    notebook.cells.append(new_code_cell('print("[@notAKey] {cite:p}`notAKey`")'))
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = folder / "paper.ipynb"
    nbformat.write(notebook, path)
    command = readme_command("paper-widgets refs")
    assert command[2:] == ["paper.ipynb", "--write"]
    run([sys.executable, "-m", "paper_widgets", *command[1:]], folder)
    written = nbformat.read(path, as_version=4)
    assert written.cells[-1].metadata["paper_widgets"] == {"role": "references"}
    assert (folder / "references.bib").is_file()
    return path


def test_pandoc_resolves_every_citation_and_prints_the_bibliography_once(tmp_path, keys):
    write_paper(
        tmp_path,
        f"Surgery {paper_widgets.load_default().cite(keys['yu'], 'pandoc')} and "
        f"{paper_widgets.load_default().cite(keys['muller'], 'pandoc', prefix='see', locator='p. 3')}; "
        f"{paper_widgets.load_default().cite(keys['anon'], 'pandoc', narrative=True)} says so.",
    )
    command = readme_command("pandoc")
    done = run([Path(pytest.importorskip("pypandoc").get_pandoc_path()).as_posix(), *command[1:]], tmp_path)
    assert "not found" not in done.stderr, done.stderr  # pandoc: "[WARNING] Citeproc: citation k not found"
    with zipfile.ZipFile(tmp_path / command[command.index("-o") + 1]) as docx:
        text = html.unescape(re.sub(r"<[^>]+>", "", docx.read("word/document.xml").decode()))
    # pandoc's default style (Chicago author-date) prints each entry once; our APA list is not printed.
    entries = ["Gradient Surgery for Multi-Task Learning", "Merging 50% of Models & $Tasks_1$ #2", "Arithmetic. 2021."]
    assert [text.count(entry) for entry in entries] == [1, 1, 1], text
    assert "Müller, José, Zoë Ağaoğlu, and Åsa Øster. 2023" in text and "(see Müller et al. 2023, 3)" in text
    assert not any(f"@{key}" in text for key in keys.values()) and "Ağaoğlu, Z." not in text
    # HTML: each entry once in pandoc's #refs; our list stays inside <noframes>, which browsers never show.
    out = run(
        [Path(pytest.importorskip("pypandoc").get_pandoc_path()).as_posix(), *command[1:-2], "-t", "html"], tmp_path
    )
    for key in keys.values():
        assert out.stdout.count(f'id="ref-{key}"') == 1
    shown = re.sub(r"<noframes.*?</noframes>", "", out.stdout, flags=re.DOTALL)
    assert "Ağaoğlu, Z." not in shown and "Ağaoğlu, Z." in out.stdout


def test_nbconvert_latex_and_pdf_with_natbib(tmp_path, keys):
    if shutil.which("pdflatex") is None or shutil.which("bibtex") is None:
        pytest.skip("pdflatex/bibtex not installed (Debian: texlive-latex-recommended, texlive-latex-extra)")
    lib = paper_widgets.load_default()
    write_paper(
        tmp_path,
        f"Pandoc {lib.cite(keys['yu'], 'pandoc', locator='p. 3')}, MyST {lib.cite(keys['muller'], 'myst', narrative=True)}, "
        f"LaTeX {lib.cite(keys['anon'], 'latex')} and HTML {lib.cite(keys['yu'], 'cite')}. Code: `[@notAKey]`.",
    )
    command = readme_command("jupyter nbconvert")
    if "paper_widgets_pdf" not in {e.name for e in importlib.metadata.entry_points(group="nbconvert.exporters")}:
        # Not installed from this checkout: name the class the entry point names (checked below).
        command[command.index("paper_widgets_pdf")] = "paper_widgets.output.latex.PaperWidgetsPDFExporter"
    run([str(BIN / "jupyter"), *command[1:]], tmp_path, timeout=600)
    assert (tmp_path / "paper.pdf").read_bytes().startswith(b"%PDF")
    # The LaTeX export, built by hand to see what bibtex resolved.
    latex = [*command[:2], "--to", "paper_widgets.output.latex.PaperWidgetsLatexExporter", "paper.ipynb"]
    run([str(BIN / "jupyter"), *latex[1:]], tmp_path, timeout=600)
    tex = (tmp_path / "paper.tex").read_text(encoding="utf-8")
    assert f"\\citep[p. 3]{{{keys['yu']}}}" in tex and f"\\citet{{{keys['muller']}}}" in tex
    assert f"\\citep{{{keys['anon']}}}" in tex and f"\\citep{{{keys['yu']}}}" in tex
    assert not re.search(r"\\cite[pt]?(\[[^\]]*\])*\{notAKey", tex)  # code stays code
    assert "noframes" not in tex and "Ağaoğlu, Z." not in tex  # the References cell is dropped
    assert tex.count("\\bibliography{references}") == 1 and "\\usepackage[round]{natbib}" in tex
    pdflatex = ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "paper.tex"]
    for step in (pdflatex, ["bibtex", "paper"], pdflatex, pdflatex):
        subprocess.run(step, cwd=tmp_path, capture_output=True, timeout=300, check=True)
    log = (tmp_path / "paper.log").read_text(encoding="latin-1")
    assert not re.search(r"Citation `[^']+' .*undefined", log) and "There were undefined" not in log
    bbl = (tmp_path / "paper.bbl").read_text(encoding="utf-8")
    assert sorted(re.findall(r"\\bibitem\[[^\]]*\]\{([^}]+)\}", bbl)) == sorted(keys.values())


def test_nbconvert_entry_points_name_the_exporters():
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["entry-points"]["nbconvert.exporters"]
    assert declared == {
        "paper_widgets_latex": "paper_widgets.output.latex:PaperWidgetsLatexExporter",
        "paper_widgets_pdf": "paper_widgets.output.latex:PaperWidgetsPDFExporter",
    }


def test_mystmd_jupyter_book_2_resolves_every_citation_once(tmp_path, keys):
    if shutil.which("myst", path=os.pathsep.join([str(BIN), os.environ["PATH"]])) is None or not shutil.which("node"):
        pytest.skip("mystmd (pip install mystmd) and Node.js are needed")
    lib = paper_widgets.load_default()
    write_paper(
        tmp_path,
        f"Surgery {lib.cite(keys['yu'], 'myst')}; {lib.cite(keys['muller'], 'myst', narrative=True)} and "
        f"{lib.cite(keys['anon'], 'myst', prefix='see', locator='p. 3')}.",
    )
    (tmp_path / "myst.yml").write_text("version: 1\nproject:\n  title: Notes\n  bibliography: [references.bib]\n")
    command = readme_command("myst build")  # JATS: a full article that builds offline (HTML needs a theme download)
    run([str(BIN / "myst"), *command[1:]], tmp_path)
    article = ElementTree.parse(tmp_path / "_build" / "exports" / "paper.xml").getroot()
    refs = article.findall("./back/ref-list/ref")
    assert sorted(ref.findtext(".//article-title") for ref in refs) == sorted(PAPER_TITLES)  # each once
    body = article.find("body")
    assert body is not None
    cited = [xref.get("rid") for xref in body.iter("xref") if xref.get("ref-type") == "bibr"]
    assert sorted(cited) == sorted(ref.get("id") for ref in refs)  # every citation resolves to its entry
    text = "".join(body.itertext())
    assert "Müller et al. (2023)" in text and "see An Author-less Survey of Task Arithmetic, 2021, p. 3" in text
    assert "Ağaoğlu, Z." not in ElementTree.tostring(article, encoding="unicode")  # our list is not printed


def test_sphinx_bibtex_jupyter_book_1_resolves_every_citation_once(tmp_path, keys):
    pytest.importorskip("myst_nb", reason="Jupyter Book 1's Sphinx stack: pip install myst-nb sphinxcontrib-bibtex")
    pytest.importorskip("sphinxcontrib.bibtex")
    lib = paper_widgets.load_default()
    write_paper(
        tmp_path,
        f"Surgery {lib.cite(keys['yu'], 'myst')}; {lib.cite(keys['muller'], 'myst', narrative=True)} and "
        f"{lib.cite(keys['anon'], 'myst', prefix='see', locator='p. 3')}.",
    )
    assert readme_command("jupyter-book build") == ["jupyter-book", "build", "."]
    # jupyter-book 1 cannot share a venv with Jupyter Book 2, so this runs what it runs: Sphinx with
    # myst-nb and sphinxcontrib-bibtex, configured as its _config.yml (bibtex_bibfiles) says.
    (tmp_path / "conf.py").write_text(
        'extensions = ["myst_nb", "sphinxcontrib.bibtex"]\nbibtex_bibfiles = ["references.bib"]\n'
        'nb_execution_mode = "off"\nexclude_patterns = ["_build", "sources"]\n'
    )
    (tmp_path / "index.md").write_text("# Book\n\n```{toctree}\npaper\nbibliography\n```\n")
    (tmp_path / "bibliography.md").write_text("# Bibliography\n\n```{bibliography}\n```\n")
    done = run([sys.executable, "-m", "sphinx", "-b", "html", ".", "_build/html"], tmp_path)
    assert "could not find bibtex key" not in done.stderr, done.stderr
    bibliography = (tmp_path / "_build" / "html" / "bibliography.html").read_text(encoding="utf-8")
    assert bibliography.count('role="doc-biblioentry"') == len(keys)
    for title in TITLES.values():
        assert bibliography.lower().count(title.lower()) == 1, title  # the default style lower-cases titles
    paper = (tmp_path / "_build" / "html" / "paper.html").read_text(encoding="utf-8")
    assert paper.count('href="bibliography.html#id') == len(keys)  # every citation links to its entry
    assert "noframes" not in paper and "Ağaoğlu, Z." not in paper  # the References cell is removed
