"""Page-dump parsing: both layouts, every quirk of copied pages, and never any error but DumpError."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Iterator
from datetime import date

import pytest
from conftest import CARD_SEED, PAIR_SEED
from hypothesis import given, settings
from hypothesis import strategies as st

from paper_widgets.data.readers import dump
from paper_widgets.data.readers.dump import parse_dump
from paper_widgets.data.records import DumpError, LoadWarning

TODAY = date(2026, 3, 15)

ABSTRACT_1 = (
    "We study how transformers route information between tasks. Our method learns a gate per layer. "
    "Experiments on six benchmarks show consistent gains."
)
ABSTRACT_2 = "Short abstracts exist too. This one has two sentences."


def parse(text: str, source: str = "dump.txt") -> tuple[list, list[LoadWarning]]:
    warnings: list[LoadWarning] = []
    records = list(parse_dump(io.StringIO(text, newline=None), source, warnings, TODAY))
    return records, warnings


def card(title: str, abstract: str, meta: str = "Jun 11, 2025 2", authors: str = "  • 3 authors") -> str:
    return f"{title}\n\n{abstract}\n\n{authors}\n·\n{meta}\n\n"


def test_card_seed_parses_35_cards_exactly() -> None:
    records, warnings = parse(CARD_SEED.read_text(encoding="utf-8"), CARD_SEED.name)
    assert warnings == []
    assert len(records) == 35
    first = records[0]
    assert first.title == "SAFE: Multitask Failure Detection for Vision-Language-Action Models"
    assert first.abstract.startswith("While vision-language-action models (VLAs) have shown promising")
    assert first.abstract.endswith("More qualitative results can be found at https://vla-safe.github.io/.")
    # the number after the date is the comment count (the HF API shows 20 upvotes and 2 comments)
    assert (first.published, first.n_authors, first.upvotes, first.comments) == (date(2025, 6, 11), 7, None, 2)
    assert (first.source, first.line, first.kind) == (CARD_SEED.name, 13, "card")
    second = records[1]
    assert (second.title, second.published, second.n_authors, second.upvotes) == (
        "Robust-Multi-Task Gradient Boosting",
        date(2025, 7, 15),
        3,
        None,
    )
    last = records[-1]
    assert last.title.startswith("JiuZhang 2.0: A Unified Chinese Pre-trained Language Model")
    assert (last.published, last.n_authors, last.line) == (date(2023, 6, 19), 11, 285)
    assert all(r.title and r.abstract and r.published and r.n_authors for r in records)


def test_pair_seed_parses_119_pairs_exactly() -> None:
    records, warnings = parse(PAIR_SEED.read_text(encoding="utf-8"), PAIR_SEED.name)
    assert warnings == []
    assert len(records) == 119
    first = records[0]
    # "Subscribe" glued to the first title is page chrome.
    assert first.title == "MMInA: Benchmarking Multihop Multimodal Internet Agents"
    assert first.abstract.startswith("Autonomous embodied agents live on an Internet of multimedia websites.")
    assert first.abstract.endswith("See our code and data at https://mmina.cliangyu.com")
    assert (first.line, first.kind, first.published, first.n_authors) == (3, "pair", None, None)
    titles = [r.title for r in records]
    # Titles that look like prose to a naive length/punctuation rule still come out as titles.
    assert "Hogwild! Inference: Parallel LLM Generation via Concurrent Attention" in titles
    assert "Multi-Task Inference: Can Large Language Models Follow Multiple Instructions at Once?" in titles
    assert "Rewrite the Stars" in titles and "Agent Workflow Memory" in titles
    assert records[-1].title == "FAME-ViL: Multi-Tasking Vision-Language Model for Heterogeneous Fashion Tasks"
    assert records[-1].line == 239
    assert all(len(r.abstract) > 400 for r in records)


def test_chrome_lines_and_header_date_are_dropped() -> None:
    text = (
        "new\n\nGet trending papers in your email inbox!\n\nSubscribe\n\nDaily Papers\n\n"
        "byAK and the research community\n\nJan 1\n\n" + card("Gated Routing", ABSTRACT_1)
    )
    records, warnings = parse(text)
    assert [r.title for r in records] == ["Gated Routing"]
    assert warnings == []


def test_subscribe_glued_to_first_title_is_removed_but_not_inside_titles() -> None:
    text = f"Get trending papers in your email inbox!\nSubscribeMMInA: A Benchmark\n{ABSTRACT_1}\nSubscriber Models Rule\n{ABSTRACT_2}\n"
    records, _ = parse(text)
    assert [r.title for r in records] == ["MMInA: A Benchmark", "Subscriber Models Rule"]


def test_crlf_nbsp_trailing_spaces_and_extra_blank_lines() -> None:
    text = card("Gated\xa0Routing   ", ABSTRACT_1 + " \xa0", authors="  •\xa04 authors  ").replace("\n", "\r\n")
    text = "\r\n\r\n\r\n" + text.replace("\r\n\r\n", "\r\n\r\n\r\n\r\n")
    records, warnings = parse(text)
    assert warnings == []
    assert [(r.title, r.abstract, r.n_authors, r.published) for r in records] == [
        ("Gated Routing", ABSTRACT_1, 4, date(2025, 6, 11))
    ]


def test_one_author_and_date_without_comments() -> None:
    records, _ = parse(card("Solo Work", ABSTRACT_1, meta="Jul 15, 2025", authors="• 1 author"))
    assert (records[0].n_authors, records[0].published, records[0].comments) == (1, date(2025, 7, 15), None)


def test_year_less_date_means_current_year_never_1900() -> None:
    records, _ = parse(card("A", ABSTRACT_1, meta="Sep 29") + card("B", ABSTRACT_2, meta="Sep 30 12"))
    assert [(r.published, r.comments) for r in records] == [(date(2026, 9, 29), None), (date(2026, 9, 30), 12)]


def test_invalid_date_is_a_warning() -> None:
    records, warnings = parse(card("A", ABSTRACT_1, meta="Feb 30, 2025 5"))
    assert records[0].published is None and records[0].comments == 5
    assert [w.line for w in warnings] == [7] and "invalid date" in warnings[0].message


def test_cut_off_last_card_is_kept_with_a_warning() -> None:
    text = card("Complete Card", ABSTRACT_1) + "Cut Off Card\n\nThe abstract was cut mid"
    records, warnings = parse(text)
    assert [r.title for r in records] == ["Complete Card", "Cut Off Card"]
    assert records[1].abstract == "The abstract was cut mid" and records[1].published is None
    assert len(warnings) == 1 and warnings[0].line == 9 and "cut off" in warnings[0].message
    assert str(warnings[0]).startswith("dump.txt, line 9: last card is cut off")


def test_card_cut_off_after_authors_line() -> None:
    records, warnings = parse(card("A", ABSTRACT_1) + f"Second Card\n\n{ABSTRACT_2}\n\n• 2 authors\n·\n")
    assert [(r.title, r.n_authors, r.published) for r in records][1] == ("Second Card", 2, None)
    assert [w.line for w in warnings] == [9] and "cut off before its date" in warnings[0].message


def test_card_cut_off_after_title_only() -> None:
    records, warnings = parse(card("A", ABSTRACT_1) + "Only A Title Survived")
    assert [(r.title, r.abstract) for r in records][1] == ("Only A Title Survived", "")
    assert {w.line for w in warnings} == {9}


def test_card_missing_its_meta_lines_is_split_from_the_next_card() -> None:
    text = f"First Card\n\n{ABSTRACT_1}\n\nSecond Card\n\n{ABSTRACT_2}\n\n• 2 authors\n·\nMay 7, 2023\n"
    records, warnings = parse(text)
    assert [(r.title, r.published) for r in records] == [("First Card", None), ("Second Card", date(2023, 5, 7))]
    assert [w.line for w in warnings] == [1]


def test_pairs_with_short_abstract_and_long_title() -> None:
    long_title = "A Very Long Title About Multi Task Learning With Many Many Words That Goes On And On Forever Here"
    text = f"{long_title}\nWe show it works.\nShort\n{ABSTRACT_1}\n"
    records, warnings = parse(text)
    assert [(r.title, r.abstract) for r in records] == [(long_title, "We show it works."), ("Short", ABSTRACT_1)]
    assert warnings == []


def test_pairs_title_with_lost_abstract_is_kept_with_warning() -> None:
    text = f"First Title\n{ABSTRACT_1}\nOrphan Title Without Abstract\nThird Title\n{ABSTRACT_2}\n"
    records, warnings = parse(text)
    assert [(r.title, bool(r.abstract)) for r in records] == [
        ("First Title", True),
        ("Orphan Title Without Abstract", False),
        ("Third Title", True),
    ]
    assert [w.line for w in warnings] == [3]


def test_pairs_abstract_in_two_paragraphs_joined() -> None:
    text = f"First Title\n\n{ABSTRACT_1}\n\n{ABSTRACT_2}\n\nSecond Title\n\n{ABSTRACT_2}\n"
    records, _ = parse(text)
    assert [r.title for r in records] == ["First Title", "Second Title"]
    assert records[0].abstract == f"{ABSTRACT_1}\n\n{ABSTRACT_2}"


def test_pairs_blank_line_rhythm_separates_papers() -> None:
    # Papers are blocks separated by blank lines; the second has a title only.
    text = f"First Title\n{ABSTRACT_1}\n\nA Title Without Abstract\n\nThird Title\nA one-line abstract without period\n"
    records, _ = parse(text)
    assert [(r.title, r.abstract) for r in records] == [
        ("First Title", ABSTRACT_1),
        ("A Title Without Abstract", ""),
        ("Third Title", "A one-line abstract without period"),
    ]


def test_leading_abstract_without_title_is_a_warning() -> None:
    records, warnings = parse(f"{ABSTRACT_1}\nA Title\n{ABSTRACT_2}\n")
    assert [r.title for r in records] == ["A Title"]
    assert [w.line for w in warnings] == [1] and "without a title" in warnings[0].message


def test_text_stays_literal() -> None:
    title = "<b>Bold</b> &amp; <script>alert(1)</script> Models"
    records, _ = parse(card(title, ABSTRACT_1 + " Uses a<b & c>d."))
    assert records[0].title == title and records[0].abstract.endswith("a<b & c>d.")


def test_empty_and_chrome_only_inputs_warn() -> None:
    for text in ("", "\n\n  \n", "Get trending papers in your email inbox!\nSubscribe\nDaily Papers\nJan 1\n"):
        records, warnings = parse(text)
        assert records == []
        assert [(w.source, w.line) for w in warnings] == [("dump.txt", None)]
        assert "no papers" in str(warnings[0])


def test_lines_are_consumed_lazily() -> None:
    def lines():
        for i in range(1000):
            yield f"Title {i}\n"
            yield ABSTRACT_1 + "\n"
            yield "• 2 authors\n"
            yield "·\n"
            yield "Jan 2, 2024\n"

    warnings: list[LoadWarning] = []
    stream = parse_dump(lines(), "gen", warnings, TODAY)
    assert next(stream).title == "Title 0"  # a card comes out before the input is exhausted
    assert sum(1 for _ in stream) == 999


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    try:
        records, _warnings = parse(text)
    except DumpError:
        return
    for record in records:
        assert record.title and "\n" not in record.title


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.sampled_from(["Title Here", ABSTRACT_1, "", "• 2 authors", "·", "Sep 29 3", "Subscribe", "x."]), max_size=30
    )
)
def test_arbitrary_dump_shaped_lines_never_raise(lines: list[str]) -> None:
    records, _ = parse("\n".join(lines))
    assert all(r.title for r in records)


# Today's layout (2026): the upvote count on its own line opens each card; an organisation may sign it.
TODAYS_PAGE = """new

Get trending papers in your email inbox!

Subscribe

Daily Papers
by AK and the research community
Daily
Weekly
Monthly

Trending Papers

Oct 2

101

Signed Work: A Study of Things

We study things. Our results show that things are studied. Code is available.

Microsoft

·

May 29 6

-

Counted Work for Everyone

Another abstract of a paper. It has sentences. It ends with a period.

• 3 authors

·
Mar 8, 2024  2

7

Cut Off Card at the End

Its abstract is there but the page was cut.
"""


def test_todays_layout_counts_organisations_and_comments() -> None:
    records, warnings = parse(TODAYS_PAGE)
    assert [(r.title, r.upvotes, r.n_authors, r.organization, r.comments) for r in records] == [
        ("Signed Work: A Study of Things", 101, None, "Microsoft", 6),
        ("Counted Work for Everyone", 0, 3, None, 2),
        ("Cut Off Card at the End", 7, None, None, None),
    ]
    assert records[1].published == date(2024, 3, 8)
    assert [w.line for w in warnings] == [42]  # only the cut-off card; no chrome, count or organisation rows


def _pair_page(papers: int, seed: int) -> list[str]:
    """A long pair-layout page from the seed's real pairs: some abstracts lost, some in two paragraphs,
    blank lines between some papers."""
    lines = [ln for ln in PAIR_SEED.read_text(encoding="utf-8").splitlines() if ln.strip()][3:]
    pairs = list(zip(lines[0::2], lines[1::2], strict=False))
    rng = random.Random(seed)
    page: list[str] = []
    for _ in range(papers):
        title, abstract = rng.choice(pairs)
        page.append(title)
        odds = rng.random()
        cut = abstract.find(". ", len(abstract) // 2)
        if odds < 0.05 and cut > 0:
            page += [abstract[: cut + 1], abstract[cut + 2 :]]
        elif odds > 0.03:
            page.append(abstract)
        if rng.random() < 0.3:
            page.append("")
    return [line + "\n" for line in page]


def test_long_pair_pages_decode_in_windows_exactly_as_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    page = _pair_page(600, seed=3)
    whole_warnings: list[LoadWarning] = []
    whole = list(parse_dump(page, "p", whole_warnings, TODAY))
    monkeypatch.setattr(dump, "_PAIR_WINDOW", 64)  # ~20 windows instead of one
    windowed_warnings: list[LoadWarning] = []
    windowed = list(parse_dump(page, "p", windowed_warnings, TODAY))
    assert len(whole) > 500
    assert windowed == whole and windowed_warnings == whole_warnings


def test_pair_pages_are_consumed_lazily() -> None:
    page = _pair_page(10_000, seed=4)
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        for line in page:
            consumed += 1
            yield line

    stream = parse_dump(lines(), "gen", [], TODAY)
    next(stream)
    assert consumed < len(page) / 2  # the first pairs come out long before the page ends (flat memory)


def _abstractness_by_the_definition(text: str) -> float:
    """The score as first written: per-word loops over every sentence break in the first 400 characters."""
    n_words = text.count(" ") + 1
    found = re.findall(r"([.!?])[\"')\]]?\s+[A-Z(\"]", text[:400])
    sentences = sum(1 for p in found if p == "." or n_words > 12)
    score = 3.0 * min(sentences, 2)
    score += 2.0 if text.endswith(".") and not text.endswith("..") else 0.0
    score += 2.0 if n_words > 35 else 0.0
    score += 2.0 if n_words > 70 else 0.0
    if n_words <= 25:
        score -= 0.0 if sentences else 2.0
        words = text.split()
        capitalised = sum(1 for w in words if w[:1].isupper() or w[:1].isdigit())
        lower = sum(1 for w in words if w[:1].islower())
        if capitalised * 2 >= n_words:
            score -= 2.0
        elif n_words >= 4 and lower >= 0.6 * n_words:
            score += 2.0
    return score


@settings(max_examples=500, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["word", "Word", "É", "é", "3", "x.", "Yes!", "Why?", '"Q"', "(A)", ".)", " ", "  ", "\t", "ǅ"]
        ),
        max_size=120,
    )
)
def test_abstractness_fast_paths_agree_with_the_definition(parts: list[str]) -> None:
    text = " ".join(parts).strip()
    assert dump._abstractness(text) == _abstractness_by_the_definition(text)


# The meta-line pattern as first written: one alternation, case-insensitive as a whole.
_SPECIAL_BY_THE_DEFINITION = re.compile(
    r"(?P<chrome>get trending papers in your email inbox.*|subscribe|daily papers"
    r"|by\s*ak and the research community|new|daily|weekly|monthly|trending papers)"
    r"|(?P<authors>[•·*\-]?\s*(?P<count>\d+)\s+authors?)"
    r"|(?P<separator>·)"
    r"|(?P<upvotes>\d{1,7}|-)"
    r"|(?P<date>(?P<month>jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+(?P<day>\d{1,2})"
    r"(?:,\s*(?P<year>\d{4}))?(?:\s+(?P<comments>\d+))?)",
    re.IGNORECASE,
)


def _meta_line(pattern: re.Pattern[str], text: str) -> tuple[object, ...] | None:
    found = pattern.fullmatch(text)
    return found and (found.lastgroup, found["count"], *found.group("month", "day", "year", "comments"))


_META_LINE_PIECES = [
    "Jun", "SEPT", "ſep", "Dec", "3", "٣", "12", "2025", ",", ".", " ", "\u2009", "-", "•", "·", "*", "authors",
    "AUTHOR", "Subscribe", "daily", "Papers", "by", "AK and the research community", "new",
    "Get trending papers in your email inbox", "!", "x", "K", "Kelvin", "İ",
]  # fmt: skip


@settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(_META_LINE_PIECES), max_size=8))
def test_meta_line_pattern_agrees_with_the_definition(parts: list[str]) -> None:
    text = "".join(parts)
    assert _meta_line(dump._SPECIAL, text) == _meta_line(_SPECIAL_BY_THE_DEFINITION, text)


def test_meta_line_look_aheads_admit_every_first_character_of_the_definition() -> None:
    """Every character that can start a meta line under pattern-wide IGNORECASE (ſ is an s, K a k)
    starts one with the fast pattern too: a look-ahead that missed one would turn a meta line into prose."""
    starts = re.compile(r"[gsdbnwmtjfao]|[•·*\-]|\d|\s", re.IGNORECASE)
    lines = [
        "Jan 3", "Feb 3", "Mar 3", "Apr 3", "May 3", "Jun 3", "Jul 3", "Aug 3", "Sep 3", "Oct 3", "Nov 3", "Dec 3",
        "get trending papers in your email inbox", "subscribe", "daily papers", "by ak and the research community",
        "new", "daily", "weekly", "monthly", "trending papers", "3 authors", "• 3 authors", "33", "·", "-",
    ]  # fmt: skip
    first_characters = [chr(point) for point in range(0x110000) if starts.match(chr(point))]
    assert {"ſ", "٣", "\u2009"} <= set(first_characters)
    for char in first_characters:
        for line in lines:
            changed = char + line[1:]
            assert _meta_line(dump._SPECIAL, changed) == _meta_line(_SPECIAL_BY_THE_DEFINITION, changed), changed
