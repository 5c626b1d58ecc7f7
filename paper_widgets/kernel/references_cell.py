"""Browser stage, notebook half: keep the notebook's one References cell in sync with what it cites.

:func:`update_references` is what the References button calls (JupyterLab's palette command
"Update paper_widgets References cell" asks the server extension instead, so it needs no kernel).  A kernel
cannot wait for the frontend while it runs, so it is a chain of bridge callbacks: read the cells →
:func:`paper_widgets.output.bibliography.references` → upsert the cell tagged ``role: references``.
"""

from __future__ import annotations

from collections.abc import Callable

from paper_widgets.kernel import bridge as _bridge
from paper_widgets.library import Library, load_default
from paper_widgets.output.bibliography import REFERENCES_METADATA, references

__all__ = ["ROLE", "current_library", "default_library", "remember", "update_references"]

ROLE = REFERENCES_METADATA["paper_widgets"]["role"]

# The library and style of the paper browser shown last: what the palette command cites from.
_current: tuple[Library, Callable[[], str]] | None = None


def default_library() -> Library:
    """The library a browser opens without one: the user's (see :func:`load_default`), else the samples."""
    return load_default()


def remember(lib: Library, style: Callable[[], str]) -> None:
    """Make ``lib`` (and the style ``style()`` returns then) what :func:`update_references` uses by default."""
    global _current
    _current = (lib, style)


def current_library() -> Library:
    """The library of the paper browser shown last, else :func:`default_library`."""
    return _current[0] if _current is not None else default_library()


def update_references(
    lib: Library | None = None,
    style: str | None = None,
    *,
    on_done: Callable[[_bridge.Delivery], None] | None = None,
) -> _bridge.Delivery:
    """Create or replace the References cell of the notebook whose kernel runs this.

    The cell lists every paper cited in the notebook's markdown cells, formatted by
    :func:`paper_widgets.output.bibliography.references` in ``style`` (default: the style of the
    browser shown last, else ``"text"``).  ``lib`` defaults to that browser's library.  Returns
    the Delivery of the first step (reading the cells); ``on_done`` gets the Delivery that decided
    the outcome: the upsert's, or the read's when reading failed.
    """
    if lib is None:
        lib = current_library()
    if style is None:
        style = _current[1]() if _current is not None else "text"

    def write(read: _bridge.Delivery) -> None:
        if read.status != "ok" or read.reply is None:
            if on_done is not None:
                on_done(read)
            return
        text = references({"cells": read.reply.get("cells", [])}, lib, style)
        _bridge.upsert_cell(text, role=ROLE, cell_type="markdown", on_done=on_done)

    return _bridge.read_cells(write)
