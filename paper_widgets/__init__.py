"""paper_widgets: search, cite and annotate Hugging Face Daily Papers dumps inside JupyterLab."""

from __future__ import annotations

from ._library import Library, load, load_default, load_sample, set_default_style
from ._records import DumpError, LoadWarning, PaperWidgetsWarning

__version__ = "0.1.0"

__all__ = [
    "DumpError",
    "Library",
    "LoadWarning",
    "PaperBrowser",
    "PaperWidgetsWarning",
    "__version__",
    "insert",
    "load",
    "load_default",
    "load_sample",
    "references",
    "set_default_style",
    "update_references",
]

# The notebook-facing stages load on first use, so the data layer and the CLI never import IPython
# (and importing the package does not pay for nbformat).
_LAZY = {
    "insert": "._bridge",
    "references": "._bibliography",
    "PaperBrowser": "._browser",
    "update_references": "._references_cell",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where `jupyter labextension develop` finds the built plugin (JupyterLab extension convention)."""
    return [{"src": "labextension", "dest": "paper-widgets"}]
