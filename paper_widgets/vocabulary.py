"""Vocabularies: the fixed word lists every stage agrees on (citation styles, sorts, read statuses).

The lowest module of the package: it imports nothing from it, so the data layer, the store, the
search, the output stage, the CLI and the widget all take their choices from here and cannot drift.
"""

from __future__ import annotations

from typing import Final

__all__ = ["DEFAULT_STATUS", "DEFAULT_STYLE", "SORTS", "STATUSES", "STYLES"]

#: Citation styles of :func:`paper_widgets.output.cite.cite`; the first is the default.
STYLES: Final = ("pandoc", "myst", "latex", "cite", "text")
#: The style used when neither an argument nor the ``citation_style`` setting says otherwise.
DEFAULT_STYLE: Final = STYLES[0]

#: Result orders of :func:`paper_widgets.search.engine.search`.
SORTS: Final = ("relevance", "newest", "upvotes")

#: Read statuses of a paper; the first is every paper's status until the user sets one.
STATUSES: Final = ("unread", "reading", "read")
DEFAULT_STATUS: Final = STATUSES[0]
