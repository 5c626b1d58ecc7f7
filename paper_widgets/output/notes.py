"""Output stage: the user's notes as one Markdown document."""

from __future__ import annotations

import re

import pandas as pd

__all__ = ["notes_markdown"]

_MARKDOWN_INLINE = re.compile(r"([\\`*_\[\]<>&|~$#])")


def _inline(text: str) -> str:
    """Untrusted text (titles, tags) as literal inline markdown: specials backslash-escaped, one line."""
    return _MARKDOWN_INLINE.sub(r"\\\1", " ".join(str(text).split()))


def notes_markdown(papers: pd.DataFrame) -> str:
    """One Markdown document: a section per paper of ``papers`` (an annotated frame) that has a note."""
    parts = ["# Literature notes\n"]
    for row in papers[papers["note"].notna()].itertuples(index=False):
        parts.append(f"## {_inline(row.title)} (`{row.key}`)\n")
        details = [f"- Status: {row.status}"]
        if row.tags:
            details.insert(0, "- Tags: " + ", ".join(_inline(t) for t in row.tags))
        parts.append("\n".join(details) + "\n")
        parts.append(row.note.strip() + "\n")
    return "\n".join(parts)
