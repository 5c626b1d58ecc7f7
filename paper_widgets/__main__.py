"""``python -m paper_widgets``: the same command line as the ``paper-widgets`` console script."""

from __future__ import annotations

from paper_widgets.cli import main

__all__: list[str] = []

raise SystemExit(main())
