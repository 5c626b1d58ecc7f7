"""Abstracts left in the files they came from: references made where a file is parsed, read back exact,
and a file changed since it was loaded is a clear error, never wrong text."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

import paper_widgets
from paper_widgets.data import spans as spans_module
from paper_widgets.data.readers.pool import read_file
from paper_widgets.data.readers.sources import read_path
from paper_widgets.data.spans import SETTLED_NS, SourceChanged, find_spans
from paper_widgets.store import Store
from paper_widgets.store import texts as texts_module
from paper_widgets.store.texts import texts_of

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SEEDS = Path(__file__).resolve().parent.parent / "paper_widgets" / "sample_data"


def settled(*paths: Path) -> None:
    """Date the files back beyond the racy window: only then are their texts referenced."""
    past = time.time_ns() - 10 * SETTLED_NS
    for path in paths:
        os.utime(path, ns=(past, past))


def copied(sources: list[Path], folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    copies = []
    for source in sources:
        copy = folder / source.name
        shutil.copyfile(source, copy)
        copies.append(copy)
    settled(*copies)
    return copies


def parsed_abstracts(paths: list[Path]) -> dict[str, str]:
    """Every (title → abstract) the parsers give for ``paths``, read on their own (no store)."""
    found: dict[str, str] = {}
    for path in paths:
        for record in read_path(path, [], str(path)):
            found.setdefault(record.title, record.abstract)
    return found


def cached_abstracts(home: Path) -> dict[str, np.ndarray]:
    """The arrays of the abstracts of the one library cached in the store at ``home``."""
    store = Store(home)
    rows = store._read(
        lambda conn: conn.execute("SELECT name, hash FROM cache WHERE name LIKE 'library:%|texts:abstract'").fetchall()
    )
    assert len(rows) == 1, rows
    arrays = store.cache_get_arrays(*rows[0])
    assert arrays is not None
    return arrays


def referenced_share(home: Path) -> float:
    """The share of the cached library's abstracts the store keeps as references into their files."""
    arrays = cached_abstracts(home)
    return float((arrays["source_file"] >= 0).mean()) if "source_file" in arrays else 0.0


def check_round_trip(paths: list[Path], home: Path, at_least: float) -> paper_widgets.Library:
    """Loaded, then reopened from the store: every abstract is the parser's, and at least
    ``at_least`` of them are read from their files."""
    expected = parsed_abstracts(paths)
    for attempt in ("cold", "reopened"):
        lib = paper_widgets.load(*paths, store=Store(home), progress=False)
        df = lib.df
        got = dict(zip(df["title"], df["abstract"].fillna(""), strict=True))
        assert set(got) <= set(expected), attempt
        mismatched = [t for t in got if got[t] != (expected[t] or "")]
        assert not mismatched, (attempt, mismatched[:3])
        share = referenced_share(home)
        assert share >= at_least, (attempt, share)
        # a search result's rows read the same texts
        first = df.iloc[len(df) // 2]
        hits = lib.search(first["title"], limit=5)
        for title, abstract in zip(hits["title"], hits["abstract"].fillna(""), strict=True):
            assert abstract == (expected[title] or "")
    return lib


def test_find_spans_keeps_only_exact_bytes(tmp_path: Path) -> None:
    """Unicode, CRLF and non-breaking spaces: a reference is kept only where the bytes are the text."""
    text = "Résumé – naïve\u00a0spaces and ünïcödé throughout the abstract line, long enough."
    body = f"Title one\r\n\r\n{text}\r\nTitle two\r\n\r\nnot what the parser gave at all here\r\n"
    path = tmp_path / "f.txt"
    path.write_bytes(body.encode())
    settled(path)
    texts = pa.array([text, "what the parser made of it, unwrapped and so on", None, "short"], pa.large_string())
    spans = find_spans(path, texts, np.array([1, 4, 4, 4]))
    assert spans is not None
    data = path.read_bytes()
    start = int(spans.starts[0])
    assert data[start : start + len(text.encode())].decode() == text
    assert spans.starts[1:].tolist() == [-1, -1, -1]  # absent, NA, too short to pay for a reference
    path.write_bytes(body.encode())  # modified just now: racy, not referenced
    assert find_spans(path, texts, np.array([1, 4, 4, 4])) is None


def test_a_worker_references_every_abstract_of_a_dump(tmp_path: Path) -> None:
    (path,) = copied([SEEDS / "000_edcdd8834a053c0a.txt"], tmp_path)
    result = read_file(path, "seed")
    assert result.abstracts is not None and result.abstracts.spans is not None
    expected = [r.abstract for r in read_path(path, [], "seed")]
    assert result.abstracts.unpacked().to_pylist() == expected
    rows = np.array([3, 0, 3, 1])
    assert result.abstracts.take(rows).to_pylist() == [expected[i] for i in rows]
    in_file = result.abstracts.spans.starts >= 0
    assert in_file.mean() > 0.9
    assert len(result.abstracts.data) < 0.1 * sum(len(t.encode()) for t in expected)  # only the others packed


@pytest.mark.parametrize(
    ("names", "at_least"),
    [
        (["dumps/hf_search_source_citations_innertext.txt", "dumps/hf_search_longcontext_asr_from_lynx.txt"], 0.9),
        # hard-wrapped summaries, unwrapped by the parser: all stay text
        (["hf_api/2024-05-31.json", "hf_api/2025-01-10.json", "hf_api/2024-12-11.json"], 0.0),
        (["arxiv/wanng_arxiv_snapshot_head.jsonl", "arxiv/lokendra_arxiv_array.json"], 0.0),
        (["bib/d2l.bib"], 0.0),
    ],
)
def test_real_files_round_trip_exactly(tmp_path: Path, names: list[str], at_least: float) -> None:
    if not REALDATA.is_dir():
        pytest.skip(f"shared real data not found at {REALDATA}")
    paths = copied([REALDATA / name for name in names], tmp_path / "in")
    check_round_trip(paths, tmp_path / "home", at_least)


def test_seed_dumps_of_both_layouts_round_trip(tmp_path: Path) -> None:
    paths = copied(sorted(SEEDS.glob("*.txt")), tmp_path / "in")
    check_round_trip(paths, tmp_path / "home", 0.5)


def test_json_lines_with_plain_abstracts_are_referenced(tmp_path: Path) -> None:
    """JSON strings without escapes are the text's bytes; escaped ones (quotes, \\u, newlines) stay text."""
    import json

    lines = []
    for i in range(60):
        abstract = f"Plain abstract number {i} about sparse attention and retrieval at scale."
        if i % 3 == 1:
            abstract += ' With "quotes" and ünïcode\u00a0spaces.'
        lines.append(json.dumps({"id": f"2401.{i:05d}", "title": f"Paper {i}", "abstract": abstract}))
    path = tmp_path / "in" / "a.jsonl"
    path.parent.mkdir()
    path.write_text("\n".join(lines) + "\n")
    settled(path)
    check_round_trip([path], tmp_path / "home", 0.6)
    assert referenced_share(tmp_path / "home") < 1.0  # the escaped ones are compressed


def large_dump(folder: Path, files: int, per_file: int) -> list[Path]:
    """Synthetic dumps in today's card layout (every other file with CRLF), abstracts in unicode,
    every fourth with a non-breaking space."""
    rng = np.random.default_rng(3)
    words = ["sparse", "attention", "résumé", "naïve", "retrieval", "τ-scaling", "graph", "token"]
    folder.mkdir(parents=True)
    paths = []
    for f in range(files):
        cards = []
        for i in range(per_file):
            title = f"Paper {f}-{i} on " + " ".join(rng.choice(words, 4))
            abstract = " ".join(rng.choice(words, 60)).capitalize() + "."
            if i % 4 == 3:  # the parser makes a non-breaking space a space: that abstract stays text
                abstract += " A\u00a0model."
            cards.append(f"{i % 50}\n\n{title}\n\n{abstract}\n\n• {i % 7 + 1} authors\n\n·\nApr 4, 2024 0\n")
        path = folder / f"{f:02d}.txt"
        path.write_text("\n".join(cards), newline="\r\n" if f % 2 else "\n")
        paths.append(path)
    settled(*paths)
    return paths


def test_many_files_with_crlf_and_unicode_round_trip_and_reopen(tmp_path: Path) -> None:
    paths = large_dump(tmp_path / "in", 3, 40)
    lib = check_round_trip(paths, tmp_path / "home", 0.7)
    assert referenced_share(tmp_path / "home") < 0.8  # those with a non-breaking space
    arrays = cached_abstracts(tmp_path / "home")
    assert texts_of(arrays).text_bytes == sum(len(t.encode()) for t in lib.df["abstract"])
    # saved narrow: 32-bit text and file offsets, 16-bit file numbers
    assert [arrays[n].dtype for n in ("offsets", "source_start", "source_file")] == [np.uint32, np.uint32, np.int16]
    # the widths of stores written before (int64 offsets, int32 file numbers) read the same rows
    wide = dict(
        arrays, offsets=arrays["offsets"].astype(np.int64), source_start=arrays["source_start"].astype(np.int64)
    )
    wide["source_file"] = arrays["source_file"].astype(np.int32)
    rows = np.arange(len(lib.df))[::-1]
    assert (
        texts_of(wide).take(rows).tolist() == texts_of(arrays).take(rows).tolist() == lib.df["abstract"][::-1].tolist()
    )


def test_offsets_and_file_numbers_too_wide_for_the_narrow_types_are_saved_as_they_are() -> None:
    arrays = {
        "offsets": np.array([0, 1 << 32], np.int64),
        "source_start": np.array([1 << 33], np.int64),
        "source_file": np.array([1 << 15], np.int32),
        "blocks": np.zeros(2, np.int64),
    }
    saved = texts_module.narrowed(arrays)
    assert all(saved[name].dtype == arrays[name].dtype for name in arrays)
    assert texts_module.narrowed({"offsets": np.array([0, (1 << 32) - 1], np.int64)})["offsets"].dtype == np.uint32


def test_a_library_open_while_its_file_changes_says_so(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(texts_module, "LAZY_ABOVE", 0)  # abstracts read as used, as at a million papers
    paths = large_dump(tmp_path / "in", 2, 60)
    home = tmp_path / "home"
    paper_widgets.load(*paths, store=Store(home), progress=False)
    lib = paper_widgets.load(*paths, store=Store(home), progress=False)  # reopened: abstracts in the files
    expected_before = parsed_abstracts(paths)
    titles = lib._papers["title"].astype("str")  # read from their compressed column
    text = paths[0].read_bytes()
    paths[0].write_bytes(text.replace(b"graph", b"grafh"))  # same size, new mtime
    row = int(np.flatnonzero(titles.str.startswith("Paper 0-").to_numpy())[0])  # in the file
    with pytest.raises(SourceChanged, match=str(paths[0].name)) as error:
        lib._papers["abstract"].array.take([row])
    assert "load the library again" in str(error.value)
    paths[0].write_bytes(text[: len(text) // 2])  # truncated: a late paper's abstract is gone
    last = int(np.flatnonzero(titles.str.startswith("Paper 0-58 ").to_numpy())[0])
    with pytest.raises(SourceChanged, match="truncated"):
        lib._papers["abstract"].array.take([last])
    # other files' rows still read
    other = int(np.flatnonzero(titles.str.startswith("Paper 1-").to_numpy())[0])
    assert lib._papers["abstract"].array.take([other])[0].endswith(".")
    # a file touched, or copied back, with the same texts: read as before (each text checked)
    paths[0].write_bytes(text)
    settled(paths[0])
    many = np.flatnonzero(titles.str.startswith("Paper 0-").to_numpy())
    assert len(many) > spans_module._FEW_SPANS  # read through a map: checked because the signature changed
    read = lib._papers["abstract"].array.take(many)
    assert list(read) == [expected_before[t] for t in titles.take(many)]
    paths[0].write_bytes(text.replace(b"graph", b"grafh"))
    settled(paths[0])
    with pytest.raises(SourceChanged):
        lib._papers["abstract"].array.take(many)
    # loading again reads the changed file anew: its current text, never the old one
    again = paper_widgets.load(*paths, store=Store(home), progress=False)
    expected = parsed_abstracts(paths)
    df = again.df
    assert dict(zip(df["title"], df["abstract"], strict=True)) == {t: expected[t] for t in df["title"]}


def test_after_one_file_changed_the_others_abstracts_stay_in_their_files(tmp_path: Path) -> None:
    """The unchanged files' records come from their caches: their abstracts stay references, exact."""
    paths = large_dump(tmp_path / "in", 3, 40)
    home = tmp_path / "home"
    check_round_trip(paths, home, 0.7)
    share = referenced_share(home)
    paths[1].write_bytes(paths[1].read_bytes().replace(b"graph", b"GRAPH"))
    settled(paths[1])
    check_round_trip(paths, home, 0.7)
    assert referenced_share(home) == pytest.approx(share)
    assert any("GRAPH" in abstract for abstract in parsed_abstracts(paths[1:2]).values())


def test_record_caches_of_a_large_library_lend_their_titles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Titles read lazily are stored apart once: the record caches leave out those their rows hold,
    and a reload after one file changed fills them back exactly."""
    monkeypatch.setattr(texts_module, "LAZY_ABOVE", 0)  # as at a million papers
    paths = large_dump(tmp_path / "in", 3, 40)
    home = tmp_path / "home"
    check_round_trip(paths, home, 0.7)
    store = Store(home)
    caches = store._read(
        lambda conn: conn.execute("SELECT name, hash FROM cache WHERE name LIKE 'records:%'").fetchall()
    )
    assert len(caches) == 3
    for name, digest in caches:
        cached = store.cache_get_frame(name, digest)
        assert cached is not None
        frame = cached[0]
        assert frame["title_from_row"].all() and frame["title"].isna().all()
    paths[2].write_bytes(paths[2].read_bytes().replace(b"token", b"TOKEN"))
    settled(paths[2])
    check_round_trip(paths, home, 0.7)
