"""Store stage: the user's notes, tags, read status, citekeys, settings and library cache.

:class:`Store` combines one job per module on one :class:`~paper_widgets.store.db.Database`:
``keys`` (the citekey registry), ``annotations`` (notes, tags, status), ``settings`` and
``cache`` (content hashes and cached derived objects); ``schema`` holds the migrations and
``team`` sets up a PostgreSQL database shared by a team. Keys and annotations live in the
embedded SQLite file, or in PostgreSQL when ``PAPER_WIDGETS_DB`` (or ``store=``) is a
``postgresql://`` URL; settings and the cache always stay in the local SQLite file.
"""

from __future__ import annotations

import os
from typing import TypeAlias

from paper_widgets.store.annotations import (
    Annotations,
    AnnotationStore,
    Note,
    NoteConflict,
    annotate,
    annotation_columns,
)
from paper_widgets.store.cache import (
    CacheStore,
    content_hash,
    file_hash,
    package_fingerprint,
    shown_column,
    shown_frame,
)
from paper_widgets.store.db import (
    BUSY_TIMEOUT,
    DB_NAME,
    LOCK_PATIENCE,
    StoreCorrupt,
    StoreError,
    StoreReadOnly,
    StoreUnavailable,
    is_postgres_url,
    store_home,
    store_url,
)
from paper_widgets.store.keys import KeyRegistry
from paper_widgets.store.settings import SettingsStore

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "LOCK_PATIENCE",
    "Annotations",
    "Note",
    "NoteConflict",
    "Store",
    "StoreCorrupt",
    "StoreError",
    "StoreLike",
    "StoreReadOnly",
    "StoreUnavailable",
    "annotate",
    "annotation_columns",
    "content_hash",
    "file_hash",
    "is_postgres_url",
    "open_store",
    "package_fingerprint",
    "shown_column",
    "shown_frame",
    "store_home",
]


class Store(KeyRegistry, AnnotationStore, SettingsStore, CacheStore):
    """The notes store: an SQLite database (WAL) plus a directory of cache files, optionally a team database.

    ``location``: the local directory, or a ``postgresql://`` URL for a team store (then the
    local directory is the default one). Without it, ``$PAPER_WIDGETS_DB`` decides.
    Papers are addressed by citekey; keys are unique in the store and never change.
    Unknown keys raise ``KeyError``.
    """

    def __init__(self, location: str | os.PathLike[str] | None = None) -> None:
        self.url = store_url(location)
        super().__init__(None if is_postgres_url(location) else location, url=self.url)

    @property
    def location(self) -> str:
        """What opens this store again: the team database URL, else the local directory."""
        return self.url or str(self.home)

    def __repr__(self) -> str:
        return f"Store({getattr(self.shared, 'where', str(self.home))!r})"


StoreLike: TypeAlias = "Store | str | os.PathLike[str] | None"


def open_store(store: StoreLike = None) -> Store:
    """``store`` itself, or the store in directory ``store``, or the default store (:func:`store_home`)."""
    return store if isinstance(store, Store) else Store(store)
