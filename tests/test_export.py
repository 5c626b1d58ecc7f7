from __future__ import annotations

import json
import re

import bibtexparser
import jsonschema
import pandas as pd
import pytest

import paper_widgets
from paper_widgets.output.export import bibtex_name, latex_escape, split_name, to_bibtex, to_csl_json

HOSTILE = pd.DataFrame(
    [
        {
            "key": "yuGradientSurgeryMultitask2020",
            "title": "Gradient Surgery for Multi-Task Learning: 100% of {PCGrad} & $x_1$ #1 ~ ^ \\ in MTL",
            "abstract": "Unbalanced } brace, 50% off, a_b, and \\cite{x}.\nSecond line.",
            "authors": ["Tianhe Yu", "Vincent van Gogh", "José Núñez", "Plato", "Tom and Jerry"],
            "published": pd.Timestamp("2020-01-19"),
            "arxiv_id": "2001.06782",
            "url": "https://huggingface.co/papers/2001.06782",
        },
        {
            "key": "NoAuthorPaper",
            "title": "{ unbalanced",
            "abstract": "",
            "authors": [],
            "published": pd.NaT,
            "arxiv_id": None,
            "url": None,
        },
    ]
)


def bibtex_brace_depths(value: str) -> list[int]:
    """Brace depth after each character, counted as BibTeX does (a backslash does not escape a brace)."""
    depth, depths = 0, []
    for char in value:
        depth += {"{": 1, "}": -1}.get(char, 0)
        depths.append(depth)
    return depths


def assert_round_trip(frame: pd.DataFrame) -> list:
    text = to_bibtex(frame)
    parsed = bibtexparser.parse_string(text)
    assert parsed.failed_blocks == []
    assert [e.key for e in parsed.entries] == frame["key"].tolist()
    for entry, (_, _row) in zip(parsed.entries, frame.iterrows(), strict=False):
        assert entry.entry_type == "misc"
        assert set(entry.fields_dict) >= {"title"}
        for field in entry.fields:
            depths = bibtex_brace_depths(field.value)
            assert min(depths, default=0) >= 0 and depths[-1:] in ([], [0]), (entry.key, field.key)
            # every LaTeX special is escaped: no bare one survives outside a command
            bare = re.sub(r"\\(?:[&%$#_]|text\w+\{\})", "", field.value)
            assert not re.search(r"[&%$#_~^\\]", bare) or field.key == "url", (entry.key, field.key, bare)
    return parsed.entries


def test_bibtex_round_trip_of_the_whole_seed_library():
    lib = paper_widgets.load_sample()
    entries = assert_round_trip(lib.df)
    assert len(entries) == len(lib.df) == 145
    by_key = {e.key: e for e in entries}
    for _, row in lib.df.iterrows():
        entry = by_key[row["key"]]
        if pd.notna(row["published"]):
            assert entry["year"] == str(row["published"].year)
        assert ("abstract" in entry.fields_dict) == bool(row["abstract"])


def test_bibtex_fields_and_escaping():
    entries = assert_round_trip(HOSTILE)
    yu, bare = entries
    assert yu["title"] == (
        r"Gradient Surgery for Multi-Task Learning: 100\% of \textbraceleft{}{PCGrad}\textbraceright{} \& "
        r"\$x\_1\$ \#1 \textasciitilde{} \textasciicircum{} \textbackslash{} in {MTL}"
    )
    assert yu["author"] == "Yu, Tianhe and van Gogh, Vincent and Núñez, José and Plato and {Tom and Jerry}"
    assert (yu["year"], yu["month"]) == ("2020", "jan")
    assert yu["abstract"].endswith(r"\textbackslash{}cite\textbraceleft{}x\textbraceright{}. Second line.")
    assert (yu["eprint"], yu["archiveprefix"], yu["doi"]) == ("2001.06782", "arXiv", "10.48550/arXiv.2001.06782")
    assert yu["url"] == "https://huggingface.co/papers/2001.06782"
    assert set(bare.fields_dict) == {"title"}
    assert "month = jan," in to_bibtex(HOSTILE)  # the standard macro, unbraced


def test_latex_escape_and_names():
    assert latex_escape("a  &\n b") == r"a \& b"
    assert split_name("Vincent van Gogh") == ("van Gogh", "Vincent")
    assert split_name("Yu, Tianhe") == ("Yu", "Tianhe")
    assert bibtex_name("Ann_Marie O'Neil") == r"O'Neil, Ann\_Marie"


def csl_schema() -> dict:
    """The parts of the CSL 1.0 input schema (csl-data.json) our items use, kept strict:
    required id/type, known types only, and no property the schema does not define."""
    name = {
        "type": "object",
        "properties": {k: {"type": "string"} for k in ("family", "given", "literal")},
        "additionalProperties": False,
    }
    date = {
        "type": "object",
        "properties": {
            "date-parts": {
                "type": "array",
                "minItems": 1,
                "maxItems": 2,
                "items": {"type": "array", "minItems": 1, "maxItems": 3, "items": {"type": ["string", "number"]}},
            }
        },
        "additionalProperties": False,
    }
    text = {"type": "string"}
    return {
        "type": "array",
        "items": {
            "type": "object",
            "required": ["id", "type"],
            "additionalProperties": False,
            "properties": {
                "id": {"type": ["string", "number"]},
                "type": {"enum": ["article", "article-journal", "manuscript", "paper-conference", "report"]},
                "title": text,
                "abstract": text,
                "URL": text,
                "DOI": text,
                "publisher": text,
                "number": {"type": ["string", "number"]},
                "author": {"type": "array", "items": name},
                "issued": date,
            },
        },
    }


def test_csl_json_shape():
    items = to_csl_json(HOSTILE)
    jsonschema.validate(json.loads(json.dumps(items)), csl_schema())
    yu, bare = items
    assert yu["author"][:2] == [{"family": "Yu", "given": "Tianhe"}, {"family": "van Gogh", "given": "Vincent"}]
    assert yu["author"][3] == {"literal": "Plato"}
    assert yu["issued"] == {"date-parts": [[2020, 1, 19]]}
    assert (yu["number"], yu["publisher"], yu["type"]) == ("2001.06782", "arXiv", "article")
    assert yu["title"] == HOSTILE["title"][0]  # CSL-JSON is plain text: nothing escaped
    assert bare == {"id": "NoAuthorPaper", "type": "article", "title": "{ unbalanced"}


def test_library_exports_delegate_and_name_close_keys():
    lib = paper_widgets.load_sample()
    key = lib.df["key"].iloc[0]
    assert lib.to_bibtex([key]).startswith(f"@misc{{{key},")
    jsonschema.validate(lib.to_csl_json(), csl_schema())
    assert [item["id"] for item in lib.to_csl_json([key])] == [key]
    with pytest.raises(KeyError, match=f"did you mean '{key}'"):
        lib.to_bibtex([key[:-1]])


def test_and_others_is_kept_as_et_al_in_csl_citations_and_the_bib() -> None:
    bib = "@article{smith2020x, author={Smith, John and Doe, Jane and others}, title={A Study}, year={2020}}"
    lib = paper_widgets.Library.from_text(bib)
    (item,) = lib.to_csl_json()
    assert item["author"][-1] == {"literal": "others"}, "more authors than listed"
    assert lib.cite("smith2020x", "text") == "(Smith et al., 2020)", "not cited as if Smith and Doe were all"
    assert "Smith, John and Doe, Jane and others" in lib.to_bibtex()
