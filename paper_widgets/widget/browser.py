"""Browser stage: the PaperBrowser panel, built from core ipywidgets only (no extra widget bundle).

Search as you type (debounced), pick a paper, read it, and insert its citation, a quoted snippet,
its BibTeX entry or the notebook's References section through the comm bridge; keep notes, tags
and read status on it.  Every button calls a public method (``cite()``, ``snippet()``, …) that
tests call directly.  Inserts are asynchronous: the JupyterLab plugin answers after the callback
that asked has returned, so outcomes reach the feedback line through Delivery callbacks.
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
from traitlets import Enum, Int, List, Tuple, Unicode, observe

from paper_widgets.kernel import bridge as _bridge
from paper_widgets.kernel.references_cell import update_references
from paper_widgets.kernel.session import kernel_session
from paper_widgets.library import Library, load_default
from paper_widgets.output.cite import escape_markdown, markdown_citation, snippet, unknown_key
from paper_widgets.output.export import to_bibtex
from paper_widgets.vocabulary import SORTS, STATUSES, STYLES
from paper_widgets.widget.html import detail_html, result_label

__all__ = ["Debouncer", "PaperBrowser"]

TARGETS = (("New cell below", "below"), ("At the cursor", "cursor"))
SORT_LABELS = {"relevance": "Relevance", "newest": "Newest", "upvotes": "Most upvoted"}
WINDOW = 200  # results fetched per search; paging past them fetches more (counts above show as "200+")
NOTES_FILE = "literature_notes.md"


class Debouncer:
    """Run the latest triggered action once things have been quiet for ``delay`` seconds.

    The action runs on a timer thread (ipykernel sends widget updates from any thread) under
    ``lock``; :meth:`flush` runs a pending action at once in the caller's thread.
    """

    def __init__(self, delay: float, lock: threading.RLock) -> None:
        self.delay = delay
        self._lock = lock
        self._guard = threading.Lock()
        self._pending: tuple[threading.Timer, Callable[[], None]] | None = None

    @property
    def pending(self) -> bool:
        return self._pending is not None

    def trigger(self, action: Callable[[], None]) -> None:
        timer = threading.Timer(self.delay, lambda: self._fire(timer))
        timer.daemon = True
        with self._guard:
            if self._pending is not None:
                self._pending[0].cancel()
            self._pending = (timer, action)
        timer.start()

    def _take(self, timer: threading.Timer | None = None) -> Callable[[], None] | None:
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


def _css(widget: widgets.DOMWidget, css: str) -> widgets.DOMWidget:
    widget.add_class(css)
    return widget


class PaperBrowser(widgets.VBox):
    """Search, read, cite and annotate the papers of a :class:`~paper_widgets.Library` in a notebook.

    ``PaperBrowser(lib)`` shows ``lib``; without one, :func:`paper_widgets.load_default`.
    Every control has a programmatic twin: :meth:`type_query`, :meth:`select`, :meth:`select_next`,
    :meth:`cite`, :meth:`snippet`, :meth:`bibtex`, :meth:`update_references`, :meth:`save_note`, …
    """

    query = Unicode("", help="The query the results are for: the search box once typing paused (or Enter).")
    selected = Unicode(None, allow_none=True, help="Citekey of the selected paper, None when nothing matches.")
    style = Enum(STYLES, default_value="pandoc", help="Citation style of Cite, Snippet, Insert note and References.")
    target = Enum(
        [value for _label, value in TARGETS],
        default_value="below",
        help="Where Cite and Snippet insert: 'below' (a new cell) or 'cursor' (the markdown cell being edited).",
    )
    sort = Enum(SORTS, default_value="relevance", help="Result order: relevance, newest or upvotes.")
    year = Tuple(
        Int(), Int(), help="Inclusive (first, last) publication year; the library's full span means no filter."
    )
    min_upvotes = Int(0, min=0, help="Only papers with at least this many upvotes (0: no filter).")
    filter_tags = List(Unicode(), help="Only papers carrying all of these tags.")
    filter_status = Unicode("", help="Only papers with this read status ('' : any).")
    page = Int(0, min=0, help="Zero-based page of the results shown.")
    feedback = Unicode("", help="What the last action did, or why it could not (plain text).")
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
        self._results = self.lib.df.iloc[:0]
        self._complete = True
        self._note_key: str | None = None
        years = self.lib.df["published"].dropna().dt.year
        self._years = (int(years.min()), int(years.max())) if len(years) else (datetime.now().year,) * 2
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
                placeholder="Search titles and abstracts — Enter cites the selected paper",
                continuous_update=True,
                layout=widgets.Layout(flex="1 1 auto", width="auto"),
            ),
            "pw-search",
        )
        self._search_box.observe(self._on_typing, "value")
        self._search_box.on_msg(self._on_search_msg)  # the Text view sends {"event": "submit"} on Enter
        sort = _css(
            widgets.Dropdown(
                options=[(SORT_LABELS[s], s) for s in SORTS], description="Sort", layout=widgets.Layout(width="200px")
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
                layout=widgets.Layout(width="360px"),
            ),
            "pw-year",
        )
        upvotes = _css(
            widgets.BoundedIntText(min=0, max=10**9, description="Min ▲", layout=widgets.Layout(width="160px")),
            "pw-min-upvotes",
        )
        tags = _css(widgets.TagsInput(allow_duplicates=False, placeholder="filter by tag"), "pw-filter-tags")
        status = _css(
            widgets.Dropdown(
                options=[("Any status", "")] + [(s.capitalize(), s) for s in STATUSES],
                layout=widgets.Layout(width="120px"),
            ),
            "pw-filter-status",
        )
        for control, trait in (
            (sort, "sort"),
            (years, "year"),
            (upvotes, "min_upvotes"),
            (tags, "filter_tags"),
            (status, "filter_status"),
        ):
            widgets.link((self, trait), (control, "value"))  # the browser's values win at start

        self._count = _css(widgets.HTML(), "pw-count")
        self._prev = _button(
            "Prev",
            "pw-prev",
            "Previous page of results",
            self.previous_page,
            icon="chevron-left",
            layout=widgets.Layout(width="80px"),
        )
        self._next = _button(
            "Next",
            "pw-next",
            "Next page of results",
            self.next_page,
            icon="chevron-right",
            layout=widgets.Layout(width="80px"),
        )
        self._list = _css(
            widgets.Select(layout=widgets.Layout(width="auto", height="340px", flex="2 1 0")), "pw-results"
        )
        self._list.observe(self._on_list_pick, "value")
        self._detail = _css(
            widgets.HTML(layout=widgets.Layout(flex="3 1 0", height="340px", overflow="auto", padding="0 8px")),
            "pw-detail",
        )

        style = _css(
            widgets.Dropdown(options=STYLES, description="Style", layout=widgets.Layout(width="170px")), "pw-style"
        )
        target = _css(
            widgets.Dropdown(options=TARGETS, description="Insert", layout=widgets.Layout(width="230px")), "pw-target"
        )
        widgets.link((self, "style"), (style, "value"))
        widgets.link((self, "target"), (target, "value"))
        actions = widgets.HBox(
            [
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
        self._tags = _css(widgets.TagsInput(allow_duplicates=False, placeholder="add a tag"), "pw-tags")
        self._tags.observe(self._on_tags, "value")
        self._status = _css(
            widgets.Dropdown(options=STATUSES, description="Status", layout=widgets.Layout(width="180px")), "pw-status"
        )
        self._status.observe(self._on_status, "value")
        notes = widgets.VBox(
            [
                widgets.HTML("<b>Your notes</b>"),
                self._note,
                widgets.HBox(
                    [
                        _button("Save note", "pw-save-note", "Save the note now", self.save_note),
                        self._note_label,
                        self._status,
                        self._tags,
                    ],
                    layout=widgets.Layout(align_items="center", flex_flow="row wrap"),
                ),
                widgets.HBox(
                    [
                        _button(
                            "Insert note",
                            "pw-insert-note",
                            "Insert a literature-note cell: title, citation, snippet and your note",
                            self.insert_note,
                        ),
                        _button(
                            "Export notes", "pw-export-notes", f"Write all notes to {NOTES_FILE}", self.export_notes
                        ),
                    ]
                ),
            ]
        )
        self.children = [
            widgets.HBox([self._search_box, sort]),
            widgets.HBox([years, upvotes, status, tags], layout=widgets.Layout(flex_flow="row wrap")),
            widgets.HBox([self._count, self._prev, self._next], layout=widgets.Layout(align_items="center")),
            widgets.HBox([self._list, self._detail]),
            actions,
            self._feedback,
            self._copy,
            notes,
        ]

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        kernel_session().register(self.lib, lambda: self.style)  # the palette's "Update References" cites from this one
        return super()._repr_mimebundle_(**kwargs)

    # -- searching and paging ----------------------------------------------------------------------

    def type_query(self, text: str) -> None:
        """Type ``text`` into the search box and search at once (no debounce)."""
        self._search_box.value = text
        self._search_debounce.flush()

    def _on_typing(self, change: dict[str, Any]) -> None:
        text = change["new"]
        self._search_debounce.trigger(lambda: setattr(self, "query", text))

    def _on_search_msg(self, _widget: widgets.Widget, content: dict[str, Any], _buffers: object) -> None:
        if content.get("event") == "submit":
            with self._lock:  # after a search running on the timer thread, if any
                self._search_debounce.flush()  # cite the best match for the text as typed
                self.cite()

    @observe("query", "sort", "year", "min_upvotes", "filter_tags", "filter_status")
    def _on_search_change(self, _change: dict[str, Any]) -> None:
        if hasattr(self, "_list"):  # not while __init__ sets the initial values
            self._run_search()

    def _filters(self) -> dict[str, Any]:
        return {
            "sort": self.sort,
            "year": None if tuple(self.year) == self._years else tuple(self.year),  # full span keeps undated papers
            "min_upvotes": self.min_upvotes or None,
            "tags": list(self.filter_tags) or None,
            "status": self.filter_status or None,
        }

    def _fetch(self, limit: int) -> None:
        self._results = self.lib.search(self.query, limit=limit, **self._filters())
        self._complete = len(self._results) < limit

    def _run_search(self) -> None:
        """Search with the current query, filters and sort; show page one with the best match selected."""
        with self._lock:
            self._fetch(max(WINDOW, self.page_size + 1))
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

    def _show_page(self, select_last: bool = False) -> None:
        with self._lock:
            end = (self.page + 1) * self.page_size
            if not self._complete and end >= len(self._results):
                self._fetch(end + WINDOW)  # lazy: only what paging reached, plus a window
            rows = self._page_rows()
            options = [(result_label(row), row["key"]) for _, row in rows.iterrows()]
            self._muted += 1
            try:
                with self._list.hold_sync():
                    self._list.options = options
                    self._list.value = None
            finally:
                self._muted -= 1
            total = len(self._results)
            start = self.page * self.page_size
            of = f"{total:,}" if self._complete else f"{total:,}+"
            label = (
                f"Showing {start + 1:,}–{start + len(rows):,} of {of}"
                if total
                else "No papers match" + ("" if not self.query.strip() else f" “{self.query.strip()}”")
            )
            self._count.value = html.escape(label)
            self._prev.disabled = self.page == 0
            self._next.disabled = self._complete and end >= total
            keys = [key for _label, key in options]
            self.select(keys[-1 if select_last else 0] if keys else None)

    def next_page(self) -> None:
        """Show the next page of results (its first paper selected)."""
        if not self._next.disabled:
            self.page += 1

    def previous_page(self) -> None:
        """Show the previous page of results (its first paper selected)."""
        if self.page > 0:
            self.page -= 1

    @property
    def results(self) -> pd.DataFrame:
        """The papers on the page shown (``lib.df`` rows plus ``score``)."""
        return self._page_rows()

    @property
    def count_text(self) -> str:
        """The match count line, e.g. "Showing 1–20 of 145"."""
        return html.unescape(self._count.value)

    # -- selection ---------------------------------------------------------------------------------

    def select(self, key: str | None) -> None:
        """Select paper ``key`` (None: nothing); the list, detail pane and note editor follow."""
        if key is not None and key not in self.lib:
            raise unknown_key(key, self.lib.df["key"])
        if key == self.selected:
            self._show_selected()
        else:
            self.selected = key

    def _page_keys(self) -> list[str]:
        return [key for _label, key in self._list.options]

    def select_next(self) -> None:
        """Select the next result, moving to the next page after the last one."""
        keys = self._page_keys()
        position = keys.index(self.selected) if self.selected in keys else -1
        if position + 1 < len(keys):
            self.select(keys[position + 1])
        else:
            self.next_page()

    def select_previous(self) -> None:
        """Select the previous result, moving to the previous page's last one before the first."""
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

    def _on_list_pick(self, change: dict[str, Any]) -> None:
        if not self._muted and change["new"] is not None:
            self.select(change["new"])

    @observe("selected")
    def _on_selected(self, _change: dict[str, Any]) -> None:
        self._show_selected()

    def _selected_row(self) -> pd.Series | None:
        if self.selected is None:
            return None
        found = self._results[self._results["key"] == self.selected]  # has the search score
        return found.iloc[0] if len(found) else self.lib[self.selected]

    def _show_selected(self) -> None:
        with self._lock:
            self._autosave.flush()  # a note typed for the previous paper is saved to that paper
            key = self.selected
            self._muted += 1
            try:
                self._list.value = key if key in self._page_keys() else None
                row = self._selected_row()
                self._detail.value = "" if row is None else detail_html(row, self.query)
                self._note_key = key
                self._note.value = (self.lib.note(key) or "") if key else ""
                self._tags.value = self.lib.tags(key) if key else []
                self._status.value = self.lib.status(key) if key else STATUSES[0]
                for control in (self._note, self._tags, self._status):
                    control.disabled = key is None
            finally:
                self._muted -= 1
            self.note_state = "" if key is None else "Saved" if self._note.value else "No note yet"

    @property
    def detail(self) -> str:
        """The detail pane's HTML."""
        return self._detail.value

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
        """The text offered for copying when no JupyterLab extension answered, else None."""
        return self._copy.value if self._copy.layout.display != "none" else None

    def _need_selection(self) -> pd.Series | None:
        row = self._selected_row()
        if row is None:
            self.feedback = "Nothing selected: search and pick a paper first."
        return row

    def _insert(self, text: str, what: str, *, cell_type: str = "markdown", where: str = "below") -> _bridge.Delivery:
        self._show_copy(None)
        self.feedback = f"Inserting {what}…"

        def report(delivery: _bridge.Delivery) -> None:
            if delivery.status == "ok":
                self.feedback = f"Inserted {what}. {delivery.message}"
            elif delivery.status == "failed":
                self.feedback = f"Could not insert {what}: {delivery.message}"
            else:
                self.feedback = f"Could not insert {what}. {delivery.message}"
                self._show_copy(text)

        return _bridge.insert(text, cell_type=cell_type, where=where, on_done=report)

    def cite(self) -> _bridge.Delivery | None:
        """Insert the selected paper's citation in :attr:`style` at :attr:`target` (the Cite button, Enter)."""
        row = self._need_selection()
        if row is None:
            return None
        citation = markdown_citation(row, self.style, csl=self.lib.csl_style)
        # At the cursor the citation continues the sentence being written.
        text = " " + citation if self.target == "cursor" else citation
        return self._insert(text, f"citation {citation}", where=self.target)

    def snippet(self) -> _bridge.Delivery | None:
        """Insert the abstract sentences that best match :attr:`query`, quoted and cited (the Snippet button)."""
        row = self._need_selection()
        if row is None:
            return None
        text = snippet(row, self.query or None, style=self.style, csl=self.lib.csl_style)
        return self._insert(text, f"a snippet of {row['key']}", where=self.target)

    def bibtex(self) -> _bridge.Delivery | None:
        """Insert the selected paper's BibTeX entry as a raw cell below (the BibTeX button)."""
        row = self._need_selection()
        if row is None:
            return None
        # A raw cell: never executed or rendered, and nbconvert passes it through verbatim.
        return self._insert(to_bibtex(row.to_frame().T), f"the BibTeX entry {row['key']}", cell_type="raw")

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

    def _save_note(self, key: str, text: str) -> None:
        self.lib.set_note(key, text)
        if key == self._note_key and self._note.value == text:
            self.note_state = f"Saved {datetime.now():%H:%M}"

    def save_note(self) -> None:
        """Save the note editor's text on the selected paper now (the Save note button)."""
        self._autosave.cancel()
        if self._note_key is None:
            self.feedback = "Nothing selected: search and pick a paper first."
            return
        self._save_note(self._note_key, self._note.value)

    def set_note_text(self, text: str) -> None:
        """Type ``text`` into the note editor (it autosaves after a pause, like typing does)."""
        self._note.value = text

    def _on_tags(self, change: dict[str, Any]) -> None:
        if self._muted or self._note_key is None:
            return
        before, after = set(change["old"]), set(change["new"])
        if after - before:
            self.lib.tag(self._note_key, *sorted(after - before))
        if before - after:
            self.lib.untag(self._note_key, *sorted(before - after))

    def set_tags(self, tags: list[str]) -> None:
        """Set the selected paper's tags (what editing the tag box does)."""
        self._tags.value = list(tags)

    def _on_status(self, change: dict[str, Any]) -> None:
        if not self._muted and self._note_key is not None:
            self.lib.set_status(self._note_key, change["new"])

    def set_status(self, status: str) -> None:
        """Set the selected paper's read status: unread, reading or read (the Status dropdown)."""
        self._status.value = status

    def insert_note(self) -> _bridge.Delivery | None:
        """Insert a literature-note cell for the selected paper: title, snippet with citation, your note."""
        row = self._need_selection()
        if row is None:
            return None
        self._autosave.flush()
        note = (self.lib.note(row["key"]) or "").strip() or "_Your note._"
        text = (
            f"### {escape_markdown(row['title'] or row['key'])}\n\n"
            f"{snippet(row, self.query or None, style=self.style, csl=self.lib.csl_style)}\n"
            f"**Note:** {note}\n"
        )
        return self._insert(text, f"a literature note on {row['key']}")

    def export_notes(self, path: str | Path = NOTES_FILE) -> Path:
        """Write every note of the library to ``path`` (markdown, in the notebook's folder by default)."""
        self._autosave.flush()
        target = Path(path).resolve()
        self.lib.export_notes(target)
        self.feedback = f"Exported the notes to {target}."
        return target
