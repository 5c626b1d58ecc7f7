"""Citekeys and a new store's key records are, byte for byte, those of the row-by-row code they replaced.

The citekeys are worked out by Arrow kernels over all titles and a new store records them in bulk
(numpy over all rows, one ``json_each`` insert).  :func:`reference_keys` and
:func:`reference_records` below are the code they replaced (paper_widgets 313c9e4), one row at a
time: every key, every suffix, the keys pinned by a .bib, the papers' ids and their identities must
come out the same, on the real public files in ``../shared/realdata``, the bundled samples and
papers made to clash.
"""

from __future__ import annotations

import random
import warnings
from collections.abc import Iterator
from itertools import count, groupby, product
from pathlib import Path
from string import ascii_lowercase

import pandas as pd
import pytest

import paper_widgets as pw
from paper_widgets.data.citekeys import _surname, _title_part, assign_keys, paper_identity
from paper_widgets.store import Store, db
from paper_widgets.store.schema import identity_hashes

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SAMPLES = sorted(p for p in (Path(pw.__file__).parent / "sample_data").iterdir() if p.suffix == ".txt")
REAL_SETS = {
    "d2l": ["bib/d2l.bib"],
    "cdl": ["bib/cdl.bib"],
    "iridia": [f"bib/iridia_{n}.bib" for n in ("abbrev", "journals", "authors", "articles", "biblio", "crossref")],
    "aibasel": [f"bib/aibasel_{n}.bib" for n in ("abbrv", "literatur", "crossref")],
    "hf_api": sorted(str(p.relative_to(REALDATA)) for p in (REALDATA / "hf_api").glob("*.json")),
    "arxiv": ["arxiv/wanng_arxiv_snapshot_head.jsonl", "arxiv/lokendra_arxiv_array.json"],
    "dumps": [f"dumps/{p.name}" for p in sorted((REALDATA / "dumps").glob("*.txt"))] if REALDATA.is_dir() else [],
}


# -- the row-by-row code ---------------------------------------------------------------------------


def reference_base_key(title: object, authors: object, published: object) -> str:
    first = authors[0].strip() if isinstance(authors, list | tuple) and authors and isinstance(authors[0], str) else ""
    year = "" if pd.isna(published) else str(pd.Timestamp(published).year)
    key = _surname(first) + _title_part("" if pd.isna(title) else str(title)) + year
    return key if key[:1].isalpha() else "paper" + key


def _suffixes() -> Iterator[str]:
    yield ""
    for length in count(1):
        for letters in product(ascii_lowercase, repeat=length):
            yield "".join(letters)


def reference_keys(frame: pd.DataFrame, taken_keys: list[str] = ()) -> list[str]:
    """``assign_keys(frame, reserved)`` one row at a time, where ``reserved`` only holds keys that
    are taken (``taken_keys``: no row has their identity)."""
    rows = list(frame[["title", "authors", "published", "arxiv_id"]].itertuples(index=False))
    base = [reference_base_key(r.title, r.authors, r.published) for r in rows]
    folded = [key.lower() for key in base]
    reserved = {key.lower() for key in taken_keys}
    clashes = {f for f in folded if folded.count(f) > 1} if len(rows) < 2000 else _repeated(folded)
    clashing = [i for i, f in enumerate(folded) if f in clashes or f in reserved]
    ident = {
        i: paper_identity("" if pd.isna(rows[i].title) else str(rows[i].title), rows[i].arxiv_id) for i in clashing
    }
    title = {i: "" if pd.isna(rows[i].title) else str(rows[i].title) for i in clashing}
    clashing.sort(key=lambda i: (folded[i], base[i], ident[i], title[i]))
    keys = list(base)
    taken = reserved | set(folded)
    for folded_key, group in groupby(clashing, key=folded.__getitem__):
        suffixes = _suffixes()
        if folded_key in reserved:
            next(suffixes)
        for i in group:
            key = base[i] + next(suffixes)
            while key != base[i] and key.lower() in taken:
                key = base[i] + next(suffixes)
            taken.add(key.lower())
            keys[i] = key
    return keys


def _repeated(values: list[str]) -> set[str]:
    seen: set[str] = set()
    return {v for v in values if v in seen or seen.add(v)}  # type: ignore[func-returns-value]


def reference_records(frame: pd.DataFrame) -> tuple[list[str], dict[str, list[tuple[object, ...]]]]:
    """The keys a new store gives ``frame`` and the rows it records (papers without their time)."""
    own: dict[int, str] = {}
    claimed: set[str] = set()
    for i, cell in enumerate(frame["citekeys"] if "citekeys" in frame.columns else []):
        if isinstance(cell, list | tuple) and cell and cell[0].lower() not in claimed:
            own[i] = cell[0]
            claimed.add(cell[0].lower())
    generated = [i for i in range(len(frame)) if i not in own]
    keys = [""] * len(frame)
    for i, key in own.items():
        keys[i] = key
    for i, key in zip(generated, reference_keys(frame.iloc[generated], list(own.values())), strict=True):
        keys[i] = key
    titles = ["title:" + paper_identity(t if isinstance(t, str) else "", None)[6:] for t in frame["title"]]
    idents = [
        paper_identity(t if isinstance(t, str) else "", a)
        for t, a in zip(frame["title"], frame["arxiv_id"], strict=True)
    ]
    fresh: list[tuple[int, bool]] = []  # (row, owns its identity): pinned rows first
    seen: set[str] = set()
    for i in [*own, *generated]:
        if i in own or idents[i] not in seen:
            fresh.append((i, idents[i] not in seen))
        seen.add(idents[i])
    ids = {row: n + 1 for n, (row, _) in enumerate(sorted(fresh, key=lambda f: keys[f[0]]))}
    papers = sorted((ids[row], keys[row], int(row in own), None) for row, _ in fresh)
    best: dict[str, tuple[int, int, int]] = {}  # identity → (precedence, paper id, is arXiv id)
    for place, (row, owned) in enumerate(fresh):
        if not owned:
            continue
        arxiv = idents[row] != titles[row]
        for identity, is_arxiv in [(idents[row], int(arxiv))] + ([(titles[row], 0)] if arxiv else []):
            best[identity] = min(best.get(identity, (place + 1, ids[row], is_arxiv)), (place + 1, ids[row], is_arxiv))
    hashed = dict(zip(best, identity_hashes(list(best)), strict=True))
    identities = sorted((hashed[i], pid, arxiv) for i, (_, pid, arxiv) in best.items())
    return keys, {"papers": papers, "identities": identities}


# -- the comparisons ----------------------------------------------------------------------------------


def stored(store: Store) -> dict[str, list[tuple[object, ...]]]:
    def read(conn) -> dict[str, list[tuple[object, ...]]]:  # type: ignore[no-untyped-def]
        papers = conn.execute("SELECT paper_id, key, pinned, used FROM papers ORDER BY paper_id").fetchall()
        identities = conn.execute("SELECT * FROM identities ORDER BY identity_hash").fetchall()
        return {"papers": papers, "identities": identities}

    return store._read(read)


def merged_frame(files: list[Path], tmp_path: Path) -> pd.DataFrame:
    """The merged rows (before keys) of ``files``, as a load hands them to the key registry."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # (the real files' own problems are test_realdata's)
        lib = pw.load(*files, store=tmp_path / "load")
    return lib.df.drop(columns=["key", "abstract", "note", "tags", "status"], errors="ignore")


def clash_prone(n: int, seed: int) -> pd.DataFrame:
    """``n`` papers with few title words, stop words, hyphens, accents, a handful of surnames, repeated
    titles, arXiv ids with and without versions and some .bib keys of their own."""
    rng = random.Random(seed)
    words = ["deep", "learning", "of", "the", "multi-task", "naïve", "Müller's", "graph", "for", "a", "3D", "王", "on"]
    names = ["Tianhe Yu", "Yu, Tianhe", "Ann Müller", "Bo Smith Jr.", "Zoë Åberg", "王 小明", "", "de la Cruz"]
    rows = []
    for i in range(n):
        name = rng.choice(names)
        rows.append(
            {
                "title": " ".join(rng.choices(words, k=rng.randint(1, 6))).capitalize() if rng.random() > 0.02 else "",
                "authors": [name] if name else [],
                "published": f"{rng.randint(2019, 2024)}-0{rng.randint(1, 9)}-01" if rng.random() > 0.05 else None,
                "arxiv_id": f"24{rng.randint(1, 12):02d}.{rng.randint(0, n):05d}" + rng.choice(["", "v2"])
                if rng.random() > 0.6
                else None,
                "citekeys": [f"own{i % 50}", f"extra{i}"] if rng.random() < 0.02 else [],
            }
        )
    frame = pd.DataFrame(rows)
    frame["published"] = pd.to_datetime(frame["published"])
    return frame


@pytest.mark.parametrize("name", sorted(REAL_SETS))
def test_real_files_get_the_keys_and_records_of_the_row_by_row_code(name: str, tmp_path: Path) -> None:
    if not REALDATA.is_dir():
        pytest.skip(f"real public data not found at {REALDATA} (the shared folder next to the repo)")
    frame = merged_frame([REALDATA / f for f in REAL_SETS[name]], tmp_path)
    assert len(frame) > 10
    keys, records = reference_records(frame)
    store = Store(tmp_path / "new")
    assert store.assign_keys(frame).tolist() == keys
    assert stored(store) == records
    without_own = frame.drop(columns=["citekeys"])
    assert assign_keys(without_own).tolist() == reference_keys(without_own)


def test_samples_get_the_keys_and_records_of_the_row_by_row_code(tmp_path: Path) -> None:
    frame = merged_frame(SAMPLES, tmp_path)
    keys, records = reference_records(frame)
    store = Store(tmp_path / "new")
    assert store.assign_keys(frame).tolist() == keys
    assert stored(store) == records
    assert pw.load(*SAMPLES, store=tmp_path / "again").df["key"].tolist() == sorted(keys)


@pytest.mark.filterwarnings("ignore:citekey .* is given to rows")  # a key of their own given twice, on purpose
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_clash_prone_papers_get_the_keys_and_records_of_the_row_by_row_code(
    seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = clash_prone(3000, seed)
    keys, records = reference_records(frame)
    assert sum(k[-1:].isalpha() and k[:-1] in set(keys) for k in keys) > 100  # many suffixed keys
    store = Store(tmp_path / "new")
    assert store.assign_keys(frame).tolist() == keys
    assert stored(store) == records
    monkeypatch.setattr(db, "_JSON_ROWS", 7)  # a million rows are inserted a chunk at a time
    store = Store(tmp_path / "in chunks")
    assert store.assign_keys(frame).tolist() == keys
    assert stored(store) == records
    assert assign_keys(frame).tolist() == reference_keys(frame)
