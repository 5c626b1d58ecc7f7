"""Path expansion, format detection from content, and bad files."""

from __future__ import annotations

import io
import json
from pathlib import Path
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.readers import sources
from paper_widgets.data.readers.sources import detect_format, expand_paths, read_path, read_text
from paper_widgets.data.records import DumpError, LoadWarning

ABSTRACT = "We propose a method. It works well on many benchmarks and we release code."


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        ('[{"paper": {}}]', "json"),
        ('\ufeff  {\n  "title": "x"\n}', "json"),
        ('{"title": "x"}', "json"),
        ('{"id": "1", "title": "x"}\n{"id": "2", "title": "y"}\n', "jsonl"),
        ("% comment\n\n@article{k,\n title={x}}", "bibtex"),
        ("@misc(k, title={x})", "bibtex"),
        ("Title\nAbstract with @article{inside}.\n", "dump"),
        ("", "dump"),
    ],
)
def test_format_is_detected_from_content(head: str, fmt: str) -> None:
    assert detect_format(head) == fmt


def test_extension_does_not_matter(tmp_path: Path) -> None:
    path = tmp_path / "papers.txt"
    path.write_text(json.dumps([{"paper": {"id": "2001.06782", "title": "T", "summary": "S"}}]))
    records = read_path(path, [])
    assert [(r.kind, r.arxiv_id, r.source) for r in records] == [("hf_json", "2001.06782", str(path))]


def test_read_text_dispatches_every_format() -> None:
    assert (
        read_text('{"id": "1", "title": "A", "abstract": "x"}\n{"id": "2", "title": "B", "abstract": "y"}', "s", [])[
            1
        ].kind
        == "arxiv"
    )
    assert read_text("@misc{k, title={A}}", "s", [])[0].kind == "bibtex"
    assert read_text(f"A Title\n{ABSTRACT}", "s", [])[0].kind == "pair"


def test_binary_file_is_dump_error(tmp_path: Path) -> None:
    path = tmp_path / "image.dat"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(DumpError, match="binary file") as info:
        read_path(path, [])
    assert info.value.source == str(path)


def test_undecodable_bytes_are_dump_error_with_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.txt"
    path.write_bytes(b"Title\n" + "Abstract with caf\xe9 and na\xefve words.\n".encode("latin-1") * 3)
    with pytest.raises(DumpError, match="not UTF-8") as info:
        read_path(path, [])
    assert info.value.line == 2


def test_undecodable_line_late_in_large_dump_is_a_warning(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    good = f"A Title\n{ABSTRACT}\n".encode() * 2000  # well past the 64 KiB sniffed head
    path.write_bytes(good + b"Bad \xff Title\n" + ABSTRACT.encode() + b"\n")
    warnings: list[LoadWarning] = []
    records = read_path(path, warnings)
    assert len(records) == 2001 and records[-1].title == "Bad \ufffd Title"
    assert [(w.line, "not UTF-8" in w.message) for w in warnings] == [(4001, True)]


def test_malformed_json_file_is_dump_error_with_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "daily.json"
    path.write_text('[\n  {"paper": {"title": "A"}},\n  {"paper": {"title": "B"}\n]')
    with pytest.raises(DumpError) as info:
        read_path(path, [])
    assert (info.value.line, info.value.column) == (4, 1)


def test_too_large_json_document_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("paper_widgets.data.readers.sources.MAX_DOCUMENT_BYTES", 10)
    path = tmp_path / "big.json"
    path.write_text('[{"title": "A long enough document"}]')
    with pytest.raises(DumpError, match=r"too large.*JSON-lines"):
        read_path(path, [])


def test_missing_file_is_dump_error(tmp_path: Path) -> None:
    with pytest.raises(DumpError, match="cannot read"):
        read_path(tmp_path / "nope.txt", [])


def test_expand_paths_files_dirs_globs(tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x")
    (tmp_path / "sub" / ".git").mkdir(parents=True)
    (tmp_path / "sub" / "b.bib").write_text("x")
    (tmp_path / "sub" / ".hidden.txt").write_text("x")
    (tmp_path / "sub" / "logo.png").write_bytes(b"x")
    (tmp_path / "sub" / ".git" / "HEAD").write_text("x")
    (tmp_path / "c.json").write_text("x")
    warnings: list[LoadWarning] = []
    found = expand_paths(
        [
            tmp_path / "sub",
            str(tmp_path / "*.txt"),
            tmp_path / "a.txt",
            tmp_path / "c.json",
            tmp_path / "missing.txt",
            str(tmp_path / "*.none"),
        ],
        warnings,
    )
    assert found == [tmp_path / "sub" / "b.bib", tmp_path / "a.txt", tmp_path / "c.json"]
    assert [w.message for w in warnings] == ["no such file or directory", "pattern matched no files"]


_PIECES = [b"a", b"b c", b"\n", b"\r", b"\r\n", "é".encode(), "•".encode(), "€".encode()[:2], b"\xff", b"\xed\xa0\x80"]


@given(st.lists(st.sampled_from(_PIECES), max_size=40), st.sampled_from([1, 2, 3, 7, 1 << 20]))
@settings(max_examples=400, deadline=None)
def test_dump_lines_are_those_of_universal_newlines_whatever_the_chunks(pieces: list[bytes], chunk: int) -> None:
    """A dump's lines and their bad-bytes warnings are those of a universal-newline reading of the whole
    file, however its chunks cut it (between CR and LF, inside a character, on a bad byte)."""
    data = b"".join(pieces)
    text = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", errors="surrogateescape", newline=None).read()
    expected = text.split("\n")
    if not expected[-1]:
        expected.pop()
    expected_warnings = [
        LoadWarning("s", number, "bytes that are not UTF-8 replaced")
        for number, line in enumerate(expected, 1)
        if any("\udc80" <= ch <= "\udcff" for ch in line)
    ]
    expected = [line.encode("utf-8", "surrogateescape").decode("utf-8", "replace") for line in expected]
    found: list[LoadWarning] = []
    with patch.object(sources, "_CHUNK_BYTES", chunk):
        lines = list(sources._decoded_lines(io.BufferedReader(io.BytesIO(data)), "s", found))
    assert lines == expected
    assert found == expected_warnings
