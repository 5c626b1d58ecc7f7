"""The key registry: pinned user citekeys, aliases that keep resolving, keys that improve until used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pandas as pd
import pytest

import paper_widgets as pw
from paper_widgets.store import Store
from paper_widgets.store.schema import SCHEMA_VERSION, migrate

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


def test_bulk_recording_rebuilds_the_identity_index_and_numbers_papers_in_key_order(tmp_path: Path) -> None:
    import pandas as pd

    def frame(titles: list[str], arxiv_ids: list[str | None]) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "title": titles,
                "authors": [["Ann Lee"]] * len(titles),
                "published": pd.to_datetime(["2021-03-01"] * len(titles)),
                "arxiv_id": arxiv_ids,
            }
        )

    store = Store(tmp_path)

    def index_sql() -> list[str]:
        rows = store._connection().execute(
            "SELECT sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'identities' AND sql IS NOT NULL"
        )
        return [str(sql) for (sql,) in rows]

    before = index_sql()
    assert before, "the migrations create an index of identities by paper"
    # A first open (more new identities than stored ones: the bulk path), in reverse key order.
    titles = [f"Zeta {i:02d} study" for i in range(30)][::-1]
    keys = store.assign_keys(frame(titles, [f"2103.{i:05d}" for i in range(30)])).tolist()
    assert index_sql() == before
    conn = store._connection()
    ids = dict(conn.execute("SELECT key, paper_id FROM papers").fetchall())
    assert [ids[k] for k in sorted(keys)] == sorted(ids.values())  # ids follow the keys
    # The rebuilt index answers lookups by paper: both identities (arXiv id, title) of every paper.
    plan = " ".join(str(r[-1]) for r in conn.execute("EXPLAIN QUERY PLAN SELECT * FROM identities WHERE paper_id = 1"))
    assert "identities_paper" in plan
    counts = conn.execute("SELECT paper_id, count(*) FROM identities GROUP BY paper_id").fetchall()
    assert sorted(n for _, n in counts) == [2] * 30
    # A later small batch (the row-by-row path) keeps the known keys and the index.
    again = store.assign_keys(frame([*titles[:2], "Alpha new study"], ["2103.00000", "2103.00001", None])).tolist()
    assert again[:2] == keys[:2]
    assert index_sql() == before
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


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
