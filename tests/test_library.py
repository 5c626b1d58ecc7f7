"""The Library facade: load / load_sample / from_text / from_frame, warnings, order independence."""

from __future__ import annotations

import json
import shutil
import warnings
from pathlib import Path

import pandas as pd
import pytest
from conftest import CARD_SEED, PAIR_SEED

import paper_widgets
from paper_widgets import DumpError, Library, LoadWarning, PaperWidgetsWarning

MERGED_TITLES = {
    "AdaMerging: Adaptive Model Merging for Multi-Task Learning",
    "Adaptive Pattern Extraction Multi-Task Learning for Multi-Step Conversion Estimations",
    "Efficient Controllable Multi-Task Architectures",
    "An Efficient General-Purpose Modular Vision Model via Multi-Task Heterogeneous Training",
    "JiuZhang 2.0: A Unified Chinese Pre-trained Language Model for Multi-task Mathematical Problem Solving",
    "Robust-Multi-Task Gradient Boosting",
    "ScaLearn: Simple and Highly Parameter-Efficient Task Transfer by Learning to Scale",
    "TaskExpert: Dynamically Assembling Multi-Task Representations with Memorial Mixture-of-Experts",
    "Unified Work Embeddings: Contrastive Learning of a Bidirectional Multi-task Ranker",
}
COLUMNS = ["key", "title", "abstract", "published", "n_authors", "authors", "upvotes", "arxiv_id", "url", "sources"]
ABSTRACT = "We propose a method. It works well on many benchmarks and we release code."


def quiet_load(*paths) -> Library:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PaperWidgetsWarning)
        return paper_widgets.load(*paths)


def test_load_sample_has_145_unique_papers_from_154_records() -> None:
    lib = paper_widgets.load_sample()
    df = lib.df
    assert lib.warnings == []
    assert len(df) == 145 and list(df.columns[: len(COLUMNS)]) == COLUMNS
    assert df["key"].is_unique
    both = df[df["sources"].map(len) == 2]
    assert set(both["title"]) == MERGED_TITLES
    assert all(s == ["000_edcdd8834a053c0a.txt", "001_d5cef83f63eea4ee.txt"] for s in both["sources"])
    assert (df["sources"].map(len) == 1).sum() == 136  # 154 records - 2 * 9 duplicates
    assert df["published"].notna().sum() == 35 and df["n_authors"].notna().sum() == 35


def test_load_sample_rows_field_by_field() -> None:
    df = paper_widgets.load_sample().df.set_index("title")
    robust = df.loc["Robust-Multi-Task Gradient Boosting"]
    # The pair dump has the full abstract; the card's is the same text, the longer one wins.
    assert robust["abstract"].startswith(
        "Multi-task learning (MTL) has shown effectiveness in exploiting shared information"
    )
    assert robust["abstract"].endswith("challenging MTL environments.")
    assert (robust["published"], robust["n_authors"], robust["authors"]) == (pd.Timestamp("2025-07-15"), 3, [])
    assert pd.isna(robust["upvotes"]) and pd.isna(robust["arxiv_id"]) and pd.isna(robust["url"])
    safe = df.loc["SAFE: Multitask Failure Detection for Vision-Language-Action Models"]
    assert (safe["published"], safe["n_authors"], safe["comments"], safe["sources"]) == (
        pd.Timestamp("2025-06-11"),
        7,
        2,  # the number after the card's date counts comments, not upvotes
        ["000_edcdd8834a053c0a.txt"],
    )
    assert pd.isna(safe["upvotes"])
    mmina = df.loc["MMInA: Benchmarking Multihop Multimodal Internet Agents"]
    assert (
        pd.isna(mmina["published"]) and pd.isna(mmina["n_authors"]) and mmina["sources"] == ["001_d5cef83f63eea4ee.txt"]
    )


def test_dtypes() -> None:
    df = paper_widgets.load_sample().df
    assert str(df["published"].dtype) == "datetime64[ns]"
    assert df["n_authors"].dtype == "Int64" and df["upvotes"].dtype == "Int64"
    assert (
        df["authors"].map(lambda a: isinstance(a, list)).all()
        and df["sources"].map(lambda s: isinstance(s, list)).all()
    )


def test_load_order_does_not_change_rows_or_keys(tmp_path: Path) -> None:
    bib = tmp_path / "refs.bib"
    bib.write_text(
        "@misc{k, title={Robust-Multi-Task Gradient Boosting}, author={Emami, Seyedsaman}, eprint={2507.11411}, archivePrefix={arXiv}}\n"
    )
    one = quiet_load(CARD_SEED, PAIR_SEED, bib).df
    two = quiet_load(bib, PAIR_SEED, CARD_SEED).df
    pd.testing.assert_frame_equal(one, two)


def test_every_format_merges_into_one_row(tmp_path: Path) -> None:
    (tmp_path / "daily.json").write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": "2507.11411",
                        "title": "Robust-Multi-Task Gradient Boosting",
                        "summary": "s",
                        "authors": [{"name": "Seyedsaman Emami"}, {"name": "B"}],
                        "publishedAt": "2025-07-14T00:00:00Z",
                        "upvotes": 1,
                    }
                }
            ]
        )
    )
    (tmp_path / "snapshot").write_text(
        json.dumps(
            {
                "id": "2507.11411",
                "title": "Robust Multi Task\n Gradient Boosting",
                "abstract": "a",
                "authors": "X",
                "update_date": "2025-07-16",
                "versions": [],
            }
        )
        + "\n"
        + json.dumps({"id": "0704.0001", "title": "Other", "abstract": "b", "authors": "Y", "versions": []})
        + "\n"
    )
    lib = quiet_load(CARD_SEED, tmp_path)
    row = lib.df.set_index("arxiv_id").loc["2507.11411"]
    assert row["sources"] == sorted([str(CARD_SEED), str(tmp_path / "daily.json"), str(tmp_path / "snapshot")])
    assert (row["published"], row["n_authors"], row["upvotes"]) == (pd.Timestamp("2025-07-15"), 3, 1)
    assert row["authors"] == ["Seyedsaman Emami", "B"]
    assert row["url"] == "https://huggingface.co/papers/2507.11411"
    assert lib.df.set_index("arxiv_id").loc["0704.0001", "url"] == "https://huggingface.co/papers/0704.0001"
    assert len(lib.df) == 36


def test_one_bad_file_never_stops_the_others(tmp_path: Path) -> None:
    shutil.copy(PAIR_SEED, tmp_path / "good.txt")
    (tmp_path / "bad.json").write_text('[{"title": "A"},\n {"title": ]')
    (tmp_path / "empty.txt").write_text("")
    (tmp_path / "chrome.txt").write_text("Get trending papers in your email inbox!\r\nSubscribe\r\n")
    (tmp_path / "blob.bin").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "broken.bib").write_text("@misc{ok, title={Fine Entry}}\n@misc{bad, title={never closed\n")
    with pytest.warns(PaperWidgetsWarning) as caught:
        lib = paper_widgets.load(tmp_path)
    assert len(lib.df) == 120
    by_file = {Path(w.source).name: w for w in lib.warnings}
    assert set(by_file) == {"bad.json", "empty.txt", "chrome.txt", "blob.bin", "broken.bib"}
    assert str(by_file["bad.json"]) == f"{tmp_path / 'bad.json'}, line 2: malformed JSON: Expecting value (column 12)"
    assert by_file["broken.bib"].line == 2 and "binary" in by_file["blob.bin"].message
    (summary,) = caught  # one readable warning, pointing at the caller, not at paper_widgets' insides
    assert str(summary.message).startswith("5 problems while loading; everything else loaded:\n  - ")
    assert all(str(w) in str(summary.message) for w in lib.warnings)
    assert summary.filename == __file__


def test_from_text_any_format() -> None:
    lib = Library.from_text(f"Get trending papers in your email inbox!\nA Title\n{ABSTRACT}\n", source="clip")
    assert lib.df[["title", "abstract"]].values.tolist() == [["A Title", ABSTRACT]]
    assert lib.df["sources"].tolist() == [["clip"]]
    assert Library.from_text('{"id": "2001.06782", "title": "Gradient Surgery", "summary": "s"}').df[
        "arxiv_id"
    ].tolist() == ["2001.06782"]
    with pytest.raises(DumpError, match="<text>, line 1, column 2"):
        Library.from_text("[}")


def test_from_text_empty_warns_and_gives_empty_typed_frame() -> None:
    with pytest.warns(PaperWidgetsWarning, match="no papers"):
        lib = Library.from_text("", source="empty")
    assert len(lib) == 0 and list(lib.df.columns[: len(COLUMNS)]) == COLUMNS
    assert [isinstance(w, LoadWarning) for w in lib.warnings] == [True]


def test_from_frame_fills_columns_and_merges() -> None:
    lib = Library.from_frame(
        pd.DataFrame(
            {
                "title": ["Gradient Surgery", "gradient surgery!", "Other"],
                "abstract": ["a", "longer", "c"],
                "arxiv_id": [None, "2001.06782", None],
            }
        )
    )
    assert len(lib) == 2 and list(lib.df.columns[: len(COLUMNS)]) == COLUMNS
    row = lib.df.set_index("title").loc["gradient surgery!"]
    assert (row["abstract"], row["arxiv_id"], row["sources"]) == ("longer", "2001.06782", ["<frame>"])
    assert str(lib.df["published"].dtype) == "datetime64[ns]" and lib.df["upvotes"].dtype == "Int64"


def test_repr() -> None:
    assert repr(paper_widgets.load_sample()) == "<Library: 145 papers from 2 sources>"


def test_load_default_reopens_the_paths_loaded_with_remember_else_the_samples(tmp_path: Path) -> None:
    assert len(paper_widgets.load_default()) == 145  # nothing loaded yet: the bundled samples
    dump = tmp_path / "mine.txt"
    dump.write_text("My Own Paper Title\n\nAn abstract that says something. It has two sentences.\n")
    first = paper_widgets.load(dump, remember=True)
    assert list(first.df["title"]) == ["My Own Paper Title"]
    assert paper_widgets.library.user_library() == [str(dump)]
    dump.write_text(dump.read_text() + "\nA Second Paper\n\nAnother abstract here. Also two sentences.\n")
    reopened = paper_widgets.load_default()
    assert sorted(reopened.df["title"]) == ["A Second Paper", "My Own Paper Title"]


def test_add_appends_new_papers_merges_known_ones_and_extends_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from paper_widgets.search.index import SearchIndex

    lib = paper_widgets.load(CARD_SEED)
    before = lib.df.set_index("key")
    lib.search("failure detection")  # index built for the 35 cards
    known = before.iloc[0]
    more = tmp_path / "more.json"
    more.write_text(
        json.dumps(
            [
                {
                    "paper": {
                        "id": "2506.09937",
                        "title": known["title"],
                        "summary": "short",
                        "authors": [{"name": "Ada Lovelace"}],
                        # the same paper: a title alone joins records only of compatible years
                        "publishedAt": known["published"].isoformat() + "Z",
                    }
                },
                {
                    "paper": {
                        "id": "2501.00001",
                        "title": "Zebra Finches Learn Songs",
                        "summary": "Birdsong study.",
                        "authors": [{"name": "Alan Turing"}],
                        "publishedAt": "2025-01-02T00:00:00.000Z",
                    }
                },
            ]
        )
    )

    def no_rebuild(_index: SearchIndex) -> None:
        raise AssertionError("adding papers rebuilt the index instead of extending it")

    monkeypatch.setattr(SearchIndex, "_reset", no_rebuild)
    assert lib.add(more) is lib
    after = lib.df.set_index("key")
    assert len(after) == len(before) + 1
    # Rows of known papers stay; the one whose authors are now known gets a better key (none of these
    # keys was ever cited, exported or noted), and its old key still finds it.
    improved = {old: new for old, new in zip(before.index, after.index[: len(before)], strict=True) if old != new}
    assert improved == {known.name: "lovelace" + known.name}
    assert lib[known.name]["key"] == "lovelace" + known.name and known.name in lib
    merged = after.loc["lovelace" + known.name]
    assert merged["abstract"] == known["abstract"], "indexed text of a known paper is kept"
    assert merged["authors"] == ["Ada Lovelace"] and merged["arxiv_id"] == "2506.09937"
    assert merged["sources"] == sorted([str(CARD_SEED), str(more)])
    assert lib.search("zebra finches", limit=1)["title"].tolist() == ["Zebra Finches Learn Songs"]
    assert len(paper_widgets.load_default()) == 145, "add without remember=True leaves the user's library alone"
    lib.add(more, remember=True)
    assert paper_widgets.library.user_library() == [str(more)]
    assert sorted(paper_widgets.load_default().df["title"]) == sorted([known["title"], "Zebra Finches Learn Songs"]), (
        "remember=True: the user's library grew by the added paths"
    )


def test_loading_never_changes_the_users_library_unless_asked(tmp_path: Path) -> None:
    mine, other = tmp_path / "mine.txt", tmp_path / "other.txt"
    mine.write_text("My Own Paper Title\n\nAn abstract that says something. It has two sentences.\n")
    other.write_text("Somebody Elses Paper\n\nAn abstract about other things. Two sentences here.\n")
    paper_widgets.load(mine, remember=True)
    paper_widgets.load(other)
    paper_widgets.load(other).add(CARD_SEED)
    paper_widgets.load_sample()
    assert paper_widgets.library.user_library() == [str(mine)]
    assert list(paper_widgets.load_default().df["title"]) == ["My Own Paper Title"]
    paper_widgets.load(other, remember=True)  # remember=True replaces: "these files are my library"
    assert list(paper_widgets.load_default().df["title"]) == ["Somebody Elses Paper"]


def test_papers_are_looked_up_by_key() -> None:
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[3]
    assert key in lib and "nope" not in lib
    assert lib[key]["title"] == lib.df["title"].iloc[3]
    with pytest.raises(KeyError, match="did you mean"):
        lib[key[:-1]]


def test_the_default_citation_style_is_set_once_and_kept_for_later_sessions() -> None:
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    assert lib.default_style == "pandoc" and lib.cite(key) == f"[@{key}]"
    paper_widgets.set_default_style("myst")
    assert lib.cite(key) == f"{{cite:p}}`{key}`", "an open library follows the saved setting"
    later = paper_widgets.load_sample()  # a later session: only the store remembers
    assert later.default_style == "myst" and later.cite(key) == f"{{cite:p}}`{key}`"
    assert later.cite(key, style="latex") == f"\\cite{{{key}}}", "an argument beats the setting"
    assert later.snippet(key).rstrip().endswith(f"{{cite:p}}`{key}`")
    with pytest.raises(ValueError, match="unknown citation style"):
        paper_widgets.set_default_style("apa")
    assert lib.store.setting("citation_style") == "myst"


def test_constructing_a_library_changes_no_other_librarys_style(tmp_path: Path) -> None:
    from paper_widgets.output.cite import cite

    paper_widgets.set_default_style("latex", store=tmp_path / "latex-store")
    styled = paper_widgets.load_sample(store=tmp_path / "latex-store")
    plain = paper_widgets.load_sample(store=tmp_path / "plain-store")
    key = plain.df["key"].iloc[0]
    assert styled.cite(key) == f"\\cite{{{key}}}"
    assert plain.cite(key) == f"[@{key}]", "a library on another store keeps the constant default"
    assert paper_widgets.load_sample().cite(key) == f"[@{key}]"
    assert cite(plain[key]) == f"[@{key}]", "the row-level function has no hidden session style"


def test_a_library_reopened_from_the_cache_shows_lists_and_takes_more_files(tmp_path: Path) -> None:
    # Reopened, its list columns are Arrow lists (no Python list per row): df, search, add and repr
    # see the same library as a fresh load of the same files.
    store = tmp_path / "store"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PaperWidgetsWarning)
        paper_widgets.load(CARD_SEED, store=store)
        reopened = paper_widgets.load(CARD_SEED, store=store)
        both = paper_widgets.load(CARD_SEED, PAIR_SEED, store=tmp_path / "other")
        alone = paper_widgets.load(CARD_SEED, store=tmp_path / "alone")
    assert isinstance(reopened._papers["sources"].dtype, pd.ArrowDtype)
    assert repr(reopened) == "<Library: 35 papers from 1 source>"
    assert f"{CARD_SEED}: 35" in reopened._repr_html_()
    found = reopened.search("failure detection", limit=3)
    assert found["sources"].iloc[0] == [str(CARD_SEED)]
    pd.testing.assert_frame_equal(found, alone.search("failure detection", limit=3))  # dtypes too
    reopened.add(PAIR_SEED)
    assert reopened.df["sources"].map(type).eq(list).all()
    by_key = reopened.df.set_index("key").sort_index()
    pd.testing.assert_frame_equal(by_key, both.df.set_index("key").sort_index())
