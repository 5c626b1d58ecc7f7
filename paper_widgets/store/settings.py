"""Store stage, settings: small JSON values the user chose (style, library paths)."""

from __future__ import annotations

import json
from typing import Any

from paper_widgets.store.db import Database

__all__ = ["SettingsStore"]


class SettingsStore(Database):
    """Named JSON settings on top of :class:`Database`."""

    def setting(self, name: str) -> Any | None:
        """The JSON value saved under ``name``, or None."""
        row = self._read(lambda conn: conn.execute("SELECT value FROM settings WHERE name = ?", (name,)).fetchone())
        return None if row is None else json.loads(row[0])

    def set_setting(self, name: str, value: Any) -> None:
        """Save ``value`` (anything JSON can hold) under ``name``."""
        text = json.dumps(value)
        self._write(
            lambda conn: conn.execute(
                "INSERT INTO settings (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                (name, text),
            )
        )
