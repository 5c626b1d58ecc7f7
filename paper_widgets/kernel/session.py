"""Kernel stage, session: which library and style this kernel's argument-less commands cite from.

JupyterLab's palette command "Update paper_widgets References cell" runs the entry point declared
in ``protocol.json`` (``update_references()`` without arguments) in the notebook's kernel.  The
kernel's :class:`Session` answers "with which library, in which style": the paper browser shown
last registers itself with :meth:`Session.register`; until one does, the user's library
(:func:`~paper_widgets.library.load_default`) in the ``text`` style.  The session belongs to the
kernel, so it is kept on the kernel's IPython shell rather than in this module.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from paper_widgets.kernel.bridge import get_bridge
from paper_widgets.library import Library, load_default

__all__ = ["REFERENCES_STYLE", "Session", "kernel_session"]

#: Entry style of the References cell while no browser chose one (readable references).
REFERENCES_STYLE = "text"
_SHELL_ATTRIBUTE = "paper_widgets_session"


@dataclass(eq=False)
class Session:
    """The library and style that commands run without arguments use in one kernel."""

    library: Library | None = None
    #: Asked each time, so a browser's style dropdown changed after showing it still counts.
    style: Callable[[], str] | None = None

    def register(self, library: Library, style: Callable[[], str]) -> None:
        """Make ``library``, in the style ``style()`` returns at the time, what commands cite from."""
        self.library, self.style = library, style

    def current_library(self) -> Library:
        """The registered library, else the user's (:func:`~paper_widgets.library.load_default`)."""
        return self.library if self.library is not None else load_default()

    def current_style(self) -> str:
        """The registered style, else :data:`REFERENCES_STYLE`."""
        return self.style() if self.style is not None else REFERENCES_STYLE


def kernel_session(shell: Any = None) -> Session:
    """The session of the kernel whose IPython ``shell`` this is (default: the bridge's, i.e. this
    kernel's).  Outside a kernel there is no shell and so no notebook to act on: a fresh, unshared session."""
    shell = get_bridge().shell if shell is None else shell
    if shell is None:
        return Session()
    session = getattr(shell, _SHELL_ATTRIBUTE, None)
    if not isinstance(session, Session):
        session = Session()
        setattr(shell, _SHELL_ATTRIBUTE, session)
    return session
