"""Browser stage, notebook half: keep the notebook's one References cell in sync with what it cites.

:func:`update_references` is what the References button calls (JupyterLab's palette command
"Update paper_widgets References cell" asks the server extension instead, so it needs no kernel;
the kernel entry point ``protocol.json`` declares stays for kernel-side callers).  A kernel cannot wait for the frontend while it runs, so it is a
chain of bridge callbacks: read the cells → :func:`paper_widgets.output.bibliography.references`
→ upsert the cell tagged ``role: references``, and ``references.bib`` with exactly the cited
entries is written beside the notebook (the kernel's working folder, which JupyterLab sets to the
notebook's).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from paper_widgets.kernel import bridge as _bridge
from paper_widgets.kernel.session import Session, kernel_session
from paper_widgets.library import Library
from paper_widgets.output.bibliography import BIB_NAME, REFERENCES_ROLE, references, write_bibliography

__all__ = ["update_references"]


def update_references(
    lib: Library | None = None,
    style: str | None = None,
    *,
    bib_name: str = BIB_NAME,
    on_done: Callable[[_bridge.Delivery], None] | None = None,
    session: Session | None = None,
) -> _bridge.Delivery:
    """Create or replace the References cell of the notebook whose kernel runs this.

    The cell lists every paper cited in the notebook's markdown cells, formatted by
    :func:`paper_widgets.output.bibliography.references` in ``style``.  ``lib`` and ``style``
    default to what ``session`` (default: this kernel's, see :func:`~paper_widgets.kernel.session.kernel_session`)
    holds: the paper browser shown last, else the user's library in the ``text`` style.  The cited
    entries are written to ``bib_name`` in the kernel's working folder (the notebook's).  Returns
    the Delivery of the first step (reading the cells); ``on_done`` gets the Delivery that decided
    the outcome: the upsert's, or the read's when reading failed.
    """
    if lib is None or style is None:
        session = kernel_session() if session is None else session
        lib = session.current_library() if lib is None else lib
        style = session.current_style() if style is None else style
    chosen_lib, chosen_style = lib, style

    def write(read: _bridge.Delivery) -> None:
        if read.status != "ok" or read.reply is None:
            if on_done is not None:
                on_done(read)
            return
        notebook = {"cells": read.reply.get("cells", [])}
        text = references(notebook, chosen_lib, chosen_style, csl=chosen_lib.csl_style)
        write_bibliography(notebook, chosen_lib, Path.cwd() / bib_name)
        _bridge.upsert_cell(text, role=REFERENCES_ROLE, cell_type="markdown", on_done=on_done)

    return _bridge.read_cells(write)
