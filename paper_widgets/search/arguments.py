"""Search arguments: what :meth:`paper_widgets.Library.search` accepts, checked at the boundary.

A wrong-typed argument (``limit=nan``, ``min_upvotes="5"``, ``tags=5``, ``query=None``) is a
clear :class:`TypeError` or :class:`ValueError` naming the argument, never an error from deep
inside pandas or the index.
"""

from __future__ import annotations

from collections.abc import Iterable
from numbers import Integral
from typing import Any

__all__ = ["checked_search_arguments"]


def _whole(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise TypeError(f"{name} must be a whole number, not {value!r}")
    return int(value)


def _names(name: str, value: object) -> str | tuple[str, ...]:
    if isinstance(value, str):
        return value
    if isinstance(value, Iterable) and not isinstance(value, (bytes, dict)):
        values = tuple(value)
        if all(isinstance(item, str) for item in values):
            return values
    raise TypeError(f"{name} must be a string or a list of strings, not {value!r}")


def _year(value: object) -> int | tuple[int | None, int | None]:
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError(f"year must be a year or a (first, last) pair, not {value!r}")
        first, last = (None if end is None else _whole("year", end) for end in value)
        return first, last
    return _whole("year", value)


def checked_search_arguments(
    query: object, limit: object, filters: dict[str, object]
) -> tuple[str, int | None, dict[str, Any]]:
    """``(query, limit, filters)`` checked and normalised (tag and status lists become tuples)."""
    if not isinstance(query, str):
        raise TypeError(f'query must be a string ("" lists every paper), not {query!r}')
    if limit is not None:
        limit = _whole("limit", limit)
        if limit < 0:
            raise ValueError(f"limit must be >= 0 or None, not {limit}")
    checked = dict(filters)
    for name, value in filters.items():
        if value is None:
            continue
        if name == "min_upvotes":
            checked[name] = _whole(name, value)
        elif name in ("tags", "status"):
            checked[name] = _names(name, value)
        elif name == "year":
            checked[name] = _year(value)
        elif name == "sort" and not isinstance(value, str):
            raise TypeError(f"sort must be a string, not {value!r}")
    return query, limit, checked
