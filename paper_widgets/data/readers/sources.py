"""Sources stage: find the input files, detect each one's format from its content, hand it to a parser.

``load("notes/", "*.bib", "dump.txt")`` expands files, directories (recursively, hidden files and
obvious non-text skipped) and globs.  The format comes from the first bytes, never the extension:
``[`` or a multi-line ``{`` document → HF API JSON, one ``{...}`` per line → JSON-lines (arXiv
snapshot or HF objects, streamed), ``@type{`` → BibTeX, anything else → a page dump.  Page dumps
and JSON-lines are read line by line, so their size is bounded only by the records they hold.
The BibTeX files of one load are read together (:func:`read_bibtex_paths`), as BibTeX reads the
files of one ``\bibliography{abbrev,refs}``: macros and crossrefs of one resolve in the others.
"""

from __future__ import annotations

import glob
import io
import json
import os
import re
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path

from paper_widgets.data.readers.bibtex import parse_bibtex, parse_bibtex_files
from paper_widgets.data.readers.dump import parse_dump
from paper_widgets.data.readers.json import parse_json, parse_jsonl
from paper_widgets.data.records import DumpError, LoadWarning, PaperRecord

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "detect_format",
    "expand_paths",
    "is_bibtex",
    "read_bibtex_paths",
    "read_path",
    "read_text",
]

# JSON documents and BibTeX are parsed whole; above this size they get a clear error instead.
MAX_DOCUMENT_BYTES = 512 * 1024 * 1024
_HEAD_BYTES = 64 * 1024
_SKIP_SUFFIXES = frozenset(
    [
        ".png",
        ".jpg",
        ".jpeg",
        ".gif",
        ".webp",
        ".bmp",
        ".ico",
        ".svg",
        ".pdf",
        ".zip",
        ".gz",
        ".bz2",
        ".xz",
        ".tar",
        ".7z",
        ".whl",
        ".so",
        ".dylib",
        ".dll",
        ".exe",
        ".pyc",
        ".parquet",
        ".feather",
        ".sqlite",
        ".db",
        ".mp3",
        ".mp4",
        ".mov",
        ".woff",
        ".woff2",
        ".ttf",
        ".ipynb",
    ]
)
_BIBTEX_START = re.compile(r"@\s*[A-Za-z]+\s*[{(]")


def detect_format(head: str) -> str:
    """``"json"``, ``"jsonl"``, ``"bibtex"`` or ``"dump"`` from the start of a text."""
    stripped = head.lstrip("\ufeff \t\r\n")
    if stripped.startswith("["):
        return "json"
    if stripped.startswith("{"):
        first, _, rest = stripped.partition("\n")
        try:
            obj = json.loads(first)
        except ValueError:
            return "json"  # a pretty-printed document (or broken JSON: the JSON parser says where)
        return "jsonl" if isinstance(obj, dict) and rest.strip() else "json"
    for line in stripped.splitlines():
        line = line.strip()
        if line and not line.startswith("%"):
            return "bibtex" if _BIBTEX_START.match(line) else "dump"
    return "dump"


def _dispatch(
    fmt: str, text: str, source: str, warnings: list[LoadWarning], today: date | None
) -> Iterator[PaperRecord]:
    if fmt == "json":
        return parse_json(text, source, warnings)
    if fmt == "jsonl":
        return parse_jsonl(io.StringIO(text), source, warnings)
    if fmt == "bibtex":
        return parse_bibtex(text, source, warnings)
    return parse_dump(io.StringIO(text, newline=None), source, warnings, today)


def read_text(text: str, source: str, warnings: list[LoadWarning], today: date | None = None) -> list[PaperRecord]:
    """Every record in ``text`` (any format); raises :class:`DumpError` if it cannot be read at all."""
    return list(_dispatch(detect_format(text[:_HEAD_BYTES]), text, source, warnings, today))


def _decoded_lines(binary: Iterable[bytes], source: str, warnings: list[LoadWarning]) -> Iterator[str]:
    """UTF-8 lines of a file; a line with bad bytes is kept (replacement characters) with a warning."""
    for number, raw in enumerate(binary, 1):
        try:
            yield raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            warnings.append(LoadWarning(source, number, f"bytes that are not UTF-8 ({exc.reason}) replaced"))
            yield raw.decode("utf-8", errors="replace")


def read_path(
    path: Path, warnings: list[LoadWarning], source: str | None = None, today: date | None = None
) -> list[PaperRecord]:
    """Every record in the file at ``path``; raises :class:`DumpError` if it cannot be read at all."""
    source = source or str(path)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            if b"\x00" in head:
                raise DumpError("binary file (NUL bytes), not a paper dump", source)
            try:
                head_text = head.decode("utf-8")
            except UnicodeDecodeError as exc:
                if exc.start < len(head) - 4:  # not just a character cut at the 64 KiB boundary
                    line = head.count(b"\n", 0, exc.start) + 1
                    raise DumpError(f"not UTF-8 text ({exc.reason})", source, line) from exc
                head_text = head[: exc.start].decode("utf-8")
            fmt = detect_format(head_text)
            f.seek(0)
            if fmt in ("json", "bibtex"):
                size = os.fstat(f.fileno()).st_size
                if size > MAX_DOCUMENT_BYTES:
                    hint = " (convert it to JSON-lines, which is streamed)" if fmt == "json" else ""
                    raise DumpError(f"{fmt} file of {size / 2**20:.0f} MiB is too large to parse whole{hint}", source)
                data = f.read()
                try:
                    text = data.decode("utf-8-sig")
                except UnicodeDecodeError as exc:
                    line = data.count(b"\n", 0, exc.start) + 1
                    raise DumpError(f"not UTF-8 text ({exc.reason})", source, line) from exc
                return list(_dispatch(fmt, text, source, warnings, today))
            if fmt == "jsonl":  # json.loads takes the raw bytes of each line
                return list(parse_jsonl(f, source, warnings))
            return list(parse_dump(_decoded_lines(f, source, warnings), source, warnings, today))
    except OSError as exc:
        raise DumpError(f"cannot read: {exc.strerror or exc}", source) from exc


def is_bibtex(path: Path) -> bool:
    """Whether the file at ``path`` holds BibTeX (by content; an unreadable file does not)."""
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except OSError:
        return False
    return detect_format(head.decode("utf-8", errors="ignore")) == "bibtex"


def read_bibtex_paths(paths: Iterable[tuple[Path, str]], warnings: list[LoadWarning]) -> list[PaperRecord]:
    """The records of several BibTeX files read as one database; a file that cannot be read is a warning."""
    texts = []
    for path, source in paths:
        try:
            size = os.stat(path).st_size
            if size > MAX_DOCUMENT_BYTES:
                raise DumpError(f"bibtex file of {size / 2**20:.0f} MiB is too large to parse whole", source)
            data = Path(path).read_bytes()
            try:
                texts.append((data.decode("utf-8-sig"), source))
            except UnicodeDecodeError as exc:
                line = data.count(b"\n", 0, exc.start) + 1
                raise DumpError(f"not UTF-8 text ({exc.reason})", source, line) from exc
        except OSError as exc:
            warnings.append(DumpError(f"cannot read: {exc.strerror or exc}", source).as_warning())
        except DumpError as exc:
            warnings.append(exc.as_warning())
    return list(parse_bibtex_files(texts, warnings))


def _is_candidate(path: Path) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() not in _SKIP_SUFFIXES


def expand_paths(paths: Iterable[str | os.PathLike[str]], warnings: list[LoadWarning]) -> list[Path]:
    """Files named by ``paths`` (files, directories searched recursively, globs), each once, in order."""
    found: list[Path] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / name for name in sorted(files) if _is_candidate(Path(name)))
        elif path.exists():
            found.append(path)
        elif glob.has_magic(str(path)):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            files = [p for p in matches if p.is_file() and _is_candidate(p)]
            if not files:
                warnings.append(LoadWarning(str(item), None, "pattern matched no files"))
            found.extend(files)
        else:
            warnings.append(LoadWarning(str(item), None, "no such file or directory"))
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p, None)
    return list(unique)
