"""Parsing stage for JSON: the Hugging Face API and the arXiv metadata snapshot.

* HF ``/api/daily_papers`` and ``/api/papers/search``: a list of ``{"paper": {...}, ...}``;
  also a bare list of paper objects, a single paper object, the list wrapped as
  ``{"status", "date", "count", "data": [...]}``, and items saved as Python-repr strings (read
  with :func:`ast.literal_eval`, which evaluates literals only, never code).  ``id`` is the arXiv id.
* arXiv metadata snapshot: JSON-lines (or a JSON list) with ``id``, ``title``, ``abstract``,
  ``authors`` (``authors_parsed`` preferred: ``[last, first, suffix, affiliation…]``, of which
  only the first three are the name), ``doi``, ``versions`` (the first ``created`` is the
  publication date); streamed one line at a time (real files are several GB).  Without
  ``versions`` the month in a new-style id (``2305.10429`` → May 2023) is the publication date:
  ``update_date`` is when the metadata last changed, often years later, and is never used.

Summaries and abstracts are hard-wrapped in both: single line breaks are unwrapped, blank-line
paragraph breaks kept.  Nothing else in the text is touched.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from email.utils import parsedate_to_datetime

from paper_widgets.data.records import DumpError, LoadWarning, PaperRecord
from paper_widgets.data.text import month_number

__all__ = ["parse_json", "parse_jsonl", "record_from_object", "unwrap"]

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_WRAP = re.compile(r"[ \t]*\n[ \t]*")
# A break with a space or tab on either side, or a blank line; starts with "\n" so re scans for it at C speed.
_LOOSE_BREAK = re.compile(r"\n(?:[ \t\n]|(?<=[ \t]\n))")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_RFC_DATE = re.compile(r"\s*(?:[A-Za-z]{3},\s*)?(\d{1,2}) ([A-Za-z]{3}) (\d{4})\b")
# yymm of an arXiv id: "2305.10429" (since 2007) or "hep-th/9901001" (before).
_ARXIV_MONTH = re.compile(r"(?:^|/)(\d{2})(\d{2})[.\d]")
_AUTHOR_SPLIT = re.compile(r",\s*(?:and\s+)?|\s+and\s+")
# Distinct days whose dates one input keeps (a snapshot names a few thousand; the bound keeps memory flat).
_DAYS_KEPT = 4096


def unwrap(text: str) -> str:
    """``text`` with hard line wraps joined and paragraph breaks (blank lines) kept."""
    text = text.strip()
    if "\n" not in text:
        return text
    if not _LOOSE_BREAK.search(text):
        # One paragraph whose breaks have no blanks around them (most arXiv abstracts): what the
        # general regexes below give, without their try at every character.
        return text.replace("\n", " ")
    return "\n\n".join(_WRAP.sub(" ", p) for p in _PARAGRAPH.split(text))


def _date(value: object, days: dict[str, date]) -> date | None:
    """The date ``value`` names; ``days`` holds the dates of the arXiv-style days ("Mon, 2 Apr 2007")
    already read in this input: an input names far fewer days than papers."""
    if not isinstance(value, str):
        return None
    try:
        rfc = _RFC_DATE.match(value)  # arXiv "Mon, 2 Apr 2007 19:18:42 GMT", fast path
        if rfc:
            known = days.get(rfc.group())
            if known is not None:
                return known
            day, name, year = rfc.groups()
            month = month_number(name)
            if month:
                if len(days) >= _DAYS_KEPT:
                    days.clear()
                known = days[rfc.group()] = date(int(year), month, int(day))
                return known
        iso = _ISO_DATE.match(value.strip())  # never matches where the pattern above does
        if iso:
            return date(int(iso.group(1)), int(iso.group(2)), int(iso.group(3)))
        return parsedate_to_datetime(value).date()
    except (ValueError, TypeError, IndexError, OverflowError):
        return None


def _count(value: object, source: str, line: int, warnings: list[LoadWarning]) -> int | None:
    """A whole number (``3`` or ``3.0``; ``1e30`` too: the records stage bounds it), else None
    with a warning unless the value is simply absent."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if value is not None:
        warnings.append(LoadWarning(source, line, f"upvotes {str(value)[:40]!r} is not a whole number; left empty"))
    return None


def _authors(obj: dict[str, object]) -> tuple[str, ...]:
    parsed = obj.get("authors_parsed")
    if isinstance(parsed, list) and parsed:  # arXiv: [["Last", "First", "Suffix"], ...]
        names: list[str] = []
        for parts in parsed:
            if not isinstance(parts, list) or not parts:
                continue
            # [last, first, suffix, affiliation, ...]: an affiliation is not part of the name, but
            # a part that is not a string spoils the author. split/join collapses whitespace runs.
            last, first, suffix = parts if len(parts) == 3 else [*parts, "", ""][:3]
            if not (isinstance(last, str) and isinstance(first, str) and isinstance(suffix, str)):
                continue
            if len(parts) > 3 and not all(isinstance(p, str) for p in parts[3:]):
                continue
            if name := " ".join(f"{first} {last} {suffix}".split()):
                names.append(name)
        return tuple(names)
    authors = obj.get("authors")
    if isinstance(authors, str):  # arXiv: "A. One, B. Two and C. Three"
        return tuple(a for a in (x.strip() for x in _AUTHOR_SPLIT.split(unwrap(authors))) if a)
    if isinstance(authors, list):  # HF: [{"name": ...}] (or plain strings)
        given = (a.get("name") if isinstance(a, dict) else a for a in authors)
        return tuple(n.strip() for n in given if isinstance(n, str) and n.strip())
    return ()


def record_from_object(
    obj: object, source: str, line: int, warnings: list[LoadWarning], days: dict[str, date] | None = None
) -> PaperRecord | None:
    """A record from one HF item/paper object or arXiv snapshot object; ``None`` (with a warning) if unusable.

    ``days``: the same dict for every object of one input, which then reads each day's date once."""
    days = {} if days is None else days
    if isinstance(obj, str) and obj.lstrip().startswith("{"):
        try:
            obj = ast.literal_eval(obj)  # a Python-repr item: literals only, nothing runs
        except (ValueError, SyntaxError, MemoryError, RecursionError):
            warnings.append(LoadWarning(source, line, "string item is not a paper object; skipped"))
            return None
    if not isinstance(obj, dict):
        warnings.append(LoadWarning(source, line, f"expected a paper object, found {type(obj).__name__}; skipped"))
        return None
    inner = obj.get("paper")
    paper: dict[str, object] = inner if isinstance(inner, dict) else obj
    # A key missing from the paper is looked up in the item around it (HF API items).
    title = paper["title"] if "title" in paper else obj.get("title")
    if not isinstance(title, str) or not title or title.isspace():
        warnings.append(LoadWarning(source, line, "paper object without a title skipped"))
        return None
    is_arxiv = "summary" not in paper and "abstract" in paper
    abstract = paper["abstract"] if is_arxiv else paper["summary"] if "summary" in paper else obj.get("summary")
    identifier = paper.get("id")
    authors = _authors(paper)
    if is_arxiv:
        versions = paper.get("versions")
        first = versions[0] if isinstance(versions, list) and versions and isinstance(versions[0], dict) else {}
        published = _date(first.get("created"), days) or _arxiv_month(identifier)
    else:
        published = _date(paper.get("publishedAt", obj.get("publishedAt")), days)
    upvotes = None if is_arxiv else _count(paper.get("upvotes", obj.get("upvotes")), source, line, warnings)
    doi = paper.get("doi")
    # Positional arguments in the order of PaperRecord's fields: a keyword costs ~50 ns more, per record.
    return PaperRecord(
        unwrap(title),
        unwrap(abstract) if isinstance(abstract, str) else "",
        source,
        line,
        "arxiv" if is_arxiv else "hf_json",
        published,
        len(authors) or None,  # n_authors
        authors,
        upvotes,
        (identifier.strip() or None) if isinstance(identifier, str) else None,  # arxiv_id
        doi=(doi.strip().lower() or None) if isinstance(doi, str) else None,
    )


def _arxiv_month(arxiv_id: object) -> date | None:
    """The month an arXiv id was issued in (ids are numbered by submission month)."""
    match = _ARXIV_MONTH.search(arxiv_id) if isinstance(arxiv_id, str) else None
    if not match or not 1 <= int(match.group(2)) <= 12:
        return None
    yy = int(match.group(1))
    return date(2000 + yy if yy < 91 else 1900 + yy, int(match.group(2)), 1)


_DECODER = json.JSONDecoder()
# The C scanner json.loads ends in: one value at an index, no per-call encoding detection or blank skipping.
_SCAN: Callable[[str, int], tuple[object, int]] = _DECODER.scan_once  # type: ignore[attr-defined]
_SPACE = re.compile(r"[ \t\n\r]*")


def _space_end(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _error(text: str, pos: int, message: str, source: str) -> DumpError:
    line = text.count("\n", 0, pos) + 1
    return DumpError(f"malformed JSON: {message}", source, line, pos - text.rfind("\n", 0, pos))


def _items(text: str, source: str) -> Iterator[tuple[int, object]]:
    """``(line, value)`` of each top-level array item (or the one top-level object), in C-speed steps."""
    pos = _space_end(text, 0)
    line, counted = 1, 0

    def decode(at: int) -> tuple[object, int]:
        try:
            return _DECODER.raw_decode(text, at)
        except json.JSONDecodeError as exc:
            raise DumpError(f"malformed JSON: {exc.msg}", source, exc.lineno, exc.colno) from exc
        except RecursionError as exc:
            raise _error(text, at, "nested too deeply", source) from exc

    if not text.startswith("[", pos):
        value, end = decode(pos)
        if _space_end(text, end) != len(text):
            raise _error(text, _space_end(text, end), "extra data after the JSON value", source)
        yield 1, value
        return
    pos = _space_end(text, pos + 1)
    if text.startswith("]", pos):
        pos += 1
    else:
        while True:
            line += text.count("\n", counted, pos)
            counted = pos
            value, pos = decode(pos)
            yield line, value
            pos = _space_end(text, pos)
            if text.startswith(",", pos):
                pos = _space_end(text, pos + 1)
            elif text.startswith("]", pos):
                pos += 1
                break
            else:
                raise _error(text, pos, "expected ',' or ']' between list items", source)
    if _space_end(text, pos) != len(text):
        raise _error(text, _space_end(text, pos), "extra data after the JSON list", source)


def parse_json(text: str, source: str, warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """Records of a HF API JSON document (list of items, or one paper object).

    The whole document is checked before any record is produced, so malformed JSON is a
    :class:`DumpError` with line and column and never a half-loaded file.
    """
    text = text.lstrip("\ufeff")
    items = list(_items(text, source))
    single = items[0][1] if len(items) == 1 and not text.lstrip().startswith("[") else None
    wrapped = isinstance(single, dict) and isinstance(single.get("data"), list) and "title" not in single
    if wrapped:  # {"status", "date", "count", "data": [...]}
        items = [(items[0][0], item) for item in single["data"]]  # type: ignore[index]
    if not items:
        warnings.append(LoadWarning(source, 1, "empty JSON list, no papers"))
    elif single is not None and not wrapped:
        data = items[0][1]
        if not isinstance(data, dict) or not ("title" in data or isinstance(data.get("paper"), dict)):
            raise DumpError("JSON value is neither a paper nor a list of papers", source, 1, 1)
    days: dict[str, date] = {}
    for line, item in items:
        record = record_from_object(item, source, line, warnings, days)
        if record is not None:
            yield record


def _loads(line: str | bytes) -> object:
    """The JSON value on one line, with any whitespace around it."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        value, end = _SCAN(text, 0)
    except (UnicodeDecodeError, StopIteration, json.JSONDecodeError, RecursionError):
        pass  # json.loads below reads what this cannot (a BOM, UTF-16, blanks around) or says what is wrong
    else:
        if end == len(text) or text[end:] in ("\n", "\r\n"):
            return value
    try:
        return json.loads(line)
    except json.JSONDecodeError:
        # Other Unicode whitespace, or really malformed: the error counts columns from the first non-blank.
        return json.loads(line.strip())


def parse_jsonl(lines: Iterable[str | bytes], source: str, warnings: list[LoadWarning]) -> Iterator[PaperRecord]:
    """Records of a JSON-lines stream, one object per line, consumed lazily (bounded memory)."""
    found = False
    days: dict[str, date] = {}
    for number, line in enumerate(lines, 1):
        try:
            obj = _loads(line)
        except json.JSONDecodeError as exc:
            if not line.strip():
                continue
            warnings.append(
                LoadWarning(source, number, f"malformed JSON at column {exc.colno}: {exc.msg}; line skipped")
            )
            continue
        except (UnicodeDecodeError, RecursionError) as exc:
            warnings.append(LoadWarning(source, number, f"unreadable JSON line ({type(exc).__name__}); skipped"))
            continue
        record = record_from_object(obj, source, number, warnings, days)
        if record is not None:
            found = True
            yield record
    if not found:
        warnings.append(LoadWarning(source, None, "no papers found in JSON-lines input"))
