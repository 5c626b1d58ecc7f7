"""Output files: every export reaches disk through here, so none overwrites without being asked
and none is ever half-written (a crash or a full disk leaves the old file as it was)."""

from __future__ import annotations

import contextlib
import os
import secrets
from pathlib import Path

__all__ = ["write_text_atomic"]


def write_text_atomic(path: str | os.PathLike[str], text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` (UTF-8) to ``path`` and return it.

    An existing file is a :class:`FileExistsError` unless ``overwrite``.  The text goes to a
    temporary file in the same folder first and replaces ``path`` in one step (``os.replace``),
    so on any failure the old file is intact and the temporary file is removed.
    """
    target = Path(path)
    if target.exists() and not overwrite:
        raise _exists(target)
    # A fresh name opened with "x" (never an existing file) gets the permissions the umask gives.
    temporary = target.with_name(f".{target.name}.{secrets.token_hex(6)}.tmp")
    try:
        with open(temporary, "x", encoding="utf-8", newline="") as file:
            file.write(text)
            file.flush()
            os.fsync(file.fileno())
        if overwrite or not _linked(temporary, target):
            if target.exists():  # the replacement keeps the old file's permissions
                os.chmod(temporary, target.stat().st_mode & 0o7777)
            os.replace(temporary, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)
    return target


def _exists(target: Path) -> FileExistsError:
    return FileExistsError(f"{target} already exists; pass overwrite=True (CLI: --force) to replace it")


def _linked(temporary: Path, target: Path) -> bool:
    """Hard-link ``temporary`` as ``target``: atomic and never over a file created meanwhile.
    False where the file system has no hard links (the caller then replaces)."""
    try:
        os.link(temporary, target)
    except FileExistsError:
        raise _exists(target) from None
    except OSError:
        return False
    return True
