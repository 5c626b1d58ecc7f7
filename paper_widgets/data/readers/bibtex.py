"""Parsing stage for BibTeX files, via bibtexparser v2.

bibtexparser keeps going after a broken entry and reports it as a failed block with its start
line; each becomes a warning naming that line while the good entries still load.  Field values
keep their text except BibTeX's case-protecting braces (``{BERT}`` → ``BERT``) and hard wraps.
The arXiv id comes from ``eprint`` (arXiv archive), an arxiv.org URL or an arXiv DOI.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from datetime import date

import bibtexparser
from bibtexparser import model

from paper_widgets.data.readers.json import unwrap
from paper_widgets.data.records import LoadWarning, PaperRecord

__all__ = ["parse_bibtex"]

_BRACES = re.compile(r"(?<!\\)[{}]")
_ARXIV_ID = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|10\.48550/arxiv\.|arxiv:\s*)(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[a-z]{2})?/\d{7})", re.I
)
_BARE_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?")
_MONTHS = {
    m: i for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)
}


def _clean(value: str) -> str:
    return unwrap(_BRACES.sub("", value))


def _person(name: str) -> str:
    """``"Yu, Tianhe"`` → ``"Tianhe Yu"``; other forms unchanged."""
    parts = [p.strip() for p in name.split(",")]
    if len(parts) == 2 and all(parts):
        return f"{parts[1]} {parts[0]}"
    if len(parts) == 3 and parts[0] and parts[2]:  # "von Last, Jr, First"
        return f"{parts[2]} {parts[0]} {parts[1]}".replace("  ", " ")
    return name.strip()


def _published(fields: dict[str, str]) -> date | None:
    year = re.search(r"\d{4}", fields.get("year", ""))
    if not year:
        return _date_field(fields.get("date", ""))
    month_text = fields.get("month", "").strip().lower()
    month = _MONTHS.get(month_text[:3]) or (
        int(month_text) if month_text.isdigit() and 1 <= int(month_text) <= 12 else 1
    )
    return date(int(year.group()), month, 1)


def _date_field(value: str) -> date | None:
    match = re.match(r"(\d{4})(?:-(\d{1,2}))?(?:-(\d{1,2}))?", value.strip())
    if not match:
        return None
    try:
        return date(int(match.group(1)), int(match.group(2) or 1), int(match.group(3) or 1))
    except ValueError:
        return None


def _arxiv_id(fields: dict[str, str]) -> str | None:
    eprint = fields.get("eprint", "").strip()
    archive = (fields.get("archiveprefix", "") or fields.get("eprinttype", "")).strip().lower()
    if eprint and (archive == "arxiv" or _BARE_ARXIV_ID.fullmatch(eprint)):
        return re.sub(r"^arxiv:\s*", "", eprint, flags=re.I)
    for name in ("url", "doi", "journal", "note", "howpublished"):
        match = _ARXIV_ID.search(fields.get(name, ""))
        if match:
            return match.group(1)
    return None


def _record(entry: model.Entry, source: str, warnings: list[LoadWarning]) -> PaperRecord | None:
    fields = {f.key.lower(): f.value if isinstance(f.value, str) else str(f.value) for f in entry.fields}
    line = entry.start_line + 1
    title = _clean(fields.get("title", ""))
    if not title:
        warnings.append(LoadWarning(source, line, f"entry {entry.key!r} has no title; skipped"))
        return None
    authors = tuple(
        _person(a)
        for a in re.split(r"\s+and\s+", _clean(fields.get("author", "")))
        if a.strip() and a.strip() != "others"
    )
    try:
        published = _published(fields)
    except ValueError:
        published = None
        warnings.append(LoadWarning(source, line, f"entry {entry.key!r} has an invalid date; ignored"))
    return PaperRecord(
        title=title,
        abstract=_clean(fields.get("abstract", "")),
        source=source,
        line=line,
        kind="bibtex",
        published=published,
        n_authors=len(authors) or None,
        authors=authors,
        arxiv_id=_arxiv_id(fields),
    )


def parse_bibtex(text: str, source: str, warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """Records of the entries in a BibTeX text; broken entries become warnings with their line."""
    # bibtexparser logs every failed block itself; they reach the user as LoadWarnings instead.
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        library = bibtexparser.parse_string(text)
    finally:
        logger.setLevel(previous)
    for block in library.failed_blocks:
        kind = type(block).__name__
        reason = "duplicate entry key" if "Duplicate" in kind else "malformed entry"
        first = block.raw.strip().splitlines()[0][:60] if block.raw.strip() else ""
        warnings.append(LoadWarning(source, (block.start_line or 0) + 1, f"{reason} skipped: {first!r}"))
    found = False
    for entry in library.entries:
        record = _record(entry, source, warnings)
        if record is not None:
            found = True
            yield record
    if not found and not library.failed_blocks:
        warnings.append(LoadWarning(source, None, "no BibTeX entries found"))
