"""The key registry: pinned user citekeys, aliases that keep resolving, keys that improve until used."""

from __future__ import annotations

import sqlite3
from pathlib import Path

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
