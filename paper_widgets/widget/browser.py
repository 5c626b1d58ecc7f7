"""Browser stage: the PaperBrowser panel, built from core ipywidgets only (no extra widget bundle).

Search as you type (debounced), move through the results with the keyboard or the mouse, read a
paper, and insert its citation, a quoted snippet, its BibTeX entry or the notebook's References
section through the comm bridge; keep notes, tags and read status on it.  Every control has a
public programmatic twin (``cite()``, ``press("ArrowDown")``, ``add_tag()``, …) that tests call.

The panel talks only to the public facade (:class:`paper_widgets.Library`, ``update_references``)
and the comm bridge; it never builds citation text itself.  The result list is one HTML widget of
rows: the paper-widgets JupyterLab plugin turns clicks on a row and the search box's navigation
keys into short messages on a hidden text channel (``pw-keys``), and marks the panel so no key
pressed inside it reaches JupyterLab's notebook shortcuts.  Inserts are asynchronous: the plugin
answers after the callback that asked has returned, so outcomes reach the status line through
Delivery callbacks, and only while the paper they were about is still the one selected.
"""

from __future__ import annotations

import functools
import html
import itertools
import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import ipywidgets as widgets
import pandas as pd
from traitlets import Bool, Enum, Int, List, Tuple, Unicode, observe

from paper_widgets import Library, NoteConflict, load_default, update_references
from paper_widgets.kernel import bridge as _bridge
from paper_widgets.kernel.session import kernel_session
from paper_widgets.widget.html import STYLE_SHEET, detail_html, load_warnings_html, result_rows_html

__all__ = ["KEYS", "Debouncer", "PaperBrowser"]

TARGETS = (("New cell below", "below"), ("At the cursor", "cursor"))
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "upvotes": "Most upvoted"}
WINDOW = 200  # results fetched per search; paging past them fetches more (counts above show as "200+")
NOTES_FILE = "literature_notes.md"
#: Keys the search box and the result list act on (what :meth:`PaperBrowser.press` accepts).
KEYS = ("ArrowUp", "ArrowDown", "PageUp", "PageDown", "Home", "End", "Enter", "Escape")
NOTHING_SELECTED = "Nothing selected: search and pick a paper first."


class Debouncer:
    """Run the latest triggered action once things have been quiet for ``delay`` seconds.

    The action runs on a timer thread (ipykernel sends widget updates from any thread) under
    ``lock``; :meth:`flush` runs a pending action at once in the caller's thread.
    """

    def __init__(self, delay: float, lock: threading.RLock) -> None:
        self.delay = delay
        self._lock = lock
        self._guard = threading.Lock()
        self._pending: tuple[threading.Timer, Callable[[], object]] | None = None

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def trigger(self, action: Callable[[], object]) -> None:
        timer = threading.Timer(self.delay, lambda: self._fire(timer))
        timer.daemon = True
        with self._guard:
            if self._pending is not None:
                self._pending[0].cancel()
            self._pending = (timer, action)
        timer.start()

    def _take(self, timer: threading.Timer | None = None) -> Callable[[], object] | None:
        with self._guard:
            if self._pending is None or (timer is not None and self._pending[0] is not timer):
                return None  # superseded by a later trigger, or flushed already
            (pending_timer, action), self._pending = self._pending, None
        pending_timer.cancel()
        return action

    def _fire(self, timer: threading.Timer) -> None:
        action = self._take(timer)
        if action is not None:
            with self._lock:
                action()

    def flush(self) -> None:
        action = self._take()
        if action is not None:
            with self._lock:
                action()

    def cancel(self) -> None:
        self._take()


def _button(label: str, css: str, tooltip: str, action: Callable[[], object], **kwargs: Any) -> widgets.Button:
    button = widgets.Button(description=label, tooltip=tooltip, **kwargs)
    button.add_class(css)
    button.on_click(lambda _button: action())
    return button


_W = TypeVar("_W", bound=widgets.DOMWidget)


def _css(widget: _W, css: str) -> _W:
    widget.add_class(css)
    return widget


def _free_name(path: Path) -> Path:
    """``path``, or ``name-2.md``, ``name-3.md``, … : the first that does not exist yet."""
    candidates = itertools.chain([path], (path.with_name(f"{path.stem}-{n}{path.suffix}") for n in itertools.count(2)))
    return next(candidate for candidate in candidates if not candidate.exists())


def _tag_list(text: str) -> list[str]:
    """Tags typed into a box: comma-separated, blanks dropped, first occurrence kept."""
    return list(dict.fromkeys(tag.strip() for tag in text.split(",") if tag.strip()))


class PaperBrowser(widgets.VBox):  # type: ignore[misc]  # ipywidgets is untyped
    """Search, read, cite and annotate the papers of a :class:`~paper_widgets.Library` in a notebook.

    ``PaperBrowser(lib)`` shows ``lib``; without one, :func:`paper_widgets.load_default`.  Every
    control has a programmatic twin: :meth:`type_query`, :meth:`press`, :meth:`select`,
    :meth:`select_next`, :meth:`cite`, :meth:`snippet`, :meth:`bibtex`, :meth:`update_references`,
    :meth:`set_note_text`, :meth:`save_note`, :meth:`reload_note`, :meth:`add_tag`, :meth:`remove_tag`,
    :meth:`set_status`, :meth:`insert_note`, :meth:`export_notes`; filters and options are traits.
    """

    query = Unicode("", help="The query the results are for: the search box once typing paused (or Enter).")
    selected = Unicode(None, allow_none=True, help="Citekey of the selected paper, None when nothing matches.")
    style = Enum(
        Library.STYLES, default_value="pandoc", help="Citation style of Cite, Snippet, Insert note, References."
    )
    target = Enum(
        [value for _label, value in TARGETS],
        default_value="below",
        help="Where Cite and Snippet insert: 'below' (a new cell) or 'cursor' (the markdown cell being edited).",
    )
    sort = Enum(Library.SORTS, default_value="relevance", help="Result order: relevance, newest or upvotes.")
    year = Tuple(
        Int(), Int(), help="Inclusive (first, last) publication year; the library's full span means no filter."
    )
    include_undated = Bool(False, help="With a year filter, also list the papers whose date is unknown.")
    min_upvotes = Int(0, min=0, help="Only papers with at least this many upvotes (0: no filter).")
    filter_tags = List(Unicode(), help="Only papers carrying all of these tags.")
    filter_status = Unicode("", help="Only papers with this read status ('': any).")
    page = Int(0, min=0, help="Zero-based page of the results shown.")
    feedback = Unicode("", help="What the last action on the selected paper did, or why it could not (plain text).")
    note_state = Unicode("", help="Whether the note editor's text is saved: 'Saved 10:42', 'Unsaved changes', …")

    def __init__(
        self,
        lib: Library | None = None,
        *,
        query: str = "",
        style: str | None = None,
        page_size: int = 20,
        debounce: float = 0.2,
        autosave: float = 2.0,
        **kwargs: Any,
    ) -> None:
        self.lib = lib if lib is not None else load_default()
        self.page_size = page_size
        self._lock = threading.RLock()
        self._search_debounce = Debouncer(debounce, self._lock)
        self._autosave = Debouncer(autosave, self._lock)
        self._muted = 0  # >0 while the browser itself sets widget values its observers would react to
        self._results = pd.DataFrame()  # until the search below (lib.df would decompress every abstract)
        self._complete = True
        self._undated_hidden = (0, True)  # (papers, exact): undated matches the year filter hides
        self._note_key: str | None = None
        self._note_version = 0  # the version of the note the editor loaded or last saved: what a save may replace
        self._last_cell: str | None = None  # id of the cell this browser inserted last: the next goes after it
        self._years = self.lib.years or (datetime.now().year,) * 2
        super().__init__(**kwargs)
        self.year, self.style, self.query = self._years, style or self.lib.default_style, query
        self._build()
        self.add_class("paper-widgets")
        self._search_box.value = query
        self._search_debounce.cancel()  # the query is already set
        self._run_search()

    # -- layout ------------------------------------------------------------------------------------

    def _build(self) -> None:
        self._search_box = _css(
            widgets.Text(
                placeholder="Search titles and abstracts: ↑↓ pick, Enter cites, Esc clears",
                continuous_update=True,
                layout=widgets.Layout(flex="1 1 auto", width="auto"),
            ),
            "pw-search",
        )
        self._search_box.observe(self._on_typing, "value")
        self._search_box.on_msg(self._on_search_msg)  # the Text view sends {"event": "submit"} on Enter
        # The plugin's channel: "<n> key ArrowDown", "<n> pick <citekey>" or "<n> tag <tags typed>"
        # (n makes every message new).
        self._keys = _css(widgets.Text(continuous_update=True, layout=widgets.Layout(display="none")), "pw-keys")
        self._keys.observe(self._on_channel, "value")
        sort = _css(
            widgets.Dropdown(
                options=[(SORT_LABELS[s], s) for s in Library.SORTS],
                description="Sort",
                layout=widgets.Layout(width="200px"),
            ),
            "pw-sort",
        )
        lo, hi = self._years
        years = _css(
            widgets.IntRangeSlider(
                min=lo,
                max=hi,
                description="Years",
                continuous_update=False,
                disabled=lo == hi,
                layout=widgets.Layout(width="340px"),
            ),
            "pw-year",
        )
        undated = _css(
            widgets.Checkbox(description="Include undated", indent=False, layout=widgets.Layout(width="auto")),
            "pw-include-undated",
        )
        upvotes = _css(
            widgets.BoundedIntText(min=0, max=10**9, description="Min upvotes", layout=widgets.Layout(width="190px")),
            "pw-min-upvotes",
        )
        status = _css(
            widgets.Dropdown(
                options=[("Any", "")] + [(s.capitalize(), s) for s in Library.STATUSES],
                description="Status",
                layout=widgets.Layout(width="190px"),
            ),
            "pw-filter-status",
        )
        for control, trait in (
            (sort, "sort"),
            (years, "year"),
            (undated, "include_undated"),
            (upvotes, "min_upvotes"),
            (status, "filter_status"),
        ):
            widgets.link((self, trait), (control, "value"))  # the browser's values win at start
        self._filter_tags_box = _css(
            widgets.Text(
                description="Tags",
                placeholder="all of: mtl, to-cite",
                continuous_update=False,
                layout=widgets.Layout(width="260px"),
            ),
            "pw-filter-tags",
        )
        self._filter_tags_box.observe(self._on_filter_tags_typed, "value")

        self._count = _css(widgets.HTML(layout=widgets.Layout(flex="1 1 auto")), "pw-count")
        self._warnings = _css(widgets.HTML(load_warnings_html(self.lib.warnings)), "pw-warnings")
        small = widgets.Layout(width="auto")
        self._up = _button("", "pw-up", "Previous paper (↑)", self.select_previous, icon="arrow-up", layout=small)
        self._down = _button("", "pw-down", "Next paper (↓)", self.select_next, icon="arrow-down", layout=small)
        self._prev = _button("Prev", "pw-prev", "Previous page (PageUp)", self.previous_page, icon="chevron-left")
        self._next = _button("Next", "pw-next", "Next page (PageDown)", self.next_page, icon="chevron-right")
        for button in (self._prev, self._next):
            button.layout.width = "80px"
        self._list = _css(widgets.HTML(), "pw-results")
        self._detail = _css(widgets.HTML(), "pw-detail")

        style = _css(
            widgets.Dropdown(options=Library.STYLES, description="Style", layout=widgets.Layout(width="170px")),
            "pw-style",
        )
        target = _css(
            widgets.Dropdown(options=TARGETS, description="Insert", layout=widgets.Layout(width="230px")), "pw-target"
        )
        widgets.link((self, "style"), (style, "value"))
        widgets.link((self, "target"), (target, "value"))
        self._paper_buttons = [
            _button(
                "Cite",
                "pw-cite",
                "Insert the citation in the chosen style (or press Enter in the search box)",
                self.cite,
                button_style="primary",
            ),
            _button(
                "Snippet",
                "pw-snippet",
                "Insert the abstract sentences that best match the query, quoted and cited",
                self.snippet,
            ),
            _button("BibTeX", "pw-bibtex", "Insert the BibTeX entry as a raw cell below", self.bibtex),
        ]
        actions = widgets.HBox(
            [
                *self._paper_buttons,
                _button(
                    "References",
                    "pw-references",
                    "Create or update this notebook's one References cell",
                    self.update_references,
                ),
                style,
                target,
            ],
            layout=widgets.Layout(flex_flow="row wrap"),
        )
        self._feedback = _css(widgets.HTML(), "pw-feedback")
        self._copy = _css(
            widgets.Textarea(description="Copy:", layout=widgets.Layout(width="100%", height="90px", display="none")),
            "pw-copy",
        )

        self._note = _css(
            widgets.Textarea(
                placeholder="Your note on this paper (markdown); saved after a pause",
                continuous_update=True,
                layout=widgets.Layout(width="100%", height="80px"),
            ),
            "pw-note",
        )
        self._note.observe(self._on_note_typed, "value")
        self._note_label = _css(widgets.HTML(), "pw-note-state")
        self._history = _css(widgets.HTML(), "pw-note-history")
        self._tag_chips = _css(widgets.HBox(layout=widgets.Layout(flex_flow="row wrap")), "pw-tags")
        self._add_tag_box = _css(
            widgets.Text(
                placeholder="add tags (Enter; commas for several)",
                continuous_update=False,  # committed on Enter or when the box loses focus (Tab)
                layout=widgets.Layout(width="240px"),
            ),
            "pw-add-tag",
        )
        self._add_tag_box.observe(self._on_tag_typed, "value")
        self._status = _css(
            widgets.Dropdown(options=Library.STATUSES, description="Read status", layout=widgets.Layout(width="210px")),
            "pw-status",
        )
        self._status.observe(self._on_status, "value")
        save = _button("Save note", "pw-save-note", "Save the note now", self.save_note)
        reload = _button(
            "Reload note", "pw-reload-note", "Show the saved note (your text moves to the copy box)", self.reload_note
        )
        insert_note = _button(
            "Insert note",
            "pw-insert-note",
            "Insert a literature-note cell: title, citation, snippet and your note",
            self.insert_note,
        )
        self._paper_controls: list[widgets.DOMWidget] = [
            *self._paper_buttons,
            save,
            reload,
            insert_note,
            self._note,
            self._add_tag_box,
            self._status,
        ]
        notes = widgets.VBox(
            [
                widgets.HTML("<b>Your notes</b>"),
                self._note,
                widgets.HBox(
                    [save, reload, self._note_label, self._status],
                    layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
                ),
                widgets.HBox(
                    [self._tag_chips, self._add_tag_box],
                    layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
                ),
                self._history,
                widgets.HBox(
                    [
                        insert_note,
                        _button(
                            "Export notes",
                            "pw-export-notes",
                            f"Write all notes to {NOTES_FILE} (a new name if it exists)",
                            self.export_notes,
                        ),
                    ]
                ),
            ]
        )
        self.children = [
            _css(widgets.HTML(STYLE_SHEET, layout=widgets.Layout(display="none")), "pw-style-sheet"),
            self._keys,
            widgets.HBox([self._search_box, sort]),
            widgets.HBox(
                [years, undated, upvotes, status, self._filter_tags_box], layout=widgets.Layout(flex_flow="row wrap")
            ),
            widgets.HBox(
                [self._count, self._up, self._down, self._prev, self._next], layout=widgets.Layout(align_items="center")
            ),
            self._warnings,
            _css(widgets.Box([self._list, self._detail]), "pw-panes"),
            actions,
            self._feedback,
            self._copy,
            notes,
        ]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        kernel_session().register(
            self.lib, lambda: self.style
        )  # the palette's "Update References" cites from the browser shown last
        return super()._repr_mimebundle_(**kwargs)

    # -- searching and paging ----------------------------------------------------------------------

    def type_query(self, text: str) -> None:
        """Type ``text`` into the search box and search at once (no debounce)."""
        self._search_box.value = text
        self._search_debounce.flush()

    def clear(self) -> None:
        """Empty the search box and show every paper (Escape in the search box)."""
        self.type_query("")

    def _on_typing(self, change: dict[str, Any]) -> None:
        text = change["new"]
        self._search_debounce.trigger(lambda: setattr(self, "query", text))

    def _on_search_msg(self, _widget: widgets.Widget, content: dict[str, Any], _buffers: object) -> None:
        if content.get("event") == "submit":
            self.press("Enter")

    def press(self, key: str) -> None:
        """What pressing ``key`` (one of :data:`KEYS`) in the search box or the result list does.

        Up/Down move the selection (across pages), PageUp/PageDown change page, Home/End pick the
        page's first/last paper, Enter cites the selected paper, Escape clears the search.
        """
        if key not in KEYS:
            raise ValueError(f"key must be one of {', '.join(KEYS)}, not {key!r}")
        with self._lock:  # after a search running on the timer thread, if any
            self._search_debounce.flush()  # act on the results for the text as typed
            if key == "Escape":
                self.clear()
                return
            if key == "Enter":
                self.cite()
                return
            keys = self._page_keys()
            actions: dict[str, Callable[[], None]] = {
                "ArrowDown": self.select_next,
                "ArrowUp": self.select_previous,
                "PageDown": self.next_page,
                "PageUp": self.previous_page,
                "Home": lambda: self.select(keys[0] if keys else None),
                "End": lambda: self.select(keys[-1] if keys else None),
            }
            actions[key]()

    def _on_channel(self, change: dict[str, Any]) -> None:
        _number, _space, message = change["new"].partition(" ")
        kind, _space, value = message.partition(" ")
        if kind == "key" and value in KEYS:
            self.press(value)
        elif kind == "pick" and value in self.lib:
            self.select(value)
        elif kind == "tag":
            self.add_tag(*_tag_list(value))

    def _on_filter_tags_typed(self, change: dict[str, Any]) -> None:
        if not self._muted:
            self.filter_tags = _tag_list(change["new"])

    @observe("filter_tags")
    def _on_filter_tags(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_filter_tags_box"):
            self._muted += 1
            try:
                self._filter_tags_box.value = ", ".join(change["new"])
            finally:
                self._muted -= 1

    @observe("query", "sort", "year", "include_undated", "min_upvotes", "filter_tags", "filter_status")
    def _on_search_change(self, _change: dict[str, Any]) -> None:
        if hasattr(self, "_list"):  # not while __init__ sets the initial values
            self._run_search()

    def _year_span(self) -> tuple[int, int] | None:
        """The year filter, None when the slider spans every dated paper (undated ones then show too)."""
        span = (int(self.year[0]), int(self.year[1]))
        return None if span == self._years else span

    def _search(self, limit: int, **extra: Any) -> pd.DataFrame:
        return self.lib.search(
            self.query,
            limit=limit,
            sort=self.sort,
            min_upvotes=self.min_upvotes or None,
            tags=list(self.filter_tags) or None,
            status=self.filter_status or None,
            **extra,
        )

    def _fetch(self, limit: int) -> None:
        span = self._year_span()
        if span is None or not self.include_undated:
            self._results = self._search(limit, year=span)
            self._complete = len(self._results) < limit
            return
        # The engine's year filter drops undated papers: filter here, fetching wider until enough pass.
        fetch = limit
        while True:
            found = self._search(fetch)
            years = found["published"].dt.year
            self._results = found[years.isna() | years.between(*span)]
            self._complete = len(found) < fetch
            if self._complete or len(self._results) >= limit:
                return
            fetch *= 4

    def _count_undated_hidden(self) -> None:
        if self._year_span() is None or self.include_undated:
            self._undated_hidden = (0, True)
            return
        found = self._search(WINDOW)
        self._undated_hidden = (int(found["published"].isna().sum()), len(found) < WINDOW)

    def _run_search(self) -> None:
        """Search with the current query, filters and sort; show page one with the best match selected."""
        with self._lock:
            self._fetch(max(WINDOW, self.page_size + 1))
            self._count_undated_hidden()
            self._muted += 1
            try:
                self.page = 0
            finally:
                self._muted -= 1
            self._show_page()

    @observe("page")
    def _on_page(self, _change: dict[str, Any]) -> None:
        if not self._muted:
            self._show_page()

    def _page_rows(self) -> pd.DataFrame:
        start = self.page * self.page_size
        return self._results.iloc[start : start + self.page_size]

    def _count_label(self, shown: int) -> str:
        total, query = len(self._results), self.query.strip()
        of = f"{total:,}" if self._complete else f"{total:,}+"
        if not total:
            label = f"No papers match “{query}”" if query else "No papers"
        else:
            noun = "paper" if of == "1" else "papers"
            label = f"{of} {noun} match “{query}”" if query else f"{of} {noun}"
            if total > self.page_size or self.page:
                start = self.page * self.page_size
                label += f" · showing {start + 1:,}–{start + shown:,}"
        hidden, exact = self._undated_hidden
        if hidden:
            label += f" · the year filter hides {hidden:,}{'' if exact else '+'} undated (tick “Include undated”)"
        return label

    def _show_page(self, select_last: bool = False) -> None:
        with self._lock:
            end = (self.page + 1) * self.page_size
            if not self._complete and end >= len(self._results):
                self._fetch(end + WINDOW)  # lazy: only what paging reached, plus a window
            rows = self._page_rows()
            self._count.value = html.escape(self._count_label(len(rows)))
            self._prev.disabled = self.page == 0
            self._next.disabled = self._complete and end >= len(self._results)
            keys = rows["key"].tolist()
            self.select(keys[-1 if select_last else 0] if keys else None)

    def next_page(self) -> None:
        """Show the next page of results, its first paper selected (PageDown)."""
        if not self._next.disabled:
            self.page += 1

    def previous_page(self) -> None:
        """Show the previous page of results, its first paper selected (PageUp)."""
        if self.page > 0:
            self.page -= 1

    @property
    def results(self) -> pd.DataFrame:
        """The papers on the page shown (``lib.df`` rows plus ``score``)."""
        return self._page_rows()

    @property
    def count_text(self) -> str:
        """The match count line, e.g. "145 papers · showing 1–20"."""
        return html.unescape(self._count.value)

    @property
    def list_html(self) -> str:
        """The result list's HTML (one ``pw-row`` per paper on the page)."""
        return str(self._list.value)

    # -- selection ---------------------------------------------------------------------------------

    def select(self, key: str | None) -> None:
        """Select paper ``key`` (None: nothing); the list, detail pane and note editor follow (a click on a row)."""
        if key is not None and key not in self.lib:
            self.lib[key]  # raises the KeyError naming the closest keys
        if key == self.selected:
            self._show_selected()
        else:
            self.selected = key

    def _page_keys(self) -> list[str]:
        return [str(key) for key in self._page_rows()["key"]]

    def select_next(self) -> None:
        """Select the next result, moving to the next page after the last one (ArrowDown)."""
        keys = self._page_keys()
        position = keys.index(self.selected) if self.selected in keys else -1
        if position + 1 < len(keys):
            self.select(keys[position + 1])
        else:
            self.next_page()

    def select_previous(self) -> None:
        """Select the previous result, moving to the previous page's last one before the first (ArrowUp)."""
        keys = self._page_keys()
        position = keys.index(self.selected) if self.selected in keys else len(keys)
        if position > 0:
            self.select(keys[position - 1])
        elif self.page > 0:
            with self._lock:
                self._muted += 1
                try:
                    self.page -= 1
                finally:
                    self._muted -= 1
                self._show_page(select_last=True)

    @observe("selected")
    def _on_selected(self, _change: dict[str, Any]) -> None:
        self._show_selected()

    def _selected_row(self) -> pd.Series | None:
        if self.selected is None:
            return None
        page, keys = self._page_rows(), self._page_keys()
        # The page's row has the search score; a paper picked from elsewhere comes from the library.
        return page.iloc[keys.index(self.selected)] if self.selected in keys else self.lib[self.selected]

    def _show_selected(self) -> None:
        with self._lock:
            self._autosave.flush()  # a note typed for the previous paper is saved to that paper
            key = self.selected
            self._muted += 1
            try:
                query = self.query.strip()
                empty = f"No papers match “{query}”." if query else "No papers."
                if self._year_span() or self.min_upvotes or self.filter_tags or self.filter_status:
                    empty += " Try fewer filters."
                self._list.value = result_rows_html(self._page_rows(), self.query, key, empty)
                row = self._selected_row()
                self._detail.value = (
                    '<div class="pw-empty">Pick a paper to read it here.</div>'
                    if row is None
                    else detail_html(row, self.query)
                )
                self._note_key = key
                self._note_version = self.lib.note_version(key) if key else 0
                self._note.value = (self.lib.note(key) or "") if key else ""
                self._status.value = self.lib.status(key) if key else Library.STATUSES[0]
                self._show_tags()
                self._show_history()
                for control in self._paper_controls:
                    control.disabled = key is None
            finally:
                self._muted -= 1
            self.feedback = ""  # what was said about the previous paper no longer applies
            self._show_copy(None)
            self.note_state = "" if key is None else "Saved" if self._note.value else "No note yet"

    @property
    def detail(self) -> str:
        """The detail pane's HTML."""
        return str(self._detail.value)

    # -- inserting into the notebook ---------------------------------------------------------------

    @observe("feedback")
    def _on_feedback(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_feedback"):
            self._feedback.value = html.escape(change["new"])

    def _show_copy(self, text: str | None) -> None:
        self._copy.value = text or ""
        self._copy.layout.display = None if text else "none"

    @property
    def copy_text(self) -> str | None:
        """The text offered for copying when no JupyterLab extension answered (or a note could not be saved)."""
        return str(self._copy.value) if self._copy.layout.display != "none" else None

    def _need_selection(self) -> str | None:
        if self.selected is None:
            self.feedback = NOTHING_SELECTED
        return self.selected

    def _insert(
        self, key: str, text: str, what: str, *, cell_type: str = "markdown", where: str = "below"
    ) -> _bridge.Delivery:
        self._show_copy(None)
        self.feedback = f"Inserting {what}…"

        def report(delivery: _bridge.Delivery) -> None:
            if self.selected != key:
                return  # the user moved on: a late answer must not describe another paper
            if delivery.status == "ok":
                self.feedback = f"Inserted {what}. {delivery.message}"
            elif delivery.status == "failed":
                self.feedback = f"Could not insert {what}: {delivery.message}"
            else:
                self.feedback = f"Could not insert {what}. {delivery.message}"
                self._show_copy(text)

        # Named here, not by the answer: a second insert sent before the first is answered goes after it.
        cell_id, after = f"pw-{uuid.uuid4().hex[:16]}", self._last_cell
        self._last_cell = cell_id
        return _bridge.insert(text, cell_type=cell_type, where=where, after=after, cell_id=cell_id, on_done=report)

    def cite(self) -> _bridge.Delivery | None:
        """Insert the selected paper's citation in :attr:`style` at :attr:`target` (the Cite button, Enter)."""
        key = self._need_selection()
        if key is None:
            return None
        citation = self.lib.cite(key, self.style, markdown=True)
        # At the cursor the citation continues the sentence being written (a new cell drops the space).
        text = " " + citation if self.target == "cursor" else citation
        return self._insert(key, text, f"citation {citation}", where=self.target)

    def snippet(self) -> _bridge.Delivery | None:
        """Insert the abstract sentences that best match :attr:`query`, quoted and cited (the Snippet button)."""
        key = self._need_selection()
        if key is None:
            return None
        text = self.lib.snippet(key, self.query or None, style=self.style)
        if self.target == "cursor":
            text = f"\n\n{text}\n"  # a blockquote is a paragraph of its own, whatever the cursor is in
        return self._insert(key, text, f"a snippet of {key}", where=self.target)

    def bibtex(self) -> _bridge.Delivery | None:
        """Insert the selected paper's BibTeX entry as a raw cell below (the BibTeX button)."""
        key = self._need_selection()
        if key is None:
            return None
        # A raw cell: never executed or rendered, and nbconvert passes it through verbatim.
        return self._insert(key, self.lib.to_bibtex([key]), f"the BibTeX entry {key}", cell_type="raw")

    def update_references(self) -> _bridge.Delivery:
        """Create or replace the notebook's one References cell (the References button)."""
        self._show_copy(None)
        self.feedback = "Updating the References cell…"

        def report(delivery: _bridge.Delivery) -> None:
            verb = "Done" if delivery.status == "ok" else "Could not update the References cell"
            self.feedback = f"{verb}: {delivery.message}"

        return update_references(self.lib, self.style, on_done=report)

    # -- notes, tags and read status ---------------------------------------------------------------

    @observe("note_state")
    def _on_note_state(self, change: dict[str, Any]) -> None:
        if hasattr(self, "_note_label"):
            self._note_label.value = f"<i>{html.escape(change['new'])}</i>"

    def _on_note_typed(self, change: dict[str, Any]) -> None:
        if self._muted or self._note_key is None:
            return
        key, text = self._note_key, change["new"]
        self.note_state = "Unsaved changes"
        self._autosave.trigger(lambda: self._save_note(key, text))

    def _save_note(self, key: str, text: str) -> bool:
        """Save ``text`` on ``key`` unless the stored note changed since the editor loaded it."""
        try:
            version = self.lib.set_note(key, text, expected=self._note_version if key == self._note_key else None)
        except NoteConflict:
            self.note_state = "Not saved: changed elsewhere"
            self.feedback = (
                f"Not saved: the note on {key} was changed elsewhere (another notebook or kernel) since you "
                "opened it. Your text is still in the editor; Reload note shows the saved one and puts yours "
                "in the copy box."
            )
            return False
        if key == self._note_key:
            self._note_version = version
            self._show_history()
            if self._note.value == text:
                self.note_state = f"Saved {datetime.now():%H:%M}"
        return True

    def save_note(self) -> bool:
        """Save the note editor's text on the selected paper now (the Save note button); False if refused."""
        self._autosave.cancel()
        if self._note_key is None:
            self.feedback = NOTHING_SELECTED
            return False
        return self._save_note(self._note_key, self._note.value)

    def reload_note(self) -> None:
        """Show the saved note in the editor; unsaved text moves to the copy box, never lost (Reload note)."""
        self._autosave.cancel()
        key = self._note_key
        if key is None:
            return
        mine, saved = self._note.value, self.lib.note(key) or ""
        self._muted += 1
        try:
            self._note_version, self._note.value = self.lib.note_version(key), saved
        finally:
            self._muted -= 1
        self._show_history()
        self.note_state = "Saved" if saved else "No note yet"
        if mine != saved:
            self._show_copy(mine)
            self.feedback = "Reloaded the saved note; the text you had typed is in the copy box."

    def set_note_text(self, text: str) -> None:
        """Type ``text`` into the note editor (it autosaves after a pause, like typing does)."""
        self._note.value = text

    @property
    def note_history(self) -> list[tuple[datetime, str]]:
        """Every saved version of the selected paper's note, oldest first (shown under the editor)."""
        return self.lib.note_history(self._note_key) if self._note_key else []

    def _show_history(self) -> None:
        versions = self.note_history
        if not versions:
            self._history.value = ""
            return
        items = "".join(
            f"<li><b>{when:%Y-%m-%d %H:%M} UTC</b>: {html.escape(text[:200])}{'…' * (len(text) > 200)}</li>"
            for when, text in reversed(versions)
        )
        plural = "s" * (len(versions) != 1)
        self._history.value = (
            f'<details class="tex2jax_ignore"><summary>Note history: {len(versions)} version{plural}</summary>'
            f"<ol reversed>{items}</ol></details>"
        )

    @property
    def tags(self) -> list[str]:
        """The selected paper's tags."""
        return self.lib.tags(self._note_key) if self._note_key else []

    def _show_tags(self) -> None:
        chips = []
        for tag in self.tags:
            chip = _button(f"{tag} ×", "pw-tag", f"Remove the tag {tag}", functools.partial(self.remove_tag, tag))
            chip.layout.width = "auto"
            chips.append(chip)
        self._tag_chips.children = chips

    def add_tag(self, *tags: str) -> None:
        """Add ``tags`` to the selected paper (typing them into the tag box and pressing Enter)."""
        wanted = [tag.strip() for tag in tags if tag.strip()]
        if self._note_key is None or not wanted:
            return
        self.lib.tag(self._note_key, *wanted)
        self._show_tags()

    def remove_tag(self, tag: str) -> None:
        """Remove ``tag`` from the selected paper (its × chip)."""
        if self._note_key is not None:
            self.lib.untag(self._note_key, tag)
            self._show_tags()

    def set_tags(self, tags: list[str]) -> None:
        """Make ``tags`` exactly the selected paper's tags."""
        before, after = set(self.tags), set(tags)
        if self._note_key is None:
            return
        if before - after:
            self.lib.untag(self._note_key, *sorted(before - after))
        self.add_tag(*sorted(after - before))
        self._show_tags()

    def _on_tag_typed(self, change: dict[str, Any]) -> None:
        if self._muted or not change["new"].strip():
            return
        self.add_tag(*_tag_list(change["new"]))
        self._muted += 1
        try:
            self._add_tag_box.value = ""  # ready for the next tag
        finally:
            self._muted -= 1

    def _on_status(self, change: dict[str, Any]) -> None:
        if not self._muted and self._note_key is not None:
            self.lib.set_status(self._note_key, change["new"])

    def set_status(self, status: str) -> None:
        """Set the selected paper's read status: unread, reading or read (the Read status dropdown)."""
        self._status.value = status

    def insert_note(self) -> _bridge.Delivery | None:
        """Insert a literature-note cell for the selected paper: title, snippet with citation, your note."""
        key = self._need_selection()
        if key is None:
            return None
        self._autosave.flush()
        text = self.lib.literature_note(key, self.query or None, self.style)
        return self._insert(key, text, f"a literature note on {key}")

    def export_notes(self, path: str | Path = NOTES_FILE) -> Path:
        """Write every note of the library to ``path``, or to ``name-2.md``, … when it exists (never overwrites)."""
        self._autosave.flush()
        target = _free_name(Path(path).resolve())
        self.lib.export_notes(target)
        self.feedback = f"Exported the notes to {target}."
        return target
