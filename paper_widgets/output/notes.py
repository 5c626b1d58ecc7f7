"""Output stage: the user's notes as one Markdown document."""

from __future__ import annotations

import pandas as pd

from paper_widgets.output.markdown import escape_markdown

__all__ = ["notes_markdown"]


def notes_markdown(papers: pd.DataFrame) -> str:
    """One Markdown document: a section per paper of ``papers`` (an annotated frame) that has a note."""
    parts = ["# Literature notes\n"]
    for row in papers[papers["note"].notna()].itertuples(index=False):
        parts.append(f"## {escape_markdown(row.title)} (`{row.key}`)\n")
        details = [f"- Status: {row.status}"]
        if row.tags:
            details.insert(0, "- Tags: " + ", ".join(escape_markdown(t) for t in row.tags))
        parts.append("\n".join(details) + "\n")
        parts.append(row.note.strip() + "\n")
    return "\n".join(parts)
