"""Bad values and bad files (issue 12 #4–#7, #13): one bad value or file is a warning, never a failed
load or a hang, and the good records around it still load."""

from __future__ import annotations

import json
import os
import re
import signal
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

import paper_widgets
from paper_widgets import PaperWidgetsWarning
from paper_widgets.data.readers.sources import detect_format, read_text
from paper_widgets.data.records import LoadWarning

GOOD = {"title": "A Good Paper About Gradients", "summary": "We study gradients.", "upvotes": 3}


@pytest.fixture(autouse=True)
def never_hangs() -> Iterator[None]:
    """A load that blocks (a FIFO opened for reading) fails the test after 20 s instead of hanging CI."""

    def timeout(*_: object) -> None:
        raise TimeoutError("the load hung")

    previous = signal.signal(signal.SIGALRM, timeout)
    signal.alarm(20)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _json(*papers: dict[str, object]) -> str:
    return json.dumps(list(papers))


def _messages(lib: paper_widgets.Library) -> str:
    return "\n".join(map(str, lib.warnings))


@pytest.mark.parametrize(
    ("bad", "column", "message"),
    [
        ({"publishedAt": "2925-01-01T00:00:00.000Z"}, "published", "date 2925-01-01 is outside 1677–2262"),
        ({"publishedAt": "1066-10-14T00:00:00.000Z"}, "published", "date 1066-10-14 is outside"),
        ({"upvotes": 99999999999999999999}, "upvotes", "upvotes above 2^63"),
        ({"upvotes": -5}, "upvotes", "upvotes negative"),
    ],
)
def test_out_of_range_value_is_a_warning_and_the_rest_of_the_record_loads(
    bad: dict[str, object], column: str, message: str
) -> None:
    hostile = {"title": "Hostile Values In A Record", "summary": "Still here.", **bad}
    with pytest.warns(PaperWidgetsWarning, match=re.escape(message)):
        lib = paper_widgets.Library.from_text(_json(GOOD, hostile), "papers.json")
    assert len(lib) == 2
    row = lib.df.set_index("title").loc["Hostile Values In A Record"]
    assert row["abstract"] == "Still here." and row[column] is not None and str(row[column]) in ("<NA>", "NaT")
    assert f"papers.json, line 1: {message}" in _messages(lib)


def test_bibtex_year_before_1677_is_a_warning() -> None:
    text = "@article{galileo, title={Sidereus Nuncius}, author={Galilei, Galileo}, year={1610}}\n"
    text += "@article{yu, title={Gradient Surgery}, author={Yu, Tianhe}, year={2020}}\n"
    with pytest.warns(PaperWidgetsWarning, match="date 1610-01-01 is outside"):
        lib = paper_widgets.Library.from_text(text, "refs.bib")
    assert sorted(lib.df["title"]) == ["Gradient Surgery", "Sidereus Nuncius"]
    assert lib.df.set_index("title").loc["Sidereus Nuncius", "authors"] == ["Galileo Galilei"]


def test_dump_author_count_beyond_int64_is_a_warning() -> None:
    dump = "A Paper With Too Many Authors\n\nAn abstract that is long enough to be one.\n\n"
    dump += "99999999999999999999 authors\n·\nJun 11, 2025 2\n"
    lib = paper_widgets.Library.from_text(dump, "dump.txt")
    assert len(lib) == 1 and str(lib.df["n_authors"].iloc[0]) == "<NA>"
    assert "number of authors above 2^63" in _messages(lib)


def test_lone_surrogate_is_replaced_with_a_warning_and_everything_downstream_works(capsys) -> None:
    hostile = {"title": "Broken \ud83d Emoji Title", "summary": "Text \udfff here.", "authors": [{"name": "A \ud800"}]}
    text = json.dumps([hostile, GOOD])
    assert "\\ud83d" in text  # the JSON escape a real API dump carries
    with pytest.warns(PaperWidgetsWarning, match="lone surrogates"):
        lib = paper_widgets.Library.from_text(text, "api.json")
    titles = set(lib.df["title"])
    assert titles == {"Broken \ufffd Emoji Title", GOOD["title"]}
    for column in ("title", "abstract"):
        "".join(lib.df[column]).encode("utf-8")  # no UnicodeEncodeError anywhere downstream
    assert not lib.search("broken emoji").empty
    key = lib.df.set_index("title").loc["Broken \ufffd Emoji Title", "key"]
    lib.cite(key, "text").encode("utf-8")
    lib.to_bibtex().encode("utf-8")


def test_note_with_a_lone_surrogate_is_saved() -> None:
    lib = paper_widgets.Library.from_text(_json(GOOD), "api.json")
    key = lib.df["key"].iloc[0]
    lib.set_note(key, "Keep this \ud83d and this")
    lib.tag(key, "bad\udc00tag")
    assert lib.note(key) == "Keep this \ufffd and this"
    assert lib.tags(key) == ["bad\ufffdtag"]


# -- files -------------------------------------------------------------------------------------------


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "dumps"
    folder.mkdir()
    (folder / "good.json").write_text(_json(GOOD))
    return folder


def test_fifo_device_link_and_symlink_loop_are_warnings_not_hangs(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    os.mkfifo(folder / "pipe.txt")
    (folder / "zero.txt").symlink_to("/dev/zero")
    (folder / "loop_a.txt").symlink_to(folder / "loop_b.txt")
    (folder / "loop_b.txt").symlink_to(folder / "loop_a.txt")
    lib = paper_widgets.load(folder)
    assert list(lib.df["title"]) == [GOOD["title"]]
    messages = _messages(lib)
    assert "pipe.txt: not a regular file (a FIFO)" in messages
    assert "zero.txt: not a regular file (a device)" in messages
    assert "loop_a.txt: cannot read: Too many levels of symbolic links" in messages
    direct = paper_widgets.load(folder / "pipe.txt", folder / "good.json")  # named directly too
    assert len(direct) == 1 and "not a regular file (a FIFO)" in _messages(direct)


def test_cr_only_line_endings_read_as_many_papers_as_from_text(tmp_path: Path) -> None:
    sample = (Path(paper_widgets.__file__).parent / "sample_data" / "000_edcdd8834a053c0a.txt").read_text()
    path = tmp_path / "old_mac.txt"
    path.write_bytes(sample.replace("\n", "\r").encode())
    expected = len(paper_widgets.Library.from_text(sample))
    assert expected > 10
    assert len(paper_widgets.load(path)) == expected


BIBTEX = "@article{yu2020, title={Gradient Surgery for Multi-Task Learning}, author={Yu, Tianhe}, year={2020}}\n"


@pytest.mark.parametrize(
    "prefix",
    [
        "This file was created with JabRef 5.1.\nEncoding: UTF-8\n\n",
        "@comment{x-kbibtex-encoding=utf-8}\n\n",
        "@Comment This file was exported from Zotero\n\n",
    ],
)
def test_bibtex_with_leading_text_or_comment_is_bibtex(tmp_path: Path, prefix: str) -> None:
    assert detect_format(prefix + BIBTEX) == "bibtex"
    path = tmp_path / "refs.txt"
    path.write_text(prefix + BIBTEX)
    lib = paper_widgets.load(path)
    assert list(lib.df["title"]) == ["Gradient Surgery for Multi-Task Learning"]
    assert lib.df["authors"].iloc[0] == ["Tianhe Yu"]


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be", "utf-16-le"])
def test_utf16_with_a_bom_is_decoded(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "refs.bib"
    text = BIBTEX if encoding == "utf-16" else "\ufeff" + BIBTEX  # "utf-16" writes its own BOM
    path.write_bytes(text.replace("Gradient", "Grädient").encode(encoding))
    lib = paper_widgets.load(path)
    assert list(lib.df["title"]) == ["Grädient Surgery for Multi-Task Learning"]


def test_unreadable_subfolder_is_a_warning(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    locked = folder / "locked"
    locked.mkdir()
    (locked / "hidden.json").write_text(_json({"title": "Locked Away Paper", "summary": "x"}))
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):
            pytest.skip("running as root: permissions do not lock a folder")
        lib = paper_widgets.load(folder)
    finally:
        locked.chmod(0o755)
    assert len(lib) == 1
    assert f"{locked}: folder skipped: Permission denied" in _messages(lib)


def test_a_flood_of_bad_lines_is_summarised_once_per_load_cached_or_not(tmp_path: Path) -> None:
    path = tmp_path / "snapshot.jsonl"
    lines = [json.dumps({"id": "2001.06782", "title": GOOD["title"], "abstract": "We study gradients."})]
    path.write_text("\n".join(lines + ["{broken"] * 5000) + "\n")
    for _ in range(2):  # the second load comes from the store's cache
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            lib = paper_widgets.load(path)
        shown = [str(w.message) for w in caught if issubclass(w.category, PaperWidgetsWarning)]
        assert len(lib) == 1 and len(lib.warnings) == 5000  # all kept on the library
        assert len(shown) == 1, shown  # one summary per load, cached or not
        assert shown[0].startswith("5000 problems while loading") and "… and 4995 more" in shown[0]


def test_read_text_bounds_values_as_files_do() -> None:
    problems: list[LoadWarning] = []
    records = read_text(_json({"title": "T", "summary": "S", "publishedAt": "2999-01-01"}), "x.json", problems)
    assert records[0].published is None and "outside" in problems[0].message


def test_from_files_given_special_files_directly_warns_instead_of_hanging(tmp_path: Path) -> None:
    folder = _folder(tmp_path)
    os.mkfifo(folder / "pipe.txt")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    files = [(folder / name, name) for name in ("pipe.txt", "loop.txt", "good.json")]
    lib = paper_widgets.Library.from_files(files)
    assert list(lib.df["title"]) == [GOOD["title"]]
    assert "pipe.txt: not a regular file (a FIFO)" in _messages(lib)
    assert "loop.txt: cannot read: Too many levels of symbolic links" in _messages(lib)


@pytest.mark.parametrize(
    ("upvotes", "expected", "message"),
    [
        (1e30, "<NA>", "upvotes above 2^63"),
        (12.0, "12", None),
        (2.5, "<NA>", "upvotes '2.5' is not a whole number"),
        ("many", "<NA>", "upvotes 'many' is not a whole number"),
        (float("inf"), "<NA>", "upvotes 'inf' is not a whole number"),
    ],
)
def test_json_upvotes_that_are_not_whole_numbers_are_warnings(
    upvotes: object, expected: str, message: str | None
) -> None:
    lib = paper_widgets.Library.from_text(json.dumps([{**GOOD, "upvotes": upvotes}]), "api.json")
    assert str(lib.df["upvotes"].iloc[0]) == expected
    assert (message in _messages(lib)) if message else not lib.warnings


def test_bad_byte_late_in_a_json_document_names_utf8_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "big.json"
    body = json.dumps([GOOD] * 2000, indent=1).encode()  # > 64 KiB: the head decodes fine
    path.write_bytes(body[:-10] + b"\xff" + body[-10:])
    lib = paper_widgets.load(path)
    assert len(lib) == 0
    line = body.count(b"\n", 0, len(body) - 10) + 1
    assert f"{path}, line {line}: not UTF-8 text (invalid start byte)" in _messages(lib)
