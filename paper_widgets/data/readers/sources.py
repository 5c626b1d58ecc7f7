"""Sources stage: find the input files, detect each one's format from its content, hand it to a parser.

``load("notes/", "*.bib", "dump.txt")`` expands files, directories (recursively, hidden files and
obvious non-text skipped) and globs.  The format comes from the first bytes, never the extension:
``[`` or a multi-line ``{`` document → HF API JSON, one ``{...}`` per line → JSON-lines (arXiv
snapshot or HF objects, streamed), ``@type{`` → BibTeX, anything else → a page dump.  Page dumps
and JSON-lines are read line by line, so their size is bounded only by the records they hold.
Only regular files are opened (a FIFO or device would block forever, a symlink loop cannot be
resolved): anything else is a warning.  Text is UTF-8 (a BOM is honoured, UTF-16 included) with
any line endings, CR-only too.
The BibTeX files of one load are read together (:func:`read_bibtex_paths`), as BibTeX reads the
files of one ``\bibliography{abbrev,refs}``: macros and crossrefs of one resolve in the others.
"""

from __future__ import annotations

import codecs
import glob
import io
import json
import os
import re
import stat
from collections.abc import Iterable, Iterator
from datetime import date
from itertools import chain, compress, count
from operator import not_
from pathlib import Path

from paper_widgets.data.readers.dump import parse_dump
from paper_widgets.data.readers.json import parse_json, parse_jsonl
from paper_widgets.data.records import DumpError, LoadWarning, PaperRecord, bounded

__all__ = [
    "MAX_DOCUMENT_BYTES",
    "check_regular",
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
# After leading free text (a Zotero or JabRef banner), a line opening an entry with a brace.
_BIBTEX_ENTRY_LINE = re.compile(r"^@\s*[A-Za-z]+\s*\{", re.MULTILINE)
_UTF16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)
_UNDECODABLE = re.compile("[\udc80-\udcff]")  # what surrogateescape makes of bytes that are not UTF-8
_CHUNK_BYTES = 1 << 20  # a dump is read this much at a time: memory stays flat in the file's size


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
            return "bibtex" if _BIBTEX_START.match(line) or _BIBTEX_ENTRY_LINE.search(stripped) else "dump"
    return "dump"


def _dispatch(
    fmt: str, text: str, source: str, warnings: list[LoadWarning], today: date | None
) -> Iterator[PaperRecord]:
    if fmt == "json":
        return parse_json(text, source, warnings)
    if fmt == "jsonl":
        return parse_jsonl(io.StringIO(text), source, warnings)
    if fmt == "bibtex":
        from paper_widgets.data.readers.bibtex import parse_bibtex  # bibtexparser: only for BibTeX (see below)

        return parse_bibtex(text, source, warnings)
    return parse_dump(io.StringIO(text, newline=None), source, warnings, today)


def read_text(text: str, source: str, warnings: list[LoadWarning], today: date | None = None) -> list[PaperRecord]:
    """Every record in ``text`` (any format); raises :class:`DumpError` if it cannot be read at all."""
    return list(bounded(_dispatch(detect_format(text[:_HEAD_BYTES]), text, source, warnings, today), warnings))


def _decoded_lines(binary: io.BufferedReader, source: str, warnings: list[LoadWarning]) -> Iterator[str]:
    """UTF-8 lines of a file (without their line ends), any line endings; a line with bad bytes is
    kept (replacement characters) with a warning."""

    def batches() -> Iterator[list[str]]:
        first = 1  # the number of the batch's first line
        unfinished: list[bytes] = []  # the start of a line the next chunks finish (joined once: linear)
        # ~1 MB at a time, cut after its last line end (never inside a character: line ends are ASCII).
        # A final CR is left to the next chunk: it may be a CRLF's first half.
        while chunk := binary.read(_CHUNK_BYTES):
            cut = max(chunk.rfind(b"\n"), chunk.rfind(b"\r", 0, len(chunk) - 1)) + 1
            if not cut:
                unfinished.append(chunk)
                continue
            batch = _lines(b"".join([*unfinished, chunk[:cut]]), first, source, warnings)
            batch.pop()  # what follows the last line end: nothing
            yield batch
            first += len(batch)
            unfinished = [chunk[cut:]]
        if rest := b"".join(unfinished):
            batch = _lines(rest, first, source, warnings)
            if not batch[-1]:  # the file ends with a line end (a CR, left to this last chunk)
                batch.pop()
            yield batch

    # The lines of each batch handed on by a C-level chain, not by resuming a generator per line.
    return chain.from_iterable(batches())


def _lines(data: bytes, first: int, source: str, warnings: list[LoadWarning]) -> list[str]:
    """The lines of ``data`` (numbered from ``first``; the last is what follows the last line end), any
    line endings, undecodable bytes replaced (see :func:`_repaired`).

    Line ends are made LF and the lines split as bytes (CR and LF are never part of a UTF-8
    character), then each line decoded strictly: ~30 % faster than decoding the chunk whole, which a
    single "•" makes a two-byte-per-character string that every line is then narrowed from; and a
    strict decode leaves nothing to repair.  A chunk with bad bytes (rare) takes the general way."""
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    try:
        return list(map(bytes.decode, data.split(b"\n")))
    except UnicodeDecodeError:
        return _repaired(data.decode("utf-8", "surrogateescape").split("\n"), first, source, warnings)


def _repaired(batch: list[str], first: int, source: str, warnings: list[LoadWarning]) -> list[str]:
    """``batch`` (lines numbered from ``first``) with undecodable bytes replaced, one warning per line."""
    unusual = list(compress(count(), map(not_, map(str.isascii, batch))))
    # One search over the non-ASCII lines together; line by line only where it finds bad bytes.
    if _UNDECODABLE.search("".join(map(batch.__getitem__, unusual))):
        for at in compress(unusual, map(_UNDECODABLE.search, map(batch.__getitem__, unusual))):
            warnings.append(LoadWarning(source, first + at, "bytes that are not UTF-8 replaced"))
            batch[at] = batch[at].encode("utf-8", "surrogateescape").decode("utf-8", errors="replace")
    return batch


def check_regular(path: Path, source: str) -> None:
    """DumpError unless ``path`` is a regular file: opening a FIFO or a device blocks or never ends,
    and a symlink loop has nothing to open."""
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise DumpError(f"cannot read: {exc.strerror or exc}", source) from exc
    if not stat.S_ISREG(mode):
        kind = "a FIFO" if stat.S_ISFIFO(mode) else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else None
        raise DumpError(f"not a regular file ({kind or 'a socket or directory'}); skipped", source)


def _encoding(head: bytes) -> str:
    """UTF-16 when a UTF-16 byte order mark starts ``head``, else UTF-8 (its BOM skipped if present)."""
    return "utf-16" if head.startswith(_UTF16_BOMS) else "utf-8-sig"


def _read_whole(binary: io.BufferedIOBase, fmt: str, source: str, encoding: str) -> str:
    size = os.fstat(binary.fileno()).st_size
    if size > MAX_DOCUMENT_BYTES:
        hint = " (convert it to JSON-lines, which is streamed)" if fmt == "json" else ""
        raise DumpError(f"{fmt} file of {size / 2**20:.0f} MiB is too large to parse whole{hint}", source)
    data = binary.read()
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise DumpError(f"not {encoding.upper().removesuffix('-SIG')} text ({exc.reason})", source, line) from exc


def read_path(
    path: Path, warnings: list[LoadWarning], source: str | None = None, today: date | None = None
) -> list[PaperRecord]:
    """Every record in the file at ``path``; raises :class:`DumpError` if it cannot be read at all."""
    source = source or str(path)
    check_regular(path, source)
    try:
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
            f.seek(0)
            if _encoding(head) == "utf-16":  # read whole: lines of UTF-16 are not byte lines
                return read_text(_read_whole(f, "UTF-16", source, "utf-16"), source, warnings, today)
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
            if fmt in ("json", "bibtex"):
                records = _dispatch(fmt, _read_whole(f, fmt, source, "utf-8-sig"), source, warnings, today)
            elif fmt == "jsonl":  # json.loads takes the raw bytes of each line
                records = parse_jsonl(f, source, warnings)
            else:
                records = parse_dump(_decoded_lines(f, source, warnings), source, warnings, today)
            return list(bounded(records, warnings))
    except OSError as exc:
        raise DumpError(f"cannot read: {exc.strerror or exc}", source) from exc


def is_bibtex(path: Path) -> bool:
    """Whether the file at ``path`` holds BibTeX (by content; an unreadable or special file does not)."""
    try:
        check_regular(path, str(path))
        with open(path, "rb") as f:
            head = f.read(_HEAD_BYTES)
    except (OSError, DumpError):
        return False
    return detect_format(head.decode(_encoding(head), errors="ignore")) == "bibtex"


def read_bibtex_paths(paths: Iterable[tuple[Path, str]], warnings: list[LoadWarning]) -> list[PaperRecord]:
    """The records of several BibTeX files read as one database; a file that cannot be read is a warning."""
    texts = []
    for path, source in paths:
        try:
            check_regular(Path(path), source)
            with open(path, "rb") as f:
                texts.append((_read_whole(f, "bibtex", source, _encoding(f.peek(4)[:4])), source))
        except OSError as exc:
            warnings.append(DumpError(f"cannot read: {exc.strerror or exc}", source).as_warning())
        except DumpError as exc:
            warnings.append(exc.as_warning())
    # Imported here: bibtexparser and pylatexenc are a tenth of importing paper_widgets, and a reopened
    # library (or one without .bib files) never parses BibTeX.
    from paper_widgets.data.readers.bibtex import parse_bibtex_files

    return list(bounded(parse_bibtex_files(texts, warnings), warnings))


def _is_candidate(path: Path) -> bool:
    return not path.name.startswith(".") and path.suffix.lower() not in _SKIP_SUFFIXES


def _regular(path: Path, warnings: list[LoadWarning]) -> bool:
    """Whether ``path`` is a regular file to read; a special file or a symlink loop is a warning."""
    try:
        check_regular(path, str(path))
    except DumpError as exc:
        warnings.append(exc.as_warning())
        return False
    return True


def expand_paths(paths: Iterable[str | os.PathLike[str]], warnings: list[LoadWarning]) -> list[Path]:
    """Regular files named by ``paths`` (files, directories searched recursively, globs), each once,
    in order; special files, symlink loops and unreadable folders are warnings."""
    found: list[Path] = []
    for item in paths:
        path = Path(item).expanduser()
        if path.is_dir():

            def unreadable(error: OSError) -> None:
                warnings.append(LoadWarning(error.filename, None, f"folder skipped: {error.strerror or error}"))

            for root, dirs, files in os.walk(path, onerror=unreadable):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                found.extend(Path(root) / name for name in sorted(files) if _is_candidate(Path(name)))
        elif os.path.lexists(path):
            found.append(path)
        elif glob.has_magic(str(path)):
            matches = sorted(Path(p) for p in glob.glob(str(path), recursive=True))
            matched = [p for p in matches if not p.is_dir() and _is_candidate(p)]
            if not matched:
                warnings.append(LoadWarning(str(item), None, "pattern matched no files"))
            found.extend(matched)
        else:
            warnings.append(LoadWarning(str(item), None, "no such file or directory"))
    unique: dict[Path, None] = {}
    for p in found:
        unique.setdefault(p, None)
    return [p for p in unique if _regular(p, warnings)]
