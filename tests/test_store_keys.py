"""The key registry: pinned user citekeys, aliases that keep resolving, keys that improve until used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import paper_widgets as pw
from paper_widgets.store import Store
from paper_widgets.store.schema import SCHEMA_VERSION, identity_hashes, migrate

CARD = """Daily Papers

Gradient Surgery for Multi-Task Learning

While deep learning and deep reinforcement learning systems have demonstrated results. We show more.

• 6 authors
·
Jan 19, 2020
"""
BIB = """@article{Yu2020PCGrad,
  title = {Gradient Surgery for Multi-Task Learning},
  author = {Yu, Tianhe and Kumar, Saurabh},
  journal = {NeurIPS},
  year = {2020}
}
"""
HF_JSON = """[{"paper": {"id": "2001.06782", "title": "Gradient Surgery for Multi-Task Learning",
  "summary": "s", "authors": [{"name": "Tianhe Yu"}], "publishedAt": "2020-01-19T00:00:00.000Z"}}]"""


def test_user_citekey_is_pinned_and_the_old_generated_key_stays_an_alias(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    (tmp_path / "day.txt").write_text(CARD)
    first = pw.load(tmp_path / "day.txt", store=store)
    generated = first.df["key"].iloc[0]
    assert generated == "GradientSurgeryMultitask2020"
    first.set_note(generated, "my note")  # used: this key must keep working
    (tmp_path / "refs.bib").write_text(BIB)
    both = pw.load(tmp_path / "day.txt", tmp_path / "refs.bib", store=store)
    assert both.df["key"].tolist() == ["Yu2020PCGrad"]
    assert both[generated]["key"] == "Yu2020PCGrad" and generated in both
    assert both.note(generated) == both.note("Yu2020PCGrad") == "my note"
    assert both.cite(generated, style="pandoc") == "[@Yu2020PCGrad]"
    # A later load without the .bib still uses the user's key: pinned keys never change.
    again = pw.load(tmp_path / "day.txt", store=store)
    assert again.df["key"].tolist() == ["Yu2020PCGrad"]


def test_an_unused_key_improves_once_authors_are_known_but_a_used_one_never_does(tmp_path: Path) -> None:
    (tmp_path / "day.txt").write_text(CARD)
    (tmp_path / "hf.json").write_text(HF_JSON)
    store = Store(tmp_path / "a")
    assert pw.load(tmp_path / "day.txt", store=store).df["key"].tolist() == ["GradientSurgeryMultitask2020"]
    improved = pw.load(tmp_path / "day.txt", tmp_path / "hf.json", store=store)
    assert improved.df["key"].tolist() == ["yuGradientSurgeryMultitask2020"]
    assert "GradientSurgeryMultitask2020" in improved  # the earlier key still resolves

    store = Store(tmp_path / "b")
    cited = pw.load(tmp_path / "day.txt", store=store)
    cited.cite("GradientSurgeryMultitask2020")
    later = pw.load(tmp_path / "day.txt", tmp_path / "hf.json", store=store)
    assert later.df["key"].tolist() == ["GradientSurgeryMultitask2020"]


def test_every_citekey_of_a_paper_listed_twice_in_a_bib_resolves(tmp_path: Path) -> None:
    bib = BIB + BIB.replace("Yu2020PCGrad", "yu_pcgrad").replace("journal = {NeurIPS}", "journal = {NeurIPS 2020}")
    (tmp_path / "refs.bib").write_text(bib)
    lib = pw.load(tmp_path / "refs.bib", store=tmp_path / "s")
    assert len(lib) == 1 and lib.df["key"].tolist() == ["Yu2020PCGrad"]
    assert lib["yu_pcgrad"]["key"] == "Yu2020PCGrad" and "yu_pcgrad" in lib


def test_generated_keys_never_repeat_a_pinned_key_in_another_case(tmp_path: Path) -> None:
    bib = "@misc{yuGradientSurgeryMultitask2020, title = {Another Paper Entirely}, year = 2021}\n"
    (tmp_path / "refs.bib").write_text(bib)
    (tmp_path / "hf.json").write_text(HF_JSON)
    lib = pw.load(tmp_path / "refs.bib", tmp_path / "hf.json", store=tmp_path / "s")
    keys = lib.df["key"].tolist()
    assert len({k.lower() for k in keys}) == 2 and "yuGradientSurgeryMultitask2020" in keys


def test_migration_5_keeps_v4_databases(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "old.sqlite3", isolation_level=None)
    migrate(conn, 4)
    conn.execute("INSERT INTO papers (paper_id, key, created) VALUES (1, 'oldKey2020', 0)")
    migrate(conn)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("SELECT key, pinned, used FROM papers").fetchall() == [("oldKey2020", 0, None)]
    assert conn.execute("SELECT count(*) FROM key_aliases").fetchone()[0] == 0


def test_citing_a_key_already_in_use_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "day.txt").write_text(CARD)
    lib = pw.load(tmp_path / "day.txt", store=tmp_path / "s")
    key = lib.df["key"].iloc[0]
    lib.cite(key)
    revision = lib.store.revision()
    lib.cite(key)
    lib.to_bibtex([key])
    assert lib.store.revision() == revision  # lib.df keeps its annotations: no re-read after a cite


def _frame(titles: list[str], arxiv_ids: list[str | None]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "title": titles,
            "authors": [["Ann Lee"]] * len(titles),
            "published": pd.to_datetime(["2021-03-01"] * len(titles)),
            "arxiv_id": arxiv_ids,
        }
    )


def test_bulk_recording_stores_identity_hashes_and_numbers_papers_in_key_order(tmp_path: Path) -> None:
    store = Store(tmp_path)
    conn = store._connection()
    # A first open (more new identities than stored ones: the bulk path), in reverse key order.
    titles = [f"Zeta {i:02d} study" for i in range(30)][::-1]
    arxiv_ids = [f"2103.{i:05d}" for i in range(30)]
    keys = store.assign_keys(_frame(titles, arxiv_ids)).tolist()
    ids = dict(conn.execute("SELECT key, paper_id FROM papers").fetchall())
    assert [ids[k] for k in sorted(keys)] == sorted(ids.values())  # ids follow the keys
    # Both identities (arXiv id, title) of every paper, as their hashes, the arXiv one flagged.
    stored = conn.execute("SELECT identity_hash, paper_id, arxiv FROM identities").fetchall()
    expected = set()
    for key, title, arxiv_id in zip(keys, titles, arxiv_ids, strict=True):
        arxiv_hash, title_hash = identity_hashes([f"arxiv:{arxiv_id}", f"title:{title.lower()}"])
        expected |= {(arxiv_hash, ids[key], 1), (title_hash, ids[key], 0)}
    assert set(stored) == expected
    # No index beside the table: the hash is the row id, and nothing looks identities up by paper.
    assert (
        conn.execute("SELECT count(*) FROM sqlite_master WHERE tbl_name = 'identities' AND type = 'index'").fetchone()[
            0
        ]
        == 0
    )
    # A later small batch keeps the known keys, finds a paper by its title when it has no arXiv id
    # here, and records a new one.
    again = store.assign_keys(_frame([*titles[:2], "Alpha new study"], ["2103.00000", None, None])).tolist()
    assert again[:2] == keys[:2]
    assert conn.execute("SELECT count(*) FROM identities").fetchone()[0] == 61
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_the_stored_form_of_an_identity_never_changes() -> None:
    # Every store on disk finds its papers by these numbers: a change would give every paper a new key.
    assert identity_hashes(["title:attention is all you need", "arxiv:1706.03762", "title:café naïve"]) == [
        -8920139159305398144,
        2204484655555141700,
        -5766331521321273376,
    ]


def test_identities_keep_no_title_text(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.assign_keys(_frame(["Quixotic Zebrafish Morphogenesis Xylophone"], [None]))  # the key: 3 words
    store.close()
    assert b"xylophone" not in (tmp_path / "paper_widgets.sqlite3").read_bytes().lower()


def _v6_store(path: Path) -> None:
    """A store as schema v6 wrote it (identities as text, a paper with an arXiv id, one with a title
    only, an alias, a note, a tag and a used key)."""
    conn = sqlite3.connect(path / "paper_widgets.sqlite3", isolation_level=None)
    migrate(conn, 6)
    conn.executemany(
        "INSERT INTO papers (paper_id, key, created, pinned, used) VALUES (?, ?, 0, ?, ?)",
        [(1, "vaswaniAttentionAll2017", 0, 5.0), (2, "Yu2020PCGrad", 1, None)],
    )
    conn.executemany(
        "INSERT INTO identities VALUES (?, ?, ?)",
        [
            ("arxiv:1706.03762", 1, "arxiv"),
            ("title:attention is all you need", 1, "title"),
            ("title:gradient surgery for multi task learning", 2, "title"),
        ],
    )
    conn.execute("INSERT INTO key_aliases VALUES ('GradientSurgeryMultitask2020', 2)")
    conn.execute("INSERT INTO notes (paper_id, author, text, version, updated) VALUES (1, 'me', 'old note', 1, 1.0)")
    conn.execute(
        "INSERT INTO note_history (paper_id, text, created, author, shared, version) VALUES (1, 'old note', 1.0, 'me', 0, 1)"
    )
    conn.execute("INSERT INTO tags VALUES (2, 'mtl')")
    conn.close()


def test_migration_7_hashes_the_identities_and_keeps_keys_aliases_and_annotations(tmp_path: Path) -> None:
    _v6_store(tmp_path)
    store = Store(tmp_path)
    conn = store._connection()
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA freelist_count").fetchone()[0] == 0  # the dropped tables' pages given back
    frame = _frame(
        ["Attention Is All You Need", "Gradient Surgery for Multi-Task Learning"], ["1706.03762v5", "2001.06782"]
    )
    # The first by its arXiv id, the second by its title (it has an arXiv id only now).
    assert store.assign_keys(frame).tolist() == ["vaswaniAttentionAll2017", "Yu2020PCGrad"]
    assert store.assign_keys(frame.assign(arxiv_id=None)).tolist() == ["vaswaniAttentionAll2017", "Yu2020PCGrad"]
    assert store.key_aliases() == {"GradientSurgeryMultitask2020": "Yu2020PCGrad"}
    assert store.note("vaswaniAttentionAll2017") == "old note"
    assert store.tags("Yu2020PCGrad") == ["mtl"]
    assert conn.execute("SELECT count(*) FROM identities WHERE paper_id = 2").fetchone()[0] == 2  # arXiv id learnt
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def test_two_papers_given_one_key_in_a_batch_both_get_keys_and_a_warning(tmp_path: Path) -> None:
    frame = pd.DataFrame(
        {
            "title": ["Alpha Paper About Cats", "Beta Paper About Dogs"],
            "authors": [["Ada Smith"], ["Bo Smith"]],
            "published": pd.to_datetime(["2020-01-01"] * 2),
            "arxiv_id": pd.Series([None, None], dtype=object),
            "citekeys": [["smith2020"], ["Smith2020", "beta"]],  # one key in two cases: BibTeX's "repeated entry"
        }
    )
    store = Store(tmp_path / "s")
    with pytest.warns(pw.PaperWidgetsWarning, match=r"'Smith2020' is given to rows 0 and 1"):
        keys = store.assign_keys(frame).tolist()
    assert keys[0] == "smith2020" and keys[1].lower() != "smith2020" and keys[1]
    assert store.assign_keys(frame.iloc[:1]).tolist() == ["smith2020"]  # recorded: the first keeps it


def test_keys_worked_out_a_few_rows_at_a_time_are_those_of_one_batch(tmp_path: Path, monkeypatch) -> None:
    """A million rows' identities and base keys are worked out in chunks (memory): chunks of three
    rows give the keys, aliases and known papers that one chunk gives, on a new and on a known store."""
    from paper_widgets.data import citekeys
    from paper_widgets.data.merge import fold_titles
    from paper_widgets.store import keys

    papers = pd.DataFrame(
        {
            "title": ["Gradient Surgery", "Gradient surgery!", "Naïve Bayes", "ﬁne Tuning", "", "Graph Nets", "X", "Y"],
            "authors": [["Tianhe Yu"], [], [], ["Ann Müller"], [], [], ["Bo Li"], []],
            "published": pd.to_datetime(
                ["2020-01-19", None, "2019-05-01", None, None, "2021-02-02", None, "2022-01-01"]
            ),
            "arxiv_id": ["2001.06782v2", None, None, " 2101.1 ", None, None, "", None],
        }
    )
    folded = fold_titles(papers["title"])

    def keys_and_store(name: str) -> tuple[list[str], list[str], list[tuple[object, ...]]]:
        store = Store(tmp_path / name)
        first = store.assign_keys(papers, folded).tolist()
        papers_known = papers.assign(authors=[["Tianhe Yu"]] * len(papers))  # known papers, authors now known
        second = store.assign_keys(papers_known, folded).tolist()
        rows = store._read(lambda conn: conn.execute("SELECT * FROM identities ORDER BY identity_hash").fetchall())
        return first, second, rows

    whole = keys_and_store("whole")
    with monkeypatch.context() as patch:
        patch.setattr(keys, "_IDENTITY_CHUNK", 3)
        patch.setattr(citekeys, "_BATCH_TITLES", 3)
        assert keys_and_store("chunked") == whole
    assert len(set(whole[0])) == len(papers)
