"""Parsing stage for BibTeX files, via bibtexparser v2 and pylatexenc, read as BibTeX reads them.

Several files loaded together (``load("abbrev.bib", "refs.bib")`` or a folder) are one database:
``@string`` macros of any of them resolve in all, and ``crossref`` finds its parent in any.  Per entry:

* the user's citekey is kept (``citekey``) and becomes the paper's key; a repeated key (BibTeX
  compares keys ignoring case) is a warning and the first entry wins, as in BibTeX;
* ``@string`` macros, the month macros and ``#`` concatenation are resolved; the fields of a
  ``crossref`` parent that the entry lacks are inherited (but not the parent's DOI or arXiv id, which
  name the volume, so papers of one volume are never merged by it), and a cross-referenced
  ``@proceedings`` is a volume, not a paper, so it gives no row;
* ``fields`` keeps every field as written (LaTeX untouched, lower-case names, ``crossref``
  replaced by what it inherited), so :func:`paper_widgets.output.export.to_bibtex` gives the
  same entry back; title, abstract, names and venue are decoded to Unicode with pylatexenc for
  display and search (``M\\"uller`` → ``Müller``, ``\\&`` → ``&``, ``{BERT}`` → ``BERT``);
* names are split by bibtexparser's BibTeX name rules (``von Last, Jr, First``; a braced corporate
  name stays whole) and shown first-name-first; ``and others`` leaves ``n_authors`` unknown.

bibtexparser keeps going after a broken entry and reports it as a failed block with its start
line; each becomes a warning naming file and line while the good entries still load.  The arXiv id
comes from ``eprint`` (arXiv archive), an arxiv.org URL or an arXiv DOI.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date

from bibtexparser import model
from bibtexparser.entrypoint import parse_string
from bibtexparser.library import Library
from bibtexparser.middlewares.names import parse_single_name_into_parts, split_multiple_persons_names
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db

from paper_widgets.data.readers.json import unwrap
from paper_widgets.data.records import LoadWarning, PaperRecord
from paper_widgets.data.text import MONTHS, month_number, without_arxiv_version

__all__ = ["decode_latex", "parse_bibtex", "parse_bibtex_files"]

_ARXIV_ID = re.compile(
    r"(?:arxiv\.org/(?:abs|pdf)/|10\.48550/arxiv\.|arxiv:\s*)(\d{4}\.\d{4,5}|[a-z\-]+(?:\.[a-z]{2})?/\d{7})", re.I
)
_BARE_ARXIV_ID = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?|[a-z\-]+(?:\.[A-Z]{2})?/\d{7}(?:v\d+)?")
_DOI = re.compile(r"10\.\d{4,9}/\S+")
# BibTeX's predefined macros: the month names.
_MONTH_NAMES = "January February March April May June July August September October November December"
_MONTH_MACROS = dict(zip(MONTHS, _MONTH_NAMES.split(), strict=True))
# Entry types that describe a volume holding papers: cross-referenced, they are parents, not papers.
_VOLUMES = frozenset({"proceedings", "mvproceedings"})
# Nothing for pylatexenc to do in a value without these: only case-protecting braces to drop.
_LATEX_SYNTAX = re.compile(r"[\\$~`']|--")
_BRACES = re.compile(r"(?<!\\)[{}]")
_SPACES = re.compile(r"\s+")


@functools.cache
def _decoder() -> LatexNodes2Text:
    """pylatexenc's decoder set up as bibtexparser's LatexDecodingMiddleware sets it up (math kept)."""
    context = get_default_latex_context_db()
    # pylatexenc drops the argument of font macros it does not define (\texttt{X} → nothing): keep it.
    keep_argument = ("url", "texttt", "textsf", "textrm", "textsc", "textup", "textmd", "textnormal", "mbox")
    macros = [MacroTextSpec(name, simplify_repl="%s") for name in keep_argument]
    context.add_context_category("paper-widgets-bibtex", prepend=True, macros=macros)
    return LatexNodes2Text(latex_context=context, keep_braced_groups=False, math_mode="verbatim")


@functools.lru_cache(maxsize=65536)  # names and venues repeat across entries
def decode_latex(value: str) -> str:
    """BibTeX field text → Unicode for display and search: LaTeX decoded, braces dropped, spaces collapsed."""
    if _LATEX_SYNTAX.search(value):
        try:
            value = _decoder().latex_to_text(value)
        except Exception:  # pylatexenc gives up on some broken LaTeX: keep the text without braces
            value = _BRACES.sub("", value)
    else:
        value = _BRACES.sub("", value)
    return _SPACES.sub(" ", value.replace("\xa0", " ")).strip()


def _pieces(value: str) -> list[str]:
    """The ``#``-separated pieces of a raw value (``#`` inside braces or quotes is text)."""
    pieces, depth, start, quoted = [], 0, 0, False
    for match in re.finditer(r'[{}"#]', value):
        ch, at = match.group(), match.start()
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif ch == '"' and depth == 0:
            quoted = not quoted
        elif ch == "#" and depth == 0 and not quoted:
            pieces.append(value[start:at].strip())
            start = at + 1
    pieces.append(value[start:].strip())
    return pieces


class _Macros:
    """``@string`` macros of every file read together, resolving raw values the way BibTeX does."""

    def __init__(self) -> None:
        self.values: dict[str, str] = dict(_MONTH_MACROS)
        self.unknown: set[str] = set()

    def define(self, name: str, raw: str) -> None:
        self.values[name.strip().lower()] = self.resolve(raw)

    def resolve(self, raw: str) -> str:
        """The text of a raw value: delimiters removed, numbers kept, macros expanded, pieces joined."""
        out = []
        for piece in _pieces(raw.strip()) if "#" in raw else [raw.strip()]:
            if piece[:1] in '{"' and len(piece) > 1:
                out.append(piece[1:-1])
            elif piece.isdigit():
                out.append(piece)
            elif piece:
                value = self.values.get(piece.lower())
                if value is None:
                    self.unknown.add(piece)
                    value = piece
                out.append(value)
        return "".join(out)


@dataclass(slots=True)
class _Entry:
    key: str
    entry_type: str
    fields: dict[str, str]  # resolved text, LaTeX kept, lower-case names, in file order
    month_macro: str | None  # "jan" when the file wrote the month as a macro
    source: str
    line: int
    inherited: set[str] = field(default_factory=set)  # names of the fields taken from the crossref parent


def _split(text: str, source: str, warnings: list[LoadWarning]) -> Library:
    """bibtexparser's blocks of one file, values still raw; failed blocks become warnings."""
    # bibtexparser logs every failed block itself; they reach the user as LoadWarnings instead.
    logger = logging.getLogger("bibtexparser")
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        library = parse_string(text, parse_stack=[])
    finally:
        logger.setLevel(previous)
    for block in library.failed_blocks:
        line = (block.start_line or 0) + 1
        if isinstance(block, model.DuplicateBlockKeyBlock):
            warnings.append(
                LoadWarning(source, line, f"duplicate entry key {block.key!r}: the first entry is kept, as in BibTeX")
            )
            continue
        raw = (block.raw or "").strip()
        first = raw.splitlines()[0][:60] if raw else ""
        warnings.append(LoadWarning(source, line, f"malformed entry skipped: {first!r}"))
    return library


def _entries(texts: Sequence[tuple[str, str]], warnings: list[LoadWarning]) -> Iterator[_Entry]:
    """Every entry of the files read together, macros resolved (macros may be defined in any file)."""
    libraries = [(_split(text, source, warnings), source) for text, source in texts]
    macros = _Macros()
    for library, _ in libraries:
        for string in library.strings:
            macros.define(string.key, string.value)
    seen: dict[str, str] = {}
    for library, source in libraries:
        for entry in library.entries:
            line = (entry.start_line or 0) + 1
            folded = entry.key.lower()
            if folded in seen:
                warnings.append(
                    LoadWarning(
                        source,
                        line,
                        f"duplicate entry key {entry.key!r} (keys ignore case; first in {seen[folded]}): skipped",
                    )
                )
                continue
            seen[folded] = source
            fields: dict[str, str] = {}
            month_macro = None
            for item in entry.fields:
                raw = item.value if isinstance(item.value, str) else str(item.value)
                name = item.key.strip().lower()
                if name == "month" and raw.strip().lower() in _MONTH_MACROS:
                    month_macro = raw.strip().lower()
                fields[name] = macros.resolve(raw)
            yield _Entry(entry.key, entry.entry_type.lower(), fields, month_macro, source, line)
    for name in sorted(macros.unknown):
        warnings.append(
            LoadWarning(texts[0][1] if len(texts) == 1 else "<bibtex>", None, f"undefined @string {name!r}")
        )


def _inherit(entries: list[_Entry], warnings: list[LoadWarning]) -> set[str]:
    """Fill each entry's missing fields from its ``crossref`` parent; the keys of volume parents."""
    by_key = {e.key.lower(): e for e in entries}
    volumes: set[str] = set()
    for entry in entries:
        parent_key = entry.fields.get("crossref", "").strip()
        if not parent_key:
            continue
        parent = by_key.get(parent_key.lower())
        if parent is None:
            warnings.append(LoadWarning(entry.source, entry.line, f"crossref {parent_key!r} not found"))
            continue
        del entry.fields["crossref"]
        for name, value in parent.fields.items():
            if name not in entry.fields and name != "crossref":
                entry.fields[name] = value
                entry.inherited.add(name)
        if entry.month_macro is None and "month" not in entry.fields:
            entry.month_macro = parent.month_macro
        if parent.entry_type in _VOLUMES:
            volumes.add(parent.key)
    return volumes


@functools.lru_cache(maxsize=65536)  # a library cites the same people again and again
def _person(name: str) -> str:
    """One BibTeX name shown first-name-first in Unicode ("Müller, Jr., Hans" → "Hans Müller Jr.")."""
    try:
        parts = parse_single_name_into_parts(name, strict=False)
    except Exception:  # bibtexparser's name splitter rejects some odd names: keep them whole
        return decode_latex(name)
    return decode_latex(" ".join(" ".join(p) for p in (parts.first, parts.von, parts.last, parts.jr) if p))


def _authors(value: str) -> tuple[tuple[str, ...], bool]:
    """The names in an author field and whether it ended with ``and others``."""
    names = [n for n in split_multiple_persons_names(value) if n.strip()]
    et_al = bool(names) and names[-1].strip().lower() == "others"
    if et_al:
        names.pop()
    return tuple(p for p in map(_person, names) if p), et_al


def _published(fields: dict[str, str]) -> date | None:
    year = re.search(r"\d{4}", fields.get("year", ""))
    if not year:
        return _date_field(fields.get("date", ""))
    # A year-only entry is dated January 1st, but export writes back only the fields the entry had.
    month = month_number(decode_latex(fields.get("month", ""))) or 1
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
        return without_arxiv_version(re.sub(r"^arxiv:\s*", "", eprint, flags=re.I))
    for name in ("url", "doi", "journal", "note", "howpublished"):
        match = _ARXIV_ID.search(fields.get(name, ""))
        if match:
            return match.group(1)
    return None


def _doi(fields: dict[str, str]) -> str | None:
    match = _DOI.search(decode_latex(fields.get("doi", "")))
    return match.group().rstrip(".").lower() if match else None


def _record(entry: _Entry, warnings: list[LoadWarning]) -> PaperRecord | None:
    fields = entry.fields
    # A title made only of the user's own macros ({\MaxMinAntSystem}) decodes to nothing: show it as written.
    title = decode_latex(fields.get("title", "")) or _BRACES.sub("", fields.get("title", "")).strip()
    if not title:
        warnings.append(LoadWarning(entry.source, entry.line, f"entry {entry.key!r} has no title; skipped"))
        return None
    own = {name: value for name, value in fields.items() if name not in entry.inherited}
    authors, et_al = _authors(fields.get("author", ""))
    published = _published(fields)
    venue = fields.get("journal") or fields.get("booktitle")
    raw = dict(fields)
    if entry.month_macro is not None:
        raw["month"] = entry.month_macro  # the macro itself, written back unquoted
    return PaperRecord(
        title=title,
        abstract=unwrap(decode_latex(fields["abstract"])) if "abstract" in fields else "",
        source=entry.source,
        line=entry.line,
        kind="bibtex",
        published=published,
        n_authors=None if et_al else len(authors) or None,
        authors=authors,
        arxiv_id=_arxiv_id(own),
        doi=_doi(own),
        citekey=entry.key,
        entry_type=entry.entry_type,
        venue=decode_latex(venue) if venue else None,
        fields=raw,
    )


def parse_bibtex_files(texts: Sequence[tuple[str, str]], warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """Records of BibTeX ``(text, source)`` files read as one database (shared macros and crossrefs)."""
    entries = list(_entries(texts, warnings))
    volumes = _inherit(entries, warnings)
    found = False
    for entry in entries:
        if entry.key in volumes:
            continue
        record = _record(entry, warnings)
        if record is not None:
            found = True
            yield record
    if not found and not entries and len(texts) == 1:
        warnings.append(LoadWarning(texts[0][1], None, "no BibTeX entries found"))


def parse_bibtex(text: str, source: str, warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """Records of the entries in one BibTeX text; broken entries become warnings with their line."""
    return parse_bibtex_files([(text, source)], warnings)
