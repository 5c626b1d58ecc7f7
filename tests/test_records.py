"""The records stage's choke point: every field a value can break is checked, however fast the usual case is."""

from __future__ import annotations

import dataclasses
from datetime import date

import pytest

from paper_widgets.data.records import LoadWarning, PaperRecord, bounded

# Every text a reader fills in ("kind" is one of KINDS, never read from the input).
TEXT_FIELDS = [f.name for f in dataclasses.fields(PaperRecord) if f.type in ("str", "str | None") and f.name != "kind"]
COUNT_FIELDS = [f.name for f in dataclasses.fields(PaperRecord) if f.type == "int | None"]


def _record(**values: object) -> PaperRecord:
    return PaperRecord(title="Title", abstract="Abstract.", source="s.txt", line=7, kind="card", **values)  # type: ignore[arg-type]


def _bounded(record: PaperRecord) -> tuple[PaperRecord, list[str]]:
    warnings: list[LoadWarning] = []
    [out] = bounded([record], warnings)
    return out, [str(w) for w in warnings]


def test_every_field_is_known() -> None:
    assert {"title", "abstract", "source", "arxiv_id", "doi", "venue", "organization"} <= set(TEXT_FIELDS)
    assert set(COUNT_FIELDS) == {"n_authors", "upvotes", "comments"}


@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_a_lone_surrogate_in_any_text_field_is_replaced_with_a_warning(name: str) -> None:
    record = _record()
    setattr(record, name, "bad \ud83d here")
    out, warnings = _bounded(record)
    assert getattr(out, name) == "bad \ufffd here"
    assert len(warnings) == 1 and warnings[0].endswith("line 7: invalid Unicode (lone surrogates) replaced by U+FFFD")


def test_a_lone_surrogate_in_an_author_or_a_bibtex_field_is_replaced() -> None:
    out, warnings = _bounded(_record(authors=("Ann", "B\udc00b")))
    assert out.authors == ("Ann", "B\ufffdb") and len(warnings) == 1
    out, warnings = _bounded(_record(fields={"note": "x\ud800"}))
    assert out.fields == {"note": "x\ufffd"} and len(warnings) == 1


@pytest.mark.parametrize("name", COUNT_FIELDS)
@pytest.mark.parametrize("value", [-1, 2**63])
def test_a_count_out_of_int64_in_any_count_field_is_left_empty_with_a_warning(name: str, value: int) -> None:
    out, warnings = _bounded(_record(**{name: value}))
    assert getattr(out, name) is None
    assert len(warnings) == 1 and ("negative" in warnings[0] or "above 2^63" in warnings[0])


@pytest.mark.parametrize("day", [date(1500, 1, 1), date(2300, 1, 1)])
def test_a_date_outside_the_frame_is_left_empty_with_a_warning(day: date) -> None:
    out, warnings = _bounded(_record(published=day))
    assert out.published is None and "is outside 1677–2262" in warnings[0]


def test_a_record_that_fits_passes_unchanged_and_silent() -> None:
    record = _record(
        published=date(2024, 5, 1), n_authors=3, upvotes=0, comments=2**63 - 1, authors=("Zoë Ann",), venue="Café"
    )
    values = dataclasses.astuple(record)
    out, warnings = _bounded(record)
    assert out is record and dataclasses.astuple(out) == values and warnings == []
