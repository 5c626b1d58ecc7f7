"""The kernel → notebook bridge in a real JupyterLab, driven through headless Chromium."""

from __future__ import annotations

from playwright.sync_api import Page, expect

import paper_widgets
from paper_widgets.output.cite import reference

from .lab import (
    Lab,
    activate,
    cells,
    open_another_notebook,
    open_notebook,
    run_all,
    run_cell,
    save,
    wait_until_executed,
)

# Markers are assembled at run time so the code cells that produce them never contain them.
IMPORT = "import paper_widgets"


def test_cell_run_inserts_rendered_markdown_below_it_and_it_is_saved(page: Page, lab: Lab) -> None:
    lab.write_notebook(
        "run_all.ipynb",
        IMPORT,
        "paper_widgets.insert('**INSERTED-' + 'BY-CELL**')",
        "after = 1",
    )
    open_notebook(page, lab, "run_all.ipynb")
    run_all(page)
    wait_until_executed(page, "run_all.ipynb")
    expect(page.locator(".jp-MarkdownCell .jp-RenderedMarkdown strong", has_text="INSERTED-BY-CELL")).to_be_visible()
    model = cells(page, "run_all.ipynb")
    assert [c["cell_type"] for c in model] == ["code", "code", "markdown", "code"]
    assert model[2]["source"] == "**INSERTED-BY-CELL**"
    save(page, "run_all.ipynb")
    on_disk = lab.read_notebook("run_all.ipynb")
    assert on_disk.cells[2].cell_type == "markdown"
    assert on_disk.cells[2].source == "**INSERTED-BY-CELL**"
    assert on_disk.cells[2].metadata["paper_widgets"] == {"inserted": True}


def test_widget_button_callback_inserts_below_its_cell(page: Page, lab: Lab) -> None:
    lab.write_notebook(
        "button.ipynb",
        "x = 0",
        IMPORT + "\nimport ipywidgets as w\n"
        "b = w.Button(description='Insert it')\n"
        "b.on_click(lambda _: paper_widgets.insert('FROM-' + 'BUTTON'))\n"
        "b",
        "y = 2",
    )
    open_notebook(page, lab, "button.ipynb")
    run_all(page)
    wait_until_executed(page, "button.ipynb")
    page.get_by_role("button", name="Insert it").click()
    expect(page.locator(".jp-RenderedMarkdown", has_text="FROM-BUTTON")).to_be_visible()
    model = cells(page, "button.ipynb")
    assert [c["source"] for c in model][1:3][1] == "FROM-BUTTON"
    assert [c["cell_type"] for c in model] == ["code", "code", "markdown", "code"]


def test_insert_lands_in_the_notebook_whose_kernel_asked(page: Page, lab: Lab) -> None:
    lab.write_notebook("asker.ipynb", IMPORT + "\nimport time\ntime.sleep(4)\npaper_widgets.insert('ASKED-' + 'HERE')")
    lab.write_notebook("bystander.ipynb", "z = 3")
    open_notebook(page, lab, "asker.ipynb")
    open_another_notebook(page, "bystander.ipynb")
    activate(page, "asker.ipynb")
    run_all(page)
    activate(page, "bystander.ipynb")  # the active notebook is now the other one
    wait_until_executed(page, "asker.ipynb")
    page.wait_for_function(
        """() => [...window.jupyterapp.shell.widgets('main')]
            .find(w => w.context && w.context.path === 'asker.ipynb').content.model.sharedModel.cells.length === 2"""
    )
    assert [c["source"] for c in cells(page, "asker.ipynb")][1] == "ASKED-HERE"
    assert [c["source"] for c in cells(page, "bystander.ipynb")] == ["z = 3"]


def test_cursor_insert_types_into_the_markdown_cell_being_edited(page: Page, lab: Lab) -> None:
    lab.write_notebook(
        "cursor.ipynb",
        IMPORT + "\nimport ipywidgets as w\n"
        "b = w.Button(description='Cite here')\n"
        "b.on_click(lambda _: paper_widgets.insert(' [@' + 'key2025]', where='cursor'))\n"
        "b",
        "As shown by",
        markdown=(1,),
    )
    open_notebook(page, lab, "cursor.ipynb")
    run_all(page)
    wait_until_executed(page, "cursor.ipynb")
    markdown = page.locator(".jp-MarkdownCell").first
    markdown.dblclick()
    editor = markdown.locator(".cm-content")
    expect(editor).to_be_visible()
    editor.click()
    page.keyboard.press("Control+End")
    page.get_by_role("button", name="Cite here").click()
    page.wait_for_function(
        """() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[1].getSource().includes('key2025')"""
    )
    model = cells(page, "cursor.ipynb")
    assert len(model) == 2, "no new cell: the text went into the cell being edited"
    assert model[1]["source"] == "As shown by [@key2025]"


def test_without_the_plugin_insert_falls_back_to_the_next_cell_and_says_why(
    page: Page, lab_without_plugin: Lab
) -> None:
    lab = lab_without_plugin
    lab.write_notebook(
        "no_plugin.ipynb",
        IMPORT + "\nfirst = paper_widgets.insert('FIRST-' + 'LOST')",
        # JupyterLab closes a comm whose target nobody registered: the kernel knows once cell 0 ended.
        "print(first.status, paper_widgets.kernel.bridge.get_bridge().receiver)",
        "second = paper_widgets.insert('FALLBACK-' + 'TEXT')",
    )
    open_notebook(page, lab, "no_plugin.ipynb")
    for index in range(3):  # one at a time, as a person runs cells
        run_cell(page, "no_plugin.ipynb", index)
    outputs = page.locator(".jp-OutputArea-output")
    # Cell 1 reports the lost first insert (ready to copy) and the bridge's verdict.
    expect(outputs.nth(0)).to_contain_text("1 earlier insert(s) did not arrive")
    expect(outputs.nth(0)).to_contain_text("FIRST-LOST")
    expect(outputs.filter(has_text="no_receiver False")).to_have_count(1)
    # Cell 2 falls back at once: the text in a new cell below, and printed with the reason.
    expect(outputs).to_have_count(2)
    expect(outputs.nth(1)).to_contain_text("No paper-widgets JupyterLab extension answered")
    expect(outputs.nth(1)).to_contain_text("FALLBACK-TEXT")
    sources = [c["source"] for c in cells(page, "no_plugin.ipynb")]
    assert sources[3] == "%%markdown\nFALLBACK-TEXT", "set_next_input put the text in a new cell below"


def test_references_cell_shows_its_list_and_the_bib_is_written_beside_the_notebook(page: Page, lab: Lab) -> None:
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    lab.write_notebook(
        "cites.ipynb",
        f"See [@{key}].",
        IMPORT + "\npaper_widgets.update_references(paper_widgets.load_sample())",
        markdown=(0,),
    )
    open_notebook(page, lab, "cites.ipynb")
    run_all(page)
    wait_until_executed(page, "cites.ipynb")
    # The list sits in <noframes> for pandoc's sake; JupyterLab's sanitizer drops the tag and shows it.
    item = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown li")
    expect(item).to_be_visible()
    expect(item).to_have_text(reference(lib[key]))  # the APA entry, rendered as it reads
    assert page.locator(".jp-RenderedMarkdown noframes").count() == 0
    assert f"@misc{{{key}," in (lab.root / "references.bib").read_text(encoding="utf-8")
