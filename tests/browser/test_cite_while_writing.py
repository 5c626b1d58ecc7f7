"""Citing in a notebook with no kernel at all: the picker, the Papers sidebar and the References cell.

Everything goes through the paper_widgets server extension; the test checks the results against
the Python API opened on the same store (``PAPER_WIDGETS_HOME`` of the test's JupyterLab).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page, expect

import paper_widgets as pw

from .lab import Lab, cells, start_lab

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
TYPO_TITLE = "gradeint surgry for multi task"  # "Gradient Surgery for Multi-Task Learning", mistyped


def _home(lab: Lab) -> Path:
    return lab.root.parent / "paper_widgets_home"  # where start_lab points PAPER_WIDGETS_HOME


def open_without_kernel(page: Page, lab: Lab, name: str, *markdown: str) -> None:
    """A notebook of markdown cells, opened in JupyterLab and left with no kernel."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(text) for text in markdown])
    nbformat.write(notebook, lab.root / name)
    page.goto(lab.notebook_url(name))
    # The notebook names no kernel, so JupyterLab asks: choose "No Kernel", as a writer might.
    page.locator(".jp-Dialog").get_by_role("button", name="No Kernel").click()
    page.wait_for_function(
        """name => {
            const panel = window.jupyterapp && [...window.jupyterapp.shell.widgets('main')]
                .find(w => w.context && w.context.path === name);
            return !!(panel && panel.context.isReady && panel.content.widgets.length > 0 &&
                      !panel.sessionContext.session && !document.querySelector('.jp-Dialog'));
        }""",
        arg=name,
    )


def edit_markdown_cell(page: Page, index: int) -> None:
    """Put markdown cell ``index`` in edit mode with the cursor at the end of its text, as a writer would."""
    page.evaluate(
        """index => {
            const notebook = window.jupyterapp.shell.currentWidget.content;
            notebook.activeCellIndex = index;
            notebook.mode = 'edit';
        }""",
        index,
    )
    editor = page.locator(".jp-Notebook .jp-Cell.jp-mod-active .cm-content")
    editor.click()
    expect(editor).to_be_focused()
    page.keyboard.press("Control+End")


def wait_for_ending(page: Page, index: int, ending: str) -> None:
    """Wait until cell ``index`` of the current notebook ends with ``ending`` (citing asks the server first)."""
    page.wait_for_function(
        """([index, ending]) => window.jupyterapp.shell.currentWidget.content.model.sharedModel
            .cells[index].getSource().endsWith(ending)""",
        arg=[index, ending],
    )


def picker_keys(page: Page) -> list[str]:
    return page.locator(".jp-PaperWidgets-picker .jp-PaperWidgets-result").evaluate_all(
        "items => items.map(item => item.dataset.key)"
    )


def test_picker_by_shortcut_cites_the_second_result_at_the_cursor(page: Page, lab: Lab) -> None:
    name = "picker.ipynb"
    open_without_kernel(page, lab, name, "Multi-task methods fight over shared weights", "Second cell")
    edit_markdown_cell(page, 0)
    page.keyboard.press("Alt+c")
    picker = page.locator(".jp-PaperWidgets-picker")
    expect(picker).to_be_visible()
    search = picker.locator("input")
    expect(search).to_be_focused()
    expect(picker.locator(".jp-PaperWidgets-result").first).to_be_visible()  # opened: recent papers listed

    search.press_sequentially(TYPO_TITLE, delay=20)
    lib = pw.load_default(store=_home(lab))
    expected = list(lib.search(TYPO_TITLE, limit=30)["key"])
    assert expected[0] == "GradientSurgeryMultitask"
    page.wait_for_function(
        "first => document.querySelector('.jp-PaperWidgets-picker .jp-PaperWidgets-result')?.dataset.key === first"
        " && document.querySelector('.jp-PaperWidgets-picker input').value.endsWith('task')",
        arg=expected[0],
    )
    expect(picker.locator(".jp-PaperWidgets-result").first.locator("mark").first).to_have_text("Gradient")
    assert picker_keys(page) == expected, "the picker ranks as lib.search(query)"

    search.press("ArrowDown")
    expect(picker.locator(".jp-PaperWidgets-result.jp-mod-selected")).to_have_attribute("data-key", expected[1])
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "picker.png"))
    search.press("Enter")
    expect(picker).to_have_count(0)
    wait_for_ending(page, 0, f"[@{expected[1]}]")
    source = cells(page, name)[0]["source"]
    assert source == f"Multi-task methods fight over shared weights [@{expected[1]}]"
    assert cells(page, name)[1]["source"] == "Second cell"

    # Shift+Enter picks several; Enter cites them all; the cited paper is marked as cited.
    page.keyboard.press("Alt+c")
    expect(picker).to_be_visible()
    first_row = picker.locator(".jp-PaperWidgets-result").first
    expect(first_row).to_have_attribute("data-key", expected[1])  # what the notebook cites comes first
    expect(first_row.locator(".jp-PaperWidgets-badge")).to_have_text("cited")
    search.press_sequentially("agent workflow memory", delay=20)
    expect(picker.locator(".jp-PaperWidgets-result").first).to_have_attribute("data-key", "AgentWorkflowMemory")
    search.press("Shift+Enter")
    search.press("ArrowDown")
    second = picker.locator(".jp-PaperWidgets-result.jp-mod-selected").get_attribute("data-key")
    search.press("Enter")
    expect(picker).to_have_count(0)
    wait_for_ending(page, 0, f"[@{expected[1]}] [@AgentWorkflowMemory; @{second}]")

    # Escape closes without touching the notebook.
    page.keyboard.press("Alt+c")
    expect(picker).to_be_visible()
    picker.locator("input").press("Escape")
    expect(picker).to_have_count(0)
    assert cells(page, name)[0]["source"].endswith(f"@{second}]")

    # The markdown cell's context menu offers the picker too.
    page.locator(".jp-Notebook .jp-MarkdownCell").nth(1).click(button="right")
    entry = page.locator(".lm-Menu .lm-Menu-item", has_text="Insert citation…")
    expect(entry).to_be_visible()
    entry.click()
    expect(picker).to_be_visible()
    picker.locator("input").press("Escape")


def test_sidebar_cites_and_saves_a_note_the_kernel_side_reads(page: Page, lab: Lab) -> None:
    name = "sidebar.ipynb"
    open_without_kernel(page, lab, name, "Agents remember workflows")
    tab = page.locator('.jp-SideBar [title="Papers"]')
    expect(tab).to_be_visible()
    tab.click()
    panel = page.locator('[aria-label="Papers"][role="region"]')
    expect(panel).to_be_visible()
    edit_markdown_cell(page, 0)

    panel.locator(".jp-PaperWidgets-search").press_sequentially("agent workflow memry", delay=20)
    first = panel.locator(".jp-PaperWidgets-result").first
    expect(first).to_have_attribute("data-key", "AgentWorkflowMemory")
    first.click()
    details = panel.locator(".jp-PaperWidgets-details")
    expect(details.locator(".jp-PaperWidgets-key")).to_have_text("AgentWorkflowMemory")
    expect(details.locator(".jp-PaperWidgets-abstract mark").first).to_be_visible()

    details.get_by_role("button", name="Cite").click()
    wait_for_ending(page, 0, "[@AgentWorkflowMemory]")
    assert cells(page, name)[0]["source"] == "Agents remember workflows [@AgentWorkflowMemory]"

    note = "Compare with *Voyager*; <b>not</b> bold."
    details.locator("textarea").fill(note)
    details.locator("input").first.fill("agents, to-read")
    details.locator("select").select_option("reading")
    details.get_by_role("button", name="Save note").click()
    expect(details.locator(".jp-PaperWidgets-saved")).to_have_text("Saved")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    panel.evaluate("node => { node.scrollTop = 0; }")
    page.screenshot(path=str(SCREENSHOTS / "sidebar.png"))

    kernel_side = pw.load_default(store=_home(lab))
    assert kernel_side.note("AgentWorkflowMemory") == note
    assert kernel_side.tags("AgentWorkflowMemory") == ["agents", "to-read"]
    assert kernel_side.status("AgentWorkflowMemory") == "reading"


def _bib_keys(path: Path) -> list[str]:
    return re.findall(r"^@\w+\{([^,\s]+),", path.read_text(), flags=re.MULTILINE)


def test_references_cell_appears_and_follows_new_citations(page: Page, lab: Lab) -> None:
    # In a subfolder, so the .bib must follow the notebook's path rather than land in the server's root.
    (lab.root / "chapters").mkdir(exist_ok=True)
    name = "chapters/refs.ipynb"
    bib = lab.root / "chapters" / "references.bib"
    open_without_kernel(page, lab, name, "Gradients conflict [@GradientSurgeryMultitask].", "More text")
    page.evaluate("window.jupyterapp.commands.execute('paper-widgets:update-references')")
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.length === 3")
    lib = pw.load_default(store=_home(lab))
    model = cells(page, name)
    assert model[2]["metadata"]["paper_widgets"] == {"role": "references"}
    assert model[2]["metadata"]["tags"] == ["remove-cell"]  # Jupyter Book 1 and mystmd leave it out
    assert _bib_keys(bib) == ["GradientSurgeryMultitask"]  # written by the server before the cell was
    assert not (lab.root / "references.bib").exists()
    assert model[2]["source"] == pw.references(
        {"cells": model[:2]}, lib, "text"
    )  # no style chosen anywhere: the References list is plain text
    expect(page.locator(".jp-MarkdownCell .jp-RenderedMarkdown h2", has_text="References")).to_be_visible()

    edit_markdown_cell(page, 1)
    page.keyboard.press("Alt+c")
    search = page.locator(".jp-PaperWidgets-picker input")
    search.press_sequentially("agent workflow memory", delay=20)
    expect(page.locator(".jp-PaperWidgets-picker .jp-PaperWidgets-result").first).to_have_attribute(
        "data-key", "AgentWorkflowMemory"
    )
    search.press("Enter")
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[2].getSource()"
        ".includes('Agent Workflow Memory')"
    )
    model = cells(page, name)
    assert len(model) == 3 and model[1]["source"] == "More text [@AgentWorkflowMemory]"
    assert model[2]["source"] == pw.references(
        {"cells": model[:2]}, lib, "text"
    )  # no style chosen anywhere: the References list is plain text
    assert model[2]["metadata"]["tags"] == ["remove-cell"]  # kept on refresh, not added twice
    assert _bib_keys(bib) == ["GradientSurgeryMultitask", "AgentWorkflowMemory"]  # refreshed with the cell


HOSTILE_DUMP = (
    "Daily Papers\n\n"
    'Pwned <img src=x onerror="window.__pwned=1"> Paper <script>window.__pwned=2</script>\n\n'
    'An abstract with <img src=x onerror="window.__pwned=3"> in it. It is hostile.\n\n'
    "A Second Harmless Paper Title\n\nThis abstract is about harmless robots. Nothing else.\n"
)
BROKEN_BIB = (
    "@article{kept,\n  title = {Zebrafish Fin Regeneration Atlas},\n  author = {Doe, Jane},\n  year = {2024},\n"
    "  abstract = {A single-cell atlas of fin regrowth.}\n}\n\n@article{broken,\n  title = {No closing brace\n"
)


def test_sidebar_adds_files_with_their_warnings_and_shows_hostile_text_literally(
    page: Page, tmp_path_factory: pytest.TempPathFactory
) -> None:
    # Its own JupyterLab: adding files changes the user's library, which the other tests share.
    own = start_lab(tmp_path_factory.mktemp("jupyterlab_uploads"))
    try:
        uploads = tmp_path_factory.mktemp("uploads")
        (uploads / "hostile.txt").write_text(HOSTILE_DUMP)
        (uploads / "broken.bib").write_text(BROKEN_BIB)
        open_without_kernel(page, own, "uploads.ipynb", "Notes")
        page.locator('.jp-SideBar [title="Papers"]').click()
        panel = page.locator('[aria-label="Papers"][role="region"]')
        panel.locator(".jp-PaperWidgets-fileInput").set_input_files([uploads / "hostile.txt", uploads / "broken.bib"])
        report = panel.locator(".jp-PaperWidgets-fileReport > li")
        expect(report.nth(0)).to_have_text("hostile.txt: 2 new papers")
        expect(report.nth(1)).to_contain_text("broken.bib: 1 new paper")
        expect(report.nth(1).locator(".jp-PaperWidgets-warnings li")).to_contain_text("line")

        panel.locator(".jp-PaperWidgets-search").press_sequentially("pwned", delay=20)
        first = panel.locator(".jp-PaperWidgets-result").first
        expect(first).to_contain_text('<img src=x onerror="window.__pwned=1">')
        expect(first.locator("mark").first).to_have_text("Pwned")
        first.click()
        expect(panel.locator(".jp-PaperWidgets-abstract")).to_contain_text('<img src=x onerror="window.__pwned=3">')
        assert page.evaluate("window.__pwned") is None
        assert panel.locator(".jp-PaperWidgets-details img, .jp-PaperWidgets-results img").count() == 0

        library = pw.load_default(store=_home(own))  # the files are now the user's library
        assert {"Zebrafish Fin Regeneration Atlas", "A Second Harmless Paper Title"} <= set(library.df["title"])
    finally:
        own.stop()
