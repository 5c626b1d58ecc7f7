from __future__ import annotations

import pandas as pd
import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from paper_widgets.data import citekeys as citekeys_module
from paper_widgets.data.citekeys import (
    KEY_PATTERN,
    _fold,
    _title_part,
    _title_parts,
    assign_keys,
    paper_identities,
    paper_identity,
)
from paper_widgets.data.text import fold


def frame(*papers: dict) -> pd.DataFrame:
    rows = [{"title": "", "authors": [], "published": None, "arxiv_id": None} | paper for paper in papers]
    df = pd.DataFrame(rows, columns=["title", "authors", "published", "arxiv_id"])
    df["published"] = pd.to_datetime(df["published"])
    return df


def keys(*papers: dict, reserved: dict[str, str] | None = None) -> list[str]:
    return assign_keys(frame(*papers), reserved).tolist()


YU = {
    "title": "Gradient Surgery for Multi-Task Learning",
    "authors": ["Tianhe Yu", "Saurabh Kumar"],
    "published": "2020-01-19",
    "arxiv_id": "2001.06782",
}


def test_better_bibtex_style_key():
    assert keys(YU) == ["yuGradientSurgeryMultitask2020"]


def test_key_without_authors_or_year_is_title_words_only():
    assert keys({"title": "Attention Is All You Need"}) == ["AttentionAllYou"]
    assert keys({"title": "Attention Is All You Need", "published": "2017-06-12"}) == ["AttentionAllYou2017"]


def test_surname_forms_accents_and_name_suffixes():
    assert keys(
        {"title": "Über Ärger", "authors": ["José Núñez Jr."], "published": "2021-03-01"},
        {"title": "Ørsted's Łódź Æther", "authors": ["Søren Kierkegaard"]},
        {"title": "Deep Learning", "authors": ["LeCun, Yann"]},
    ) == ["nunezUberArger2021", "kierkegaardOrstedsLodzAether", "lecunDeepLearning"]


def test_non_latin_names_and_titles_are_transliterated():
    assert keys(
        {"title": "日本語のタイトル", "authors": ["王小明"], "published": "2024-01-01"},
        {"title": "Модели языка", "authors": ["Иван Петров"], "published": "2024-01-01"},
        {"title": "Ελληνικά", "authors": ["Γιώργος Παπαδόπουλος"], "published": "2024-01-01"},
        {"title": "3D Gaussian Splatting", "published": "2023-08-08"},
    ) == [
        "wangxiaomingRibenyunotaitoru2024",
        "petrovModeliYazyka2024",
        "papadopoylosEllinika2024",
        "paper3dGaussianSplatting2023",
    ]


def test_keys_are_unique_ignoring_case():
    # "Yu" as the first author and "Yu" as the first title word of an anonymous paper give the same key
    # but for its case: BibTeX would reject the second as a repeated entry.
    got = keys(
        {"title": "Gradient Surgery", "authors": ["Tianhe Yu"], "published": "2020-01-01"},
        {"title": "Yu Gradient Surgery", "published": "2020-01-01"},
    )
    assert got[0].lower() != got[1].lower() and len({k.lower() for k in got}) == 2
    assert keys({"title": "X"}, reserved={"title:other": "X"}) == ["Xa"]


def test_empty_stop_word_and_symbol_titles_still_get_valid_unique_keys():
    got = keys({"title": ""}, {"title": "The Of And"}, {"title": "!!! ??? ---"}, {"title": "$\\alpha$"})
    assert all(KEY_PATTERN.fullmatch(k) for k in got)
    assert len(set(got)) == 4
    assert got[3] == "Alpha"


@given(st.lists(st.tuples(st.text(max_size=40), st.lists(st.text(max_size=15), max_size=2)), max_size=8))
def test_keys_only_use_allowed_characters_and_are_unique(papers):
    got = keys(*({"title": t, "authors": a} for t, a in papers))
    assert all(KEY_PATTERN.fullmatch(k) and k.isascii() for k in got)
    assert len({k.lower() for k in got}) == len(got)


@given(st.text(max_size=60))
def test_fast_fold_equals_shared_fold(text):
    assert _fold(text) == fold(text)


ARXIV_IDS = st.sampled_from([None, "", " ", "2401.00001v2", " 2401.1V3 ", "hep-th/9901001"])


@given(st.lists(st.tuples(st.none() | st.text(max_size=20), ARXIV_IDS)))
def test_batched_identities_equal_one_paper_at_a_time(papers):
    titles = pd.Series([t for t, _ in papers], dtype=object)
    arxiv_ids = pd.Series([a for _, a in papers], dtype=object)
    assert paper_identities(titles, arxiv_ids).tolist() == [paper_identity(t, a) for t, a in papers]


def title_parts(titles: list[str]) -> list[str]:
    """The title parts of keys, worked out for all ``titles`` at once."""
    parts: list[str] = _title_parts(pa.array(titles, pa.large_string())).to_pylist()
    return parts


TITLE_PIECES = ["a", "Z", "0", "9", " ", "-", "'", "_", ":", "\x00", "é", "ﬁ", "the ", "of ", "3D "]


@given(st.lists(st.lists(st.sampled_from(TITLE_PIECES)).map("".join)))
def test_batched_title_words_equal_one_title_at_a_time(titles):
    assert title_parts(titles) == [_title_part(t) for t in titles]


@given(st.lists(st.lists(st.sampled_from(TITLE_PIECES)).map("".join), max_size=30))
def test_titles_split_a_few_at_a_time_give_the_same_words(titles: list[str]) -> None:
    """A million titles are split in batches (memory): batches of three give what one batch gives."""
    whole = title_parts(titles)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(citekeys_module, "_BATCH_TITLES", 3)
        assert title_parts(titles) == whole


CLASH = [
    {"title": "Scaling Laws for Agents", "authors": ["Ann Smith"], "published": "2024-05-01", "arxiv_id": "2405.00002"},
    {"title": "Scaling laws of agents!", "authors": ["Bo Smith"], "published": "2024-06-01", "arxiv_id": "2406.00001"},
    {"title": "Scaling Laws: Agents", "authors": ["Cy Smith"], "published": "2024-02-01"},
]


def test_clashes_get_suffixes_in_identity_order_not_row_order():
    df = frame(*CLASH)
    forward = assign_keys(df)
    backward = assign_keys(df.iloc[::-1])
    shuffled = assign_keys(df.sample(frac=1, random_state=3))
    assert forward.tolist() == [
        "smithScalingLawsAgents2024",
        "smithScalingLawsAgents2024a",
        "smithScalingLawsAgents2024b",
    ]
    assert backward.sort_index().equals(forward)
    assert shuffled.sort_index().equals(forward)


def test_result_keeps_the_frame_index_even_when_it_repeats():
    df = frame(*CLASH).set_axis(["x", "x", "y"])
    assert assign_keys(df).index.tolist() == ["x", "x", "y"]
    assert assign_keys(df).is_unique


def test_suffixed_key_never_collides_with_another_papers_plain_key():
    got = keys({"title": "Foo Bar"}, {"title": "Foo Bar!"}, {"title": "Foo Bara"})
    assert got == ["FooBar", "FooBarb", "FooBara"]


def test_reserved_keys_stay_and_a_new_clashing_paper_gets_a_suffix():
    # The user loaded and cited the third paper first; it owns the bare key from then on.
    first = assign_keys(frame(CLASH[2]))
    assert first.tolist() == ["smithScalingLawsAgents2024"]
    reserved = {paper_identity(CLASH[2]["title"], None): first[0]}
    later = keys(*CLASH, reserved=reserved)
    assert later == ["smithScalingLawsAgents2024a", "smithScalingLawsAgents2024b", "smithScalingLawsAgents2024"]


def test_reserved_keys_survive_title_changes_and_count_as_taken_when_absent():
    reserved = {
        paper_identity("whatever", "2405.00002v3"): "myFavourite",
        paper_identity("Gone paper", None): "smithScalingLawsAgents2024",
    }
    got = keys(*CLASH, reserved=reserved)
    assert got == ["myFavourite", "smithScalingLawsAgents2024a", "smithScalingLawsAgents2024b"]


def test_adding_a_dump_with_clashes_keeps_every_stored_key():
    old = frame(*CLASH[:2])
    stored = dict(
        zip(
            (paper_identity(t, a) for t, a in zip(old["title"], old["arxiv_id"], strict=False)),
            assign_keys(old),
            strict=False,
        )
    )
    newcomer = {
        "title": "Scaling Laws for Agents",
        "authors": ["Al Smith"],
        "published": "2024-01-01",
        "arxiv_id": "2401.00001",
    }  # sorts before both by identity
    got = keys(newcomer, *CLASH[:2], reserved=stored)
    assert got[1:] == list(stored.values())
    assert got[0] == "smithScalingLawsAgents2024b"


def test_reserved_key_must_be_valid():
    import pytest

    with pytest.raises(ValueError, match="not a BibTeX key"):
        assign_keys(frame(YU), {"title:x": "has space"})


def test_paper_identity_prefers_arxiv_id_without_version():
    assert paper_identity("Any", "2001.06782v2") == "arxiv:2001.06782"
    assert paper_identity("Gradient  Surgery: Multi-Task", None) == "title:gradient surgery multi task"
    assert paper_identity("Gradient Surgery", "") == paper_identity("gradient surgery!", None)


def test_seed_library_keys_do_not_depend_on_load_order(tmp_path):
    from conftest import CARD_SEED, PAIR_SEED

    import paper_widgets

    forward = paper_widgets.load(CARD_SEED, PAIR_SEED, store=tmp_path / "a").df
    backward = paper_widgets.load(PAIR_SEED, CARD_SEED, store=tmp_path / "b").df
    assert forward["key"].is_unique and len(forward) == 145
    assert dict(zip(forward["title"], forward["key"], strict=False)) == dict(
        zip(backward["title"], backward["key"], strict=False)
    )
    assert all(KEY_PATTERN.fullmatch(k) for k in forward["key"])
