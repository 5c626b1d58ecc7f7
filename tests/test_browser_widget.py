"""The PaperBrowser panel driven through its programmatic twins, with the comm bridge recorded."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Callable
from pathlib import Path

import bibtexparser
import pandas as pd
import pytest
from fakes import Harness

import paper_widgets
from paper_widgets.widget.browser import PaperBrowser
from paper_widgets.widget.html import detail_html, highlight

HOSTILE = '<script>window.__pwned=1</script><img src=x onerror="window.__pwned=2">'


@pytest.fixture(autouse=True)
def button_clicks(harness: Harness) -> None:
    harness.shell.kernel.parent_msg_type = "comm_msg"  # button clicks arrive as widget messages, not cell runs


@pytest.fixture
def browser(lib: paper_widgets.Library, harness: Harness) -> PaperBrowser:
    return PaperBrowser(lib)


def wait_for(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.01)


def requests(harness: Harness) -> list[dict]:
    return [comm.request for comm in harness.comms]


def test_without_a_library_it_opens_the_samples_in_a_panel_with_the_css_class(harness: Harness) -> None:
    browser = paper_widgets.PaperBrowser()
    assert "paper-widgets" in browser._dom_classes
    assert browser.count_text == "145 papers · showing 1–20"
    newest = browser.results.iloc[0]
    assert browser.selected == newest["key"], "empty query: newest first, first one selected"
    assert newest["published"] == browser.lib.df["published"].max()


def test_typing_a_query_changes_results_selects_the_best_match_and_highlights(browser: PaperBrowser) -> None:
    before = list(browser.results["key"])
    browser.type_query("multitask failure detection")
    assert list(browser.results["key"]) != before
    assert browser.selected == browser.results.iloc[0]["key"]
    assert browser.results.iloc[0]["title"].startswith("SAFE: Multitask Failure Detection")
    marked = '<mark class="pw-mark">Multitask</mark> <mark class="pw-mark">Failure</mark> <mark class="pw-mark">Detection</mark>'
    assert marked in browser.detail and marked in browser.list_html, "matched words marked in the list too"
    assert re.fullmatch(r"\d+ papers match “multitask failure detection”( · showing 1–20)?", browser.count_text)


def test_typing_in_the_box_searches_after_a_pause_not_per_keystroke(
    lib: paper_widgets.Library, harness: Harness
) -> None:
    browser = PaperBrowser(lib, debounce=0.15)
    for prefix in ("m", "mu", "mul", "multitask"):
        browser._search_box.value = prefix  # what the frontend does on each keystroke
    assert browser.query == "", "no search while typing"
    wait_for(lambda: "<mark" in browser.detail)  # the search ran on the timer thread
    assert browser.query == "multitask"


def test_no_match_shows_why_and_cite_explains_instead_of_inserting(browser: PaperBrowser, harness: Harness) -> None:
    browser.type_query("qqqzzzxxx")
    assert browser.count_text == "No papers match “qqqzzzxxx”"
    assert browser.selected is None and "Pick a paper" in browser.detail
    assert "No papers match “qqqzzzxxx”." in browser.list_html, "the empty list says why instead of collapsing"
    assert all(button.disabled for button in browser._paper_buttons), "nothing to cite: the buttons say so"
    assert browser.cite() is None
    assert browser.feedback == "Nothing selected: search and pick a paper first."
    assert harness.comms == []


def test_selection_moves_with_next_previous_and_across_pages(lib: paper_widgets.Library, harness: Harness) -> None:
    browser = PaperBrowser(lib, page_size=5)
    keys = list(browser.results["key"])
    browser.select_next()
    assert browser.selected == keys[1]
    browser.select(keys[4])
    browser.select_next()
    assert browser.page == 1 and browser.count_text == "145 papers · showing 6–10"
    assert browser.selected == browser.results.iloc[0]["key"]
    browser.select_previous()
    assert browser.page == 0 and browser.selected == keys[4]
    browser._keys.value = f"1 pick {keys[2]}"  # what the plugin sends for a click on a row
    assert browser.selected == keys[2]
    assert f'data-key="{keys[2]}" aria-selected="true"' in browser.list_html
    assert html.escape(browser.results.iloc[2]["title"]) in browser.detail


def test_paging_buttons_and_their_limits(lib: paper_widgets.Library, harness: Harness) -> None:
    browser = PaperBrowser(lib, page_size=50)
    assert browser._prev.disabled and not browser._next.disabled
    browser.next_page()
    browser.next_page()
    assert browser.count_text == "145 papers · showing 101–145"
    assert browser._next.disabled
    browser.next_page()
    assert browser.page == 2
    browser.previous_page()
    assert browser.count_text == "145 papers · showing 51–100"


def test_filters_and_sort_narrow_and_reorder(lib: paper_widgets.Library, harness: Harness) -> None:
    # The sample dumps carry no upvote counts (the number after a card's date counts comments): add some.
    counts = [pd.NA if i % 3 == 0 else i % 7 for i in range(len(lib.df))]
    browser = PaperBrowser(paper_widgets.Library.from_frame(lib.df.assign(upvotes=pd.array(counts, dtype="Int64"))))
    df = browser.lib.df
    browser.min_upvotes = 3
    expected = int((df["upvotes"].fillna(-1) >= 3).sum())
    assert expected and browser.count_text.startswith(f"{expected} papers")
    assert (browser.results["upvotes"] >= 3).all()
    browser.min_upvotes = 0
    browser.sort = "upvotes"
    known = int(df["upvotes"].notna().sum())
    ups = browser.results["upvotes"].head(known).tolist()
    assert ups == sorted(ups, reverse=True) and browser.results["upvotes"].iloc[known:].isna().all()
    _lo, hi = browser.year
    browser.year = (hi, hi)
    assert (browser.results["published"].dt.year == hi).all()
    in_year, undated = int((df["published"].dt.year == hi).sum()), int(df["published"].isna().sum())
    assert browser.count_text == (
        f"{in_year} papers · the year filter hides {undated} undated (tick “Include undated”)"
    )
    browser.include_undated = True
    assert browser.count_text.startswith(f"{in_year + undated} papers")
    assert browser.results["published"].isna().any() and "hides" not in browser.count_text


def test_cite_inserts_the_citation_in_the_chosen_style_and_reports(browser: PaperBrowser, harness: Harness) -> None:
    browser.type_query("multitask failure detection")
    key = browser.selected
    browser.cite()
    (request,) = requests(harness)
    assert (request["action"], request["text"], request["cell_type"], request["where"]) == (
        "insert",
        f"[@{key}]",
        "markdown",
        "below",
    )
    assert browser.feedback == f"Inserting citation [@{key}]…"
    harness.comms[0].reply(ok=True, message="Inserted a new cell at position 3 of a.ipynb.")
    assert browser.feedback == f"Inserted citation [@{key}]. Inserted a new cell at position 3 of a.ipynb."
    browser.style, browser.target = "myst", "cursor"
    browser.cite()
    assert (requests(harness)[1]["text"], requests(harness)[1]["where"]) == (f" {{cite:p}}`{key}`", "cursor")


def test_enter_in_the_search_box_flushes_the_typing_and_cites_the_best_match(
    browser: PaperBrowser, harness: Harness
) -> None:
    browser._search_box.value = "multitask failure detection"  # typed, debounce still pending
    browser._search_box._handle_custom_msg({"event": "submit"}, [])  # what the Text view sends on Enter
    assert browser.query == "multitask failure detection"
    (request,) = requests(harness)
    assert request["text"] == f"[@{browser.selected}]"
    assert browser.selected == browser.results.iloc[0]["key"]


def test_snippet_quotes_the_sentences_matching_the_query(browser: PaperBrowser, harness: Harness) -> None:
    browser.type_query("failure detector generalist robot policies")
    browser.snippet()
    (request,) = requests(harness)
    text = request["text"]
    assert text.startswith("> ") and "failure detector for generalist robot policies" in text
    assert text.rstrip().endswith(f"— [@{browser.selected}]")


def test_bibtex_goes_into_a_raw_cell_below(browser: PaperBrowser, harness: Harness) -> None:
    browser.target = "cursor"  # a BibTeX entry never goes into prose
    browser.bibtex()
    (request,) = requests(harness)
    assert (request["cell_type"], request["where"]) == ("raw", "below")
    assert request["text"].startswith(f"@misc{{{browser.selected},")


def test_without_a_plugin_the_text_is_offered_to_copy(browser: PaperBrowser, harness: Harness) -> None:
    harness.bridge.receiver = False
    browser.cite()
    assert harness.comms == []
    assert "No paper-widgets JupyterLab extension answered" in browser.feedback
    assert browser.copy_text == f"[@{browser.selected}]"
    harness.bridge.receiver = True
    browser.bibtex()
    assert browser.copy_text is None, "the copy box hides again on the next insert"
    harness.comms[0].reply(ok=False, message="a.ipynb is not loaded yet.")
    assert browser.feedback == f"Could not insert the BibTeX entry {browser.selected}: a.ipynb is not loaded yet."


def test_references_reads_the_cells_then_replaces_the_one_references_cell(
    browser: PaperBrowser, harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the kernel's folder: where references.bib goes
    browser.type_query("multitask failure detection")
    key = browser.selected
    title = browser.results.iloc[0]["title"]
    browser.style = "text"
    browser.update_references()
    (read,) = harness.comms
    assert read.request["action"] == "read"
    read.reply(
        ok=True,
        message="Read 3 cells",
        cells=[
            {"cell_type": "markdown", "source": f"As shown by [@{key}].", "metadata": {}},
            {"cell_type": "code", "source": "x = '[@NotCited]'", "metadata": {}},
            {
                "cell_type": "markdown",
                "source": "## References\n\n- [@OldOne]",
                "metadata": {"paper_widgets": {"role": "references"}},
            },
        ],
    )
    upsert = harness.comms[1].request
    assert (upsert["action"], upsert["role"], upsert["cell_type"]) == ("upsert", "references", "markdown")
    assert upsert["text"].startswith('## References\n\n<noframes class="paper-widgets-references">\n\n- ')
    assert title.split(":")[0] in upsert["text"] and "OldOne" not in upsert["text"] and "NotCited" not in upsert["text"]
    assert [entry.key for entry in bibtexparser.parse_string((tmp_path / "references.bib").read_text()).entries] == [
        key
    ]
    harness.comms[1].reply(ok=True, message="Updated the references cell of a.ipynb.")
    assert browser.feedback == "Done: Updated the references cell of a.ipynb."


def test_palette_command_function_uses_the_browser_shown_last(
    browser: PaperBrowser, harness: Harness, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    other = paper_widgets.Library.from_frame(pd.DataFrame({"title": ["Only Paper Here"], "abstract": ["x."]}))
    PaperBrowser(other)._repr_mimebundle_()
    browser._repr_mimebundle_()  # displayed last
    browser.style = "latex"
    key = browser.selected
    paper_widgets.update_references()
    harness.comms[0].reply(
        ok=True, message="", cells=[{"cell_type": "markdown", "source": f"[@{key}]", "metadata": {}}]
    )
    assert (
        harness.comms[1]
        .request["text"]
        .startswith(f'## References\n\n<noframes class="paper-widgets-references">\n\n- \\cite{{{key}}}: ')
    )
    assert f"@misc{{{key}," in (tmp_path / "references.bib").read_text(encoding="utf-8")


def test_failed_read_is_reported(browser: PaperBrowser, harness: Harness) -> None:
    browser.update_references()
    harness.comms[0].close()  # JupyterLab without the plugin
    assert len(harness.comms) == 1
    assert browser.feedback.startswith("Could not update the References cell: No paper-widgets JupyterLab extension")


def test_hostile_dump_text_is_escaped_everywhere_it_is_shown(harness: Harness) -> None:
    lib = paper_widgets.Library.from_frame(
        pd.DataFrame(
            {
                "title": [f"Attack {HOSTILE}"],
                "abstract": [f"Sentence one {HOSTILE}. See [x](javascript:alert(1)) now."],
                "authors": [["<b onmouseover=alert(1)>Eve</b>"]],
                "sources": [["<svg onload=alert(1)>.txt"]],
            }
        )
    )
    browser = PaperBrowser(lib)
    browser.type_query("attack")
    for pane in (browser.detail, browser._count.value, browser.list_html):
        assert "<script" not in pane and "<img" not in pane and "<b " not in pane and "<svg" not in pane
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in browser.detail
    assert "&lt;b onmouseover=alert(1)&gt;Eve&lt;/b&gt;" in browser.detail
    assert "href" not in browser.detail
    browser.type_query("script")
    assert '&lt;<mark class="pw-mark">script</mark>&gt;' in browser.detail
    browser.style = "cite"
    browser.cite()
    text = harness.comms[0].request["text"]
    # The label is the APA in-text citation: the hostile author name, shown as text.
    assert "<script" not in text and "<b " not in text and "</b>" not in text and "Eve&lt;/b&gt;" in text
    assert "<script" not in browser._feedback.value


def test_only_well_formed_http_links_are_rendered() -> None:
    row = pd.Series(
        {
            "key": "k",
            "title": "T",
            "abstract": "",
            "published": pd.NaT,
            "authors": [],
            "n_authors": pd.NA,
            "upvotes": pd.NA,
            "url": "javascript:alert(1)//https://huggingface.co/papers/1",
            "arxiv_id": '2401.00001"><x',
            "sources": [],
        }
    )
    assert "href" not in detail_html(row)
    good = row.copy()
    good["url"], good["arxiv_id"] = "https://huggingface.co/papers/2401.00001", "2401.00001"
    out = detail_html(good)
    assert 'href="https://huggingface.co/papers/2401.00001"' in out and 'href="https://arxiv.org/abs/2401.00001"' in out


def test_highlight_escapes_around_and_inside_marks() -> None:
    assert (
        highlight("a <b>bold</b> & more", "bold") == 'a &lt;b&gt;<mark class="pw-mark">bold</mark>&lt;/b&gt; &amp; more'
    )


def test_note_editor_saves_on_button_and_after_a_pause(lib: paper_widgets.Library, harness: Harness) -> None:
    browser = PaperBrowser(lib, autosave=0.1)
    key = browser.selected
    assert browser.note_state == "No note yet"
    browser.set_note_text("Key idea: *failure* scores.")
    assert browser.note_state == "Unsaved changes"
    assert lib.note(key) is None
    wait_for(lambda: browser.note_state.startswith("Saved "))
    assert lib.note(key) == "Key idea: *failure* scores."
    assert re.fullmatch(r"Saved \d\d:\d\d", browser.note_state)
    browser.set_note_text("Second thought.")
    browser.save_note()
    assert lib.note(key) == "Second thought." and browser.note_state.startswith("Saved ")


def test_switching_papers_saves_the_pending_note_to_the_paper_it_was_written_for(
    lib: paper_widgets.Library, harness: Harness
) -> None:
    browser = PaperBrowser(lib, autosave=60)
    first = browser.selected
    browser.set_note_text("About the first paper.")
    browser.select_next()
    second = browser.selected
    assert lib.note(first) == "About the first paper."
    assert lib.note(second) is None and browser._note.value == ""
    browser.select(first)
    assert browser._note.value == "About the first paper." and browser.note_state == "Saved"


def test_tags_and_status_are_stored_and_filter_the_results(browser: PaperBrowser) -> None:
    key = browser.selected
    browser.set_tags(["agents", "to-read"])
    assert browser.lib.tags(key) == ["agents", "to-read"]
    browser.set_tags(["agents"])
    assert browser.lib.tags(key) == ["agents"]
    browser.set_status("reading")
    assert browser.lib.status(key) == "reading"
    browser.select_next()
    browser.select_previous()
    assert (browser.tags, browser._status.value) == (["agents"], "reading")
    assert [chip.description for chip in browser._tag_chips.children] == ["agents ×"]
    browser.filter_tags = ["agents"]
    assert list(browser.results["key"]) == [key]
    browser.filter_tags = []
    browser.filter_status = "reading"
    assert list(browser.results["key"]) == [key]


def test_insert_note_writes_a_literature_note_template(browser: PaperBrowser, harness: Harness) -> None:
    browser.type_query("multitask failure detection")
    browser.set_note_text("Useful baseline.")
    browser.insert_note()
    text = harness.comms[0].request["text"]
    assert text.startswith("### SAFE: Multitask Failure Detection")
    assert "\n> " in text and f"— [@{browser.selected}]" in text
    assert text.rstrip().endswith("**Note:** Useful baseline.")


def test_export_notes_writes_markdown(browser: PaperBrowser, tmp_path: Path) -> None:
    browser.set_note_text("Exported thought.")
    path = browser.export_notes(tmp_path / "notes.md")
    assert "Exported thought." in path.read_text()
    assert browser.feedback == f"Exported the notes to {path}."


def test_opening_with_a_query_searches_once_for_it(lib: paper_widgets.Library, harness: Harness) -> None:
    searches: list[str] = []
    search = lib.search
    lib.search = lambda query, **kw: searches.append(query) or search(query, **kw)  # type: ignore[method-assign]
    browser = PaperBrowser(lib, query="multitask failure detection", debounce=0.05)
    time.sleep(0.2)  # longer than the debounce: nothing pending fires
    assert searches == ["multitask failure detection"]
    assert browser.results.iloc[0]["title"].startswith("SAFE: Multitask Failure Detection")


# -- issue 15: the widget as a researcher uses it ------------------------------------------------------


def test_keys_move_the_selection_page_cite_and_clear(lib: paper_widgets.Library, harness: Harness) -> None:
    browser = PaperBrowser(lib, page_size=5)
    keys = list(browser.results["key"])
    browser.press("ArrowDown")
    browser.press("ArrowDown")
    assert browser.selected == keys[2]
    browser.press("ArrowUp")
    assert browser.selected == keys[1]
    browser.press("End")
    assert browser.selected == keys[4]
    browser.press("Home")
    assert browser.selected == keys[0]
    browser.press("PageDown")
    assert browser.page == 1 and browser.selected == browser.results.iloc[0]["key"]
    browser.press("PageUp")
    assert browser.page == 0 and browser.selected == keys[0]
    browser._keys.value = "7 key ArrowDown"  # the plugin's message for ArrowDown in the search box
    assert browser.selected == keys[1]
    browser._keys.value = "8 key Enter"
    assert requests(harness)[0]["text"] == f"[@{keys[1]}]"
    browser.type_query("multitask failure detection")
    browser._keys.value = "9 key Escape"
    assert (browser.query, browser._search_box.value) == ("", "")
    browser._keys.value = "10 pick NoSuchKey"  # ignored, not an error in the kernel log
    browser._keys.value = "11 key Tab"
    assert browser.selected == browser.results.iloc[0]["key"]
    with pytest.raises(ValueError, match="key must be one of"):
        browser.press("Tab")


def test_common_words_are_not_highlighted(browser: PaperBrowser) -> None:
    browser.type_query("a failure detector for robot policies")
    marked = re.findall(r'<mark class="pw-mark">([^<]*)</mark>', browser.detail + browser.list_html)
    assert marked, "the telling words are marked"
    assert {"failure", "detector", "robot", "policies"} <= {word.lower() for word in marked}
    assert not {word.lower() for word in marked} & {"a", "for"}


def test_inserts_keep_reading_order_after_the_last_inserted_cell(browser: PaperBrowser, harness: Harness) -> None:
    browser.cite()
    browser.snippet()  # sent before the first is answered (a cell running cite(); snippet())
    browser.bibtex()
    first, second, third = requests(harness)
    assert "after" not in first, "the first insert goes below the browser's cell"
    assert re.fullmatch(r"pw-[0-9a-f]{16}", first["cell_id"])
    assert (second["after"], third["after"]) == (first["cell_id"], second["cell_id"])
    assert len({first["cell_id"], second["cell_id"], third["cell_id"]}) == 3


def test_snippet_at_the_cursor_is_its_own_paragraph(browser: PaperBrowser, harness: Harness) -> None:
    browser.type_query("multitask failure detection")
    browser.target = "cursor"
    browser.snippet()
    text = requests(harness)[0]["text"]
    assert text.startswith("\n\n> ") and text.endswith(f"— [@{browser.selected}]\n\n")


def test_status_line_belongs_to_the_selected_paper(browser: PaperBrowser, harness: Harness) -> None:
    first = browser.selected
    browser.snippet()
    assert browser.feedback == f"Inserting a snippet of {first}…"
    browser.select_next()
    assert browser.feedback == "", "picking another paper clears what was said about the last one"
    harness.comms[0].reply(ok=True, message="Inserted a new cell at position 3 of a.ipynb.")
    assert browser.feedback == "", "a late answer about the previous paper is not shown under this one"
    assert not any(button.disabled for button in browser._paper_buttons)


def test_a_note_changed_elsewhere_is_not_overwritten(lib: paper_widgets.Library, harness: Harness) -> None:
    browser = PaperBrowser(lib, autosave=60)
    key = browser.selected
    lib.set_note(key, "Written in another notebook.")  # after the editor loaded the (empty) note
    browser.set_note_text("Written here.")
    assert browser.save_note() is False
    assert lib.note(key) == "Written in another notebook."
    assert browser._note.value == "Written here." and browser.note_state == "Not saved: changed elsewhere"
    assert "changed elsewhere" in browser.feedback
    browser.reload_note()
    assert browser._note.value == "Written in another notebook." and browser.copy_text == "Written here."
    browser.set_note_text("Merged: both thoughts.")
    assert browser.save_note() is True and lib.note(key) == "Merged: both thoughts."
    history = [text for _when, text in browser.note_history]
    assert history[0] == "Written in another notebook." and history[-1] == "Merged: both thoughts."
    assert "Written here." in history, "the refused text is kept in the history too"
    assert f"Note history: {len(history)} versions" in browser._history.value


def test_export_notes_never_overwrites(browser: PaperBrowser, tmp_path: Path) -> None:
    (tmp_path / "literature_notes.md").write_text("my own file")
    browser.set_note_text("Exported thought.")
    first = browser.export_notes(tmp_path / "literature_notes.md")
    second = browser.export_notes(tmp_path / "literature_notes.md")
    assert (first.name, second.name) == ("literature_notes-2.md", "literature_notes-3.md")
    assert (tmp_path / "literature_notes.md").read_text() == "my own file"
    assert "Exported thought." in second.read_text()


def test_enter_commits_each_tag_and_the_box_stays_ready(browser: PaperBrowser) -> None:
    key = browser.selected
    browser._add_tag_box.value = "mtl"  # Enter (or Tab) commits what was typed
    assert browser._add_tag_box.value == ""
    browser._add_tag_box.value = "to-cite, later "
    assert browser.lib.tags(key) == ["later", "mtl", "to-cite"]
    browser._keys.value = "3 tag idea, mtl"  # the plugin's message for Enter in the tag box
    assert browser.tags == ["idea", "later", "mtl", "to-cite"]
    browser.remove_tag("idea")
    browser._tag_chips.children[0].click()  # the "later ×" chip
    assert browser.tags == ["mtl", "to-cite"]
    browser._filter_tags_box.value = "mtl, to-cite"
    assert list(browser.results["key"]) == [key] and browser.filter_tags == ["mtl", "to-cite"]


def test_every_trait_explains_itself_and_the_widget_uses_only_the_facade_and_the_bridge() -> None:
    import ast

    for name, trait in PaperBrowser.class_traits().items():
        if name in PaperBrowser.__dict__:
            assert trait.help, f"trait {name} has no help"
    allowed = {
        "paper_widgets",
        "paper_widgets.kernel",
        "paper_widgets.widget.html",
        "paper_widgets.kernel.session",
    }
    folder = Path(paper_widgets.__file__).parent / "widget"
    for module in folder.glob("*.py"):
        tree = ast.parse(module.read_text())
        imported = {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        ours = {name for name in imported if name.startswith("paper_widgets")}
        assert ours <= allowed, f"{module.name} imports internals: {ours - allowed}"
    browser_source = (folder / "browser.py").read_text()
    assert browser_source.count("kernel_session()") == 1, "one call site for the kernel's session"


def test_library_and_delivery_reprs_are_short_and_readable(lib: paper_widgets.Library) -> None:
    assert repr(lib) == "<Library: 145 papers from 2 sources>"
    shown = lib._repr_html_()
    assert "<b>Library</b>: 145 papers, 2020–2025 (110 undated), 0 with notes" in shown
    assert "<li>000_edcdd8834a053c0a.txt: 35</li>" in shown and "<li>001_d5cef83f63eea4ee.txt: 119</li>" in shown
    assert "load warning" not in shown
    from paper_widgets.kernel.bridge import Delivery

    delivery = Delivery({"action": "insert", "text": "x" * 500})
    assert (
        repr(delivery) == "<Delivery of insert: pending. Waiting for the paper-widgets JupyterLab extension to answer.>"
    )
    assert "xxx" not in delivery._repr_html_()


def test_load_warnings_show_as_one_summary_in_the_panel_and_the_repr(tmp_path: Path, harness: Harness) -> None:
    bad = tmp_path / "refs.bib"
    bad.write_text("@misc{ok, title={Fine <b>Entry</b>}}\n@misc{bad, title={never closed\n")
    with pytest.warns(paper_widgets.PaperWidgetsWarning):
        lib = paper_widgets.load(bad)
    browser = PaperBrowser(lib)
    panel = browser._warnings.value
    assert "1 problem while loading; everything else loaded" in panel
    assert f"<li>{html.escape(str(lib.warnings[0]))}</li>" in panel and "refs.bib, line 2" in panel
    assert "paper_widgets/" not in panel, "no internal source paths"
    assert "1 load warning" in lib._repr_html_() and repr(lib).endswith(", 1 warning>")
