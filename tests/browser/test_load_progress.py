"""The Papers sidebar and the picker while the server reloads a large library: progress, then results;
and while it indexes a large library's abstracts: a note over results ranked by titles, then the full search.

JupyterLab serves this checkout's built plugin when there is one (``jlpm build:prod`` writes it to
``paper_widgets/labextension``), else the installed one, as a wheel install would.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from many_dumps import write_days
from playwright.sync_api import Browser, Page, expect

from paper_widgets.library import remember_paths

from .lab import Lab, start_lab
from .test_cite_while_writing import edit_markdown_cell, open_without_kernel

ROOT = Path(__file__).resolve().parents[2]
BUILT = ROOT / "paper_widgets" / "labextension"
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DAYS, PER_DAY = 300, 40  # seconds of reading and indexing on this machine: long enough to watch


def _status(lab: Lab) -> dict[str, object]:
    url = f"{lab.url}/paper-widgets/status?token={lab.token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        answer: dict[str, object] = json.loads(response.read())
        return answer


def _wait_ready(lab: Lab, timeout: float = 300) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    while (status := _status(lab))["state"] == "loading" and time.monotonic() < deadline:
        time.sleep(0.1)
    return status


def _serve_this_checkout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Have JupyterLab serve this checkout's built plugin, when there is one."""
    if (BUILT / "package.json").exists():
        # Found before the installed copy (JUPYTER_PATH comes first): the plugin of this checkout.
        data = tmp_path / "jupyter_data"
        (data / "labextensions").mkdir(parents=True)
        (data / "labextensions" / "paper-widgets").symlink_to(BUILT, target_is_directory=True)
        monkeypatch.setenv("JUPYTER_PATH", str(data))


@pytest.fixture
def big_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lab]:
    """JupyterLab whose user library is DAYS dumps (remembered in its store before it starts)."""
    _serve_this_checkout(tmp_path, monkeypatch)
    write_days(tmp_path / "dumps", DAYS, PER_DAY)
    remember_paths([tmp_path / "dumps"], store=tmp_path / "lab" / "paper_widgets_home")
    lab = start_lab(tmp_path / "lab")  # start_lab's PAPER_WIDGETS_HOME: base / "paper_widgets_home"
    yield lab
    lab.stop()


@pytest.fixture
def page(browser: Browser, big_lab: Lab) -> Iterator[Page]:
    """A page of its own (the shared ``page`` fixture would start the session's sample JupyterLab too)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def test_the_sidebar_shows_the_reload_s_progress_then_the_results(page: Page, big_lab: Lab, tmp_path: Path) -> None:
    page.goto(f"{big_lab.url}/lab?token={big_lab.token}&reset")
    tab = page.locator('.jp-SideBar [title="Papers"]')
    expect(tab).to_be_visible()
    tab.click()
    sidebar = page.locator("#paper-widgets-sidebar")
    expect(sidebar).to_be_visible()
    assert _wait_ready(big_lab)["papers"] == DAYS * PER_DAY
    expect(sidebar.locator(".jp-PaperWidgets-result").first).to_be_visible()  # the first load's results

    # Every file changes (one more paper each, as a day's dump grows): the server reloads them all.
    time.sleep(0.01)
    write_days(tmp_path / "dumps", DAYS, PER_DAY + 1)
    newest = f"Study {DAYS - 1}-{PER_DAY} of"  # only in the library being loaded
    sidebar.locator(".jp-PaperWidgets-search").fill(newest)

    bar = sidebar.locator(".jp-PaperWidgets-loading")
    expect(bar).to_be_visible()
    seen = []
    while bar.is_visible():
        seen.append(
            bar.evaluate(
                """node => ({
                    hidden: node.hidden,
                    label: node.querySelector('.jp-PaperWidgets-progressLabel').textContent,
                    detail: node.querySelector('.jp-PaperWidgets-progressDetail').textContent,
                    value: node.querySelector('progress').hasAttribute('value')
                        ? node.querySelector('progress').value : null,
                })"""
            )
        )
        if len(seen) == 3:
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            sidebar.screenshot(path=str(SCREENSHOTS / "sidebar_loading.png"))
        time.sleep(0.05)
    seen = [shown for shown in seen if not shown.pop("hidden")]  # hidden between is_visible and evaluate
    assert seen, "the progress bar was shown"
    for shown in seen:
        if shown["value"] is None:
            assert shown["label"] == "Loading library…", shown
        else:
            assert shown["label"] == f"Loading library… {int(shown['value'])} %", shown
            assert shown["detail"] in ("Reading papers", "Indexing papers"), shown
    reading = [s["value"] for s in seen if s["detail"] == "Reading papers" and s["value"] is not None]
    assert reading and reading == sorted(reading), seen  # the bar moves forward while the files are read
    assert len({s["label"] for s in seen}) > 1, seen  # it moved

    # Then the results of the reloaded library, for what was typed meanwhile.
    first = sidebar.locator(".jp-PaperWidgets-result .jp-PaperWidgets-resultTitle").first
    expect(first).to_contain_text(newest, timeout=60_000)
    assert _status(big_lab)["papers"] == DAYS * (PER_DAY + 1)
    expect(bar).to_be_hidden()


def test_the_picker_says_how_far_the_reload_is_then_lists(page: Page, big_lab: Lab, tmp_path: Path) -> None:
    open_without_kernel(page, big_lab, "draft.ipynb", "Sparse attention helps, as shown by ")
    assert _wait_ready(big_lab)["papers"] == DAYS * PER_DAY
    time.sleep(0.01)
    write_days(tmp_path / "dumps", DAYS, PER_DAY + 1)  # every file changes: the server reloads them all

    edit_markdown_cell(page, 0)
    page.keyboard.press("Alt+c")
    picker = page.locator(".jp-PaperWidgets-picker")
    expect(picker).to_be_visible()
    status = picker.locator(".jp-PaperWidgets-pickerStatus")
    expect(status).to_contain_text("Loading library…")
    seen = []
    while "Loading" in (text := status.text_content() or ""):
        seen.append(text)
        time.sleep(0.05)
    loading = [text for text in seen if text != "Loading…"]  # "Loading…": the picker's own first words
    assert loading and all(re.fullmatch(r"Loading library…( \d{1,3} %)?", text) for text in loading), seen
    assert any(text.endswith("%") for text in loading), seen

    # Then it lists (recent papers, nothing typed yet), and finds a paper only the reloaded library has.
    expect(picker.locator(".jp-PaperWidgets-result").first).to_be_visible()
    newest = f"Study {DAYS - 1}-{PER_DAY} of"
    picker.locator("input").press_sequentially(newest, delay=10)
    expect(picker.locator(".jp-PaperWidgets-result .jp-PaperWidgets-resultTitle").first).to_contain_text(newest)
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()


# Run by the server (JUPYTER_CONFIG_DIR's jupyter_server_config.py) before it loads the library: the
# samples count as a large library (titles first, abstracts in the background), and the abstracts'
# indexing waits for a file the test writes, so the minute a million papers take can be watched.
HOLD_ABSTRACTS = """
import time
from pathlib import Path

import paper_widgets.library
from paper_widgets.search.index import IndexBuild

paper_widgets.library.INDEX_CACHE_MIN_PAPERS = 1
paper_widgets.library.TITLES_FIRST_MIN_PAPERS = 1
_release = Path({release!r})
_number = IndexBuild.number


def _held(build, name, tokenised):
    while name == "abstract" and not _release.exists():
        time.sleep(0.05)
    _number(build, name, tokenised)


IndexBuild.number = _held
"""
ABSTRACT_ONLY = "surrogate"  # a word of one sample's abstract (AdaMerging), in no title


@pytest.fixture
def indexing_lab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Lab, Path]]:
    """JupyterLab serving the samples as a large library whose abstracts are indexed once the file it gives exists."""
    _serve_this_checkout(tmp_path, monkeypatch)
    release = tmp_path / "release-abstracts"
    config = tmp_path / "lab" / "config"  # start_lab's JUPYTER_CONFIG_DIR
    config.mkdir(parents=True)
    (config / "jupyter_server_config.py").write_text(HOLD_ABSTRACTS.format(release=str(release)))
    lab = start_lab(tmp_path / "lab")
    yield lab, release
    release.touch()  # no thread left waiting
    lab.stop()


def test_sidebar_and_picker_say_the_abstracts_are_being_indexed_then_search_them(
    browser: Browser, indexing_lab: tuple[Lab, Path]
) -> None:
    lab, release = indexing_lab
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(30_000)
    page = context.new_page()
    open_without_kernel(page, lab, "draft.ipynb", "Merging models, as in ")
    status = _wait_ready(lab)
    assert status["state"] == "ready" and status["indexing"] == {"done": 0, "total": status["papers"]}, status

    page.locator('.jp-SideBar [title="Papers"]').click()
    sidebar = page.locator("#paper-widgets-sidebar")
    bar = sidebar.locator(".jp-PaperWidgets-loading")
    expect(bar).to_be_visible()
    expect(bar.locator(".jp-PaperWidgets-progressLabel")).to_have_text("Indexing abstracts… 0 %")
    expect(bar.locator(".jp-PaperWidgets-progressDetail")).to_have_text(
        "Results rank by titles until the abstracts are indexed"
    )
    expect(sidebar.locator(".jp-PaperWidgets-result").first).to_be_visible()  # searching stays possible
    sidebar.locator(".jp-PaperWidgets-search").fill(ABSTRACT_ONLY)
    expect(sidebar.locator(".jp-PaperWidgets-pickerStatus")).to_have_text("0 papers")  # titles alone: not found
    expect(bar).to_be_visible()

    edit_markdown_cell(page, 0)
    page.keyboard.press("Alt+c")
    picker = page.locator(".jp-PaperWidgets-picker")
    expect(picker.locator(".jp-PaperWidgets-result").first).to_be_visible()
    note = picker.locator(".jp-PaperWidgets-pickerNote")
    expect(note).to_be_visible()
    expect(note.locator(".jp-PaperWidgets-progressLabel")).to_have_text("Indexing abstracts… 0 %")
    expect(note.locator(".jp-PaperWidgets-progressDetail")).to_have_text(
        "Results rank by titles until the abstracts are indexed"
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "indexing_abstracts.png"))
    picker.locator("input").press_sequentially(ABSTRACT_ONLY, delay=10)
    expect(picker.locator(".jp-PaperWidgets-pickerStatus")).to_have_text("No papers found")

    release.touch()  # the abstracts are indexed now: both ask the server again by themselves
    expect(note).to_be_hidden(timeout=60_000)
    expect(picker.locator(".jp-PaperWidgets-resultTitle").first).to_contain_text("AdaMerging")
    page.keyboard.press("Escape")
    expect(picker).to_be_hidden()
    expect(bar).to_be_hidden()
    expect(sidebar.locator(".jp-PaperWidgets-resultTitle").first).to_contain_text("AdaMerging")
    assert _status(lab)["indexing"] is None
    context.close()
