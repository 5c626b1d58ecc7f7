"""Store stage: the user's notes, tags, read status, citekeys, settings and library cache.

:class:`Store` combines one job per module on one :class:`~paper_widgets.store.db.Database`:
``keys`` (the citekey registry), ``annotations`` (notes, tags, status), ``settings`` and
``cache`` (content hashes and cached derived objects); ``schema`` holds the migrations.
"""

from __future__ import annotations

import os
from typing import TypeAlias

from paper_widgets.store.annotations import Annotations, AnnotationStore, annotate
from paper_widgets.store.cache import CacheStore, content_hash, file_hash, package_fingerprint
from paper_widgets.store.db import BUSY_TIMEOUT, DB_NAME, LOCK_PATIENCE, store_home
from paper_widgets.store.keys import KeyRegistry
from paper_widgets.store.settings import SettingsStore

__all__ = [
    "BUSY_TIMEOUT",
    "DB_NAME",
    "LOCK_PATIENCE",
    "Annotations",
    "Store",
    "StoreLike",
    "annotate",
    "content_hash",
    "file_hash",
    "open_store",
    "package_fingerprint",
    "store_home",
]


class Store(KeyRegistry, AnnotationStore, SettingsStore, CacheStore):
    """The notes store: one SQLite database (WAL) plus a directory of cache files.

    Papers are addressed by citekey; keys are unique in the store and never change.
    Unknown keys raise ``KeyError``.
    """

    def __repr__(self) -> str:
        return f"Store({str(self.home)!r})"


StoreLike: TypeAlias = "Store | str | os.PathLike[str] | None"


def open_store(store: StoreLike = None) -> Store:
    """``store`` itself, or the store in directory ``store``, or the default store (:func:`store_home`)."""
    return store if isinstance(store, Store) else Store(store)
