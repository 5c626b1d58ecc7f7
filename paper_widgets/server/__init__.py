"""Server stage: a Jupyter server extension that serves the user's library to JupyterLab over REST.

The citation picker and the Papers sidebar work in any notebook, whatever its kernel (or none),
because they ask the server, not a kernel.  A plain ``pip install`` enables the extension through
``jupyter-config/server-config/paper_widgets.json`` (installed into
``etc/jupyter/jupyter_server_config.d/``); ``jupyter server extension list`` shows it.
"""

from __future__ import annotations

from typing import Any

__all__ = ["_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """Where jupyter_server finds the extension (its extension-point convention)."""
    return [{"module": "paper_widgets.server"}]


def _load_jupyter_server_extension(server_app: Any) -> None:
    """Register the ``/paper-widgets/…`` handlers on the running server."""
    from paper_widgets.server.handlers import setup_handlers

    setup_handlers(server_app.web_app)
    server_app.log.info("paper_widgets: serving the library under /paper-widgets/")
