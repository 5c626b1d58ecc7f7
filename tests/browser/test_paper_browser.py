"""The PaperBrowser panel in a real JupyterLab, driven through headless Chromium."""

from __future__ import annotations

import shutil
from pathlib import Path

from playwright.sync_api import Locator, Page, expect

from .lab import Lab, cells, open_notebook, run_all, wait_until_executed

ROOT = Path(__file__).resolve().parents[2]
# Fresh screenshots of every run; the README's copies in docs/screenshots/ are refreshed from here by hand.
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DEMO = ROOT / "notebooks" / "browse_papers.ipynb"
SAFE = "SafeMultitaskFailure2025"  # a paper of the bundled samples
HOSTILE_DUMP = (
    "Daily Papers\n\n"
    "Pwned <script>window.__pwned=1;document.title='PWNED'</script> Paper <img src=x onerror=\"window.__pwned=2\">\n\n"
    'An abstract with <img src=x onerror="window.__pwned=3"> and '
    '<a href="javascript:window.__pwned=4">a link</a>. It is hostile.\n\n'
    "A Second Harmless Paper Title\n\nThis abstract is about harmless robots. Nothing else.\n"
)


def open_browser(page: Page, lab: Lab, name: str, setup: str, *markdown: str) -> None:
    """A notebook of ``markdown`` cells then one code cell showing a browser; run it."""
    lab.write_notebook(name, *markdown, setup, markdown=tuple(range(len(markdown))))
    open_notebook(page, lab, name)
    run_all(page)
    wait_until_executed(page, name)
    expect(page.locator(".paper-widgets .pw-results .pw-row").first).to_be_visible()


def results(page: Page) -> list[str]:
    return page.locator(".paper-widgets .pw-row .pw-col-title").all_inner_texts()


def selected_row(page: Page) -> Locator:
    return page.locator('.paper-widgets .pw-row[aria-selected="true"]')


def active_cell_index(page: Page) -> int:
    return int(page.evaluate("window.jupyterapp.shell.currentWidget.content.activeCellIndex"))


def test_typing_searches_and_cite_and_snippet_insert_rendered_markdown(page: Page, lab: Lab) -> None:
    open_browser(page, lab, "cite.ipynb", "import paper_widgets as pw\npw.PaperBrowser()")
    before = results(page)
    page.locator(".paper-widgets .pw-search input").press_sequentially("multitask failure detection", delay=30)
    expect(page.locator(".paper-widgets .pw-row").first).to_contain_text("SAFE: Multitask Failure Detection")
    expect(page.locator(".paper-widgets .pw-row").first.locator("mark").first).to_have_text("Multitask")
    assert results(page) != before
    expect(page.locator(".paper-widgets .pw-detail mark").first).to_have_text("Multitask")
    expect(page.locator(".paper-widgets .pw-count")).to_contain_text("papers match “multitask failure detection”")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".paper-widgets").screenshot(path=str(SCREENSHOTS / "browser.png"))

    page.locator(".paper-widgets .pw-cite").click()
    expect(page.locator(".jp-MarkdownCell .jp-RenderedMarkdown", has_text=f"[@{SAFE}]").first).to_be_visible()
    expect(page.locator(".paper-widgets .pw-feedback")).to_contain_text(f"Inserted citation [@{SAFE}]")
    page.locator(".paper-widgets .pw-snippet").click()
    quote = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown blockquote", has_text="failure")
    expect(quote).to_be_visible()
    expect(quote).to_contain_text(f"[@{SAFE}]")
    model = cells(page, "cite.ipynb")
    assert [c["cell_type"] for c in model] == ["code", "markdown", "markdown"]
    assert model[1]["source"] == f"[@{SAFE}]", "the first insert lands right below the widget's cell"
    assert model[2]["source"].startswith("> "), "the next one after it: reading order is the order of the clicks"
    page.set_viewport_size({"width": 1400, "height": 1500})  # tall enough to show the inserted cells
    page.locator(".jp-Notebook").screenshot(path=str(SCREENSHOTS / "after-cite.png"))


def test_enter_in_the_search_box_cites_the_best_match(page: Page, lab: Lab) -> None:
    open_browser(page, lab, "enter.ipynb", "import paper_widgets as pw\npw.PaperBrowser()")
    search = page.locator(".paper-widgets .pw-search input")
    search.press_sequentially("multitask failure detection", delay=20)
    search.press("Enter")  # right away: the debounced search is flushed first
    expect(page.locator(".jp-MarkdownCell .jp-RenderedMarkdown", has_text=f"[@{SAFE}]")).to_be_visible()


def test_references_twice_keeps_exactly_one_references_cell(page: Page, lab: Lab) -> None:
    open_browser(
        page,
        lab,
        "refs.ipynb",
        "import paper_widgets as pw\nb = pw.PaperBrowser(style='text')\nb",
        f"Failure detection for robot policies [@{SAFE}].",
    )
    feedback = page.locator(".paper-widgets .pw-feedback")
    page.locator(".paper-widgets .pw-references").click()
    expect(feedback).to_contain_text("Done: Added the references cell")
    page.locator(".paper-widgets .pw-references").click()
    expect(feedback).to_contain_text("Done: Updated the references cell")
    # Upserted through the kernel bridge: tagged so Jupyter Book 1 and mystmd leave it out.
    assert cells(page, "refs.ipynb")[-1]["metadata"]["tags"] == ["remove-cell"]
    # and the palette command, which asks the server extension (no kernel involved)
    page.evaluate("window.jupyterapp.commands.execute('paper-widgets:update-references')")
    page.wait_for_timeout(1500)
    model = cells(page, "refs.ipynb")
    refs = [c for c in model if c["metadata"].get("paper_widgets", {}).get("role") == "references"]
    assert len(refs) == 1 and model[-1] is refs[0]
    assert (
        refs[0]["source"].startswith("## References\n") and "\n- SAFE: Multitask Failure Detection" in refs[0]["source"]
    )
    assert refs[0]["metadata"]["tags"] == ["remove-cell"]
    rendered = page.locator(".jp-MarkdownCell .jp-RenderedMarkdown", has_text="References")
    expect(rendered).to_contain_text("SAFE: Multitask Failure Detection for Vision-Language-Action Models")


def test_hostile_dump_is_shown_literally_and_runs_nothing(page: Page, lab: Lab) -> None:
    (lab.root / "hostile.txt").write_text(HOSTILE_DUMP)
    open_browser(
        page,
        lab,
        "hostile.ipynb",
        "import paper_widgets as pw\nb = pw.PaperBrowser(pw.load('hostile.txt'), style='cite')\nb",
    )
    page.locator(".paper-widgets .pw-search input").press_sequentially("pwned", delay=20)
    detail = page.locator(".paper-widgets .pw-detail")
    expect(detail.locator("mark").first).to_have_text("Pwned")
    expect(detail).to_contain_text("<script>window.__pwned=1;document.title='PWNED'</script>")
    expect(detail).to_contain_text('<a href="javascript:window.__pwned=4">a link</a>')
    expect(page.locator(".paper-widgets .pw-row").first).to_contain_text("<img src=x")
    page.locator(".paper-widgets .pw-cite").click()
    page.locator(".paper-widgets .pw-snippet").click()
    expect(page.locator(".jp-RenderedMarkdown blockquote", has_text="onerror")).to_be_visible()
    assert page.locator(".paper-widgets img, .paper-widgets script, .jp-RenderedMarkdown img").count() == 0
    assert page.locator(".paper-widgets a[href^='javascript'], .jp-RenderedMarkdown a[href^='javascript']").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert "PWNED" not in page.title()


def test_demo_notebook_runs_end_to_end(page: Page, lab: Lab) -> None:
    shutil.copy(DEMO, lab.root / DEMO.name)
    open_notebook(page, lab, DEMO.name)
    run_all(page)
    wait_until_executed(page, DEMO.name, timeout=120_000)
    expect(page.locator(".paper-widgets .pw-results .pw-row").first).to_be_visible()
    errors = page.evaluate(
        """name => {
            const panel = [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name);
            return panel.content.model.sharedModel.cells.filter(c => c.cell_type === 'code')
                .flatMap(c => c.getOutputs()).filter(o => o.output_type === 'error').map(o => o.ename + ': ' + o.evalue);
        }""",
        DEMO.name,
    )
    assert errors == []
    page.wait_for_function(
        """name => [...window.jupyterapp.shell.widgets('main')].find(w => w.context && w.context.path === name)
            .content.model.sharedModel.cells.some(c => (c.getMetadata().paper_widgets || {}).role === 'references')""",
        arg=DEMO.name,
    )
    model = cells(page, DEMO.name)
    assert any(c["cell_type"] == "markdown" and c["source"].startswith("> ") for c in model), "the snippet was inserted"
    refs = [c for c in model if c["metadata"].get("paper_widgets", {}).get("role") == "references"]
    assert len(refs) == 1 and "\n- [@" in refs[0]["source"] and "Missing" not in refs[0]["source"]


def test_keys_in_the_widget_move_its_selection_never_the_notebook(page: Page, lab: Lab) -> None:
    open_browser(
        page,
        lab,
        "keys.ipynb",
        "import paper_widgets as pw\nb = pw.PaperBrowser(pw.load_sample(), page_size=5)\nb",
        "# Notes",
        "Intro.",
    )
    titles = results(page)
    search = page.locator(".paper-widgets .pw-search input")
    search.click()
    cell, count = active_cell_index(page), len(cells(page, "keys.ipynb"))
    page.evaluate("window.jupyterapp.commands.execute('notebook:enter-command-mode')")
    search.focus()
    for key in ("ArrowDown", "ArrowDown"):
        page.keyboard.press(key)
    expect(selected_row(page)).to_contain_text(titles[2])
    page.keyboard.press("ArrowUp")
    expect(selected_row(page)).to_contain_text(titles[1])
    page.keyboard.press("End")
    expect(selected_row(page)).to_contain_text(titles[4])
    page.keyboard.press("Home")
    expect(selected_row(page)).to_contain_text(titles[0])
    page.keyboard.press("PageDown")
    expect(page.locator(".paper-widgets .pw-count")).to_contain_text("showing 6–10")
    page.keyboard.press("PageUp")
    expect(page.locator(".paper-widgets .pw-count")).to_contain_text("showing 1–5")
    widths = [page.locator(".paper-widgets .pw-results").bounding_box()["width"]]  # type: ignore[index]
    search.press_sequentially("multitask failure", delay=20)
    expect(selected_row(page)).to_contain_text("SAFE: Multitask Failure Detection")
    widths.append(page.locator(".paper-widgets .pw-results").bounding_box()["width"])  # type: ignore[index]
    assert widths[0] == widths[1], "the list keeps its width while typing"
    page.keyboard.press("Escape")
    expect(search).to_have_value("")
    expect(page.locator(".paper-widgets .pw-count")).to_contain_text("145 papers")
    # a click on a row picks it; the list then has the focus and keeps it across re-renders
    page.locator(".paper-widgets .pw-row").nth(3).click()
    expect(selected_row(page)).to_contain_text(titles[3])
    page.keyboard.press("ArrowDown")
    expect(selected_row(page)).to_contain_text(titles[4])
    # keys that are notebook shortcuts in command mode, pressed on a widget button: nothing happens
    page.locator(".paper-widgets .pw-prev").focus()
    for key in ("ArrowDown", "ArrowUp", "b", "a", "m"):
        page.keyboard.press(key)
    # Enter commits a tag; Tab commits the next; the box stays
    tags = page.locator(".paper-widgets .pw-add-tag input")
    tags.click()
    tags.press_sequentially("mtl", delay=20)
    tags.press("Enter")
    tags.press_sequentially("to-cite", delay=20)
    tags.press("Tab")
    expect(page.locator(".paper-widgets .pw-tag")).to_have_text(["mtl ×", "to-cite ×"])
    expect(tags).to_be_visible()
    assert active_cell_index(page) == cell, "no key moved the notebook's active cell"
    assert len(cells(page, "keys.ipynb")) == count, "no key inserted or deleted a cell"


def test_narrow_window_puts_the_details_under_the_list_and_themes_follow(page: Page, lab: Lab) -> None:
    page.set_viewport_size({"width": 800, "height": 1000})
    open_browser(
        page,
        lab,
        "narrow.ipynb",
        "import paper_widgets as pw\npw.PaperBrowser(pw.load_sample(), query='multitask failure')",
    )
    rows = page.locator(".paper-widgets .pw-results").bounding_box()
    detail = page.locator(".paper-widgets .pw-detail").bounding_box()
    assert rows is not None and detail is not None
    assert detail["width"] >= 300, f"the detail pane is {detail['width']} px wide"
    assert detail["y"] >= rows["y"] + rows["height"] - 1, "below the width threshold the details go under the list"
    title = page.locator(".paper-widgets .pw-row .pw-col-title").first
    assert title.evaluate("e => getComputedStyle(e).textOverflow") == "ellipsis"
    box = title.bounding_box()
    assert box is not None and box["width"] >= 0.5 * rows["width"], "titles keep most of a narrow list"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.locator(".paper-widgets").screenshot(path=str(SCREENSHOTS / "browser-narrow-light.png"))
    mark = page.locator(".paper-widgets .pw-detail mark").first
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Dark'})")
    page.wait_for_function("document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    page.set_viewport_size({"width": 1400, "height": 1000})
    # JupyterLab lays the panel out again on its next animation frames: wait for it (fails if never)
    page.wait_for_function(
        """() => {
            const top = (selector) => document.querySelector(selector).getBoundingClientRect().y;
            return Math.abs(top('.paper-widgets .pw-detail') - top('.paper-widgets .pw-results')) < 2;
        }""",
        timeout=10_000,
    )
    rows = page.locator(".paper-widgets .pw-results").bounding_box()
    detail = page.locator(".paper-widgets .pw-detail").bounding_box()
    assert rows is not None and detail is not None and abs(detail["y"] - rows["y"]) < 2, "side by side when wide"
    page.locator(".paper-widgets").screenshot(path=str(SCREENSHOTS / "browser-dark.png"))
    text = page.locator(".paper-widgets .pw-detail .pw-paper").evaluate("e => getComputedStyle(e).color")
    assert text == "rgb(255, 255, 255)" or text.startswith("rgba(255, 255, 255"), f"dark theme text is {text}"
    assert mark.evaluate("e => getComputedStyle(e).color") == text, "highlighted words keep the theme's text colour"
    background = mark.evaluate("e => getComputedStyle(e).backgroundColor")
    assert background != "rgb(255, 255, 0)" and "/ 0.35" in background, f"a translucent theme colour, not {background}"
    page.evaluate("window.jupyterapp.commands.execute('apputils:change-theme', {theme: 'JupyterLab Light'})")


def test_at_the_cursor_a_snippet_is_its_own_paragraph_and_a_new_cell_has_no_leading_space(page: Page, lab: Lab) -> None:
    open_browser(
        page,
        lab,
        "cursor_browser.ipynb",
        "import paper_widgets as pw\npw.PaperBrowser(pw.load_sample(), query='multitask failure detection', target='cursor')",
        "As shown by",
    )
    page.locator(".paper-widgets .pw-cite").click()  # no markdown cell is being edited: a new cell
    page.wait_for_function("() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells.length === 3")
    assert cells(page, "cursor_browser.ipynb")[2]["source"] == f"[@{SAFE}]", "no stray space before the citation"
    markdown = page.locator(".jp-MarkdownCell").first
    markdown.dblclick()
    editor = markdown.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+End")
    page.locator(".paper-widgets .pw-snippet").click()
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.content.model.sharedModel.cells[0].getSource().includes('>')"
    )
    source = cells(page, "cursor_browser.ipynb")[0]["source"]
    assert source.startswith("As shown by\n\n> "), "the quote starts its own paragraph"
    assert source.endswith(f"— [@{SAFE}]\n\n")
