"""paper_widgets: search, cite and annotate Hugging Face Daily Papers dumps inside JupyterLab."""

from __future__ import annotations

from typing import TYPE_CHECKING

from paper_widgets.data.records import DumpError, LoadWarning, PaperWidgetsWarning
from paper_widgets.library import Library, load, load_default, load_sample, set_csl_style, set_default_style
from paper_widgets.store import Note, NoteConflict, StoreCorrupt, StoreError, StoreReadOnly, StoreUnavailable

__all__ = [
    "DumpError",
    "Library",
    "LoadWarning",
    "Note",
    "NoteConflict",
    "PaperBrowser",
    "PaperWidgetsWarning",
    "StoreCorrupt",
    "StoreError",
    "StoreReadOnly",
    "StoreUnavailable",
    "__version__",
    "insert",
    "load",
    "load_default",
    "load_sample",
    "references",
    "set_csl_style",
    "set_default_style",
    "update_references",
]

if TYPE_CHECKING:  # what __getattr__ below returns, for type checkers
    __version__: str
    from paper_widgets.kernel.bridge import insert
    from paper_widgets.kernel.references_cell import update_references
    from paper_widgets.output.bibliography import references
    from paper_widgets.widget.browser import PaperBrowser

# The notebook-facing stages load on first use, so the data layer and the CLI never import IPython
# (and importing the package does not pay for nbformat); so does the version (importlib.metadata
# costs more than anything a reopened library needs besides pandas).
_LAZY = {
    "insert": "paper_widgets.kernel.bridge",
    "references": "paper_widgets.output.bibliography",
    "PaperBrowser": "paper_widgets.widget.browser",
    "update_references": "paper_widgets.kernel.references_cell",
}


def __getattr__(name: str) -> object:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(__name__)  # labextension/package.json's, through the package metadata
        except PackageNotFoundError:  # a source tree on sys.path that was never installed
            return "0+unknown"
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop` finds the built plugin (JupyterLab extension convention)."""
    return [{"src": "labextension", "dest": "paper-widgets"}]
