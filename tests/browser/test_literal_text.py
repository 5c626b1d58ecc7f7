"""Dump text full of TeX and HTML payloads renders literally in JupyterLab, MathJax included (issue 12 #1)."""

from __future__ import annotations

import re

from playwright.sync_api import Page

from .lab import Lab, cells, open_notebook, run_cell

STYLES = ("pandoc", "myst", "latex", "cite", "text")
# The first four words become the short title of the ``cite`` style.
TITLE = r"$x$ \(y\) <b>bold</b> \rule{900px}{600px} and more"
ABSTRACT = (
    r"$\href{http://evil.example}{\text{Download the dataset}}$ then \rule{900px}{600px} and "
    r"$\style{color:red}{red}$ and $$x^2$$ and \(y\) and \[z\] and \begin{align}a\end{align} and "
    r'<img src=x onerror="document.title=1"> and <a href="http://evil.example">click</a> and '
    r"<span style='color:red'>styled</span> *not bold* @notacite %comment www.evil.example a@evil.example"
)
TAG = r"$t$ <i>tag</i>"
NOTE_MARK = "NOTE" + "-BODY"

SETUP = f"""
import pandas as pd, paper_widgets as pw, tempfile
from paper_widgets.output.cite import markdown_citation
lib = pw.Library.from_frame(pd.DataFrame({{"title": [{TITLE!r}], "abstract": [{ABSTRACT!r}]}}),
                            store=tempfile.mkdtemp())
key = lib.df["key"].iloc[0]
lib.set_note(key, {NOTE_MARK!r})
lib.tag(key, {TAG!r})
"""
INSERTS = [
    *(f"_ = pw.insert(markdown_citation(lib[key], {style!r}))" for style in STYLES),
    *(f"_ = pw.insert(lib.snippet(key, style={style!r}))" for style in STYLES),
    "b = pw.PaperBrowser(lib)\nb.select(key)\n_ = b.insert_note()",
    "_ = pw.insert(lib.export_notes())",
    # The References cell's text, for a notebook citing the paper.
    "_ = pw.insert(pw.references({'cells': [{'cell_type': 'markdown', 'source': '[@' + key + ']'}]}, lib))",
]
CONTROL = "Control: $a^2$"  # real maths written by the user: proves MathJax ran on this page


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def test_tex_and_html_payloads_render_literally_in_every_output(page: Page, lab: Lab) -> None:
    name = "hostile.ipynb"
    lab.write_notebook(name, CONTROL, SETUP, *INSERTS, markdown=(0,))
    open_notebook(page, lab, name)
    run_cell(page, name, 1)
    for index in range(len(INSERTS)):  # one at a time, as a person runs cells; each insert lands below its cell
        run_cell(page, name, 2 + 2 * index)
        page.wait_for_function(
            """([name, count]) => [...window.jupyterapp.shell.widgets('main')]
                .find(w => w.context && w.context.path === name).content.model.sharedModel.cells.length === count""",
            arg=[name, 2 + len(INSERTS) + index + 1],
        )
    page.locator(".jp-MarkdownCell").first.locator("mjx-container").wait_for()  # MathJax is live
    page.wait_for_timeout(1500)  # let MathJax finish typesetting every cell
    inserted = [i for i, cell in enumerate(cells(page, name)) if cell["cell_type"] == "markdown" and cell["metadata"]]
    assert len(inserted) == len(INSERTS)
    rendered = page.locator(".jp-Notebook .jp-Cell")
    texts = []
    for index in inserted:
        markdown = rendered.nth(index).locator(".jp-RenderedMarkdown")
        assert markdown.locator("mjx-container, .MathJax, math").count() == 0, index
        # Headings get JupyterLab's own "¶" anchor; any other link came from the payload.
        assert markdown.locator("a:not(.jp-InternalAnchorLink), img, script, iframe, [style]").count() == 0, index
        assert markdown.locator("b, i, em").count() == 0, index  # <b>, <i>, *not bold*
        box = markdown.bounding_box()
        assert box is not None and box["height"] < 600, "a TeX \\rule would make the cell huge"
        texts.append(_flat(markdown.inner_text()))
    assert page.title() != "1"
    shown = "\n".join(texts)
    short_title = " ".join(TITLE.split()[:4]) + "…"
    assert shown.count(_flat(short_title)) >= 2  # the cite and text styles (CSL: "(Short title…, n.d.)")
    assert shown.count(_flat(ABSTRACT)) == len(STYLES) + 1  # every snippet and the note cell
    assert shown.count(_flat(TITLE)) >= 3  # note heading, exported notes, References
    assert _flat(TAG) in shown and NOTE_MARK in shown
